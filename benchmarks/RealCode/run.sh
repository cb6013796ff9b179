#!/usr/bin/env bash
# Runs the PagePool analyzers (ArrayPool rules PP1101-PP1103 on) over real C# code and lists every diagnostic.
#
#   benchmarks/RealCode/run.sh [--mutate] [--tests separate|include|exclude] SOURCE...
#
# Each SOURCE is either a folder of C# (a checkout) or a bare git directory (for example one that the `fetch` tool
# brought to /work/.mirror/OWNER+NAME/repo): its HEAD's *.cs, *.csproj and *.props files are extracted to
# ${REALCODE_WORK:-/tmp/realcode}/NAME first and its commit is reported. Output per source goes to stdout and to
# ${REALCODE_WORK:-/tmp/realcode}/NAME.txt; the `summary` and `mutation` lines are what RESULTS.md records.
# The fetched code never belongs in this repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${REALCODE_WORK:-/tmp/realcode}
mkdir -p "$work"

flags=()
sources=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mutate) flags+=("$1"); shift ;;
        --tests) flags+=("$1" "$2"); shift 2 ;;
        *) sources+=("$1"); shift ;;
    esac
done
if [[ ${#sources[@]} -eq 0 ]]; then
    sed -n '2,10p' "$0"
    exit 2
fi

dotnet build "$here/RealCode.csproj" -c Release -v:q -nologo > "$work/build.log" || { cat "$work/build.log"; exit 1; }
status=0
for source in "${sources[@]}"; do
    commit=()
    if git --git-dir="$source" rev-parse --verify -q HEAD > /dev/null 2>&1 && [[ ! -d "$source/.git" ]]; then
        name=$(basename "$(dirname "$source")"); name=${name#*+}
        sha=$(git --git-dir="$source" rev-parse HEAD)
        rm -rf "${work:?}/$name"; mkdir -p "$work/$name"
        # Large binary blobs may be absent from a fetched snapshot: only the C# and project files are needed.
        git --git-dir="$source" archive HEAD -- ':(glob)**/*.cs' ':(glob)**/*.csproj' ':(glob)**/*.props' 2> /dev/null \
            | tar -x -C "$work/$name"
        folder="$work/$name"
        commit=(--commit "$sha")
    else
        folder="$source"
        name=$(basename "$(cd "$source" && pwd)")
        if sha=$(git -C "$source" rev-parse HEAD 2> /dev/null); then commit=(--commit "$sha"); fi
    fi
    dotnet "$here/bin/Release/net10.0/RealCode.dll" "$folder" --name "$name" "${commit[@]}" "${flags[@]}" \
        | tee "$work/$name.txt" || status=1
done
exit $status
