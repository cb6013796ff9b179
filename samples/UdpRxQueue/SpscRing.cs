using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace UdpRxQueue;

/// <summary>
/// A bounded single-producer single-consumer ring, allocation-free after construction: the receive thread enqueues,
/// the processing thread dequeues. Each side keeps its position on its own cache line and caches the other's, so a
/// shared line is read only when the ring looks full (producer) or empty (consumer).
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
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "The capacity must be a power of two.");
        }
        _items = new T[capacity];
        _mask = capacity - 1;
    }

    /// <summary>Items in the ring right now (approximate while both sides run).</summary>
    public int Count => (int)(Volatile.Read(ref _p.Tail) - Volatile.Read(ref _p.Head));

    /// <summary>Producer only. False when the ring is full: the caller drops the item.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(in T item)
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
            slot = default!;
        }
        Volatile.Write(ref _p.Head, head + 1);
        return true;
    }
}

/// <summary>The ring's positions: producer's and consumer's on separate cache lines.</summary>
[StructLayout(LayoutKind.Explicit, Size = 384)]
internal struct RingPositions
{
    [FieldOffset(64)] public long Tail;        // producer writes
    [FieldOffset(72)] public long CachedHead;  // producer's copy of Head
    [FieldOffset(192)] public long Head;       // consumer writes
    [FieldOffset(200)] public long CachedTail; // consumer's copy of Tail
}
