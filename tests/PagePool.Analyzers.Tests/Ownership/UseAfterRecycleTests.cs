using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>PP1002: a page used after it was recycled or handed on, on some path.</summary>
public sealed class UseAfterRecycleTests
{
    public static TheoryData<string, string> MustWarn => new()
    {
        { "Span after recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); Sink.Bytes({|PP1002:p|}.Span); }
            """ },
        { "Memory after recycle", """
            Memory<byte> M() { var p = pool.AllocPage(); pool.RecyclePage(p); return {|PP1002:p|}.Memory; }
            """ },
        { "Length, Id and Address after recycle: reported once", """
            long M() { var p = pool.AllocPage(); pool.RecyclePageDirect(p); return {|PP1002:p|}.Length + p.Id + (long)p.Address; }
            """ },
        { "copy after recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); var q = {|PP1002:p|}; _ = q; }
            """ },
        { "use of the original after recycling a copy", """
            void M() { var p = pool.AllocPage(); var q = p; pool.RecyclePage(q); {|PP1002:p|}.Span.Clear(); }
            """ },
        { "passing it on after recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); Sink.Borrow({|PP1002:p|}); }
            """ },
        { "use after handing on to [Owned]", """
            void M() { var p = pool.AllocPage(); Sink.Keep(p); Sink.Bytes({|PP1002:p|}.Span); }
            """ },
        { "recycled on one branch, handed on on the other", """
            void M(bool c) { var p = pool.AllocPage(); if (c) pool.RecyclePage(p); else Sink.Keep(p); Sink.Bytes({|PP1002:p|}.Span); }
            """ },
        { "borrowed parameter recycled then used", """
            void M(Page p) { pool.RecyclePage(p); Sink.Bytes({|PP1002:p|}.Span); }
            """ },
        { "next loop iteration", """
            void M(int n) { var p = {|PP1001:pool.AllocPage()|}; for (int i = 0; i < n; i++) { Sink.Bytes({|PP1002:p|}.Span); pool.RecyclePage({|PP1003:p|}); } }
            """ },
        { "in a catch after the recycle ran", """
            void M() { var p = pool.AllocPage(); try { pool.RecyclePage(p); Sink.Work(); } catch (Exception) { Sink.Bytes({|PP1002:p|}.Span); throw; } }
            """ },
        { "switch arm after recycle", """
            int M(int n) { var p = pool.AllocPage(); pool.RecyclePage(p); return n switch { 0 => {|PP1002:p|}.Length, _ => 0 }; }
            """ },
        { "string interpolation after recycle", """
            string M() { var p = pool.AllocPage(); pool.RecyclePage(p); return $"{{|PP1002:p|}.Id}"; }
            """ },
    };

    public static TheoryData<string, string> MustNotWarn => new()
    {
        { "use before recycle", """
            void M() { var p = pool.AllocPage(); Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """ },
        { "reassigned after recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); p = pool.AllocPage(); Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """ },
        { "cleared after recycle", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); p = default; _ = p; }
            """ },
        { "recycle and return on one branch", """
            void M(bool c) { var p = pool.AllocPage(); if (c) { pool.RecyclePage(p); return; } Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """ },
        { "fresh page each iteration", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); Sink.Bytes(p.Span); pool.RecyclePage(p); } }
            """ },
        { "another page", """
            void M() { var p = pool.AllocPage(); var q = pool.AllocPage(); pool.RecyclePage(p); Sink.Bytes(q.Span); pool.RecyclePage(q); }
            """ },
        { "stored in a field then used", """
            void M() { var p = pool.AllocPage(); _field = p; Sink.Bytes(p.Span); }
            """ },
        { "IsDefault checks are not uses", """
            void M() { var p = pool.AllocPage(); pool.RecyclePage(p); if (p.IsDefault || p == default) { } }
            """ },
        { "recycle in catch then rethrow, use after the try", """
            void M() { var p = pool.AllocPage(); try { Sink.Work(); } catch { pool.RecyclePage(p); throw; } Sink.Bytes(p.Span); pool.RecyclePage(p); }
            """ },
        { "switch recycles in each case and stops", """
            void M(int n) { var p = pool.AllocPage(); switch (n) { case 0: Sink.Bytes(p.Span); pool.RecyclePage(p); break; default: pool.RecyclePage(p); return; } }
            """ },
        { "recycled inside a lambda, used outside before", """
            void M() { var p = pool.AllocPage(); Sink.Bytes(p.Span); Task.Run(() => pool.RecyclePage(p)); }
            """ },
        { "TryAllocPage false branch", """
            void M() { if (!pool.TryAllocPage(out var p)) { Console.WriteLine(); return; } Sink.Bytes(p.Span); pool.RecyclePage(p); }
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
