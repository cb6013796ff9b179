using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using PagePool.Analyzers.Ownership;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>
/// The fast path (OwnershipDataflow.TreeWalk.cs): methods of the shapes it takes are proved clean without a graph,
/// methods of those shapes that are wrong still get the graph's diagnostics, other shapes are refused, and over a
/// corpus of sources the analyzer reports exactly what it reports with a graph for every method.
/// </summary>
[Collection(nameof(SerialOwnershipCollection))]
public sealed class TreeWalkTests
{
    /// <summary>The page unit of benchmarks/AnalyzerCost/generate.py, once.</summary>
    public const string DriverUnit = """
        internal sealed class RxQueue0
        {
            private readonly RuntimePagePool _pool;
            private readonly Page[] _ring = new Page[256];
            private int _head;
            private int _tail;
            private long _bytes;
            private long _drops;

            public RxQueue0(RuntimePagePool pool) => _pool = pool;

            public int Poll(ReadOnlySpan<byte> wire, int budget)
            {
                int done = 0;
                while (done < budget)
                {
                    if (!_pool.TryAllocPage(out Page page))
                    {
                        _drops++;
                        break;
                    }

                    int length = Math.Min(wire.Length, page.Length);
                    wire.Slice(0, length).CopyTo(page.Span);
                    if (length == 0)
                    {
                        _pool.RecyclePage(page);
                    }
                    else
                    {
                        Deliver(page, length);
                    }

                    done++;
                }

                return done;
            }

            private bool Deliver([Owned] Page page, int length)
            {
                if (length == 0 || _tail - _head == _ring.Length)
                {
                    _pool.RecyclePage(page);
                    return true;
                }

                _ring[_tail++ & 255] = page;
                _bytes += length;
                return true;
            }

            public long Drain()
            {
                long sum = 0;
                while (_head != _tail)
                {
                    Page page = _ring[_head++ & 255];
                    sum += Checksum(page.Span);
                    _pool.RecyclePageDirect(page);
                }

                return sum;
            }

            public int Copy(ReadOnlySpan<byte> source)
            {
                Page page = _pool.AllocPage();
                try
                {
                    int length = Math.Min(source.Length, page.Length);
                    source.Slice(0, length).CopyTo(page.Span);
                    return Checksum(page.Span.Slice(0, length));
                }
                finally
                {
                    _pool.RecyclePage(page);
                }
            }

            public int Split(ReadOnlySpan<byte> source, int chunk)
            {
                int pieces = 0;
                for (int offset = 0; offset < source.Length; offset += chunk)
                {
                    Page page = _pool.AllocPage();
                    int length = Math.Min(chunk, source.Length - offset);
                    source.Slice(offset, length).CopyTo(page.Span);
                    if (length < 256)
                    {
                        _pool.RecyclePage(page);
                        continue;
                    }

                    if (!Deliver(page, length))
                    {
                        return pieces;
                    }

                    pieces++;
                }

                return pieces;
            }

            public Page Lend()
            {
                Page page = _pool.AllocPage();
                page.Span.Clear();
                return page;
            }

            public void Give([Owned] Page page, bool keep)
            {
                if (keep)
                {
                    _ring[_tail++ & 255] = page;
                }
                else
                {
                    _pool.RecyclePage(page);
                }
            }

            public void OnPageCreated(Page page) => _bytes++;

            private static int Checksum(ReadOnlySpan<byte> data)
            {
                int sum = 0;
                foreach (byte b in data)
                {
                    sum = (sum * 31) + b;
                }

                return sum;
            }
        }
        """;

