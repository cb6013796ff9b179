using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>Messages name the variable and the path that goes wrong; members start at line 11 of the test source.</summary>
public sealed class MessageTests
{
    private static Task Expect(string id, string members, string message, bool arrays = false)
    {
        var test = CreateTest(InClass(members), arrays);
        var severity = id == "PP1006" ? DiagnosticSeverity.Info : DiagnosticSeverity.Warning;
        test.DisabledDiagnostics.Remove(id);
        test.ExpectedDiagnostics.Add(new DiagnosticResult(id, severity).WithLocation(0).WithArguments(message));
        return test.RunAsync();
    }

    [Fact]
    public Task ConditionFalse() => Expect("PP1001", """
        void M(bool c)
        {
            var p = {|#0:pool.AllocPage()|};
            if (c)
            {
                pool.RecyclePage(p);
            }
        }
        """, "Page 'p' is not recycled when the condition at line 14 is false");

    [Fact]
    public Task EarlyReturn() => Expect("PP1001", """
        void M(int n)
        {
            var p = {|#0:pool.AllocPage()|};
            if (n == 0)
                return;
            pool.RecyclePage(p);
        }
        """, "Page 'p' is not recycled when the condition at line 14 is true");

    [Fact]
    public Task NegatedCondition() => Expect("PP1001", """
        void M(bool done)
        {
            var p = {|#0:pool.AllocPage()|};
            if (!done)
            {
                return;
            }

            pool.RecyclePage(p);
        }
        """, "Page 'p' is not recycled when the condition at line 14 is true");

    [Fact]
    public Task LoopExit()
    {
        var test = CreateTest(InClass("""
            void M(int n)
            {
                var p = {|#0:pool.AllocPage()|};
                for (int i = 0; i < n; i++)
                {
                    pool.RecyclePageDirect(p);
                    p = {|#1:pool.AllocPage()|};
                }
            }
            """));
        const string message = "Page 'p' is not recycled when the condition at line 14 is false";
        test.ExpectedDiagnostics.Add(new DiagnosticResult("PP1001", DiagnosticSeverity.Warning).WithLocation(0).WithArguments(message));
        test.ExpectedDiagnostics.Add(new DiagnosticResult("PP1001", DiagnosticSeverity.Warning).WithLocation(1).WithArguments(message));
        return test.RunAsync();
    }

    [Fact]
    public Task ExceptionLeavesTheMethod() => Expect("PP1006", """
        void M()
        {
            var p = pool.AllocPage();
            try
            {
                {|#0:Sink.Work()|};
                pool.RecyclePage(p);
            }
            finally { _field = default; }
        }
        """, "Page 'p' leaks if 'Sink.Work' throws: nothing recycles it on that path");

    [Fact]
    public Task CallOutsideAnyTry() => Expect("PP1006", """
        void M(System.Net.Sockets.Socket socket)
        {
            var page = pool.AllocPage();
            int n = {|#0:socket.Receive(page.Span)|};
            page.Span.Slice(n).Clear();
            pool.RecyclePage(page);
        }
        """, "Page 'page' leaks if 'socket.Receive' throws: nothing recycles it on that path");

    [Fact]
    public Task AwaitOutsideAnyTry() => Expect("PP1006", """
        async Task M(System.IO.Stream stream)
        {
            var page = pool.AllocPage();
            int n = {|#0:await stream.ReadAsync(page.Memory).ConfigureAwait(false)|};
            page.Span[0] = (byte)n;
            pool.RecyclePage(page);
        }
        """, "Page 'page' leaks if 'await stream.ReadAsync' throws: nothing recycles it on that path");

    [Fact]
    public Task ThrowFromACatchIsStillTheCallsException() => Expect("PP1006", """
        void M()
        {
            var p = pool.AllocPage();
            try
            {
                {|#0:Sink.Work()|};
            }
            catch (InvalidOperationException)
            {
                pool.RecyclePage(p);
                throw;
            }

            pool.RecyclePage(p);
        }
        """, "Page 'p' leaks if 'Sink.Work' throws: nothing recycles it on that path");

    [Fact]
    public Task ThrowLeavesTheMethod() => Expect("PP1001", """
        void M(int n)
        {
            var p = {|#0:pool.AllocPage()|};
            if (n < 0)
                throw new ArgumentException("n");
            pool.RecyclePage(p);
        }
        """, "Page 'p' is not recycled when the exception thrown at line 15 leaves the method");

