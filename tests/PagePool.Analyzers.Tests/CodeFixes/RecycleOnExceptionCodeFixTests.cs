using System.Threading.Tasks;
using PagePool.Analyzers.CodeFixes;

namespace PagePool.Analyzers.Tests.CodeFixes;

using ThrowVerifier = OwnershipFixVerifier<RecycleOnExceptionCodeFixProvider>;

/// <summary>PP1006's fix: the recycle moves into a finally, or a catch recycles when the page is handed on at the end.</summary>
public sealed class RecycleOnExceptionCodeFixTests
{
    private const string InFinally = "PP1006.RecycleInFinally";
    private const string InCatch = "PP1006.RecycleInCatch";

    private const string Header = """
        using System;
        using System.Net.Sockets;
        using PagePool;

        sealed class Driver
        {
            private readonly RuntimePagePool _pool = new(new PagePoolOptions());
            private static void Process(ReadOnlySpan<byte> data) { }

        """;

    [Fact]
    public Task The_recycle_at_the_end_moves_into_a_finally() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public void Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    int n = {|PP1006:socket.Receive(page.Span)|};
                    {|PP1006:Process(page.Span[..n])|};
                    _pool.RecyclePage(page);
                }
            }
            """,
            Header + """
                public void Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    try
                    {
                        int n = socket.Receive(page.Span);
                        Process(page.Span[..n]);
                    }
                    finally
                    {
                        _pool.RecyclePage(page);
                    }
                }
            }
            """,
            InFinally);

    [Fact]
    public Task Statements_after_the_recycle_stay_after_the_try() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public int Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    page.Span.Clear();
                    {|PP1006:socket.Send(page.Span)|};
                    _pool.RecyclePage(page);
                    Console.WriteLine("sent");
                    return 1;
                }
            }
            """,
            Header + """
                public int Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    try
                    {
                        page.Span.Clear();
                        socket.Send(page.Span);
                    }
                    finally
                    {
                        _pool.RecyclePage(page);
                    }

                    Console.WriteLine("sent");
                    return 1;
                }
            }
            """,
            InFinally);

    [Fact]
    public Task A_local_used_after_the_recycle_keeps_its_statements_in_the_try() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public int Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    int n = {|PP1006:socket.Receive(page.Span)|};
                    _pool.RecyclePage(page);
                    return n;
                }
            }
            """,
            Header + """
                public int Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    try
                    {
                        int n = socket.Receive(page.Span);
                        return n;
                    }
                    finally
                    {
                        _pool.RecyclePage(page);
                    }
                }
            }
            """,
            InFinally);

    [Fact]
    public Task A_page_handed_on_at_the_end_is_recycled_in_a_catch_that_rethrows() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public Page Receive(Socket socket, out int length)
                {
                    var page = _pool.AllocPage();
                    length = {|PP1006:socket.Receive(page.Span)|};
                    return page;
                }
            }
            """,
            Header + """
                public Page Receive(Socket socket, out int length)
                {
                    var page = _pool.AllocPage();
                    try
                    {
                        length = socket.Receive(page.Span);
                        return page;
                    }
                    catch
                    {
                        _pool.RecyclePage(page);
                        throw;
                    }
                }
            }
            """,
            InCatch);

    [Fact]
    public Task A_recycle_inside_a_branch_before_the_end_makes_it_a_catch() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public void Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    int n = {|PP1006:socket.Receive(page.Span)|};
                    if (n == 0)
                    {
                        _pool.RecyclePage(page);
                        return;
                    }

                    {|PP1006:Process(page.Span[..n])|};
                    _pool.RecyclePage(page);
                }
            }
            """,
            Header + """
                public void Receive(Socket socket)
                {
                    var page = _pool.AllocPage();
                    try
                    {
                        int n = socket.Receive(page.Span);
                        if (n == 0)
                        {
                            _pool.RecyclePage(page);
                            return;
                        }

                        Process(page.Span[..n]);
                        _pool.RecyclePage(page);
                    }
                    catch
                    {
                        _pool.RecyclePage(page);
                        throw;
                    }
                }
            }
            """,
            InCatch);

    [Fact]
    public Task A_page_from_a_while_loops_TryAllocPage_is_guarded_inside_the_body() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public void Poll(Socket socket)
                {
                    while (_pool.TryAllocPage(out Page page))
                    {
                        int n = {|PP1006:socket.Receive(page.Span)|};
                        _pool.RecyclePage(page);
                        if (n == 0)
                        {
                            return;
                        }
                    }
                }
            }
            """,
            Header + """
                public void Poll(Socket socket)
                {
                    while (_pool.TryAllocPage(out Page page))
                    {
                        try
                        {
                            int n = socket.Receive(page.Span);
                            if (n == 0)
                            {
                                return;
                            }
                        }
                        finally
                        {
                            _pool.RecyclePage(page);
                        }
                    }
                }
            }
            """,
            InFinally);

    [Fact]
    public Task A_page_from_an_early_out_TryAllocPage_is_guarded_after_it() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public void Receive(Socket socket)
                {
                    if (!_pool.TryAllocPage(out var page))
                    {
                        return;
                    }

                    {|PP1006:socket.Receive(page.Span)|};
                    _pool.RecyclePage(page);
                }
            }
            """,
            Header + """
                public void Receive(Socket socket)
                {
                    if (!_pool.TryAllocPage(out var page))
                    {
                        return;
                    }

                    try
                    {
                        socket.Receive(page.Span);
                    }
                    finally
                    {
                        _pool.RecyclePage(page);
                    }
                }
            }
            """,
            InFinally);

    [Fact]
    public Task No_fix_for_an_owned_parameter() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public void Forward([Owned] Page page, Socket socket)
                {
                    {|PP1006:socket.Send(page.Span)|};
                    _pool.RecyclePage(page);
                }
            }
            """,
            Header + """
                public void Forward([Owned] Page page, Socket socket)
                {
                    {|PP1006:socket.Send(page.Span)|};
                    _pool.RecyclePage(page);
                }
            }
            """);

    [Fact]
    public Task No_catch_around_a_yield() =>
        ThrowVerifier.VerifyAsync(
            Header + """
                public System.Collections.Generic.IEnumerable<int> Lengths(Socket socket)
                {
                    var page = _pool.AllocPage();
                    yield return {|PP1006:socket.Receive(page.Span)|};
                    Keep(page);
                }

                private static Page s_kept;
                private static void Keep([Owned] Page page) => s_kept = page;
            }
            """,
            Header + """
                public System.Collections.Generic.IEnumerable<int> Lengths(Socket socket)
                {
                    var page = _pool.AllocPage();
                    yield return {|PP1006:socket.Receive(page.Span)|};
                    Keep(page);
                }

                private static Page s_kept;
                private static void Keep([Owned] Page page) => s_kept = page;
            }
            """);
}
