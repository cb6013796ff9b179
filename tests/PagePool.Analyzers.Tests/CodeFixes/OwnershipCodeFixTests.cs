using System.Threading.Tasks;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using PagePool.Analyzers.CodeFixes;

namespace PagePool.Analyzers.Tests.CodeFixes;

using LeakVerifier = OwnershipFixVerifier<RecycleLeakedPageCodeFixProvider>;
using TwiceVerifier = OwnershipFixVerifier<RemoveSecondRecycleCodeFixProvider>;
using DirectVerifier = OwnershipFixVerifier<UseRecyclePageCodeFixProvider>;

public sealed class OwnershipCodeFixTests
{
    private const string AtEnd = "PP1001.RecycleAtEndOfScope";
    private const string InFinally = "PP1001.RecycleInFinally";

    [Fact]
    public Task PP1001_recycles_into_the_receiver_at_the_end_of_the_block() =>
        LeakVerifier.VerifyAsync(
            """
            using PagePool;

            sealed class Driver
            {
                private readonly RuntimePagePool _pool = new(new PagePoolOptions());

                public int Receive()
                {
                    var page = {|PP1001:_pool.AllocPage()|};
                    page.Span[0] = 1;
                    int length = page.Length;
                    return length;
                }
            }
            """,
            """
            using PagePool;

            sealed class Driver
            {
                private readonly RuntimePagePool _pool = new(new PagePoolOptions());

                public int Receive()
                {
                    var page = _pool.AllocPage();
                    page.Span[0] = 1;
                    int length = page.Length;
                    _pool.RecyclePage(page);
                    return length;
                }
            }
            """,
            equivalenceKey: AtEnd);

