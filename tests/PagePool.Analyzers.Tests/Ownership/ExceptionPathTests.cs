using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>
/// PP1006: a call that may throw while a page is held, with nothing that recycles the page when it does. Reported at
/// the call; pages only (an array the GC takes back); the pool's own API, the page's members and span helpers are
/// no calls that matter.
/// </summary>
public sealed class ExceptionPathTests
{
    public static TheoryData<string, string> MustWarn => new()
    {
        { "socket receive between the allocation and the recycle", """
            void M(System.Net.Sockets.Socket socket) { var page = pool.AllocPage(); int n = {|PP1006:socket.Receive(page.Span)|}; page.Span.Slice(0, n).Clear(); pool.RecyclePage(page); }
            """ },
        { "a user method that borrows the page", """
            void M() { var p = pool.AllocPage(); {|PP1006:Sink.Borrow(p)|}; pool.RecyclePage(p); }
            """ },
        { "await between the allocation and the recycle", """
            async Task M(System.IO.Stream s) { var p = pool.AllocPage(); int n = {|PP1006:await s.ReadAsync(p.Memory)|}; p.Span[0] = (byte)n; pool.RecyclePage(p); }
            """ },
        { "a constructor", """
            void M() { var p = pool.AllocPage(); var text = {|PP1006:new System.Text.StringBuilder(p.Length)|}; pool.RecyclePage(p); }
            """ },
        { "a delegate", """
            void M(Action<int> callback) { var p = pool.AllocPage(); {|PP1006:callback(p.Length)|}; pool.RecyclePage(p); }
            """ },
        { "an interface call", """
            void M(IDisposable resource) { var p = pool.AllocPage(); {|PP1006:resource.Dispose()|}; pool.RecyclePage(p); }
            """ },
        { "a second AllocPage, which throws when the pool is exhausted", """
            void M() { var p = pool.AllocPage(); var q = {|PP1006:pool.AllocPage()|}; pool.RecyclePage(q); pool.RecyclePage(p); }
            """ },
        { "try/finally whose finally does not recycle", """
            void M() { var p = pool.AllocPage(); try { {|PP1006:Sink.Work()|}; } finally { _field = default; } pool.RecyclePage(p); }
            """ },
        { "a catch that recycles only some exceptions", """
            void M() { var p = pool.AllocPage(); try { {|PP1006:Sink.Work()|}; } catch (InvalidOperationException) { pool.RecyclePage(p); throw; } pool.RecyclePage(p); }
            """ },
        { "an exception filter that may let the exception pass", """
            void M() { var p = pool.AllocPage(); try { {|PP1006:Sink.Work()|}; } catch (Exception e) when (e is TimeoutException) { pool.RecyclePage(p); throw; } pool.RecyclePage(p); }
            """ },
        { "nested tries, neither recycling on the way out", """
            void M() { var p = pool.AllocPage(); try { try { {|PP1006:Sink.Work()|}; } finally { _field = default; } } catch (ArgumentException) { } pool.RecyclePage(p); }
            """ },
        { "in a loop", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); {|PP1006:Sink.Work()|}; pool.RecyclePage(p); } }
            """ },
        { "in a foreach body (the compiler's finally recycles nothing)", """
            void M(List<int> xs) { foreach (var x in xs) { var p = pool.AllocPage(); {|PP1006:Sink.Work()|}; pool.RecyclePage(p); } }
            """ },
        { "in a using body", """
            void M(IDisposable d) { using (d) { var p = pool.AllocPage(); {|PP1006:Sink.Work()|}; pool.RecyclePage(p); } }
            """ },
        { "after TryAllocPage", """
            void M() { if (pool.TryAllocPage(out var p)) { {|PP1006:Sink.Work()|}; pool.RecyclePage(p); } }
            """ },
        { "an [Owned] parameter", """
            void M([Owned] Page page) { {|PP1006:Sink.Bytes(page.Span)|}; pool.RecyclePage(page); }
            """ },
        { "a local function call", """
            void M() { var p = pool.AllocPage(); {|PP1006:Log(p.Length)|}; pool.RecyclePage(p); void Log(int n) => Console.WriteLine(n); }
            """ },
        { "in a lambda", """
            void M() { Action a = () => { var p = pool.AllocPage(); {|PP1006:Sink.Work()|}; pool.RecyclePage(p); }; a(); }
            """ },
        { "int.Parse of the page's contents", """
            int M() { var p = pool.AllocPage(); int n = {|PP1006:int.Parse(p.Span.Slice(0, 4), System.Globalization.CultureInfo.InvariantCulture)|}; pool.RecyclePage(p); return n; }
            """ },
        { "two pages held across one call: each is named", """
            void M() { var a = pool.AllocPage(); Page b; if (!pool.TryAllocPage(out b)) { pool.RecyclePage(a); return; } {|PP1006:{|PP1006:Sink.Work()|}|}; pool.RecyclePage(b); pool.RecyclePage(a); }
            """ },
    };

    public static TheoryData<string, string> MustNotWarn => new()
    {
        { "try/finally recycles", """
            void M(System.Net.Sockets.Socket socket) { var page = pool.AllocPage(); try { int n = socket.Receive(page.Span); Sink.Bytes(page.Span.Slice(0, n)); } finally { pool.RecyclePage(page); } }
            """ },
        { "a catch-all that recycles and rethrows", """
            void M() { var p = pool.AllocPage(); try { Sink.Borrow(p); } catch { pool.RecyclePage(p); throw; } pool.RecyclePage(p); }
            """ },
        { "catch (Exception) that recycles and rethrows", """
            void M() { var p = pool.AllocPage(); try { Sink.Borrow(p); } catch (Exception) { pool.RecyclePage(p); throw; } pool.RecyclePage(p); }
            """ },
        { "await inside try/finally", """
            async Task M(System.IO.Stream s) { var p = pool.AllocPage(); try { await s.ReadAsync(p.Memory); } finally { pool.RecyclePage(p); } }
            """ },
        { "await after the page was handed on", """
            async Task M() { var p = pool.AllocPage(); Sink.Keep(p); await Task.Yield(); }
            """ },
        { "a loop with a try/finally per page", """
            void M(int n) { for (int i = 0; i < n; i++) { var p = pool.AllocPage(); try { Sink.Work(); } finally { pool.RecyclePage(p); } } }
            """ },
        { "TryAllocPage, then span work only", """
            void M(ReadOnlySpan<byte> wire) { if (pool.TryAllocPage(out var p)) { p.Span.Fill(0); wire.Slice(0, Math.Min(wire.Length, p.Length)).CopyTo(p.Span); p.Span[0] = 1; pool.RecyclePage(p); } }
            """ },
        { "the page handed to an [Owned] parameter: the callee gives it back if it throws", """
            void M() { var p = pool.AllocPage(); Sink.Keep(p); Sink.Work(); }
            """ },
        { "a wrapper that takes the page by [Owned], then used through the wrapper", """
            sealed class Lease : IDisposable { private readonly RxQueue _pool; public Lease(RxQueue pool, [Owned] Page page) { _pool = pool; Page = page; } public Page Page { get; } public void Dispose() => _pool.RecyclePage(Page); }
            void M() { using var lease = new Lease(pool, pool.AllocPage()); Sink.Bytes(lease.Page.Span); }
            """ },
        { "stored, then a call", """
            void M() { var p = pool.AllocPage(); _list.Add(p); Sink.Work(); }
            """ },
        { "a call before the allocation and after the recycle", """
            void M() { Sink.Work(); var p = pool.AllocPage(); p.Span.Clear(); pool.RecyclePage(p); Sink.Work(); }
            """ },
        { "local function with its own try/finally", """
            void M() { Local(); void Local() { var p = pool.AllocPage(); try { Sink.Work(); } finally { pool.RecyclePage(p); } } }
            """ },
        { "lambda with its own try/finally", """
            void M() { Action a = () => { var p = pool.AllocPage(); try { Sink.Work(); } finally { pool.RecyclePage(p); } }; a(); }
            """ },
        { "an exception filter inside a try/finally that recycles", """
            void M() { var p = pool.AllocPage(); try { try { Sink.Work(); } catch (Exception e) when (e is TimeoutException) { } } finally { pool.RecyclePage(p); } }
            """ },
        { "nested tries, the outer finally recycles", """
            void M() { var p = pool.AllocPage(); try { try { Sink.Work(); } catch (ArgumentException) { Sink.Work(); } } finally { pool.RecyclePage(p); } }
            """ },
        { "a throw expression before the allocation", """
            void M(string? name) { string s = name ?? throw new ArgumentNullException(nameof(name)); var p = pool.AllocPage(); p.Span[0] = (byte)s.Length; pool.RecyclePage(p); }
            """ },
        { "recycle, then throw a new exception", """
            void M() { var p = pool.AllocPage(); if (p.Length == 0) { pool.RecyclePage(p); throw new InvalidOperationException("empty page"); } pool.RecyclePage(p); }
            """ },
        { "checked arithmetic, Math, Interlocked and BinaryPrimitives are no calls that matter", """
            private int _count;
            void M(int n) { var p = pool.AllocPage(); int total = checked(n * p.Length); System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(p.Span, Math.Max(total, 0)); Interlocked.Increment(ref _count); pool.RecyclePage(p); }
            """ },
        { "page members, strings and primitives", """
            string M() { var p = pool.AllocPage(); string s = string.Concat(p.Length.ToString(), "/", p.IsDefault.ToString()); var m = p.Memory.Slice(0, 4); m.Span.Clear(); pool.RecyclePage(p); return s; }
            """ },
        { "returned to the caller, recycled by a catch-all on the way out", """
            Page M() { var p = pool.AllocPage(); try { Sink.Bytes(p.Span); return p; } catch { pool.RecyclePage(p); throw; } }
            """ },
        { "an out parameter filled for the caller", """
            bool M(out Page page) { page = pool.AllocPage(); page.Span.Clear(); return true; }
            """ },
        { "an io_uring datagram's accessors over its page", """
            long M(PagePool.IoUring.UdpDatagram d) { var page = pool.AllocPage(); long n = d.Truncated ? 0 : d.GetPayload(page).Length; n += d.GetSourceAddress(page).Length; pool.RecyclePage(page); return n; }
            """ },
        { "wrappers that keep the page: the constructor takes it, exceptions included", """
            public sealed class Datagram { public Datagram(Page page, int length) { Page = page; Length = length; } public Page Page { get; } public int Length { get; } }
            public sealed class Packet { private readonly Page _page; public Packet(Page page) => _page = page; public Page Held => _page; }
            private Datagram? _last;
            private Packet? held;
            Datagram Make(int n) { var page = pool.AllocPage(); return new Datagram(page, n); }
            void Store(int n) { var page = pool.AllocPage(); _last = new Datagram(page, n); }
            void Hold() { held = new Packet(pool.AllocPage()); }
            """ },
        { "a page the method only borrows", """
            void M(Page page) { Sink.Bytes(page.Span); Sink.Work(); }
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
        var test = CreateTest(InClass(members));
        test.DisabledDiagnostics.Remove("PP1006");
        return test.RunAsync();
    }

    [Fact]
    public Task ArraysGetNoPP1006()
    {
        var test = CreateTest(InClass("""
            void M(System.Net.Sockets.Socket socket) { var a = ArrayPool<byte>.Shared.Rent(1500); int n = socket.Receive(a); Sink.Array(a); ArrayPool<byte>.Shared.Return(a); }
            """), arrays: true);
        test.DisabledDiagnostics.Remove("PP1006");
        return test.RunAsync();
    }

    [Fact]
    public Task AThrowStatementIsStillPP1001()
    {
        // The author wrote the path: a leak on it is PP1001's, not that of a call that may throw.
        var test = CreateTest(InClass("""
            void M(int n) { var p = {|PP1001:pool.AllocPage()|}; if (n < 0) throw new ArgumentOutOfRangeException(nameof(n)); pool.RecyclePage(p); }
            """));
        test.DisabledDiagnostics.Remove("PP1006");
        return test.RunAsync();
    }
}
