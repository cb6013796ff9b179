#!/usr/bin/env bash
# Package test (run by CI): packs the repository, checks the package's contents and metadata, then builds consumer
# projects that reference ONLY that package and checks that the generator and the analyzers run from it.
#
#   scripts/package-test.sh              pack the solution at the root (checks it yields exactly one package)
#   PACKAGE_TEST_KEEP=1 scripts/...       keep the temp folder for inspection
#
# Exit code: 0 when every check passed, 1 on the first mismatch (each check prints PASS/FAIL as it goes).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pagepool-package-test.XXXXXX")
if [[ "${PACKAGE_TEST_KEEP:-}" == "1" ]]; then
  echo "work folder: $work"
else
  trap 'rm -rf "$work"' EXIT
fi
feed="$work/feed"
packages="$work/packages"
checks=0

pass() { checks=$((checks + 1)); echo "PASS: $*"; }
fail() { echo "FAIL: $*" >&2; echo "package-test: $checks checks passed before the failure" >&2; exit 1; }
run_logged() { # run_logged LOG CMD...: runs CMD, output to LOG; returns its exit code
  local log=$1; shift
  "$@" >"$log" 2>&1
}

# ------------------------------------------------------------------ 1. pack at the root: exactly one package
echo "== dotnet pack $root -c Release -o $feed"
if ! run_logged "$work/pack.log" dotnet pack "$root" -c Release -o "$feed" -p:ContinuousIntegrationBuild=true; then
  tail -40 "$work/pack.log" >&2
  fail "dotnet pack failed"
