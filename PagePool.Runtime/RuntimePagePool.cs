using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using PagePool.Internal;

namespace PagePool;

/// <summary>
/// A page pool whose sizes are chosen at run time (for page sizes read from configuration): the same contract as a
/// <c>[PagePool]</c> class, with the sizes in fields instead of constants. Generated pools are faster; the
/// benchmarks show by how much.
/// </summary>
/// <remarks>
/// <para>Thread-safety: allocation (<see cref="AllocPage"/>, <see cref="TryAllocPage"/>, <see cref="AllocPages"/>,
/// <see cref="AllocFragment"/>), <see cref="RecyclePageDirect"/> and <see cref="DestroyPagePool"/> are owner-context
/// only: one caller at a time, like a NAPI poll loop. <see cref="RecyclePage"/> and <see cref="RecyclePages"/> are
/// thread-safe and run concurrently with the owner. Stats and properties are thread-safe snapshots.</para>
/// <para>The layout follows the kernel's page_pool: an owner cache (array stack, no atomics), refilled in batches from
/// a lock-free return ring that other threads recycle into, and a slow path that creates pages up to PoolSize.</para>
/// <para>Lifetime: the pool and its memory live until <see cref="DestroyPagePool"/> and the return of its last page,
/// as the kernel's page_pool does. A pool that becomes unreachable without it is destroyed by a finalizer: idle
/// memory is freed, and the memory of pages still out stays valid (nobody can recycle them any more).</para>
/// </remarks>
public sealed class RuntimePagePool
{
    private const int FragmentBias = 1 << 30;

    private readonly PagePoolCore _core;
    private readonly PageSlot[] _slots;     // _core.Slots, one load closer to the fast path
    private readonly int[] _recycled;       // _core.Recycled, likewise
    private readonly int[] _cache;
    private readonly int _refillBatch;
    private readonly int _pageSize;
    private readonly int _poolId;     // _core.PoolId, beside the other fast-path fields
    private readonly ulong _poolBits; // the pool's bits of every Page handle
    private readonly bool _hooks;           // leak tracking, poisoning or ClearOnRecycle: per-page work on both paths
    private readonly bool _fragments;
    private readonly bool _plainRecycle;    // neither hooks nor fragments: the direct recycle is a push
    private readonly Action<Page>? _onCreated;
    private readonly Action<Page>? _onReleased;
    private readonly PoolFinalizer _finalizer;  // destroys the pool if it is dropped without DestroyPagePool()
    private OwnerContext _owner;            // who the owner is: AllocPage checks it, RecyclePage asks it
    private int _fragId = -1;               // fragments: the page being carved, its next offset and fragments handed out
    private int _fragOffset;
    private int _fragCount;
    private PageMemoryPool? _memoryPool;

    /// <summary>Creates a pool. Memory is carved lazily, as pages are first needed.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">A setting is out of range (the message names it).</exception>
    public RuntimePagePool(PagePoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _core = new PagePoolCore(options.Name, options.PageSize, options.PoolSize, options.Memory, options.Headroom,
            options.MaxLength, options.ClearOnRecycle, options.LeakTracking, options.Poison, options.RingSize);
        _cache = new int[options.CacheSize];
        _refillBatch = options.RefillBatch;
        _pageSize = options.PageSize;
        _poolId = _core.PoolId;
        _poolBits = Page.PoolBits(_poolId);
        _slots = _core.Slots;
        _recycled = _core.Recycled;
        _hooks = _core.HasPageHooks;
        _fragments = options.Fragments;
        _plainRecycle = !_hooks && !_fragments;
        _onCreated = options.OnPageCreated;
        _onReleased = options.OnPageReleased;
        Headroom = options.Headroom;
        MaxLength = Shared.PagePoolRules.EffectiveMaxLength(options.PageSize, options.Headroom, options.MaxLength);
        _finalizer = new PoolFinalizer(_core, DestroyPagePool);
    }

    /// <summary>Bytes per page.</summary>
    public int PageSize => _pageSize;

    /// <summary>The most pages that can exist at once.</summary>
    public int PoolSize => _core.PoolSize;

    /// <summary>Bytes reserved at the start of each page.</summary>
    public int Headroom { get; }

    /// <summary>The most bytes a device writes after the headroom.</summary>
    public int MaxLength { get; }

