using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using static PagePool.IoUring.IoUringNative;

namespace PagePool.IoUring;

/// <summary>
/// One io_uring instance, driven from one thread: a submission ring the caller queues operations into and a
/// completion ring it reads results from, both mapped once into this process. Linux 5.19 or later, 64-bit.
/// </summary>
/// <remarks>
/// <para>How to use it (the owner thread does every step; the receive loop of a NIC driver has the same shape):</para>
/// <code>
/// using var ring = new IoRing();
/// using var buffers = new ProvidedBufferRing&lt;RuntimePageSource&gt;(ring, new RuntimePageSource(pool), groupId: 1, entries: 256);
/// buffers.Refill();                                           // post pages from the pool
/// ring.QueueReceiveMultishot(socketFd, buffers.GroupId, userData: (ulong)socketFd);
/// while (running)
/// {
///     ring.SubmitAndWait(minComplete: 1, timeoutMs: 100);     // one system call submits and waits
///     while (ring.TryGetCompletion(out IoCompletion c))
///     {
///         if (buffers.TryTakePage(c, out Page page)) { /* c.Result bytes at page.Span; recycle the page when done */ }
///         if (!c.HasMore) { /* multishot ended (ENOBUFS when the ring ran dry): refill, queue it again */ }
///     }
///     buffers.Refill();
/// }
/// </code>
/// <para>Thread-safety: none of the members is thread-safe. The first thread that queues, submits, registers a buffer
/// ring or disposes becomes the ring's owner (the kernel's single issuer, where it has
/// <c>IORING_SETUP_SINGLE_ISSUER</c>), and every later call must come from it; a call from another thread throws
/// <see cref="InvalidOperationException"/> and changes nothing. Pages taken from completions may be recycled on any
/// thread, as usual.</para>
/// <para><see cref="Dispose"/> cancels every operation still armed, waits for their last completions, unregisters and
/// releases the provided-buffer rings created on this ring (returning every posted page to its pool), then unmaps the
/// rings and closes the file descriptor.</para>
/// <para>User data: any value the caller likes, except the top 256 values (<see cref="ReservedUserData"/> and above),
/// which the ring uses for its own operations and never returns from <see cref="TryGetCompletion"/>.</para>
/// </remarks>
public sealed unsafe class IoRing : IDisposable
{
    /// <summary>User data values from this one up are the ring's own (cancellations); callers must not use them.</summary>
    public const ulong ReservedUserData = 0xFFFF_FFFF_FFFF_FF00UL;

    private const ulong CancelUserData = ReservedUserData;
    private const int MaxEntries = 32768;

    private readonly int _fd;
    private readonly nint _ringMemory;
    private readonly nuint _ringMemorySize;
    private readonly nint _sqeMemory;
    private readonly nuint _sqeMemorySize;

    private readonly uint* _sqHead;
    private readonly uint* _sqTail;
    private readonly uint* _sqFlags;
    private readonly uint _sqMask;
    private readonly uint _sqEntries;
    private readonly Sqe* _sqes;

    private readonly uint* _cqHead;
    private readonly uint* _cqTail;
    private readonly uint _cqMask;
    private readonly Cqe* _cqes;

    private readonly uint _setupFlags;
    private readonly bool _deferTaskRun;
    private readonly List<IRingAttachment> _attachments = new();

    private uint _sqLocalTail;   // sqes written, published to the kernel's tail by Publish()
    private uint _sqSubmitted;   // sqes the kernel has been told about by io_uring_enter
    private int _inFlight;       // operations queued whose last completion has not been read
    private int _ownerThread;    // managed thread id of the owner; 0 until the first call binds it
    private bool _disposed;

    /// <summary>Creates a ring with default sizes (256 submission entries, 4096 completion entries).</summary>
    /// <exception cref="PlatformNotSupportedException">Not 64-bit Linux, io_uring is disabled or forbidden (the message says
    /// which: <c>kernel.io_uring_disabled</c>, seccomp, a container profile) or the kernel is older than 5.19.</exception>
    /// <exception cref="IoUringException">The kernel refused the ring for another reason (memory, file descriptors).</exception>
    public IoRing() : this(256, 4096)
    {
    }

