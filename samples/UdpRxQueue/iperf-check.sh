#!/usr/bin/env bash
# Is the demo ready when it says so? Starts the receiver with --listen 127.0.0.1:PORT --no-sender --json, polls until
# the port is bound, starts iperf 2 at that moment (300 Mbit/s of 1400-byte datagrams for 5 s), stops the receiver
# with SIGTERM once iperf is done, and prints the share of iperf's datagrams the demo received.
#
#   samples/UdpRxQueue/iperf-check.sh [--runs N] [--port P] [--no-build] [--min PERCENT] [-- demo arguments...]
#   e.g. samples/UdpRxQueue/iperf-check.sh --runs 5 -- --transport recvmmsg
#
# Needs iperf 2 (apt-get install -y iperf) and ss (iproute2). Exit code 1 when a run falls below --min (default 99).
#
# Counting: iperf runs with --no-udp-fin. Without it the client resends its last datagram (a negative sequence
# number) a hundred times or more while it waits for a server report the demo never sends, and those resends would
# count as received. With it, iperf 2.1.8's "Sent N datagrams" is one more than it puts on the wire (checked against a
# plain counting receiver: 941 reported, 940 arrived; 56,068 reported, 56,067 arrived); the percentage below divides
# by N as reported, so it errs low by that one datagram. "received" is the demo's `datagrams` (everything the kernel
# handed over from the bind on); "processed" leaves out `queueDrops` (datagrams the receive thread dropped because
# the processing thread was behind). "kernel drops" is the growth of the host's Udp RcvbufErrors (/proc/net/snmp)
# during the run: datagrams the kernel discarded because the socket's buffer was full (host-wide, so another
# program's UDP traffic would show there too).
set -euo pipefail

rcvbuf_errors() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp; }

runs=1
port=5201
build=1
min=99
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --min) min="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v iperf >/dev/null || { echo "iperf 2 is not installed (apt-get install -y iperf)" >&2; exit 69; }
command -v ss >/dev/null || { echo "ss is not installed (apt-get install -y iproute2)" >&2; exit 69; }
if [[ $build == 1 ]]; then
  dotnet build "$here/UdpRxQueue.csproj" -c Release -v quiet -nologo >/dev/null
fi
dll="$here/bin/Release/net10.0/UdpRxQueue.dll"
[[ -f $dll ]] || { echo "not built: $dll" >&2; exit 66; }

work="$(mktemp -d)"
demo=""
cleanup() {
  if [[ -n $demo ]] && kill -0 "$demo" 2>/dev/null; then kill -TERM "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "iperf-check: demo $* --listen 127.0.0.1:$port --no-sender --json; iperf -c 127.0.0.1 -p $port -u -b 300M -l 1400 -t 5 --no-udp-fin"
status=0
percents=()
for ((run = 1; run <= runs; run++)); do
  if ss -Huln "sport = :$port" | grep -q .; then
    echo "port $port is already in use" >&2; exit 75
  fi
  errors_before=$(rcvbuf_errors)
  dotnet "$dll" "$@" --listen "127.0.0.1:$port" --no-sender --json --seconds 120 >"$work/demo.out" 2>"$work/demo.err" &
  demo=$!
  started=$(date +%s%N)
  until ss -Huln "sport = :$port" | grep -q .; do
    kill -0 "$demo" 2>/dev/null || { echo "the demo exited before binding:" >&2; cat "$work/demo.err" >&2; exit 1; }
    sleep 0.002
  done
  bound_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  iperf -c 127.0.0.1 -p "$port" -u -b 300M -l 1400 -t 5 --no-udp-fin >"$work/iperf.out" 2>&1
  sleep 0.5 # the last datagrams reach the demo's counters
  kill -TERM "$demo"
  wait "$demo" || { echo "the demo failed:" >&2; cat "$work/demo.err" >&2; exit 1; }
  demo=""
  kernel_drops=$(( $(rcvbuf_errors) - errors_before ))
  sent=$(sed -n 's/.*Sent \([0-9]*\) datagrams.*/\1/p' "$work/iperf.out" | tail -1)
  [[ -n $sent ]] || { echo "no 'Sent N datagrams' in iperf's report:" >&2; cat "$work/iperf.out" >&2; exit 1; }
  line=$(python3 - "$work/demo.out" "$sent" "$work/demo.err" <<'EOF'
import json, re, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
j = json.loads(lines[-1])
sent = int(sys.argv[2])
received = j["datagrams"]
processed = received - j["queueDrops"]
print(f"{100.0 * received / sent:.2f} sent {sent:,} received {received:,} ({100.0 * received / sent:.2f}%) "
      f"processed {processed:,} ({100.0 * processed / sent:.2f}%) queue drops {j['queueDrops']:,} starved {j['starved']:,} "
      f"transport {j['transport']}", end="")
# When the queue drops happened: the live line's drops per second (the first line covers the first second after the bind).
when = [f"{m.group(1)}s:{m.group(2)}" for m in re.finditer(r"\[\s*([\d.]+)s\].*drops\s+([\d,]+)", open(sys.argv[3]).read())
        if m.group(2) != "0"]
print(f" (at {' '.join(when)})" if when else "")
EOF
)
  percent=${line%% *}
  percents+=("$percent")
  echo "run $run: bound after $bound_ms ms; ${line#* }; kernel drops $kernel_drops"
  if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$percent" "$min"; then :; else status=1; fi
  sleep 1
done
python3 - "${percents[@]}" <<'EOF'
import statistics, sys
p = sorted(float(x) for x in sys.argv[1:])
print(f"received: min {p[0]:.2f}%  median {statistics.median(p):.2f}%  max {p[-1]:.2f}%  ({len(p)} runs)")
EOF
exit $status