    /// <summary>The pool's name.</summary>
    public string Name => _core.Name;

    /// <summary>Pages held outside the pool right now (the kernel's inflight count). Thread-safe.</summary>
    public int PagesInUse => (int)_core.PagesInUse;

    // ==================================================================== fast path (owner context)

    /// <summary>Owner context: takes a page.</summary>
    /// <exception cref="PagePoolExhaustedException">All PoolSize pages are in use.</exception>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Page AllocPage()
    {
        ref OwnerCounters counters = ref _core.Owner;
        long pops = counters.CachePops;
        int n = (int)(counters.CachePushes - pops) - 1;
        int[] cache = _cache;
        if ((uint)n < (uint)cache.Length && _owner.IsOwnerStack())
        {
            int id = cache[n];
            ref PageSlot slot = ref SlotOf(id);
            if (slot.State == PageState.Idle && !_hooks)
            {
                counters.CachePops = pops + 1; // the pop is the alloc_fast count
                slot.State = PageState.InUse;
                int generation = ++slot.Generation;
                return Page.Create(_poolBits, slot.Address, id, _pageSize, generation);
            }
        }
        return AllocPageSlow();
    }

    /// <summary>Owner context: takes a page, or returns false when all PoolSize pages are in use (backpressure).</summary>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocPage(out Page page)
    {
        ref OwnerCounters counters = ref _core.Owner;
        long pops = counters.CachePops;
        int n = (int)(counters.CachePushes - pops) - 1;
        int[] cache = _cache;
        if ((uint)n < (uint)cache.Length && _owner.IsOwnerStack())
        {
            int id = cache[n];
            ref PageSlot slot = ref SlotOf(id);
            if (slot.State == PageState.Idle && !_hooks)
            {
                counters.CachePops = pops + 1; // the pop is the alloc_fast count
                slot.State = PageState.InUse;
                int generation = ++slot.Generation;
                page = Page.Create(_poolBits, slot.Address, id, _pageSize, generation);
                return true;
            }
        }
        page = TryAllocSlow();
        return !page.IsDefault;
    }

    /// <summary>Owner context: recycles a page straight into the owner's cache (the kernel's recycle_direct).</summary>
    /// <exception cref="PagePoolException">The page is default, of another pool, or already recycled; nothing changes.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecyclePageDirect([Owned] Page page)
    {
        if (page.PoolId != _poolId || !_plainRecycle)
        {
            RecycleUnusual(page, direct: true);
            return;
        }
        int id = page.Id;
        int generation = page.Generation;
        ref int recycled = ref RecycledOf(id);
        if (recycled != PagePoolCore.OutRecord(generation))
        {
            // Misuse: out of line, so that nothing on the fast path stays live across a call.
            RecycleUnusual(page, direct: true);
            return;
        }
        recycled = generation;
        ref OwnerCounters counters = ref _core.Owner;
        long pushes = counters.CachePushes;
        int n = (int)(pushes - counters.CachePops);
        int[] cache = _cache;
        if ((uint)n < (uint)cache.Length)
        {
            SlotOf(id).State = PageState.Idle;
            cache[n] = id;
            counters.CachePushes = pushes + 1; // the push is the recycle_cached count
            return;
        }
        RecycleIdleSlow(page, direct: true);
    }

    /// <summary>
    /// Any thread: recycles a page. On the thread that allocates (the owner) it takes the direct path by itself;
    /// elsewhere it goes through the lock-free return ring.
    /// </summary>
    /// <remarks>The owner is the thread of the latest allocation (checked without a thread-static read, see
    /// <see cref="OwnerContext"/>). An owner that is an async loop hopping threads should call
    /// <see cref="RecyclePageDirect"/> from the loop itself, and other code <see cref="RecyclePage"/>.</remarks>
    /// <exception cref="PagePoolException">The page is default, of another pool, or already recycled; nothing changes.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecyclePage([Owned] Page page)
    {
        if (_owner.IsCurrentThread())
        {
            RecyclePageDirect(page);
            return;
        }
        RecycleShared(page);
    }

    /// <summary>
    /// The slot of a page id without a bounds check: ids come only from this pool's cache or from a page whose core
    /// was just checked to be this pool's, and the engine hands out only ids below PoolSize.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref PageSlot SlotOf(int id) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), (nuint)(uint)id);

