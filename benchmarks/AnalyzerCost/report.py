#!/usr/bin/env python3
"""Parses the -p:ReportAnalyzer=true output of run.sh's two builds and prints the comparison table."""
import os
import re
import sys

work = sys.argv[1]

TOTAL = re.compile(r"Total analyzer execution time:\s*([\d.]+)\s*seconds")
CSC = re.compile(r"^\s*(\d+)\s*ms\s+Csc\s+\d+\s+calls", re.IGNORECASE)


def seconds(text):
    return 0.0 if text.startswith("<") else float(text)


def parse(kind):
    log = open(os.path.join(work, f"{kind}.build.log"), encoding="utf-8", errors="replace").read().splitlines()
    total = None
    rows = []  # (seconds, name, is_assembly)
    csc_ms = None
    in_table = False
    for raw in log:
        line = raw.strip()
        m = TOTAL.search(line)
        if m and total is None:
            total = float(m.group(1))
            in_table = True
            continue
        if in_table:
            if line.startswith("Time (s)") or line.startswith("NOTE") or not line:
                continue
            # Rows look like "0.123   45   Name, Version=..." (assembly) or "0.100   40      Type (CA2000)" (analyzer).
            m2 = re.match(r"^\s*(<?[\d.]+)\s+(<?\d+)(\s+)(\S.*)$", raw)
            if m2:
                name = m2.group(4).strip()
                rows.append((seconds(m2.group(1)), name, ", Version=" in name))
                continue
            if rows:
                in_table = False
        m = CSC.match(line)
        if m:
            csc_ms = int(m.group(1))
    wall = int(open(os.path.join(work, f"{kind}.wall_ms")).read())
    return total, rows, csc_ms, wall


def find(rows, predicate):
    return sum(s for s, name, is_assembly in rows if predicate(name, is_assembly))


pages_total, pages_rows, pages_csc, pages_wall = parse("pages")
disp_total, disp_rows, disp_csc, disp_wall = parse("disposable")

pagepool = find(pages_rows, lambda n, a: a and n.startswith("PagePool.Analyzers,"))
pagepool_types = [(s, n) for s, n, a in pages_rows if not a and n.startswith("PagePool.")]
ca2000 = find(disp_rows, lambda n, a: not a and "CA2000" in n)

lines = open(os.path.join(work, "lines.txt")).read().strip()


def fmt(value):
    return "n/a" if value is None else f"{value:.3f}"


print()
print(lines.replace("\n", "; "))
print()
print("| project | build wall time (s) | Csc task (s) | all analyzers (s) | measured analyzer | its time (s) |")
print("| --- | --- | --- | --- | --- | --- |")
print(f"| pages (PagePool) | {pages_wall / 1000:.2f} | {fmt(pages_csc / 1000 if pages_csc else None)} | {fmt(pages_total)} | PagePool.Analyzers (all) | {pagepool:.3f} |")
print(f"| disposable (IDisposable) | {disp_wall / 1000:.2f} | {fmt(disp_csc / 1000 if disp_csc else None)} | {fmt(disp_total)} | CA2000 (AllPaths) | {ca2000:.3f} |")
print()
if ca2000 > 0:
    print(f"PagePool analyzers / CA2000 = {pagepool / ca2000:.3f}")
else:
    print("CA2000 reported no time: check that it ran (disposable.build.log)")
print()
print("PagePool analyzers, per type:")
for s, n in sorted(pagepool_types, reverse=True):
    print(f"  {s:.3f}  {n}")
if not any("Ownership" in n for _, n in pagepool_types):
    print("  (no ownership analyzer in this build: only the [PagePool] declaration analyzer ran)")


def unique_warnings(kind, prefix):
    # -v:d prints each warning where it happens and again in the summary: count distinct (file, line, column, id).
    found = set()
    for line in open(os.path.join(work, f"{kind}.build.log"), errors="replace"):
        m = re.search(r"([^\s>]+\.cs)\((\d+),(\d+)\): warning (" + prefix + r"\d+)", line)
        if m:
            found.add(m.groups())
    return len(found)


print(f"\nCA2000 warnings (distinct) in the disposable build: {unique_warnings('disposable', 'CA')}")
print(f"PagePool warnings (distinct) in the pages build: {unique_warnings('pages', 'PP')}")
