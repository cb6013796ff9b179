using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>PP1003: a page recycled (or handed on) twice.</summary>
public sealed class DoubleRecycleTests
{
    public static TheoryData<string, string> MustWarn => new()
    {
        { "twice directly", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); pool.RecyclePage({|PP1003:p|}); }
            """ },
        { "through a copy", """
            void M() { var p = pool.AllocPage(); var q = p; pool.RecyclePage(q); pool.RecyclePage({|PP1003:p|}); }
            """ },
        { "in try then finally", """
            void M() { var p = pool.AllocPage(); try { Sink.Bytes(p.Span); pool.RecyclePage(p); } finally { pool.RecyclePage({|PP1003:p|}); } }
            """ },
        { "recycled then handed on", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); Sink.Keep({|PP1003:p|}); }
            """ },
        { "recycled inside a loop", """
            void M(int n) { var p = {|PP1001:pool.AllocPage()|}; for (int i = 0; i < n; i++) { pool.RecyclePage({|PP1003:p|}); } }
            """ },
        { "on one branch, then always", """
            void M(bool c) { var p = pool.AllocPage(); if (c) pool.RecyclePage(p); pool.RecyclePage({|PP1003:p|}); }
            """ },
        { "RecyclePageDirect then RecyclePage", """
            void M() { var p = pool.AllocPage(); pool.RecyclePageDirect(p); pool.RecyclePage({|PP1003:p|}); }
            """ },
        { "borrowed parameter twice", """
            void M(Page p) { pool.RecyclePage(p); pool.RecyclePage({|PP1003:p|}); }
            """ },
        { "goto default after the recycle", """
            void M(int n) { var p = pool.AllocPage(); switch (n) { case 0: pool.RecyclePage(p); goto default; default: pool.RecyclePage({|PP1003:p|}); break; } }
            """ },
        { "catch recycles what the try already recycled", """
            void M() { var p = pool.AllocPage(); try { pool.RecyclePage(p); Sink.Work(); } catch { pool.RecyclePage({|PP1003:p|}); throw; } }
            """ },
        { "returned, then recycled by the finally", """
            Page M() { var p = pool.AllocPage(); try { return p; } finally { pool.RecyclePage({|PP1003:p|}); } }
            """ },
        { "[Owned] parameter recycled twice", """
            void M([Owned] Page p) { pool.RecyclePage(p); pool.RecyclePageDirect({|PP1003:p|}); }
            """ },
        { "in a lambda in its own right", """
            void M() { Action a = () => { var p = pool.AllocPage(); pool.RecyclePage(p); pool.RecyclePage({|PP1003:p|}); }; a(); }
            """ },
    };

    public static TheoryData<string, string> MustNotWarn => new()
    {
        { "once", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); }
            """ },
        { "recycle in catch then rethrow, and after the try", """
            void M() { var p = pool.AllocPage(); try { Sink.Work(); } catch { pool.RecyclePage(p); throw; } pool.RecyclePage(p); }
            """ },
        { "a hand-on that threw did not consume the page", """
            void M() { var p = pool.AllocPage(); try { Sink.Keep(p); } catch (Exception) { pool.RecyclePage(p); } }
            """ },
        { "recycle, reallocate, recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); p = pool.AllocPage(); pool.RecyclePage(p); }
            """ },
        { "cleared after recycle, guarded finally", """
            void M() { Page p = default; try { p = pool.AllocPage(); Sink.Work(); pool.RecyclePage(p); p = default; } finally { if (!p.IsDefault) pool.RecyclePage(p); } }
            """ },
        { "each branch once", """
            void M(bool c) { var p = pool.AllocPage(); if (c) pool.RecyclePage(p); else pool.RecyclePageDirect(p); }
            """ },
        { "fresh page each iteration", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); pool.RecyclePage(p); } }
            """ },
        { "two pages", """
            void M() { var p = pool.AllocPage(); var q = pool.AllocPage(); pool.RecyclePage(p); pool.RecyclePage(q); }
            """ },
        { "switch, each case once", """
            void M(int n) { var p = pool.AllocPage(); switch (n) { case 0: pool.RecyclePage(p); break; case 1: Sink.Keep(p); break; default: pool.RecyclePageDirect(p); break; } }
            """ },
        { "recycled only inside the lambda", """
            void M() { var p = pool.AllocPage(); Task.Run(() => pool.RecyclePage(p)); }
            """ },
        { "!= default guard after clearing", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); p = default; if (p != default) pool.RecyclePage(p); }
            """ },
        { "array slots and a field recycled in a loop", """
            void M() { for (int i = 0; i < _slots.Length; i++) { pool.RecyclePage(_slots[i]); _slots[i] = default; } pool.RecyclePage(_field); _field = pool.AllocPage(); }
            """ },
        { "drained from a queue", """
            void M() { while (_queue.TryDequeue(out var p)) pool.RecyclePage(p); foreach (var q in _list) pool.RecyclePage(q); _list.Clear(); }
            """ },
        { "TryAllocPage in a loop", """
            void M() { while (pool.TryAllocPage(out var p)) { pool.RecyclePage(p); } }
            """ },
        { "switch expression picks one recycle", """
            void M(int n) { var p = pool.AllocPage(); _ = n switch { 0 => Recycle(p), _ => Keep(p) }; }
            int Recycle([Owned] Page p) { pool.RecyclePage(p); return 0; }
            int Keep([Owned] Page p) { Sink.Keep(p); return 1; }
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