    /// <summary>Correct methods of the shapes the walk takes: proved clean with no graph.</summary>
    public static TheoryData<string, string> WalkedClean => new()
    {
        { "straight line", """
            void M() { var p = pool.AllocPage(); p.Span.Fill(1); p.Span[0] = 2; pool.RecyclePage(p); }
            """ },
        { "borrowed parameter read", """
            int M(Page page) => page.Length;
            """ },
        { "borrowed parameter passed along", """
            void M(Page page) { Sink.Borrow(page); Sink.Bytes(page.Span); }
            """ },
        { "page parameter not mentioned", """
            void M(Page page) => Sink.Work();
            """ },
        { "owned parameter recycled", """
            void M([Owned] Page page) { page.Span.Clear(); pool.RecyclePage(page); }
            """ },
        { "returned to the caller", """
            Page M() { var p = pool.AllocPage(); p.Span.Clear(); return p; }
            """ },
        { "written to an out parameter", """
            void M(out Page page) { page = pool.AllocPage(); }
            """ },
        { "recycled or kept on each branch", """
            void M(bool c) { var p = pool.AllocPage(); if (c) { pool.RecyclePage(p); } else { Sink.Keep(p); } }
            """ },
        { "TryAllocPage in a while loop", """
            int M(int budget) { int done = 0; while (done < budget) { if (!pool.TryAllocPage(out Page page)) { break; } page.Span[0] = (byte)done; pool.RecyclePage(page); done++; } return done; }
            """ },
        { "TryAllocPage result in a local", """
            void M() { bool ok = pool.TryAllocPage(out var p); if (ok) { pool.RecyclePage(p); } }
            """ },
        { "IsDefault test", """
            void M() { pool.TryAllocPage(out var p); if (p.IsDefault) return; pool.RecyclePage(p); }
            """ },
        { "for with continue", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); if (i % 2 == 0) { pool.RecyclePage(p); continue; } _slots[i & 3] = p; } }
            """ },
        { "do while", """
            void M() { int i = 0; do { var p = pool.AllocPage(); pool.RecyclePage(p); i++; } while (i < 3); }
            """ },
        { "drain lent pages", """
            void M() { int i = 0; while (i < 4) { Page p = _slots[i++]; Sink.Bytes(p.Span); pool.RecyclePageDirect(p); } }
            """ },
        { "stored in a collection", """
            void M() { var p = pool.AllocPage(); _list.Add(p); }
            """ },
        { "kept or recycled parameter", """
            void M([Owned] Page page, bool keep) { if (keep) { _slots[0] = page; } else { pool.RecyclePage(page); } }
            """ },
        { "nested loops with break", """
            void M(int n) { for (int i = 0; i < n; i++) { int j = 0; while (j < n) { var p = pool.AllocPage(); j++; if (j == 3) { pool.RecyclePage(p); break; } pool.RecyclePage(p); } } }
            """ },
        { "variable reused across iterations", """
            void M(int n) { Page p = pool.AllocPage(); for (int i = 0; i < n; i++) { pool.RecyclePage(p); p = pool.AllocPage(); } pool.RecyclePage(p); }
            """ },
        { "else if chain", """
            void M(int n) { var p = pool.AllocPage(); if (n == 0) pool.RecyclePage(p); else if (n == 1) Sink.Keep(p); else _field = p; }
            """ },
        { "return from inside a loop", """
            int M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); if (i == 3) { pool.RecyclePage(p); return i; } pool.RecyclePage(p); } return -1; }
            """ },
        { "short-circuit conditions", """
            void M(int n, bool a) { var p = pool.AllocPage(); if (n == 0 || a) { pool.RecyclePage(p); return; } if (!(n > 3 && a)) { n = checked(n + 1); } pool.RecyclePage(p); }
            """ },
        { "short-circuit loop condition", """
            void M(int n) { int i = 0; while (i < n && !Sink.Cond()) { var p = pool.AllocPage(); i++; pool.RecyclePage(p); } }
            """ },
        { "TryAllocPage in a short-circuit", """
            void M(bool a) { if (a && pool.TryAllocPage(out var p)) { pool.RecyclePage(p); } }
            """ },
        { "default page", """
            void M() { Page p = default; if (Sink.Cond()) { p = pool.AllocPage(); } if (!p.IsDefault) { pool.RecyclePage(p); } }
            """ },
    };

    /// <summary>
    /// Wrong methods of the shapes the walk takes (it must see the problem and hand the method to the graph), with
    /// the diagnostics the graph gives.
    /// </summary>
    public static TheoryData<string, string, string> WalkableMustWarn => new()
    {
        { "straight-line leak", """
            void M() { var p = pool.AllocPage(); Sink.Bytes(p.Span); }
            """, "PP1001,PP1006" },
        { "discarded page", """
            void M() { pool.AllocPage(); }
            """, "PP1001" },
        { "overwritten before recycle", """
            void M() { var p = pool.AllocPage(); p = pool.AllocPage(); pool.RecyclePage(p); }
            """, "PP1001,PP1006" },
        { "straight-line double recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); pool.RecyclePage(p); }
            """, "PP1003" },
        { "straight-line use after recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); Sink.Bytes(p.Span); }
            """, "PP1002" },
        { "returned after recycle", """
            Page M() { var p = pool.AllocPage(); pool.RecyclePage(p); return p; }
            """, "PP1002" },
        { "borrowed parameter recycled twice", """
            void M(Page page) { pool.RecyclePage(page); pool.RecyclePage(page); }
            """, "PP1003" },
        { "borrowed parameter used after recycle", """
            int M(Page page) { pool.RecyclePage(page); return page.Length; }
            """, "PP1002" },
        { "owned parameter skipped on a path", """
            void M([Owned] Page page, bool c) { if (c) return; pool.RecyclePage(page); }
            """, "PP1001" },
        { "owned parameter never recycled", """
            void M([Owned] Page page) => Sink.Bytes(page.Span);
            """, "PP1001,PP1006" },
        { "recycled on one branch only", """
            void M(bool c) { var p = pool.AllocPage(); if (c) { pool.RecyclePage(p); } }
            """, "PP1001" },
        { "TryAllocPage success not recycled", """
            void M() { if (pool.TryAllocPage(out var p)) { Sink.Bytes(p.Span); } }
            """, "PP1001,PP1006" },
        { "break skips the recycle", """
            void M(int n) { int i = 0; while (i < n) { var p = pool.AllocPage(); i++; if (i == 2) { break; } pool.RecyclePage(p); } }
            """, "PP1001" },
        { "continue skips the recycle", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); if (i % 2 == 0) continue; pool.RecyclePage(p); } }
            """, "PP1001" },
        { "do while continue skips the recycle", """
            void M() { do { var p = pool.AllocPage(); if (Sink.Cond()) continue; pool.RecyclePage(p); } while (Sink.Cond()); }
            """, "PP1001,PP1006" },
        { "return inside a loop skips the recycle", """
            int M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); if (i == 3) { return i; } pool.RecyclePage(p); } return -1; }
            """, "PP1001" },
        { "recycled again on the next iteration", """
            void M() { var p = pool.AllocPage(); int i = 0; while (i < 2) { i++; pool.RecyclePage(p); } }
            """, "PP1001,PP1003" },
        { "used on the next iteration after recycle", """
            void M(int n) { var p = pool.AllocPage(); pool.RecyclePage(p); for (int i = 0; i < n; i++) { Sink.Bytes(p.Span); } }
            """, "PP1002" },
        { "allocated before the loop, recycled in it", """
            void M(int n) { var p = pool.AllocPage(); for (int i = 0; i < n; i++) { if (i == 1) { pool.RecyclePage(p); } } }
            """, "PP1001,PP1003" },
        { "out parameter set on one path only", """
            void M(bool c, out Page page) { page = default; var p = pool.AllocPage(); if (c) { page = p; } }
            """, "PP1001" },
        { "recycled to the other pool", """
            void M() { var p = pool.AllocPage(); tx.RecyclePage(p); }
            """, "PP1005" },
        { "or skips the recycle when both are false", """
            void M(bool a, bool b) { var p = pool.AllocPage(); if (a || b) { pool.RecyclePage(p); } }
            """, "PP1001" },
        { "and returns before the recycle", """
            void M(bool a, bool b) { var p = pool.AllocPage(); if (a && b) { return; } pool.RecyclePage(p); }
            """, "PP1001" },
        { "negated and", """
            void M(bool a, bool b) { var p = pool.AllocPage(); if (!(a && b)) { pool.RecyclePage(p); } }
            """, "PP1001" },
        { "short-circuit loop condition recycles twice", """
            void M(int n) { var p = pool.AllocPage(); int i = 0; while (i < n || Sink.Cond()) { i++; pool.RecyclePage(p); } }
            """, "PP1001,PP1003,PP1006" },
        { "TryAllocPage after a short-circuit, not recycled", """
            void M(bool a) { if (a && pool.TryAllocPage(out var p)) { Sink.Bytes(p.Span); } }
            """, "PP1001,PP1006" },
        { "negated and with IsDefault: leaks only where the else is not taken", """
            void M(bool a) { pool.TryAllocPage(out var p); if (!(a && p.IsDefault)) { } else { pool.RecyclePage(p); } }
            """, "PP1001" },
        { "or with IsDefault: the false edge holds the page", """
            void M(bool a) { pool.TryAllocPage(out var p); if (a || p.IsDefault) { pool.RecyclePage(p); } }
            """, "PP1001" },
        { "and with TryAllocPage: the left false edge has no page, the right false edge none either", """
            void M(bool a) { if (!a && pool.TryAllocPage(out var p)) { Sink.Work(); } else { return; } }
            """, "PP1001,PP1006" },
        { "and after TryAllocPage: the right operand's false edge holds the page", """
            void M(bool b) { if (pool.TryAllocPage(out var p) && b) { pool.RecyclePage(p); } }
            """, "PP1001" },
        { "or after a failed TryAllocPage: the right operand's true edge holds the page", """
            void M(bool b) { if (!pool.TryAllocPage(out var p) || b) { return; } pool.RecyclePage(p); }
            """, "PP1001" },
        { "use after recycle in the right operand", """
            void M(bool a) { var p = pool.AllocPage(); pool.RecyclePage(p); if (a || p.Length > 0) { Sink.Work(); } }
            """, "PP1002" },
        { "a call that may throw while the page is held", """
            void M() { var p = pool.AllocPage(); Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """, "PP1006" },
        { "a second allocation while the first page is held", """
            void M() { var p = pool.AllocPage(); var q = pool.AllocPage(); pool.RecyclePage(q); pool.RecyclePage(p); }
            """, "PP1006" },
        { "an owned parameter lent to a call that may throw", """
            void M([Owned] Page page) { Sink.Borrow(page); pool.RecyclePage(page); }
            """, "PP1006" },
        { "a constructor while the page is held", """
            void M() { var p = pool.AllocPage(); var l = new List<int>(p.Length); pool.RecyclePage(p); }
            """, "PP1006" },
        { "nested loop leak", """
            void M(int n) { for (int i = 0; i < n; i++) { int j = 0; while (j < n) { j++; var p = pool.AllocPage(); if (j == 3) { break; } pool.RecyclePage(p); } } }
            """, "PP1001" },
    };

    /// <summary>Shapes the walk refuses: they go to the graph whatever they contain.</summary>
    public static TheoryData<string, string> Refused => new()
    {
        { "try/finally", "void M() { var p = pool.AllocPage(); try { Sink.Work(); } finally { pool.RecyclePage(p); } }" },
        { "using", "void M(IDisposable d) { using (d) { pool.RecyclePage(pool.AllocPage()); } }" },
        { "foreach", "void M(int[] xs) { foreach (var x in xs) { pool.RecyclePage(pool.AllocPage()); } }" },
        { "lock", "void M() { lock (_list) { pool.RecyclePage(pool.AllocPage()); } }" },
        { "switch", "void M(int n) { var p = pool.AllocPage(); switch (n) { case 0: break; } pool.RecyclePage(p); }" },
        { "goto", "void M() { var p = pool.AllocPage(); goto done; done: pool.RecyclePage(p); }" },
        { "throw", "void M(int n) { var p = pool.AllocPage(); if (n < 0) throw new ArgumentException(); pool.RecyclePage(p); }" },
        { "lambda", "void M() { var p = pool.AllocPage(); Action a = () => Sink.Work(); pool.RecyclePage(p); }" },
        { "local function", "void M() { var p = pool.AllocPage(); pool.RecyclePage(p); void L() { } }" },
        { "await", "async Task M() { var p = pool.AllocPage(); await Task.Yield(); pool.RecyclePage(p); }" },
        { "short-circuit and as a value", "void M(bool a, bool b) { var p = pool.AllocPage(); bool c = a && b; pool.RecyclePage(p); }" },
        { "short-circuit or as an argument", "void M(bool a, bool b) { var p = pool.AllocPage(); Console.WriteLine(a || b); pool.RecyclePage(p); }" },
        { "constant operand of a short-circuit", "void M(bool a) { var p = pool.AllocPage(); if (a && true) { } pool.RecyclePage(p); }" },
        { "conditional expression", "void M(bool c) { var p = c ? pool.AllocPage() : default; pool.RecyclePage(p); }" },
        { "null coalescing", "void M(string? s) { var p = pool.AllocPage(); Sink.Work(); var t = s ?? \"\"; pool.RecyclePage(p); }" },
        { "conditional access", "void M(string? s) { var p = pool.AllocPage(); var n = s?.Length; pool.RecyclePage(p); }" },
        { "is pattern", "void M(object o) { var p = pool.AllocPage(); if (o is string) { } if (o is string s) { } pool.RecyclePage(p); }" },
        { "pool in a local", "void M() { var q = new RxQueue(); var p = q.AllocPage(); q.RecyclePage(p); }" },
        { "ref local", "void M() { ref Page r = ref _slots[0]; pool.RecyclePage(r); r = default; }" },
        { "object initializer", "void M() { var p = pool.AllocPage(); var l = new List<int> { 1 }; pool.RecyclePage(p); }" },
        { "interpolated string", "void M() { var p = pool.AllocPage(); Console.WriteLine($\"{p.Length}\"); pool.RecyclePage(p); }" },
        { "constant condition", "void M() { while (true) { var p = pool.AllocPage(); pool.RecyclePage(p); if (Sink.Cond()) break; } }" },
        { "for without condition", "void M() { for (;;) { var p = pool.AllocPage(); pool.RecyclePage(p); break; } }" },
        { "yield", "IEnumerable<int> M() { var p = pool.AllocPage(); pool.RecyclePage(p); yield return 1; }" },
        { "tuple", "void M() { var p = pool.AllocPage(); var t = (p, 1); pool.RecyclePage(p); }" },
        { "nameof", "void M() { var p = pool.AllocPage(); Console.WriteLine(nameof(p)); pool.RecyclePage(p); }" },
    };

    /// <summary>More shapes for the agreement test only: members of every kind, argument forms, embedded statements.</summary>
    public static TheoryData<string, string> MoreShapes => new()
    {
        { "property", "Page P { get { var p = pool.AllocPage(); return p; } }" },
        { "expression-bodied property", "int P => _field.Length;" },
        { "indexer", "Page this[int i] => _slots[i];" },
        { "setter", "Page Q { set { pool.RecyclePage(value); } }" },
        { "constructor", "public C(Page page) { Sink.Borrow(page); var p = pool.AllocPage(); }" },
        { "static method", "static int S(Page page, int n) { int s = 0; for (int i = 0; i < n; i++) { s += page.Length; } return s; }" },
        { "named arguments out of order", "void M() { var p = pool.AllocPage(); Two(b: p, a: pool.AllocPage()); } void Two([Owned] Page a, Page b) { pool.RecyclePage(a); }" },
        { "params", "void M() { var p = pool.AllocPage(); Console.WriteLine(\"{0} {1}\", p, p.Length); pool.RecyclePage(p); }" },
        { "ref parameter", "void M(ref Page page, bool c) { if (c) { pool.RecyclePage(page); page = pool.AllocPage(); } }" },
        { "in parameter", "void M(in Page page) { Sink.Bytes(page.Span); }" },
        { "ref return", "ref Page M() { return ref _slots[0]; }" },
        { "embedded statements with out vars", "void M(bool c, int n) { if (c) pool.TryAllocPage(out var p); for (int i = 0; i < n; i++) pool.TryAllocPage(out var q); }" },
        { "multiple declarators", "void M() { Page a = pool.AllocPage(), b = a, c = default; pool.RecyclePage(b); Sink.Borrow(c); }" },
        { "nested blocks", "void M(bool c) { var p = pool.AllocPage(); { var q = p; if (c) { Sink.Keep(q); return; } } ; pool.RecyclePage(p); }" },
        { "if at the end of a nested scope", "void M(bool c, out Page o) { o = default; { var p = pool.AllocPage(); if (c) { o = p; } else { Sink.Borrow(p); } } }" },
        { "loop at the end of a scope", "void M(int n, out Page o) { o = default; { var p = pool.AllocPage(); int i = 0; while (i < n) { i++; if (i == 2) { o = p; break; } } } }" },
        { "const local", "void M(bool c, out Page o) { o = default; var p = pool.AllocPage(); if (c) { o = p; } const int k = 1; }" },
        { "declaration without initializer", "void M(bool c, out Page o) { o = default; var p = pool.AllocPage(); if (c) { o = p; } Page d; }" },
        { "empty statement after if", "void M(bool c, out Page o) { o = default; var p = pool.AllocPage(); if (c) { o = p; } ; }" },
        { "do while with break", "void M() { var p = pool.AllocPage(); do { if (Sink.Cond()) { pool.RecyclePage(p); break; } } while (Sink.Cond()); }" },
        { "for with two variables", "void M(int n) { for (int i = 0, j = n; i < j; i++, j--) { var p = pool.AllocPage(); if (i == j) continue; pool.RecyclePage(p); } }" },
        { "pages in object locals", "void M() { object o = pool.AllocPage(); Sink.Work(); }" },
        { "TryAllocPage result negated twice", "void M() { bool ok = pool.TryAllocPage(out var p); if (!!ok) { pool.RecyclePage(p); } }" },
        { "compare with default", "void M() { pool.TryAllocPage(out var p); if (p == default) { return; } pool.RecyclePage(p); }" },
        { "short-circuit at the end of a scope", "void M(bool a, bool b, out Page o) { o = default; { var p = pool.AllocPage(); if (a || b) { o = p; } } }" },
        { "short-circuit loop at the end of a scope", "void M(bool a, out Page o) { o = default; { var p = pool.AllocPage(); int i = 0; while (i < 3 && !a) { i++; if (i == 2) { o = p; break; } } } }" },
        { "do while with short-circuit", "void M(bool a) { var p = pool.AllocPage(); int i = 0; do { i++; } while (i < 3 || a); pool.RecyclePage(p); }" },
        { "IsDefault in a short-circuit", "void M(bool a) { pool.TryAllocPage(out var p); if (a || p.IsDefault) { return; } pool.RecyclePage(p); }" },
        { "user-defined and on a struct", "void M() { var p = pool.AllocPage(); if (p == default || p.Length == 0) { Sink.Work(); } pool.RecyclePage(p); }" },
    };

    [Theory]
    [MemberData(nameof(WalkedClean))]
    public async Task CleanShapesAreProvedWithoutAGraph(string name, string members)
    {
        _ = name;
        var source = InClass(members);
        Assert.True(CanWalkM(source), "the walk should take this shape");
        await VerifyAsync(source);

        var analyzer = new OwnershipAnalyzer();
        var baseline = await ProvedIn(new OwnershipAnalyzer(), InClass(string.Empty));
        var (diagnostics, exceptions) = await RobustnessTests.AnalyzeAsync(RobustnessTests.Compile(null, source), analyzer);
        Assert.Empty(exceptions);
        Assert.Empty(diagnostics);
        Assert.Equal(baseline + 1, analyzer.ProvedByTreeWalk);
    }

    [Theory]
    [MemberData(nameof(WalkableMustWarn))]
    public async Task WalkableShapesThatWarnGoToTheGraph(string name, string members, string expected)
    {
        _ = name;
        var source = InClass(members);
        Assert.True(CanWalkM(source), "the walk should take this shape");
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        var compilation = RobustnessTests.Compile(null, source);
        var analyzer = new OwnershipAnalyzer();
        var baseline = await ProvedIn(new OwnershipAnalyzer(), InClass(string.Empty));
        var (fast, _) = await RobustnessTests.AnalyzeAsync(compilation, analyzer);
        var (graph, _) = await RobustnessTests.AnalyzeAsync(compilation, new OwnershipAnalyzer(treeWalk: false));

        Assert.Equal(baseline, analyzer.ProvedByTreeWalk);
        Assert.Equal(errorsBefore, OwnershipAnalyzer.InternalErrors);
        Assert.Equal(expected, string.Join(",", fast.Select(d => d.Id).Distinct().OrderBy(id => id, StringComparer.Ordinal)));
        Assert.Equal(Describe(graph), Describe(fast));
    }

    [Fact]
    public async Task ArrayLeakInStraightLineGoesToTheGraph()
    {
        const string members = "void M() { var a = ArrayPool<byte>.Shared.Rent(8); a[0] = 1; }";
        Assert.True(CanWalkM(InClass(members)));
        await VerifyAsync(InClass("void M() { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; a[0] = 1; }"), arrays: true);
        await VerifyAsync(InClass("void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); {|PP1102:a|}[0] = 1; }"), arrays: true);
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void OtherShapesAreRefused(string name, string members)
    {
        _ = name;
        Assert.False(CanWalkM(InClass(members)));
    }

    [Fact]
    public async Task TheBenchmarkDriverTakesTheWalkWhereItCan()
    {
        var source = "using System;\nusing PagePool;\n" + DriverUnit;
        var analyzer = new OwnershipAnalyzer();
        var baseline = await ProvedIn(new OwnershipAnalyzer(), InClass(string.Empty));
        var (diagnostics, exceptions) = await RobustnessTests.AnalyzeAsync(RobustnessTests.Compile(null, source), analyzer);
        Assert.Empty(exceptions);
        Assert.Empty(diagnostics);

        // Poll, Deliver, Drain, Split, Lend, Give and OnPageCreated; Copy (try/finally) needs its graph.
        Assert.Equal(baseline + 7, analyzer.ProvedByTreeWalk);
    }

    /// <summary>
    /// Every case of the ownership tests, the walk's own cases, the benchmark's driver and mutants of them (each
    /// recycle dropped, doubled, or followed by a use): the same diagnostics, messages included, with the walk as
    /// with a graph for every method.
    /// </summary>
    [Fact]
    public async Task TheWalkNeverChangesADiagnostic()
    {
        var sources = new List<(string Source, bool Arrays)>
        {
            (RobustnessTests.ReceiveLoop, false),
            ("using System;\nusing PagePool;\n" + DriverUnit, false),
        };
        foreach (var data in new IEnumerable<object[]>[]
        {
            LeakTests.MustWarn, LeakTests.MustNotWarn, UseAfterRecycleTests.MustWarn, UseAfterRecycleTests.MustNotWarn,
            DoubleRecycleTests.MustWarn, DoubleRecycleTests.MustNotWarn, ForeignPoolTests.MustWarn, ForeignPoolTests.MustNotWarn,
            OwnerContextTests.MustWarn, OwnerContextTests.MustNotWarn, ExceptionPathTests.MustWarn, ExceptionPathTests.MustNotWarn,
            WalkedClean, WalkableMustWarn, Refused, MoreShapes,
        })
        {
            foreach (var row in data)
            {
                sources.Add((RobustnessTests.StripMarkup(InClass((string)row[1])), false));
            }
        }

        foreach (var data in new IEnumerable<object[]>[]
        {
            ArrayPoolTests.LeakMustWarn, ArrayPoolTests.LeakMustNotWarn, ArrayPoolTests.UseAfterReturnMustWarn,
            ArrayPoolTests.UseAfterReturnMustNotWarn, ArrayPoolTests.ReturnedTwiceMustWarn, ArrayPoolTests.ReturnedTwiceMustNotWarn,
            RealCodeShapeTests.MustWarn, RealCodeShapeTests.MustNotWarn,
        })
        {
            foreach (var row in data)
            {
                sources.Add((RobustnessTests.StripMarkup(InClass((string)row[1])), true));
            }
        }

        foreach (var (source, arrays) in sources.ToList())
        {
            foreach (var mutant in Mutants(source))
            {
                sources.Add((mutant, arrays));
            }
        }

        Assert.True(sources.Count > 600, $"only {sources.Count} sources");
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        var walked = new OwnershipAnalyzer();
        var warned = 0;
        foreach (var (source, arrays) in sources)
        {
            var compilation = RobustnessTests.Compile(null, source);
            if (arrays)
            {
                compilation = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
                {
                    ["PP1101"] = ReportDiagnostic.Warn,
                    ["PP1102"] = ReportDiagnostic.Warn,
                    ["PP1103"] = ReportDiagnostic.Warn,
                }));
            }

            var (fast, fastExceptions) = await RobustnessTests.AnalyzeAsync(compilation, walked);
            var (graph, graphExceptions) = await RobustnessTests.AnalyzeAsync(compilation, new OwnershipAnalyzer(treeWalk: false));
            Assert.Empty(fastExceptions);
            Assert.Empty(graphExceptions);
            Assert.True(Describe(graph) == Describe(fast), $"--- graph ---\n{Describe(graph)}\n--- walk ---\n{Describe(fast)}\n--- source ---\n{source}");
            warned += graph.IsEmpty ? 0 : 1;
        }

        Assert.Equal(errorsBefore, OwnershipAnalyzer.InternalErrors);

        // The corpus must exercise both answers: many methods proved clean by the walk, many sources that warn.
        Assert.True(walked.ProvedByTreeWalk > 500, $"the walk proved only {walked.ProvedByTreeWalk} methods");
        Assert.True(warned > 200, $"only {warned} sources warn");
    }

    /// <summary>Each recycle statement dropped, doubled, or followed by a use of the page.</summary>
    private static IEnumerable<string> Mutants(string source)
    {
        var root = CSharpSyntaxTree.ParseText(source).GetRoot();
        foreach (var statement in root.DescendantNodes().OfType<ExpressionStatementSyntax>())
        {
            if (statement.Expression is not InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } invocation
                || !access.Name.Identifier.Text.StartsWith("Recycle", StringComparison.Ordinal)
                || invocation.ArgumentList.Arguments.Count != 1
                || statement.Parent is not BlockSyntax)
            {
                continue;
            }

            var span = statement.Span;
            var text = statement.ToString();
            var argument = invocation.ArgumentList.Arguments[0].ToString();
            yield return source.Remove(span.Start, span.Length);
            yield return source.Insert(span.End, " " + text);
            yield return source.Insert(span.End, $" Sink.Borrow({argument});");
        }
    }

    private static string Describe(IEnumerable<Diagnostic> diagnostics) =>
        string.Join("\n", diagnostics
            .Select(d => $"{d.Id} {d.Location.GetLineSpan()} {d.GetMessage()}")
            .OrderBy(line => line, StringComparer.Ordinal));

    private static async Task<int> ProvedIn(OwnershipAnalyzer analyzer, string source)
    {
        await RobustnessTests.AnalyzeAsync(RobustnessTests.Compile(null, source), analyzer);
        return analyzer.ProvedByTreeWalk;
    }

    /// <summary>Whether the walk takes the shape of method M in <paramref name="source"/>.</summary>
    private static bool CanWalkM(string source)
    {
        var compilation = RobustnessTests.Compile(null, RobustnessTests.StripMarkup(source));
        var tree = compilation.SyntaxTrees.First();
        var method = tree.GetRoot().DescendantNodes().OfType<MethodDeclarationSyntax>().Single(m => m.Identifier.Text == "M");
        var operation = compilation.GetSemanticModel(tree).GetOperation(method);
        Assert.NotNull(operation);
        return OwnershipDataflow.CanWalk(operation!, OwnershipTypes.Create(compilation));
    }
}
