using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// The return ring (the kernel's ptr_ring): bounded, lock-free, many producers (any thread recycling) and one
/// consumer (the owner refilling its cache, or the destroyer under the pool's lock). Each cell carries a
/// sequence number, so a producer can reserve a run of cells with one compare-and-swap.
/// </summary>
/// <remarks>
/// Cells are 8 bytes, eight to a cache line (a <c>ConcurrentQueue</c> slot is 16): the line a recycling thread
/// writes and the owner reads back moves between cores once per eight pages. Sequence numbers are the low 32 bits of
/// the 64-bit positions; they are only ever compared with positions less than a ring's length away, so the
/// wrap-around at 2^32 is harmless.
/// </remarks>
internal sealed class PageRing
{
    private struct Cell
    {
        public int Sequence;
        public int Id;
    }

    private readonly Cell[] _cells;
    private readonly int _mask;
    private readonly long _start;  // 0 outside tests

    // Producers and the consumer write different counters: keep them on different cache lines, 128 bytes apart (the
    // adjacent-line prefetcher's pair).
    private PaddedLong _tail;
    private PaddedLong _head;

    public PageRing(int capacity)
        : this(capacity, start: 0)
    {
    }

    /// <summary>Tests: a ring whose positions start at <paramref name="start"/>, to cross the 32-bit wrap of the sequences.</summary>
    internal PageRing(int capacity, long start)
    {
        _cells = new Cell[capacity];
        _mask = capacity - 1;
        for (long pos = start; pos < start + capacity; pos++)
        {
            _cells[(int)pos & _mask].Sequence = (int)pos;
        }
        _tail.Value = start;
        _head.Value = start;
        _start = start;
    }

    public int Capacity => _cells.Length;

    /// <summary>Total ids ever enqueued (monotonic): the ring's share of the recycle counters.</summary>
    public long Enqueued => Volatile.Read(ref _tail.Value) - _start;

    /// <summary>Ids waiting in the ring (racy snapshot).</summary>
    public int Count => (int)Math.Max(0, Volatile.Read(ref _tail.Value) - Volatile.Read(ref _head.Value));

    public bool TryEnqueue(int id)
    {
        if (!TryReserve(out long position))
        {
            return false;
        }
        Publish(position, id);
        return true;
    }

    /// <summary>
    /// Reserves the next cell (one compare-and-swap on the tail): false when the ring is full. The caller must
    /// <see cref="Publish"/> it soon: the consumer stops at a reserved cell until it is published.
    /// </summary>
    /// <remarks>
    /// Split from the publish so that a recycling thread can reserve before it stores anything: a locked instruction
    /// waits for every earlier store to reach the cache, and the store that marks a page idle targets a line the owner
    /// holds, so with the store first the compare-and-swap would wait on that line.
    /// </remarks>
    public bool TryReserve(out long position)
    {
        Cell[] cells = _cells;
        long pos = Volatile.Read(ref _tail.Value);
        while (true)
        {
            ref Cell cell = ref cells[(int)pos & _mask];
            int diff = Volatile.Read(ref cell.Sequence) - (int)pos;
            if (diff == 0)
            {
                long seen = Interlocked.CompareExchange(ref _tail.Value, pos + 1, pos);
                if (seen == pos)
                {
                    position = pos;
                    return true;
                }
                pos = seen;
            }
            else if (diff < 0)
            {
                position = 0;
                return false; // full: the consumer has not freed this cell yet
            }
            else
            {
                pos = Volatile.Read(ref _tail.Value);
            }
        }
    }

    /// <summary>Publishes <paramref name="id"/> in the cell <see cref="TryReserve"/> reserved at <paramref name="position"/>.</summary>
    public void Publish(long position, int id)
    {
        ref Cell cell = ref _cells[(int)position & _mask];
        cell.Id = id;
        Volatile.Write(ref cell.Sequence, (int)(position + 1));
    }

    /// <summary>Reserves as many cells as are free (up to ids.Length) with one CAS and publishes them. Returns how many.</summary>
    public int TryEnqueueBatch(ReadOnlySpan<int> ids)
    {
        if (ids.Length == 0)
        {
            return 0;
        }
        Cell[] cells = _cells;
        while (true)
        {
            long pos = Volatile.Read(ref _tail.Value);
            long head = Volatile.Read(ref _head.Value);
            long free = cells.Length - (pos - head);
            if (free <= 0)
            {
                return 0;
            }
            int n = (int)Math.Min(free, ids.Length);
            // The consumer frees cells in order, so if the last cell of the run is free, all of them are.
            if (Volatile.Read(ref cells[(int)(pos + n - 1) & _mask].Sequence) != (int)(pos + n - 1))
            {
                continue; // head moved under us or a stale snapshot: read again
            }
            if (Interlocked.CompareExchange(ref _tail.Value, pos + n, pos) != pos)
            {
                continue;
            }
            for (int i = 0; i < n; i++)
            {
                ref Cell cell = ref cells[(int)(pos + i) & _mask];
                cell.Id = ids[i];
                Volatile.Write(ref cell.Sequence, (int)(pos + i + 1));
            }
            return n;
        }
    }

    /// <summary>Single consumer: takes up to dest.Length published ids in order. Returns how many.</summary>
    public int Dequeue(Span<int> dest)
    {
        Cell[] cells = _cells;
        long head = _head.Value;
        int n = 0;
        while (n < dest.Length)
        {
            ref Cell cell = ref cells[(int)head & _mask];
            if (Volatile.Read(ref cell.Sequence) != (int)(head + 1))
            {
                break; // empty, or reserved and not yet published
            }
            dest[n++] = cell.Id;
            Volatile.Write(ref cell.Sequence, (int)(head + cells.Length));
            head++;
        }
        Volatile.Write(ref _head.Value, head);
        return n;
    }

    /// <summary>
    /// Single consumer, after destroy: takes every id reserved before this call, waiting for producers that reserved
    /// a cell but have not published it yet (they are a few instructions from doing so).
    /// </summary>
    public int DequeueAll(Span<int> dest)
    {
        long tail = Volatile.Read(ref _tail.Value);
        Cell[] cells = _cells;
        long head = _head.Value;
        int n = 0;
        SpinWait spin = default;
        while (n < dest.Length && head < tail)
        {
            ref Cell cell = ref cells[(int)head & _mask];
            if (Volatile.Read(ref cell.Sequence) != (int)(head + 1))
            {
                spin.SpinOnce();
                continue;
            }
            dest[n++] = cell.Id;
            Volatile.Write(ref cell.Sequence, (int)(head + cells.Length));
            head++;
        }
        Volatile.Write(ref _head.Value, head);
        return n;
    }

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct PaddedLong
    {
        [FieldOffset(128)]
        public long Value;
    }
}
