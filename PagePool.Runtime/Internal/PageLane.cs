using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// A return lane: a single-producer return ring beside <see cref="PageRing"/>, for the one recycling thread that
/// claims it (in a driver, a worker that gives the RX thread's pages back; a pool has
/// <see cref="PagePoolCore.LaneCount"/> of them). Its producer publishes with plain
/// stores, no locked instruction: on x86 a compare-and-swap waits for every earlier store to reach the cache, and on
/// the cross-thread path those stores (to the page, to the caller's own handoff ring) target lines the owner holds, so
/// the ring's compare-and-swap made each recycle wait out two or three cache-line transfers. The consumer is the
/// ring's: the owner refilling its cache, or the destroyer under the pool's lock.
/// </summary>
/// <remarks>
/// <para>The producer is told by its stack, as the owner context is (<see cref="OwnerContext"/>): a thread recycling
/// across threads that finds a free lane records its stack bounds there, and a recycle whose local lies inside them is
/// that thread's. Live threads' stacks never overlap, so at most one thread passes the check at any time; a later
/// thread that happens to get a finished claimer's stack takes its place, after the thread exit and stack mapping that
/// order the two. A lane stays claimed for the pool's life. Threads that find every lane claimed, and every thread
/// where stack bounds are not known, use the ring.</para>
/// <para>Nothing orders the producer's publish before its check of the destroyed flag, so <see cref="PagePoolCore.BeginDestroy"/>
/// runs a process-wide barrier after setting the flag: a recycle that read the flag as clear either has its cell
/// visible to the destroyer's drain, or reads the flag as set after publishing and drains the lane itself.</para>
/// <para>Positions live on lines of their own, 128 bytes apart (the adjacent-line prefetcher's pair): the producer's
/// tail and its copy of the head, the consumer's head, and the claim, which every recycling thread reads and nobody
/// writes after the claim.</para>
/// </remarks>
internal sealed class PageLane
{
    private readonly int[] _cells;
    private readonly int _mask;
    private Positions _p;

    public PageLane(int capacity)
    {
        _cells = new int[capacity];
        _mask = capacity - 1;
    }

    /// <summary>Ids ever published (monotonic): the lane's share of the recycle counters.</summary>
    public long Enqueued => Volatile.Read(ref _p.Tail);

    /// <summary>Whether a thread claimed the lane (once per lane, for the pool's life).</summary>
    public bool IsClaimed => Volatile.Read(ref _p.Claim) != 0;

    /// <summary>Any thread: true when the caller is the lane's producer (a local of the caller lies on the recorded stack).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit]
    public unsafe bool IsProducer()
    {
        nuint span = Volatile.Read(ref _p.StackSpan); // before the low bound: a span seen set means the bound is too
        Unsafe.SkipInit(out byte marker);
        return (nuint)((nint)Unsafe.AsPointer(ref marker) - _p.StackLow) < span;
    }

    /// <summary>
    /// Any thread, once per lane: claims the lane for the calling thread when nobody has. False when another thread
    /// claimed it first, or when the calling thread's stack bounds are not known (the lane stays free for another).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    public unsafe bool TryClaim()
    {
        Unsafe.SkipInit(out byte marker);
        StackBounds.Get(out nint low, out nuint size);
        if ((nuint)((nint)Unsafe.AsPointer(ref marker) - low) >= size)
        {
            return false; // no bounds, or bounds that do not hold our own stack: this thread cannot be told, leave the lane
        }
        if (Volatile.Read(ref _p.Claim) != 0 || Interlocked.CompareExchange(ref _p.Claim, 1, 0) != 0)
        {
            return false;
        }
        _p.StackLow = low;
        Volatile.Write(ref _p.StackSpan, size);
        return true;
    }

    /// <summary>Producer only: publishes <paramref name="id"/>. False when the lane is full.</summary>
    public bool TryEnqueue(int id)
    {
        long tail = _p.Tail;
        if (tail - _p.CachedHead >= _cells.Length)
        {
            _p.CachedHead = Volatile.Read(ref _p.Head);
            if (tail - _p.CachedHead >= _cells.Length)
            {
                return false;
            }
        }
        _cells[(int)tail & _mask] = id;
        Volatile.Write(ref _p.Tail, tail + 1);
        return true;
    }

    /// <summary>Single consumer: takes up to dest.Length published ids in order. Returns how many.</summary>
    public int Dequeue(Span<int> dest)
    {
        long head = _p.Head;
        int n = (int)Math.Min(Volatile.Read(ref _p.Tail) - head, dest.Length);
        if (n <= 0)
        {
            return 0;
        }
        int[] cells = _cells;
        for (int i = 0; i < n; i++)
        {
            dest[i] = cells[(int)(head + i) & _mask];
        }
        Volatile.Write(ref _p.Head, head + n);
        return n;
    }

    [StructLayout(LayoutKind.Explicit, Size = 512)]
    private struct Positions
    {
        [FieldOffset(128)] public nint StackLow;    // the claim: written once, read by every recycling thread
        [FieldOffset(136)] public nuint StackSpan;  // 0 until claimed with known bounds
        [FieldOffset(144)] public int Claim;
        [FieldOffset(256)] public long Tail;        // producer writes
        [FieldOffset(264)] public long CachedHead;  // producer's copy of Head
        [FieldOffset(384)] public long Head;        // consumer writes
    }
}
