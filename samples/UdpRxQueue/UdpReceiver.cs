using System;
using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using PagePool;
using PagePool.IoUring;

namespace UdpRxQueue;

/// <summary>Counters of one run: the receive thread's on one cache line, the processing thread's on another.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
internal sealed class RxCounters
{
    // receive thread
    [FieldOffset(0)] public long Received;          // datagrams the kernel handed over
    [FieldOffset(8)] public long DroppedQueueFull;  // the processing thread was behind: dropped and recycled directly
    [FieldOffset(16)] public long Starved;          // no free buffer to post (every page out): backpressure
    [FieldOffset(24)] public long Batches;          // receive calls that returned datagrams
    // processing thread
    [FieldOffset(128)] public long Valid;
    [FieldOffset(136)] public long Invalid;
    [FieldOffset(144)] public long Bytes;

    public RxSnapshot Snapshot() => new(
        Volatile.Read(ref Received), Volatile.Read(ref DroppedQueueFull), Volatile.Read(ref Starved),
        Volatile.Read(ref Batches), Volatile.Read(ref Valid), Volatile.Read(ref Invalid), Volatile.Read(ref Bytes));
}

internal readonly record struct RxSnapshot(long Received, long DroppedQueueFull, long Starved, long Batches, long Valid, long Invalid, long Bytes)
{
    public static RxSnapshot operator -(RxSnapshot a, RxSnapshot b) => new(
        a.Received - b.Received, a.DroppedQueueFull - b.DroppedQueueFull, a.Starved - b.Starved, a.Batches - b.Batches,
        a.Valid - b.Valid, a.Invalid - b.Invalid, a.Bytes - b.Bytes);
}

/// <summary>How the receive thread gets datagrams from the kernel.</summary>
internal enum Transport
{
    /// <summary>Pages posted to an io_uring provided-buffer ring, one multishot recvmsg: no system call per datagram.</summary>
    IoUring,

    /// <summary>recvmmsg(2) into posted buffers: one system call per batch.</summary>
    RecvMmsg,

    /// <summary>What most .NET code does: Socket.ReceiveFrom into an ArrayPool&lt;byte&gt;.Shared array, one call per datagram.</summary>
    Socket,
}

/// <summary>
/// One receiver: a receive thread (the pool's owner context) that fills buffers from the socket (io_uring, recvmmsg
/// or Socket.ReceiveFrom), and hands each datagram through an <see cref="SpscRing{T}"/> to a processing thread,
/// which validates and counts it and gives the buffer back from there. What the receive thread cannot hand on (the
/// ring is full) it drops and gives back itself, on the direct path.
/// </summary>
internal sealed class UdpReceiver<TBuffers> where TBuffers : struct, IRxBuffers
{
    public const int Batch = 32;

    /// <summary>Pages the io_uring transport keeps posted to the kernel (half the pool).</summary>
    public const int IoUringRingEntries = 512;

    private readonly Socket _socket;
    private readonly Transport _transport;
    private readonly RxQueue? _queue;
    private readonly LatencyHistogram _latency = new();
    private readonly SpscRing<RxBuffer> _ring;
    private readonly Thread _receiveThread;
    private readonly Thread _processThread;
    private readonly CancellationTokenSource _stop = new();
    private TBuffers _buffers;
    private volatile bool _receiverDone;
    private volatile int _measuring;           // 0 warm-up, 1 measuring, 2 measured: threads read their allocation counters
    private long _receiveAllocStart = -1, _receiveAllocEnd = -1, _processAllocStart = -1, _processAllocEnd = -1;
    private long _receiveCpuStart, _receiveCpuEnd, _processCpuStart, _processCpuEnd;
    private Exception? _failure;

    /// <param name="socket">The bound socket.</param>
    /// <param name="transport">How to receive; <see cref="Transport.IoUring"/> needs <paramref name="queue"/> (pages, not arrays).</param>
    /// <param name="queue">The page pool, for the io_uring transport.</param>
    /// <param name="buffers">Where the recvmmsg and socket transports get buffers.</param>
    /// <param name="ringCapacity">The handoff ring's size.</param>
    /// <param name="cancel">Stops receiving.</param>
    public UdpReceiver(Socket socket, Transport transport, RxQueue? queue, TBuffers buffers, int ringCapacity, CancellationToken cancel)
    {
        if (transport == Transport.IoUring && queue is null)
        {
            throw new ArgumentException("The io_uring transport receives into pages: give it the pool.", nameof(queue));
        }
        _socket = socket;
        _transport = transport;
        _queue = queue;
        _buffers = buffers;
        _ring = new SpscRing<RxBuffer>(ringCapacity);
        cancel.Register(static s => ((CancellationTokenSource)s!).Cancel(), _stop);
        _receiveThread = new Thread(ReceiveLoop) { IsBackground = true, Name = "rx receive" };
        _processThread = new Thread(ProcessLoop) { IsBackground = true, Name = "rx process" };
    }