    [Fact]
    public Task PP1001_recycles_at_the_very_end_when_the_block_does_not_end_in_a_jump() =>
        LeakVerifier.VerifyAsync(
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    Page page = {|PP1001:pool.AllocPage()|};
                    page.Span.Clear();
                }
            }
            """,
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    Page page = pool.AllocPage();
                    page.Span.Clear();
                    pool.RecyclePage(page);
                }
            }
            """,
            equivalenceKey: AtEnd);

    [Fact]
    public Task PP1001_wraps_the_uses_in_try_finally() =>
        LeakVerifier.VerifyAsync(
            """
            using PagePool;

            sealed class Driver
            {
                private readonly RuntimePagePool _pool = new(new PagePoolOptions());

                public int Receive()
                {
                    var page = {|PP1001:this._pool.AllocPage()|};
                    page.Span[0] = 1;
                    return page.Span[0];
                }
            }
            """,
            """
            using PagePool;

            sealed class Driver
            {
                private readonly RuntimePagePool _pool = new(new PagePoolOptions());

                public int Receive()
                {
                    var page = this._pool.AllocPage();
                    try
                    {
                        page.Span[0] = 1;
                        return page.Span[0];
                    }
                    finally
                    {
                        this._pool.RecyclePage(page);
                    }
                }
            }
            """,
            equivalenceKey: InFinally);

    [Fact]
    public async Task PP1001_offers_only_try_finally_when_the_final_return_still_uses_the_page()
    {
        // Recycling before 'return page.Span[0]' would be a use after recycle, and after it is unreachable.
        var test = LeakVerifier.CreateTest(
            """
            using PagePool;

            static class Driver
            {
                public static int Receive(RuntimePagePool pool)
                {
                    var page = {|PP1001:pool.AllocPage()|};
                    return page.Span[0];
                }
            }
            """,
            """
            using PagePool;

            static class Driver
            {
                public static int Receive(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    try
                    {
                        return page.Span[0];
                    }
                    finally
                    {
                        pool.RecyclePage(page);
                    }
                }
            }
            """);
        test.CodeActionEquivalenceKey = InFinally;
        test.CodeActionIndex = 0; // the only action offered
        await test.RunAsync();
    }

    [Fact]
    public Task PP1001_fix_all_recycles_every_leak() =>
        LeakVerifier.VerifyAsync(
            """
            using PagePool;

            sealed class RxQueue
            {
                private readonly RuntimePagePool _pool = new(new PagePoolOptions());

                public void One()
                {
                    var first = {|PP1001:_pool.AllocPage()|};
                    first.Span[0] = 1;
                }

                public void Two(RuntimePagePool other)
                {
                    var second = {|PP1001:other.AllocPage()|};
                    second.Span[0] = 2;
                }
            }
            """,
            """
            using PagePool;

            sealed class RxQueue
            {
                private readonly RuntimePagePool _pool = new(new PagePoolOptions());

                public void One()
                {
                    var first = _pool.AllocPage();
                    first.Span[0] = 1;
                    _pool.RecyclePage(first);
                }

                public void Two(RuntimePagePool other)
                {
                    var second = other.AllocPage();
                    second.Span[0] = 2;
                    other.RecyclePage(second);
                }
            }
            """,
            equivalenceKey: AtEnd);

    [Fact]
    public Task PP1003_removes_the_second_recycle() =>
        TwiceVerifier.VerifyAsync(
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    page.Span[0] = 1;
                    pool.RecyclePage(page);
                    pool.RecyclePage({|PP1003:page|});
                    System.Console.WriteLine("done");
                }
            }
            """,
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    page.Span[0] = 1;
                    pool.RecyclePage(page);
                    System.Console.WriteLine("done");
                }
            }
            """);

    [Fact]
    public Task PP1003_fix_all_removes_every_second_recycle() =>
        TwiceVerifier.VerifyAsync(
            """
            using PagePool;

            static class Driver
            {
                public static void A(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    pool.RecyclePageDirect(page);
                    pool.RecyclePage({|PP1003:page|});
                }

                public static void B(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    pool.RecyclePage(page);
                    pool.RecyclePage({|PP1003:page|});
                }
            }
            """,
            """
            using PagePool;

            static class Driver
            {
                public static void A(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    pool.RecyclePageDirect(page);
                }

                public static void B(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    pool.RecyclePage(page);
                }
            }
            """);

    [Fact]
    public Task PP1004_replaces_RecyclePageDirect_with_RecyclePage() =>
        DirectVerifier.VerifyAsync(
            """
            using System.Threading.Tasks;
            using PagePool;

            static class Driver
            {
                public static Task Receive(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    return Task.Run(() => {|PP1004:pool.RecyclePageDirect(page)|});
                }
            }
            """,
            """
            using System.Threading.Tasks;
            using PagePool;

            static class Driver
            {
                public static Task Receive(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    return Task.Run(() => pool.RecyclePage(page));
                }
            }
            """);

    [Fact]
    public Task PP1004_fix_all_replaces_every_off_owner_direct_recycle() =>
        DirectVerifier.VerifyAsync(
            """
            using System.Threading;
            using System.Threading.Tasks;
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    var a = pool.AllocPage();
                    var b = pool.AllocPage();
                    ThreadPool.QueueUserWorkItem(_ => {|PP1004:pool.RecyclePageDirect(a)|});
                    Task.Run(() => {|PP1004:pool.RecyclePageDirect(b)|});
                }
            }
            """,
            """
            using System.Threading;
            using System.Threading.Tasks;
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    var a = pool.AllocPage();
                    var b = pool.AllocPage();
                    ThreadPool.QueueUserWorkItem(_ => pool.RecyclePage(a));
                    Task.Run(() => pool.RecyclePage(b));
                }
            }
            """);
}

public sealed class OwnershipCodeFixNotOfferedTests
{
    [Fact]
    public Task PP1001_offers_nothing_when_the_pool_expression_cannot_be_written_twice()
    {
        // GetPool() may return another pool the second time; the fix must not guess.
        const string source = """
            using PagePool;

            static class Driver
            {
                static readonly RuntimePagePool Shared = new(new PagePoolOptions());
                static RuntimePagePool GetPool() => Shared;

                public static void Receive()
                {
                    var page = {|#0:GetPool().AllocPage()|};
                    page.Span[0] = 1;
                }
            }
            """;
        var test = OwnershipFixVerifier<RecycleLeakedPageCodeFixProvider>.CreateTest(source, source);
        test.FixedState.MarkupHandling = MarkupMode.Allow;
        test.TestState.ExpectedDiagnostics.Add(new DiagnosticResult("PP1001", DiagnosticSeverity.Warning).WithLocation(0));
        test.FixedState.ExpectedDiagnostics.Add(new DiagnosticResult("PP1001", DiagnosticSeverity.Warning).WithLocation(0));
        return test.RunAsync();
    }

