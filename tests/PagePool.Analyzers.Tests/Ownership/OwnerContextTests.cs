using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>PP1004: RecyclePageDirect where the owner context is not guaranteed.</summary>
public sealed class OwnerContextTests
{
    public static TheoryData<string, string> MustWarn => new()
    {
        { "Task.Run", """
            void M() { var p = pool.AllocPage(); Task.Run(() => {|PP1004:pool.RecyclePageDirect(p)|}); }
            """ },
        { "Task.Factory.StartNew", """
            void M() { var p = pool.AllocPage(); Task.Factory.StartNew(() => { Sink.Work(); {|PP1004:pool.RecyclePageDirect(p)|}; }); }
            """ },
        { "ThreadPool.QueueUserWorkItem", """
            void M() { var p = pool.AllocPage(); ThreadPool.QueueUserWorkItem(_ => {|PP1004:pool.RecyclePageDirect(p)|}); }
            """ },
        { "ThreadPool.UnsafeQueueUserWorkItem", """
            void M() { var p = pool.AllocPage(); ThreadPool.UnsafeQueueUserWorkItem(_ => {|PP1004:pool.RecyclePageDirect(p)|}, null); }
            """ },
        { "Parallel.For", """
            void M(Page[] pages) { Parallel.For(0, pages.Length, i => {|PP1004:pool.RecyclePageDirect(pages[i])|}); }
            """ },
        { "Parallel.ForEach", """
            void M(List<Page> pages) { Parallel.ForEach(pages, page => {|PP1004:pool.RecyclePageDirect(page)|}); }
            """ },
        { "Parallel.Invoke", """
            void M() { var p = pool.AllocPage(); Parallel.Invoke(() => {|PP1004:pool.RecyclePageDirect(p)|}); }
            """ },
        { "new Thread", """
            void M() { var p = pool.AllocPage(); new Thread(() => {|PP1004:pool.RecyclePageDirect(p)|}).Start(); }
            """ },
        { "Timer callback", """
            Timer? _timer;
            void M() { var p = pool.AllocPage(); _timer = new Timer(_ => {|PP1004:pool.RecyclePageDirect(p)|}, null, 10, Timeout.Infinite); }
            """ },
        { "ContinueWith", """
            void M(Task t) { var p = pool.AllocPage(); t.ContinueWith(_ => {|PP1004:pool.RecyclePageDirect(p)|}); }
            """ },
        { "local function passed to Task.Run", """
            void M() { var p = pool.AllocPage(); Task.Run(Work); void Work() { {|PP1004:pool.RecyclePageDirect(p)|}; } }
            """ },
        { "after an await", """
            async Task M() { var p = pool.AllocPage(); await Task.Yield(); {|PP1004:pool.RecyclePageDirect(p)|}; }
            """ },
        { "after an await on one path", """
            async Task M(bool c) { var p = pool.AllocPage(); if (c) await Task.Delay(1); {|PP1004:pool.RecyclePageDirect(p)|}; }
            """ },
        { "in a loop after the previous iteration awaited", """
            async Task M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); {|PP1004:pool.RecyclePageDirect(p)|}; await Task.Yield(); } }
            """ },
        { "after await foreach", """
            async Task M(IAsyncEnumerable<int> xs) { var p = pool.AllocPage(); await foreach (var x in xs) { Sink.Work(); } {|PP1004:pool.RecyclePageDirect(p)|}; }
            """ },
        { "after await using", """
            async Task M(IAsyncDisposable d) { var p = pool.AllocPage(); await using (d) { Sink.Work(); } {|PP1004:pool.RecyclePageDirect(p)|}; }
            """ },
        { "async lambda after its await", """
            void M() { Func<Task> f = async () => { var p = pool.AllocPage(); await Task.Yield(); {|PP1004:pool.RecyclePageDirect(p)|}; }; _ = f; }
            """ },
        { "nested lambda inside Task.Run", """
            void M() { var p = pool.AllocPage(); Task.Run(() => { Action a = () => {|PP1004:pool.RecyclePageDirect(p)|}; a(); }); }
            """ },
    };

    public static TheoryData<string, string> MustNotWarn => new()
    {
        { "in the owner's method", """
            void M() { var p = pool.AllocPage(); pool.RecyclePageDirect(p); }
            """ },
        { "RecyclePage in Task.Run", """
            void M() { var p = pool.AllocPage(); Task.Run(() => pool.RecyclePage(p)); }
            """ },
        { "before the await", """
            async Task M() { var p = pool.AllocPage(); pool.RecyclePageDirect(p); await Task.Yield(); }
            """ },
        { "lambda called synchronously", """
            void M() { var p = pool.AllocPage(); Action a = () => pool.RecyclePageDirect(p); a(); }
            """ },
        { "local function called directly", """
            void M() { var p = pool.AllocPage(); Local(); void Local() => pool.RecyclePageDirect(p); }
            """ },
        { "await in another method", """
            async Task Other() => await Task.Yield();
            void M() { var p = pool.AllocPage(); pool.RecyclePageDirect(p); }
            """ },
        { "await inside a lambda only", """
            void M() { Func<Task> f = async () => await Task.Yield(); var p = pool.AllocPage(); pool.RecyclePageDirect(p); _ = f; }
            """ },
        { "Parallel.For with RecyclePage", """
            void M(Page[] pages) { Parallel.For(0, pages.Length, i => pool.RecyclePage(pages[i])); }
            """ },
        { "a RecyclePage after await", """
            async Task M() { var p = pool.AllocPage(); await Task.Yield(); pool.RecyclePage(p); }
            """ },
        { "Task.Run around other work", """
            void M() { Task.Run(() => Sink.Work()); var p = pool.AllocPage(); pool.RecyclePageDirect(p); }
            """ },
        { "RuntimePagePool direct recycle in owner loop", """
            void M(RuntimePagePool runtime) { for (int i = 0; i < 4; i++) { var p = runtime.AllocPage(); runtime.RecyclePageDirect(p); } }
            """ },
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Warns(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members));
    }

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task DoesNotWarn(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members));
    }
}
