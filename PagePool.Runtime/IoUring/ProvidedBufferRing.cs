using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using static PagePool.IoUring.IoUringNative;

namespace PagePool.IoUring;

/// <summary>
/// A provided-buffer ring (<c>IORING_REGISTER_PBUF_RING</c>) fed by a page pool: the user-space form of a NIC's RX
/// ring. <see cref="Refill"/> takes pages from the pool in batches and posts each with its page id as the buffer id;
/// the kernel fills one when data arrives and names it in a completion; <see cref="TryTakePage(in IoCompletion, out Page)"/>
/// turns that completion back into the <see cref="Page"/>, which the caller then owns and recycles as usual.
/// </summary>
/// <typeparam name="TPages">A struct adapter over the pool (<see cref="RuntimePageSource"/>, or a few lines for a
/// <c>[PagePool]</c> class: see <see cref="IPageSource"/>): calls to the pool are direct, never dispatched per page.</typeparam>
/// <remarks>
/// <para>Posted pages count as in use (<c>PagesInUse</c>), as the kernel counts the pages on a NIC's ring: they
/// belong to the ring until a completion hands them to the caller, or until the ring is released and they go back to
/// the pool. Every page is accounted for at every moment: posted (held here), taken by the caller, or in the pool.</para>
/// <para>One ring can serve any number of operations and sockets on its <see cref="IoRing"/> (each multishot receive
/// names <see cref="GroupId"/>), so the memory for receiving follows the pool, not the number of sockets.</para>
/// <para>Thread-safety: none; every member runs on the <see cref="IoRing"/>'s owner thread, which must also be the
/// pool's owner context (it allocates). Pages taken from it may be recycled on any thread.</para>
/// <para>Lifetime: <see cref="Dispose"/>, or the <see cref="IoRing"/>'s own <c>Dispose</c>, cancels and drains the
/// ring's operations, unregisters the buffer ring and returns every page still posted to its pool.</para>
/// </remarks>
public sealed unsafe class ProvidedBufferRing<TPages> : IRingAttachment, IDisposable where TPages : struct, IPageSource
{
    /// <summary>The largest buffer ring the kernel accepts.</summary>
    public const int MaxEntries = 32768;

    /// <summary>Buffer ids are 16 bits: pools with more pages than this cannot post their pages by id.</summary>
    public const int MaxPoolSize = 65536;

    private const int RefillBatch = 64;

    private readonly IoRing _ring;
    private readonly Page[] _slots;      // by page id: the page while it is posted, default otherwise
    private readonly int[]? _offsets;    // incremental rings: bytes of each posted page the kernel has consumed
    private readonly Page[] _batch = new Page[RefillBatch];
    private readonly nint _memory;
    private readonly nuint _memorySize;
    private readonly Buf* _bufs;
    private readonly ushort* _tailPointer;
    private readonly int _mask;
    private TPages _pages;
    private ushort _tail;
    private int _posted;
    private long _refills;
    private long _taken;
    private bool _released;

