using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>PP1005: a page recycled into a pool other than the one it came from, where both are known.</summary>
public sealed class ForeignPoolTests
{
    public static TheoryData<string, string> MustWarn => new()
    {
        { "different pool types", """
            void M() { var p = pool.AllocPage(); tx.RecyclePage({|PP1005:p|}); }
            """ },
        { "two locals built with new", """
            void M(PagePoolOptions o1, PagePoolOptions o2) { var a = new RuntimePagePool(o1); var b = new RuntimePagePool(o2); var p = a.AllocPage(); b.RecyclePage({|PP1005:p|}); }
            """ },
        { "TryAllocPage from one, recycle into the other", """
            void M() { if (pool.TryAllocPage(out var p)) tx.RecyclePage({|PP1005:p|}); }
            """ },
        { "through a copy", """
            void M() { var p = tx.AllocPage(); var q = p; pool.RecyclePage({|PP1005:q|}); }
            """ },
        { "RecyclePageDirect into the other", """
            void M() { var p = pool.AllocPage(); tx.RecyclePageDirect({|PP1005:p|}); }
            """ },
        { "two readonly fields with their own new", """
            private readonly RxQueue _rx0 = new RxQueue();
            private readonly RxQueue _rx1 = new RxQueue();
            void M() { var p = _rx0.AllocPage(); _rx1.RecyclePage({|PP1005:p|}); }
            """ },
        { "on one branch", """
            void M(bool c) { var p = pool.AllocPage(); if (c) pool.RecyclePage(p); else tx.RecyclePage({|PP1005:p|}); }
            """ },
        { "fragment", """
            void M() { var p = pool.AllocFragment(128); tx.RecyclePage({|PP1005:p|}); }
            """ },
        { "runtime pool page into a generated pool", """
            void M(RuntimePagePool runtime) { var p = runtime.AllocPage(); pool.RecyclePage({|PP1005:p|}); }
            """ },
        { "parameters of different pool types", """
            void M(RxQueue a, TxQueue b) { var p = a.AllocPage(); b.RecyclePage({|PP1005:p|}); }
            """ },
        { "in a finally", """
            void M() { var p = pool.AllocPage(); try { Sink.Work(); } finally { tx.RecyclePage({|PP1005:p|}); } }
            """ },
    };

    public static TheoryData<string, string> MustNotWarn => new()
    {
        { "same pool", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); }
            """ },
        { "same type, instances unknown", """
            void M(RxQueue a, RxQueue b) { var p = a.AllocPage(); b.RecyclePage(p); }
            """ },
        { "local copied from the field", """
            void M() { var q = pool; var p = q.AllocPage(); pool.RecyclePage(p); }
            """ },
        { "handed to an [Owned] helper", """
            void M() { var p = pool.AllocPage(); Sink.Keep(p); }
            """ },
        { "same local", """
            void M(PagePoolOptions o) { var a = new RuntimePagePool(o); var p = a.AllocPage(); a.RecyclePage(p); }
            """ },
        { "reallocated from the other pool first", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); p = tx.AllocPage(); tx.RecyclePage(p); }
            """ },
        { "each page to its own pool", """
            void M() { var p = pool.AllocPage(); var q = tx.AllocPage(); pool.RecyclePage(p); tx.RecyclePage(q); }
            """ },
        { "pool chosen at run time", """
            void M(bool c) { var target = c ? pool : new RxQueue(); var p = pool.AllocPage(); target.RecyclePage(p); }
            """ },
        { "locals from parameters", """
            void M(RxQueue x, RxQueue y) { var a = x; var b = y; var p = a.AllocPage(); b.RecyclePage(p); }
            """ },
        { "borrowed page of unknown origin", """
            void M(Page page) { tx.RecyclePage(page); }
            """ },
        { "field and this-typed pool of the same type", """
            void M(RxQueue other) { var p = other.AllocPage(); pool.RecyclePage(p); }
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
