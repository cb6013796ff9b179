using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using static PagePool.IoUring.IoUringNative;

namespace PagePool.IoUring;

/// <summary>
/// Receives UDP datagrams straight into pool pages with one multishot <c>recvmsg</c>: the kernel picks a posted page
/// per datagram, writes the sender's address and the payload into it, and the caller gets the page with a
/// <see cref="UdpDatagram"/> saying where the payload is, how long the datagram was and whether it was truncated.
/// No system call per datagram, nothing allocated per datagram.
/// </summary>
/// <typeparam name="TPages">The pool adapter (<see cref="RuntimePageSource"/>, or a struct over a <c>[PagePool]</c> class).</typeparam>
/// <remarks>
/// <code>
/// using var rx = new UdpMultishotReceiver&lt;RuntimePageSource&gt;(socket, new RuntimePageSource(pool));
/// while (running)
/// {
///     if (rx.TryReceive(out Page page, out UdpDatagram d, timeoutMs: 100))
///     {
///         Handle(d.GetPayload(page), d.Truncated);
///         pool.RecyclePage(page);                      // here or on any other thread
///     }
/// }
/// </code>
/// <para>Each page holds a 16-byte <c>io_uring_recvmsg_out</c> header, the source address (16 bytes for IPv4, 28 for
/// IPv6) and then the payload, so a page carries <c>page length - header</c> bytes of payload; longer datagrams are
/// truncated and say so (<see cref="UdpDatagram.Truncated"/>, with the full <see cref="UdpDatagram.DatagramLength"/>).</para>
/// <para>When every posted page is full (the ring ran dry, <c>ENOBUFS</c>), the kernel ends the multishot receive;
/// datagrams wait in the socket's buffer, the pause is counted (<see cref="RingEmptyCount"/>), and the receive is armed
/// again as soon as recycled pages are posted. Nothing is lost or delivered twice by the pause itself (the socket's
/// buffer can still overflow, as with any UDP receiver).</para>
/// <para>Thread-safety: none. The first thread that receives becomes the owner: it must be the pool's owner context
/// (the receiver allocates pages from it), and it must also call <see cref="Dispose"/>. Pages may be recycled on any
/// thread. The socket must stay open until <see cref="Dispose"/>.</para>
/// </remarks>
public sealed unsafe class UdpMultishotReceiver<TPages> : IDisposable where TPages : struct, IPageSource
{
    private const int HeaderSize = 16; // struct io_uring_recvmsg_out
    private const ulong ReceiveUserData = 1;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly IoRing _ring;
    private readonly int _entries;
    private readonly ushort _groupId;
    private readonly int _nameLength;
    private readonly int _payloadOffset;
    private readonly int _refillBelow;
    private readonly MsgHdr* _messageHeader;
    private TPages _pages;
    private ProvidedBufferRing<TPages>? _buffers;
    private bool _armed;
    private bool _disposed;
    private long _received;
    private long _truncated;
    private long _ringEmpty;
    private long _arms;
    private long _starved;
    private int _coalesceUs;
    private int _coalesceCount = 32;

