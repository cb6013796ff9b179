using System.Threading.Tasks;
using PagePool.Analyzers.Ownership;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>
/// Wrappers carry the obligation: a page or a rented array passed to a constructor that keeps it, an object
/// initializer, a <c>with</c>, a record, a tuple or a BCL array wrapper is owed by the new value, which is returned,
/// stored, queued or read back like the page itself; a wrapper dropped still leaks.
/// </summary>
public sealed class WrapperTests
{
    /// <summary>The user's own wrappers, as a driver writes them.</summary>
    private const string Types = """
            public sealed class Datagram
            {
                public Datagram(Page page, int length) { Page = page; Length = length; }
                public Page Page { get; }
                public int Length { get; }
            }

            public sealed class Packet
            {
                private readonly Page _page;
                public Packet(Page page) => _page = page;
                public Packet() { }
                public Page Page { get; set; }
                public Page Held => _page;
            }

            public sealed record Frame(Page Page, int Length);

            public readonly struct Lease
            {
                public Lease(Page page) { Page = page; }
                public Page Page { get; }
            }

            public sealed class Box<T>
            {
                public Box(T value) => Value = value;
                public T Value { get; }
            }

            public sealed class Parser
            {
                public Parser(Page page) { Length = page.Length; }
                public int Length { get; }
            }

            public class Carrier
            {
                protected Carrier(Page page) { Page = page; }
                public Page Page { get; }
            }

            public sealed class Rx : Carrier
            {
                public Rx(Page page, int length) : base(page) { Length = length; }
                public Rx(Page page) : this(page, page.Length) { }
                public int Length { get; }
            }

            public sealed class Holder(Page page)
            {
                public Page Page => page;
            }

            public sealed class Reader(Page page)
            {
                public int Length { get; } = 0;
            }

            public sealed class PageLease : IDisposable
            {
                private readonly RxQueue _owner;
                private readonly Page _page;
                private bool _done;
                public PageLease(RxQueue owner, Page page) { _owner = owner; _page = page; }
                public Page Page => _page;
                public Page Detach() => _page;
                public void Dispose() => _owner.RecyclePage(_page);
                public void Close() { if (_done) return; _done = true; _owner.RecyclePage(_page); }
            }

            public readonly struct StructLease : IDisposable
            {
                private readonly RxQueue _owner;
                public StructLease(RxQueue owner, Page page) { _owner = owner; Page = page; }
                public Page Page { get; }
                public void Dispose() => _owner.RecyclePage(Page);
            }

            public sealed class Forgetful : IDisposable
            {
                public Forgetful(Page page) => Page = page;
                public Page Page { get; }
                public void Dispose() { }
            }

            public class OpenLease : IDisposable
            {
                private readonly RxQueue _owner;
                public OpenLease(RxQueue owner, Page page) { _owner = owner; Page = page; }
                public Page Page { get; }
                public virtual void Dispose() => _owner.RecyclePage(Page);
            }

            private readonly System.Threading.Channels.Channel<Datagram> channel = System.Threading.Channels.Channel.CreateUnbounded<Datagram>();
            private Datagram? _last;
            private Packet? held;
            private readonly List<Datagram> _datagrams = new List<Datagram>();
            private Memory<byte> _memory;
            private ReadOnlyMemory<byte> _readOnly;
            private readonly List<ArraySegment<byte>> _segments = new List<ArraySegment<byte>>();

            """;

