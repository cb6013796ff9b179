using System;
using System.Linq;
using System.Threading;
using PagePool.Internal;

namespace PagePool.Runtime.Tests;

/// <summary>The return lane: one claiming producer, plain stores, the owner as consumer; and how a pool uses it.</summary>
public sealed class PageLaneTests
{
    [Fact]
    public void Lane_is_fifo_and_bounded()
    {
        var lane = new PageLane(4);
        for (int id = 1; id <= 4; id++)
        {
            Assert.True(lane.TryEnqueue(id));
        }
        Assert.False(lane.TryEnqueue(5));
        Span<int> buffer = stackalloc int[3];
        Assert.Equal(3, lane.Dequeue(buffer));
        Assert.Equal(new[] { 1, 2, 3 }, buffer.ToArray());
        Assert.True(lane.TryEnqueue(5)); // the producer re-reads the consumer's head once its copy says full
        Assert.Equal(2, lane.Dequeue(buffer));
        Assert.Equal(new[] { 4, 5 }, buffer[..2].ToArray());
        Assert.Equal(0, lane.Dequeue(buffer));
        Assert.Equal(5, lane.Enqueued);
    }

    [Fact]
    public void Only_the_claiming_thread_produces_and_the_claim_is_made_once()
    {
        var lane = new PageLane(8);
        Assert.False(lane.IsClaimed);
        Assert.False(lane.IsProducer());
        bool claimed = false, producerThere = false;
        RuntimePagePoolTests.RunOnOtherThread(() =>
        {
            claimed = lane.TryClaim();
            producerThere = lane.IsProducer();
        });
        Assert.True(claimed);
        Assert.True(producerThere);
        Assert.True(lane.IsClaimed);
        Assert.False(lane.IsProducer()); // this thread's stack is not the claimer's
        Assert.False(lane.TryClaim());
        Assert.False(lane.IsProducer());
    }

