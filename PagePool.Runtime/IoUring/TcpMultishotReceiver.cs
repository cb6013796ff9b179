using System;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading;
using static PagePool.IoUring.IoUringNative;

namespace PagePool.IoUring;

/// <summary>
/// Receives from many TCP connections into pool pages with one multishot <c>recv</c> per connection, all of them
/// sharing one provided-buffer ring: an idle connection holds no memory, and the memory for receiving follows the
/// pool, not the number of connections. No system call per read, nothing allocated per read.
/// </summary>
/// <typeparam name="TPages">The pool adapter (<see cref="RuntimePageSource"/>, or a struct over a <c>[PagePool]</c> class).</typeparam>
/// <remarks>
/// <code>
/// using var rx = new TcpMultishotReceiver&lt;RuntimePageSource&gt;(new RuntimePageSource(pool));
/// int id = rx.Add(socket);                                   // armed at once
/// while (running)
/// {
///     while (rx.TryReceive(out Page data, out int connection, timeoutMs: 100))
///     {
///         Handle(connection, data.Span);                     // exactly the bytes read
///         rx.Release(data);                                  // here or on any other thread, once
///     }
///     while (rx.TryGetClosed(out TcpConnectionClosed closed)) { /* close the socket; its id is free again */ }
/// }
/// </code>
/// <para><b>Pages and slices.</b> Each read comes as a <see cref="Page"/> handle over exactly the bytes read
/// (<see cref="Page.Span"/> is the data): the caller owns it and gives it back with <see cref="Release"/>, once, never
/// to the pool directly. With incremental consumption (<see cref="Incremental"/>, Linux 6.12) the kernel packs
/// consecutive reads, of any connections, into one page, so a page serves many small reads: it goes back to the pool
/// when the kernel has moved on from it and its last slice is released. Without it, each read has a page to itself,
/// recycled when that read is released.</para>
/// <para><b>The ring running dry.</b> When no page is posted, each connection's receive ends with <c>ENOBUFS</c>; the
/// data waits in the socket (TCP flow control holds the peer back), the pause is counted
/// (<see cref="RingEmptyCount"/>), and those connections are armed again as soon as released pages are posted.
/// Nothing is lost or delivered twice.</para>
/// <para><b>Ends.</b> A connection ends when the peer closes (<see cref="TcpCloseReason.PeerClosed"/>), on an error such
/// as <c>ECONNRESET</c> (<see cref="TcpCloseReason.Error"/>) or after <see cref="Remove"/>
/// (<see cref="TcpCloseReason.Removed"/>). Each end is reported once by <see cref="TryGetClosed"/>, after every read of
/// that connection; its id is reused only after that. The receiver never closes a socket: the caller does, after the
/// end is reported.</para>
/// <para>Thread-safety: none, except <see cref="Release"/>, which any thread may call. The first thread that adds,
/// receives or disposes becomes the owner: it must be the pool's owner context (the receiver allocates pages from it)
/// and it must call <see cref="Dispose"/>.</para>
/// </remarks>
public sealed class TcpMultishotReceiver<TPages> : IDisposable where TPages : struct, IPageSource
{
    private const int ReceiveOperation = 0;     // the operation kind in IoUserData: this receiver queues only receives
    private const uint GenerationMask = 0xFF_FFFF; // IoUserData keeps 24 bits of generation

    private readonly IoRing _ring;
    private readonly ProvidedBufferRing<SlicedPageSource<TPages>> _buffers;
    private readonly ReceiveSlices<TPages> _slices;
    private readonly Connection[] _connections;
    private readonly int[] _freeIds;
    private readonly int[] _dry;           // connections whose receive ended with ENOBUFS, to arm again after a refill
    private readonly int[] _ended;         // connections that ended, in order, until TryGetClosed reports them
    private readonly int _refillBelow;
    private int _freeCount;
    private int _dryCount;
    private int _endedHead;
    private int _endedCount;
    private int _active;
    private bool _disposed;
    private long _reads;
    private long _bytes;
    private long _ringEmpty;
    private long _arms;

    private enum State : byte
    {
        Free,
        Armed,      // a multishot recv is in flight
        Dry,        // its recv ended with ENOBUFS; waiting in _dry for pages
        Removing,   // Remove cancelled its recv; the last completion is on its way
        Ended,      // in _ended until TryGetClosed reports it
    }

