using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using PagePool;
using PagePool.IoUring;

namespace PipelinesEcho;

/// <summary>
/// The receive pages of the io_uring transport: 4 KiB, at most 256 of them (1 MiB), whatever the number of
/// connections. The transport keeps 64 posted; the rest cover reads being echoed.
/// </summary>
[PagePool(4096, 256)]
internal sealed partial class EchoRxPages
{
}

/// <summary>The three-line adapter that lets a provided-buffer ring call the generated pool directly.</summary>
internal readonly struct EchoRxSource(EchoRxPages pool) : IPageSource
{
    public int PoolSize => EchoRxPages.PoolSize;

    public int AllocPages(Span<Page> pages) => pool.AllocPages(pages);

    public void RecyclePage([Owned] Page page) => pool.RecyclePage(page);
}

/// <summary>
/// A plain echo server (every byte received is sent back on the same connection) with one of three ways of
/// receiving, so they can be compared under the same load.
/// </summary>
internal abstract class EchoTransport : IDisposable
{
    public const int BufferSize = 4096;

    private readonly Socket _listener;
    private long _bytesEchoed;

    protected EchoTransport(string name, IPEndPoint? listen)
    {
        Name = name;
        listen ??= new IPEndPoint(IPAddress.Loopback, 0);
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(listen);
        _listener.Listen(4096);
    }

    public string Name { get; }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public long BytesEchoed => Interlocked.Read(ref _bytesEchoed);

    /// <summary>Bytes held for receiving right now (posted and in-use pages, or rented buffers).</summary>
    public abstract long BufferBytes { get; }

    /// <summary>Connections being served right now.</summary>
    public abstract int Connections { get; }

    /// <summary>For the io_uring transport: the receive pool's reserved bytes and pages in use; zero for the others.</summary>
    public virtual (long BytesReserved, int PagesInUse, long PoolBytes) PoolState => (0, 0, 0);

    /// <summary>A line for the reader saying what ran (the io_uring transport's mode).</summary>
    public virtual string Description => Name;

    public static EchoTransport Create(string name, IPEndPoint? listen = null) => name switch
    {
        "io_uring" => new IoUringEchoTransport(listen),
        "socket" => new SocketEchoTransport(listen),
        "zero-byte" => new ZeroByteEchoTransport(listen),
        _ => throw new ArgumentException($"unknown transport {name}: io_uring, socket or zero-byte"),
    };

    protected void Echoed(int bytes) => Interlocked.Add(ref _bytesEchoed, bytes);

    protected Socket Listener => _listener;

    public abstract void Start();

    /// <summary>Stops accepting, ends every connection and returns every buffer.</summary>
    public abstract void Stop();

    public void Dispose()
    {
        _listener.Dispose();
        Stop();
    }
}

/// <summary>
/// One thread, one io_uring instance: every connection's receive is a multishot recv on one shared buffer ring fed by
/// <see cref="EchoRxPages"/>; each read is sent back from the page it landed in, then released.
/// </summary>
internal sealed class IoUringEchoTransport : EchoTransport
{
    private readonly EchoRxPages _pages = new();
    private readonly ConcurrentQueue<Socket> _accepted = new();
    private readonly Socket?[] _sockets = new Socket?[MaxConnections]; // by connection id, ring thread only
    private Thread? _ringThread;
    private Thread? _acceptThread;
    private volatile bool _stop;
    private volatile int _connections;
    private string _mode = "io_uring";
    private Exception? _failure;

    private const int MaxConnections = 16384;

    public IoUringEchoTransport(IPEndPoint? listen) : base("io_uring", listen)
    {
    }

    public override long BufferBytes => (long)_pages.PagesInUse * EchoRxPages.PageSize;

    public override int Connections => _connections;

    public override (long BytesReserved, int PagesInUse, long PoolBytes) PoolState =>
        (_pages.GetPageStats().BytesReserved, _pages.PagesInUse, (long)EchoRxPages.PoolSize * EchoRxPages.PageSize);

    public override string Description => _mode;

    public override void Start()
    {
        using var ready = new ManualResetEventSlim();
        _ringThread = new Thread(() => RingLoop(ready)) { Name = "io_uring echo", IsBackground = true };
        _ringThread.Start();
        ready.Wait();
        if (_failure is not null)
        {
            throw new InvalidOperationException($"io_uring transport failed to start: {_failure.Message}", _failure);
        }
        _acceptThread = new Thread(AcceptLoop) { Name = "io_uring accept", IsBackground = true };
        _acceptThread.Start();
    }