    [Fact]
    public Task ExceptionCaught() => Expect("PP1001", """
        void M()
        {
            var p = {|#0:pool.AllocPage()|};
            try
            {
                Sink.Borrow(p);
                pool.RecyclePage(p);
            }
            catch (Exception) { }
        }
        """, "Page 'p' is not recycled when the exception thrown at line 16 is caught");

    [Fact]
    public Task NeverRecycled() => Expect("PP1001", """
        void M() { var p = {|#0:pool.AllocPage()|}; Sink.Borrow(p); }
        """, "Page 'p' is never recycled or handed on");

    [Fact]
    public Task Discarded() => Expect("PP1001", """
        void M() { {|#0:pool.AllocPage()|}; }
        """, "The page returned by 'AllocPage' is discarded and never recycled");

    [Fact]
    public Task Overwritten() => Expect("PP1001", """
        void M()
        {
            var p = {|#0:pool.AllocPage()|};
            p = pool.AllocPage();
            pool.RecyclePage(p);
        }
        """, "Page 'p' is overwritten at line 14 before it is recycled");

    [Fact]
    public Task OwnedParameter() => Expect("PP1001", """
        void M([Owned] Page {|#0:page|}) { Sink.Borrow(page); }
        """, "[Owned] parameter 'page' is never recycled or handed on");

    [Fact]
    public Task UseAfterRecycle() => Expect("PP1002", """
        void M()
        {
            var p = pool.AllocPage();
            pool.RecyclePage(p);
            Sink.Bytes({|#0:p|}.Span);
        }
        """, "Page 'p' is used after it was recycled at line 14");

    [Fact]
    public Task UseAfterHandingOn() => Expect("PP1002", """
        void M()
        {
            var p = pool.AllocPage();
            Sink.Keep(p);
            Sink.Bytes({|#0:p|}.Span);
        }
        """, "Page 'p' is used after it was handed on at line 14");

    [Fact]
    public Task RecycledTwice() => Expect("PP1003", """
        void M()
        {
            var p = pool.AllocPage();
            pool.RecyclePage(p);
            pool.RecyclePage({|#0:p|});
        }
        """, "Page 'p' is recycled twice (first at line 14)");

    [Fact]
    public Task AfterAwait() => Expect("PP1004", """
        async Task M()
        {
            var p = pool.AllocPage();
            await Task.Yield();
            {|#0:pool.RecyclePageDirect(p)|};
        }
        """, "RecyclePageDirect is called after the await at line 14, where the method may continue on another thread; use RecyclePage");

    [Fact]
    public Task InTaskRun() => Expect("PP1004", """
        void M(Page p) { Task.Run(() => {|#0:pool.RecyclePageDirect(p)|}); }
        """, "RecyclePageDirect is called in a callback passed to 'Task.Run', which runs off the owner context; use RecyclePage");

    [Fact]
    public Task OtherPool() => Expect("PP1005", """
        void M() { var p = pool.AllocPage(); tx.RecyclePage({|#0:p|}); }
        """, "Page 'p' was allocated from 'pool' (RxQueue) but is recycled into 'tx' (TxQueue)");

    [Fact]
    public Task ArrayNotReturned() => Expect("PP1101", """
        void M(bool c)
        {
            var buffer = {|#0:ArrayPool<byte>.Shared.Rent(64)|};
            if (c)
                ArrayPool<byte>.Shared.Return(buffer);
        }
        """, "Array 'buffer' is not returned to the pool when the condition at line 14 is false", arrays: true);

    [Fact]
    public Task ArrayUsedAfterReturn() => Expect("PP1102", """
        void M()
        {
            var buffer = ArrayPool<byte>.Shared.Rent(64);
            ArrayPool<byte>.Shared.Return(buffer);
            {|#0:buffer|}[0] = 1;
        }
        """, "Array 'buffer' is used after it was returned to the pool at line 14", arrays: true);

    [Fact]
    public Task ArrayReturnedTwice() => Expect("PP1103", """
        void M()
        {
            var buffer = ArrayPool<byte>.Shared.Rent(64);
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return({|#0:buffer|});
        }
        """, "Array 'buffer' is returned to the pool twice (first at line 14)", arrays: true);
}
