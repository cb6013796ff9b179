using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using PagePool;
using PagePool.IoUring;

namespace PagePool.IoUring.Tests;

public sealed class RingTests
{
    [Fact]
    public void The_kernel_has_what_PagePool_IoUring_needs()
    {
        // CI runs on a kernel with io_uring: missing support is a failure here, not a skip.
        Assert.True(IoRing.IsSupported(out string? reason), reason);
        using var ring = new IoRing();
        Assert.True(ring.Features.HasFlag(IoRingFeatures.ProvidedBufferRings));
        Assert.True(ring.Features.HasFlag(IoRingFeatures.MultishotReceive));
        Assert.Equal(256, ring.SubmissionEntries);
        Assert.Equal(4096, ring.CompletionEntries);
    }

    [Fact]
    public void Nops_complete_with_their_user_data_in_order()
    {
        using var ring = new IoRing(8, 16);
        for (ulong i = 0; i < 20; i++) // more than the submission ring holds: it flushes by itself
        {
            ring.QueueNop(i);
        }
        var seen = new List<ulong>();
        while (seen.Count < 20)
        {
            ring.SubmitAndWait(1, 1000);
            while (ring.TryGetCompletion(out IoCompletion c))
            {
                Assert.Equal(0, c.Result);
                Assert.False(c.HasMore);
                Assert.False(c.HasBuffer);
                seen.Add(c.UserData);
            }
        }
        Assert.Equal(20, seen.Count);
        Assert.Equal(0, ring.OperationsInFlight);
    }

    [Fact]
    public void A_wait_with_nothing_in_flight_times_out()
    {
        using var ring = new IoRing(2, 2);
        Assert.Equal(0, ring.SubmitAndWait(1, 20));
    }

    [Fact]
    public void Misuse_is_refused_with_clear_exceptions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoRing(3, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoRing(8, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IoRing(65536, 65536));

        var ring = new IoRing(4, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.QueueNop(IoRing.ReservedUserData));
        ring.QueueNop(1); // binds the ring to this thread

        Exception? fromOtherThread = null;
        var thread = new Thread(() => fromOtherThread = Record.Exception(() => ring.QueueNop(2)));
        thread.Start();
        thread.Join();
        var wrongThread = Assert.IsType<InvalidOperationException>(fromOtherThread);
        Assert.Contains("owned by managed thread", wrongThread.Message);

        var pool = Loopback.Pool(1024, 8, "ring-misuse");
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProvidedBufferRing<RuntimePageSource>(ring, new RuntimePageSource(pool), 1, 3));
        using (var first = new ProvidedBufferRing<RuntimePageSource>(ring, new RuntimePageSource(pool), 1, 4))
        {
            var duplicate = Assert.Throws<ArgumentException>(() => new ProvidedBufferRing<RuntimePageSource>(ring, new RuntimePageSource(pool), 1, 4));
            Assert.Contains("group 1", duplicate.Message);
            Assert.Equal(4, first.Refill());
            Assert.Equal(0, first.Refill()); // full
            Assert.Equal(4, pool.PagesInUse);
            // A completion naming a buffer the group never posted is refused, and nothing changes.
            var foreign = new IoCompletion(5, 10, 1u | (7u << 16));
#pragma warning disable PP1001 // the call throws: no page is handed out
            Assert.Throws<PagePoolException>(() => first.TryTakePage(foreign, out Page _));
#pragma warning restore PP1001
            Assert.Equal(4, first.PagesPosted);
        }
        Assert.Equal(0, pool.PagesInUse);