    /// <summary>Creates and registers a buffer ring on <paramref name="ring"/>. Nothing is posted until <see cref="Refill"/>.</summary>
    /// <param name="ring">The io_uring instance; the calling thread becomes (or must be) its owner.</param>
    /// <param name="pages">The pool adapter.</param>
    /// <param name="groupId">The buffer group id operations name (<c>buf_group</c>); unique per ring.</param>
    /// <param name="entries">Ring size: a power of two, 1 to 32768; the most pages posted at once.</param>
    /// <param name="incremental">Incremental consumption (<c>IOU_PBUF_RING_INC</c>, Linux 6.12): a read takes only the
    /// bytes it needs from a page and the next read continues in the same page, so several small reads share one page.
    /// Use <see cref="TryTakePage(in IoCompletion, out Page, out int)"/> with it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="ring"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is not a power of two from 1 to 32768.</exception>
    /// <exception cref="ArgumentException">Group <paramref name="groupId"/> is already registered on the ring.</exception>
    /// <exception cref="PagePoolException">The pool has more than 65,536 pages: its page ids do not fit the kernel's 16-bit buffer ids.</exception>
    /// <exception cref="PlatformNotSupportedException">The kernel lacks provided-buffer rings (5.19) or, with
    /// <paramref name="incremental"/>, incremental consumption (6.12).</exception>
    public ProvidedBufferRing(IoRing ring, TPages pages, ushort groupId, int entries, bool incremental = false)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (entries < 1 || entries > MaxEntries || (entries & (entries - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(entries), entries, "io_uring: a provided-buffer ring's size must be a power of two from 1 to 32768.");
        }
        int poolSize = pages.PoolSize;
        if (poolSize > MaxPoolSize || poolSize < 1)
        {
            throw new PagePoolException(
                $"io_uring: a provided-buffer ring names pages by a 16-bit buffer id, so the pool may have at most {MaxPoolSize} pages; it has {poolSize}.",
                poolName: null, pageId: -1);
        }
        if (incremental)
        {
            ring.RequireFeature(IoRingFeatures.IncrementalBufferConsumption, "incremental buffer consumption (IOU_PBUF_RING_INC)", "6.12");
        }

        _ring = ring;
        _pages = pages;
        _mask = entries - 1;
        Entries = entries;
        GroupId = groupId;
        Incremental = incremental;
        _slots = new Page[poolSize];
        _offsets = incremental ? new int[poolSize] : null;

        // The ring lives in its own anonymous mapping: page-aligned, as the kernel requires, and never moved.
        _memorySize = (nuint)Math.Max(Environment.SystemPageSize, entries * sizeof(Buf));
        _memorySize = (_memorySize + (nuint)Environment.SystemPageSize - 1) & ~((nuint)Environment.SystemPageSize - 1);
        _memory = Mmap(0, _memorySize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (_memory == MAP_FAILED)
        {
            throw new IoUringException($"io_uring: mmap of {_memorySize} bytes for buffer ring {groupId} failed with {ErrnoName(Marshal.GetLastPInvokeError())}.", Marshal.GetLastPInvokeError());
        }
        _bufs = (Buf*)_memory;
        _tailPointer = (ushort*)((byte*)_memory + 14); // the tail shares entry 0's reserved field

        BufReg reg = default;
        reg.RingAddr = (ulong)_memory;
        reg.RingEntries = (uint)entries;
        reg.Bgid = groupId;
        reg.Flags = incremental ? IOU_PBUF_RING_INC : (ushort)0;
        int r;
        try
        {
            r = ring.RegisterRaw(IORING_REGISTER_PBUF_RING, &reg, 1);
        }
        catch
        {
            Munmap(_memory, _memorySize);
            throw;
        }
        if (r < 0)
        {
            Munmap(_memory, _memorySize);
            throw -r switch
            {
                EEXIST => new ArgumentException($"io_uring: buffer group {groupId} is already registered on ring {ring.FileDescriptor}.", nameof(groupId)),
                EINVAL when IoRing.KernelVersion < new Version(5, 19) => new PlatformNotSupportedException(
                    $"io_uring: provided-buffer rings need Linux 5.19 or later; this kernel is {IoRing.KernelVersion}."),
                _ => new IoUringException($"io_uring: IORING_REGISTER_PBUF_RING for group {groupId} ({entries} entries) failed with {ErrnoName(-r)}.", -r),
            };
        }
        ring.Attach(this);
    }

    /// <summary>The buffer group id operations name to take pages from this ring.</summary>
    public ushort GroupId { get; }

    /// <summary>The ring's size: the most pages posted at once.</summary>
    public int Entries { get; }

    /// <summary>True for an incremental ring (<c>IOU_PBUF_RING_INC</c>).</summary>
    public bool Incremental { get; }

    /// <summary>Pages posted to the kernel and not yet taken back (some may be filled, their completions not yet read).</summary>
    public int PagesPosted => _posted;

    /// <summary>Times <see cref="Refill"/> posted at least one page.</summary>
    public long Refills => _refills;

    /// <summary>Pages handed to the caller from completions since the ring was created.</summary>
    public long PagesTaken => _taken;

    /// <summary>
    /// Posts pages from the pool until the ring is full or the pool has none free (backpressure, as a NIC ring runs
    /// short when its pool is empty), in batches of 64. Returns how many pages it posted.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The ring was released.</exception>
    /// <exception cref="PagePoolException">The pool handed out a page that is already posted (a pool bug or a page recycled twice).</exception>
    public int Refill()
    {
        if (_released)
        {
            ThrowReleased();
        }
        // Counting every page posted and not yet taken back keeps this conservative: the kernel may have consumed
        // more (completions not read yet), never fewer, so the ring never overflows.
        int free = Entries - _posted;
        int added = 0;
        while (free > 0)
        {
            int want = Math.Min(free, RefillBatch);
            int got = _pages.AllocPages(_batch.AsSpan(0, want));
            for (int i = 0; i < got; i++)
            {
                Page page = _batch[i];
                ref Page slot = ref _slots[page.Id];
                if (!slot.IsDefault)
                {
                    ThrowAlreadyPosted(page);
                }
                slot = page;
                Buf* buf = _bufs + ((_tail + added + i) & _mask);
                // Field by field: entry 0's last two bytes are the ring's tail.
                buf->Addr = (ulong)page.Address;
                buf->Len = (uint)page.Length;
                buf->Bid = (ushort)page.Id;
            }
            added += got;
            free -= got;
            if (got < want)
            {
                break;
            }
        }
        if (added > 0)
        {
            _tail = (ushort)(_tail + added);
            _posted += added;
            _refills++;
            // Release: the kernel reads the new entries only after it sees the tail.
            Volatile.Write(ref *_tailPointer, _tail);
        }
        return added;
    }

    /// <summary>
    /// When <paramref name="completion"/> carries a buffer of this ring, hands its page to the caller, who owns it from
    /// now on (and recycles it into its pool as usual); otherwise returns false. The data starts at the page's first
    /// byte; its length is the completion's result. Each page is handed out once per posting.
    /// </summary>
    /// <exception cref="InvalidOperationException">The ring is incremental: use the overload with an offset.</exception>
    /// <exception cref="PagePoolException">The completion names a buffer this ring has not posted (it belongs to another group).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTakePage(in IoCompletion completion, out Page page)
    {
        if (!completion.HasBuffer)
        {
            page = default;
            return false;
        }
        if (_offsets is not null)
        {
            ThrowIncremental();
        }
        page = Take(completion.BufferId);
        return true;
    }

    /// <summary>
    /// For any ring, and the way to read an incremental one: <paramref name="offset"/> is where this completion's bytes
    /// start in the page (always 0 on a non-incremental ring). Returns true, and the page, which the caller then owns,
    /// when the kernel has let go of it; false while the kernel keeps the page to append the next read
    /// (<see cref="IoCompletion.BufferMore"/>): then read the bytes through <see cref="PeekPage"/>, and the page comes
    /// with a later completion. Also false when the completion carries no buffer.
    /// </summary>
    /// <exception cref="PagePoolException">The completion names a buffer this ring has not posted.</exception>
    public bool TryTakePage(in IoCompletion completion, out Page page, out int offset)
    {
        page = default;
        offset = 0;
        if (!completion.HasBuffer)
        {
            return false;
        }
        int bid = completion.BufferId;
        if (_offsets is null)
        {
            page = Take(bid);
            return true;
        }
        if ((uint)bid >= (uint)_slots.Length || _slots[bid].IsDefault)
        {
            ThrowUnknownBuffer(bid);
        }
        offset = _offsets[bid];
        _offsets[bid] = offset + Math.Max(completion.Result, 0);
        if (completion.BufferMore)
        {
            return false;
        }
        _offsets[bid] = 0;
        page = Take(bid);
        return true;
    }

    /// <summary>
    /// The page posted under <paramref name="bufferId"/>, lent for reading the bytes of an incremental completion while
    /// the kernel keeps the page. The caller does not own it and must not recycle it.
    /// </summary>
    /// <exception cref="PagePoolException">Nothing is posted under <paramref name="bufferId"/>.</exception>
    [return: NotOwned]
    public Page PeekPage(int bufferId)
    {
        if ((uint)bufferId >= (uint)_slots.Length || _slots[bufferId].IsDefault)
        {
            ThrowUnknownBuffer(bufferId);
        }
        return _slots[bufferId];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Page Take(int bid)
    {
        Page[] slots = _slots;
        if ((uint)bid >= (uint)slots.Length || slots[bid].IsDefault)
        {
            ThrowUnknownBuffer(bid);
        }
        Page page = slots[bid];
        slots[bid] = default;
        _posted--;
        _taken++;
        return page;
    }

    /// <summary>
    /// Cancels and drains every operation on the <see cref="IoRing"/> (they may be using this group), unregisters the
    /// buffer ring and returns every page still posted to the pool. Idempotent; the <see cref="IoRing"/> stays usable.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread other than the ring's owner.</exception>
    public void Dispose()
    {
        if (_released)
        {
            return;
        }
        bool drained = _ring.IsDisposed || _ring.CancelAll();
        _ring.Detach(this);
        ((IRingAttachment)this).Release(drained);
    }

    void IRingAttachment.Release(bool drained)
    {
        if (_released)
        {
            return;
        }
        _released = true;
        int r = 0;
        BufReg reg = default;
        reg.Bgid = GroupId;
        r = _ring.RegisterRaw(IORING_UNREGISTER_PBUF_RING, &reg, 1);
        Munmap(_memory, _memorySize);
        if (!drained)
        {
            // An operation that could not be cancelled may still be writing into a page it picked: those pages stay
            // out of the pool (counted in use) rather than being handed out while the kernel may write into them.
            return;
        }
        int count = 0;
        Page[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (!slots[i].IsDefault)
            {
                Page page = slots[i];
                slots[i] = default;
                _pages.RecyclePage(page);
                count++;
            }
        }
        _posted -= count;
        if (r < 0)
        {
            throw new IoUringException($"io_uring: IORING_UNREGISTER_PBUF_RING for group {GroupId} failed with {ErrnoName(-r)}; its pages were returned to the pool.", -r);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowUnknownBuffer(int bid) =>
        throw new PagePoolException(
            $"io_uring: a completion names buffer {bid}, which buffer group {GroupId} has not posted: it belongs to another group, or the completion was already taken.",
            poolName: null, pageId: bid);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowAlreadyPosted(Page page) =>
        throw new PagePoolException(
            $"io_uring: the pool handed out page {page.Id} while buffer group {GroupId} still has it posted (was it recycled while the kernel held it?).",
            poolName: page.Core?.Name, pageId: page.Id);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIncremental() =>
        throw new InvalidOperationException($"io_uring: buffer group {GroupId} is incremental: use TryTakePage(completion, out page, out offset).");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowReleased() => throw new ObjectDisposedException($"ProvidedBufferRing (group {GroupId})");
}
