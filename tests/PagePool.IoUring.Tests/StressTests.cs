using System;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading;
using PagePool;
using PagePool.IoUring;

namespace PagePool.IoUring.Tests;

/// <summary>
/// A sender, the receiving owner thread and a processing thread that recycles, with a pool small enough that the
/// ring runs dry again and again. Invariants that can fail: a page is never held by two holders at once, every
/// datagram arrives exactly once and intact, and every page is back in the pool at the end.
/// </summary>
public sealed class StressTests
{
    [Fact]
    public void Pages_are_never_handed_out_twice_and_every_datagram_and_page_comes_back()
    {
        const int PoolSize = 48;
        const int Count = 40_000;
        const int Window = 300; // datagrams sent and not yet processed: well under the socket buffer
        var pool = Loopback.Pool(2048, PoolSize, "udp-stress");
        (Socket rxSocket, Socket tx) = Loopback.UdpPair();
        int[] holders = new int[PoolSize];   // 1 while a page is out of the receiver and not yet recycled
        int[] seen = new int[Count];
        long processed = 0;
        long failures = 0;
        var queue = new ConcurrentQueue<Page>();
        bool receiverDone = false;
        long ringEmpty;

        var sender = new Thread(() =>
        {
            byte[] datagram = new byte[1200];
            for (int i = 0; i < Count; i++)
            {
                while (i - Volatile.Read(ref processed) >= Window)
                {
                    Thread.Yield();
                }
                Loopback.Fill(datagram, i);
                tx.Send(datagram);
            }
        });
        var processor = new Thread(() =>
        {
            while (true)
            {
                if (queue.TryDequeue(out Page page))
                {
                    long sequence = Loopback.Check(page.Span.Slice(32, 1200)); // IPv4: 16-byte recvmsg header + 16-byte address
                    if (sequence < 0 || sequence >= Count || Interlocked.Increment(ref seen[sequence]) != 1)
                    {
                        Interlocked.Increment(ref failures);
                    }
                    // Cleared before the recycle: once recycled, the receiver may get the page again at once.
                    if (Interlocked.Exchange(ref holders[page.Id], 0) != 1)
                    {
                        Interlocked.Increment(ref failures);
                    }
                    pool.RecyclePage(page);
                    Interlocked.Increment(ref processed);
                }
                else if (Volatile.Read(ref receiverDone))
                {
                    if (queue.IsEmpty)
                    {
                        break;
                    }
                }
                else
                {
                    Thread.Yield();
                }
            }
        });

        using (rxSocket)
        using (tx)
        {
            using (var rx = new UdpMultishotReceiver<RuntimePageSource>(rxSocket, new RuntimePageSource(pool), bufferRingEntries: 32))
            {
                sender.Start();
                processor.Start();
                long received = 0;
                long deadline = Environment.TickCount64 + 60_000;
                while (received < Count && Environment.TickCount64 < deadline)
                {
                    if (!rx.TryReceive(out Page page, out UdpDatagram d, 100))
                    {
                        continue;
                    }
                    if (d.Length != 1200 || d.PayloadOffset != 32 || Interlocked.Exchange(ref holders[page.Id], 1) != 0)
                    {
                        Interlocked.Increment(ref failures); // a page handed out while another holder had it
                    }
                    queue.Enqueue(page);
                    received++;
                }
                Volatile.Write(ref receiverDone, true);
                processor.Join();
                sender.Join();
                ringEmpty = rx.RingEmptyCount + rx.StarvedCount;
                Assert.Equal(Count, received);
            }
        }
        Assert.Equal(0, Interlocked.Read(ref failures));
        Assert.All(seen, n => Assert.Equal(1, n));
        Assert.Equal(0, pool.PagesInUse);
        Assert.True(ringEmpty > 0, "the pool never ran short: the test did not exercise the dry ring");
    }
}
