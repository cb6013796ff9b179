// Minimal shapes of deleted Returns the analysis missed on real code (RESULTS.md, X1-X5): each method leaks its
// rented array (or only pins it), so each should give PP1101. `run.sh benchmarks/RealCode/shapes` lists them.
using System;
using System.Buffers;
using System.Collections.Generic;

unsafe class Missed
{
    object? _x;
    static void Use(Span<byte> b) { }
    static void UsePointer(byte* p) { }

    // X1: an argument to a delegate invocation counts as handed on.
    void X1(Func<byte[], object> f) { var a = ArrayPool<byte>.Shared.Rent(4); _x = f(a); }

    // X2: a rent in a conditional expression that is assigned, not declared.
    void X2(int n)
    {
        Span<byte> b;
        byte[]? lease = null;
        b = n <= 128 ? stackalloc byte[128] : (lease = ArrayPool<byte>.Shared.Rent(n));
        Use(b);
    }

    // X3: `fixed` only pins the array.
    void X3(int n) { var a = ArrayPool<byte>.Shared.Rent(n); fixed (byte* p = a) { UsePointer(p); } }

    // X4: a collection's CopyTo copies into the array; it does not keep it.
    void X4(Queue<object> q) { var a = ArrayPool<object>.Shared.Rent(q.Count); q.CopyTo(a, 0); }

    // X5: a dictionary lookup in a callee does not keep the key.
    readonly Dictionary<ArraySegment<byte>, int> _cache = new();
    void X5(int n) { var a = ArrayPool<byte>.Shared.Rent(n); Find(new ArraySegment<byte>(a, 0, n)); }
    void Find(ArraySegment<byte> key) => _cache.TryGetValue(key, out _);
}