    /// <summary>Creates the receiver and its io_uring instance; nothing is posted or armed until the first receive.</summary>
    /// <param name="socket">A bound UDP socket (IPv4 or IPv6), open until <see cref="Dispose"/>.</param>
    /// <param name="pages">The pool adapter: pages come from it and, at teardown, go back to it.</param>
    /// <param name="bufferRingEntries">Pages kept posted: a power of two, 1 to 32768 (default 256).</param>
    /// <param name="groupId">The buffer group id (any; the receiver has its own ring).</param>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="socket"/> is closed.</exception>
    /// <exception cref="ArgumentException"><paramref name="socket"/> is not a UDP socket over IPv4 or IPv6.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bufferRingEntries"/> is not a power of two from 1 to 32768.</exception>
    /// <exception cref="PagePoolException">The pool has more than 65,536 pages.</exception>
    /// <exception cref="PlatformNotSupportedException">io_uring is missing, forbidden, or older than 6.0 here (the message says which).</exception>
    public UdpMultishotReceiver(Socket socket, TPages pages, int bufferRingEntries = 256, ushort groupId = 0)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (socket.SafeHandle.IsClosed)
        {
            throw new ObjectDisposedException(nameof(Socket), "io_uring: the socket is closed.");
        }
        nint handle = socket.Handle;
        if (socket.SocketType != SocketType.Dgram || socket.ProtocolType != ProtocolType.Udp)
        {
            throw new ArgumentException($"io_uring: UdpMultishotReceiver needs a UDP socket; this one is {socket.SocketType}/{socket.ProtocolType}.", nameof(socket));
        }
        if (socket.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"io_uring: UdpMultishotReceiver needs an IPv4 or IPv6 socket; this one is {socket.AddressFamily}.", nameof(socket));
        }
        if (bufferRingEntries < 1 || bufferRingEntries > ProvidedBufferRing<TPages>.MaxEntries || (bufferRingEntries & (bufferRingEntries - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferRingEntries), bufferRingEntries, "io_uring: a provided-buffer ring's size must be a power of two from 1 to 32768.");
        }
        int poolSize = pages.PoolSize;
        if (poolSize > ProvidedBufferRing<TPages>.MaxPoolSize)
        {
            throw new PagePoolException(
                $"io_uring: a provided-buffer ring names pages by a 16-bit buffer id, so the pool may have at most {ProvidedBufferRing<TPages>.MaxPoolSize} pages; it has {poolSize}.",
                poolName: null, pageId: -1);
        }

        _socket = socket;
        _fd = (int)handle;
        _pages = pages;
        _entries = bufferRingEntries;
        _groupId = groupId;
        _refillBelow = bufferRingEntries - Math.Min(64, Math.Max(1, bufferRingEntries / 2));
        _nameLength = socket.AddressFamily == AddressFamily.InterNetworkV6 ? 28 : 16;
        _payloadOffset = HeaderSize + _nameLength;
        // A completion ring with room for every posted page twice over: a burst never overflows it between two reads.
        _ring = new IoRing(64, Math.Max(1024, (int)BitOperations.RoundUpToPowerOf2((uint)bufferRingEntries * 2)));
        _ring.RequireFeature(IoRingFeatures.MultishotReceive, "multishot recvmsg", "6.0");
        _messageHeader = (MsgHdr*)NativeMemory.AllocZeroed((nuint)sizeof(MsgHdr));
        _messageHeader->NameLen = (uint)_nameLength;
    }

    /// <summary>Datagrams handed to the caller.</summary>
    public long Received => _received;

    /// <summary>Datagrams handed to the caller truncated (longer than a page's payload space).</summary>
    public long Truncated => _truncated;

    /// <summary>Times the buffer ring ran dry (<c>ENOBUFS</c>) and receiving paused until pages were recycled.</summary>
    public long RingEmptyCount => _ringEmpty;

    /// <summary>Times the multishot receive was armed (1 plus one per pause or other end).</summary>
    public long ArmCount => _arms;

    /// <summary>Receive calls that found no page to post (the pool was exhausted) and waited for recycled pages.</summary>
    public long StarvedCount => _starved;

    /// <summary>Pages posted to the kernel right now (they count as in use in the pool).</summary>
    public int PagesPosted => _buffers?.PagesPosted ?? 0;

    /// <summary>Payload bytes a page can hold: its length minus this header (the recvmsg header and the address).</summary>
    public int PayloadOffset => _payloadOffset;

    /// <summary>
    /// Completion coalescing, as a NIC's <c>rx-usecs</c> (0, the default: off). When a receive has to wait, the kernel
    /// waits up to this many microseconds for <see cref="CoalesceDatagrams"/> datagrams before waking the owner with
    /// what has arrived: fewer wake-ups per datagram, for at most this much added latency. Linux 6.12 or later
    /// (<see cref="IoRingFeatures.BatchWait"/>); ignored before.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, or above one second.</exception>
    public int CoalesceMicroseconds
    {
        get => _coalesceUs;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1_000_000);
            _coalesceUs = value;
        }
    }

    /// <summary>The batch a coalesced wait waits for (default 32).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Below 1.</exception>
    public int CoalesceDatagrams
    {
        get => _coalesceCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _coalesceCount = value;
        }
    }

    /// <summary>The io_uring instance (for its <see cref="IoRing.Features"/>).</summary>
    public IoRing Ring => _ring;

    /// <summary>
    /// Returns the next datagram if one has arrived, without waiting: the caller owns <paramref name="page"/> and must
    /// recycle it. False when none is ready.
    /// </summary>
    /// <exception cref="IoUringException">The receive failed (for example <c>EBADF</c>: the socket was closed underneath).</exception>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner, or after <see cref="Dispose"/>.</exception>
    public bool TryReceive(out Page page, out UdpDatagram datagram) => TryReceive(out page, out datagram, 0);

    /// <summary>
    /// Returns the next datagram, waiting up to <paramref name="timeoutMs"/> milliseconds (-1: no limit) for one: the
    /// caller owns <paramref name="page"/> and must recycle it. False after the timeout.
    /// </summary>
    /// <exception cref="IoUringException">The receive failed (for example <c>EBADF</c>: the socket was closed underneath).</exception>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner, or after <see cref="Dispose"/>.</exception>
    public bool TryReceive(out Page page, out UdpDatagram datagram, int timeoutMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ProvidedBufferRing<TPages> buffers = _buffers ?? Start();
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            while (_ring.TryGetCompletion(out IoCompletion completion))
            {
                if (TakeDatagram(buffers, in completion, out page, out datagram))
                {
                    return true;
                }
            }

            buffers.Refill();
            if (!_armed && buffers.PagesPosted > 0)
            {
                Arm();
            }
            long left = deadline - Environment.TickCount64;
            if (!_armed)
            {
                // Every page is out (taken by the caller, not yet recycled): wait for some to come back.
                _starved++;
                if (left <= 0)
                {
                    break;
                }
                Thread.Sleep(1);
                continue;
            }
            int wait = left <= 0 ? 0 : (int)Math.Min(left, int.MaxValue);
            int ready = wait == 0 ? _ring.SubmitAndWait(0, 0, 0)
                : _coalesceUs > 0 ? _ring.SubmitAndWait(_coalesceCount, wait, _coalesceUs)
                : _ring.SubmitAndWait(1, wait, 0);
            if (ready == 0 && Environment.TickCount64 >= deadline)
            {
                break;
            }
        }
        page = default;
        datagram = default;
        return false;
    }

    /// <summary>
    /// Returns the next datagram whose completion the kernel has already posted, without entering the kernel: the
    /// cheap way to drain a batch after <see cref="TryReceive(out Page, out UdpDatagram, int)"/> returned one. The
    /// caller owns <paramref name="page"/>. False when none is posted yet (more may have arrived: the next
    /// <see cref="TryReceive(out Page, out UdpDatagram, int)"/> collects them).
    /// </summary>
    /// <exception cref="IoUringException">The receive failed.</exception>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner, or after <see cref="Dispose"/>.</exception>
    public bool TryReceiveCompleted(out Page page, out UdpDatagram datagram)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ProvidedBufferRing<TPages>? buffers = _buffers;
        if (buffers is not null)
        {
            while (_ring.TryGetCompletion(out IoCompletion completion))
            {
                if (TakeDatagram(buffers, in completion, out page, out datagram))
                {
                    return true;
                }
            }
        }
        page = default;
        datagram = default;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TakeDatagram(ProvidedBufferRing<TPages> buffers, in IoCompletion completion, out Page page, out UdpDatagram datagram)
    {
        if (!completion.HasMore)
        {
            _armed = false;
        }
        if (completion.Result < 0 || !buffers.TryTakePage(in completion, out page))
        {
            OnNoDatagram(in completion);
            page = default;
            datagram = default;
            return false;
        }
        RecvMsgOut* header = (RecvMsgOut*)page.Address;
        int copied = completion.Result - _payloadOffset;
        bool truncated = (header->Flags & MSG_TRUNC) != 0;
        int addressLength = (int)Math.Min(header->NameLen, (uint)_nameLength);
        datagram = new UdpDatagram(_payloadOffset, copied, (int)header->PayloadLen, truncated, HeaderSize, addressLength, (int)header->Flags);
        _received++;
        if (truncated)
        {
            _truncated++;
        }
        if (buffers.PagesPosted <= _refillBelow)
        {
            buffers.Refill();
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnNoDatagram(in IoCompletion completion)
    {
        switch (completion.Errno)
        {
            case 0:
            case ECANCELED:
                return;
            case ENOBUFS:
                _ringEmpty++;
                return;
            case EFAULT:
                throw new IoUringException(
                    $"io_uring: recvmsg on socket {_fd} failed with EFAULT: the pool's pages are smaller than the {_payloadOffset}-byte header each datagram's page starts with.",
                    EFAULT);
            default:
                throw new IoUringException(
                    $"io_uring: multishot recvmsg on socket {_fd} failed with {ErrnoName(completion.Errno)}{(completion.Errno is EBADF or ENOTSOCK ? " (the socket was closed or is not a socket)" : "")}.",
                    completion.Errno);
        }
    }

    private void Arm()
    {
        // MSG_TRUNC makes the header carry the datagram's full length even when the page truncated it.
        _ring.QueueReceiveMessageMultishot(_fd, _groupId, (nint)_messageHeader, ReceiveUserData, MSG_TRUNC);
        _armed = true;
        _arms++;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ProvidedBufferRing<TPages> Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_socket.SafeHandle.IsClosed)
        {
            throw new ObjectDisposedException(nameof(Socket), $"io_uring: socket {_fd} was closed before the first receive.");
        }
        _buffers = new ProvidedBufferRing<TPages>(_ring, _pages, _groupId, _entries);
        return _buffers;
    }

    /// <summary>
    /// Cancels the receive, drains its completions, unregisters the buffer ring, returns every posted page to the pool
    /// and closes the io_uring instance. Pages the caller took stay the caller's. Idempotent.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread other than the one that received.</exception>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _ring.Dispose();
        _disposed = true;
        NativeMemory.Free(_messageHeader);
    }
}

