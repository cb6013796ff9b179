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
/// what other threads recycle (a lock-free lane each for the first four threads to recycle across threads, a
/// lock-free ring for later ones), and a slow path that creates pages up to PoolSize.</para>
/// <para>Lifetime: the pool and its memory live until <see cref="DestroyPagePool"/> and the return of its last page,
/// as the kernel's page_pool does. A pool that becomes unreachable without it is destroyed by a finalizer: idle
/// memory is freed, and the memory of pages still out stays valid (nobody can recycle them any more).</para>
/// </remarks>
public sealed class RuntimePagePool
{
    private readonly PagePoolCore _core;
    private readonly nint _slots;           // _core.Slots (pinned) by address: indexed with no null or bounds check
    private readonly nint _recycled;        // _core.Recycled (pinned), likewise
    private readonly int[] _cache;          // CachePad ids, the cache's CacheSize, CachePad ids: see CachePad; pinned
    private readonly nint _cacheIds;        // the address of the cache's first id (past the padding)
    private readonly int _cacheSize;
    private readonly int _pageSize;
    private readonly int _poolId;     // _core.PoolId, beside the other fast-path fields
    private readonly ulong _poolBits; // the pool's bits of every Page handle
    // The cache bounds the fast paths check: CacheSize, or 0 where every call must take the slow path (per-page hooks
    // for allocations; hooks or fragments for direct recycles), so that the fast paths test one bound instead of flags.
    private readonly int _allocBound;
    private readonly int _recycleBound;
    private readonly bool _fragments;
    private readonly Action<Page>? _onCreated;
    private readonly Action<Page>? _onReleased;
    private readonly PoolFinalizer _finalizer;  // destroys the pool if it is dropped without DestroyPagePool()
    private OwnerContext _owner;            // who the owner is: AllocPage checks it, RecyclePage asks it
    private FragmentCursor _fragment = FragmentCursor.None;
    private MemoryPool<byte>? _memoryPool;

    /// <summary>Creates a pool. Memory is carved lazily, as pages are first needed.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">A setting is out of range (the message names it).</exception>
    public unsafe RuntimePagePool(PagePoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _core = new PagePoolCore(options.Name, options.PageSize, options.PoolSize, options.Memory, options.Headroom,
            options.MaxLength, options.ClearOnRecycle, options.LeakTracking, options.Poison, options.RingSize, options.CacheSize, options.RefillBatch);
        _cacheSize = options.CacheSize;
        _cache = GC.AllocateArray<int>(CachePad + options.CacheSize + CachePad, pinned: true);
        _cacheIds = (nint)Unsafe.AsPointer(ref _cache[CachePad]);
        _pageSize = options.PageSize;
        _poolId = _core.PoolId;
        _poolBits = Page.PoolBits(_poolId);
        _slots = _core.SlotsAddress;
        _recycled = _core.RecycledAddress;
        bool hooks = _core.HasPageHooks;        // leak tracking, poisoning or ClearOnRecycle: per-page work on both paths
        _fragments = options.Fragments;
        _allocBound = hooks ? 0 : options.CacheSize;
        _recycleBound = hooks || _fragments ? 0 : options.CacheSize; // otherwise the direct recycle is a push
        _onCreated = options.OnPageCreated;
        _onReleased = options.OnPageReleased;
        Headroom = options.Headroom;
        MaxLength = Shared.PagePoolRules.EffectiveMaxLength(options.PageSize, options.Headroom, options.MaxLength);
        _finalizer = new PoolFinalizer(_core, DestroyPagePool);
    }

    /// <summary>Bytes per page.</summary>
    public int PageSize => _pageSize;

    /// <summary>The engine, for tests.</summary>
    internal PagePoolCore Core => _core;

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
    /// <remarks>An exception from <see cref="PagePoolOptions.OnPageCreated"/> or from the page memory's allocation reaches
    /// the caller unchanged; the pool lends nothing and loses nothing.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Page AllocPage()
    {
        return TryAllocFast(out Page page) ? page : AllocSlow(orDefault: false);
    }

    /// <summary>Owner context: takes a page, or returns false when all PoolSize pages are in use (backpressure).</summary>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAllocPage(out Page page) => TryAllocFast(out page) || !(page = AllocSlow(orDefault: true)).IsDefault;

