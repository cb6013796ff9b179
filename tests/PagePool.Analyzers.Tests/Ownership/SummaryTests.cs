using System.Threading.Tasks;
using PagePool.Analyzers.Ownership;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>
/// Callee summaries: what a method whose body is in the compilation does with a page or an array it is given
/// (recycles, stores, hands on, returns), what it gives back through a <c>ref</c> or <c>out</c> parameter or its
/// result, inferred from its body. Virtual, abstract and interface methods get no inference.
/// </summary>
public sealed class SummaryTests
{
    public static TheoryData<string, string> CalleeMustNotWarn => new()
    {
        { "private helper recycles", """
            void Drop(Page p) => pool.RecyclePage(p);
            void M() { var p = pool.AllocPage(); Drop(p); }
            """ },
        { "private helper stores in a field", """
            void Stash(Page p) { _field = p; }
            void M() { Stash(pool.AllocPage()); }
            """ },
        { "helper hands on to an [Owned] parameter", """
            void Forward(Page p) => Sink.Keep(p);
            void M() { var p = pool.AllocPage(); Forward(p); }
            """ },
        { "local function recycles", """
            void M() { var p = pool.AllocPage(); Done(p); void Done(Page q) => pool.RecyclePage(q); }
            """ },
        { "two levels down", """
            void A(Page p) => B(p);
            void B(Page p) { Sink.Borrow(p); pool.RecyclePage(p); }
            void M() { A(pool.AllocPage()); }
            """ },
        { "helper gives the same page back", """
            Page Touch(Page p) { Sink.Bytes(p.Span); return p; }
            void M() { var p = pool.AllocPage(); var q = Touch(p); pool.RecyclePage(q); }
            """ },
        { "factory wraps its parameter", """
            sealed class Datagram { public Datagram(Page page) => Page = page; public Page Page { get; } }
            Datagram Wrap(Page p) => new Datagram(p);
            Datagram M() { var p = pool.AllocPage(); return Wrap(p); }
            """ },
        { "recycled on every branch of the helper", """
            void Finish(Page p, bool keep) { if (keep) _list.Add(p); else pool.RecyclePage(p); }
            void M(bool c) { Finish(pool.AllocPage(), c); }
            """ },
        { "helper recycles in a finally", """
            int Consume(Page p) { try { return p.Length; } finally { pool.RecyclePage(p); } }
            int M() { var p = pool.AllocPage(); return Consume(p); }
            """ },
        { "public method of a sealed class", """
            public void Release(Page p) => pool.RecyclePage(p);
            void M() { var p = pool.AllocPage(); Release(p); }
            """ },
        { "partial method with its implementation", """
            partial class Part { private readonly RxQueue _pool = new RxQueue(); partial void Done(Page p); partial void Done(Page p) => _pool.RecyclePage(p); public void M() { Done(_pool.AllocPage()); } }
            """ },
        { "static helper of another class", """
            static class Pages { public static void Give(RxQueue q, Page p) => q.RecyclePage(p); }
            void M() { var p = pool.AllocPage(); Pages.Give(pool, p); }
            """ },
        { "a throw in the helper is its caller's exception path", """
            void Checked(Page p, int n) { if (n < 0) throw new ArgumentOutOfRangeException(nameof(n)); pool.RecyclePage(p); }
            void M(int n) { Checked(pool.AllocPage(), n); }
            """ },
        { "constructor stores into a static list", """
            sealed class Registration { public static readonly List<Page> All = new List<Page>(); public Registration(Page p) { All.Add(p); } }
            void M() { _ = new Registration(pool.AllocPage()); }
            """ },
    };