    public static TheoryData<string, string> SourceMustNotWarn => new()
    {
        { "returned wrapper", """
            Datagram M(int n) { var page = pool.AllocPage(); return new Datagram(page, n); }
            """ },
        { "wrapper stored in a field", """
            void M(int n) { var page = pool.AllocPage(); _last = new Datagram(page, n); }
            """ },
        { "fresh page wrapped into a field", """
            void M() { held = new Packet(pool.AllocPage()); }
            """ },
        { "queued on success, recycled on failure", """
            void M(int n) { var page = pool.AllocPage(); var d = new Datagram(page, n); if (!channel.Writer.TryWrite(d)) pool.RecyclePage(page); }
            """ },
        { "recycled through the wrapper's member", """
            void M() { var d = new Datagram(pool.AllocPage(), 4); Sink.Bytes(d.Page.Span); pool.RecyclePage(d.Page); }
            """ },
        { "positional record returned", """
            Frame M() { var p = pool.AllocPage(); return new Frame(p, p.Length); }
            """ },
        { "record with a new page", """
            Frame M(Frame f) { var p = pool.AllocPage(); return f with { Page = p }; }
            """ },
        { "object initializer returned", """
            Packet M() => new Packet { Page = pool.AllocPage() };
            """ },
        { "generic wrapper returned", """
            Box<Page> M() => new Box<Page>(pool.AllocPage());
            """ },
        { "struct wrapper recycled through its member", """
            void M() { var lease = new Lease(pool.AllocPage()); Sink.Bytes(lease.Page.Span); pool.RecyclePage(lease.Page); }
            """ },
        { "kept through : base(...)", """
            Carrier M() => new Rx(pool.AllocPage(), 4);
            """ },
        { "kept through : this(...)", """
            Rx M() => new Rx(pool.AllocPage());
            """ },
        { "class primary constructor that captures", """
            Holder M() => new Holder(pool.AllocPage());
            """ },
        { "wrapper added to a list", """
            void M() { var p = pool.AllocPage(); _datagrams.Add(new Datagram(p, 1)); }
            """ },
        { "tuple returned", """
            (Page, int) M() { var p = pool.AllocPage(); var t = (p, 4); return t; }
            """ },
        { "tuple element recycled", """
            void M() { var t = (pool.AllocPage(), 4); pool.RecyclePage(t.Item1); }
            """ },
        { "deconstructed, then recycled", """
            void M() { var (p, n) = (pool.AllocPage(), 4); Sink.Next(); pool.RecyclePage(p); }
            """ },
        { "anonymous object returned", """
            object M() => new { Page = pool.AllocPage(), Length = 4 };
            """ },
        { "a constructor that only reads the page: the caller recycles", """
            int M() { var p = pool.AllocPage(); var parser = new Parser(p); pool.RecyclePage(p); return parser.Length; }
            """ },
        { "wrapper kept in an out parameter", """
            void M(out Datagram d) { d = new Datagram(pool.AllocPage(), 1); }
            """ },
        { "wrapper handed to an [Owned] parameter", """
            void Take([Owned] Datagram d) { }
            void M() { Take(new Datagram(pool.AllocPage(), 1)); }
            """ },
        { "wrapper passed to a method that stores it", """
            void Keep(Datagram d) => _last = d;
            void M() { Keep(new Datagram(pool.AllocPage(), 1)); }
            """ },
        { "struct record with a new page, returned", """
            readonly record struct Slot(Page Page, int Length);
            Slot M(Slot s) { var p = pool.AllocPage(); return s with { Page = p }; }
            """ },
        { "wrapper stored in a struct local, then the page recycled", """
            void M() { var p = pool.AllocPage(); var lease = new Lease(p); Sink.Borrow(lease.Page); pool.RecyclePage(p); }
            """ },
    };