    /// <summary>
    /// The fast path of every allocation (the kernel's alloc cache pop): the top of the owner's cache, when it is idle,
    /// the pool has no per-page hooks and this is the owner's stack. False, with nothing changed, otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryAllocFast(out Page page)
    {
        ref OwnerCounters counters = ref _core.Owner;
        long pops = counters.CachePops;
        int n = (int)(counters.CachePushes - pops) - 1;
        if ((uint)n < (uint)_allocBound && _owner.IsOwnerStack())
        {
            int id = CacheAt(n);
            ref PageSlot slot = ref SlotOf(id);
            if (slot.State == PageState.Idle)
            {
                counters.CachePops = pops + 1; // the pop is the alloc_fast count
                slot.State = PageState.InUse;
                int generation = ++slot.Generation;
                page = Page.Create(_poolBits, slot.Address, id, _pageSize, generation);
                return true;
            }
        }
        page = default;
        return false;
    }

    /// <summary>Owner context: recycles a page straight into the owner's cache (the kernel's recycle_direct).</summary>
    /// <exception cref="PagePoolException">The page is default, of another pool, or already recycled; nothing changes.</exception>
    /// <remarks>An exception from <see cref="PagePoolOptions.OnPageReleased"/> (when the page had to be released) reaches the
    /// caller; the page is released all the same.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecyclePageDirect([Owned] Page page)
    {
        if (!TryRecycleFast(page))
        {
            // Misuse, a full cache, hooks or fragments: out of line, so that nothing on the fast path stays live across a call.
            RecycleDirectSlow(page);
        }
    }

    /// <summary>
    /// The fast path of every direct recycle (the kernel's recycle_direct push): a whole page of this pool, its current
    /// hand-out, room in the cache, no per-page hooks. False, with nothing changed, otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryRecycleFast(Page page)
    {
        if (page.PoolId != _poolId)
        {
            return false;
        }
        int id = page.Id;
        int generation = page.Generation;
        ref int recycled = ref RecycledOf(id);
        ref OwnerCounters counters = ref _core.Owner;
        long pushes = counters.CachePushes;
        int n = (int)(pushes - counters.CachePops);
        if (recycled != PagePoolCore.OutRecord(generation) || (uint)n >= (uint)_recycleBound)
        {
            return false;
        }
        recycled = generation;
        SlotOf(id).State = PageState.Idle;
        CacheAt(n) = id;
        counters.CachePushes = pushes + 1; // the push is the recycle_cached count
        return true;
    }

    /// <summary>
    /// Any thread: recycles a page. On the thread that allocates (the owner) it takes the direct path by itself;
    /// elsewhere it goes through the thread's lock-free return lane (the first four threads to recycle across threads
    /// get one each) or the shared ring.
    /// </summary>
    /// <remarks>The owner is the thread of the latest allocation (checked without a thread-static read, see
    /// <see cref="OwnerContext"/>). An owner that is an async loop hopping threads should call
    /// <see cref="RecyclePageDirect"/> from the loop itself, and other code <see cref="RecyclePage"/>. An exception from
    /// <see cref="PagePoolOptions.OnPageReleased"/> (when the page had to be released) reaches the caller; the page is
    /// released all the same.</remarks>
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
    private ref PageSlot SlotOf(int id) => ref PagePoolCore.Element<PageSlot>(_slots, id);

    /// <summary>The page's entry in <see cref="PagePoolCore.Recycled"/>, without a bounds check (ids come from the pool, or were checked to be this pool's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int RecycledOf(int id) => ref PagePoolCore.Element<int>(_recycled, id);

    /// <summary>
    /// Ids of padding before and after the owner's cache in <see cref="_cache"/>: 128 bytes each side, so that the lines
    /// the owner writes on every refill and direct recycle share no line, nor adjacent-line pair, with whatever object
    /// the GC placed beside the array (the generated pools pad their inline cache likewise).
    /// </summary>
    private const int CachePad = 32;

    /// <summary>The owner's cache without its padding: what the engine's slow paths work on.</summary>
    private Span<int> CacheSpan => _cache.AsSpan(CachePad, _cacheSize);

