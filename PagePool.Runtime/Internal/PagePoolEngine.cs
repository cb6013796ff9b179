using System;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// What the engine's slow paths call back into a pool: its page hooks, and its allocation for the
/// <see cref="System.Buffers.MemoryPool{T}"/> adapter.
/// </summary>
/// <remarks>
/// Implemented by a struct (a generated pool nests one that calls the class's partial methods; <see cref="RuntimePagePool"/>
/// has one that calls its delegates). The engine's methods are generic over it, so the JIT compiles them once per pool
/// type and calls the hooks directly: no virtual, interface or delegate dispatch between the engine and a generated pool.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IPagePoolCallbacks
{
    /// <summary>The pool's OnPageCreated hook: the page is entering service and is handed out next.</summary>
    void OnPageCreated(Page page);

    /// <summary>The pool's OnPageReleased hook: the page is leaving service. Any thread.</summary>
    void OnPageReleased(Page page);

    /// <summary>The pool's owner-context allocation (fast path first); the adapter calls it under its own lock.</summary>
    bool TryAllocPage(out Page page);
}

/// <summary>
/// The page a pool is carving into fragments (the kernel's page_pool_alloc_frag state), kept in the pool itself so the
/// fragment fast path reads it without going through the engine. Owner context only.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct FragmentCursor
{
    /// <summary>The page being carved; -1 when there is none.</summary>
    public int Page;

    /// <summary>The next free offset in it, a multiple of 8.</summary>
    public int Offset;

    /// <summary>Fragments of it handed out so far.</summary>
    public int Count;

    /// <summary>No page being carved.</summary>
    public static FragmentCursor None => new() { Page = -1 };
}

/// <summary>
/// Leaves the owner context at the end of a <c>using</c> block: see <see cref="PagePoolCore.EnterOwnerScope"/>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly ref struct OwnerScope
{
    private readonly PagePoolCore? _core;

    internal OwnerScope(PagePoolCore core) => _core = core;

    /// <summary>Leaves the owner context (nothing for a default scope, which entered none).</summary>
    public void Dispose() => _core?.ExitOwner();
}

// The slow paths of every pool, written once: a generated pool and RuntimePagePool keep only their fast paths (the
// cache pop and push over their own cache) and call these for everything else, passing their cache as a span and
// their callbacks as a struct.
public sealed partial class PagePoolCore
{
    /// <summary>
    /// The fragments' reference-count bias: the owner holds this many references to the page it carves and gives back
    /// the ones it did not hand out when it moves on (the kernel's pp_ref_count bias).
    /// </summary>
    private const int FragmentBias = 1 << 30;

    /// <summary>
    /// An element of one of the engine's pinned per-page arrays (<see cref="SlotsAddress"/>, <see cref="RecycledAddress"/>)
    /// by the array's address, for the generated fast paths: no null check and no bounds check. Their ids come from
    /// their own cache, or from a page just checked to be theirs, and the engine hands out only ids below PoolSize.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ref T Element<T>(nint array, int id)
        where T : unmanaged =>
        ref ((T*)array)[(uint)id];

    /// <summary>
    /// Entry <paramref name="n"/> of a generated pool's inline cache storage, past <paramref name="pad"/> ids of
    /// padding, without a bounds check (<paramref name="n"/> is below CacheSize). Pad and index stay apart so that the
    /// JIT folds the constant pad into the address.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref int CacheEntry<TStorage>(ref TStorage storage, int pad, int n)
        where TStorage : struct =>
        ref Unsafe.Add(ref Unsafe.As<TStorage, int>(ref storage), (nuint)(uint)n + (nuint)(uint)pad);

    /// <summary>
    /// The pool's <see cref="System.Buffers.MemoryPool{T}"/> adapter, created once: <paramref name="field"/> is the pool's
    /// field that keeps it, set here unless a racing call set it first. Thread-safe.
    /// </summary>
    public System.Buffers.MemoryPool<byte> CreateMemoryPool<T>(ref System.Buffers.MemoryPool<byte>? field, T callbacks)
        where T : struct, IPagePoolCallbacks =>
        PageMemoryPool.Create(ref field, this, callbacks);

