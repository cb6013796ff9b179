using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>PP1001: a page (or an [Owned] parameter) that is neither recycled nor handed on on some path.</summary>
public sealed class LeakTests
{
    public static TheoryData<string, string> MustWarn => new()
    {
        { "never recycled", """
            void M() { var p = {|PP1001:pool.AllocPage()|}; Sink.Bytes(p.Span); }
            """ },
        { "recycled on one branch only", """
            void M(bool c) { var p = {|PP1001:pool.AllocPage()|}; if (c) pool.RecyclePage(p); }
            """ },
        { "early return", """
            void M(bool c) { var p = {|PP1001:pool.AllocPage()|}; if (c) return; pool.RecyclePage(p); }
            """ },
        { "throw while holding", """
            void M(int n) { var p = {|PP1001:pool.AllocPage()|}; if (n < 0) throw new ArgumentOutOfRangeException(nameof(n)); pool.RecyclePage(p); }
            """ },
        { "catch swallows after the recycle was skipped", """
            void M() { var p = {|PP1001:pool.AllocPage()|}; try { Sink.Borrow(p); pool.RecyclePage(p); } catch (Exception) { } }
            """ },
        { "continue skips the recycle", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = {|PP1001:pool.AllocPage()|}; if (i % 2 == 0) continue; pool.RecyclePage(p); } }
            """ },
        { "break skips the recycle", """
            void M() { while (true) { var p = {|PP1001:pool.AllocPage()|}; if (Sink.Cond()) break; pool.RecyclePage(p); } }
            """ },
        { "overwriting an owned variable", """
            void M() { var p = {|PP1001:pool.AllocPage()|}; p = pool.AllocPage(); pool.RecyclePage(p); }
            """ },
        { "discarded AllocPage()", """
            void M() { {|PP1001:pool.AllocPage()|}; }
            """ },
        { "discard assignment", """
            void M() { _ = {|PP1001:pool.AllocFragment(64)|}; }
            """ },
        { "result used but not kept", """
            void M() { {|PP1001:pool.AllocPage()|}.Span.Clear(); }
            """ },
        { "[Owned] parameter dropped in the callee", """
            void M([Owned] Page {|PP1001:p|}) { Sink.Borrow(p); }
            """ },
        { "[Owned] parameter recycled on one branch", """
            void M([Owned] Page {|PP1001:p|}, bool c) { if (c) pool.RecyclePage(p); }
            """ },
        { "TryAllocPage then never recycled", """
            void M() { if (!pool.TryAllocPage({|PP1001:out var p|})) return; Sink.Bytes(p.Span); }
            """ },
        { "TryAllocPage result in a local", """
            void M() { bool ok = pool.TryAllocPage({|PP1001:out var p|}); if (ok) Sink.Borrow(p); }
            """ },
        { "switch statement case that forgets", """
            void M(int n) { var p = {|PP1001:pool.AllocPage()|}; switch (n) { case 0: pool.RecyclePage(p); break; case 1: break; default: pool.RecyclePage(p); break; } }
            """ },
        { "switch expression arm", """
            void M(int n) { Page p = n switch { 0 => {|PP1001:pool.AllocPage()|}, _ => default }; if (n > 3) pool.RecyclePage(p); }
            """ },
        { "foreach loop recycles conditionally", """
            void M(int[] xs) { foreach (var x in xs) { var p = {|PP1001:pool.AllocPage()|}; if (x > 0) pool.RecyclePage(p); } }
            """ },
        { "local function in its own right", """
            void M() { Local(); void Local() { var p = {|PP1001:pool.AllocPage()|}; Sink.Borrow(p); } }
            """ },
        { "lambda in its own right", """
            void M() { Action a = () => { var p = {|PP1001:pool.AllocPage()|}; Sink.Borrow(p); }; a(); }
            """ },
        { "conditional expression allocates, one path recycles", """
            void M(bool c) { var p = c ? {|PP1001:pool.AllocPage()|} : {|PP1001:pool.AllocFragment(64)|}; if (c) pool.RecyclePage(p); }
            """ },
        { "exception leaves a try/catch that only catches some exceptions, and the normal path never recycles", """
            void M() { var p = {|PP1001:pool.AllocPage()|}; try { Sink.Work(); } catch (InvalidOperationException) { pool.RecyclePage(p); throw; } }
            """ },
        { "goto past the recycle", """
            void M(bool c) { var p = {|PP1001:pool.AllocPage()|}; if (c) goto done; pool.RecyclePage(p); done: Console.WriteLine(); }
            """ },
        { "RuntimePagePool", """
            void M(RuntimePagePool runtime) { var p = {|PP1001:runtime.AllocPage()|}; Sink.Borrow(p); }
            """ },
        { "foreach inside a try/catch that swallows", """
            void M(List<int> xs) { try { foreach (var x in xs) { var p = {|PP1001:pool.AllocPage()|}; Sink.Work(); pool.RecyclePage(p); } } catch (Exception) { } }
            """ },
        { "logged through a params array, never recycled", """
            void M() { var p = {|PP1001:pool.AllocPage()|}; Console.WriteLine("{0} {1}", p, p.Length); }
            """ },
        { "handed to a constructor parameter that is not [Owned]", """
            sealed class Packet { public Packet(Page page) { } }
            void M() { var p = {|PP1001:pool.AllocPage()|}; _ = new Packet(p); }
            """ },
        { "owned method result from a queue", """
            void M() { var p = {|PP1001:_queue.Dequeue()|}; Sink.Borrow(p); }
            """ },
    };

    public static TheoryData<string, string> MustNotWarn => new()
    {
        { "recycled", """
            void M() { var p = pool.AllocPage(); Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """ },
        { "try/finally", """
            void M() { var p = pool.AllocPage(); try { Sink.Bytes(p.Span); Sink.Work(); } finally { pool.RecyclePage(p); } }
            """ },
        { "returning the page", """
            Page M() { var p = pool.AllocPage(); p.Span.Clear(); return p; }
            """ },
        { "storing it in a field", """
            void M() { var p = pool.AllocPage(); _field = p; _field = pool.AllocPage(); }
            """ },
        { "storing it in an array slot", """
            void M(int i) { var p = pool.AllocPage(); _slots[i] = p; }
            """ },
        { "storing it in a list and a queue", """
            void M() { var p = pool.AllocPage(); _list.Add(p); _queue.Enqueue(pool.AllocPage()); }
            """ },
        { "passing it to an [Owned] parameter", """
            void M() { var p = pool.AllocPage(); Sink.Keep(p); }
            """ },
        { "recycle in catch then rethrow", """
            void M() { var p = pool.AllocPage(); try { Sink.Borrow(p); Sink.Work(); } catch { pool.RecyclePage(p); throw; } pool.RecyclePage(p); }
            """ },
        { "guarded recycle in finally with IsDefault", """
            void M() { Page p = default; try { p = pool.AllocPage(); Sink.Work(); } finally { if (!p.IsDefault) pool.RecyclePage(p); } }
            """ },
        { "guarded recycle in finally with == default", """
            void M() { Page p = default; try { p = pool.AllocPage(); Sink.Work(); } finally { if (p != default) pool.RecyclePage(p); } }
            """ },
        { "TryAllocPage early-out", """
            void M() { if (!pool.TryAllocPage(out var p)) return; Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """ },
        { "TryAllocPage in a loop condition", """
            void M() { while (pool.TryAllocPage(out var p)) { Sink.Borrow(p); pool.RecyclePage(p); } }
            """ },
        { "TryAllocPage result in a local", """
            void M() { var ok = pool.TryAllocPage(out var p); if (!ok) return; pool.RecyclePage(p); }
            """ },
        { "switch statement recycles in every case", """
            void M(int n) { var p = pool.AllocPage(); switch (n) { case 0: pool.RecyclePage(p); break; case 1: Sink.Keep(p); break; default: pool.RecyclePageDirect(p); break; } }
            """ },
        { "switch expression", """
            void M(int n) { Page p = n switch { 0 => pool.AllocPage(), 1 => pool.AllocFragment(100), _ => default }; if (!p.IsDefault) pool.RecyclePage(p); }
            """ },
        { "loops with break and continue after the recycle", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); pool.RecyclePage(p); if (i == 3) continue; if (i == 7) break; } }
            """ },
        { "[Owned] parameter recycled", """
            void M([Owned] Page p) { Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """ },
        { "borrowed parameter kept", """
            void M(Page p) { Sink.Bytes(p.Span); }
            """ },
        { "user TryX method hands the page out", """
            bool TryGet(out Page page) { if (!pool.TryAllocPage(out page)) return false; page.Span.Clear(); return true; }
            bool TryGet2(out Page page) => pool.TryAllocPage(out page);
            """ },
        { "captured in a lambda passed to Task.Run", """
            void M() { var p = pool.AllocPage(); Task.Run(() => pool.RecyclePage(p)); }
            """ },
        { "[NotOwned] return", """
            [return: NotOwned] Page Peek() => _field;
            void M() { var p = Peek(); Sink.Borrow(p); }
            """ },
        { "lent by a collection", """
            void M() { if (_queue.TryPeek(out var p)) Sink.Borrow(p); var q = _list[0]; Sink.Borrow(q); }
            """ },
        { "a call outside any try is no PP1001 path (it is PP1006's)", """
            void M() { var p = pool.AllocPage(); Sink.Work(); Sink.Borrow(p); pool.RecyclePage(p); }
            """ },
        { "throw after the recycle", """
            void M(int n) { var p = pool.AllocPage(); pool.RecyclePage(p); if (n < 0) throw new ArgumentException(); }
            """ },
        { "conditional expression with one recycle", """
            void M(bool c) { var p = c ? pool.AllocPage() : pool.AllocFragment(64); pool.RecyclePage(p); }
            """ },
        { "exchange with a field", """
            void M() { var p = pool.AllocPage(); var old = Interlocked.Exchange(ref _field, p); if (!old.IsDefault) pool.RecyclePage(old); }
            """ },
        { "previous page kept across iterations", """
            void M(int n) { Page prev = default; for (int i = 0; i < n; i++) { var p = pool.AllocPage(); if (!prev.IsDefault) pool.RecyclePage(prev); prev = p; } if (!prev.IsDefault) pool.RecyclePage(prev); }
            """ },
        { "catch-all that recycles and swallows", """
            void M() { var p = pool.AllocPage(); try { Sink.Work(); } catch { pool.RecyclePage(p); return; } pool.RecyclePage(p); }
            """ },
        { "nested try/finally", """
            void M() { var p = pool.AllocPage(); try { try { Sink.Work(); } finally { Sink.Work(); } } finally { pool.RecyclePage(p); } }
            """ },
        { "return inside try with finally recycling", """
            int M() { var p = pool.AllocPage(); try { if (Sink.Cond()) return 1; Sink.Work(); return p.Length; } finally { pool.RecyclePage(p); } }
            """ },
        { "foreach over a list: the compiler's try/finally makes no PP1001 path", """
            void M(List<int> xs) { foreach (var x in xs) { var p = pool.AllocPage(); Sink.Work(); pool.RecyclePage(p); } }
            """ },
        { "using and lock bodies", """
            void M(IDisposable d) { using (d) { var p = pool.AllocPage(); Sink.Work(); pool.RecyclePage(p); } lock (_list) { var q = pool.AllocPage(); Sink.Work(); pool.RecyclePage(q); } }
            """ },
        { "stored through an object initializer and a tuple", """
            sealed class Packet { public Page Page; }
            Packet? _packet;
            (Page, int) M() { var p = pool.AllocPage(); _packet = new Packet { Page = p }; var q = pool.AllocPage(); return (q, 1); }
            """ },
        { "iterator yields the pages", """
            IEnumerable<Page> M(int n) { for (int i = 0; i < n; i++) yield return pool.AllocPage(); }
            """ },
        { "ref parameter filled for the caller", """
            void Fill(ref Page slot) { slot = pool.AllocPage(); }
            """ },
        { "[Owned] local function", """
            void M() { var p = pool.AllocPage(); Give(p); void Give([Owned] Page q) => pool.RecyclePage(q); }
            """ },
        { "awaited page from an async source is recycled", """
            async Task<Page> GetAsync() { await Task.Yield(); return pool.AllocPage(); }
            async Task M() { var p = await GetAsync(); pool.RecyclePage(p); }
            """ },
        { "TryAllocPage result kept across a lock", """
            Page M() { Page page; bool got; lock (_list) { got = pool.TryAllocPage(out page); } if (!got) { return default; } return page; }
            """ },
        { "stored through a queue-like method on a plain class", """
            sealed class Ring { public bool TryEnqueue(Page page) => true; public void Push(Page page) { } }
            void M(Ring ring) { var p = pool.AllocPage(); while (!ring.TryEnqueue(p)) { Thread.Yield(); } ring.Push(pool.AllocPage()); }
            """ },
        { "a method that never touches a page", """
            int M(int a) { return a + 1; }
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
