#!/usr/bin/env bash
# Runs every benchmark (peers side by side, ratios against ArrayPool<byte>.Shared) and copies the markdown reports
# to benchmarks/results/.
#
#   benchmarks/run.sh                 quick job (1 launch, 3 warmups, 8 iterations): about 10 minutes on 2 cores
#   benchmarks/run.sh --full          BenchmarkDotNet's default job: much longer, tighter numbers
#   benchmarks/run.sh --smoke         each benchmark once, to check they all run
#   benchmarks/run.sh --interleaved   only the paired, round-robin measurement of the owner-thread scenarios (~10 s)
#
# Every mode except --smoke ends with the interleaved measurement too (benchmarks/results/*-interleaved.md): on a
# busy machine its paired ratios are steadier than separate BenchmarkDotNet runs.
#   FILTER='*Burst*' benchmarks/run.sh    one scenario (Single, Burst, CrossThread)
#   extra arguments go to BenchmarkDotNet, e.g. benchmarks/run.sh --quick --disasm
set -euo pipefail
cd "$(dirname "$0")/.."

mode="--quick"
if [[ $# -gt 0 && "$1" == "--interleaved" ]]; then
  dotnet run -c Release --project benchmarks/PagePool.Benchmarks -- --interleaved benchmarks/results
  exit $?
fi
if [[ $# -gt 0 && ( "$1" == "--quick" || "$1" == "--full" || "$1" == "--smoke" ) ]]; then
  mode="$1"
  shift
fi
[[ "$mode" == "--full" ]] && mode=""

artifacts="benchmarks/BenchmarkDotNet.Artifacts"
rm -rf "$artifacts/results"
dotnet run -c Release --project benchmarks/PagePool.Benchmarks -- $mode --filter "${FILTER:-*}" --artifacts "$artifacts" "$@"

mkdir -p benchmarks/results
shopt -s nullglob
reports=("$artifacts"/results/*-report-github.md)
if [[ ${#reports[@]} -eq 0 ]]; then
  echo "run.sh: no report was written" >&2
  exit 1
fi
for report in "${reports[@]}"; do
  name=$(basename "$report")
  cp "$report" "benchmarks/results/${name#PagePool.Benchmarks.}"
  echo "copied benchmarks/results/${name#PagePool.Benchmarks.}"
done

if [[ "$mode" != "--smoke" && -z "${FILTER:-}" ]]; then
  dotnet benchmarks/PagePool.Benchmarks/bin/Release/net10.0/PagePool.Benchmarks.dll --interleaved benchmarks/results
fi