    /// <summary>
    /// With poisoning on (Debug builds of a generated pool's code), the owner-context slow paths check that no other
    /// thread is in the owner context meanwhile; otherwise a scope that checks nothing.
    /// </summary>
    private OwnerScope CheckOwner() => _poison ? EnterOwnerScope() : default;

    /// <summary>Debug builds of generated pools: enters the owner context until the returned scope is disposed.</summary>
    /// <exception cref="PagePoolException">Another thread is in the owner context at the same time.</exception>
    public OwnerScope EnterOwnerScope()
    {
        EnterOwner();
        return new OwnerScope(this);
    }

    // ---------------------------------------------------------------- allocation (owner context)

    /// <summary>
    /// Owner: the allocation slow path (the kernel's __page_pool_alloc_pages_slow). What is left in the cache first,
    /// then one refill batch from the return ring, then a new page (its OnPageCreated hook runs). The page comes back
    /// handed out and counted. False when all PoolSize pages are out.
    /// </summary>
    /// <param name="callbacks">The pool's hooks.</param>
    /// <param name="cache">The owner's cache: its first <see cref="OwnerCounters.CacheCount"/> entries are idle ids.</param>
    /// <param name="page">The page.</param>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    public bool TryAllocSlow<T>(T callbacks, Span<int> cache, out Page page)
        where T : struct, IPagePoolCallbacks
    {
        using OwnerScope owner = CheckOwner();
        int id = AllocSlowId(callbacks, cache);
        if (id < 0)
        {
            page = default;
            return false;
        }
        page = CreateHandle(id, Slots[id].Address, PageSize);
        return true;
    }

    /// <summary>
    /// Owner: <see cref="TryAllocSlow"/> returning the page; when all PoolSize pages are out, default if
    /// <paramref name="orDefault"/>, else <see cref="PagePoolExhaustedException"/>.
    /// </summary>
    /// <exception cref="PagePoolException">The pool was destroyed, or it is exhausted and <paramref name="orDefault"/> is false.</exception>
    public Page AllocSlow<T>(T callbacks, Span<int> cache, bool orDefault)
        where T : struct, IPagePoolCallbacks =>
        TryAllocSlow(callbacks, cache, out Page page) || orDefault ? page : ThrowExhausted();

    /// <summary>
    /// Owner: <see cref="TryAllocSlow"/> for the page at <paramref name="index"/> of a bulk allocation. If it throws,
    /// the pages the call already took (<paramref name="pages"/> before <paramref name="index"/>) go back to the pool
    /// first, so a failed bulk allocation holds nothing.
    /// </summary>
    public bool TryAllocBulkSlow<T>(T callbacks, Span<Page> pages, int index, Span<int> cache)
        where T : struct, IPagePoolCallbacks
    {
        using OwnerScope owner = CheckOwner();
        try
        {
            return TryAllocSlow(callbacks, cache, out pages[index]);
        }
        catch
        {
            try
            {
                RecyclePagesDirect(callbacks, pages.Slice(0, index), cache);
            }
            catch (Exception)
            {
                // Only a failing OnPageReleased can get here (counted; the pages were released all the same): the
                // allocation's failure is the one the caller must see.
            }
            throw;
        }
    }

    /// <summary>The id of a page now handed out and counted, or -1 when all PoolSize pages are out.</summary>
    private int AllocSlowId<T>(T callbacks, Span<int> cache)
        where T : struct, IPagePoolCallbacks
    {
        if (_destroyed)
        {
            ThrowDestroyed();
        }
        // Whatever idle ids are left first: with hooks on, under a stale duplicate at the top, or on a new owner thread.
        int id = PopIdle(cache);
        if (id >= 0)
        {
            Owner.CountAllocFast();
        }
        else
        {
            int refilled = Refill(cache.Slice(0, _refillBatch));
            Owner.SetCacheCount(refilled);
            // A refill short of a whole batch means nearly every page is in flight: the recycling threads are
            // publishing into the very ring cells this refill reads, and the owner would go on taking a few pages at a
            // time from lines they are still writing, both threads trading those lines. While PoolSize allows, the
            // caller gets a new page instead and the refilled ones wait in the cache, so the pool grows until a whole
            // batch waits in the ring: about RefillBatch pages beyond those in flight.
            if (refilled > 0 && refilled < _refillBatch && MayCreatePage)
            {
                id = CreatePage(callbacks, ringWasEmpty: false);
                if (id >= 0)
                {
                    return id;
                }
            }
            id = PopIdle(cache);
            if (id < 0)
            {
                return CreatePage(callbacks, ringWasEmpty: true);
            }
            Owner.AllocRefill++;
        }
        ref PageSlot slot = ref Slots[id];
        slot.State = PageState.InUse;
        slot.Generation++;
        if (_hooks)
        {
            OnAllocated(id);
        }
        return id;
    }