    public static TheoryData<string, string> CalleeMustWarn => new()
    {
        { "helper only reads", """
            void Look(Page p) => Sink.Bytes(p.Span);
            void M() { var p = {|PP1001:pool.AllocPage()|}; Look(p); }
            """ },
        { "helper recycles on one branch only", """
            void Maybe(Page p, bool c) { if (c) pool.RecyclePage(p); }
            void M(bool c) { var p = {|PP1001:pool.AllocPage()|}; Maybe(p, c); }
            """ },
        { "virtual method: no inference", """
            class Base { protected readonly RxQueue Pool = new RxQueue(); public virtual void Drop(Page p) => Pool.RecyclePage(p); public void M() { var p = {|PP1001:Pool.AllocPage()|}; Drop(p); } }
            """ },
        { "interface method: no inference", """
            interface IDropper { void Drop(Page p); }
            void M(IDropper d) { var p = {|PP1001:pool.AllocPage()|}; d.Drop(p); }
            """ },
        { "abstract method: no inference", """
            abstract class Base { protected readonly RxQueue Pool = new RxQueue(); public abstract void Drop(Page p); public void M() { var p = {|PP1001:Pool.AllocPage()|}; Drop(p); } }
            """ },
        { "recursion is cut conservatively", """
            void Drain(Page p, int n) { if (n == 0) { pool.RecyclePage(p); return; } Drain(p, n - 1); }
            void M() { var p = {|PP1001:pool.AllocPage()|}; Drain(p, 3); }
            """ },
        { "mutual recursion is cut conservatively", """
            void Ping(Page p, int n) { if (n == 0) pool.RecyclePage(p); else Pong(p, n - 1); }
            void Pong(Page p, int n) => Ping(p, n);
            void M() { var p = {|PP1001:pool.AllocPage()|}; Ping(p, 2); }
            """ },
        { "beyond the depth the summaries follow", """
            void A(Page p) => B(p);
            void B(Page p) => Third(p);
            void Fourth(Page p) => pool.RecyclePage(p);
            void Third(Page p) => Fourth(p);
            void M() { var p = {|PP1001:pool.AllocPage()|}; A(p); }
            """ },
        { "used after the helper recycled it", """
            void Drop(Page p) => pool.RecyclePage(p);
            void M() { var p = pool.AllocPage(); Drop(p); Sink.Bytes({|PP1002:p|}.Span); }
            """ },
        { "recycled after the helper recycled it", """
            void Drop(Page p) => pool.RecyclePage(p);
            void M() { var p = pool.AllocPage(); Drop(p); pool.RecyclePage({|PP1003:p|}); }
            """ },
        { "helper keeps it only in a local", """
            void Hold(Page p) { var copy = p; Sink.Borrow(copy); }
            void M() { Hold({|PP1001:pool.AllocPage()|}); }
            """ },
        { "partial method without an implementation", """
            partial class Part { private readonly RxQueue _pool = new RxQueue(); partial void Done(Page p); public void M() { var p = {|PP1001:_pool.AllocPage()|}; Done(p); } }
            """ },
        { "helper returns a different page", """
            Page Other(Page p) { Sink.Borrow(p); return pool.AllocPage(); }
            void M() { var p = {|PP1001:pool.AllocPage()|}; var q = Other(p); pool.RecyclePage(q); }
            """ },
    };

