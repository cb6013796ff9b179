#!/usr/bin/env bash
# Builds scripts/jitcheck (a Release loop over AllocPage / RecyclePageDirect / RecyclePage on a generated pool),
# prints the JIT's optimized code for that loop, and fails if the loop makes a virtual, interface or delegate call:
# the generator's promise is that nothing on the fast path goes through one. Also prints the calls left in the
# method (slow-path calls to sealed runtime methods are expected; they sit behind well-predicted branches).
#
# Usage: scripts/check-jit.sh            (exit 0: no indirect dispatch; 1: found some; 2: build/run problem)
set -euo pipefail

# The classifier, shared by the self-test and the real check: reads call lines, prints the indirect ones.
indirect_calls() {
    grep -E 'call\s+(qword ptr\s+)?\[(r[a-z0-9]+|e[a-z]+)[]+-]|call\s+r[a-z0-9]+\s*$|call\s+r[0-9]+d?\b|CORINFO_HELP_VIRTUAL|VIRTUAL_FUNC_PTR|INTERFACELOOKUP|DispatchStub|StubDispatch|ResolveWorker|Delegate:Invoke|Invoke\(' || true
}

# Self-test: the classifier flags each kind of indirect dispatch and none of the direct calls.
self_test() {
    local bad good
    bad=$'       call     [rax+0x38]System.Object:ToString():System.String:this\n       call     qword ptr [r11+0x10]\n       call     [r11]IFoo:Bar():this\n       call     rax\n       call     CORINFO_HELP_VIRTUAL_FUNC_PTR\n       call     [System.Action:Invoke():this]'
    good=$'       call     [JitCheck.RxQueue:__pp_AllocPageSlow():PagePool.Page:this]\n       call     [PagePool.Internal.PagePoolCore:ThrowBadRecycle(PagePool.Page):this]\n       call     CORINFO_HELP_RNGCHKFAIL'
    [ "$(printf '%s\n' "$bad" | indirect_calls | wc -l)" -eq 6 ] || { echo "self-test: an indirect call was not flagged"; exit 2; }
    [ -z "$(printf '%s\n' "$good" | indirect_calls)" ] || { echo "self-test: a direct call was flagged"; exit 2; }
}
self_test

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$root/scripts/jitcheck/JitCheck.csproj"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

dotnet build "$project" -c Release -o "$out/bin" -v quiet -nologo >"$out/build.log" 2>&1 || { cat "$out/build.log"; exit 2; }

# Full optimization at the first call (no tiering, no PGO, no OSR), so the printed code is the steady-state code.
DOTNET_TieredCompilation=0 \
DOTNET_TieredPGO=0 \
DOTNET_ReadyToRun=1 \
DOTNET_JitDisasm='HotLoop HotLoopTry' \
DOTNET_JitStdOutFile="$out/disasm.txt" \
dotnet "$out/bin/JitCheck.dll" >"$out/run.log" 2>&1 || { cat "$out/run.log"; echo "jitcheck program failed"; exit 2; }

disasm="$out/disasm.txt"
if [ "$(grep -c 'Assembly listing for method JitCheck.Program:HotLoop' "$disasm")" -ne 2 ]; then
    echo "the disassembly of HotLoop and HotLoopTry was not printed (is DOTNET_JitDisasm supported by this runtime?)"
    exit 2
fi

echo "===== JIT disassembly of JitCheck.Program:HotLoop and HotLoopTry (Release, FullOpts) ====="
cat "$disasm"
echo "===== $(cat "$out/run.log")"

calls="$(grep -E '^\s+call\s' "$disasm" || true)"
bad="$(printf '%s\n' "$calls" | indirect_calls)"
barriers="$(printf '%s\n' "$calls" | grep -cE 'ASSIGN_REF|CHECKED_ASSIGN|WRITE_BARRIER|BYREF_WRITE' || true)"

# Per method: how many calls are left, and which.
awk '/; Assembly listing for method/ { if (name != "") print name ": " n " call(s)"; name = $6; n = 0 }
     /^[ \t]+call[ \t]/ { n++ }
     END { if (name != "") print name ": " n " call(s)" }' "$disasm" | sed 's/^/===== calls left in /'
echo "===== write-barrier helper calls: $barriers"
printf '%s\n' "$calls" | sed -E 's/^\s+//' | sort | uniq -c | sort -rn

if [ -n "$bad" ]; then
    echo "FAIL: virtual / interface / delegate dispatch in the fast-path loop:"
    printf '%s\n' "$bad"
    exit 1
fi
echo "OK: no virtual, interface or delegate call in the loop."
