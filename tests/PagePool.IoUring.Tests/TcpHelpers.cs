using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using PagePool;
using PagePool.IoUring;

namespace PagePool.IoUring.Tests;

/// <summary>Loopback TCP connections: the client ends (the test writes into them) and the accepted server ends (the receiver reads them).</summary>
internal sealed class TcpPeers : IDisposable
{
    public TcpPeers(int count)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(count);
        Clients = new Socket[count];
        Servers = new Socket[count];
        for (int i = 0; i < count; i++)
        {
            Clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Clients[i].Connect(listener.LocalEndPoint!);
            Servers[i] = listener.Accept();
        }
    }

    public Socket[] Clients { get; }

    public Socket[] Servers { get; }

    public void Dispose()
    {
        foreach (Socket s in Clients)
        {
            s.Dispose();
        }
        foreach (Socket s in Servers)
        {
            s.Dispose();
        }
    }

    /// <summary>Byte <paramref name="position"/> of connection <paramref name="stream"/>'s stream.</summary>
    public static byte Expected(int stream, long position) => (byte)(position * 7 + stream * 13 + (position >> 9));

    public static void Fill(Span<byte> buffer, int stream, long position)
    {
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = Expected(stream, position + i);
        }
    }

    public static bool Matches(ReadOnlySpan<byte> data, int stream, long position)
    {
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != Expected(stream, position + i))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// What a test checks about the reads it holds: no two reads out at once share a byte of memory (a page handed out
/// twice, or reposted while a read of it is out, would), and a read's bytes are unchanged when it is released (the
/// kernel did not write into a page that was out).
/// </summary>
internal sealed class HeldReads
{
    private readonly List<(Page Data, int Stream, long Position)> _held = new();

    public int Count => _held.Count;

    /// <summary>The page ids of the reads held, one per read.</summary>
    public IEnumerable<int> Ids
    {
        get
        {
            foreach ((Page data, _, _) in _held)
            {
                yield return data.Id;
            }
        }
    }

    /// <summary>How many different pages the held reads lie in.</summary>
    public int DistinctPages
    {
        get
        {
            var ids = new HashSet<int>();
            foreach ((Page data, _, _) in _held)
            {
                ids.Add(data.Id);
            }
            return ids.Count;
        }
    }

    /// <summary>Stops tracking a read another thread releases.</summary>
    public void Forget(Page data)
    {
        int i = _held.FindIndex(h => h.Data.Equals(data));
        Assert.True(i >= 0, "a read released that was not held");
        _held[i] = _held[^1];
        _held.RemoveAt(_held.Count - 1);
    }

    public void Add(Page data, int stream, long position)
    {
        long start = data.Address, end = data.Address + data.Length;
        foreach ((Page other, _, _) in _held)
        {
            if (start < other.Address + other.Length && other.Address < end)
            {
                throw new Xunit.Sdk.XunitException(
                    $"two reads out at once overlap: page {data.Id} [{start:x}, {end:x}) and page {other.Id} [{other.Address:x}, {other.Address + other.Length:x})");
            }
        }
        _held.Add((data, stream, position));
    }

    /// <summary>Releases the held read at <paramref name="index"/> after checking its bytes are still the ones received.</summary>
    public void ReleaseAt<T>(TcpMultishotReceiver<T> rx, int index) where T : struct, IPageSource
    {
        (Page data, int stream, long position) = _held[index];
        _held[index] = _held[^1];
        _held.RemoveAt(_held.Count - 1);
        Assert.True(TcpPeers.Matches(data.Span, stream, position), $"the bytes of a held read of connection {stream} changed while it was out");
        rx.Release(data);
    }

    public void ReleaseAll<T>(TcpMultishotReceiver<T> rx) where T : struct, IPageSource
    {
        while (_held.Count > 0)
        {
            ReleaseAt(rx, _held.Count - 1);
        }
    }
}
