using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using PagePool.Internal;

namespace PagePool.Runtime.Tests;

public sealed class PageRingTests
{
    [Fact]
    public void Ring_is_fifo_and_bounded()
    {
        var ring = new PageRing(4);
        Assert.True(ring.TryEnqueue(1));
        Assert.Equal(3, ring.TryEnqueueBatch(new[] { 2, 3, 4, 5 }));
        Assert.False(ring.TryEnqueue(6));
        Span<int> out4 = stackalloc int[8];
        Assert.Equal(4, ring.Dequeue(out4));
        Assert.Equal(new[] { 1, 2, 3, 4 }, out4[..4].ToArray());
        Assert.Equal(0, ring.Dequeue(out4));
        Assert.Equal(4, ring.TryEnqueueBatch(new[] { 7, 8, 9, 10 }));
        Assert.Equal(4, ring.Enqueued - 4);
    }

    [Fact]
    public void Full_and_empty_are_told_apart_across_the_sequence_wrap()
    {
        var ring = new PageRing(4, start: uint.MaxValue - 2);
        Span<int> buffer = stackalloc int[8];
        for (int round = 0; round < 4; round++)
        {
            Assert.Equal(4, ring.TryEnqueueBatch(new[] { 1, 2, 3, 4 }));
            Assert.False(ring.TryEnqueue(5));
            Assert.Equal(0, ring.TryEnqueueBatch(new[] { 5 }));
            Assert.Equal(4, ring.Dequeue(buffer));
            Assert.Equal(new[] { 1, 2, 3, 4 }, buffer[..4].ToArray());
            Assert.Equal(0, ring.Dequeue(buffer));
        }
        Assert.Equal(16, ring.Enqueued);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(uint.MaxValue - 300_000L)] // positions cross 2^32, where the 32-bit cell sequences wrap
    [InlineData(int.MaxValue - 300_000L)]  // and 2^31, where they change sign
    public void Many_producers_one_consumer_deliver_every_id_exactly_once(long start)
    {
        var ring = new PageRing(64, start);
        const int Producers = 3, PerProducer = 200_000;
        var threads = Enumerable.Range(0, Producers).Select(p => new Thread(() =>
        {
            Span<int> batch = stackalloc int[5];
            int next = 0;
            while (next < PerProducer)
            {
                if ((next & 1) == 0)
                {
                    if (ring.TryEnqueue(p * PerProducer + next))
                    {
                        next++;
                    }
                    continue;
                }
                int k = Math.Min(batch.Length, PerProducer - next);
                for (int i = 0; i < k; i++)
                {
                    batch[i] = p * PerProducer + next + i;
                }
                next += ring.TryEnqueueBatch(batch[..k]);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        var seen = new bool[Producers * PerProducer];
        var lastPerProducer = new int[Producers];
        Array.Fill(lastPerProducer, -1);
        int received = 0;
        Span<int> buffer = stackalloc int[16];
        while (received < seen.Length)
        {
            int n = ring.Dequeue(buffer);
            for (int i = 0; i < n; i++)
            {
                int id = buffer[i];
                Assert.False(seen[id], $"id {id} delivered twice");
                seen[id] = true;
                int producer = id / PerProducer;
                Assert.True(id > lastPerProducer[producer], "one producer's ids arrived out of order");
                lastPerProducer[producer] = id;
            }
            received += n;
        }
        threads.ForEach(t => t.Join());
        Assert.All(seen, Assert.True);
        Assert.Equal(seen.Length, ring.Enqueued);
        Assert.Equal(0, ring.Count);
    }
}