    /// <summary>Creates a ring with <paramref name="entries"/> submission entries and <paramref name="completionEntries"/> completion entries.</summary>
    /// <param name="entries">Submission ring size: a power of two, 1 to 32768.</param>
    /// <param name="completionEntries">Completion ring size: a power of two, at least <paramref name="entries"/>, at most 65536.
    /// Multishot receives post a completion per datagram or read, so this bounds the burst the kernel can post between two reads.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not a power of two or out of range.</exception>
    /// <exception cref="PlatformNotSupportedException">See <see cref="IoRing()"/>.</exception>
    /// <exception cref="IoUringException">See <see cref="IoRing()"/>.</exception>
    public IoRing(int entries, int completionEntries)
    {
        if (entries < 1 || entries > MaxEntries || !IsPowerOfTwo(entries))
        {
            throw new ArgumentOutOfRangeException(nameof(entries), entries, "io_uring: the submission ring size must be a power of two from 1 to 32768.");
        }
        if (completionEntries < entries || completionEntries > 2 * MaxEntries || !IsPowerOfTwo(completionEntries))
        {
            throw new ArgumentOutOfRangeException(nameof(completionEntries), completionEntries,
                "io_uring: the completion ring size must be a power of two from the submission ring size to 65536.");
        }
        ThrowIfPlatformUnsupported();

        Params p = default;
        int fd = SetupWithFallback((uint)entries, (uint)completionEntries, ref p);
        _fd = fd;
        _setupFlags = p.Flags;
        _deferTaskRun = (p.Flags & IORING_SETUP_DEFER_TASKRUN) != 0;
        try
        {
            if ((p.Features & IORING_FEAT_SINGLE_MMAP) == 0 || (p.Features & IORING_FEAT_EXT_ARG) == 0)
            {
                throw new PlatformNotSupportedException(
                    $"io_uring: this kernel ({KernelVersion}) lacks IORING_FEAT_SINGLE_MMAP or IORING_FEAT_EXT_ARG; PagePool.IoUring needs Linux 5.19 or later.");
            }

            // One mapping holds both the SQ ring and the CQ ring (IORING_FEAT_SINGLE_MMAP): map the larger of the two.
            nuint sqSize = p.SqOff.Array + p.SqEntries * sizeof(uint);
            nuint cqSize = p.CqOff.Cqes + p.CqEntries * (nuint)sizeof(Cqe);
            _ringMemorySize = Math.Max(sqSize, cqSize);
            _ringMemory = Mmap(0, _ringMemorySize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
            if (_ringMemory == MAP_FAILED)
            {
                throw Fail("mmap of the submission and completion rings", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
            }
            _sqeMemorySize = p.SqEntries * (nuint)sizeof(Sqe);
            _sqeMemory = Mmap(0, _sqeMemorySize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
            if (_sqeMemory == MAP_FAILED)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                Munmap(_ringMemory, _ringMemorySize);
                throw Fail("mmap of the submission entries", errno);
            }

            byte* ring = (byte*)_ringMemory;
            _sqHead = (uint*)(ring + p.SqOff.Head);
            _sqTail = (uint*)(ring + p.SqOff.Tail);
            _sqFlags = (uint*)(ring + p.SqOff.Flags);
            _sqMask = *(uint*)(ring + p.SqOff.RingMask);
            _sqEntries = *(uint*)(ring + p.SqOff.RingEntries);
            _sqes = (Sqe*)_sqeMemory;
            uint* array = (uint*)(ring + p.SqOff.Array);
            for (uint i = 0; i < _sqEntries; i++)
            {
                array[i] = i; // entry i of the submission ring is always sqe i: the indirection is set once
            }
            _cqHead = (uint*)(ring + p.CqOff.Head);
            _cqTail = (uint*)(ring + p.CqOff.Tail);
            _cqMask = *(uint*)(ring + p.CqOff.RingMask);
            _cqes = (Cqe*)(ring + p.CqOff.Cqes);
            _sqLocalTail = _sqSubmitted = Volatile.Read(ref *_sqTail);

            SubmissionEntries = (int)_sqEntries;
            CompletionEntries = (int)*(uint*)(ring + p.CqOff.RingEntries);
            Features = ProbeFeatures(fd, p);
        }
        catch
        {
            if (_sqeMemory != 0 && _sqeMemory != MAP_FAILED)
            {
                Munmap(_sqeMemory, _sqeMemorySize);
            }
            if (_ringMemory != 0 && _ringMemory != MAP_FAILED)
            {
                Munmap(_ringMemory, _ringMemorySize);
            }
            Close(fd);
            throw;
        }
    }

    /// <summary>What this kernel and this ring support.</summary>
    public IoRingFeatures Features { get; }

    /// <summary>Submission ring size.</summary>
    public int SubmissionEntries { get; }

    /// <summary>Completion ring size.</summary>
    public int CompletionEntries { get; }

    /// <summary>The ring's file descriptor (for diagnostics).</summary>
    public int FileDescriptor => _fd;

    /// <summary>Operations queued whose last completion has not been read yet (multishot operations count once).</summary>
    public int OperationsInFlight => _inFlight;

    /// <summary>The running kernel's version, as the runtime reads it from <c>uname</c>.</summary>
    public static Version KernelVersion => Environment.OSVersion.Version;

    /// <summary>
    /// True when io_uring can be used here with what PagePool.IoUring needs (provided-buffer rings, multishot receive);
    /// otherwise false and <paramref name="reason"/> says why (the same text the constructor's exception carries).
    /// </summary>
    public static bool IsSupported(out string? reason)
    {
        try
        {
            using var ring = new IoRing(2, 2);
            if (!ring.Features.HasFlag(IoRingFeatures.MultishotReceive))
            {
                reason = $"io_uring: multishot receive needs Linux 6.0 or later; this kernel is {KernelVersion}.";
                return false;
            }
            reason = null;
            return true;
        }
        catch (Exception ex) when (ex is PlatformNotSupportedException or IoUringException)
        {
            reason = ex.Message;
            return false;
        }
    }

    // ==================================================================== queueing (owner thread)

    /// <summary>
    /// Queues a multishot <c>recv</c> on <paramref name="fd"/> (any stream or datagram socket) that takes its buffers
    /// from provided-buffer group <paramref name="bufferGroup"/>: one completion per read, each naming the page the
    /// kernel filled, until a completion without <see cref="IoCompletion.HasMore"/> ends it (the ring ran dry:
    /// <c>ENOBUFS</c>; the peer closed: result 0; cancelled; an error).
    /// </summary>
    /// <param name="fd">The socket's file descriptor (for a <see cref="System.Net.Sockets.Socket"/>: <c>(int)socket.Handle</c>).</param>
    /// <param name="bufferGroup">The <see cref="ProvidedBufferRing{TPages}.GroupId"/> to take pages from.</param>
    /// <param name="userData">Returned in every completion of this operation: encode the socket or connection in it.</param>
    /// <param name="messageFlags"><c>MSG_*</c> flags for <c>recv</c> (usually 0).</param>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner, or after <see cref="Dispose"/>.</exception>
    /// <exception cref="PlatformNotSupportedException">The kernel has no multishot receive (before 6.0).</exception>
    public void QueueReceiveMultishot(int fd, ushort bufferGroup, ulong userData, int messageFlags = 0)
    {
        CheckUserData(userData);
        RequireFeature(IoRingFeatures.MultishotReceive, "multishot receive", "6.0");
        ref Sqe sqe = ref NextSqe();
        sqe.Opcode = IORING_OP_RECV;
        sqe.Flags = IOSQE_BUFFER_SELECT;
        sqe.IoPrio = IORING_RECV_MULTISHOT;
        sqe.Fd = fd;
        sqe.OpFlags = (uint)messageFlags;
        sqe.BufGroup = bufferGroup;
        sqe.UserData = userData;
        Queued();
    }

    /// <summary>
    /// Queues a multishot <c>recvmsg</c> on <paramref name="fd"/> with buffers from <paramref name="bufferGroup"/>: each
    /// completion's page starts with a <c>struct io_uring_recvmsg_out</c>, then the source address and control space
    /// that <paramref name="messageHeader"/> asks for, then the payload. <see cref="UdpMultishotReceiver{TPages}"/>
    /// wraps this for UDP.
    /// </summary>
    /// <param name="fd">The socket's file descriptor.</param>
    /// <param name="bufferGroup">The buffer group to take pages from.</param>
    /// <param name="messageHeader">A <c>struct msghdr</c> with <c>msg_namelen</c>/<c>msg_controllen</c> set and no iovec;
    /// it must stay valid until the operation's last completion.</param>
    /// <param name="userData">Returned in every completion of this operation.</param>
    /// <param name="messageFlags"><c>MSG_*</c> flags; <c>MSG_TRUNC</c> (0x20) makes the header report a datagram's full length.</param>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner, or after <see cref="Dispose"/>.</exception>
    /// <exception cref="PlatformNotSupportedException">The kernel has no multishot receive (before 6.0).</exception>
    public void QueueReceiveMessageMultishot(int fd, ushort bufferGroup, nint messageHeader, ulong userData, int messageFlags = 0)
    {
        CheckUserData(userData);
        RequireFeature(IoRingFeatures.MultishotReceive, "multishot recvmsg", "6.0");
        if (messageHeader == 0)
        {
            throw new ArgumentNullException(nameof(messageHeader), "io_uring: recvmsg needs a struct msghdr.");
        }
        ref Sqe sqe = ref NextSqe();
        sqe.Opcode = IORING_OP_RECVMSG;
        sqe.Flags = IOSQE_BUFFER_SELECT;
        sqe.IoPrio = IORING_RECV_MULTISHOT;
        sqe.Fd = fd;
        sqe.Addr = (ulong)messageHeader;
        sqe.Len = 1;
        sqe.OpFlags = (uint)messageFlags;
        sqe.BufGroup = bufferGroup;
        sqe.UserData = userData;
        Queued();
    }

    /// <summary>Queues a no-op that completes with result 0 (wakes a waiting <see cref="SubmitAndWait(int, int)"/>; tests).</summary>
    public void QueueNop(ulong userData)
    {
        CheckUserData(userData);
        ref Sqe sqe = ref NextSqe();
        sqe.Opcode = IORING_OP_NOP;
        sqe.UserData = userData;
        Queued();
    }

    /// <summary>
    /// Queues the cancellation of every operation queued with <paramref name="userData"/>; each ends with a last
    /// completion (usually <c>-ECANCELED</c>). The cancellation's own completion is not returned.
    /// </summary>
    public void QueueCancel(ulong userData)
    {
        CheckUserData(userData);
        QueueCancelCore(userData, IORING_ASYNC_CANCEL_ALL);
    }

    /// <summary>Queues the cancellation of every operation on file descriptor <paramref name="fd"/> (for example a closing connection).</summary>
    public void QueueCancelFd(int fd)
    {
        ref Sqe sqe = ref QueueCancelCore(0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD);
        sqe.Fd = fd;
    }

    private ref Sqe QueueCancelCore(ulong target, uint flags)
    {
        ref Sqe sqe = ref NextSqe();
        sqe.Opcode = IORING_OP_ASYNC_CANCEL;
        sqe.Fd = -1;
        sqe.Addr = target;
        sqe.OpFlags = flags;
        sqe.UserData = CancelUserData;
        Queued();
        return ref sqe;
    }

    // ==================================================================== submitting and reaping (owner thread)

    /// <summary>
    /// Hands every queued operation to the kernel and lets it post pending completions, without waiting.
    /// Returns how many completions are ready to read.
    /// </summary>
    /// <exception cref="IoUringException">io_uring_enter failed.</exception>
    public int Submit() => SubmitAndWait(0, 0, 0);

    /// <summary>
    /// Hands every queued operation to the kernel and waits until at least <paramref name="minComplete"/> completions are
    /// ready or <paramref name="timeoutMs"/> milliseconds have passed (-1: no limit), in one system call. Returns how many
    /// completions are ready to read (possibly fewer than asked after a timeout or a signal).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative <paramref name="minComplete"/>, or <paramref name="timeoutMs"/> below -1.</exception>
    /// <exception cref="IoUringException">io_uring_enter failed.</exception>
    public int SubmitAndWait(int minComplete, int timeoutMs) => SubmitAndWait(minComplete, timeoutMs, 0);

    /// <summary>
    /// <see cref="SubmitAndWait(int, int)"/> with completion coalescing, as a NIC's <c>rx-usecs</c>: the kernel waits up to
    /// <paramref name="batchWaitMicroseconds"/> for <paramref name="minComplete"/> completions, then returns with whatever
    /// has arrived if that is at least one, else goes on waiting for one until the timeout. Fewer wake-ups per
    /// completion, for up to that much added latency. Where the kernel lacks it (before 6.12,
    /// <see cref="IoRingFeatures.BatchWait"/>), <paramref name="minComplete"/> is lowered to 1 instead.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative argument, or <paramref name="timeoutMs"/> below -1.</exception>
    /// <exception cref="IoUringException">io_uring_enter failed.</exception>
    public int SubmitAndWait(int minComplete, int timeoutMs, int batchWaitMicroseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minComplete);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);
        ArgumentOutOfRangeException.ThrowIfNegative(batchWaitMicroseconds);
        if (batchWaitMicroseconds > 0 && (Features & IoRingFeatures.BatchWait) == 0)
        {
            batchWaitMicroseconds = 0;
            minComplete = Math.Min(minComplete, 1);
        }
        CheckOwner();
        Publish();
        uint toSubmit = _sqLocalTail - _sqSubmitted;
        int ready = CompletionsReady;
        if (toSubmit == 0 && ready >= minComplete && (minComplete > 0 || !NeedsEnterForCompletions()))
        {
            return ready;
        }
        uint wait = ready >= minComplete ? 0 : (uint)minComplete;
        uint flags = IORING_ENTER_GETEVENTS;
        GetEventsArg arg = default;
        KernelTimespec ts = default;
        void* argPtr = null;
        nuint argSize = 0;
        if (wait > 0 && (timeoutMs >= 0 || batchWaitMicroseconds > 0))
        {
            if (timeoutMs >= 0)
            {
                ts.Sec = timeoutMs / 1000;
                ts.Nsec = (timeoutMs % 1000) * 1_000_000L;
                arg.Ts = (ulong)&ts;
            }
            arg.MinWaitUsec = (uint)batchWaitMicroseconds;
            argPtr = &arg;
            argSize = (nuint)sizeof(GetEventsArg);
            flags |= IORING_ENTER_EXT_ARG;
        }
        int r = Enter(_fd, toSubmit, wait, flags, argPtr, argSize);
        // The kernel's head says exactly how many entries it consumed, whatever the call returned.
        _sqSubmitted = Volatile.Read(ref *_sqHead);
        if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
        {
            // ETIME: the wait timed out; EINTR: a signal; EAGAIN/EBUSY: the completion ring is full and must be read
            // first. Anything else is a real failure.
            throw Fail("io_uring_enter", -r);
        }
        return CompletionsReady;
    }