    private struct Connection
    {
        public Socket? Socket;
        public int Fd;
        public uint Generation;
        public State State;
        public bool RemoveRequested;
        public TcpCloseReason Reason;
        public int Errno;
    }

    /// <summary>Creates the receiver, its io_uring instance and its buffer ring; nothing is posted until the first <see cref="Add"/>.</summary>
    /// <param name="pages">The pool adapter: pages come from it and go back to it.</param>
    /// <param name="bufferRingEntries">Pages kept posted: a power of two, 1 to 32768 (default 64). This, not the number of
    /// connections, is the memory held while connections are idle.</param>
    /// <param name="maxConnections">The most connections at once (ids are 0 to this - 1); 1 to 1,048,576.</param>
    /// <param name="incremental">Share pages between reads where the kernel can (Linux 6.12); false: a page per read.</param>
    /// <param name="groupId">The buffer group id (any; the receiver has its own ring).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    /// <exception cref="PagePoolException">The pool has more than 65,536 pages.</exception>
    /// <exception cref="PlatformNotSupportedException">io_uring is missing, forbidden, or older than 6.0 here (the message says which).</exception>
    public TcpMultishotReceiver(TPages pages, int bufferRingEntries = 64, int maxConnections = 4096, bool incremental = true, ushort groupId = 0)
    {
        if (bufferRingEntries < 1 || bufferRingEntries > ProvidedBufferRing<TPages>.MaxEntries || (bufferRingEntries & (bufferRingEntries - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferRingEntries), bufferRingEntries, "io_uring: a provided-buffer ring's size must be a power of two from 1 to 32768.");
        }
        if (maxConnections < 1 || maxConnections > 1 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(maxConnections), maxConnections, "io_uring: maxConnections must be 1 to 1,048,576.");
        }
        int poolSize = pages.PoolSize;
        if (poolSize > ProvidedBufferRing<TPages>.MaxPoolSize || poolSize < 1)
        {
            throw new PagePoolException(
                $"io_uring: a provided-buffer ring names pages by a 16-bit buffer id, so the pool may have at most {ProvidedBufferRing<TPages>.MaxPoolSize} pages; it has {poolSize}.",
                poolName: null, pageId: -1);
        }

