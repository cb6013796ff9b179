using System;
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using PagePool.IoUring;

namespace PagePool.Benchmarks;

/// <summary>
/// The receive side of three UDP transports, per datagram: each invocation drains a socket buffer filled beforehand
/// with <see cref="Datagrams"/> loopback datagrams, so the sender's cost is outside the measurement and every
/// transport sees the same queue. io_uring: pool pages posted to a provided-buffer ring, one multishot recvmsg;
/// recvmmsg: pool pages, batches of 32 per system call; socket: <c>Socket.ReceiveFrom</c> into
/// <c>ArrayPool&lt;byte&gt;.Shared</c> arrays, one call per datagram. Every datagram's buffer is given back at once.
/// Linux only (io_uring and recvmmsg).
/// </summary>
[InvocationCount(1, 1)] // the iteration setup refills the socket before each invocation
public unsafe class UdpTransportBenchmarks
{
    /// <summary>Datagrams per invocation: well inside an 8 MB socket buffer at this size.</summary>
    public const int Datagrams = 2048;

    private const int DatagramSize = 256;
    private const int Batch = 32;

    private Socket _rx = null!;
    private Socket _tx = null!;
    private RuntimePagePool _pool = null!;
    private UdpMultishotReceiver<RuntimePageSource>? _uring;
    private byte[] _datagram = null!;
    private SocketAddress _from = null!;
    private MMsgHdr* _messages;
    private IoVec* _iovecs;
    private Page[] _posted = null!;

    /// <summary>Which transport drains the socket.</summary>
    [Params("io_uring", "recvmmsg", "socket")]
    public string Transport { get; set; } = "io_uring";

    [GlobalSetup]
    public void Setup()
    {
        _rx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _rx.ReceiveBufferSize = 8 << 20;
        _rx.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _tx = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _tx.SendBufferSize = 1 << 20;
        _tx.Connect(_rx.LocalEndPoint!);
        _datagram = new byte[DatagramSize];
        _from = new SocketAddress(AddressFamily.InterNetwork);
        _pool = new RuntimePagePool(new PagePoolOptions { PageSize = 2048, PoolSize = 1024, Name = "udp-bench" });
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(MMsgHdr)));
        _iovecs = (IoVec*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(IoVec)));
        _posted = new Page[Batch];
        for (int i = 0; i < Batch; i++)
        {
            _messages[i].Header.Iov = &_iovecs[i];
            _messages[i].Header.IovLength = 1;
        }
        if (Transport == "io_uring")
        {
            _uring = new UdpMultishotReceiver<RuntimePageSource>(_rx, new RuntimePageSource(_pool), bufferRingEntries: 256);
        }
    }

    [IterationSetup]
    public void Fill()
    {
        for (int i = 0; i < Datagrams; i++)
        {
            _datagram[0] = (byte)i;
            _tx.Send(_datagram);
        }
    }

    [Benchmark(OperationsPerInvoke = Datagrams)]
    public long Receive() => Transport switch
    {
        "io_uring" => DrainIoUring(),
        "recvmmsg" => DrainRecvMmsg(),
        _ => DrainSocket(),
    };

    private long DrainIoUring()
    {
        long bytes = 0;
        for (int i = 0; i < Datagrams; i++)
        {
            if (!_uring!.TryReceive(out Page page, out UdpDatagram datagram, 1000))
            {
                throw new InvalidOperationException($"io_uring: datagram {i} of {Datagrams} did not arrive.");
            }
            bytes += datagram.Length;
            _pool.RecyclePageDirect(page);
        }
        return bytes;
    }

    private long DrainRecvMmsg()
    {
        long bytes = 0;
        int received = 0;
        int fd = (int)_rx.Handle;
        while (received < Datagrams)
        {
            int posted = _pool.AllocPages(_posted);
            for (int i = 0; i < posted; i++)
            {
                _iovecs[i].Base = _posted[i].Address;
                _iovecs[i].Length = (nuint)_posted[i].Length;
            }
            int n = RecvMmsg(fd, _messages, (uint)posted, 0, 0);
            if (n <= 0)
            {
                _pool.RecyclePages(_posted.AsSpan(0, posted));
                throw new InvalidOperationException($"recvmmsg: datagram {received} of {Datagrams} did not arrive (errno {Marshal.GetLastPInvokeError()}).");
            }
            for (int i = 0; i < n; i++)
            {
                bytes += _messages[i].Length;
            }
            _pool.RecyclePages(_posted.AsSpan(0, posted)); // filled or not: the next call posts afresh
            received += n;
        }
        return bytes;
    }

    private long DrainSocket()
    {
        long bytes = 0;
        for (int i = 0; i < Datagrams; i++)
        {
            byte[] array = ArrayPool<byte>.Shared.Rent(2048);
            bytes += _rx.ReceiveFrom(array.AsSpan(0, 2048), SocketFlags.None, _from);
            ArrayPool<byte>.Shared.Return(array);
        }
        return bytes;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _uring?.Dispose();
        _rx.Dispose();
        _tx.Dispose();
        NativeMemory.Free(_messages);
        NativeMemory.Free(_iovecs);
        _pool.DestroyPagePool();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [DllImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static extern int RecvMmsg(int fd, MMsgHdr* messages, uint count, int flags, nint timeout);
}