    /// <summary>Completions ready to read now.</summary>
    public int CompletionsReady => (int)(Volatile.Read(ref *_cqTail) - *_cqHead);

    /// <summary>
    /// Reads the next completion, if one is ready; the ring's own completions (cancellations) are skipped. Does not
    /// enter the kernel: call <see cref="Submit"/> or <see cref="SubmitAndWait(int, int)"/> first.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetCompletion(out IoCompletion completion)
    {
        CheckOwner();
        while (true)
        {
            uint head = *_cqHead;
            // Acquire: the entry's contents are read only after the kernel's tail store that published them.
            if (head == Volatile.Read(ref *_cqTail))
            {
                completion = default;
                return false;
            }
            Cqe cqe = _cqes[head & _cqMask];
            // Release: the kernel may reuse the slot only after this entry has been read.
            Volatile.Write(ref *_cqHead, head + 1);
            if ((cqe.Flags & IORING_CQE_F_MORE) == 0)
            {
                _inFlight--;
            }
            if (cqe.UserData >= ReservedUserData)
            {
                continue;
            }
            completion = new IoCompletion(cqe.UserData, cqe.Res, cqe.Flags);
            return true;
        }
    }

    // ==================================================================== teardown

    /// <summary>
    /// Cancels every operation in flight and reads completions until each has posted its last one, or
    /// <paramref name="timeoutMs"/> has passed. Completions read here are discarded: pages they name stay with their
    /// provided-buffer ring, which returns them to their pool when it is released. Returns true when nothing is left
    /// in flight.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner.</exception>
    public bool CancelAll(int timeoutMs = 5000)
    {
        CheckOwner();
        if (_inFlight == 0)
        {
            return true;
        }
        QueueCancelCore(0, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_ANY);
        long deadline = Environment.TickCount64 + timeoutMs;
        while (_inFlight > 0)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
            {
                return false;
            }
            SubmitAndWait(1, (int)Math.Min(left, 100));
            while (TryGetCompletion(out _))
            {
            }
        }
        return true;
    }

    /// <summary>
    /// Cancels and drains every operation, releases the provided-buffer rings created on this ring (each unregistered and
    /// its posted pages recycled), unmaps the rings and closes the ring's file descriptor. Idempotent.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner (nothing is released then).</exception>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        CheckOwner();
        bool drained = CancelAll();
        _disposed = true;
        Exception? failure = null;
        for (int i = _attachments.Count - 1; i >= 0; i--)
        {
            try
            {
                // Pages an operation that could not be cancelled may still write into stay out of their pool (they
                // are reported as in use) rather than being handed out while the kernel holds them.
                _attachments[i].Release(drained);
            }
            catch (Exception ex)
            {
                failure ??= ex;
            }
        }
        _attachments.Clear();
        _ownerThread = 0; // every later call takes the slow path, which reports the disposal
        Munmap(_sqeMemory, _sqeMemorySize);
        Munmap(_ringMemory, _ringMemorySize);
        Close(_fd);
        if (failure is not null)
        {
            throw failure;
        }
        if (!drained)
        {
            throw new IoUringException(
                $"io_uring: {_inFlight} operations did not complete after cancellation; the pages posted for them were not recycled.", ECANCELED);
        }
    }

    // ==================================================================== for provided-buffer rings

    internal int RegisterRaw(uint opcode, void* arg, uint count)
    {
        CheckOwner();
        return Register(_fd, opcode, arg, count);
    }

    internal void Attach(IRingAttachment attachment)
    {
        CheckOwner();
        _attachments.Add(attachment);
    }

    internal void Detach(IRingAttachment attachment) => _attachments.Remove(attachment);

    internal bool IsDisposed => _disposed;

    internal void RequireFeature(IoRingFeatures feature, string what, string version)
    {
        if ((Features & feature) == 0)
        {
            throw new PlatformNotSupportedException($"io_uring: {what} needs Linux {version} or later; this kernel is {KernelVersion}.");
        }
    }

    // ==================================================================== internals

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Sqe NextSqe()
    {
        CheckOwner();
        // Acquire on the kernel's head: a slot is reused only after the kernel has consumed its previous entry.
        if (_sqLocalTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
        {
            FlushFullQueue();
        }
        ref Sqe sqe = ref _sqes[_sqLocalTail & _sqMask];
        sqe = default;
        _sqLocalTail++;
        return ref sqe;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FlushFullQueue()
    {
        SubmitAndWait(0, 0);
        if (_sqLocalTail - Volatile.Read(ref *_sqHead) >= _sqEntries)
        {
            throw new IoUringException($"io_uring: the submission ring ({_sqEntries} entries) is full and the kernel took none of it.", EBUSY);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Queued() => _inFlight++;

    // Release: the kernel reads the entries only after it sees the new tail.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Publish() => Volatile.Write(ref *_sqTail, _sqLocalTail);

    // Without DEFER_TASKRUN the kernel posts completions by itself; with it, only io_uring_enter(GETEVENTS) runs the
    // deferred work, and a TASKRUN flag or an overflow means there is work to collect.
    private bool NeedsEnterForCompletions() =>
        _deferTaskRun || (Volatile.Read(ref *_sqFlags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckOwner()
    {
        if (_ownerThread != Environment.CurrentManagedThreadId)
        {
            BindOrThrow();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void BindOrThrow()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(IoRing));
        }
        if (_ownerThread != 0)
        {
            throw new InvalidOperationException(
                $"io_uring: ring {_fd} is owned by managed thread {_ownerThread} (its single issuer); it was called from thread {Environment.CurrentManagedThreadId}.");
        }
        if ((_setupFlags & IORING_SETUP_R_DISABLED) != 0)
        {
            // The ring was created disabled so that the first thread to use it, not the one that built it, becomes
            // the kernel's single issuer.
            int r = Register(_fd, IORING_REGISTER_ENABLE_RINGS, null, 0);
            if (r < 0)
            {
                throw Fail("IORING_REGISTER_ENABLE_RINGS", -r);
            }
        }
        _ownerThread = Environment.CurrentManagedThreadId;
    }

    private void CheckUserData(ulong userData)
    {
        if (userData >= ReservedUserData)
        {
            throw new ArgumentOutOfRangeException(nameof(userData), userData, "io_uring: user data from 0xFFFFFFFFFFFFFF00 up is reserved for the ring's own operations.");
        }
    }

    private static bool IsPowerOfTwo(int x) => (x & (x - 1)) == 0;

    private static void ThrowIfPlatformUnsupported()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("io_uring is a Linux interface; this is " + System.Runtime.InteropServices.RuntimeInformation.OSDescription + ".");
        }
        if (IntPtr.Size != 8)
        {
            throw new PlatformNotSupportedException("PagePool.IoUring needs a 64-bit process.");
        }
    }

    private static int SetupWithFallback(uint entries, uint completionEntries, ref Params p)
    {
        // Newest first: DEFER_TASKRUN (6.1) lets completions be posted only when the owner asks, on its own thread;
        // COOP_TASKRUN (5.19) at least avoids interrupting it; the last try is what every 5.x kernel accepts.
        const uint Base = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_R_DISABLED;
        ReadOnlySpan<uint> attempts =
        [
            Base | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
            Base | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
            Base | IORING_SETUP_COOP_TASKRUN,
            Base,
        ];
        int last = 0;
        foreach (uint flags in attempts)
        {
            p = default;
            p.Flags = flags;
            p.CqEntries = completionEntries;
            fixed (Params* pp = &p)
            {
                last = Setup(entries, pp);
            }
            if (last >= 0)
            {
                return last;
            }
            if (last != -EINVAL)
            {
                break;
            }
        }
        int errno = -last;
        throw errno switch
        {
            ENOSYS => new PlatformNotSupportedException(
                $"io_uring: io_uring_setup returned ENOSYS: this kernel ({KernelVersion}) was built without io_uring, or a seccomp filter (a container's default profile) hides it."),
            EPERM => new PlatformNotSupportedException(
                $"io_uring: io_uring_setup returned EPERM: io_uring is forbidden here ({DisabledReason()})."),
            EINVAL => new PlatformNotSupportedException(
                $"io_uring: io_uring_setup rejected every flag set (EINVAL): this kernel ({KernelVersion}) is too old; PagePool.IoUring needs Linux 5.19 or later."),
            _ => Fail("io_uring_setup", errno),
        };
    }

    private static string DisabledReason()
    {
        try
        {
            string value = File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim();
            return value switch
            {
                "2" => "sysctl kernel.io_uring_disabled = 2: disabled for every process",
                "1" => "sysctl kernel.io_uring_disabled = 1: only members of kernel.io_uring_group may create rings",
                _ => $"kernel.io_uring_disabled = {value}, so most likely a seccomp filter or a container profile denies it",
            };
        }
        catch (IOException)
        {
            return "a seccomp filter, a container profile or an LSM denies it";
        }
        catch (UnauthorizedAccessException)
        {
            return "a seccomp filter, a container profile or an LSM denies it";
        }
    }

    private static IoRingFeatures ProbeFeatures(int fd, in Params p)
    {
        IoRingFeatures features = default;
        if ((p.Flags & IORING_SETUP_SINGLE_ISSUER) != 0)
        {
            features |= IoRingFeatures.SingleIssuer;
        }
        if ((p.Flags & IORING_SETUP_DEFER_TASKRUN) != 0)
        {
            features |= IoRingFeatures.DeferTaskRun;
        }
        if ((p.Flags & IORING_SETUP_COOP_TASKRUN) != 0)
        {
            features |= IoRingFeatures.CoopTaskRun;
        }
        if ((p.Features & IORING_FEAT_MIN_TIMEOUT) != 0)
        {
            features |= IoRingFeatures.BatchWait;
        }

        // IORING_REGISTER_PROBE: which opcodes this kernel knows. A 16-byte header, then 8 bytes per opcode.
        const int ProbeOps = 256;
        byte* probe = stackalloc byte[16 + ProbeOps * 8];
        new Span<byte>(probe, 16 + ProbeOps * 8).Clear();
        int r = Register(fd, IORING_REGISTER_PROBE, probe, ProbeOps);
        if (r < 0)
        {
            throw new PlatformNotSupportedException(
                $"io_uring: IORING_REGISTER_PROBE failed ({ErrnoName(-r)}); this kernel ({KernelVersion}) is too old for PagePool.IoUring (Linux 5.19 or later).");
        }
        int opsLen = probe[1];
        bool Supported(byte op) => op < opsLen && (*(ushort*)(probe + 16 + op * 8 + 2) & IO_URING_OP_SUPPORTED) != 0;
        if (!Supported(IORING_OP_RECV) || !Supported(IORING_OP_RECVMSG) || !Supported(IORING_OP_ASYNC_CANCEL))
        {
            throw new PlatformNotSupportedException(
                $"io_uring: this kernel ({KernelVersion}) does not support recv, recvmsg or async cancel through io_uring.");
        }

        // Provided-buffer rings, multishot receive and incremental consumption have no probe bit of their own: the
        // kernel version decides (5.19, 6.0, 6.12), and the registration itself confirms the first.
        Version v = KernelVersion;
        if (v >= new Version(5, 19))
        {
            features |= IoRingFeatures.ProvidedBufferRings;
        }
        if (v >= new Version(6, 0))
        {
            features |= IoRingFeatures.MultishotReceive;
        }
        if (v >= new Version(6, 12))
        {
            features |= IoRingFeatures.IncrementalBufferConsumption;
        }
        if ((features & IoRingFeatures.ProvidedBufferRings) == 0)
        {
            throw new PlatformNotSupportedException(
                $"io_uring: provided-buffer rings need Linux 5.19 or later; this kernel is {v}.");
        }
        return features;
    }

    private static IoUringException Fail(string call, int errno) =>
        new($"io_uring: {call} failed with {ErrnoName(errno)}{Explain(errno)}.", errno);

    private static string Explain(int errno) => errno switch
    {
        ENOMEM => " (out of memory, or RLIMIT_MEMLOCK too low for the rings on a kernel before 5.12)",
        EMFILE or ENFILE => " (too many open files)",
        EBADF => " (a closed or invalid file descriptor)",
        _ => string.Empty,
    };
}

/// <summary>What an <see cref="IoRing"/> found in the kernel.</summary>
[Flags]
public enum IoRingFeatures
{
    /// <summary>Nothing beyond the basics.</summary>
    None = 0,

    /// <summary>IORING_SETUP_SINGLE_ISSUER (6.0): the kernel knows one thread submits.</summary>
    SingleIssuer = 1 << 0,

    /// <summary>IORING_SETUP_DEFER_TASKRUN (6.1): completion work runs only when the owner enters the kernel to read completions.</summary>
    DeferTaskRun = 1 << 1,

    /// <summary>IORING_SETUP_COOP_TASKRUN (5.19): completion work does not interrupt the owner (used where DEFER_TASKRUN is missing).</summary>
    CoopTaskRun = 1 << 2,

    /// <summary>IORING_REGISTER_PBUF_RING (5.19): provided-buffer rings.</summary>
    ProvidedBufferRings = 1 << 3,

    /// <summary>IORING_RECV_MULTISHOT (6.0): one recv/recvmsg operation posts a completion per datagram or read.</summary>
    MultishotReceive = 1 << 4,

    /// <summary>IOU_PBUF_RING_INC (6.12): several reads can share one buffer, each taking only the bytes it needs.</summary>
    IncrementalBufferConsumption = 1 << 5,

    /// <summary>IORING_FEAT_MIN_TIMEOUT (6.12): a wait can coalesce completions for a bounded time (<see cref="IoRing.SubmitAndWait(int, int, int)"/>).</summary>
    BatchWait = 1 << 6,
}

/// <summary>Something that must be released with its ring, after the ring's operations are drained.</summary>
internal interface IRingAttachment
{
    void Release(bool drained);
}
