using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace PipelinesEcho;

/// <summary>
/// A TCP echo server in the System.IO.Pipelines style: per connection, one loop receives from the socket into the
/// pipe's writer (buffers rented from <see cref="PipeOptions.Pool"/>), another sends what the reader sees back.
/// </summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly PipeOptions _pipeOptions;
    private readonly CancellationTokenSource _stop;
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly Task _acceptLoop;
    private long _bytesEchoed;

    public EchoServer(IPEndPoint endpoint, MemoryPool<byte>? pool, CancellationToken cancel)
    {
        // Segments of one page; a pool that is null means the pipe's default, MemoryPool<byte>.Shared.
        _pipeOptions = new PipeOptions(pool: pool, minimumSegmentSize: pool?.MaxBufferSize ?? 4096,
                                       useSynchronizationContext: false);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(endpoint);
        _listener.Listen(64);
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public long BytesEchoed => Interlocked.Read(ref _bytesEchoed);

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
                socket.NoDelay = true;
                Task connection = EchoAsync(socket);
                _connections[connection] = true;
                _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task EchoAsync(Socket socket)
    {
        using (socket)
        {
            var pipe = new Pipe(_pipeOptions);
            Task receiving = ReceiveAsync(socket, pipe.Writer);
            Task sending = SendAsync(socket, pipe.Reader);
            await Task.WhenAll(receiving, sending).ConfigureAwait(false);
        }
    }

    private async Task ReceiveAsync(Socket socket, PipeWriter writer)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                Memory<byte> memory = writer.GetMemory();
                int received = await socket.ReceiveAsync(memory, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }
                writer.Advance(received);
                FlushResult flush = await writer.FlushAsync(_stop.Token).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            error = ex;
        }
        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SendAsync(Socket socket, PipeReader reader)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult read = await reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = read.Buffer;
                foreach (ReadOnlyMemory<byte> segment in buffer)
                {
                    ReadOnlyMemory<byte> left = segment;
                    while (!left.IsEmpty)
                    {
                        int sent = await socket.SendAsync(left, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                        left = left[sent..];
                    }
                }
                Interlocked.Add(ref _bytesEchoed, buffer.Length);
                reader.AdvanceTo(buffer.End);
                if (read.IsCompleted || read.IsCanceled)
                {
                    break;
                }
            }
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or InvalidOperationException)
        {
            error = ex;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    /// <summary>Stops accepting, cancels every connection and waits for them: their pipes give every segment back.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAll(_connections.Keys).ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>Waits until every connection accepted so far has finished.</summary>
    public Task ConnectionsDone() => Task.WhenAll(_connections.Keys);
}
