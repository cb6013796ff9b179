using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using PagePool;
using PagePool.IoUring;

namespace PagePool.IoUring.Tests;

public sealed class UdpReceiverTests
{
    /// <summary>Receives once; a datagram that does arrive is recycled. True when one arrived.</summary>
    private static bool Nothing(UdpMultishotReceiver<RuntimePageSource> rx, RuntimePagePool pool, int timeoutMs)
    {
        if (rx.TryReceive(out Page page, out _, timeoutMs))
        {
            pool.RecyclePage(page);
            return true;
        }
        return false;
    }

    [Fact]
    public void Receives_many_datagrams_intact_with_the_senders_address()
    {
        var pool = Loopback.Pool(2048, 256, "udp-many");
        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        using (rxSocket)
        using (tx)
        {
            const int Count = 5000;
            byte[] datagram = new byte[1000];
            var seen = new bool[Count];
            int received = 0;
            using (var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 128))
            {
                int sent = 0;
                while (received < Count)
                {
                    // Keep at most 1000 datagrams in flight so the socket buffer never overflows.
                    while (sent < Count && sent - received < 1000)
                    {
                        Loopback.Fill(datagram, sent++);
                        tx.Send(datagram);
                    }
                    Assert.True(rx.TryReceive(out Page page, out UdpDatagram d, 5000), $"datagram {received} did not arrive");
                    Assert.False(d.Truncated);
                    Assert.Equal(1000, d.Length);
                    Assert.Equal(1000, d.DatagramLength);
                    long sequence = Loopback.Check(d.GetPayload(page));
                    if (received == 0)
                    {
                        Assert.Equal(tx.LocalEndPoint, d.GetSourceEndPoint(page));
                    }
                    pool.RecyclePage(page);
                    Assert.InRange(sequence, 0, Count - 1);
                    Assert.False(seen[sequence], $"datagram {sequence} delivered twice");
                    seen[sequence] = true;
                    received++;
                }
                Assert.Equal(Count, rx.Received);
                Assert.True(rx.PagesPosted > 0);
                Assert.Equal(rx.PagesPosted, pool.PagesInUse); // posted pages count as in use
            }
            Assert.Equal(0, pool.PagesInUse);
        }
    }

    [Fact]
    public void Generated_pool_through_a_struct_adapter_over_IPv6()
    {
        var pool = new RxPool();
        (Socket rxSocket, Socket tx) = Loopback.UdpPair(AddressFamily.InterNetworkV6);
        using (rxSocket)
        using (tx)
        {
            byte[] datagram = new byte[300];
            using (var rx = new UdpMultishotReceiver<RxPages>(rxSocket, new RxPages(pool), bufferRingEntries: 64))
            {
                for (int i = 0; i < 200; i++)
                {
                    Loopback.Fill(datagram, i);
                    tx.Send(datagram);
                    Assert.True(rx.TryReceive(out Page page, out UdpDatagram d, 5000));
                    Assert.Equal(i, Loopback.Check(d.GetPayload(page)));
                    Assert.Equal(44, d.PayloadOffset); // 16-byte header + sockaddr_in6
                    Assert.Equal(tx.LocalEndPoint, d.GetSourceEndPoint(page));
                    pool.RecyclePage(page);
                }
            }
            Assert.Equal(0, pool.PagesInUse);
        }
    }

    [Fact]
    public void Coalesced_waits_and_draining_what_is_posted_deliver_every_datagram_once()
    {
        var pool = Loopback.Pool(2048, 256, "udp-coalesce");
        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        using (rxSocket)
        using (tx)
        using (var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 128))
        {
            Assert.True(rx.Ring.Features.HasFlag(IoRingFeatures.BatchWait)); // Linux 6.12+, as CI runs
            rx.CoalesceMicroseconds = 500;
            rx.CoalesceDatagrams = 16;
            Assert.Throws<ArgumentOutOfRangeException>(() => rx.CoalesceMicroseconds = -1);
            Assert.Throws<ArgumentOutOfRangeException>(() => rx.CoalesceDatagrams = 0);
            Assert.False(Nothing(rx, pool, 0));
            byte[] datagram = new byte[100];
            const int Count = 100;
            for (int i = 0; i < Count; i++)
            {
                Loopback.Fill(datagram, i);
                tx.Send(datagram);
            }
            int next = 0;
            int batches = 0;
            while (next < Count)
            {
                Assert.True(rx.TryReceive(out Page page, out UdpDatagram d, 5000));
                long sequence = Loopback.Check(d.GetPayload(page));
                pool.RecyclePage(page);
                Assert.Equal(next++, sequence);
                batches++;
                while (rx.TryReceiveCompleted(out page, out d))
                {
                    sequence = Loopback.Check(d.GetPayload(page));
                    pool.RecyclePage(page);
                    Assert.Equal(next++, sequence);
                }
            }
            Assert.True(batches < Count, "every datagram needed a wait of its own");
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Datagrams_larger_than_a_page_are_truncated_and_say_so()
    {
        var pool = Loopback.Pool(512, 16, "udp-trunc");
        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        using (rxSocket)
        using (tx)
        using (var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 8))
        {
            byte[] big = new byte[3000];
            Loopback.Fill(big, 7);
            tx.Send(big);
            byte[] small = new byte[100];
            Loopback.Fill(small, 8);
            tx.Send(small);

            Assert.True(rx.TryReceive(out Page page, out UdpDatagram d, 5000));
            Assert.True(d.Truncated);
            Assert.Equal(3000, d.DatagramLength);
            Assert.Equal(512 - 32, d.Length);
            Assert.Equal(7, Loopback.Check(d.GetPayload(page))); // the bytes kept are the datagram's first ones
            pool.RecyclePage(page);

            Assert.True(rx.TryReceive(out page, out d, 5000));
            Assert.False(d.Truncated);
            Assert.Equal(100, d.Length);
            Assert.Equal(8, Loopback.Check(d.GetPayload(page)));
            pool.RecyclePage(page);
            Assert.Equal(1, rx.Truncated);
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void The_ring_running_dry_pauses_receiving_and_it_resumes_when_pages_come_back()
    {
        const int PoolSize = 8;
        const int Count = 100;
        var pool = Loopback.Pool(2048, PoolSize, "udp-dry");
        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        using (rxSocket)
        using (tx)
        using (var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 8))
        {
            Assert.False(Nothing(rx, pool, 0)); // arms the receive with every page posted
            byte[] datagram = new byte[200];
            for (int i = 0; i < Count; i++)
            {
                Loopback.Fill(datagram, i);
                tx.Send(datagram);
            }
            var held = new List<Page>();
            long next = 0;
            while (next < Count)
            {
                // Hold every page until the pool is exhausted: the ring runs dry and the kernel ends the receive.
                if (rx.TryReceive(out Page page, out UdpDatagram d, 100))
                {
                    Assert.Equal(next++, Loopback.Check(d.GetPayload(page)));
                    held.Add(page);
                    Assert.True(held.Count <= PoolSize);
                    continue;
                }
                Assert.Equal(PoolSize, held.Count); // nothing arrives only when every page is held
                Assert.Equal(PoolSize, pool.PagesInUse);
                foreach (Page p in held)
                {
                    pool.RecyclePage(p);
                }
                held.Clear();
            }
            foreach (Page p in held)
            {
                pool.RecyclePage(p);
            }
            Assert.True(rx.RingEmptyCount > 0, "the ring never ran dry");
            Assert.True(rx.ArmCount > 1, "the receive was never armed again");
            Assert.Equal(Count, rx.Received);
            Assert.False(Nothing(rx, pool, 50)); // nothing duplicated after the pauses
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Teardown_with_pages_taken_and_posted_returns_every_posted_page()
    {
        var pool = Loopback.Pool(2048, 64, "udp-teardown");
        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        var taken = new List<Page>();
        using (rxSocket)
        using (tx)
        {
            var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 32);
            byte[] datagram = new byte[64];
            for (int i = 0; i < 10; i++)
            {
                Loopback.Fill(datagram, i);
                tx.Send(datagram);
            }
            while (taken.Count < 10)
            {
                Assert.True(rx.TryReceive(out Page page, out _, 5000));
                taken.Add(page);
            }
            // Five more arrive and are filled by the kernel, their completions never read.
            for (int i = 10; i < 15; i++)
            {
                Loopback.Fill(datagram, i);
                tx.Send(datagram);
            }
            System.Threading.Thread.Sleep(50);
            Assert.Equal(10 + rx.PagesPosted, pool.PagesInUse);
            rx.Dispose();
            rx.Dispose(); // idempotent
            Assert.Equal(10, pool.PagesInUse); // only the caller's pages are out
            Assert.Throws<ObjectDisposedException>(() => Nothing(rx, pool, 0));
        }
        foreach (Page page in taken)
        {
            pool.RecyclePage(page);
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Dispose_from_another_thread_is_refused_and_releases_nothing_until_the_owner_disposes()
    {
        var pool = Loopback.Pool(2048, 32, "udp-foreign-dispose");
        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        using (rxSocket)
        using (tx)
        {
            var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 16);
            Assert.False(Nothing(rx, pool, 0)); // binds the receiver to this thread and posts 16 pages
            Assert.Equal(16, pool.PagesInUse);
            Exception? foreign = null;
            var thread = new System.Threading.Thread(() => foreign = Record.Exception(rx.Dispose));
            thread.Start();
            thread.Join();
            Assert.IsType<InvalidOperationException>(foreign);
            Assert.Equal(16, pool.PagesInUse); // the kernel still holds them: nothing was recycled
            tx.Send(new byte[10]);
            Assert.True(Nothing(rx, pool, 5000)); // and the receiver still works
            rx.Dispose();
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Closed_and_wrong_sockets_and_bad_arguments_are_clear_exceptions()
    {
        var pool = Loopback.Pool(2048, 16, "udp-errors");
        var closed = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        closed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => new UdpMultishotReceiver<RuntimePageSource>(closed, new RuntimePageSource(pool)));

        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var notUdp = Assert.Throws<ArgumentException>(() => new UdpMultishotReceiver<RuntimePageSource>(tcp, new RuntimePageSource(pool)));
        Assert.Contains("UDP", notUdp.Message);

        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        using (rxSocket)
        using (tx)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 100));
            Assert.Throws<ArgumentNullException>(() => new UdpMultishotReceiver<RuntimePageSource>(null!, new RuntimePageSource(pool)));
            var huge = new RuntimePagePool(new PagePoolOptions { PageSize = 256, PoolSize = 65537, Name = "huge" });
            var tooBig = Assert.Throws<PagePoolException>(() => new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(huge)));
            Assert.Contains("65536", tooBig.Message);

            // The socket closed after the receiver was made: the first receive says so.
            var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool));
            rxSocket.Dispose();
            Assert.Throws<ObjectDisposedException>(() => Nothing(rx, pool, 0));
            rx.Dispose();
        }

        // The smallest pages a pool allows (256 bytes) still hold the recvmsg header and the address.
        var tiny = Loopback.Pool(256, 4, "udp-tiny");
        (Socket rx2, Socket tx2) = Loopback.UdpPair();
        using (rx2)
        using (tx2)
        using (var rx = new UdpMultishotReceiver<RuntimePageSource>(rx2, new RuntimePageSource(tiny), bufferRingEntries: 4))
        {
            Assert.False(Nothing(rx, tiny, 0));
            tx2.Send(new byte[16]);
            Page page = default;
            bool got = false;
            try
            {
                got = rx.TryReceive(out page, out _, 2000);
            }
            finally
            {
                if (got)
                {
                    tiny.RecyclePage(page);
                }
            }
            Assert.True(got); // 256-byte pages do hold the 32-byte header: a datagram arrives
        }
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(0, tiny.PagesInUse);
    }
}
