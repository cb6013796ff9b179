using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PagePool.Internal;

/// <summary>One page's bookkeeping as the owner sees it: where it lives, whether it is out, how often it was handed out. 16 bytes, four to a cache line.</summary>
/// <remarks>
/// Written by the owner (and under the pool's lock), never by a recycling thread on its fast path: what a recycle
/// writes is <see cref="PagePoolCore.Recycled"/>, and the owner learns of it from the ring entry, which carries the
/// page's generation. So in the cross-thread steady state neither side takes a line the other writes, except the
/// ring's cells.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct PageSlot
{
    /// <summary>The page's first byte; 0 until the page is carved.</summary>
    public nint Address;
    /// <summary>One of <see cref="PageState"/>'s values, as the owner knows it (a page recycled into the ring stays InUse until the owner takes it back).</summary>
    /// <remarks>
    /// A field of its own, apart from <see cref="Generation"/>: a recycle stores a constant here, so the owner's
    /// alloc/recycle loop carries no dependency from one hand-out's handle to the next one's state (folding both into
    /// one word would make each recycle's store depend on the handle). Both are full ints, with the fragments'
    /// reference counts in <see cref="PagePoolCore.RefCounts"/>: a 16-bit generation would cost the hand-out three more
    /// instructions.
    /// </remarks>
    public int State;
    /// <summary>Hand-outs of this page so far: the generation its current handle carries (compare its low 16 bits).</summary>
    public int Generation;
}

/// <summary>The states of a <see cref="PageSlot"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class PageState
{
    /// <summary>Not in service: never created, or released (its memory is kept for re-creation).</summary>
    public const int Unborn = 0;
    /// <summary>In service and in the pool: the owner's cache or the return ring.</summary>
    public const int Idle = 1;
    /// <summary>Held by a user, or recycled into the ring and not yet taken back by the owner.</summary>
    public const int InUse = 2;
}

/// <summary>
/// The owner's cache cursors and alloc counters, written only by the owner context with plain stores (the kernel's
/// per-NAPI alloc stats).
/// </summary>
/// <remarks>
/// <para>The cache's fill level is <c>CachePushes - CachePops</c>: the fast paths move a cursor instead of a count, so
/// alloc_fast and recycle_cached cost no increment of their own. Slow paths that move a cursor for another reason
/// (refill, stale duplicates, destroy) say so through <see cref="SetCacheCount"/>, and the stats subtract it.</para>
/// <para>Padded to cache lines of their own, 128 bytes each side: the owner writes them on every allocation and
/// recycle, while recycling threads read the engine's other fields (slots, ring, destroyed flag); sharing a line would
/// bounce it between cores, and x86's adjacent-line prefetcher fetches lines in 128-byte pairs (ConcurrentQueue pads
/// its head and tail to 128 bytes for the same reason). Read by other threads only for stats, racily: a snapshot may
/// be a moment old.</para>
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
[StructLayout(LayoutKind.Explicit, Size = 320)]
public struct OwnerCounters
{
    /// <summary>Ids pushed on the owner's cache, ever. The fast recycle path adds one (a recycle_cached).</summary>
    [FieldOffset(128)]
    public long CachePushes;
    /// <summary>Ids popped from the owner's cache, ever. The fast alloc path adds one (an alloc_fast).</summary>
    [FieldOffset(136)]
    public long CachePops;
    /// <summary>See <see cref="PagePoolStats.AllocSlow"/>.</summary>
    [FieldOffset(144)]
    public long AllocSlow;
    /// <summary>See <see cref="PagePoolStats.AllocEmpty"/>.</summary>
    [FieldOffset(152)]
    public long AllocEmpty;
    /// <summary>See <see cref="PagePoolStats.AllocRefill"/>.</summary>
    [FieldOffset(160)]
    public long AllocRefill;
    /// <summary>See <see cref="PagePoolStats.RecycleCacheFull"/>.</summary>
    [FieldOffset(168)]
    public long RecycleCacheFull;
    [FieldOffset(176)]
    private long _pushesNotCached;   // cursor moves that were not recycle_cached (refills)
    [FieldOffset(184)]
    private long _popsNotFast;       // cursor moves that were not alloc_fast (refill hand-outs, stale duplicates, destroy)
    /// <summary>Owner, refills: the return lane a refill starts from, so that each gets its turn first.</summary>
    [FieldOffset(192)]
    public int LaneCursor;