    public static TheoryData<string, string> SourceMustWarn => new()
    {
        { "wrapper dropped", """
            void M(int n) { var d = new Datagram({|PP1001:pool.AllocPage()|}, n); Sink.Borrow(d.Page); }
            """ },
        { "wrapper discarded", """
            void M() { var p = {|PP1001:pool.AllocPage()|}; _ = new Datagram(p, 1); }
            """ },
        { "record dropped", """
            int M() { var f = new Frame({|PP1001:pool.AllocPage()|}, 4); return f.Length; }
            """ },
        { "object initializer dropped", """
            void M() { var p = {|PP1001:pool.AllocPage()|}; _ = new Packet { Page = p }; }
            """ },
        { "with dropped", """
            int M(Frame f) { var g = f with { Page = {|PP1001:pool.AllocPage()|} }; return g.Length; }
            """ },
        { "struct wrapper dropped", """
            void M() { var lease = new Lease({|PP1001:pool.AllocPage()|}); Sink.Borrow(lease.Page); }
            """ },
        { "generic wrapper dropped", """
            void M() { var box = new Box<Page>({|PP1001:pool.AllocPage()|}); Sink.Borrow(box.Value); }
            """ },
        { "dropped after : base(...)", """
            void M() { var rx = new Rx({|PP1001:pool.AllocPage()|}, 4); Sink.Next(); }
            """ },
        { "a constructor that only reads the page does not take it", """
            Parser M() { var p = {|PP1001:pool.AllocPage()|}; return new Parser(p); }
            """ },
        { "primary constructor that does not keep its parameter", """
            Reader M() => new Reader({|PP1001:pool.AllocPage()|});
            """ },
        { "wrapper overwritten before it is handed on", """
            Datagram M() { var d = new Datagram({|PP1001:pool.AllocPage()|}, 1); d = new Datagram(pool.AllocPage(), 2); return d; }
            """ },
        { "tuple discarded", """
            void M() { _ = ({|PP1001:pool.AllocPage()|}, 1); }
            """ },
        { "wrapper passed to a method that only reads it", """
            void Log(Datagram d) { Sink.Bytes(d.Page.Span); }
            void M() { Log(new Datagram({|PP1001:pool.AllocPage()|}, 1)); }
            """ },
        { "used through the wrapper after the page was recycled", """
            void M() { var p = pool.AllocPage(); var d = new Datagram(p, 1); pool.RecyclePage(p); Sink.Borrow({|PP1002:d|}.Page); }
            """ },
        { "recycled through the wrapper and again directly", """
            void M() { var p = pool.AllocPage(); var d = new Datagram(p, 1); pool.RecyclePage(d.Page); pool.RecyclePage({|PP1003:p|}); }
            """ },
        { "wrapper passed to a method that only reads it, then dropped", """
            int Size(Datagram d) => d.Length;
            int M() { var d = new Datagram({|PP1001:pool.AllocPage()|}, 1); return Size(d); }
            """ },
        { "struct record with dropped", """
            readonly record struct Slot(Page Page, int Length);
            int M(Slot s) { var t = s with { Page = {|PP1001:pool.AllocPage()|} }; return t.Length; }
            """ },
        { "anonymous object dropped", """
            int M() { var o = new { Page = {|PP1001:pool.AllocPage()|}, Length = 4 }; return o.Length; }
            """ },
    };

    public static TheoryData<string, string> ReceiverMustNotWarn => new()
    {
        { "disposable wrapper in a using", """
            void M() { using var lease = new PageLease(pool, pool.AllocPage()); Sink.Borrow(lease.Page); }
            """ },
        { "disposable wrapper disposed", """
            void M() { var lease = new PageLease(pool, pool.AllocPage()); Sink.Bytes(lease.Page.Span); lease.Dispose(); }
            """ },
        { "guarded close", """
            void M() { var lease = new PageLease(pool, pool.AllocPage()); lease.Close(); }
            """ },
        { "page detached, then recycled", """
            void M() { var lease = new PageLease(pool, pool.AllocPage()); var p = lease.Detach(); pool.RecyclePage(p); }
            """ },
        { "struct lease in a using block", """
            void M() { using (var lease = new StructLease(pool, pool.AllocPage())) { Sink.Borrow(lease.Page); } }
            """ },
        { "disposable wrapper returned", """
            PageLease M() => new PageLease(pool, pool.AllocPage());
            """ },
    };

    public static TheoryData<string, string> ReceiverMustWarn => new()
    {
        { "disposable wrapper never disposed", """
            void M() { var lease = new PageLease(pool, {|PP1001:pool.AllocPage()|}); Sink.Borrow(lease.Page); }
            """ },
        { "Dispose that does not recycle", """
            void M() { using var f = new Forgetful({|PP1001:pool.AllocPage()|}); Sink.Borrow(f.Page); }
            """ },
        { "virtual Dispose: no inference", """
            void M() { using var lease = new OpenLease(pool, {|PP1001:pool.AllocPage()|}); Sink.Borrow(lease.Page); }
            """ },
        { "used after Dispose", """
            void M() { var lease = new PageLease(pool, pool.AllocPage()); lease.Dispose(); Sink.Borrow({|PP1002:lease|}.Page); }
            """ },
        { "disposed on one branch only", """
            void M(bool c) { var lease = new PageLease(pool, {|PP1001:pool.AllocPage()|}); if (c) lease.Dispose(); }
            """ },
    };

