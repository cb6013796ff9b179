using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace UdpRxQueue;

/// <summary>The demo's traffic: a thread sending datagrams of <see cref="Datagram"/>'s format as fast as it can.</summary>
internal sealed class Sender : IDisposable
{
    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly int _size;
    private volatile bool _stop;
    private long _sent;
    private long _sendErrors;

    public Sender(IPEndPoint target, int datagramSize)
    {
        _size = datagramSize;
        _socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.SendBufferSize = 1 << 20;
        _socket.Connect(target); // connected: Send(span) needs no address per datagram and allocates nothing
        _thread = new Thread(Run) { IsBackground = true, Name = "udp sender" };
    }

    public long Sent => Volatile.Read(ref _sent);

    public long SendErrors => Volatile.Read(ref _sendErrors);

    public void Start() => _thread.Start();

    private void Run()
    {
        byte[] datagram = GC.AllocateUninitializedArray<byte>(_size, pinned: true);
        ulong sequence = 0;
        while (!_stop)
        {
            Datagram.Write(datagram, sequence++, System.Diagnostics.Stopwatch.GetTimestamp());
            _socket.Send(datagram.AsSpan(), SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                Volatile.Write(ref _sent, _sent + 1);
            }
            else
            {
                // ECONNREFUSED from an earlier datagram's ICMP, or a full send buffer: count it and go on.
                Volatile.Write(ref _sendErrors, _sendErrors + 1);
                Thread.Yield();
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
        _socket.Dispose();
    }
}