/// <summary>Where a received datagram lies in its page, and what the kernel said about it.</summary>
public readonly struct UdpDatagram
{
    private readonly int _addressOffset;
    private readonly int _addressLength;

    internal UdpDatagram(int payloadOffset, int length, int datagramLength, bool truncated, int addressOffset, int addressLength, int messageFlags)
    {
        PayloadOffset = payloadOffset;
        Length = length;
        DatagramLength = datagramLength;
        Truncated = truncated;
        _addressOffset = addressOffset;
        _addressLength = addressLength;
        MessageFlags = messageFlags;
    }

    /// <summary>Where the payload starts in the page.</summary>
    public int PayloadOffset { get; }

    /// <summary>Payload bytes in the page (fewer than <see cref="DatagramLength"/> when <see cref="Truncated"/>).</summary>
    public int Length { get; }

    /// <summary>The datagram's length on the wire.</summary>
    public int DatagramLength { get; }

    /// <summary>True when the datagram was longer than the page could hold (<c>MSG_TRUNC</c>): only <see cref="Length"/> bytes were kept.</summary>
    public bool Truncated { get; }

    /// <summary>The <c>msg_flags</c> the kernel reported for the datagram.</summary>
    public int MessageFlags { get; }

    /// <summary>The payload in <paramref name="page"/> (the page this datagram came with).</summary>
    public Span<byte> GetPayload(Page page) => page.Span.Slice(PayloadOffset, Length);

    /// <summary>The sender's address as the kernel wrote it (a <c>sockaddr_in</c> or <c>sockaddr_in6</c>).</summary>
    public ReadOnlySpan<byte> GetSourceAddress(Page page) => page.Span.Slice(_addressOffset, _addressLength);

    /// <summary>The sender's address and port. Allocates: for logging and replies, not for every datagram of a hot loop.</summary>
    /// <exception cref="FormatException">The address is not IPv4 or IPv6.</exception>
    public IPEndPoint GetSourceEndPoint(Page page)
    {
        ReadOnlySpan<byte> sa = GetSourceAddress(page);
        if (sa.Length < 2)
        {
            throw new FormatException("io_uring: the datagram carries no source address.");
        }
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(sa);
        if (family == 2 && sa.Length >= 8)
        {
            return new IPEndPoint(new IPAddress(sa.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(sa[2..]));
        }
        if (family == 10 && sa.Length >= 28)
        {
            uint scope = BinaryPrimitives.ReadUInt32LittleEndian(sa[24..]);
            return new IPEndPoint(new IPAddress(sa.Slice(8, 16), scope), BinaryPrimitives.ReadUInt16BigEndian(sa[2..]));
        }
        throw new FormatException($"io_uring: unknown address family {family} in a datagram's source address.");
    }
}
