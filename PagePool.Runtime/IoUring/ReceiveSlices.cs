using System;
using System.Runtime.CompilerServices;
using System.Threading;
using PagePool.Internal;

namespace PagePool.IoUring;

/// <summary>
/// Who owns a received page when several reads share it (an incremental buffer ring): the kernel's page_pool fragment
/// scheme (<c>pp_ref_count</c> with a bias) applied to pages a provided-buffer ring lends to the kernel.
/// </summary>
/// <remarks>
/// <para>Each read is handed out as a slice: a <see cref="Page"/> handle whose <see cref="Page.Address"/> and
/// <see cref="Page.Length"/> are exactly the bytes read, and whose id and generation are its page's. A page's
/// reference count is biased by <see cref="KernelBias"/> while the kernel may still append to it; the owner thread
/// counts the slices it hands out without atomics, and when the kernel lets go of the page it removes the bias minus
/// that count in one atomic add. Each slice released takes one reference off; whoever brings the count to zero (the
/// owner dropping the bias, or the last release on any thread) recycles the whole page into its pool, once.</para>
/// <para>On a ring that is not incremental every read has a page to itself: its count starts at 1, with no bias.</para>
/// </remarks>
internal sealed class ReceiveSlices<TPages> where TPages : struct, IPageSource
{
    /// <summary>Added to a page's count while the kernel may still write into it; larger than any count of slices.</summary>
    internal const int KernelBias = 1 << 30;

    private readonly int[] _refs;       // by page id: slices out, plus the bias while the kernel holds the page
    private readonly int[] _handedOut;  // by page id, owner only: slices handed out while the bias was held
    private readonly Page[] _pages;     // by page id: the whole page while any slice of it is out, default otherwise
    private TPages _pool;
    private PagePoolCore? _core;
    private int _poolId = -1;
    private string _name;
    private long _handedOutTotal;       // owner only
    private long _released;             // any thread

    public ReceiveSlices(TPages pool, string name)
    {
        _pool = pool;
        _name = name;
        int size = pool.PoolSize;
        _refs = new int[size];
        _handedOut = new int[size];
        _pages = new Page[size];
    }

    /// <summary>Slices handed out and not yet released.</summary>
    public long Outstanding => Volatile.Read(ref _handedOutTotal) - Interlocked.Read(ref _released);

    /// <summary>Slices handed out since the receiver was created.</summary>
    public long HandedOut => Volatile.Read(ref _handedOutTotal);

    public TPages Pool => _pool;

    /// <summary>Owner: a read into a page the kernel keeps (it will append the next read after this one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Page SliceShared([NotOwned] Page posted, int offset, int length)
    {
        int id = posted.Id;
        if (_handedOut[id] == 0)
        {
            // First slice of this posting: the page is recycled by whoever drops its count to zero, so it must be known.
            _pages[id] = posted;
            Volatile.Write(ref _refs[id], KernelBias);
        }
        _handedOut[id]++;
        return MakeSlice(posted, offset, length);
    }

    /// <summary>
    /// Owner: the kernel let go of <paramref name="page"/>; <paramref name="length"/> bytes at <paramref name="offset"/>
    /// are its last read (0: none). Returns that read as a slice, or default when it is empty.
    /// </summary>
    public Page SliceLast([Owned] Page page, int offset, int length)
    {
        int id = page.Id;
        Page slice = default;
        int handed = _handedOut[id];
        if (handed == 0)
        {
            // No slice of this posting is out: no count to share, no bias to drop.
            if (length == 0)
            {
                _pool.RecyclePage(page);
                return default;
            }
            _pages[id] = page;
            Volatile.Write(ref _refs[id], 1);
            return MakeSlice(page, offset, length);
        }
        if (length > 0)
        {
            slice = MakeSlice(page, offset, length);
            handed++;
        }
        _handedOut[id] = 0;
        DropBias(id, handed);
        return slice;
    }

    /// <summary>
    /// The buffer ring returns a page it still holds (teardown). If slices of it are out, the bias comes off and the
    /// last release recycles it; otherwise it goes straight back to the pool.
    /// </summary>
    public void ReturnPosted([Owned] Page page)
    {
        int id = page.Id;
        int handed = _handedOut[id];
        if (handed == 0)
        {
            _pool.RecyclePage(page);
            return;
        }
        _handedOut[id] = 0;
        DropBias(id, handed, throwIfOverReleased: false); // teardown goes on; the page stays out
    }