    public RxCounters Counters { get; } = new();

    public string BuffersName => _buffers.Name;

    /// <summary>Sender-to-processing latencies of the valid datagrams processed while measuring (valid after <see cref="Stop"/>).</summary>
    public LatencyHistogram Latency => _latency;

    /// <summary>CPU time the receive and processing threads used while measuring, in ns (valid after <see cref="Stop"/>).</summary>
    public long MeasuredThreadCpuNs =>
        (_receiveAllocStart < 0 ? 0 : _receiveCpuEnd - _receiveCpuStart) +
        (_processAllocStart < 0 ? 0 : _processCpuEnd - _processCpuStart);

    /// <summary>io_uring: how long a wait may coalesce completions (0: wake on the first).</summary>
    public int CoalesceMicroseconds { get; init; }

    /// <summary>Times the io_uring buffer ring ran dry and receiving paused until pages came back.</summary>
    public long RingEmpty { get; private set; }

    /// <summary>Bytes the receive and processing threads allocated while measuring (valid after <see cref="Stop"/>).</summary>
    public long MeasuredThreadAllocations =>
        (_receiveAllocStart < 0 ? 0 : _receiveAllocEnd - _receiveAllocStart) +
        (_processAllocStart < 0 ? 0 : _processAllocEnd - _processAllocStart);

    public void Start()
    {
        _processThread.Start();
        _receiveThread.Start();
    }

    /// <summary>Ends the warm-up: from now on each thread's allocations count.</summary>
    public void BeginMeasuring() => _measuring = 1;

    /// <summary>Ends the measured phase: allocations after this (stopping, draining) do not count.</summary>
    public void EndMeasuring() => _measuring = 2;

    /// <summary>Stops receiving, lets the processing thread drain the ring, and waits for both threads.</summary>
    public void Stop()
    {
        _stop.Cancel();
        _receiveThread.Join();
        _processThread.Join();
        if (_failure is not null)
        {
            throw new InvalidOperationException("The receiver failed.", _failure);
        }
    }

    // ------------------------------------------------------------------------------ receive thread (owner context)

    private void ReceiveLoop()
    {
        try
        {
            switch (_transport)
            {
                case Transport.IoUring:
                    ReceiveIoUring(_stop.Token);
                    break;
                case Transport.RecvMmsg when RecvMmsg.IsSupported:
                    ReceiveBatched(_stop.Token);
                    break;
                case Transport.Socket:
                    ReceiveSocket(_stop.Token);
                    break;
                default:
                    ReceiveOneByOne(_stop.Token);
                    break;
            }
        }
        catch (Exception ex)
        {
            _failure = ex;
        }
        finally
        {
            TakeAllocationMarks(ref _receiveAllocStart, ref _receiveAllocEnd, ref _receiveCpuStart, ref _receiveCpuEnd, final: true);
            _receiverDone = true;
        }
    }