    private void AcceptLoop()
    {
        try
        {
            while (!_stop)
            {
                Socket socket = Listener.Accept();
                socket.NoDelay = true;
                _accepted.Enqueue(socket);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
    }

    private void RingLoop(ManualResetEventSlim ready)
    {
        TcpMultishotReceiver<EchoRxSource> rx;
        try
        {
            rx = new TcpMultishotReceiver<EchoRxSource>(new EchoRxSource(_pages), bufferRingEntries: 64, maxConnections: MaxConnections);
            _mode = rx.Incremental ? "io_uring (multishot recv, one shared buffer ring, incremental)" : "io_uring (multishot recv, one shared buffer ring, a page per read)";
        }
        catch (Exception ex) when (ex is PlatformNotSupportedException or IoUringException or InvalidOperationException)
        {
            _failure = ex;
            ready.Set();
            return;
        }
        ready.Set();
        using (rx)
        {
            while (!_stop)
            {
                while (_accepted.TryDequeue(out Socket? socket))
                {
                    _sockets[rx.Add(socket)] = socket;
                    _connections++;
                }
                // A short wait: new connections arrive through the queue, which does not wake the ring.
                while (rx.TryReceive(out Page data, out int connection, timeoutMs: 5))
                {
                    SendAll(_sockets[connection]!, data);
                    rx.Release(data);
                }
                while (rx.TryGetClosed(out TcpConnectionClosed closed))
                {
                    closed.Socket.Dispose();
                    _sockets[closed.Connection] = null;
                    _connections--;
                }
            }
        }
        // The receiver never closes sockets: close the ones still open once their receives are cancelled.
        foreach (Socket? socket in _sockets)
        {
            socket?.Dispose();
        }
        while (_accepted.TryDequeue(out Socket? late))
        {
            late.Dispose();
        }
        _connections = 0;
    }

    private void SendAll(Socket socket, Page data)
    {
        try
        {
            ReadOnlySpan<byte> left = data.Span;
            while (!left.IsEmpty)
            {
                left = left[socket.Send(left)..];
            }
            Echoed(data.Length);
        }
        catch (SocketException)
        {
            // The peer went away mid-echo: its receive ends on its own and reports it.
        }
    }

    public override void Stop()
    {
        _stop = true;
        Listener.Dispose();
        _acceptThread?.Join();
        _ringThread?.Join();
    }

    /// <summary>Destroys the pool once its pages are all back (for the self-test's final check).</summary>
    public int DestroyPool()
    {
        int inUse = _pages.PagesInUse;
        _pages.DestroyPagePool();
        return inUse;
    }
}

/// <summary>
/// The managed-socket transports: an accept loop that starts one echo task per connection and tracks it, the counters
/// both report, and a stop that waits for every task. Subclasses say how a connection is echoed.
/// </summary>
internal abstract class ManagedSocketEchoTransport : EchoTransport
{
    private readonly ConcurrentDictionary<Task, bool> _tasks = new();
    private Task? _acceptLoop;
    private long _bufferBytes;
    private int _connections;

    protected ManagedSocketEchoTransport(string name, IPEndPoint? listen) : base(name, listen)
    {
    }

    protected CancellationTokenSource StopSource { get; } = new();

    public override long BufferBytes => Interlocked.Read(ref _bufferBytes);

    public override int Connections => Volatile.Read(ref _connections);

    public override void Start() => _acceptLoop = AcceptLoopAsync();

    /// <summary>Echoes one connection until it closes or the transport stops; the socket is the caller's to dispose.</summary>
    protected abstract Task EchoConnectionAsync(Socket socket);

    /// <summary>Counts bytes rented for receiving (negative when they go back).</summary>
    protected void AddBufferBytes(long bytes) => Interlocked.Add(ref _bufferBytes, bytes);

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                Socket socket = await Listener.AcceptAsync(StopSource.Token).ConfigureAwait(false);
                socket.NoDelay = true;
                Task t = ServeAsync(socket);
                _tasks[t] = true;
                _ = t.ContinueWith(done => _tasks.TryRemove(done, out _), TaskScheduler.Default);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        Interlocked.Increment(ref _connections);
        try
        {
            await EchoConnectionAsync(socket).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
            socket.Dispose();
        }
    }

    internal static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        while (!data.IsEmpty)
        {
            data = data[await socket.SendAsync(data, SocketFlags.None, cancel).ConfigureAwait(false)..];
        }
    }

    public override void Stop()
    {
        StopSource.Cancel();
        Listener.Dispose();
        _acceptLoop?.GetAwaiter().GetResult();
        Task.WhenAll(_tasks.Keys).GetAwaiter().GetResult();
    }
}

/// <summary>What most .NET servers do: one receive buffer per connection, rented when it opens and held until it closes.</summary>
internal sealed class SocketEchoTransport : ManagedSocketEchoTransport
{
    public SocketEchoTransport(IPEndPoint? listen) : base("socket", listen)
    {
    }

    public override string Description => "socket (Socket.ReceiveAsync into a 4 KiB ArrayPool buffer held per connection)";

    protected override async Task EchoConnectionAsync(Socket socket)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        AddBufferBytes(buffer.Length);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, StopSource.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                await SendAllAsync(socket, buffer.AsMemory(0, n), StopSource.Token).ConfigureAwait(false);
                Echoed(n);
            }
        }
        finally
        {
            AddBufferBytes(-buffer.Length);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// Kestrel's socket transport: wait for data with a zero-byte read (no buffer held while idle), then rent a buffer,
/// read what is there, echo it and return the buffer.
/// </summary>
internal sealed class ZeroByteEchoTransport : ManagedSocketEchoTransport
{
    public ZeroByteEchoTransport(IPEndPoint? listen) : base("zero-byte", listen)
    {
    }

    public override string Description => "zero-byte (zero-byte ReceiveAsync, then a 4 KiB ArrayPool buffer per read)";

    protected override async Task EchoConnectionAsync(Socket socket)
    {
        while (true)
        {
            await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, StopSource.Token).ConfigureAwait(false);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            AddBufferBytes(buffer.Length);
            try
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, StopSource.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                await SendAllAsync(socket, buffer.AsMemory(0, n), StopSource.Token).ConfigureAwait(false);
                Echoed(n);
            }
            finally
            {
                AddBufferBytes(-buffer.Length);
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
