#!/usr/bin/env bash
# Analyzer cost benchmark: PagePool's analyzers on a page-based driver project against CA2000 (with its
# exception-path analysis) on the same project written with IDisposable buffers.
#
#   benchmarks/AnalyzerCost/run.sh [--server] [units]     # 144 units: about 20,000 lines per project
#
# Writes the projects and logs under benchmarks/AnalyzerCost/work/ (git-ignored) and prints a table.
# Each project is restored and built once to warm up (this also builds PagePool.Runtime and PagePool.Analyzers
# from the repository), then rebuilt alone (no project references rebuilt) with -p:ReportAnalyzer=true.
#
# The compiler: by default whatever the environment says (a machine that sets UseSharedCompilation=false, as this
# repository's does, starts a cold compiler process for every build, and the analyzers' load and JIT time count).
# --server uses the compiler server, as `dotnet build` does by default: the server is restarted, each project is
# built twice to warm it (analyzers loaded and tiered up), and the third build is measured.
set -euo pipefail

server=()
if [[ $# -gt 0 && "$1" == "--server" ]]; then
    server=(-p:UseSharedCompilation=true)
    shift
    dotnet build-server shutdown > /dev/null 2>&1 || true
fi

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work="$here/work"
units=${1:-144}

rm -rf "$work"
mkdir -p "$work"
python3 "$here/generate.py" "$work" "$repo" "$units" | tee "$work/lines.txt"

measure() {
    local kind=$1
    local project="$work/$kind/Bench.$kind.csproj"
    dotnet restore "$project" -v:q -nologo > "$work/$kind.restore.log"
    dotnet build "$project" --no-restore -c Release -v:q -nologo "${server[@]}" > "$work/$kind.warmup.log"
    if [[ ${#server[@]} -gt 0 ]]; then
        dotnet build "$project" --no-restore --no-incremental -c Release -v:q -nologo -p:BuildProjectReferences=false \
            "${server[@]}" > "$work/$kind.warmup2.log"
    fi
    local start end
    start=$(date +%s%N)
    dotnet build "$project" --no-restore --no-incremental -c Release -nologo \
        -p:BuildProjectReferences=false -p:ReportAnalyzer=true "${server[@]}" -v:d -clp:PerformanceSummary \
        > "$work/$kind.build.log"
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 )) > "$work/$kind.wall_ms"
}

measure pages
measure disposable

python3 "$here/report.py" "$work"
if [[ ${#server[@]} -gt 0 ]]; then
    dotnet build-server shutdown > /dev/null 2>&1 || true
fi