    /// <summary>
    /// Owner: brings a page into service (a released slot or new memory) and runs OnPageCreated; -1 when PoolSize
    /// pages exist. A failure leaves the pool as it was: when the memory cannot be had, nothing changed; when the hook
    /// throws, the page is taken out of service again (its slot and memory wait for the next creation, which runs the
    /// hook again). Either way the exception goes on to the caller unchanged and <see cref="PagePoolStats.AllocFailed"/>
    /// counts it. <paramref name="ringWasEmpty"/>: the cache and the ring had nothing (an alloc_empty), rather than a
    /// refill short of a batch.
    /// </summary>
    private int CreatePage<T>(T callbacks, bool ringWasEmpty)
        where T : struct, IPagePoolCallbacks
    {
        if (ringWasEmpty)
        {
            Owner.AllocEmpty++;
        }
        int id;
        try
        {
            if (!TryCreatePage(out id))
            {
                return -1;
            }
        }
        catch
        {
            Interlocked.Increment(ref _allocFailed);
            throw;
        }
        try
        {
            callbacks.OnPageCreated(CreateHandle(id, Slots[id].Address, PageSize));
        }
        catch
        {
            AbandonCreatedPage(id);
            throw;
        }
        Owner.AllocSlow++;
        if (_hooks)
        {
            OnAllocated(id);
        }
        return id;
    }

    /// <summary>A hint read without the lock: fewer than PoolSize pages are in service, so a creation may succeed.</summary>
    private bool MayCreatePage => Volatile.Read(ref _pagesCreated) - Volatile.Read(ref _recycleReleased) < PoolSize;

    /// <summary>Throws <see cref="PagePoolExhaustedException"/> for this pool; typed to return a page, for expressions.</summary>
    [DoesNotReturn]
    public Page ThrowExhausted() => throw new PagePoolExhaustedException(Name, PoolSize);

    // ---------------------------------------------------------------- fragments (the kernel's page_pool_alloc_frag)