    private unsafe void ReceiveBatched(CancellationToken cancel)
    {
        RxCounters counters = Counters;
        RxBuffer[] posted = new RxBuffer[Batch];
        int postedCount = 0;
        var messages = (RecvMmsg.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(RecvMmsg.MMsgHdr)));
        var iovecs = (RecvMmsg.IoVec*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(RecvMmsg.IoVec)));
        int fd = (int)_socket.Handle;
        var pollFd = new RecvMmsg.PollFd { Fd = fd, Events = RecvMmsg.POLLIN };
        try
        {
            for (int i = 0; i < Batch; i++)
            {
                messages[i].Header.Iov = &iovecs[i];
                messages[i].Header.IovLength = 1;
            }
            while (!cancel.IsCancellationRequested)
            {
                TakeAllocationMarks(ref _receiveAllocStart, ref _receiveAllocEnd, ref _receiveCpuStart, ref _receiveCpuEnd);

                // Post a buffer in every free slot: pinned pages need no pinning here, just their address.
                while (postedCount < Batch && _buffers.TryTake(out posted[postedCount]))
                {
                    iovecs[postedCount].Base = posted[postedCount].Address;
                    iovecs[postedCount].Length = (nuint)posted[postedCount].Capacity;
                    postedCount++;
                }
                if (postedCount == 0)
                {
                    counters.Starved++;
                    Thread.Yield();
                    continue;
                }

                int n = RecvMmsg.Receive(fd, messages, (uint)postedCount, RecvMmsg.MSG_DONTWAIT, 0);
                if (n <= 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (n < 0 && errno != RecvMmsg.EAGAIN && errno != RecvMmsg.EINTR)
                    {
                        throw new SocketException(errno);
                    }
                    RecvMmsg.Poll(&pollFd, 1, 50); // wait for data, waking up to check for cancellation
                    continue;
                }

                counters.Batches++;
                for (int i = 0; i < n; i++)
                {
                    ref RxBuffer buffer = ref posted[i];
                    buffer.Length = (int)messages[i].Length;
                    buffer.Truncated = (messages[i].Header.Flags & RecvMmsg.MSG_TRUNC) != 0;
                    messages[i].Header.Flags = 0;
                    if (!_ring.TryEnqueue(buffer))
                    {
                        counters.DroppedQueueFull++;
                        _buffers.ReturnDirect(ref buffer);
                    }
                }
                Volatile.Write(ref counters.Received, counters.Received + n);

                // The buffers the kernel did not fill stay posted: move them to the front.
                int left = postedCount - n;
                if (left > 0)
                {
                    Array.Copy(posted, n, posted, 0, left);
                    new Span<RecvMmsg.IoVec>(iovecs + n, left).CopyTo(new Span<RecvMmsg.IoVec>(iovecs, left));
                }
                posted.AsSpan(left, n).Clear();
                postedCount = left;
            }
        }
        finally
        {
            for (int i = 0; i < postedCount; i++)
            {
                _buffers.ReturnDirect(ref posted[i]);
            }
            NativeMemory.Free(messages);
            NativeMemory.Free(iovecs);
        }
    }

    // io_uring: pages posted to a provided-buffer ring, one multishot recvmsg. The kernel fills a page per datagram
    // without a system call per datagram; one io_uring_enter collects whatever has arrived.
    private void ReceiveIoUring(CancellationToken cancel)
    {
        RxCounters counters = Counters;
        RxQueue queue = _queue!;
        using var rx = new UdpMultishotReceiver<RxPages>(_socket, new RxPages(queue), IoUringRingEntries);
        rx.CoalesceMicroseconds = CoalesceMicroseconds;
        rx.CoalesceDatagrams = Batch;
        while (!cancel.IsCancellationRequested)
        {
            TakeAllocationMarks(ref _receiveAllocStart, ref _receiveAllocEnd, ref _receiveCpuStart, ref _receiveCpuEnd);
            if (!rx.TryReceive(out Page page, out UdpDatagram datagram, 50))
            {
                continue;
            }
            HandOn(queue, page, datagram);
            int n = 1;
            // Everything the kernel has already posted, without another system call: the batch ends where the
            // completion queue does, and the next wait collects what arrived meanwhile.
            while (n < Batch && rx.TryReceiveCompleted(out Page next, out UdpDatagram nextDatagram))
            {
                HandOn(queue, next, nextDatagram);
                n++;
            }
            counters.Batches++;
            counters.Starved = rx.RingEmptyCount + rx.StarvedCount;
            Volatile.Write(ref counters.Received, counters.Received + n);
        }
        RingEmpty = rx.RingEmptyCount;
    }

    // The page goes to the processing thread, or back to the pool at once when that thread is behind.
    private void HandOn(RxQueue queue, [Owned] Page page, in UdpDatagram datagram)
    {
        RxBuffer buffer = default;
        buffer.Page = page;
        buffer.Address = page.Address + datagram.PayloadOffset;
        buffer.Capacity = page.Length - datagram.PayloadOffset;
        buffer.Length = datagram.Length;
        buffer.Truncated = datagram.Truncated;
        if (!_ring.TryEnqueue(buffer))
        {
            Counters.DroppedQueueFull++;
            queue.RecyclePageDirect(page);
        }
    }

    // What most .NET code does: Socket.ReceiveFrom into an ArrayPool<byte>.Shared array, one call per datagram.
    // The SocketAddress overload is used so the socket itself allocates nothing per datagram.
    private void ReceiveSocket(CancellationToken cancel)
    {
        RxCounters counters = Counters;
        SocketAddress from = new(_socket.AddressFamily);
        _socket.ReceiveTimeout = 50; // wake up to check for cancellation
        int size = RxQueue.PageSize;
        while (!cancel.IsCancellationRequested)
        {
            TakeAllocationMarks(ref _receiveAllocStart, ref _receiveAllocEnd, ref _receiveCpuStart, ref _receiveCpuEnd);
            byte[] array = ArrayPool<byte>.Shared.Rent(size);
            RxBuffer buffer = default;
            buffer.Array = array;
            buffer.Capacity = size;
            try
            {
                buffer.Length = _socket.ReceiveFrom(array.AsSpan(0, size), SocketFlags.None, from);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                ArrayPool<byte>.Shared.Return(array);
                continue;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
            {
                buffer.Length = size;
                buffer.Truncated = true;
            }
            counters.Batches++;
            if (!_ring.TryEnqueue(buffer))
            {
                counters.DroppedQueueFull++;
                ArrayPool<byte>.Shared.Return(array);
            }
            Volatile.Write(ref counters.Received, counters.Received + 1);
        }
    }

    // Elsewhere: one datagram per call, still straight into the page.
    private void ReceiveOneByOne(CancellationToken cancel)
    {
        RxCounters counters = Counters;
        SocketAddress from = new(_socket.AddressFamily);
        RxBuffer buffer = default;
        bool holding = false;
        try
        {
            while (!cancel.IsCancellationRequested)
            {
                TakeAllocationMarks(ref _receiveAllocStart, ref _receiveAllocEnd, ref _receiveCpuStart, ref _receiveCpuEnd);
                if (!holding)
                {
                    if (!_buffers.TryTake(out buffer))
                    {
                        counters.Starved++;
                        Thread.Yield();
                        continue;
                    }
                    holding = true;
                }
                if (!_socket.Poll(50_000, SelectMode.SelectRead))
                {
                    continue;
                }
                int length;
                try
                {
                    length = _socket.ReceiveFrom(BufferSpan(buffer), SocketFlags.None, from);
                    buffer.Truncated = false;
                }
                catch (SocketException ex) when (ex.SocketErrorCode == SocketError.MessageSize)
                {
                    length = buffer.Capacity;
                    buffer.Truncated = true;
                }
                buffer.Length = length;
                holding = false;
                counters.Batches++;
                if (!_ring.TryEnqueue(buffer))
                {
                    counters.DroppedQueueFull++;
                    _buffers.ReturnDirect(ref buffer);
                }
                Volatile.Write(ref counters.Received, counters.Received + 1);
            }
        }
        finally
        {
            if (holding)
            {
                _buffers.ReturnDirect(ref buffer);
            }
        }
    }

    private static unsafe Span<byte> BufferSpan(in RxBuffer buffer) => new((void*)buffer.Address, buffer.Capacity);

    // ------------------------------------------------------------------------------ processing thread

    private void ProcessLoop()
    {
        RxCounters counters = Counters;
        SpinWait spin = default;
        try
        {
            while (true)
            {
                TakeAllocationMarks(ref _processAllocStart, ref _processAllocEnd, ref _processCpuStart, ref _processCpuEnd);
                if (_ring.TryDequeue(out RxBuffer buffer))
                {
                    if (!buffer.Truncated && Datagram.IsValid(buffer.Data))
                    {
                        if (_measuring == 1)
                        {
                            _latency.Record(Datagram.Timestamp(buffer.Data), Stopwatch.GetTimestamp());
                        }
                        Volatile.Write(ref counters.Valid, counters.Valid + 1);
                        Volatile.Write(ref counters.Bytes, counters.Bytes + buffer.Length);
                    }
                    else
                    {
                        Volatile.Write(ref counters.Invalid, counters.Invalid + 1);
                    }
                    if (_transport == Transport.IoUring)
                    {
                        _queue!.RecyclePage(buffer.Page); // off the owner's thread: the pool's ring path
                    }
                    else if (_transport == Transport.Socket)
                    {
                        ArrayPool<byte>.Shared.Return(buffer.Array!);
                    }
                    else
                    {
                        _buffers.ReturnShared(ref buffer); // off the owner's thread: the pool's ring path
                    }
                    spin.Reset();
                }
                else if (_receiverDone)
                {
                    if (_ring.Count == 0)
                    {
                        break; // the receive thread enqueues nothing after it is done: the ring is drained
                    }
                }
                else
                {
                    spin.SpinOnce();
                }
            }
        }
        catch (Exception ex)
        {
            _failure = ex;
        }
        finally
        {
            TakeAllocationMarks(ref _processAllocStart, ref _processAllocEnd, ref _processCpuStart, ref _processCpuEnd, final: true);
        }
    }

    // Each thread reads its own allocation counter when it sees the phase change (GetAllocatedBytesForCurrentThread
    // only reads the calling thread's), or when it exits before seeing it.
    // The thread's CPU time is read at the same two moments.
    private void TakeAllocationMarks(ref long start, ref long end, ref long cpuStart, ref long cpuEnd, bool final = false)
    {
        int phase = _measuring;
        if (phase == 0 || end >= 0)
        {
            return;
        }
        if (start < 0)
        {
            cpuStart = ThreadCpu.NowNs(); // first: its first call may allocate (binding the native function)
            start = GC.GetAllocatedBytesForCurrentThread();
        }
        if (phase == 2 || final)
        {
            end = GC.GetAllocatedBytesForCurrentThread();
            cpuEnd = ThreadCpu.NowNs();
        }
    }
}
