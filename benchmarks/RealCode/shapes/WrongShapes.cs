// Minimal shapes of the wrong PP1101 warnings found on real code (RESULTS.md, W1-W8), written from the shapes.
// Every method here hands its rented array on: none should warn. `run.sh benchmarks/RealCode/shapes` lists what
// still does. Not compiled into RealCode (RealCode.csproj removes shapes/).
using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
sealed class Owned { readonly byte[] _a; public Owned(byte[] a) => _a = a; }
struct Holder { readonly byte[] _a; public Holder(byte[] a) { _a = a; } }
sealed class Segment { byte[]? _array; internal void Assign(byte[] a) { _array = a; } }
sealed class State { public ArraySegment<byte> Data { get; set; } }
struct SState { public ArraySegment<byte> Data; public void Rent(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Data = new(a, 0, n); } }
static class PoolExtensions
{
    // A helper of the CommunityToolkit kind: gives the old array back, leaves a new one in the variable.
    public static void Resize<T>(this ArrayPool<T> pool, ref T[] array, int n)
    {
        var fresh = pool.Rent(n);
        array.AsSpan(0, Math.Min(n, array.Length)).CopyTo(fresh);
        pool.Return(array);
        array = fresh;
    }
}
class W
{
    static void Check(bool b) { }
    // W7: the ref parameter holds it on the throw path too.
    void W7(int n, ref object? state) { var a = ArrayPool<byte>.Shared.Rent(n); state = new Owned(a); if (n > 100) throw new ArgumentException(); }
    // W8: comparing the old reference after a ref helper reads nothing.
    void W8() { var a = ArrayPool<byte>.Shared.Rent(16); var backup = a; ArrayPool<byte>.Shared.Resize(ref a, 8); Check(ReferenceEquals(backup, a)); ArrayPool<byte>.Shared.Return(a); }
    Owned? Prop { get; set; }
    Segment segment = new Segment();
    ArraySegment<byte>[] _segments = new ArraySegment<byte>[4];
    List<ArraySegment<byte>> _list = new();
    static void Use(ArraySegment<byte> s) { }
    Owned W1a(int n) => new Owned(ArrayPool<byte>.Shared.Rent(n));
    Owned W1b(int n) { var a = ArrayPool<byte>.Shared.Rent(n); return new Owned(a); }
    void W1c(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Prop = new Owned(a); }
    Holder W1d(int n) { var a = ArrayPool<byte>.Shared.Rent(n); return new Holder(a); }
    void W2(int n) { segment.Assign(ArrayPool<byte>.Shared.Rent(n)); }
    ValueTask<int> W3(Stream s, int n)
    {
        var b = ArrayPool<byte>.Shared.Rent(n);
        return Finish(s.ReadAsync(b, 0, n), b);
        static async ValueTask<int> Finish(Task<int> t, byte[] local) { try { return await t; } finally { ArrayPool<byte>.Shared.Return(local); } }
    }
    void W4a(int n) { var seg = new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n); Use(seg); ArrayPool<byte>.Shared.Return(seg.Array!); }
    void W4b(int n, int i) { var a = ArrayPool<byte>.Shared.Rent(n); _segments[i] = new ArraySegment<byte>(a, 0, n); }
    void W4c(int n) { _list.Add(new ArraySegment<byte>(ArrayPool<byte>.Shared.Rent(n), 0, n)); }
    State W5a(int n) { var a = ArrayPool<byte>.Shared.Rent(n); return new State { Data = new(a, 0, n) }; }
    void W5b(int n, ref State state) { var a = ArrayPool<byte>.Shared.Rent(n); state = new State { Data = new(a, 0, n) }; }
    (ArraySegment<char>, byte[]?) W6(int n) { var c = ArrayPool<char>.Shared.Rent(n); return (new(c, 0, n), null); }
}
