using System;
using System.Collections.Generic;
using System.Threading;
using PagePool;

namespace PagePool.Runtime.Tests;

/// <summary>
/// An owner allocating while several threads recycle, over millions of operations. Every page carries a stamp
/// written by its holder; a page handed to two holders at once, or lost, breaks an invariant checked here.
/// </summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public void Owner_and_recycling_threads_never_share_a_page_and_lose_nothing()
    {
        const int PoolSize = 256;
        const int Workers = 3;
        const int Operations = 1_500_000;
        var pool = new RuntimePagePool(new PagePoolOptions { PageSize = 256, PoolSize = PoolSize, CacheSize = 32, RefillBatch = 16, RingSize = 64, Name = "stress" });
        int[] holders = new int[PoolSize]; // 0 = in the pool, else the holder's token
        var queues = new SpscQueue[Workers];
        for (int i = 0; i < Workers; i++)
        {
            queues[i] = new SpscQueue(64);
        }
        long failures = 0;
        bool done = false;
        var threads = new List<Thread>();
        for (int w = 0; w < Workers; w++)
        {
            SpscQueue queue = queues[w];
            int token = w + 2;
            threads.Add(new Thread(() =>
            {
                Page[] batch = new Page[8];
                while (true)
                {
                    int n = 0;
                    while (n < batch.Length && queue.TryDequeue(out batch[n]))
                    {
                        n++;
                    }
                    if (n == 0)
                    {
                        if (Volatile.Read(ref done) && queue.IsEmpty)
                        {
                            return;
                        }
                        Thread.Yield();
                        continue;
                    }
                    for (int i = 0; i < n; i++)
                    {
                        Page page = batch[i];
                        // The stamp the owner wrote must still be there: nobody else held this page meanwhile.
                        if (BitConverter.ToInt32(page.Span) != page.Id || Interlocked.CompareExchange(ref holders[page.Id], 0, token) != token)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                    if ((n & 1) == 0)
                    {
                        pool.RecyclePages(batch.AsSpan(0, n));
                    }
                    else
                    {
                        for (int i = 0; i < n; i++)
                        {
                            pool.RecyclePage(batch[i]);
                        }
                    }
                }
            }));
        }
        threads.ForEach(t => t.Start());

        var rng = new Random(7);
        var ownerHeld = new Stack<Page>();
        for (int op = 0; op < Operations; op++)
        {
            if (!pool.TryAllocPage(out Page page))
            {
                if (ownerHeld.Count > 0)
                {
                    Page mine = ownerHeld.Pop();
                    Check(holders, mine, 1, ref failures);
                    pool.RecyclePageDirect(mine);
                }
                else
                {
                    Thread.Yield();
                }
                continue;
            }
            if (Interlocked.CompareExchange(ref holders[page.Id], 1, 0) != 0)
            {
                failures++; // handed out while someone else holds it
            }
            BitConverter.TryWriteBytes(page.Span, page.Id);
            int route = rng.Next(4);
            if (route == 0)
            {
                ownerHeld.Push(page);
                if (ownerHeld.Count > 8)
                {
                    Page mine = ownerHeld.Pop();
                    Check(holders, mine, 1, ref failures);
                    pool.RecyclePage(mine); // owner thread: takes the direct path by itself
                }
            }
            else
            {
                int w = route - 1;
                Volatile.Write(ref holders[page.Id], w + 2);
                while (!queues[w].TryEnqueue(page))
                {
                    Thread.Yield();
                }
            }
        }
        while (ownerHeld.Count > 0)
        {
            Page mine = ownerHeld.Pop();
            Check(holders, mine, 1, ref failures);
            pool.RecyclePageDirect(mine);
        }
        Volatile.Write(ref done, true);
        threads.ForEach(t => t.Join());

        Assert.Equal(0, Interlocked.Read(ref failures));
        Assert.Equal(0, pool.PagesInUse);
        PagePoolStats stats = pool.GetPageStats();
        Assert.True(stats.RecycleRing > 100_000, $"the ring path was exercised: {stats}");
        Assert.True(stats.RecycleRingFull > 0, $"the ring-full release path was exercised: {stats}");
        Assert.True(stats.PagesCreated - stats.RecycleReleased <= PoolSize);
        RuntimePagePoolTests.AssertHandsOutExactlyPoolSizeDistinctPages(pool, PoolSize);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Racing_double_recycles_never_hand_a_page_to_two_holders(bool ownerRaces)
    {
        // Two threads recycle the same pages at the same moment (a double-recycle bug under a race). Each page must go
        // back at most once in effect: whatever the calls reported, the pool afterwards hands out exactly PoolSize
        // distinct pages, and PagesInUse counts them exactly.
        const int PoolSize = 64;
        var pool = new RuntimePagePool(new PagePoolOptions { PageSize = 256, PoolSize = PoolSize, CacheSize = 16, RefillBatch = 8, RingSize = 128, Name = "race" });
        var pages = new Page[PoolSize];
        for (int round = 0; round < 200; round++)
        {
            for (int i = 0; i < PoolSize; i++)
            {
                pages[i] = pool.AllocPage();
            }
            Assert.Equal(PoolSize, pool.PagesInUse);
            int refused = 0;
            using var start = new Barrier(2);
            void RecycleAll()
            {
                start.SignalAndWait();
                foreach (Page page in pages)
                {
                    try
                    {
                        pool.RecyclePage(page);
                    }
                    catch (PagePoolException)
                    {
                        Interlocked.Increment(ref refused);
                    }
                }
            }
            var other = new Thread(RecycleAll);
            other.Start();
            if (ownerRaces)
            {
                RecycleAll(); // the owner's thread: its RecyclePage takes the direct path
            }
            else
            {
                var third = new Thread(RecycleAll);
                third.Start();
                third.Join();
            }
            other.Join();
            Assert.InRange(refused, 0, PoolSize);

            var held = new HashSet<int>();
            for (int i = 0; i < PoolSize; i++)
            {
                Page page = pool.AllocPage();
                Assert.True(held.Add(page.Id), $"round {round}: page {page.Id} handed out twice");
                pages[i] = page;
            }
            Assert.False(pool.TryAllocPage(out _));
            Assert.Equal(PoolSize, pool.PagesInUse);
            foreach (Page page in pages)
            {
                pool.RecyclePageDirect(page);
            }
            Assert.Equal(0, pool.PagesInUse);
        }
    }

    [Fact]
    public void Fragments_recycled_from_other_threads_return_each_page_exactly_once()
    {
        int created = 0, released = 0;
        var pool = new RuntimePagePool(new PagePoolOptions
        {
            PageSize = 4096, PoolSize = 64, Fragments = true, Name = "frag",
            OnPageCreated = _ => Interlocked.Increment(ref created),
            OnPageReleased = _ => Interlocked.Increment(ref released),
        });
        var queue = new SpscQueue(256);
        bool done = false;
        long overlaps = 0;
        var worker = new Thread(() =>
        {
            while (true)
            {
                if (queue.TryDequeue(out Page fragment))
                {
                    // Each fragment holds its own length in every byte: an overlap with another live fragment shows.
                    foreach (byte b in fragment.Span)
                    {
                        if (b != (byte)fragment.Length)
                        {
                            Interlocked.Increment(ref overlaps);
                            break;
                        }
                    }
                    pool.RecyclePage(fragment);
                }
                else if (Volatile.Read(ref done) && queue.IsEmpty)
                {
                    return;
                }
            }
        });
        worker.Start();
        var rng = new Random(3);
        for (int i = 0; i < 300_000; i++)
        {
            int size = rng.Next(1, 1500);
            Page fragment;
            try
            {
                fragment = pool.AllocFragment(size);
            }
            catch (PagePoolExhaustedException)
            {
                Thread.Yield();
                continue;
            }
            Assert.Equal(size, fragment.Length);
            fragment.Span.Fill((byte)size);
            if (rng.Next(4) == 0)
            {
                pool.RecyclePageDirect(fragment);
                continue;
            }
            while (!queue.TryEnqueue(fragment))
            {
                Thread.Yield();
            }
        }
        Volatile.Write(ref done, true);
        worker.Join();

        Assert.Equal(0, overlaps);
        // The page being carved is still the owner's; destroying hands it back.
        Assert.True(pool.PagesInUse <= 1);
        pool.DestroyPagePool();
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(created, released);
        Assert.True(created <= 64);
    }

    [Fact]
    public void Fragment_misuse_is_refused()
    {
        var pool = new RuntimePagePool(new PagePoolOptions { PoolSize = 4, Fragments = true });
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.AllocFragment(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.AllocFragment(4097));
        Page a = pool.AllocFragment(100);
        Page b = pool.AllocFragment(100);
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(a.Address + 104, b.Address); // fragments start 8-byte aligned, as in a generated pool
        Page whole = pool.AllocFragment(4096);
        Assert.NotEqual(a.Id, whole.Id);
        pool.RecyclePage(whole);
        pool.RecyclePage(a);
        pool.RecyclePage(b);
        Assert.Throws<InvalidOperationException>(() => new RuntimePagePool(new PagePoolOptions()).AllocFragment(10));
    }

    /// <summary>A bounded single-producer single-consumer queue of pages, for the tests' handoffs.</summary>
    internal sealed class SpscQueue
    {
        private readonly Page[] _items;
        private long _head;
        private long _tail;

        public SpscQueue(int capacity) => _items = new Page[capacity];

        public bool IsEmpty => Volatile.Read(ref _head) == Volatile.Read(ref _tail);

        public bool TryEnqueue(Page page)
        {
            long tail = _tail;
            if (tail - Volatile.Read(ref _head) == _items.Length)
            {
                return false;
            }
            _items[tail % _items.Length] = page;
            Volatile.Write(ref _tail, tail + 1);
            return true;
        }

        public bool TryDequeue(out Page page)
        {
            long head = _head;
            if (head == Volatile.Read(ref _tail))
            {
                page = default;
                return false;
            }
            page = _items[head % _items.Length];
            Volatile.Write(ref _head, head + 1);
            return true;
        }
    }

    private static void Check(int[] holders, Page page, int token, ref long failures)
    {
        if (BitConverter.ToInt32(page.Span) != page.Id || Interlocked.CompareExchange(ref holders[page.Id], 0, token) != token)
        {
            failures++;
        }
    }
}