    [Fact]
    public Task PP1003_leaves_a_recycle_that_is_an_if_body()
    {
        // Removing the body of 'if (again) ...' would change what the 'if' governs: only the statement of its
        // own is removed, and the if-body one stays reported.
        var test = OwnershipFixVerifier<RemoveSecondRecycleCodeFixProvider>.CreateTest(
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool, bool again)
                {
                    var page = pool.AllocPage();
                    pool.RecyclePage(page);
                    if (again) pool.RecyclePage({|PP1003:page|});
                    pool.RecyclePage({|PP1003:page|});
                }
            }
            """,
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool, bool again)
                {
                    var page = pool.AllocPage();
                    pool.RecyclePage(page);
                    if (again) pool.RecyclePage({|PP1003:page|});
                }
            }
            """);
        test.FixedState.MarkupHandling = MarkupMode.Allow;
        return test.RunAsync();
    }

    [Fact]
    public Task PP1003_fix_also_accepts_the_diagnostic_on_the_whole_invocation()
    {
        var test = new CSharpCodeFixTest<OwnershipStandInInvocationLocationAnalyzer, RemoveSecondRecycleCodeFixProvider, DefaultVerifier>
        {
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"),
            TestCode = """
                using PagePool;

                static class Driver
                {
                    public static void Receive(RuntimePagePool pool)
                    {
                        var page = pool.AllocPage();
                        pool.RecyclePage(page);
                        {|PP1003:pool.RecyclePageDirect(page)|};
                    }
                }
                """,
            FixedCode = """
                using PagePool;

                static class Driver
                {
                    public static void Receive(RuntimePagePool pool)
                    {
                        var page = pool.AllocPage();
                        pool.RecyclePage(page);
                    }
                }
                """,
        };
        test.TestState.AdditionalReferences.AddRange(Net100.References.All);
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(PagePoolAttribute).Assembly.Location));
        return test.RunAsync();
    }
}

public sealed class OwnershipCodeFixPartialLeakTests
{
    [Fact]
    public async Task PP1001_moves_the_blocks_own_recycle_into_the_finally_and_offers_nothing_else()
    {
        // The page goes back on the normal path but leaks on the early return: recycling at the end again would
        // recycle it twice, so the only fix is the finally, which replaces the existing recycle statement.
        var test = OwnershipFixVerifier<RecycleLeakedPageCodeFixProvider>.CreateTest(
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    var page = {|PP1001:pool.AllocPage()|};
                    if (page.Length > 10)
                    {
                        return;
                    }

                    page.Span[0] = 1;
                    pool.RecyclePage(page);
                }
            }
            """,
            """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool)
                {
                    var page = pool.AllocPage();
                    try
                    {
                        if (page.Length > 10)
                        {
                            return;
                        }

                        page.Span[0] = 1;
                    }
                    finally
                    {
                        pool.RecyclePage(page);
                    }
                }
            }
            """);
        test.CodeActionEquivalenceKey = "PP1001.RecycleInFinally";
        test.CodeActionIndex = 0; // the only action offered
        await test.RunAsync();
    }

    [Fact]
    public Task PP1001_offers_nothing_when_the_page_is_handed_on_inside_a_branch()
    {
        // Recycled only when 'keep' is false: a finally would recycle it twice, a recycle at the end too.
        const string source = """
            using PagePool;

            static class Driver
            {
                public static void Receive(RuntimePagePool pool, bool keep)
                {
                    var page = {|#0:pool.AllocPage()|};
                    if (!keep)
                    {
                        pool.RecyclePage(page);
                    }
                }
            }
            """;
        var test = OwnershipFixVerifier<RecycleLeakedPageCodeFixProvider>.CreateTest(source, source);
        test.FixedState.MarkupHandling = MarkupMode.Allow;
        test.TestState.ExpectedDiagnostics.Add(new DiagnosticResult("PP1001", DiagnosticSeverity.Warning).WithLocation(0));
        test.FixedState.ExpectedDiagnostics.Add(new DiagnosticResult("PP1001", DiagnosticSeverity.Warning).WithLocation(0));
        return test.RunAsync();
    }
}