        ring.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ring.QueueNop(3));
        ring.Dispose(); // idempotent
    }

    [Fact]
    public void Multishot_recv_on_tcp_connections_sharing_one_buffer_ring()
    {
        var pool = Loopback.Pool(4096, 64, "tcp-shared");
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        const int Connections = 8;
        var clients = new Socket[Connections];
        var servers = new Socket[Connections];
        for (int i = 0; i < Connections; i++)
        {
            clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            clients[i].Connect(listener.LocalEndPoint!);
            servers[i] = listener.Accept();
        }
        try
        {
            using var ring = new IoRing();
            using var buffers = new ProvidedBufferRing<RuntimePageSource>(ring, new RuntimePageSource(pool), groupId: 3, entries: 32);
            buffers.Refill();
            for (int i = 0; i < Connections; i++)
            {
                ring.QueueReceiveMultishot((int)servers[i].Handle, buffers.GroupId, userData: (ulong)i);
            }
            ring.Submit();

            // Each client sends 100 KB of a byte pattern of its own, then closes: every byte must arrive in order.
            const int Bytes = 100_000;
            for (int i = 0; i < Connections; i++)
            {
                byte[] data = new byte[Bytes];
                for (int k = 0; k < Bytes; k++)
                {
                    data[k] = (byte)(k * 7 + i);
                }
                clients[i].Send(data);
                clients[i].Shutdown(SocketShutdown.Send);
            }
            var received = new int[Connections];
            int closed = 0;
            long deadline = Environment.TickCount64 + 10_000;
            while (closed < Connections && Environment.TickCount64 < deadline)
            {
                ring.SubmitAndWait(1, 100);
                while (ring.TryGetCompletion(out IoCompletion c))
                {
                    int conn = (int)c.UserData;
                    if (buffers.TryTakePage(c, out Page page))
                    {
                        int bad = -1;
                        Span<byte> bytes = page.Span[..c.Result];
                        for (int k = 0; k < bytes.Length && bad < 0; k++)
                        {
                            bad = bytes[k] == (byte)((received[conn] + k) * 7 + conn) ? -1 : received[conn] + k;
                        }
                        pool.RecyclePage(page);
                        Assert.Equal(-1, bad);
                        received[conn] += c.Result;
                    }
                    else if (c.Result == 0)
                    {
                        Assert.False(c.HasMore); // the peer closed: the multishot receive ends
                        closed++;
                        continue;
                    }
                    if (!c.HasMore && c.Result != 0)
                    {
                        Assert.Equal(-105, c.Result); // ENOBUFS: the shared ring ran dry; refill and re-arm
                        buffers.Refill();
                        ring.QueueReceiveMultishot((int)servers[conn].Handle, buffers.GroupId, (ulong)conn);
                    }
                }
                buffers.Refill();
            }
            Assert.Equal(Connections, closed);
            Assert.All(received, r => Assert.Equal(Bytes, r));
        }
        finally
        {
            foreach (Socket s in clients)
            {
                s.Dispose();
            }
            foreach (Socket s in servers)
            {
                s.Dispose();
            }
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Incremental_ring_lets_several_reads_share_a_page()
    {
        var pool = Loopback.Pool(16384, 8, "tcp-incremental");
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.NoDelay = true;
        client.Connect(listener.LocalEndPoint!);
        using Socket server = listener.Accept();

        using var ring = new IoRing();
        using var buffers = new ProvidedBufferRing<RuntimePageSource>(ring, new RuntimePageSource(pool), groupId: 0, entries: 8, incremental: true);
        Assert.Equal(8, buffers.Refill());
        ring.QueueReceiveMultishot((int)server.Handle, buffers.GroupId, userData: 42);
        ring.Submit();

        var pagesUsed = new HashSet<int>();
        int total = 0;
        int sharedReads = 0;
        for (int m = 0; m < 20; m++)
        {
            byte[] message = new byte[100];
            Array.Fill(message, (byte)m);
            client.Send(message);
            int got = 0;
            while (got < 100)
            {
                ring.SubmitAndWait(1, 2000);
                Assert.True(ring.TryGetCompletion(out IoCompletion c), "no completion");
                Assert.True(c.HasMore);
                Assert.True(c.HasBuffer);
                bool released = buffers.TryTakePage(c, out Page page, out int offset);
                Page view = released ? page : buffers.PeekPage(c.BufferId);
                pagesUsed.Add(c.BufferId);
                Assert.Equal(total + got, offset); // each read continues where the last one stopped, in the same page
                foreach (byte b in view.Span.Slice(offset, c.Result))
                {
                    Assert.Equal((byte)m, b);
                }
                if (offset > 0)
                {
                    sharedReads++;
                }
                got += c.Result;
                if (released)
                {
                    pool.RecyclePage(page);
                }
            }
            total += got;
        }
        Assert.Single(pagesUsed);        // 2,000 bytes in 20 reads, all in one 16 KiB page
        Assert.True(sharedReads >= 19);
    }
}

public sealed class UserDataTests
{
    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(7, 1, 3)]
    [InlineData(int.MaxValue, 0xFF_FFFF, 254)]
    [InlineData(-1, 12345, 1)]
    public void Socket_generation_and_operation_round_trip(int socket, int generation, int operation)
    {
        ulong userData = IoUserData.Create(socket, generation, operation);
        Assert.Equal(socket, IoUserData.Socket(userData));
        Assert.Equal(generation, IoUserData.Generation(userData));
        Assert.Equal(operation, IoUserData.Operation(userData));
        Assert.True(userData < IoRing.ReservedUserData);
    }

    [Fact]
    public void Generations_wrap_at_24_bits_and_operation_255_is_refused()
    {
        Assert.Equal(1, IoUserData.Generation(IoUserData.Create(5, 0x100_0001, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => IoUserData.Create(5, 0, 255));
        Assert.Throws<ArgumentOutOfRangeException>(() => IoUserData.Create(5, 0, -1));
    }
}