    /// <summary>Ids in the owner's cache; -1 once the pool is destroyed (so both fast paths fall into their slow paths).</summary>
    public readonly int CacheCount
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(CachePushes - CachePops);
    }

    /// <summary>See <see cref="PagePoolStats.AllocFast"/>.</summary>
    public readonly long AllocFast => CachePops - _popsNotFast;

    /// <summary>See <see cref="PagePoolStats.RecycleCached"/>.</summary>
    public readonly long RecycleCached => CachePushes - _pushesNotCached;

    /// <summary>Owner, slow paths: sets the cache's fill level; the change counts as neither alloc_fast nor recycle_cached.</summary>
    public void SetCacheCount(int count)
    {
        long delta = count - CacheCount;
        if (delta >= 0)
        {
            CachePushes += delta;
            _pushesNotCached += delta;
        }
        else
        {
            CachePops -= delta;
            _popsNotFast -= delta;
        }
    }

    /// <summary>Owner, slow paths: counts the latest cache pop made through <see cref="SetCacheCount"/> as an alloc_fast after all.</summary>
    public void CountAllocFast() => _popsNotFast--;
}

/// <summary>
/// The engine behind every pool, generated or <see cref="RuntimePagePool"/>: page slots, page memory, the
/// cross-thread return ring, release and destroy, counters, leak tracking and poisoning. The owner's cache lives
/// in the pool itself (an inline buffer in generated pools), so the fast path never leaves the pool's own code.
/// </summary>
/// <remarks>
/// For generated code and the runtime; not for direct use. Members say which context may call them: "owner"
/// members are not thread-safe (one caller at a time, like a NAPI poll loop); the others are.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed partial class PagePoolCore
{
    private const byte PoisonByte = 0xA5;

    /// <summary>The bits of a generation a <see cref="Page"/> carries.</summary>
    public const int GenerationMask = Page.GenerationMask;

    // Ring entries: page id | generation << _tokenIdBits, the id in as few bits as PoolSize needs so that the
    // generation keeps as many as the Page carries (16 up to 65,536 pages, 12 at the largest PoolSize).
    private readonly int _tokenIdBits;
    private readonly int _tokenIdMask;
    private readonly int _tokenGenerationMask;

    /// <summary>One slot per page id (0..PoolSize-1).</summary>
    public readonly PageSlot[] Slots;

    /// <summary>
    /// Fragments only: references out on each page (biased while the owner carves it). Apart from <see cref="Slots"/>,
    /// so that fragments recycled on other threads do not write the owner's slot lines.
    /// </summary>
    public readonly int[] RefCounts;

    /// <summary>
    /// Per page id, the generation (masked) of the last handle recycled, -1 when the page is not in service; a handle is
    /// out while this is its generation minus one. Written by every recycle (the owner's direct ones too) and when a
    /// page is created or released, read by recycles: in the cross-thread steady state only the recycling threads touch
    /// it, and the owner's alloc path never reads it.
    /// </summary>
    /// <remarks>
    /// A recycle checks it and writes the handle's generation: a second recycle of the same handle, or of a copy of an
    /// earlier hand-out of the page, is refused at the call without reading the owner's lines.
    /// </remarks>
    public readonly int[] Recycled;

    /// <summary>The address of <see cref="Slots"/>' first element (the array is pinned): for the generated fast paths.</summary>
    public unsafe nint SlotsAddress => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Slots));

    /// <summary>The address of <see cref="Recycled"/>' first element (the array is pinned): for the generated fast paths.</summary>
    public unsafe nint RecycledAddress => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Recycled));

    /// <summary>
    /// Generated pools' slow paths: sets <paramref name="slots"/> and <paramref name="recycled"/> to
    /// <see cref="SlotsAddress"/> and <see cref="RecycledAddress"/> the first time (while they are 0), and writes
    /// nothing afterwards: the fields share lines with ones recycling threads read.
    /// </summary>
    public void CopyAddresses(ref nint slots, ref nint recycled)
    {
        if (slots == 0)
        {
            slots = SlotsAddress;
            recycled = RecycledAddress;
        }
    }

    /// <summary>This pool's id in the registry: what <see cref="Page.PoolId"/> of its pages holds.</summary>
    public readonly int PoolId;

    /// <summary>Owner-context counters, bumped directly by the pool's fast path.</summary>
    public OwnerCounters Owner;

    private readonly ulong _poolBits;     // Page.PoolBits(PoolId), or-ed into every handle
    private readonly PageArena _arena;
    private readonly PageRing _ring;
    private readonly PageLane[] _lanes;    // LaneCount lanes, each claimed by one recycling thread: no locked instruction
    private readonly LeakTracker? _leaks;
    private readonly object _lock = new();
    private readonly int[] _freeList;     // released slots, memory kept, waiting to be created again
    private readonly int _refillBatch;     // ids moved from the ring into the owner's cache at once
    private readonly int _clearOffset;
    private readonly int _clearLength;
    private readonly bool _poison;
    private readonly bool _hooks;          // leak tracking, poisoning or ClearOnRecycle: per-page work on recycle and allocation
    private int _freeCount;
    private long _pagesCreated;
    private long _recycleRingFull;
    private long _recycleReleased;
    private long _recycledAfterDestroy;
    private long _staleDropped;
    private long _allocFailed;             // creations that failed: no memory, or OnPageCreated threw
    private long _releaseFailed;           // releases whose OnPageReleased threw (the page was released all the same)
    private int _ownerThread;              // EnterOwner/ExitOwner (Debug builds of generated pools)
    private int _ownerDepth;
    private volatile bool _destroyed;
    private bool _destroyCompleted;
    private bool _unregistered;

    /// <summary>Creates the engine of a pool; validates the arguments with the same rules as the analyzer.</summary>
    /// <exception cref="ArgumentException">An argument is out of range.</exception>
    public PagePoolCore(string name, int pageSize, int poolSize, PageMemoryKind memory, int headroom, int maxLength,
        bool clearOnRecycle, PageLeakTracking leakTracking, bool poison, int ringSize = 0,
        int cacheSize = PagePoolDefaults.CacheSize, int refillBatch = PagePoolDefaults.RefillBatch)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        string? error = PagePoolValidation.Validate(pageSize, poolSize, cacheSize, refillBatch, headroom, maxLength, ringSize);
        if (error is not null)
        {
            throw new ArgumentException($"Page pool '{name}': {error}");
        }
        Name = name;
        PageSize = pageSize;
        PoolSize = poolSize;
        _refillBatch = refillBatch;
        // Pinned, so that generated pools index them by address (SlotsAddress, RecycledAddress) with no null check.
        Slots = GC.AllocateArray<PageSlot>(poolSize, pinned: true);
        _tokenIdBits = poolSize > 1 ? System.Numerics.BitOperations.Log2((uint)(poolSize - 1)) + 1 : 1;
        _tokenIdMask = (1 << _tokenIdBits) - 1;
        _tokenGenerationMask = (1 << Math.Min(16, 32 - _tokenIdBits)) - 1;
        RefCounts = new int[poolSize];
        Recycled = GC.AllocateArray<int>(poolSize, pinned: true);
        Recycled.AsSpan().Fill(-1);
        _freeList = new int[poolSize];
        _arena = new PageArena(pageSize, poolSize, memory);
        int ring = ringSize != 0 ? ringSize : (int)Math.Min(8192u, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(poolSize, 2)));
        _ring = new PageRing(ring);
        _lanes = new PageLane[LaneCount];
        for (int i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = new PageLane(Math.Min(ring, MaxLaneSize));
        }
        _leaks = leakTracking == PageLeakTracking.Off ? null : new LeakTracker(poolSize, leakTracking);
        if (clearOnRecycle)
        {
            _clearOffset = headroom;
            _clearLength = Shared.PagePoolRules.EffectiveMaxLength(pageSize, headroom, maxLength);
        }
        _poison = poison;
        _hooks = _leaks is not null || _poison || _clearLength != 0;
        PoolId = PagePoolRegistry.Register(this);
        _poolBits = Page.PoolBits(PoolId);
        PagePoolMetrics.Register(this);
    }

    /// <summary>The page memory, for tests that make its allocation fail.</summary>
    internal PageArena Arena => _arena;

    /// <summary>The pool's name: in exceptions, stats and the <c>pagepool.name</c> metric tag.</summary>
    public string Name { get; }

    /// <summary>Bytes per page.</summary>
    public int PageSize { get; }

    /// <summary>The most pages that can exist at once.</summary>
    public int PoolSize { get; }

    /// <summary>Whether <see cref="BeginDestroy"/> ran. Thread-safe.</summary>
    public bool IsDestroyed => _destroyed;

    /// <summary>Whether recycles must call <see cref="OnRecycled"/> and allocations <see cref="OnAllocated"/>.</summary>
    public bool HasPageHooks => _hooks;

    /// <summary>The memory kind in use (Native when huge pages fell back).</summary>
    public PageMemoryKind MemoryKind => _arena.Kind;

    /// <summary>Why the requested memory kind was not used, or null.</summary>
    public string? MemoryFallbackReason => _arena.FallbackReason;

    /// <summary>The report written when the pool was destroyed with pages still out, or null.</summary>
    public string? DestroyReport { get; private set; }

    /// <summary>Entries in the return ring.</summary>
    public int RingCapacity => _ring.Capacity;

    /// <summary>
    /// Return lanes per pool: the first this many threads to recycle on another thread get one each (a driver's
    /// workers); later ones share the ring. Each lane costs a recycling thread a stack-bounds compare to pass over.
    /// </summary>
    public const int LaneCount = 4;

    /// <summary>The most entries in one lane: a lane that fills up sends its thread to the ring.</summary>
    private const int MaxLaneSize = 4096;

    /// <summary>Recycles published through the lanes so far (the lanes' share of the recycle counters).</summary>
    internal long LanesEnqueued
    {
        get
        {
            long sum = 0;
            foreach (PageLane lane in _lanes)
            {
                sum += lane.Enqueued;
            }
            return sum;
        }
    }

    /// <summary>Builds a handle to a page (or fragment) of this pool.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Page CreateHandle(int id, nint address, int length) => Page.Create(_poolBits, address, id, length, Slots[id].Generation);

    /// <summary>Builds a handle to a page (or fragment) of <paramref name="core"/>: static, so the fast path pays no null check.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Page CreateHandle(PagePoolCore core, int id, nint address, int length, int generation) =>
        Page.Create(core._poolBits, address, id, length, generation);

    /// <summary>
    /// What <see cref="Recycled"/> holds for a page while its hand-out <paramref name="generation"/> is out: the
    /// generation before it, masked as a <see cref="Page"/> carries it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OutRecord(int generation) => (generation - 1) & GenerationMask;

    /// <summary>Whether <paramref name="page"/> is the current, not yet recycled hand-out of its page (the page is this pool's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsOut(Page page) => Volatile.Read(ref Recycled[page.Id]) == OutRecord(page.Generation);

    /// <summary>The ring entry for page <paramref name="id"/> recycled at <paramref name="generation"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Token(int id, int generation) => id | ((generation & _tokenGenerationMask) << _tokenIdBits);

    /// <summary>The page id of a ring entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int TokenId(int token) => token & _tokenIdMask;

    /// <summary>
    /// Owner or under the lock: whether the ring entry <paramref name="token"/> is a recycle of its page's current
    /// hand-out that the owner has not taken back yet. A stale duplicate (two racing recycles, or a copy of an
    /// earlier hand-out) fails it: the page is back already, or out again under a newer generation.
    /// </summary>
    private bool IsCurrentRecycle(int token, out int id)
    {
        id = token & _tokenIdMask;
        ref PageSlot slot = ref Slots[id];
        return slot.State == PageState.InUse && ((slot.Generation ^ (token >>> _tokenIdBits)) & _tokenGenerationMask) == 0;
    }

    // ---------------------------------------------------------------- owner context: allocation slow paths

    /// <summary>
    /// Owner: refills the cache from the return lane and ring (the kernel's page_pool_refill_alloc_cache). Only pages
    /// still idle are taken; a stale duplicate left by a racing double recycle is dropped. Returns how many ids it wrote.
    /// </summary>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    public int Refill(Span<int> cache)
    {
        if (_destroyed)
        {
            ThrowDestroyed();
        }
        int kept = 0;
        PageSlot[] slots = Slots;
        // A batch of nothing but stale duplicates (racing double recycles) keeps nothing: take the next one, so that a
        // refill never reports an empty pool while pages wait in the lane or the ring.
        while (kept == 0)
        {
            // Starting from a different lane each refill, so that none waits behind the others.
            int taken = DequeueLanes(cache, Owner.LaneCursor++);
            if (taken < cache.Length)
            {
                taken += _ring.Dequeue(cache.Slice(taken));
            }
            if (taken == 0)
            {
                break;
            }
            for (int i = 0; i < taken; i++)
            {
                if (IsCurrentRecycle(cache[i], out int id))
                {
                    slots[id].State = PageState.Idle; // the owner takes it back: idle in its cache
                    cache[kept++] = id;
                }
                else
                {
                    DropStale(id);
                }
            }
        }
        return kept;
    }

    /// <summary>
    /// The consumer (the owner, or the destroyer under the lock): takes published ids from the lanes into
    /// <paramref name="dest"/>, lane <paramref name="first"/> (modulo <see cref="LaneCount"/>) first, until it is full.
    /// Returns how many.
    /// </summary>
    private int DequeueLanes(Span<int> dest, int first)
    {
        PageLane[] lanes = _lanes;
        int taken = 0;
        for (int i = 0; i < lanes.Length && taken < dest.Length; i++)
        {
            taken += lanes[(first + i) & (LaneCount - 1)].Dequeue(dest.Slice(taken));
        }
        return taken;
    }

    /// <summary>
    /// Owner, slow paths: pops <paramref name="cache"/> (its first <see cref="OwnerCounters.CacheCount"/> entries) down
    /// to the first idle page and returns its id, still idle: the caller hands it out. A stale duplicate on the way (a
    /// page taken again since its id was queued) is dropped and counted. The pops count as neither alloc_fast nor
    /// refill; the caller says which. -1 when the cache holds no idle page.
    /// </summary>
    public int PopIdle(Span<int> cache)
    {
        for (int n = Owner.CacheCount; n > 0;)
        {
            int id = cache[--n];
            Owner.SetCacheCount(n);
            if (Slots[id].State == PageState.Idle)
            {
                return id;
            }
            DropStale(id);
        }
        return -1;
    }

    /// <summary>
    /// Any thread: a stale duplicate of <paramref name="id"/> (left by a racing double recycle) was dropped. Counted
    /// atomically: the owner drops them in Refill while releases drop them under the lock on other threads.
    /// </summary>
    public void DropStale(int id) => Interlocked.Increment(ref _staleDropped);

    /// <summary>
    /// Owner: the slow path proper. Brings a page into service, reusing a released slot or carving new memory;
    /// the slot comes back <see cref="PageState.InUse"/> (the caller runs its OnPageCreated hook). False when
    /// PoolSize pages exist: the pool is exhausted.
    /// </summary>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    public bool TryCreatePage(out int id)
    {
        lock (_lock)
        {
            if (_destroyed)
            {
                ThrowDestroyed();
            }
            nint address;
            if (_freeCount > 0)
            {
                id = _freeList[--_freeCount];
                _arena.Revive(id);
                address = Slots[id].Address;
            }
            else
            {
                address = _arena.CarveNext(out id);
                if (address == 0)
                {
                    id = -1;
                    return false;
                }
            }
            ref PageSlot slot = ref Slots[id];
            slot.Address = address;
            RefCounts[id] = 0;
            int generation = ++slot.Generation;
            Volatile.Write(ref Recycled[id], OutRecord(generation));
            Volatile.Write(ref slot.State, PageState.InUse);
            _pagesCreated++;
            if (_poison)
            {
                FillPoison(address);
            }
            return true;
        }
    }

    /// <summary>
    /// Owner, after <see cref="TryCreatePage"/>, when the page's OnPageCreated hook threw: the page leaves service again
    /// as if it had never entered it (not lent, not counted), its slot and memory kept for the next creation.
    /// </summary>
    private void AbandonCreatedPage(int id)
    {
        lock (_lock)
        {
            ref PageSlot slot = ref Slots[id];
            Volatile.Write(ref slot.State, PageState.Unborn);
            Volatile.Write(ref Recycled[id], -1); // a handle the hook kept is refused as a recycle
            _freeList[_freeCount++] = id;
            _arena.Retire(id);
            _pagesCreated--;
            _allocFailed++;
        }
    }

    /// <summary>Owner: leak tracking and the poison check for a page just handed out.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void OnAllocated(int id)
    {
        _leaks?.Track(id);
        if (_poison)
        {
            CheckPoison(id);
            if (_clearLength != 0)
            {
                ClearRange(Slots[id].Address);
            }
        }
    }

    /// <summary>Any thread: ClearOnRecycle, poisoning and leak untracking for a page that just went idle.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void OnRecycled(int id)
    {
        _leaks?.Untrack(id);
        nint address = Slots[id].Address;
        if (_poison)
        {
            FillPoison(address);
        }
        else if (_clearLength != 0)
        {
            ClearRange(address);
        }
    }

    /// <summary>Debug builds of generated pools: marks the calling thread as in the owner context.</summary>
    /// <exception cref="PagePoolException">Another thread is in the owner context at the same time.</exception>
    public void EnterOwner()
    {
        int me = Environment.CurrentManagedThreadId;
        if (Volatile.Read(ref _ownerThread) == me)
        {
            _ownerDepth++;
            return;
        }
        int other = Interlocked.CompareExchange(ref _ownerThread, me, 0);
        if (other != 0)
        {
            throw new PagePoolException(
                $"Page pool '{Name}': thread {me} allocated or recycled directly while thread {other} was doing so. " +
                "AllocPage, TryAllocPage, AllocPages, AllocFragment and RecyclePageDirect are owner-context only (one caller at a time); " +
                "use RecyclePage from other threads.", Name, -1);
        }
        _ownerDepth = 1;
    }

    /// <summary>Debug builds of generated pools: leaves the owner context.</summary>
    public void ExitOwner()
    {
        if (Volatile.Read(ref _ownerThread) == Environment.CurrentManagedThreadId && --_ownerDepth == 0)
        {
            Volatile.Write(ref _ownerThread, 0);
        }
    }

    // ---------------------------------------------------------------- any thread: recycling

    /// <summary>
    /// Any thread: the page is this pool's and the handle is its current hand-out, not yet recycled; the recycle is
    /// recorded (the caller then pushes the page on the owner's cache, queues <see cref="Token"/>(id, generation), or
    /// releases the page). False means misuse, with nothing changed.
    /// </summary>
    /// <remarks>
    /// A plain read and a plain store of <see cref="Recycled"/>, not a compare-and-swap. A double recycle is reported
    /// whenever the second call sees the first one's store; two calls racing within the same nanoseconds may both
    /// succeed, and then the owner takes only the first ring entry back (the second finds the page idle, or out again
    /// under a newer generation) and counts the other: a page is never handed to two holders.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRecordRecycle(Page page)
    {
        if (!IsInUse(page))
        {
            return false;
        }
        Volatile.Write(ref Recycled[page.Id], page.Generation);
        return true;
    }

    /// <summary>Any thread: the page is this pool's and the handle is its current, not yet recycled hand-out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsInUse(Page page) => page.PoolId == PoolId && IsOut(page);

    /// <summary>
    /// Any thread, a whole page: the shared recycle in one step (the kernel's page_pool_put_page into the ptr_ring).
    /// Checks that the page is this pool's and in use, runs the recycle hooks (ClearOnRecycle, poisoning, leak
    /// tracking), records the recycle and publishes it in the return ring. Returns 1 when it is in the ring; 0 when the
    /// ring is full or the pool destroyed, and the page is idle for the caller to release (its OnPageReleased hook,
    /// then <see cref="ReleasePage"/>); -1 on misuse, with nothing changed (the caller calls <see cref="ThrowBadRecycle"/>).
    /// </summary>
    /// <remarks>
    /// Neither the check nor the record touches a line the owner writes: <see cref="Recycled"/> is written by
    /// recycles, and the owner learns of this one from the ring entry, which carries the handle's generation. The
    /// record is written after the ring cell is reserved and before it is published, so the owner never takes back a
    /// page whose recycle is not recorded yet.
    /// </remarks>
    public int TryRecycleShared(Page page)
    {
        if (!IsInUse(page))
        {
            return -1;
        }
        int id = page.Id;
        if (_hooks)
        {
            OnRecycled(id); // before the reservation: a reserved cell must be published, whatever a hook does
        }
        bool reserved;
        long position = 0;
        if (_destroyed)
        {
            Interlocked.Increment(ref _recycledAfterDestroy);
            reserved = false;
        }
        else if (TryRecycleToLane(id, page.Generation))
        {
            return 1;
        }
        else if (!(reserved = _ring.TryReserve(out position)))
        {
            Interlocked.Increment(ref _recycleRingFull);
        }
        Volatile.Write(ref Recycled[id], page.Generation);
        if (!reserved)
        {
            return 0;
        }
        _ring.Publish(position, Token(id, page.Generation));
        return 1;
    }

    /// <summary>
    /// Any thread: when the caller produces into a lane, or claims a free one now, records the recycle and publishes it
    /// there. False when every lane is another thread's, or the caller's lane is full: the caller uses the ring.
    /// </summary>
    private bool TryRecycleToLane(int id, int generation)
    {
        PageLane[] lanes = _lanes;
        for (int i = 0; i < lanes.Length; i++)
        {
            PageLane lane = lanes[i];
            if (lane.IsProducer() || (!lane.IsClaimed && lane.TryClaim()))
            {
                Volatile.Write(ref Recycled[id], generation);
                return lane.TryEnqueue(Token(id, generation));
            }
        }
        return false;
    }

    /// <summary>
    /// Any thread: publishes an idle page into the return ring (the kernel's ptr_ring). False when the ring is full
    /// or the pool is destroyed: the caller then releases the page (its OnPageReleased hook, then <see cref="ReleasePage"/>).
    /// </summary>
    public bool TryRecycleToRing(int id)
    {
        if (_destroyed)
        {
            Interlocked.Increment(ref _recycledAfterDestroy);
            return false;
        }
        if (_ring.TryEnqueue(Token(id, Volatile.Read(ref Recycled[id]))))
        {
            return true;
        }
        Interlocked.Increment(ref _recycleRingFull);
        return false;
    }

    /// <summary>
    /// Any thread: publishes recycled pages, as <see cref="Token"/>s, with one ring reservation. Returns how many (a
    /// prefix); the caller releases the rest (<see cref="TokenId"/> gives their ids).
    /// </summary>
    public int TryRecycleToRing(ReadOnlySpan<int> tokens)
    {
        if (_destroyed)
        {
            Interlocked.Add(ref _recycledAfterDestroy, tokens.Length);
            return 0;
        }
        int n = _ring.TryEnqueueBatch(tokens);
        if (n < tokens.Length)
        {
            Interlocked.Add(ref _recycleRingFull, tokens.Length - n);
        }
        return n;
    }

    /// <summary>
    /// Any thread: the page leaves service for good (the kernel's page_pool_return_page), after the caller ran its
    /// OnPageReleased hook. Its slot can be created again; after destroy its memory is freed with its chunk.
    /// </summary>
    public void ReleasePage(int id)
    {
        lock (_lock)
        {
            ref PageSlot slot = ref Slots[id];
            bool recycled = slot.State == PageState.Idle
                || (slot.State == PageState.InUse && Volatile.Read(ref Recycled[id]) == (slot.Generation & GenerationMask));
            if (!recycled)
            {
                DropStale(id); // a stale duplicate of a page already released, or out again
                return;
            }
            slot.State = PageState.Unborn;
            Volatile.Write(ref Recycled[id], -1);
            _freeList[_freeCount++] = id;
            _recycleReleased++;
            if (_arena.Retire(id) && _destroyed)
            {
                _arena.FreeIdleChunks();
            }
            UnregisterIfDrained();
        }
    }

    /// <summary>Throws the <see cref="PagePoolException"/> that explains why <paramref name="page"/> cannot be recycled.</summary>
    /// <remarks>Every path throws and the method has no return: the JIT sees that, treats calls to it as cold and keeps no
    /// value alive across them, so the fast paths that call it spill nothing.</remarks>
    [DoesNotReturn]
    public void ThrowBadRecycle(Page page)
    {
        if (page.IsDefault)
        {
            throw new PagePoolException(
                $"Page pool '{Name}' was given default(Page) to recycle: it belongs to no pool. Recycle only pages this pool handed out.", Name, -1);
        }
        if (page.PoolId != PoolId)
        {
            string owner = page.Core is { } other ? $"page pool '{other.Name}'" : "a page pool that was destroyed (every page of it came back)";
            throw new PagePoolException(
                $"Page {page.Id} belongs to {owner}, not to '{Name}': recycle it into the pool it came from.", Name, page.Id);
        }
        int recycled = Volatile.Read(ref Recycled[page.Id]);
        string why =
            (Volatile.Read(ref Slots[page.Id].Generation) & GenerationMask) != page.Generation
                ? "this handle is from an earlier hand-out of the page, which was recycled and handed out again since: a copy was kept and recycled twice"
            : recycled == page.Generation ? "it is already back in the pool: it was recycled twice"
            : recycled < 0 ? "it was already released from service: it was recycled twice, or after the pool was destroyed"
            : "every fragment of it was already recycled: a fragment was recycled twice";
        throw new PagePoolException($"Page {page.Id} of page pool '{Name}' cannot be recycled: {why}. Nothing was changed.", Name, page.Id);
    }

    // ---------------------------------------------------------------- destroy (the kernel's page_pool_destroy)

    /// <summary>Owner: starts a deferred destroy. True the first time only. Afterwards allocation throws and recycled pages are released.</summary>
    public bool BeginDestroy()
    {
        lock (_lock)
        {
            if (_destroyed)
            {
                return false;
            }
            _destroyed = true;
        }
        // Every other thread passes a full barrier before this returns: a lane publish that raced with the flag is
        // either visible to the drains that follow, or its producer sees the flag and drains the lane itself (PageLane).
        Interlocked.MemoryBarrierProcessWide();
        return true;
    }

    /// <summary>After <see cref="BeginDestroy"/>, any thread: takes ids left in the ring for the caller to release. Call until it returns 0.</summary>
    public int DrainRing(Span<int> ids)
    {
        if (!_destroyed)
        {
            throw new InvalidOperationException("DrainRing is for destroyed pools; the owner drains a live ring with Refill.");
        }
        lock (_lock)
        {
            int n = DequeueLanes(ids, first: 0);
            n += _ring.DequeueAll(ids.Slice(n));
            for (int i = 0; i < n; i++)
            {
                ids[i] = TokenId(ids[i]); // ReleasePage tells a current recycle from a stale duplicate
            }
            return n;
        }
    }

    /// <summary>Owner, after the cache and ring were released: frees idle memory and reports pages still out.</summary>
    public void CompleteDestroy()
    {
        string? report = null;
        lock (_lock)
        {
            if (_destroyCompleted)
            {
                return;
            }
            _destroyCompleted = true;
            _arena.FreeIdleChunks();
            long inUse = PagesInUse;
            UnregisterIfDrained();
            if (inUse > 0)
            {
                var text = new System.Text.StringBuilder();
                text.Append("Page pool '").Append(Name).Append("' destroyed with ").Append(inUse)
                    .Append(" page(s) still in use; their memory is freed as they are recycled.");
                if (_leaks is null)
                {
                    text.Append(" Turn on LeakTracking to see where they were allocated.");
                }
                else
                {
                    foreach (PageLeak leak in GetLeaks(TimeSpan.Zero))
                    {
                        text.AppendLine().Append(leak.ToString());
                    }
                }
                report = DestroyReport = text.ToString();
            }
        }
        if (report is not null)
        {
            Trace.TraceWarning(report);
        }
    }

    /// <summary>
    /// Under the lock: once the destroy completed and no page is out, the pool leaves the registry, so nothing keeps
    /// it alive but its owner and <see cref="Page.Core"/> of a stale copy resolves to nothing.
    /// </summary>
    private void UnregisterIfDrained()
    {
        if (_destroyCompleted && !_unregistered && PagesInUse == 0)
        {
            _unregistered = true;
            PagePoolRegistry.Unregister(this);
        }
    }

    // ---------------------------------------------------------------- stats and diagnostics

    /// <summary>Pages held outside the pool (the kernel's inflight: hold - release). Thread-safe snapshot.</summary>
    public long PagesInUse
    {
        get
        {
            long holds = Owner.AllocFast + Owner.AllocSlow + Owner.AllocRefill;
            long returns = Owner.RecycleCached + _ring.Enqueued + LanesEnqueued + Volatile.Read(ref _recycleRingFull) + Volatile.Read(ref _recycledAfterDestroy);
            return holds - returns + Volatile.Read(ref _staleDropped);
        }
    }

    /// <summary>A snapshot of every counter. Thread-safe; counters written by other threads may be a moment old.</summary>
    public PagePoolStats GetStats() => new(
        AllocFast: Owner.AllocFast,
        AllocSlow: Owner.AllocSlow,
        AllocEmpty: Owner.AllocEmpty,
        AllocRefill: Owner.AllocRefill,
        RecycleCached: Owner.RecycleCached,
        RecycleCacheFull: Owner.RecycleCacheFull,
        RecycleRing: _ring.Enqueued + LanesEnqueued,
        RecycleRingFull: Volatile.Read(ref _recycleRingFull),
        RecycleReleased: Volatile.Read(ref _recycleReleased),
        PagesInUse: PagesInUse,
        PagesCreated: Volatile.Read(ref _pagesCreated),
        BytesReserved: _arena.BytesReserved,
        MemoryKind: _arena.Kind,
        AllocFailed: Interlocked.Read(ref _allocFailed),
        ReleaseFailed: Interlocked.Read(ref _releaseFailed));

    /// <summary>
    /// Tracked pages (LeakTracking Sampled or All) out for at least <paramref name="minAge"/>, oldest first, with
    /// their allocation stack traces. Empty when tracking is off. Thread-safe.
    /// </summary>
    public IReadOnlyList<PageLeak> GetLeaks(TimeSpan minAge) =>
        _leaks is null ? Array.Empty<PageLeak>() : _leaks.Collect(Name, minAge, id =>
            Volatile.Read(ref Slots[id].State) == PageState.InUse && Volatile.Read(ref Recycled[id]) == OutRecord(Slots[id].Generation));

    /// <summary>The page's bytes as <see cref="Memory{T}"/>, allocating nothing after the page's first call.</summary>
    public Memory<byte> GetMemory(int id, nint address, int length) => _arena.GetMemory(id, address, length);

    // ---------------------------------------------------------------- helpers

    private unsafe void FillPoison(nint address) => new Span<byte>((void*)address, PageSize).Fill(PoisonByte);

    private unsafe void ClearRange(nint address) => new Span<byte>((void*)(address + _clearOffset), _clearLength).Clear();

    private unsafe void CheckPoison(int id)
    {
        var span = new ReadOnlySpan<byte>((void*)Slots[id].Address, PageSize);
        int at = span.IndexOfAnyExcept(PoisonByte);
        if (at >= 0)
        {
            // The report is about an earlier writer, not this caller: put the page back, re-poisoned, through the
            // ring (a return, so PagesInUse stays exact) and throw. Nothing is lost.
            byte found = span[at];
            FillPoison(Slots[id].Address);
            Volatile.Write(ref Recycled[id], Slots[id].Generation & GenerationMask); // recycled, still InUse to the owner until it takes it back
            if (!_ring.TryEnqueue(Token(id, Slots[id].Generation)))
            {
                Interlocked.Increment(ref _recycleRingFull);
                ReleasePage(id);
            }
            throw new PagePoolException(
                $"Page {id} of page pool '{Name}' was written after it was recycled (byte {at} is 0x{found:X2}, expected 0x{PoisonByte:X2}). " +
                "Some code kept using the page after RecyclePage; the page is back in the pool.", Name, id);
        }
    }

    [DoesNotReturn]
    private void ThrowDestroyed() =>
        throw new PagePoolException($"Page pool '{Name}' was destroyed: it hands out no more pages. Create a new pool.", Name, -1);
}