    private void DropBias(int id, int handed, bool throwIfOverReleased = true)
    {
        int left = Interlocked.Add(ref _refs[id], -(KernelBias - handed));
        if (left == 0)
        {
            RecycleWhole(id);
        }
        else if (left < 0 && throwIfOverReleased)
        {
            ThrowOverReleased(id, handed, left);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOverReleased(int id, int handed, int left) =>
        throw new PagePoolException(
            $"io_uring: page {id} had {handed} reads handed out and {handed - left} releases: a read was released twice. The page stays out of its pool (counted in use) rather than risk handing it out while a read of it may still be in use.",
            _core?.Name, id);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Page MakeSlice(Page page, int offset, int length)
    {
        PagePoolCore? core = _core;
        if (core is null || page.PoolId != _poolId)
        {
            core = BindCore(page);
        }
        _handedOutTotal++;
        return PagePoolCore.CreateHandle(core, page.Id, page.Address + offset, length, page.Generation);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PagePoolCore BindCore(Page page)
    {
        PagePoolCore core = page.Core ?? throw new PagePoolException(
            $"io_uring: {_name} received into page {page.Id}, whose pool no longer exists.", null, page.Id);
        if (_core is not null && _core != core)
        {
            throw new PagePoolException(
                $"io_uring: {_name} received into page {page.Id} of pool '{core.Name}', but its pages come from '{_core.Name}'.", core.Name, page.Id);
        }
        _core = core;
        _poolId = page.PoolId;
        _name = $"{_name} (pool '{core.Name}')";
        return core;
    }

    /// <summary>Any thread: one slice is done with; the last one of a page the kernel let go of recycles the page.</summary>
    /// <exception cref="PagePoolException">Not a slice this receiver handed out, or one already released.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release([Owned] Page slice)
    {
        int id = slice.Id;
        Page[] pages = _pages;
        if (slice.PoolId != _poolId || (uint)id >= (uint)pages.Length || slice.IsDefault)
        {
            ThrowNotASlice(slice);
        }
        // A legitimate slice's page was stored before the slice was handed out (and that hand-over orders it); only a
        // misused handle can race with the store, and then the checks below or the count's underflow refuse it.
        Page whole = pages[id];
        if (whole.IsDefault || whole.Generation != slice.Generation
            || (ulong)(slice.Address - whole.Address) + (ulong)slice.Length > (ulong)whole.Length)
        {
            ThrowNotASlice(slice);
        }
        int left = Interlocked.Decrement(ref _refs[id]);
        if (left <= 0)
        {
            ReleaseLast(slice, left);
        }
        Interlocked.Increment(ref _released);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseLast(Page slice, int left)
    {
        if (left < 0)
        {
            Interlocked.Increment(ref _refs[slice.Id]);
            ThrowNotASlice(slice);
        }
        RecycleWhole(slice.Id);
    }

    private void RecycleWhole(int id)
    {
        Page whole = _pages[id];
        // Cleared before the recycle (whose publication orders it): once in the pool the page can be posted, filled and
        // sliced again at once.
        _pages[id] = default;
        _pool.RecyclePage(whole);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotASlice(Page slice) =>
        throw new PagePoolException(
            slice.IsDefault
                ? $"io_uring: {_name} was given default(Page) to release: release only the pages its receive handed out."
                : $"io_uring: page {slice.Id} ({slice.Length} bytes at 0x{slice.Address:x}) is not a received slice that {_name} has out: it was released already, belongs to another pool, or was never handed out by it.",
            _core?.Name, slice.IsDefault ? -1 : slice.Id);
}

/// <summary>
/// The page source a receiver gives its buffer ring: pages come from the user's pool; pages the ring still holds at
/// teardown go through <see cref="ReceiveSlices{TPages}.ReturnPosted"/>, so one with slices out is not recycled under them.
/// </summary>
internal readonly struct SlicedPageSource<TPages>(ReceiveSlices<TPages> slices) : IPageSource where TPages : struct, IPageSource
{
    public int PoolSize => slices.Pool.PoolSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int AllocPages(Span<Page> pages) => slices.Pool.AllocPages(pages);

    public void RecyclePage([Owned] Page page) => slices.ReturnPosted(page);
}
