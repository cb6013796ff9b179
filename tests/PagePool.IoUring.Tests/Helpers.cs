using System;
using System.Net;
using System.Net.Sockets;
using PagePool;
using PagePool.IoUring;

namespace PagePool.IoUring.Tests;

/// <summary>A generated pool, served to the buffer ring through the three-line adapter the docs show.</summary>
[PagePool(2048, 512)]
internal sealed partial class RxPool
{
}

internal readonly struct RxPages(RxPool pool) : IPageSource
{
    public int PoolSize => RxPool.PoolSize;
    public int AllocPages(Span<Page> pages) => pool.AllocPages(pages);
    public void RecyclePage([Owned] Page page) => pool.RecyclePage(page);
}

internal static class Loopback
{
    /// <summary>A UDP socket bound to an ephemeral loopback port with a large receive buffer, and a sender connected to it.</summary>
    public static (Socket Receiver, Socket Sender) UdpPair(AddressFamily family = AddressFamily.InterNetwork)
    {
        IPAddress loopback = family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        var receiver = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        receiver.ReceiveBufferSize = 4 << 20;
        receiver.Bind(new IPEndPoint(loopback, 0));
        var sender = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(loopback, 0));
        sender.Connect(receiver.LocalEndPoint!);
        return (receiver, sender);
    }

    public static RuntimePagePool Pool(int pageSize, int poolSize, string name) =>
        new(new PagePoolOptions { PageSize = pageSize, PoolSize = poolSize, Name = name });

    /// <summary>Datagram i: an 8-byte sequence number, then (byte)(i + k) at offset 8 + k.</summary>
    public static void Fill(Span<byte> datagram, long sequence)
    {
        BitConverter.TryWriteBytes(datagram, sequence);
        for (int k = 8; k < datagram.Length; k++)
        {
            datagram[k] = (byte)(sequence + k);
        }
    }

    /// <summary>The sequence number of a datagram written by <see cref="Fill"/>, or -1 when a byte is wrong.</summary>
    public static long Check(ReadOnlySpan<byte> datagram)
    {
        long sequence = BitConverter.ToInt64(datagram);
        for (int k = 8; k < datagram.Length; k++)
        {
            if (datagram[k] != (byte)(sequence + k))
            {
                return -1;
            }
        }
        return sequence;
    }
}