fi
shopt -s nullglob
nupkgs=("$feed"/*.nupkg)
snupkgs=("$feed"/*.snupkg)
shopt -u nullglob
[[ ${#nupkgs[@]} -eq 1 ]] || fail "expected exactly one .nupkg, found ${#nupkgs[@]}: ${nupkgs[*]:-none}"
nupkg=${nupkgs[0]}
name=$(basename "$nupkg")
[[ "$name" =~ ^PagePool\.([0-9]+\.[0-9]+\.[0-9]+.*)\.nupkg$ ]] || fail "package file is $name, expected PagePool.<version>.nupkg"
version=${BASH_REMATCH[1]}
pass "one package: $name (version $version)"
[[ "$version" == "0.1.0" ]] || fail "version is $version, expected 0.1.0"
pass "version 0.1.0"
[[ ${#snupkgs[@]} -eq 1 && "$(basename "${snupkgs[0]}")" == "PagePool.$version.snupkg" ]] || fail "expected PagePool.$version.snupkg, found: ${snupkgs[*]:-none}"
pass "symbols package PagePool.$version.snupkg"

# ------------------------------------------------------------------ 2. contents and metadata
python3 - "$nupkg" "${snupkgs[0]}" <<'PY' || fail "package contents or metadata (see above)"
import sys, zipfile, re
nupkg, snupkg = sys.argv[1], sys.argv[2]
ok = True
def check(cond, what):
    global ok
    print(("PASS: " if cond else "FAIL: ") + what)
    ok = ok and cond
with zipfile.ZipFile(nupkg) as z:
    names = set(z.namelist())
    for required in ["lib/net10.0/PagePool.Runtime.dll", "lib/net10.0/PagePool.Runtime.xml",
                     "analyzers/dotnet/cs/PagePool.Generators.dll", "analyzers/dotnet/cs/PagePool.Analyzers.dll",
                     "analyzers/dotnet/cs/PagePool.Analyzers.CodeFixes.dll", "README.md"]:
        check(required in names, f"package holds {required}")
    stray = [n for n in names if n.endswith(".dll") and not (n.startswith("lib/net10.0/PagePool.Runtime") or n.startswith("analyzers/dotnet/cs/PagePool."))]
    check(not stray, f"no other assemblies in the package {stray if stray else ''}")
    nuspec = z.read(next(n for n in names if n.endswith(".nuspec"))).decode("utf-8")
    check("<id>PagePool</id>" in nuspec, "nuspec id PagePool")
    check(re.search(r'<license type="expression">MIT</license>', nuspec) is not None, "license expression MIT")
    check("<readme>README.md</readme>" in nuspec, "readme README.md")
    m = re.search(r"<description>(.*?)</description>", nuspec, re.S)
    check(m is not None and len(m.group(1).strip()) > 40, "a description")
    check(re.search(r"<tags>\S.*</tags>", nuspec) is not None, "tags")
    check("PagePool.Generators" not in nuspec and "PagePool.Analyzers" not in nuspec,
          "the generator and analyzers are not package dependencies")
    check(z.read("README.md").strip() != b"", "README.md is not empty")
with zipfile.ZipFile(snupkg) as z:
    check("lib/net10.0/PagePool.Runtime.pdb" in z.namelist(), "symbols package holds lib/net10.0/PagePool.Runtime.pdb")
sys.exit(0 if ok else 1)
PY
checks=$((checks + 1))

# ------------------------------------------------------------------ 3. consumers that reference only the package
consumers="$work/consumers"
mkdir -p "$consumers"
# Stop MSBuild from walking up into anything outside; restore into a private folder so no cached copy is used.
cat >"$consumers/Directory.Build.props" <<XML
<Project>
  <PropertyGroup>
    <RestorePackagesPath>$packages</RestorePackagesPath>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
</Project>
XML
echo '<Project />' >"$consumers/Directory.Build.targets"
cat >"$consumers/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="pagepool-local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="pagepool-local"><package pattern="PagePool" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML

new_consumer() { # new_consumer NAME: a console project referencing only the PagePool package
  local dir="$consumers/$1"
  mkdir -p "$dir"
  cat >"$dir/$1.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="PagePool" Version="$version" />
  </ItemGroup>
</Project>
XML
  echo "$dir"
}

restore() { # restore DIR
  if ! run_logged "$1/restore.log" dotnet restore "$1" --packages "$packages" --configfile "$consumers/nuget.config"; then
    tail -30 "$1/restore.log" >&2
    fail "restore of $(basename "$1") from the package folder"
  fi
}

# 3a. a [PagePool] class that runs: the generator ran from the package and its pool works
ok_dir=$(new_consumer Consumer)
cat >"$ok_dir/Program.cs" <<'CS'
using PagePool;

var rx = new RxQueue();
Page page = rx.AllocPage();
page.Span[0] = 42;
int inUse = rx.PagesInUse;
rx.RecyclePageDirect(page);
Console.WriteLine($"generated pool ok: PageSize={RxQueue.PageSize} PoolSize={RxQueue.PoolSize} inUseWhileHeld={inUse} inUseAfter={rx.PagesInUse} allocFast+slow={rx.GetPageStats().AllocFast + rx.GetPageStats().AllocSlow}");
rx.DestroyPagePool();

[PagePool(4096, 64)]
internal sealed partial class RxQueue
{
}
CS
restore "$ok_dir"
[[ -f "$packages/pagepool/$version/pagepool.nuspec" ]] || fail "PagePool $version was not restored into $packages"
pass "consumer restored PagePool $version from the package folder into a private packages folder"
if ! run_logged "$ok_dir/build.log" dotnet build "$ok_dir" -c Release --no-restore; then
  grep -E "error|warning" "$ok_dir/build.log" | sort -u | head -20 >&2
  fail "the consumer with a [PagePool] class does not build (did the generator run from the package?)"
fi
if grep -qE "warning PP[0-9]{4}" "$ok_dir/build.log"; then
  grep -E "warning PP" "$ok_dir/build.log" | sort -u >&2
  fail "a correct consumer got PagePool warnings"
fi
pass "consumer with a [PagePool] class builds with no PagePool diagnostics"
output=$(dotnet "$ok_dir/bin/Release/net10.0/Consumer.dll" 2>&1) || fail "the consumer failed: $output"
expected="generated pool ok: PageSize=4096 PoolSize=64 inUseWhileHeld=1 inUseAfter=0 allocFast+slow=1"
[[ "$output" == "$expected" ]] || fail "consumer printed '$output', expected '$expected'"
pass "generated pool runs: $output"

# 3b. a seeded leak must produce PP1001 (a warning: the build still succeeds)
leak_dir=$(new_consumer Leak)
cat >"$leak_dir/Program.cs" <<'CS'
using PagePool;

var rx = new RxQueue();
Receive(rx);

static void Receive(RxQueue rx)
{
    Page page = rx.AllocPage();
    page.Span[0] = 1; // never recycled nor handed on: leaks
}

[PagePool(4096, 64)]
internal sealed partial class RxQueue
{
}
CS
restore "$leak_dir"
run_logged "$leak_dir/build.log" dotnet build "$leak_dir" -c Release --no-restore || {
  grep -E "error" "$leak_dir/build.log" | sort -u | head -20 >&2
  fail "the leak consumer should build (PP1001 is a warning)"
}
grep -qE "Program.cs\([0-9]+,[0-9]+\): warning PP1001" "$leak_dir/build.log" || {
  grep -E "warning|error" "$leak_dir/build.log" | sort -u | head -20 >&2
  fail "the seeded leak did not produce PP1001"
}
pass "seeded leak reported: $(grep -oE "Program.cs\([0-9]+,[0-9]+\): warning PP1001" "$leak_dir/build.log" | head -1)"

# 3c. a [PagePool] class that is not partial must fail the build with PP0001
np_dir=$(new_consumer NotPartial)
cat >"$np_dir/Program.cs" <<'CS'
using PagePool;

Console.WriteLine("unreachable: this must not build");

[PagePool(4096, 64)]
internal sealed class RxQueue
{
}
CS
restore "$np_dir"
if run_logged "$np_dir/build.log" dotnet build "$np_dir" -c Release --no-restore; then
  fail "a non-partial [PagePool] class built; PP0001 should fail it"
fi
grep -qE "Program.cs\([0-9]+,[0-9]+\): error PP0001" "$np_dir/build.log" || {
  grep -E "error|warning" "$np_dir/build.log" | sort -u | head -20 >&2
  fail "the build failed, but not with PP0001"
}
pass "non-partial class rejected: $(grep -oE "Program.cs\([0-9]+,[0-9]+\): error PP0001" "$np_dir/build.log" | head -1)"

echo "package-test: $checks checks passed"
