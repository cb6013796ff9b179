#!/usr/bin/env bash
# Cross-thread recycling, run to run: builds benchmarks/CrossThreadRuns once (Release), then runs it in separate
# processes. Each process alternates the rows (generated [PagePool] class, RuntimePagePool, a Kestrel-style
# ConcurrentQueue<byte[]> of pinned arrays, the bare SPSC handoff with no pool), keeps each row's best of 5 rounds,
# and this script prints each run's ns per buffer, the ratios queue / PagePool (above 1: PagePool is faster) and, at
# the end, the median and the worst ratio over the runs.
#
#   benchmarks/crossthread-runs.sh                 10 processes
#   benchmarks/crossthread-runs.sh 20              20 processes
#   benchmarks/crossthread-runs.sh --rt            owner pinned to CPU 0, worker to CPU 1, process under SCHED_FIFO
#                                                  (chrt -f 10, needs root): on a busy machine, the only way to
#                                                  measure two threads on two cores; without it the scheduler often
#                                                  runs both on one CPU, and the run measures context switches
#   benchmarks/crossthread-runs.sh --save [N]      also writes the raw output to benchmarks/results/crossthread-runs-<UTC time>[-rt].txt
#
# Each run also prints, per row, the steady state of its best round (STATE: owner-bound or worker-bound, see
# benchmarks/results/CROSSTHREAD-MODES.md), and each round the handoff ring's wait counts and the pools' refill sizes.
# The program reads CTR_ROUNDS, CTR_ITEMS, CTR_ROWS, CTR_PIN (none | split | same; never `same` with --rt),
# CTR_LAYOUT=1, CTR_PREGROW and CTR_RESUME from the environment (see benchmarks/CrossThreadRuns/Program.cs); this
# script passes them through.
set -euo pipefail
cd "$(dirname "$0")/.."

save=""
rt=()
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in
    --save) save=1 ;;
    --rt) rt=(chrt -f 10); export CTR_PIN=split ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
runs="${1:-10}"

bin="benchmarks/CrossThreadRuns/bin/Release/net10.0"
dotnet build benchmarks/CrossThreadRuns/CrossThreadRuns.csproj -c Release -v quiet -nologo >/tmp/crossthread-runs-build.$$.log 2>&1 \
  || { cat /tmp/crossthread-runs-build.$$.log; rm -f /tmp/crossthread-runs-build.$$.log; exit 2; }
rm -f /tmp/crossthread-runs-build.$$.log

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
{
  echo "# crossthread-runs: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- PagePool.Runtime PagePool.Generators benchmarks || echo ' (with uncommitted changes)')"
  echo "# command: benchmarks/crossthread-runs.sh ${save:+--save }${rt:+--rt }$runs$(env | grep -E '^CTR_' | tr '\n' ' ' | sed 's/^/ env: /')"
  echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg), .NET $(dotnet --version)"
  for ((run = 1; run <= runs; run++)); do
    echo "## run $run"
    # A hung process (it should take seconds) is killed rather than left spinning.
    timeout -s KILL 300 "${rt[@]}" dotnet "$bin/CrossThreadRuns.dll" || echo "run $run failed: exit $?"
  done
} | tee "$out" | awk '
  /^RESULT/ {
    run++
    for (i = 2; i <= NF; i++) { split($i, kv, "="); ns[kv[1]] = kv[2] }
    line = sprintf("run %2d:", run)
    for (i = 2; i <= NF; i++) { split($i, kv, "="); line = line sprintf("  %s %7.1f", kv[1], kv[2]) }
    line = line " ns/buffer"
    if (("queue" in ns) && ("generated" in ns)) { g[run] = ns["queue"] / ns["generated"]; line = line sprintf("  queue/generated %.2f", g[run]) }
    if (("queue" in ns) && ("runtime" in ns)) { r[run] = ns["queue"] / ns["runtime"]; line = line sprintf("  queue/runtime %.2f", r[run]) }
    print line
    delete ns
    next
  }
  /^STATE/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); states[kv[1] " " kv[2]]++ }
    print "    " $0
    next
  }
  { print "    " $0 }
  function summary(name, a,    n, i, j, t, s, med, min, ahead) {
    n = 0
    for (i in a) { s[++n] = a[i] }
    if (n == 0) { return }
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
    med = (n % 2) ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
    ahead = 0
    for (i = 1; i <= n; i++) if (s[i] > 1) ahead++
    printf("%-16s median %.2f  worst %.2f  best %.2f  PagePool ahead in %d of %d runs\n", name, med, s[1], s[n], ahead, n)
  }
  END {
    print ""
    summary("queue/generated", g)
    summary("queue/runtime", r)
    for (k in states) { printf("best rounds %s: %d\n", k, states[k]) | "sort" }
  }
' | tee -a "$out.summary"

if [[ -n "$save" ]]; then
  mkdir -p benchmarks/results
  dest="benchmarks/results/crossthread-runs-$(date -u '+%Y%m%d-%H%M%S')${rt:+-rt}.txt"
  { cat "$out"; echo "## summary"; sed -n '/^$/,$p' "$out.summary"; } >"$dest"
  echo "saved to $dest"
fi
rm -f "$out.summary"