        // Every connection may post a completion per read between two reads of the ring: size it so bursts from many
        // connections do not go through the kernel's overflow list.
        int cq = (int)Math.Min(65536u, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(4096, Math.Max(maxConnections, bufferRingEntries) * 2)));
        _ring = new IoRing(256, cq);
        try
        {
            _ring.RequireFeature(IoRingFeatures.MultishotReceive, "multishot recv", "6.0");
            incremental &= (_ring.Features & IoRingFeatures.IncrementalBufferConsumption) != 0;
            _slices = new ReceiveSlices<TPages>(pages, $"TcpMultishotReceiver (ring {_ring.FileDescriptor})");
            _buffers = new ProvidedBufferRing<SlicedPageSource<TPages>>(_ring, new SlicedPageSource<TPages>(_slices), groupId, bufferRingEntries, incremental);
        }
        catch
        {
            _ring.Dispose();
            throw;
        }
        _refillBelow = bufferRingEntries - Math.Min(32, Math.Max(1, bufferRingEntries / 4));
        _connections = new Connection[maxConnections];
        _freeIds = new int[maxConnections];
        for (int i = 0; i < maxConnections; i++)
        {
            _freeIds[i] = maxConnections - 1 - i; // lowest ids first
        }
        _freeCount = maxConnections;
        _dry = new int[maxConnections];
        _ended = new int[maxConnections];
    }

    /// <summary>True when reads share pages (incremental consumption: asked for, and the kernel has it).</summary>
    public bool Incremental => _buffers.Incremental;

    /// <summary>Connections added and not yet reported by <see cref="TryGetClosed"/>.</summary>
    public int ConnectionCount => _active;

    /// <summary>Reads handed to the caller.</summary>
    public long Reads => _reads;

    /// <summary>Bytes handed to the caller.</summary>
    public long BytesReceived => _bytes;

    /// <summary>Times a connection's receive ended because the buffer ring was dry (<c>ENOBUFS</c>) and waited for pages.</summary>
    public long RingEmptyCount => _ringEmpty;

    /// <summary>Times a multishot receive was armed (once per connection, plus once per pause or other end).</summary>
    public long ArmCount => _arms;

    /// <summary>Pages posted to the kernel right now (they count as in use in the pool).</summary>
    public int PagesPosted => _buffers.PagesPosted;

    /// <summary>Slices handed out and not yet released (any thread may be releasing while this is read).</summary>
    public long SlicesOutstanding => _slices.Outstanding;

    /// <summary>The io_uring instance (for its <see cref="IoRing.Features"/>).</summary>
    public IoRing Ring => _ring;

    /// <summary>
    /// Adds a connected TCP socket and arms its receive; returns its id (0 to maxConnections - 1), which every read and
    /// its end carry. The socket must stay open until <see cref="TryGetClosed"/> reports its end; the caller may send on it.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="socket"/> is closed, or the receiver was disposed.</exception>
    /// <exception cref="ArgumentException"><paramref name="socket"/> is not a TCP stream socket.</exception>
    /// <exception cref="InvalidOperationException">maxConnections connections are already added, or called from a thread other than the owner.</exception>
    public int Add(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (socket.SafeHandle.IsClosed)
        {
            throw new ObjectDisposedException(nameof(Socket), "io_uring: the socket is closed.");
        }
        if (socket.SocketType != SocketType.Stream || socket.ProtocolType != ProtocolType.Tcp)
        {
            throw new ArgumentException($"io_uring: TcpMultishotReceiver needs a TCP stream socket; this one is {socket.SocketType}/{socket.ProtocolType}.", nameof(socket));
        }
        if (_freeCount == 0)
        {
            throw new InvalidOperationException($"io_uring: the receiver already has its {_connections.Length} connections (maxConnections); report ended ones with TryGetClosed to free their ids.");
        }
        int fd = (int)socket.Handle;
        if (_buffers.PagesPosted == 0)
        {
            _buffers.Refill();
        }
        int id = _freeIds[--_freeCount];
        ref Connection c = ref _connections[id];
        c.Socket = socket;
        c.Fd = fd;
        c.Generation = (c.Generation + 1) & GenerationMask;
        c.RemoveRequested = false;
        c.Reason = default;
        c.Errno = 0;
        _active++;
        if (_buffers.PagesPosted > 0)
        {
            Arm(id, ref c);
        }
        else
        {
            // The pool is out of pages: arm once some come back, as after ENOBUFS.
            c.State = State.Dry;
            _dry[_dryCount++] = id;
        }
        return id;
    }

    /// <summary>The socket added under <paramref name="connection"/>.</summary>
    /// <exception cref="ArgumentException">No connection has that id.</exception>
    public Socket GetSocket(int connection) => Get(connection).Socket!;

    /// <summary>
    /// Stops receiving on a connection: its receive is cancelled, reads already completed are still delivered, and
    /// <see cref="TryGetClosed"/> then reports it (<see cref="TcpCloseReason.Removed"/>, unless it had already ended
    /// otherwise). Does nothing for a connection that already ended.
    /// </summary>
    /// <exception cref="ArgumentException">No connection has that id.</exception>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner.</exception>
    public void Remove(int connection)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ref Connection c = ref Get(connection);
        if (c.RemoveRequested || c.State == State.Ended)
        {
            return;
        }
        c.RemoveRequested = true;
        switch (c.State)
        {
            case State.Armed:
                _ring.QueueCancel(UserData(connection, c.Generation));
                c.State = State.Removing;
                break;
            case State.Dry:
                RemoveFromDry(connection);
                End(connection, ref c, TcpCloseReason.Removed, 0);
                break;
        }
    }

    /// <summary>
    /// Returns the next read if one has completed, waiting up to <paramref name="timeoutMs"/> milliseconds (-1: no limit)
    /// for one: <paramref name="data"/> is exactly the bytes read, owned by the caller until it passes it to
    /// <see cref="Release"/>. False after the timeout, and at once (without waiting) while ended connections wait to be
    /// reported by <see cref="TryGetClosed"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeoutMs"/> is below -1.</exception>
    /// <exception cref="ObjectDisposedException">The receiver was disposed.</exception>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner.</exception>
    /// <exception cref="PagePoolException">A page the kernel let go of had more releases than reads (see <see cref="Release"/>).</exception>
    public bool TryReceive(out Page data, out int connection, int timeoutMs = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            while (_ring.TryGetCompletion(out IoCompletion completion))
            {
                if (OnCompletion(in completion, out data, out connection))
                {
                    return true;
                }
            }
            if (_endedCount > 0)
            {
                break;
            }
            if (_buffers.PagesPosted < _buffers.Entries)
            {
                _buffers.Refill();
            }
            if (_dryCount > 0 && _buffers.PagesPosted > 0)
            {
                ArmDry();
            }
            long left = deadline - Environment.TickCount64;
            int wait = left <= 0 ? 0 : (int)Math.Min(left, int.MaxValue);
            if (_dryCount > 0)
            {
                // Waiting for released pages: they come back through the pool, which wakes nobody, so look again soon.
                wait = Math.Min(wait, 1);
            }
            if (_ring.SubmitAndWait(wait > 0 && _ring.OperationsInFlight > 0 ? 1 : 0, wait) == 0)
            {
                if (wait > 0 && _ring.OperationsInFlight == 0)
                {
                    // No connection is armed (none added, or all paused): nothing can complete, so poll gently.
                    Thread.Sleep(Math.Min(wait, 10));
                }
                if (Environment.TickCount64 >= deadline)
                {
                    break;
                }
            }
        }
        data = default;
        connection = -1;
        return false;
    }

    /// <summary>
    /// Reports the next connection that ended (in the order they ended, each after its last read); its id is free
    /// for <see cref="Add"/> from now on. False when none is waiting. Does not wait: <see cref="TryReceive"/> reads the
    /// completions that end connections.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner.</exception>
    public bool TryGetClosed(out TcpConnectionClosed closed)
    {
        if (_endedCount == 0)
        {
            closed = default;
            return false;
        }
        int id = _ended[_endedHead];
        _endedHead = _endedHead + 1 == _ended.Length ? 0 : _endedHead + 1;
        _endedCount--;
        ref Connection c = ref _connections[id];
        closed = new TcpConnectionClosed(id, c.Socket!, c.Reason, c.Errno);
        c.Socket = null;
        c.State = State.Free;
        _freeIds[_freeCount++] = id;
        _active--;
        return true;
    }

    /// <summary>
    /// Gives back a read that <see cref="TryReceive"/> handed out; its page goes back to the pool when the kernel is done
    /// with it and this was its last read out. Any thread; once per read.
    /// </summary>
    /// <remarks>Reads of one page share a reference count, as the kernel's page fragments do, so a read released twice
    /// is refused at once only when nothing else holds its page: always on a ring without incremental consumption, and
    /// on an incremental ring once the kernel is done with the page and no other read of it is out. Otherwise the count
    /// cannot tell which read was released; the extra release is found later, when the count runs short (the kernel
    /// letting go of the page makes <see cref="TryReceive"/> throw and keeps the page out of its pool; a later release
    /// of another read of that page throws here), and until then another read of that page may already have gone back
    /// to the pool under its holder. Release each read exactly once: the analyzers check that for code that calls this.</remarks>
    /// <exception cref="PagePoolException">Not a read this receiver has out (released twice, default, another pool's page).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release([Owned] Page data) => _slices.Release(data);

    // ==================================================================== completions (owner thread)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool OnCompletion(in IoCompletion completion, out Page data, out int connection)
    {
        connection = IoUserData.Socket(completion.UserData);
        data = default;
        if (completion.HasBuffer)
        {
            data = TakeRead(in completion);
        }
        if (!completion.HasMore)
        {
            OnReceiveEnded(in completion);
        }
        if (data.IsDefault)
        {
            return false;
        }
        _reads++;
        _bytes += data.Length;
        if ((uint)connection >= (uint)_connections.Length || !IsCurrent(completion.UserData, _connections[connection].Generation))
        {
            // Defensive: a read for an id that is not the one it was armed for; no one can use it.
            _slices.Release(data);
            return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Page TakeRead(in IoCompletion completion)
    {
        int length = Math.Max(completion.Result, 0);
        Page data;
        if (_buffers.TryTakePage(in completion, out Page page, out int offset))
        {
            data = _slices.SliceLast(page, offset, length);
        }
        else
        {
            // The kernel keeps the page and will append the next read after this one: lend this part of it.
            data = length == 0 ? default : _slices.SliceShared(_buffers.PeekPage(completion.BufferId), offset, length);
        }
        if (_buffers.PagesPosted <= _refillBelow)
        {
            _buffers.Refill();
        }
        return data;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OnReceiveEnded(in IoCompletion completion)
    {
        int id = IoUserData.Socket(completion.UserData);
        if ((uint)id >= (uint)_connections.Length)
        {
            return;
        }
        ref Connection c = ref _connections[id];
        if (!IsCurrent(completion.UserData, c.Generation) || c.State is not (State.Armed or State.Removing))
        {
            return;
        }
        int result = completion.Result;
        if (c.RemoveRequested)
        {
            End(id, ref c, TcpCloseReason.Removed, result < 0 && result != -ECANCELED ? -result : 0);
        }
        else if (result == -ENOBUFS)
        {
            _ringEmpty++;
            c.State = State.Dry;
            _dry[_dryCount++] = id;
        }
        else if (result > 0)
        {
            // The kernel may end a multishot receive after a read (for example when its completion ring overflowed).
            Arm(id, ref c);
        }
        else if (result == 0)
        {
            End(id, ref c, TcpCloseReason.PeerClosed, 0);
        }
        else
        {
            End(id, ref c, TcpCloseReason.Error, -result);
        }
    }

    private void Arm(int id, ref Connection c)
    {
        _ring.QueueReceiveMultishot(c.Fd, _buffers.GroupId, UserData(id, c.Generation));
        c.State = State.Armed;
        _arms++;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ArmDry()
    {
        int n = _dryCount;
        _dryCount = 0;
        for (int i = 0; i < n; i++)
        {
            int id = _dry[i];
            Arm(id, ref _connections[id]);
        }
    }

    private void RemoveFromDry(int id)
    {
        int i = Array.IndexOf(_dry, id, 0, _dryCount);
        if (i >= 0)
        {
            _dry[i] = _dry[--_dryCount];
        }
    }

    private void End(int id, ref Connection c, TcpCloseReason reason, int errno)
    {
        c.State = State.Ended;
        c.Reason = reason;
        c.Errno = errno;
        int tail = _endedHead + _endedCount;
        _ended[tail >= _ended.Length ? tail - _ended.Length : tail] = id;
        _endedCount++;
    }

    private static ulong UserData(int id, uint generation) => IoUserData.Create(id, (int)generation, ReceiveOperation);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsCurrent(ulong userData, uint generation) =>
        IoUserData.Generation(userData) == (int)generation && IoUserData.Operation(userData) == ReceiveOperation;

    private ref Connection Get(int connection)
    {
        if ((uint)connection >= (uint)_connections.Length || _connections[connection].State == State.Free)
        {
            throw new ArgumentException($"io_uring: no connection has id {connection} (not added, or its end was already reported).", nameof(connection));
        }
        return ref _connections[connection];
    }

    /// <summary>
    /// Cancels every receive, drains their completions, unregisters the buffer ring and closes the io_uring instance.
    /// Pages still posted go back to the pool at once; a page with reads still out goes back when the last of them is
    /// released (<see cref="Release"/> keeps working after this). Sockets are not closed. Idempotent.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from a thread other than the owner.</exception>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _ring.Dispose();
        _disposed = true;
        for (int i = 0; i < _connections.Length; i++)
        {
            _connections[i].Socket = null;
        }
    }
}

/// <summary>Why a connection of a <see cref="TcpMultishotReceiver{TPages}"/> ended.</summary>
public enum TcpCloseReason
{
    /// <summary>The peer closed its side (a read returned 0 bytes): every byte it sent was delivered.</summary>
    PeerClosed,

    /// <summary>The receive failed (<see cref="TcpConnectionClosed.Errno"/>: for example <c>ECONNRESET</c>, 104).</summary>
    Error,

    /// <summary><see cref="TcpMultishotReceiver{TPages}.Remove"/> stopped it.</summary>
    Removed,
}

/// <summary>A connection that ended: its id, its socket (for the caller to close) and why.</summary>
public readonly struct TcpConnectionClosed
{
    internal TcpConnectionClosed(int connection, Socket socket, TcpCloseReason reason, int errno)
    {
        Connection = connection;
        Socket = socket;
        Reason = reason;
        Errno = errno;
    }

    /// <summary>The id <see cref="TcpMultishotReceiver{TPages}.Add"/> returned; free for reuse from now on.</summary>
    public int Connection { get; }

    /// <summary>The socket that was added: the receiver does not close it.</summary>
    public Socket Socket { get; }

    /// <summary>Why it ended.</summary>
    public TcpCloseReason Reason { get; }

    /// <summary>The error number for <see cref="TcpCloseReason.Error"/> (104 is <c>ECONNRESET</c>), else 0.</summary>
    public int Errno { get; }

    /// <inheritdoc/>
    public override string ToString() =>
        Reason == TcpCloseReason.Error ? $"connection {Connection}: {Reason} ({ErrnoName(Errno)})" : $"connection {Connection}: {Reason}";
}