    /// <summary>The page's entry in <see cref="PagePoolCore.Recycled"/>, without a bounds check (ids come from the pool, or were checked to be this pool's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int RecycledOf(int id) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_recycled), (nuint)(uint)id);

    // ==================================================================== bulk

    /// <summary>Owner context: fills <paramref name="pages"/> with pages; returns how many (fewer when the pool runs out).</summary>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    public int AllocPages(Span<Page> pages)
    {
        int i = 0;
        while (i < pages.Length && TryAllocPage(out pages[i]))
        {
            i++;
        }
        return i;
    }

    /// <summary>
    /// Any thread: recycles every page. Off the owner's thread, all of them go into the ring with one reservation per
    /// batch of 64. A bad page (default, foreign, already recycled) does not stop the others: they are recycled, then
    /// <see cref="PagePoolException"/> names the first bad one.
    /// </summary>
    public void RecyclePages(ReadOnlySpan<Page> pages)
    {
        bool owner = _owner.IsCurrentThread() || _owner.IsCurrentThreadById();
        if (owner && _plainRecycle)
        {
            RecycleDirectBatch(pages);
            return;
        }
        if (owner || !_plainRecycle)
        {
            RecycleEach(pages);
            return;
        }
        Span<int> ids = stackalloc int[64];
        Page firstBad = default;
        bool anyBad = false;
        while (!pages.IsEmpty)
        {
            int take = Math.Min(pages.Length, ids.Length);
            int n = 0;
            for (int i = 0; i < take; i++)
            {
                if (_core.TryRecordRecycle(pages[i]))
                {
                    ids[n++] = _core.Token(pages[i].Id, pages[i].Generation);
                }
                else if (!anyBad)
                {
                    anyBad = true;
                    firstBad = pages[i];
                }
            }
            int queued = _core.TryRecycleToRing(ids[..n]);
            for (int i = queued; i < n; i++)
            {
                Release(_core.TokenId(ids[i]));
            }
            if (queued > 0 && _core.IsDestroyed)
            {
                DrainAfterDestroy();
            }
            pages = pages[take..];
        }
        if (anyBad)
        {
            _core.ThrowBadRecycle(firstBad);
        }
    }

    // ==================================================================== fragments (the kernel's page_pool_alloc_frag)