    /// <summary>
    /// Owner: a fragment the pool's fast path could not carve from <paramref name="cursor"/>'s page: a bad size, a
    /// whole page, or a new page to carve (the current one is given up first). Fragments start 8-byte aligned.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not 1 to PageSize.</exception>
    /// <exception cref="PagePoolExhaustedException">A new page was needed and all PoolSize pages are in use.</exception>
    /// <exception cref="PagePoolException">The pool was destroyed.</exception>
    public Page AllocFragmentSlow<T>(T callbacks, ref FragmentCursor cursor, int size, Span<int> cache)
        where T : struct, IPagePoolCallbacks
    {
        using OwnerScope owner = CheckOwner();
        if ((uint)(size - 1) >= (uint)PageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, $"A fragment of page pool '{Name}' is 1 to {PageSize} bytes (the page size).");
        }
        Page page;
        if (size == PageSize)
        {
            // A whole page: never carved, so a page-sized handle always means a whole page to the recycle paths.
            if (!TryAllocSlow(callbacks, cache, out page))
            {
                ThrowExhausted();
            }
            return page;
        }
        DropFragmentPage(callbacks, ref cursor, cache);
        if (!TryAllocSlow(callbacks, cache, out page))
        {
            ThrowExhausted();
        }
        RefCounts[page.Id] = FragmentBias;
        cursor.Page = page.Id;
        cursor.Offset = 0;
        cursor.Count = 0;
        return NextFragment(ref cursor, size);
    }

    /// <summary>
    /// Owner: a fragment of <paramref name="size"/> bytes, carved from the cursor's page while it has room, else from a
    /// new page (<see cref="AllocFragmentSlow"/>).
    /// </summary>
    public Page AllocFragment<T>(T callbacks, ref FragmentCursor cursor, int size, Span<int> cache)
        where T : struct, IPagePoolCallbacks =>
        cursor.Page >= 0 && (uint)(size - 1) < (uint)(PageSize - cursor.Offset)
            ? NextFragment(ref cursor, size)
            : AllocFragmentSlow(callbacks, ref cursor, size, cache);

    /// <summary>Owner: the next fragment of the cursor's page, which has room for <paramref name="size"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Page NextFragment(ref FragmentCursor cursor, int size)
    {
        int offset = cursor.Offset;
        cursor.Offset = offset + ((size + 7) & ~7); // PageSize is a multiple of 8, so an aligned offset never passes it
        cursor.Count++;
        ref PageSlot slot = ref Slots[cursor.Page];
        return Page.Create(_poolBits, slot.Address + offset, cursor.Page, size, slot.Generation);
    }

    /// <summary>
    /// Owner: moves on from the cursor's page, giving back the references not handed out; when every fragment of it
    /// is already back, the page is recycled here.
    /// </summary>
    public void DropFragmentPage<T>(T callbacks, ref FragmentCursor cursor, Span<int> cache)
        where T : struct, IPagePoolCallbacks
    {
        int id = cursor.Page;
        if (id < 0)
        {
            return;
        }
        cursor.Page = -1;
        if (Interlocked.Add(ref RefCounts[id], cursor.Count - FragmentBias) == 0)
        {
            RecycleDirectSlow(callbacks, CreateHandle(id, Slots[id].Address, PageSize), cache);
        }
    }

    /// <summary>
    /// Any thread: for a fragment of this pool, drops its reference and sets <paramref name="page"/> to its whole page
    /// when that was the last one, or to default when other fragments still hold it. Whole pages pass through.
    /// False on misuse (a fragment already recycled), with nothing changed.
    /// </summary>
    private bool TryReleaseFragment(ref Page page)
    {
        if (page.PoolId != PoolId || page.Length >= PageSize)
        {
            return true; // a whole page, default or a foreign page: the recycle's own check decides
        }
        if (!IsOut(page))
        {
            return false;
        }
        int left = Interlocked.Decrement(ref RefCounts[page.Id]);
        if (left < 0)
        {
            Interlocked.Increment(ref RefCounts[page.Id]);
            return false;
        }
        page = left == 0 ? CreateHandle(page.Id, Slots[page.Id].Address, PageSize) : default;
        return true;
    }

    // ---------------------------------------------------------------- recycling

    /// <summary>
    /// Owner: a direct recycle the pool's fast path did not take: a fragment, a pool with per-page hooks, a full cache,
    /// a destroyed pool, or misuse.
    /// </summary>
    /// <exception cref="PagePoolException">The page is default, another pool's, or already recycled; nothing changed.</exception>
    public void RecycleDirectSlow<T>(T callbacks, Page page, Span<int> cache)
        where T : struct, IPagePoolCallbacks
    {
        using OwnerScope owner = CheckOwner();
        ExceptionDispatchInfo? failure = null;
        bool recycled = TryRecycleDirect(callbacks, page, cache, ref failure);
        failure?.Throw();
        if (!recycled)
        {
            ThrowBadRecycle(page);
        }
    }

    /// <summary>
    /// Owner: recycles every page into the cache (the ring or release once it is full). A bad page does not stop the
    /// others: they are recycled, then <see cref="PagePoolException"/> names the first bad one.
    /// </summary>
    public void RecyclePagesDirect<T>(T callbacks, ReadOnlySpan<Page> pages, Span<int> cache)
        where T : struct, IPagePoolCallbacks
    {
        using OwnerScope owner = CheckOwner();
        int bad = -1;
        ExceptionDispatchInfo? failure = null;
        for (int i = 0; i < pages.Length; i++)
        {
            if (!TryRecycleDirect(callbacks, pages[i], cache, ref failure) && bad < 0)
            {
                bad = i;
            }
        }
        failure?.Throw();
        if (bad >= 0)
        {
            ThrowBadRecycle(pages[bad]);
        }
    }

    /// <summary>Owner: the whole direct recycle; false on misuse, with nothing changed.</summary>
    private bool TryRecycleDirect<T>(T callbacks, Page page, Span<int> cache, ref ExceptionDispatchInfo? failure)
        where T : struct, IPagePoolCallbacks
    {
        Page whole = page;
        if (!TryReleaseFragment(ref whole))
        {
            return false;
        }
        if (whole.IsDefault && !page.IsDefault)
        {
            return true; // a fragment whose page other fragments still hold
        }
        page = whole;
        if (!TryRecordRecycle(page))
        {
            return false;
        }
        int id = page.Id;
        if (_hooks)
        {
            OnRecycled(id);
        }
        if (!_destroyed)
        {
            int n = Owner.CacheCount;
            if ((uint)n < (uint)cache.Length)
            {
                Slots[id].State = PageState.Idle;
                cache[n] = id;
                Owner.CachePushes++; // a recycle_cached
                return true;
            }
            Owner.RecycleCacheFull++;
        }
        if (!TryRecycleToRing(id))
        {
            Release(callbacks, id, ref failure);
        }
        if (_destroyed)
        {
            DrainRing(callbacks, ref failure);
        }
        return true;
    }

    /// <summary>
    /// One recycle: <see cref="RecycleDirectSlow"/> when <paramref name="direct"/> (the caller is the owner), else
    /// <see cref="RecycleShared"/>.
    /// </summary>
    /// <exception cref="PagePoolException">The page is default, another pool's, or already recycled; nothing changed.</exception>
    public void Recycle<T>(T callbacks, Page page, Span<int> cache, bool direct)
        where T : struct, IPagePoolCallbacks
    {
        if (direct)
        {
            RecycleDirectSlow(callbacks, page, cache);
        }
        else
        {
            RecycleShared(callbacks, page);
        }
    }

    /// <summary>
    /// Recycles every page: <see cref="RecyclePagesDirect"/> when <paramref name="direct"/> (the caller is the owner),
    /// else <see cref="RecyclePagesShared"/>. A bad page does not stop the others.
    /// </summary>
    /// <exception cref="PagePoolException">A page was bad (the first one is named), after every other page went back.</exception>
    public void RecyclePages<T>(T callbacks, ReadOnlySpan<Page> pages, Span<int> cache, bool direct)
        where T : struct, IPagePoolCallbacks
    {
        if (direct)
        {
            RecyclePagesDirect(callbacks, pages, cache);
        }
        else if (!pages.IsEmpty)
        {
            RecyclePagesShared(callbacks, pages);
        }
    }

    /// <summary>
    /// Any thread: the shared recycle (the kernel's page_pool_put_page): checked, published in the return ring, or
    /// released when the ring is full or the pool destroyed. Fragments drop a reference; the last one recycles the page.
    /// </summary>
    /// <exception cref="PagePoolException">The page is default, another pool's, or already recycled; nothing changed.</exception>
    public void RecycleShared<T>(T callbacks, Page page)
        where T : struct, IPagePoolCallbacks
    {
        Page whole = page;
        if (!TryReleaseFragment(ref whole))
        {
            ThrowBadRecycle(page);
        }
        if (whole.IsDefault && !page.IsDefault)
        {
            return;
        }
        int queued = TryRecycleShared(whole);
        if (queued < 0)
        {
            ThrowBadRecycle(whole);
        }
        ExceptionDispatchInfo? failure = null;
        if (queued == 0)
        {
            Release(callbacks, whole.Id, ref failure);
        }
        if (_destroyed)
        {
            DrainRing(callbacks, ref failure);
        }
        failure?.Throw();
    }

    /// <summary>
    /// Any thread: recycles every page through the return ring, one reservation per 64. A bad page does not stop the
    /// others: they are recycled, then <see cref="PagePoolException"/> names the first bad one.
    /// </summary>
    public void RecyclePagesShared<T>(T callbacks, ReadOnlySpan<Page> pages)
        where T : struct, IPagePoolCallbacks
    {
        Span<int> tokens = stackalloc int[64];
        int bad = -1;
        ExceptionDispatchInfo? failure = null;
        for (int start = 0; start < pages.Length; start += tokens.Length)
        {
            int end = Math.Min(pages.Length, start + tokens.Length);
            int count = 0;
            for (int i = start; i < end; i++)
            {
                Page page = pages[i];
                if (!TryReleaseFragment(ref page))
                {
                    bad = bad < 0 ? i : bad;
                    continue;
                }
                if (page.IsDefault && !pages[i].IsDefault)
                {
                    continue; // a fragment whose page other fragments still hold
                }
                if (!TryRecordRecycle(page))
                {
                    bad = bad < 0 ? i : bad;
                    continue;
                }
                if (_hooks)
                {
                    OnRecycled(page.Id);
                }
                tokens[count++] = Token(page.Id, page.Generation);
            }
            int queued = count == 0 ? 0 : TryRecycleToRing(tokens.Slice(0, count));
            for (int i = queued; i < count; i++)
            {
                Release(callbacks, TokenId(tokens[i]), ref failure);
            }
        }
        if (_destroyed)
        {
            DrainRing(callbacks, ref failure);
        }
        failure?.Throw();
        if (bad >= 0)
        {
            ThrowBadRecycle(pages[bad]);
        }
    }

    /// <summary>
    /// Any thread: the page leaves service (the kernel's page_pool_return_page): OnPageReleased, then its slot is freed.
    /// A throwing hook does not keep the page: it leaves service all the same (its slot can be created again, its memory
    /// is freed with its chunk after destroy), <see cref="PagePoolStats.ReleaseFailed"/> counts it, and the first such
    /// failure is kept in <paramref name="failure"/> for the caller to throw once its other pages are done.
    /// </summary>
    private void Release<T>(T callbacks, int id, ref ExceptionDispatchInfo? failure)
        where T : struct, IPagePoolCallbacks
    {
        try
        {
            callbacks.OnPageReleased(CreateHandle(id, Slots[id].Address, PageSize));
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _releaseFailed);
            failure ??= ExceptionDispatchInfo.Capture(ex);
        }
        ReleasePage(id);
    }

    /// <summary>After destroy, any thread: releases whatever reached the ring.</summary>
    private void DrainRing<T>(T callbacks, ref ExceptionDispatchInfo? failure)
        where T : struct, IPagePoolCallbacks
    {
        Span<int> ids = stackalloc int[64];
        int n;
        while ((n = DrainRing(ids)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                Release(callbacks, ids[i], ref failure);
            }
        }
    }

    // ---------------------------------------------------------------- destroy (the kernel's page_pool_destroy)

    /// <summary>
    /// Owner: the deferred destroy. Idle pages (the cache and the ring) are released now, each through OnPageReleased;
    /// pages still out are released as they come back and reported. Later allocations throw. Calling it again does nothing.
    /// If OnPageReleased throws, the other pages are released and the destroy completes all the same; then the first
    /// failure is thrown.
    /// </summary>
    /// <param name="callbacks">The pool's hooks.</param>
    /// <param name="cache">The owner's cache.</param>
    /// <param name="finalizer">The pool's finalizer, if armed: it has nothing left to do.</param>
    /// <param name="cursor">A fragments pool's cursor: its page is given up first.</param>
    public void Destroy<T>(T callbacks, Span<int> cache, PoolFinalizer? finalizer, ref FragmentCursor cursor)
        where T : struct, IPagePoolCallbacks
    {
        ExceptionDispatchInfo? failure = null;
        if (!_destroyed)
        {
            try
            {
                DropFragmentPage(callbacks, ref cursor, cache);
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex); // a failing release hook: the destroy goes on
            }
        }
        Destroy(callbacks, cache, finalizer);
        failure?.Throw();
    }

    /// <inheritdoc cref="Destroy{T}(T, Span{int}, PoolFinalizer?, ref FragmentCursor)"/>
    public void Destroy<T>(T callbacks, Span<int> cache, PoolFinalizer? finalizer)
        where T : struct, IPagePoolCallbacks
    {
        using OwnerScope owner = CheckOwner();
        if (!BeginDestroy())
        {
            return;
        }
        finalizer?.Suppress();
        int n = Owner.CacheCount;
        Owner.SetCacheCount(-1); // both fast paths now fall into their slow paths, which see the pool is destroyed
        ExceptionDispatchInfo? failure = null;
        for (int i = 0; i < n; i++)
        {
            int id = cache[i];
            // Released pages turn Unborn, so a stale duplicate further down the cache is only counted.
            if (Slots[id].State == PageState.Idle)
            {
                Release(callbacks, id, ref failure);
            }
            else
            {
                DropStale(id);
            }
        }
        DrainRing(callbacks, ref failure);
        CompleteDestroy();
        failure?.Throw(); // the first failing OnPageReleased, once every page is released and the destroy complete
    }
}