    public static TheoryData<string, string> ArraysMustNotWarn => new()
    {
        { "segment over a rented array returned", """
            ArraySegment<byte> M(int n) => new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n);
            """ },
        { "AsMemory stored", """
            void M(int n) { var buffer = ArrayPool<byte>.Shared.Rent(n); _memory = buffer.AsMemory(0, n); }
            """ },
        { "returned through the segment's array", """
            void M(int n) { var seg = new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n); Sink.Bytes(seg); ArrayPool<byte>.Shared.Return(seg.Array!); }
            """ },
        { "implicit conversion to Memory returned", """
            Memory<byte> M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); return a; }
            """ },
        { "ReadOnlyMemory constructor stored", """
            void M(int n) { _readOnly = new ReadOnlyMemory<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n); }
            """ },
        { "MemoryMarshal.TryGetArray gives the array back", """
            void M(int n) { ReadOnlyMemory<byte> m = ArrayPool<byte>.Shared.Rent(n); if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(m, out var seg)) ArrayPool<byte>.Shared.Return(seg.Array!); else _readOnly = m; }
            """ },
        { "ReadOnlySequence returned", """
            System.Buffers.ReadOnlySequence<byte> M(int n) => new System.Buffers.ReadOnlySequence<byte>(ArrayPool<byte>.Shared.Rent(n));
            """ },
        { "a slice of the memory stored", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); _memory = new Memory<byte>(a).Slice(0, n); }
            """ },
        { "a span is a borrow", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Span<byte> s = a; s[0] = 1; ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "segment added to a list", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); _segments.Add(new ArraySegment<byte>(a, 0, n)); }
            """ },
        { "the sequence's first memory stored", """
            void M(int n) { var seq = new System.Buffers.ReadOnlySequence<byte>(ArrayPool<byte>.Shared.Rent(n)); _readOnly = seq.First; }
            """ },
        { "AsMemory over a segment returned", """
            Memory<byte> M(int n) { var seg = new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n)); return seg.AsMemory(); }
            """ },
        { "array returned through a tuple", """
            (byte[], int) M(int n) => (ArrayPool<byte>.Shared.Rent(n), n);
            """ },
        { "kept through : this(...) whose arguments have control flow", """
            sealed class Seq { private readonly object? _start; public Seq(byte[]? a) : this(a, a?.Length ?? 0) { } public Seq(byte[]? a, int n) { _start = a ?? (object)"empty"; } }
            Seq M(int n) => new Seq(ArrayPool<byte>.Shared.Rent(n));
            """ },
        { "segment in an object initializer, returned", """
            struct State { public ArraySegment<byte> Data; }
            State M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); return new State { Data = new(a, 0, n) }; }
            """ },
        { "object initializer assigned to a ref parameter", """
            struct State { public ArraySegment<byte> Data; }
            void M(ref State state, int n) { var a = ArrayPool<byte>.Shared.Rent(n); state = new State { Data = new(a, 0, n) }; }
            """ },
        { "struct method stores a segment in its own field", """
            struct Buffer { public ArraySegment<byte> Data; public void Fill(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Data = new(a, 0, n); } }
            """ },
        { "tuple of a segment, returned", """
            (ArraySegment<char>, byte[]?) M(int n) { var c = ArrayPool<char>.Shared.Rent(n); return (new(c, 0, n), null); }
            """ },
        { "segment stored in an array element", """
            private readonly ArraySegment<byte>[] _slots2 = new ArraySegment<byte>[4];
            void M(int i, int n) { var a = ArrayPool<byte>.Shared.Rent(n); _slots2[i] = new ArraySegment<byte>(a, 0, n); }
            """ },
        { "a copy of the segment does not stop its return", """
            byte[] M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); var copy = new ArraySegment<byte>(a).ToArray(); ArrayPool<byte>.Shared.Return(a); return copy; }
            """ },
    };

    public static TheoryData<string, string> ArraysMustWarn => new()
    {
        { "segment dropped", """
            void M(int n) { var seg = new ArraySegment<byte>({|PP1101:ArrayPool<byte>.Shared.Rent(n)|}, 0, n); Sink.Bytes(seg); }
            """ },
        { "AsMemory dropped", """
            int M(int n) { var m = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}.AsMemory(0, n); return m.Length; }
            """ },
        { "only a span taken", """
            void M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}; Span<byte> s = a; Sink.Bytes(s); }
            """ },
        { "used through the segment after the return", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); var seg = new ArraySegment<byte>(a); ArrayPool<byte>.Shared.Return(a); Sink.Bytes({|PP1102:seg|}); }
            """ },
        { "returned through the segment and again directly", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); var seg = new ArraySegment<byte>(a); ArrayPool<byte>.Shared.Return(seg.Array!); ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "a copy is not the array", """
            byte[] M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}; return new ArraySegment<byte>(a).ToArray(); }
            """ },
        { "memory overwritten before it is stored", """
            void M(int n) { var m = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}.AsMemory(); m = new byte[4]; _memory = m; }
            """ },
        { "sequence dropped", """
            long M(int n) { var seq = new System.Buffers.ReadOnlySequence<byte>({|PP1101:ArrayPool<byte>.Shared.Rent(n)|}); return seq.Length; }
            """ },
        { "segment stored on one branch only", """
            void M(int n) { var seg = new ArraySegment<byte>({|PP1101:ArrayPool<byte>.Shared.Rent(n)|}); if (n > 4) _segments.Add(seg); }
            """ },
        { "ReadOnlyMemory made and dropped", """
            void M(int n) { ReadOnlyMemory<byte> m = new ReadOnlyMemory<byte>({|PP1101:ArrayPool<byte>.Shared.Rent(n)|}); Sink.Bytes(m.ToArray()); }
            """ },
    };

    [Theory]
    [MemberData(nameof(SourceMustWarn))]
    [MemberData(nameof(SourceMustNotWarn))]
    [MemberData(nameof(ReceiverMustWarn))]
    [MemberData(nameof(ReceiverMustNotWarn))]
    public Task Pages(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(Types + members));
    }

    [Theory]
    [MemberData(nameof(ArraysMustWarn))]
    [MemberData(nameof(ArraysMustNotWarn))]
    public Task Arrays(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(Types + members), arrays: true);
    }

    [Fact]
    public Task WrapperDeclaredInAnotherFile()
    {
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        var test = CreateTest(InClass("""
            Shared.Envelope Keep() => new Shared.Envelope(pool.AllocPage());
            void Drop() { var e = new Shared.Envelope({|PP1001:pool.AllocPage()|}); Sink.Borrow(e.Page); }
            """));
        test.TestState.Sources.Add(("/0/Envelope.cs", """
            namespace Shared
            {
                public sealed class Envelope
                {
                    public Envelope(PagePool.Page page) => Page = page;
                    public PagePool.Page Page { get; }
                }
            }
            """));
        return RunAsync(test, errorsBefore);
    }

    [Fact]
    public Task HalfTypedWrapperNeverThrows()
    {
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        var test = CreateTest(InClass("""
            sealed class W { public W(Page p, {|CS0246:Missing|} m) { P = p; } public Page P { get; } }
            W M() => new W({|PP1001:pool.AllocPage()|}, {|CS0103:nothing|});
            void N() { var w = new {|CS0246:Unknown|}({|PP1001:pool.AllocPage()|}); }
            """));
        return RunAsync(test, errorsBefore);
    }

    internal static async Task RunAsync(Microsoft.CodeAnalysis.CSharp.Testing.CSharpAnalyzerTest<OwnershipAnalyzer, Microsoft.CodeAnalysis.Testing.DefaultVerifier> test, int errorsBefore)
    {
        await test.RunAsync();
        Xunit.Assert.True(OwnershipAnalyzer.InternalErrors == errorsBefore, $"internal analyzer error: {OwnershipAnalyzer.LastInternalError}");
    }
}