    /// <summary>
    /// Owner context: a fragment of <paramref name="size"/> bytes carved from a shared page; the page goes back to the
    /// pool when its last fragment is recycled (from any thread).
    /// </summary>
    /// <exception cref="InvalidOperationException">The pool was created without <see cref="PagePoolOptions.Fragments"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not 1..PageSize.</exception>
    /// <exception cref="PagePoolExhaustedException">A new page was needed and all are in use.</exception>
    public Page AllocFragment(int size)
    {
        if (!_fragments)
        {
            throw new InvalidOperationException($"Page pool '{Name}' was created without Fragments = true; AllocFragment needs it.");
        }
        if ((uint)(size - 1) >= (uint)_pageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"A fragment is 1 to {_pageSize} bytes (the page size).");
        }
        if (size == _pageSize)
        {
            return AllocPage(); // a whole page: recycled as one, no reference count
        }
        if (_fragId < 0 || _fragOffset + size > _pageSize)
        {
            NextFragmentPage();
        }
        int id = _fragId;
        int offset = _fragOffset;
        _fragOffset = offset + size;
        _fragCount++;
        return _core.CreateHandle(id, _core.Slots[id].Address + offset, size);
    }

    private void NextFragmentPage()
    {
        FlushFragmentPage();
        Page page = AllocPage();
        _core.RefCounts[page.Id] = FragmentBias;
        _fragId = page.Id;
        _fragOffset = 0;
        _fragCount = 0;
    }

    /// <summary>Gives up the owner's bias on the current fragment page; recycles it if every fragment is already back.</summary>
    private void FlushFragmentPage()
    {
        int id = _fragId;
        if (id < 0)
        {
            return;
        }
        _fragId = -1;
        if (Interlocked.Add(ref _core.RefCounts[id], -(FragmentBias - _fragCount)) == 0)
        {
            RecycleWholePage(_core.CreateHandle(id, _core.Slots[id].Address, _pageSize), direct: true);
        }
    }

    // ==================================================================== stats, destroy, adapters

    /// <summary>A snapshot of every counter. Thread-safe.</summary>
    public PagePoolStats GetPageStats() => _core.GetStats();

    /// <summary>Tracked pages out for at least <paramref name="minAge"/>, with allocation stack traces (empty when LeakTracking is Off). Thread-safe.</summary>
    public IReadOnlyList<PageLeak> GetPageLeaks(TimeSpan minAge) => _core.GetLeaks(minAge);

    /// <summary>The report written when the pool was destroyed with pages still out, or null.</summary>
    public string? DestroyReport => _core.DestroyReport;

    /// <summary>
    /// Owner context: deferred destroy (the kernel's page_pool_destroy). Idle pages are released now (OnPageReleased
    /// runs for each) and their memory freed; pages still out are released as they are recycled, and listed in
    /// <see cref="DestroyReport"/> (with allocation sites when leak tracking is on). Later allocations throw. Idempotent.
    /// </summary>
    public void DestroyPagePool()
    {
        if (!_core.BeginDestroy())
        {
            return;
        }
        _finalizer.Suppress();
        FlushFragmentPage();
        for (int i = 0; i < _core.Owner.CacheCount; i++)
        {
            Release(_cache[i]);
        }
        _core.Owner.SetCacheCount(-1); // both fast paths now fall into their slow paths, which see the pool is destroyed
        DrainAfterDestroy();
        _core.CompleteDestroy();
    }

    /// <summary>
    /// This pool as a thread-safe <see cref="MemoryPool{T}"/> for System.IO.Pipelines and socket transports: Rent takes a
    /// page under a lock, disposing the owner recycles it through the ring; no allocation per rent in steady state.
    /// While it is in use, allocate from this pool only through it.
    /// </summary>
    public MemoryPool<byte> AsMemoryPool() =>
        _memoryPool ?? Interlocked.CompareExchange(ref _memoryPool, new PageMemoryPool(new Source(this)), null) ?? _memoryPool;

    // ==================================================================== slow paths

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Page AllocPageSlow()
    {
        Page page = TryAllocSlow();
        if (page.IsDefault)
        {
            ThrowExhausted();
        }
        return page;
    }

    /// <summary>The slow path: what is left in the cache, a refill from the ring, a new page; default when exhausted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Page TryAllocSlow()
    {
        // The owner's stack bounds are recorded here, off the fast path, which only checks them.
        _owner.Capture();
        PagePoolCore core = _core;
        core.ThrowIfDestroyed();
        int[] cache = _cache;
        // Whatever is left in the cache first: with hooks on, after a stale duplicate at the top, or on a new owner thread.
        int id = core.PopIdle(cache);
        if (id >= 0)
        {
            core.Owner.CountAllocFast();
            return HandOut(id);
        }
        core.Owner.SetCacheCount(core.Refill(cache.AsSpan(0, _refillBatch)));
        id = core.PopIdle(cache);
        if (id >= 0)
        {
            core.Owner.AllocRefill++;
            return HandOut(id);
        }
        core.Owner.AllocEmpty++;
        if (core.TryCreatePage(out int created))
        {
            core.Owner.AllocSlow++;
            Page page = core.CreateHandle(created, core.Slots[created].Address, _pageSize);
            _onCreated?.Invoke(page);
            if (_hooks)
            {
                core.OnAllocated(created);
            }
            return page;
        }
        return default;
    }

    private Page HandOut(int id)
    {
        ref PageSlot slot = ref _core.Slots[id];
        slot.State = PageState.InUse;
        slot.Generation++;
        Page page = _core.CreateHandle(id, slot.Address, _pageSize);
        if (_hooks)
        {
            _core.OnAllocated(id);
        }
        return page;
    }

    /// <summary>Foreign, default or fragment pages: validation with precise errors, fragment reference counting.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecycleUnusual(Page page, bool direct)
    {
        if (page.PoolId != _poolId)
        {
            _core.ThrowBadRecycle(page);
        }
        // In a fragments pool only handles shorter than a page are fragments; whole pages carry no reference count.
        if (_fragments && page.Length < _pageSize)
        {
            if (_core.TryReleaseFragmentRef(page))
            {
                RecycleWholePage(page, direct);
            }
            return;
        }
        RecycleWholePage(page, direct); // hooks on, or a whole page of a fragments pool
    }

    private void RecycleWholePage(Page page, bool direct)
    {
        if (!_core.TryRecordRecycle(page))
        {
            _core.ThrowBadRecycle(page);
        }
        RecycleIdleSlow(page, direct);
    }

    /// <summary>An idle page that could not take the plain cache push: hooks, full cache, ring, release.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecycleIdleSlow(Page page, bool direct)
    {
        int id = page.Id;
        if (_hooks)
        {
            _core.OnRecycled(id);
        }
        if (direct && !_core.IsDestroyed)
        {
            int n = _core.Owner.CacheCount;
            if ((uint)n < (uint)_cache.Length)
            {
                _core.Slots[id].State = PageState.Idle;
                _cache[n] = id;
                _core.Owner.CachePushes++; // a recycle_cached
                return;
            }
            _core.Owner.RecycleCacheFull++;
        }
        if (!_core.TryRecycleToRing(id))
        {
            Release(id);
        }
        else if (_core.IsDestroyed)
        {
            DrainAfterDestroy();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecycleShared(Page page)
    {
        if (_owner.IsCurrentThreadById())
        {
            RecyclePageDirect(page); // the owner, on a platform without stack bounds
            return;
        }
        if (_fragments)
        {
            RecycleUnusual(page, direct: false);
            return;
        }
        int queued = _core.TryRecycleShared(page);
        if (queued < 0)
        {
            _core.ThrowBadRecycle(page);
        }
        if (queued == 0)
        {
            Release(page.Id);
        }
        else if (_core.IsDestroyed)
        {
            DrainAfterDestroy();
        }
    }

    /// <summary>Owner, plain pool: the direct recycle in a loop, with the cache count in a register; misuse skips the page.</summary>
    private void RecycleDirectBatch(ReadOnlySpan<Page> pages)
    {
        PagePoolCore core = _core;
        PageSlot[] slots = _slots;
        int[] recycled = _recycled;
        int[] cache = _cache;
        int n = core.Owner.CacheCount; // in a register for the loop; the pushes are committed below
        Page firstBad = default;
        bool anyBad = false;
        foreach (Page page in pages)
        {
            if (page.PoolId != core.PoolId || recycled[page.Id] != PagePoolCore.OutRecord(page.Generation))
            {
                if (!anyBad)
                {
                    anyBad = true;
                    firstBad = page;
                }
                continue;
            }
            recycled[page.Id] = page.Generation;
            if ((uint)n < (uint)cache.Length)
            {
                slots[page.Id].State = PageState.Idle;
                cache[n++] = page.Id; // a recycle_cached
                continue;
            }
            core.Owner.CachePushes = core.Owner.CachePops + n;
            RecycleIdleSlow(page, direct: true);
            n = core.Owner.CacheCount;
        }
        core.Owner.CachePushes = core.Owner.CachePops + n;
        if (anyBad)
        {
            core.ThrowBadRecycle(firstBad);
        }
    }

    private void RecycleEach(ReadOnlySpan<Page> pages)
    {
        Page firstBad = default;
        bool anyBad = false;
        foreach (Page page in pages)
        {
            try
            {
                RecyclePage(page);
            }
            catch (PagePoolException) when (!anyBad)
            {
                anyBad = true;
                firstBad = page;
            }
            catch (PagePoolException)
            {
            }
        }
        if (anyBad)
        {
            _core.ThrowBadRecycle(firstBad);
        }
    }

    /// <summary>The page leaves service: the OnPageReleased hook, then the engine frees its slot.</summary>
    private void Release(int id)
    {
        _onReleased?.Invoke(_core.CreateHandle(id, _core.Slots[id].Address, _pageSize));
        _core.ReleasePage(id);
    }

    private void DrainAfterDestroy()
    {
        Span<int> ids = stackalloc int[64];
        int n;
        while ((n = _core.DrainRing(ids)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                Release(ids[i]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowExhausted() => throw new PagePoolExhaustedException(Name, PoolSize);

    private sealed class Source : PageSource
    {
        private readonly RuntimePagePool _pool;

        public Source(RuntimePagePool pool) => _pool = pool;

        public override PagePoolCore Core => _pool._core;

        public override bool TryAllocPage(out Page page) => _pool.TryAllocPage(out page);

        public override void RecycleShared(Page page) => _pool.RecycleShared(page);
    }
}
