using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using PagePool;
using PagePool.IoUring;

namespace PagePool.IoUring.Tests;

public sealed class TcpReceiverTests
{
    private const int ECONNRESET = 104;

    /// <summary>Sends <paramref name="bytes"/> of each connection's stream in chunks of 1 to 1500 bytes, round robin, then shuts each down.</summary>
    private static Thread StartSender(TcpPeers peers, int bytes, int seed)
    {
        var thread = new Thread(() =>
        {
            var random = new Random(seed);
            byte[] chunk = new byte[1500];
            var sent = new long[peers.Clients.Length];
            bool more = true;
            // A test that failed disposes the sockets under this thread: stop quietly, the test reports its own failure.
            try
            {
                while (more)
                {
                    more = false;
                    for (int i = 0; i < peers.Clients.Length; i++)
                    {
                        int n = (int)Math.Min(random.Next(1, chunk.Length + 1), bytes - sent[i]);
                        if (n <= 0)
                        {
                            continue;
                        }
                        TcpPeers.Fill(chunk.AsSpan(0, n), i, sent[i]);
                        peers.Clients[i].Send(chunk.AsSpan(0, n));
                        sent[i] += n;
                        more |= sent[i] < bytes;
                        if (sent[i] == bytes)
                        {
                            peers.Clients[i].Shutdown(SocketShutdown.Send);
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }) { IsBackground = true, Name = "tcp sender" };
        thread.Start();
        return thread;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Hundreds_of_connections_share_one_ring_and_every_byte_arrives_in_order(bool incremental)
    {
        const int Connections = 300;
        const int Bytes = 16_000;
        var pool = Loopback.Pool(4096, 64, "tcp-many-" + incremental);
        using var peers = new TcpPeers(Connections);
        var random = new Random(5);
        var held = new HeldReads();
        var position = new long[Connections];
        var streamOf = new int[Connections];
        var ended = new TcpConnectionClosed?[Connections];
        bool sharedPage = false;
        using (var rx = new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 32, incremental: incremental))
        {
            Assert.Equal(incremental && IoRing.KernelVersion >= new Version(6, 12), rx.Incremental);
            for (int i = 0; i < Connections; i++)
            {
                int id = rx.Add(peers.Servers[i]);
                streamOf[id] = i;
            }
            Assert.Equal(Connections, rx.ConnectionCount);
            Thread sender = StartSender(peers, Bytes, seed: 1);
            int closed = 0;
            long deadline = Environment.TickCount64 + 20_000;
            while (closed < Connections)
            {
                Assert.True(Environment.TickCount64 < deadline, $"only {closed} of {Connections} connections ended; {rx.Reads} reads, {rx.BytesReceived} bytes");
                if (rx.TryReceive(out Page data, out int id, timeoutMs: 50))
                {
                    int stream = streamOf[id];
                    Assert.Null(ended[id]);
                    Assert.True(TcpPeers.Matches(data.Span, stream, position[id]), $"connection {stream}: wrong bytes at {position[id]}");
                    foreach (int other in held.Ids)
                    {
                        sharedPage |= other == data.Id;
                    }
                    held.Add(data, stream, position[id]);
                    position[id] += data.Length;
                    // Keep up to 40 reads out, releasing one at random now and then: pages stay shared across reads.
                    while (held.Count > 40 || (held.Count > 0 && random.Next(3) == 0))
                    {
                        held.ReleaseAt(rx, random.Next(held.Count));
                    }
                }
                else
                {
                    held.ReleaseAll(rx);
                }
                while (rx.TryGetClosed(out TcpConnectionClosed c))
                {
                    Assert.Equal(TcpCloseReason.PeerClosed, c.Reason);
                    Assert.Same(peers.Servers[streamOf[c.Connection]], c.Socket);
                    Assert.Equal(Bytes, position[c.Connection]);
                    ended[c.Connection] = c;
                    closed++;
                }
            }
            sender.Join();
            held.ReleaseAll(rx);
            Assert.Equal(0, rx.SlicesOutstanding);
            Assert.Equal(0, rx.ConnectionCount);
            Assert.Equal((long)Connections * Bytes, rx.BytesReceived);
            Assert.Equal(rx.PagesPosted, pool.PagesInUse); // only the posted pages are out
            if (rx.Incremental)
            {
                Assert.True(sharedPage, "incremental consumption: reads out at once never shared a page");
            }
            else
            {
                Assert.False(sharedPage, "a ring without incremental consumption gave two reads the same page");
            }
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void The_ring_running_dry_pauses_connections_and_they_resume_when_reads_are_released()
    {
        const int Connections = 20;
        const int Bytes = 12_000;
        var pool = Loopback.Pool(4096, 8, "tcp-dry");
        using var peers = new TcpPeers(Connections);
        var position = new long[Connections];
        var held = new HeldReads();
        int closed = 0;
        bool sawDry = false;
        using (var rx = new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 8))
        {
            for (int i = 0; i < Connections; i++)
            {
                Assert.Equal(i, rx.Add(peers.Servers[i]));
            }
            Thread sender = StartSender(peers, Bytes, seed: 2);
            long deadline = Environment.TickCount64 + 20_000;
            while (closed < Connections)
            {
                Assert.True(Environment.TickCount64 < deadline, $"only {closed} connections ended; ring empty {rx.RingEmptyCount} times");
                if (rx.TryReceive(out Page data, out int id, timeoutMs: 30))
                {
                    Assert.True(TcpPeers.Matches(data.Span, id, position[id]));
                    held.Add(data, id, position[id]);
                    position[id] += data.Length;
                }
                else if (held.Count > 0)
                {
                    // Holding every read starves the pool: the receives end with ENOBUFS. Releasing lets them resume.
                    sawDry |= rx.RingEmptyCount > 0 && pool.PagesInUse == 8;
                    held.ReleaseAll(rx);
                }
                while (rx.TryGetClosed(out TcpConnectionClosed c))
                {
                    Assert.Equal(TcpCloseReason.PeerClosed, c.Reason);
                    Assert.Equal(Bytes, position[c.Connection]);
                    closed++;
                }
            }
            sender.Join();
            held.ReleaseAll(rx);
            Assert.True(sawDry, "the ring never ran dry with every page held");
            Assert.True(rx.RingEmptyCount > 0);
            Assert.True(rx.ArmCount > Connections, "no receive was armed again after ENOBUFS");
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Peers_closing_or_resetting_mid_stream_and_removed_connections_each_end_once_with_their_reason()
    {
        const int Connections = 60;
        var pool = Loopback.Pool(4096, 32, "tcp-ends");
        using var peers = new TcpPeers(Connections);
        var position = new long[Connections];
        var reason = new TcpCloseReason?[Connections];
        var errno = new int[Connections];
        byte[] chunk = new byte[7000];
        using (var rx = new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 16))
        {
            for (int i = 0; i < Connections; i++)
            {
                rx.Add(peers.Servers[i]);
            }
            // i % 3 == 0: 5,000 bytes then a normal close; 1: 3,000 bytes then a reset; 2: 7,000 bytes, left open, then removed.
            for (int i = 0; i < Connections; i++)
            {
                int n = (i % 3) switch { 0 => 5000, 1 => 3000, _ => 7000 };
                TcpPeers.Fill(chunk.AsSpan(0, n), i, 0);
                peers.Clients[i].Send(chunk.AsSpan(0, n));
            }
            for (int i = 0; i < Connections; i += 3)
            {
                peers.Clients[i].Shutdown(SocketShutdown.Both);
                peers.Clients[i].Close();
            }
            int ended = 0;
            bool removed = false;
            long deadline = Environment.TickCount64 + 20_000;
            while (ended < Connections)
            {
                Assert.True(Environment.TickCount64 < deadline, $"only {ended} of {Connections} connections ended");
                while (rx.TryReceive(out Page data, out int id, timeoutMs: 20))
                {
                    Assert.Null(reason[id]);
                    Assert.True(TcpPeers.Matches(data.Span, id, position[id]));
                    position[id] += data.Length;
                    rx.Release(data);
                }
                if (!removed && Sum(position, 2) == 7000L * (Connections / 3) && Sum(position, 0) == 5000L * (Connections / 3))
                {
                    // Every byte that will not be lost to a reset is in: reset, then remove the open ones.
                    removed = true;
                    for (int i = 1; i < Connections; i += 3)
                    {
                        peers.Clients[i].LingerState = new LingerOption(true, 0);
                        peers.Clients[i].Close();
                    }
                    for (int i = 2; i < Connections; i += 3)
                    {
                        rx.Remove(i);
                        rx.Remove(i); // twice: nothing more
                    }
                }
                while (rx.TryGetClosed(out TcpConnectionClosed c))
                {
                    Assert.Null(reason[c.Connection]);
                    reason[c.Connection] = c.Reason;
                    errno[c.Connection] = c.Errno;
                    ended++;
                }
            }
            for (int i = 0; i < Connections; i++)
            {
                switch (i % 3)
                {
                    case 0:
                        Assert.Equal(TcpCloseReason.PeerClosed, reason[i]);
                        Assert.Equal(5000, position[i]);
                        break;
                    case 1:
                        Assert.Equal(TcpCloseReason.Error, reason[i]);
                        Assert.Equal(ECONNRESET, errno[i]);
                        Assert.Equal(3000, position[i]);
                        break;
                    default:
                        Assert.Equal(TcpCloseReason.Removed, reason[i]);
                        Assert.Equal(7000, position[i]);
                        break;
                }
            }
            Assert.Equal(0, rx.ConnectionCount);
            Assert.Throws<ArgumentException>(() => rx.Remove(2)); // its end was reported: the id is free
            Assert.Equal(0, rx.SlicesOutstanding);
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    /// <summary>Receives once; a read that does arrive is released. True when one arrived.</summary>
    private static bool ReceiveAndRelease(TcpMultishotReceiver<RuntimePageSource> rx, int timeoutMs = 0)
    {
        if (rx.TryReceive(out Page data, out _, timeoutMs))
        {
            rx.Release(data);
            return true;
        }
        return false;
    }

    private static long Sum(long[] position, int residue)
    {
        long sum = 0;
        for (int i = residue; i < position.Length; i += 3)
        {
            sum += position[i];
        }
        return sum;
    }

    [Fact]
    public void Teardown_with_reads_out_and_pages_posted_returns_every_page_once_the_reads_are_released()
    {
        const int Connections = 10;
        var pool = Loopback.Pool(4096, 32, "tcp-teardown");
        using var peers = new TcpPeers(Connections);
        var held = new HeldReads();
        var position = new long[Connections];
        var rx = new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 16);
        for (int i = 0; i < Connections; i++)
        {
            rx.Add(peers.Servers[i]);
        }
        byte[] chunk = new byte[300];
        for (int i = 0; i < Connections; i++)
        {
            TcpPeers.Fill(chunk, i, 0);
            peers.Clients[i].Send(chunk);
        }
        long deadline = Environment.TickCount64 + 10_000;
        while (rx.BytesReceived < Connections * 300L && Environment.TickCount64 < deadline)
        {
            if (rx.TryReceive(out Page data, out int id, timeoutMs: 50))
            {
                held.Add(data, id, position[id]);
                position[id] += data.Length;
            }
        }
        Assert.Equal(Connections * 300L, rx.BytesReceived);
        // Reads out (in pages the kernel still appends to, where consumption is incremental), pages posted, receives armed.
        Assert.True(rx.PagesPosted > 0);
        rx.Dispose();
        rx.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => ReceiveAndRelease(rx));
        Assert.Throws<ObjectDisposedException>(() => rx.Add(peers.Servers[0]));
        Assert.Equal(held.DistinctPages, pool.PagesInUse); // only the pages under reads still out
        held.ReleaseAll(rx); // releasing works after teardown
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(0, rx.SlicesOutstanding);
    }

    [Fact]
    public void Stress_reads_released_on_another_thread_are_never_handed_out_twice_and_every_page_comes_back()
    {
        const int Connections = 200;
        const int Bytes = 20_000;
        var pool = Loopback.Pool(4096, 24, "tcp-stress");
        using var peers = new TcpPeers(Connections);
        var position = new long[Connections];
        var queue = new ConcurrentQueue<(Page Data, int Stream, long Position)>();
        string? failure = null;
        bool done = false;
        var rx = new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 16);
        var processor = new Thread(() =>
        {
            // Every read handed over is held here until released, so any two reads out at once are checked against
            // each other (the sum of what is queued and held is what the pool has out besides the posted pages).
            var random = new Random(9);
            var held = new HeldReads();
            try
            {
                while (!Volatile.Read(ref done) || !queue.IsEmpty || held.Count > 0)
                {
                    while (queue.TryDequeue(out var item))
                    {
                        held.Add(item.Data, item.Stream, item.Position); // throws if it overlaps a read still out
                    }
                    // Release in a shuffled order, a few at a time, so pages come back in any order.
                    int n = Math.Min(held.Count, random.Next(1, 8));
                    for (int k = 0; k < n; k++)
                    {
                        held.ReleaseAt(rx, random.Next(held.Count)); // throws if its bytes changed while out
                    }
                    if (n == 0)
                    {
                        Thread.Yield();
                    }
                }
            }
            catch (Exception ex)
            {
                failure = ex.ToString();
            }
        }) { IsBackground = true, Name = "tcp releaser" };
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                Assert.Equal(i, rx.Add(peers.Servers[i]));
            }
            processor.Start();
            Thread sender = StartSender(peers, Bytes, seed: 3);
            int closed = 0;
            long deadline = Environment.TickCount64 + 25_000;
            while (closed < Connections && failure is null)
            {
                Assert.True(Environment.TickCount64 < deadline, $"only {closed} of {Connections} ended; {rx.BytesReceived} bytes, ring empty {rx.RingEmptyCount}");
                if (rx.TryReceive(out Page data, out int id, timeoutMs: 50))
                {
                    long at = position[id];
                    position[id] = at + data.Length;
                    queue.Enqueue((data, id, at));
                }
                while (rx.TryGetClosed(out TcpConnectionClosed c))
                {
                    Assert.Equal(TcpCloseReason.PeerClosed, c.Reason);
                    Assert.Equal(Bytes, position[c.Connection]);
                    closed++;
                }
            }
            sender.Join();
        }
        finally
        {
            Volatile.Write(ref done, true);
            processor.Join();
            rx.Dispose();
        }
        Assert.True(failure is null, failure);
        Assert.Equal(0, rx.SlicesOutstanding);
        Assert.Equal((long)Connections * Bytes, rx.BytesReceived);
        Assert.True(rx.RingEmptyCount > 0, "the pool never ran short: the test did not exercise pausing");
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void A_generated_pool_through_its_struct_adapter()
    {
        var pool = new RxPool();
        using var peers = new TcpPeers(4);
        using (var rx = new TcpMultishotReceiver<RxPages>(new RxPages(pool), bufferRingEntries: 8))
        {
            for (int i = 0; i < 4; i++)
            {
                rx.Add(peers.Servers[i]);
            }
            byte[] chunk = new byte[5000];
            var position = new long[4];
            for (int i = 0; i < 4; i++)
            {
                TcpPeers.Fill(chunk, i, 0);
                peers.Clients[i].Send(chunk);
            }
            long deadline = Environment.TickCount64 + 10_000;
            while (rx.BytesReceived < 20_000 && Environment.TickCount64 < deadline)
            {
                if (rx.TryReceive(out Page data, out int id, 50))
                {
                    bool intact = TcpPeers.Matches(data.Span, id, position[id]);
                    position[id] += data.Length;
                    rx.Release(data);
                    Assert.True(intact);
                }
            }
            Assert.Equal(new long[] { 5000, 5000, 5000, 5000 }, position);
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void A_read_released_twice_is_refused_once_the_count_of_its_page_runs_short()
    {
        var pool = Loopback.Pool(4096, 8, "tcp-twice");
        using var peers = new TcpPeers(1);
        using (var rx = new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 4))
        {
            rx.Add(peers.Servers[0]);
            peers.Clients[0].Send(new byte[] { 1, 2, 3 });
            Assert.True(rx.TryReceive(out Page first, out _, 5000));
            Assert.Equal(3, first.Length);
            int page = first.Id;
            Page copy = first;
            rx.Release(first);
            // The analyzers flag a second release written out (PP1003): the lambdas below are the deliberate misuse.
            if (!rx.Incremental)
            {
                // A page per read: nothing else holds it, so the second release is refused at once.
                Assert.Throws<PagePoolException>(() => rx.Release(copy));
                return;
            }
            // The kernel still appends to the page: the count cannot tell this release from another read's.
            Assert.Null(Record.Exception(() => rx.Release(copy)));
            // Fill the rest of the page: the kernel lets go of it, the count is short, and the next release of it is refused.
            peers.Clients[0].Send(new byte[4096 - 3]);
            Assert.True(rx.TryReceive(out Page rest, out _, 5000));
            Assert.Equal(page, rest.Id);
            Assert.Equal(4096 - 3, rest.Length);
            Assert.Throws<PagePoolException>(() => rx.Release(rest));
        }
    }

    [Fact]
    public void Closed_and_wrong_sockets_bad_releases_and_bad_arguments_are_clear_exceptions()
    {
        var pool = Loopback.Pool(4096, 16, "tcp-errors");
        Assert.Throws<ArgumentOutOfRangeException>(() => new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 12));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), maxConnections: 0));
        var huge = Loopback.Pool(256, 70_000, "tcp-huge");
        Assert.Throws<PagePoolException>(() => new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(huge)));

        using var peers = new TcpPeers(2);
        // A page per read: a read released twice is refused at once (with shared pages, see Release's remarks).
        using (var rx = new TcpMultishotReceiver<RuntimePageSource>(new RuntimePageSource(pool), bufferRingEntries: 4, maxConnections: 1, incremental: false))
        {
            Assert.Throws<ArgumentNullException>(() => rx.Add(null!));
            var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            closed.Dispose();
            Assert.Throws<ObjectDisposedException>(() => rx.Add(closed));
            using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                var notTcp = Assert.Throws<ArgumentException>(() => rx.Add(udp));
                Assert.Contains("TCP", notTcp.Message);
            }
            int id = rx.Add(peers.Servers[0]);
            Assert.Same(peers.Servers[0], rx.GetSocket(id));
            var full = Assert.Throws<InvalidOperationException>(() => rx.Add(peers.Servers[1]));
            Assert.Contains("maxConnections", full.Message);
            Assert.Throws<ArgumentException>(() => rx.GetSocket(5));
            Assert.Throws<ArgumentException>(() => rx.Remove(-1));

            peers.Clients[0].Send(new byte[] { 1, 2, 3 });
            Assert.True(rx.TryReceive(out Page data, out int from, 5000));
            Assert.Equal(id, from);
            Assert.Equal(new byte[] { 1, 2, 3 }, data.Span.ToArray());
            Page copy = data;
            rx.Release(data);
            var twice = Assert.Throws<PagePoolException>(() => rx.Release(copy));
            Assert.Contains("released already", twice.Message);
            Assert.Throws<PagePoolException>(() => rx.Release(default));
            Page foreign = pool.AllocPage();
            Assert.Throws<PagePoolException>(() => rx.Release(foreign)); // a page the receiver never handed out
            pool.RecyclePage(foreign);

            // Another thread may release, but not receive.
            Exception? fromOtherThread = null;
            var t = new Thread(() => fromOtherThread = Record.Exception(() => ReceiveAndRelease(rx)));
            t.Start();
            t.Join();
            Assert.IsType<InvalidOperationException>(fromOtherThread);
            Assert.Throws<ArgumentOutOfRangeException>(() => ReceiveAndRelease(rx, -2));

            // A socket closed under the receiver ends its connection rather than hanging it.
            peers.Servers[0].Dispose();
            peers.Clients[0].Dispose();
            long deadline = Environment.TickCount64 + 5000;
            TcpConnectionClosed end = default;
            while (!rx.TryGetClosed(out end))
            {
                Assert.True(Environment.TickCount64 < deadline, "closing the socket did not end its receive");
                if (rx.TryReceive(out Page late, out _, 50))
                {
                    rx.Release(late);
                }
            }
            Assert.Equal(id, end.Connection);
        }
        Assert.Equal(0, pool.PagesInUse);
    }
}