    public static TheoryData<string, string> ArrayCalleeMustNotWarn => new()
    {
        { "factory rents for its caller", """
            byte[] RentBuffer(int n) => ArrayPool<byte>.Shared.Rent(n);
            void M() { var b = RentBuffer(8); Sink.Array(b); ArrayPool<byte>.Shared.Return(b); }
            """ },
        { "grow: old returned, new rented", """
            byte[] Grow(byte[] old, int n) { var b = ArrayPool<byte>.Shared.Rent(n); old.CopyTo(b, 0); ArrayPool<byte>.Shared.Return(old); return b; }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); a = Grow(a, 8); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "helper returns it to the pool", """
            static void Give(byte[] a) => ArrayPool<byte>.Shared.Return(a);
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Give(a); }
            """ },
        { "local function that rents", """
            void M(int n) { var a = Get(); ArrayPool<byte>.Shared.Return(a); byte[] Get() => ArrayPool<byte>.Shared.Rent(n); }
            """ },
        { "factory that may not rent is not trusted with the obligation", """
            byte[] Maybe(int n) => n > 64 ? ArrayPool<byte>.Shared.Rent(n) : new byte[n];
            void M(int n) { var a = Maybe(n); Sink.Array(a); }
            """ },
        { "factory of a segment over a rented array", """
            ArraySegment<byte> Segment(int n) => new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n);
            void M(int n) { var seg = Segment(n); ArrayPool<byte>.Shared.Return(seg.Array!); }
            """ },
        { "factory that returns null or a rented array", """
            byte[]? Lease(int n) { if (n == 0) return null; return ArrayPool<byte>.Shared.Rent(n); }
            void M(int n) { var a = Lease(n); if (a != null) ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "helper stores it in a field", """
            byte[]? _kept;
            void Keep(byte[] a) => _kept = a;
            void M(int n) { Keep(ArrayPool<byte>.Shared.Rent(n)); }
            """ },
        { "helper in a generic class", """
            sealed class Lender<T> { public T[] Rent(int n) => ArrayPool<T>.Shared.Rent(n); public void Give(T[] a) => ArrayPool<T>.Shared.Return(a); }
            void M(Lender<int> l) { var a = l.Rent(4); l.Give(a); }
            """ },
        { "instance method of another object stores its parameter", """
            sealed class Segment { private byte[]? _array; public void Assign(byte[] a) { _array = a; } }
            void M(Segment segment, int n) { segment.Assign(ArrayPool<byte>.Shared.Rent(n)); }
            """ },
        { "async local function returns it in a finally", """
            ValueTask<int> Read(System.IO.Stream s, int n) { var b = ArrayPool<byte>.Shared.Rent(n); return Finish(s.ReadAsync(b, 0, n), b); static async ValueTask<int> Finish(Task<int> t, byte[] local) { try { return await t; } finally { ArrayPool<byte>.Shared.Return(local); } } }
            """ },
        { "constructor of a class stores it", """
            sealed class Owner { private readonly byte[] _a; public Owner(byte[] a) => _a = a; }
            Owner Make(int n) => new Owner(ArrayPool<byte>.Shared.Rent(n));
            Owner Make2(int n) { var a = ArrayPool<byte>.Shared.Rent(n); return new Owner(a); }
            """ },
        { "struct constructor stores it", """
            readonly struct Value { private readonly byte[] _a; public Value(byte[] a, int n) { _a = a; } }
            Value Make(int n) => new Value(ArrayPool<byte>.Shared.Rent(n), n);
            """ },
        { "rented array wrapped by a factory, then returned by the caller", """
            Memory<byte> Window(byte[] a, int n) => a.AsMemory(0, n);
            Memory<byte> M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); return Window(a, n); }
            """ },
    };

    public static TheoryData<string, string> ArrayCalleeMustWarn => new()
    {
        { "rented by a factory and dropped", """
            byte[] RentBuffer(int n) => ArrayPool<byte>.Shared.Rent(n);
            void M() { var b = {|PP1101:RentBuffer(8)|}; Sink.Array(b); }
            """ },
        { "rented by a local function and dropped", """
            void M(int n) { {|PP1101:Get()|}; byte[] Get() => ArrayPool<byte>.Shared.Rent(n); }
            """ },
        { "grown, then the new one dropped", """
            byte[] Grow(byte[] old, int n) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(old); return b; }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); a = {|PP1101:Grow(a, 8)|}; Sink.Array(a); }
            """ },
        { "returned by the helper, then again", """
            static void Give(byte[] a) => ArrayPool<byte>.Shared.Return(a);
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Give(a); ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "used after the helper returned it", """
            static void Give(byte[] a) => ArrayPool<byte>.Shared.Return(a);
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Give(a); Sink.Array({|PP1102:a|}); }
            """ },
        { "helper only reads the array", """
            static int Sum(byte[] a) => a[0];
            int M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}; return Sum(a); }
            """ },
        { "segment made by a factory and dropped", """
            ArraySegment<byte> Segment(int n) => new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n);
            int M(int n) { var seg = {|PP1101:Segment(n)|}; return seg.Count; }
            """ },
        { "factory returning null or rented: dropped", """
            byte[]? Lease(int n) { if (n == 0) return null; return ArrayPool<byte>.Shared.Rent(n); }
            void M(int n) { var a = {|PP1101:Lease(n)|}; Sink.Array(a!); }
            """ },
        { "virtual factory: no inference, but the array it was given is still owed", """
            class Pools { public virtual void Give(byte[] a) => ArrayPool<byte>.Shared.Return(a); }
            void M(Pools p, int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}; p.Give(a); }
            """ },
        { "wrapped by a factory and dropped", """
            Memory<byte> Window(byte[] a, int n) => a.AsMemory(0, n);
            int M(int n) { var m = Window({|PP1101:ArrayPool<byte>.Shared.Rent(n)|}, n); return m.Length; }
            """ },
    };

    public static TheoryData<string, string> RefMustNotWarn => new()
    {
        { "Resize gives the old one back and rents a new one", """
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); a.CopyTo(b, 0); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); Resize(ref a, 8); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "EnsureCapacity with an early return", """
            static void EnsureCapacity(ref byte[] a, int n) { if (a.Length >= n) return; var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(4); EnsureCapacity(ref a, n); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "return and clear", """
            static void ReturnAndClear(ref byte[]? a) { if (a != null) { ArrayPool<byte>.Shared.Return(a); a = null; } }
            void M() { byte[]? a = ArrayPool<byte>.Shared.Rent(4); Sink.Array(a); ReturnAndClear(ref a); }
            """ },
        { "page refilled", """
            void Refill(ref Page p) { pool.RecyclePage(p); p = pool.AllocPage(); }
            void M() { var p = pool.AllocPage(); Refill(ref p); pool.RecyclePage(p); }
            """ },
        { "rented into a null variable", """
            static void EnsureRented(ref byte[]? a, int n) { if (a == null) a = ArrayPool<byte>.Shared.Rent(n); }
            void M(int n) { byte[]? a = null; EnsureRented(ref a, n); ArrayPool<byte>.Shared.Return(a!); }
            """ },
        { "grown in a loop", """
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(4); for (int i = 0; i < n; i++) { if (i == a.Length) Resize(ref a, i * 2); a[i] = 1; } ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "a field passed by ref is not tracked", """
            byte[] _buffer = Array.Empty<byte>();
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); a = b; }
            void M(int n) { Resize(ref _buffer, n); }
            """ },
        { "callee only reads the ref", """
            static int First(ref byte[] a) => a[0];
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); First(ref a); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "local function resize", """
            void M(int n) { var a = ArrayPool<int>.Shared.Rent(4); Grow(ref a); ArrayPool<int>.Shared.Return(a); void Grow(ref int[] x) { var y = ArrayPool<int>.Shared.Rent(n); ArrayPool<int>.Shared.Return(x); x = y; } }
            """ },
        { "rented into an empty array only when needed, returned when not empty", """
            static void Grow(ref byte[] a, int n) { if (n > a.Length) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; } }
            void M(int n) { byte[] lease = []; Grow(ref lease, n); Sink.Array(lease); if (lease.Length != 0) ArrayPool<byte>.Shared.Return(lease); }
            """ },
        { "cleared to empty", """
            static void Release(ref byte[] a) { ArrayPool<byte>.Shared.Return(a); a = Array.Empty<byte>(); }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); Release(ref a); Sink.Array(a); }
            """ },
    };

    public static TheoryData<string, string> RefMustWarn => new()
    {
        { "resized, then never returned", """
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); Resize({|PP1101:ref a|}, 8); Sink.Array(a); }
            """ },
        { "the old array used after the resize", """
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); var old = a; Resize(ref a, 8); Sink.Array({|PP1102:old|}); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "returned, then resized", """
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); ArrayPool<byte>.Shared.Return(a); Resize(ref {|PP1103:a|}, 8); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "rented into a null variable and dropped", """
            static void EnsureRented(ref byte[]? a, int n) { if (a == null) a = ArrayPool<byte>.Shared.Rent(n); }
            void M(int n) { byte[]? a = null; EnsureRented({|PP1101:ref a|}, n); Sink.Array(a!); }
            """ },
        { "page refilled, then not recycled", """
            void Refill(ref Page p) { pool.RecyclePage(p); p = pool.AllocPage(); }
            void M() { var p = pool.AllocPage(); Refill({|PP1001:ref p|}); Sink.Borrow(p); }
            """ },
        { "resized in a loop, never returned", """
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(4)|}; for (int i = 0; i < n; i++) { if (i == a.Length) Resize({|PP1101:ref a|}, i * 2); a[i] = 1; } }
            """ },
        { "resized, returned on one branch only", """
            static void Resize(ref byte[] a, int n) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; }
            void M(bool c) { var a = ArrayPool<byte>.Shared.Rent(4); Resize({|PP1101:ref a|}, 8); if (c) ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "rented into an empty array, dropped", """
            static void Grow(ref byte[] a, int n) { if (n > a.Length) { var b = ArrayPool<byte>.Shared.Rent(n); ArrayPool<byte>.Shared.Return(a); a = b; } }
            void M(int n) { byte[] lease = []; Grow({|PP1101:ref lease|}, n); if (lease.Length == 0) ArrayPool<byte>.Shared.Return(lease); }
            """ },
        { "callee only reads the ref: the array is still owed", """
            static int First(ref byte[] a) => a[0];
            void M() { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(4)|}; First(ref a); }
            """ },
        { "cleared, then used", """
            static void ReturnAndKeep(ref byte[] a) { ArrayPool<byte>.Shared.Return(a); a = Array.Empty<byte>(); }
            void M() { var a = ArrayPool<byte>.Shared.Rent(4); var alias = a; ReturnAndKeep(ref a); Sink.Array({|PP1102:alias|}); }
            """ },
        { "virtual resize: no inference, the old one is still owed", """
            class Grower { public virtual void Resize(ref byte[] a, int n) { ArrayPool<byte>.Shared.Return(a); a = ArrayPool<byte>.Shared.Rent(n); } }
            void M(Grower g) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(4)|}; g.Resize(ref a, 8); }
            """ },
    };

    public static TheoryData<string, string> OutMustNotWarn => new()
    {
        { "TryRent then returned", """
            static bool TryRent(int n, out byte[] a) { a = ArrayPool<byte>.Shared.Rent(n); return true; }
            void M() { if (TryRent(8, out var a)) ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "rented into an out, returned", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M() { RentInto(out var a); Sink.Array(a); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "segment out, returned through its array", """
            static void RentSegment(int n, out ArraySegment<byte> s) => s = new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n);
            void M() { RentSegment(8, out var s); ArrayPool<byte>.Shared.Return(s.Array!); }
            """ },
        { "out from a field is lent", """
            byte[] _buf = new byte[4];
            void Current(out byte[] a) => a = _buf;
            void M() { Current(out var a); Sink.Array(a); }
            """ },
        { "Try with null on failure", """
            static bool TryRent(int n, out byte[]? a) { if (n > 0) { a = ArrayPool<byte>.Shared.Rent(n); return true; } a = null; return false; }
            void M(int n) { if (TryRent(n, out var a)) ArrayPool<byte>.Shared.Return(a!); }
            """ },
        { "local function out", """
            void M() { Get(out var a); ArrayPool<byte>.Shared.Return(a); static void Get(out byte[] x) => x = ArrayPool<byte>.Shared.Rent(8); }
            """ },
        { "out stored by the caller", """
            byte[]? _kept;
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M() { RentInto(out var a); _kept = a; }
            """ },
        { "out handed on through a wrapper", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            Memory<byte> M() { RentInto(out var a); return a.AsMemory(); }
            """ },
        { "out into an existing local", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M() { byte[] a; RentInto(out a); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "virtual out: no inference, nothing owed", """
            class Source { public virtual void Get(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8); }
            void M(Source s) { s.Get(out var a); Sink.Array(a); }
            """ },
    };

    public static TheoryData<string, string> OutMustWarn => new()
    {
        { "rented into an out, dropped", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M() { RentInto({|PP1101:out var a|}); Sink.Array(a); }
            """ },
        { "TryRent, not returned on success", """
            static bool TryRent(int n, out byte[] a) { a = ArrayPool<byte>.Shared.Rent(n); return true; }
            void M() { if (TryRent(8, {|PP1101:out var a|})) Sink.Array(a); }
            """ },
        { "segment out dropped", """
            static void RentSegment(int n, out ArraySegment<byte> s) => s = new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n);
            int M() { RentSegment(8, {|PP1101:out var s|}); return s.Count; }
            """ },
        { "out used after return", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M() { RentInto(out var a); ArrayPool<byte>.Shared.Return(a); Sink.Array({|PP1102:a|}); }
            """ },
        { "out returned twice", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M() { RentInto(out var a); ArrayPool<byte>.Shared.Return(a); ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "out overwritten", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M() { RentInto({|PP1101:out var a|}); RentInto(out a); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "local function out dropped", """
            void M() { Get({|PP1101:out var a|}); Sink.Array(a); static void Get(out byte[] x) => x = ArrayPool<byte>.Shared.Rent(8); }
            """ },
        { "out returned on one branch only", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M(bool c) { RentInto({|PP1101:out var a|}); if (c) ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "Try with null on failure, not returned", """
            static bool TryRent(int n, out byte[]? a) { if (n > 0) { a = ArrayPool<byte>.Shared.Rent(n); return true; } a = null; return false; }
            void M(int n) { if (TryRent(n, {|PP1101:out var a|})) Sink.Array(a!); }
            """ },
        { "out in a loop, returned only after", """
            static void RentInto(out byte[] a) => a = ArrayPool<byte>.Shared.Rent(8);
            void M(int n) { byte[] a = Array.Empty<byte>(); for (int i = 0; i < n; i++) RentInto({|PP1101:out a|}); ArrayPool<byte>.Shared.Return(a); }
            """ },
    };

    [Theory]
    [MemberData(nameof(CalleeMustWarn))]
    [MemberData(nameof(CalleeMustNotWarn))]
    public Task Pages(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members));
    }

    [Theory]
    [MemberData(nameof(ArrayCalleeMustWarn))]
    [MemberData(nameof(ArrayCalleeMustNotWarn))]
    [MemberData(nameof(RefMustWarn))]
    [MemberData(nameof(RefMustNotWarn))]
    [MemberData(nameof(OutMustWarn))]
    [MemberData(nameof(OutMustNotWarn))]
    public Task Arrays(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members), arrays: true);
    }

    [Fact]
    public Task CalleeInAnotherFile()
    {
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        var test = CreateTest(InClass("""
            void Good() { var p = pool.AllocPage(); Helpers.Recycle(pool, p); }
            void Bad() { var p = {|PP1001:pool.AllocPage()|}; Helpers.Look(p); }
            """));
        test.TestState.Sources.Add(("/0/Helpers.cs", """
            namespace PagePool.Tests
            {
                internal static class Helpers
                {
                    public static void Recycle(RxQueue pool, Page page) => pool.RecyclePage(page);
                    public static int Look(Page page) => page.Length;
                }
            }
            """));
        return WrapperTests.RunAsync(test, errorsBefore);
    }

    [Fact]
    public Task HalfTypedCalleeNeverThrows()
    {
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        var test = CreateTest(InClass("""
            void Drop(Page p) { {|CS0103:missing|}(p); pool.RecyclePage(p); }
            void Broken(Page p, {|CS0246:Nope|} n) => n.Take(p);
            void Resize(ref byte[] a) { a = {|CS0103:Rent|}(); }
            void M() { var p = pool.AllocPage(); Drop(p); var q = {|PP1001:pool.AllocPage()|}; Broken(q, default); byte[] a = new byte[1]; Resize(ref a); }
            """), arrays: true);
        return WrapperTests.RunAsync(test, errorsBefore);
    }
}