    [Fact]
    public void One_producer_and_one_consumer_deliver_every_id_once_in_order()
    {
        var lane = new PageLane(64);
        const int Count = 500_000;
        var producer = new Thread(() =>
        {
            for (int next = 0; next < Count;)
            {
                if (lane.TryEnqueue(next))
                {
                    next++;
                }
            }
        });
        producer.Start();
        Span<int> buffer = stackalloc int[17];
        int expected = 0;
        while (expected < Count)
        {
            int n = lane.Dequeue(buffer);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(expected++, buffer[i]);
            }
        }
        producer.Join();
        Assert.Equal(0, lane.Dequeue(buffer));
        Assert.Equal(Count, lane.Enqueued);
    }

    [Fact]
    public void The_first_threads_to_recycle_across_threads_take_a_lane_each_and_the_others_the_ring()
    {
        const int Threads = PagePoolCore.LaneCount + 2, PerThread = 3;
        RuntimePagePool pool = RuntimePagePoolTests.Create(poolSize: 64);
        Page[] pages = new Page[Threads * PerThread];
        pool.AllocPages(pages);
        // The threads stay alive until all have recycled: a thread that starts after a claimer ended may be given the
        // claimer's stack, and then it is that lane's producer (correct: one at a time), which this test does not want.
        using var release = new ManualResetEventSlim();
        var threads = new Thread[Threads];
        var finished = new ManualResetEventSlim[Threads];
        for (int t = 0; t < Threads; t++)
        {
            var done = finished[t] = new ManualResetEventSlim();
            int first = t * PerThread;
            threads[t] = new Thread(() =>
            {
                for (int i = 0; i < PerThread; i++)
                {
                    pool.RecyclePage(pages[first + i]);
                }
                done.Set();
                release.Wait();
            });
            threads[t].Start();
            Assert.True(done.Wait(TimeSpan.FromSeconds(30))); // one after the other, so the claims go in order
        }
        release.Set();
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        foreach (ManualResetEventSlim done in finished)
        {
            done.Dispose();
        }

        Assert.Equal(PagePoolCore.LaneCount * PerThread, pool.Core.LanesEnqueued);
        Assert.Equal(Threads * PerThread, pool.GetPageStats().RecycleRing); // the stats count lanes and ring
        Assert.Equal(0, pool.PagesInUse);

        // The owner refills from all of them: all 64 pages can be out at once, none twice.
        RuntimePagePoolTests.AssertHandsOutExactlyPoolSizeDistinctPages(pool, 64);
    }

    [Fact]
    public void A_double_recycle_through_the_lane_is_refused_at_the_call()
    {
        RuntimePagePool pool = RuntimePagePoolTests.Create(poolSize: 8);
        Page page = pool.AllocPage();
        Exception? second = null;
        RuntimePagePoolTests.RunOnOtherThread(() =>
        {
            pool.RecyclePage(page);
            second = Record.Exception(() => pool.RecyclePage(page));
        });
        Assert.IsType<PagePoolException>(second);
        Assert.Equal(1, pool.Core.LanesEnqueued);
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Destroying_while_the_lane_thread_recycles_releases_every_page_exactly_once()
    {
        for (int round = 0; round < 200; round++)
        {
            var releases = new int[64];
            RuntimePagePool pool = RuntimePagePoolTests.Create(poolSize: 64,
                configure: o => o.OnPageReleased = p => Interlocked.Increment(ref releases[p.Id]));
            Page[] pages = new Page[64];
            Assert.Equal(64, pool.AllocPages(pages));
            using var started = new ManualResetEventSlim();
            var recycler = new Thread(() =>
            {
                started.Set();
                foreach (Page page in pages)
                {
                    pool.RecyclePage(page);
                }
            });
            recycler.Start();
            started.Wait();
            Thread.SpinWait(round * 50); // destroy at a different point of the recycler's run each round
            pool.DestroyPagePool();
            recycler.Join();

            Assert.All(releases, count => Assert.Equal(1, count));
            Assert.Equal(0, pool.PagesInUse);
        }
    }

    [Fact]
    public void Destroying_while_every_lane_and_the_ring_are_in_use_releases_every_page_exactly_once()
    {
        const int Threads = PagePoolCore.LaneCount + 2, PerThread = 16, Pages = Threads * PerThread;
        for (int round = 0; round < 100; round++)
        {
            var releases = new int[Pages];
            RuntimePagePool pool = RuntimePagePoolTests.Create(poolSize: Pages,
                configure: o => o.OnPageReleased = p => Interlocked.Increment(ref releases[p.Id]));
            Page[] pages = new Page[Pages];
            Assert.Equal(Pages, pool.AllocPages(pages));
            using var start = new Barrier(Threads + 1);
            var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                for (int i = t * PerThread; i < (t + 1) * PerThread; i++)
                {
                    pool.RecyclePage(pages[i]);
                }
            })).ToArray();
            foreach (Thread thread in threads)
            {
                thread.Start();
            }
            start.SignalAndWait();
            Thread.SpinWait(round * 40); // destroy at a different point of the recycles each round
            pool.DestroyPagePool();
            foreach (Thread thread in threads)
            {
                thread.Join();
            }

            Assert.All(releases, count => Assert.Equal(1, count));
            Assert.Equal(0, pool.PagesInUse);
        }
    }
}

/// <summary>The lane where stack bounds are not known: in the collection that runs alone, as it flips a process-wide switch.</summary>
[Collection(StackBoundsSwitch.Name)]
public sealed class PageLaneWithoutStackBoundsTests
{
    [Fact]
    public void Without_stack_bounds_nobody_produces()
    {
        StackBounds.ForceUnavailable = true;
        try
        {
            var lane = new PageLane(8);
            bool claimed = true, producerThere = true;
            RuntimePagePoolTests.RunOnOtherThread(() =>
            {
                claimed = lane.TryClaim();
                producerThere = lane.IsProducer();
            });
            Assert.False(claimed);
            Assert.False(producerThere);
        }
        finally
        {
            StackBounds.ForceUnavailable = false;
        }
    }
}
