using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PagePool.Benchmarks;

/// <summary>
/// A bounded single-producer single-consumer ring: the handoff every cross-thread benchmark uses, the same code
/// for each peer. Positions live on their own cache lines and each side caches the other's position, so the steady
/// state touches a shared line only when the cached value says the ring looks full (producer) or empty (consumer).
/// </summary>
internal sealed class SpscRing<T>
{
    private readonly T[] _items;
    private readonly int _mask;
    private RingPositions _p;

    public SpscRing(int capacity)
    {
        if (capacity <= 0 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A power of two.");
        }
        _items = new T[capacity];
        _mask = capacity - 1;
    }

    /// <summary>Producer only. False when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(T item)
    {
        long tail = _p.Tail;
        if (tail - _p.CachedHead >= _items.Length)
        {
            _p.CachedHead = Volatile.Read(ref _p.Head);
            if (tail - _p.CachedHead >= _items.Length)
            {
                return false;
            }
        }
        _items[(int)tail & _mask] = item;
        Volatile.Write(ref _p.Tail, tail + 1);
        return true;
    }

    /// <summary>Producer only: whether at least <paramref name="slots"/> slots are free (reads the consumer's position).</summary>
    public bool HasFree(int slots)
    {
        _p.CachedHead = Volatile.Read(ref _p.Head);
        return _items.Length - (_p.Tail - _p.CachedHead) >= slots;
    }

    /// <summary>Consumer only. False when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDequeue(out T item)
    {
        long head = _p.Head;
        if (head >= _p.CachedTail)
        {
            _p.CachedTail = Volatile.Read(ref _p.Tail);
            if (head >= _p.CachedTail)
            {
                item = default!;
                return false;
            }
        }
        ref T slot = ref _items[(int)head & _mask];
        item = slot;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            slot = default!; // do not keep the consumer's last items alive
        }
        Volatile.Write(ref _p.Head, head + 1);
        return true;
    }
}

/// <summary>The ring's positions, producer's and consumer's on separate cache lines (outside the generic type:
/// explicit layout is not allowed in generic types).</summary>
[StructLayout(LayoutKind.Explicit, Size = 384)]
internal struct RingPositions
{
    [FieldOffset(64)] public long Tail;        // producer writes
    [FieldOffset(72)] public long CachedHead;  // producer's copy of Head
    [FieldOffset(192)] public long Head;       // consumer writes
    [FieldOffset(200)] public long CachedTail; // consumer's copy of Tail
}