    /// <summary>Cache entry <paramref name="n"/> (the caller checked it against the cache size), without a bounds check.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int CacheAt(int n) => ref PagePoolCore.Element<int>(_cacheIds, n);

    // ==================================================================== bulk

    /// <summary>Owner context: fills <paramref name="pages"/> with pages; returns how many (fewer when the pool runs out).</summary>
    /// <remarks>If an allocation throws (a failing OnPageCreated hook, no memory), the pages this call already took go
    /// back to the pool before the exception reaches the caller: a failed call holds nothing.</remarks>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    public int AllocPages(Span<Page> pages)
    {
        int i = 0;
        for (; i < pages.Length; i++)
        {
            if (!TryAllocFast(out pages[i]) && !AllocBulkSlow(pages, i))
            {
                break;
            }
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
        if (_owner.IsCurrentThread() || _owner.IsCurrentThreadById())
        {
            int i = 0;
            while (i < pages.Length && TryRecycleFast(pages[i]))
            {
                i++;
            }
            if (i < pages.Length)
            {
                _core.RecyclePagesDirect(new Callbacks(this), pages.Slice(i), CacheSpan);
            }
            return;
        }
        _core.RecyclePagesShared(new Callbacks(this), pages);
    }

    // ==================================================================== fragments (the kernel's page_pool_alloc_frag)

    /// <summary>
    /// Owner context: a fragment of <paramref name="size"/> bytes carved from a shared page; the page goes back to the
    /// pool when its last fragment is recycled (from any thread).
    /// </summary>
    /// <remarks>Fragments start 8-byte aligned within their page, as in a generated pool.</remarks>
    /// <exception cref="InvalidOperationException">The pool was created without <see cref="PagePoolOptions.Fragments"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not 1..PageSize.</exception>
    /// <exception cref="PagePoolExhaustedException">A new page was needed and all are in use.</exception>
    public Page AllocFragment(int size)
    {
        if (!_fragments)
        {
            throw new InvalidOperationException($"Page pool '{Name}' was created without Fragments = true; AllocFragment needs it.");
        }
        _owner.Capture();
        return _core.AllocFragment(new Callbacks(this), ref _fragment, size, CacheSpan);
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
        _core.Destroy(new Callbacks(this), CacheSpan, _finalizer, ref _fragment);
    }

    /// <summary>
    /// This pool as a thread-safe <see cref="MemoryPool{T}"/> for System.IO.Pipelines and socket transports: Rent takes a
    /// page under a lock, disposing the owner recycles it through the ring; no allocation per rent in steady state.
    /// While it is in use, allocate from this pool only through it.
    /// </summary>
    public MemoryPool<byte> AsMemoryPool() =>
        _memoryPool ?? _core.CreateMemoryPool(ref _memoryPool, new Callbacks(this));

    // ==================================================================== slow paths: the engine's

    /// <summary>The engine's allocation slow path; when every page is out, default if <paramref name="orDefault"/>, else it throws.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Page AllocSlow(bool orDefault)
    {
        // The owner's stack bounds are recorded here, off the fast path, which only checks them.
        _owner.Capture();
        return _core.AllocSlow(new Callbacks(this), CacheSpan, orDefault);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool AllocBulkSlow(Span<Page> pages, int index)
    {
        _owner.Capture();
        return _core.TryAllocBulkSlow(new Callbacks(this), pages, index, CacheSpan);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecycleDirectSlow(Page page) => _core.RecycleDirectSlow(new Callbacks(this), page, CacheSpan);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecycleShared(Page page)
    {
        if (_owner.IsCurrentThreadById())
        {
            RecyclePageDirect(page); // the owner, on a platform without stack bounds
            return;
        }
        _core.RecycleShared(new Callbacks(this), page);
    }

    /// <summary>The engine's way back into this pool: the hooks are the options' delegates.</summary>
    private readonly struct Callbacks : IPagePoolCallbacks
    {
        private readonly RuntimePagePool _pool;

        public Callbacks(RuntimePagePool pool) => _pool = pool;

        public void OnPageCreated(Page page) => _pool._onCreated?.Invoke(page);

        public void OnPageReleased(Page page) => _pool._onReleased?.Invoke(page);

        public bool TryAllocPage(out Page page) => _pool.TryAllocPage(out page);
    }
}
