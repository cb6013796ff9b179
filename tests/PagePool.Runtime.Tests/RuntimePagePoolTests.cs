using System;
using System.Collections.Generic;
using System.Linq;
using PagePool;

namespace PagePool.Runtime.Tests;

public sealed class RuntimePagePoolTests
{
    internal static RuntimePagePool Create(int poolSize = 16, int pageSize = 4096, Action<PagePoolOptions>? configure = null)
    {
        var options = new PagePoolOptions { PageSize = pageSize, PoolSize = poolSize, Name = "test" };
        configure?.Invoke(options);
        return new RuntimePagePool(options);
    }

    [Fact]
    public void AllocPage_hands_out_a_page_of_the_page_size_with_stable_memory()
    {
        RuntimePagePool pool = Create();
        Page page = pool.AllocPage();

        Assert.False(page.IsDefault);
        Assert.Equal(4096, page.Length);
        Assert.Equal(4096, page.Span.Length);
        Assert.NotEqual(0, page.Address);
        Assert.Equal(0, page.Address % 4096); // pinned pages are aligned to their size up to 4 KiB
        page.Span.Fill(7);
        Assert.Equal(7, page.Memory.Span[4095]);
        unsafe
        {
            fixed (byte* p = page.Memory.Span)
            {
                Assert.Equal(page.Address, (nint)p);
            }
        }
        Assert.Equal(1, pool.PagesInUse);
        pool.RecyclePageDirect(page);
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void A_recycled_page_is_handed_out_again_from_the_cache()
    {
        RuntimePagePool pool = Create();
        Page first = pool.AllocPage();
        pool.RecyclePageDirect(first);
        Page second = pool.AllocPage();

        Assert.Equal(first.Id, second.Id);        // the same page...
        Assert.Equal(first.Address, second.Address);
        Assert.NotEqual(first, second);           // ...handed out again: a new handle, which an old copy is not
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(1, stats.AllocSlow);
        Assert.Equal(1, stats.AllocFast);
        Assert.Equal(1, stats.RecycleCached);
        Assert.Equal(1, stats.PagesCreated);
    }

    [Fact]
    public void Exhaustion_is_backpressure_TryAllocPage_false_and_AllocPage_throws()
    {
        RuntimePagePool pool = Create(poolSize: 4);
        var pages = new List<Page>();
        for (int i = 0; i < 4; i++)
        {
            pages.Add(pool.AllocPage());
        }

        Assert.False(pool.TryAllocPage(out Page none));
        Assert.True(none.IsDefault);
        var ex = Assert.Throws<PagePoolExhaustedException>(() => pool.AllocPage());
        Assert.Equal(4, ex.PoolSize);
        Assert.Contains("'test'", ex.Message);
        Assert.Equal(4, pool.PagesInUse);

        pool.RecyclePage(pages[2]);
        Assert.True(pool.TryAllocPage(out Page again));
        Assert.Equal(pages[2].Id, again.Id);
        Assert.Equal(pages[2].Address, again.Address);
        Assert.Equal(4, pool.GetPageStats().PagesCreated);
    }

    [Fact]
    public void Pages_are_distinct_and_never_overlap()
    {
        RuntimePagePool pool = Create(poolSize: 300, pageSize: 1024);
        Page[] pages = new Page[300];
        Assert.Equal(300, pool.AllocPages(pages));

        Assert.Equal(300, pages.Select(p => p.Id).Distinct().Count());
        var sorted = pages.OrderBy(p => (long)p.Address).ToArray();
        for (int i = 1; i < sorted.Length; i++)
        {
            Assert.True(sorted[i].Address - sorted[i - 1].Address >= 1024, "pages overlap");
        }
        pool.RecyclePages(pages);
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void AllocPages_fills_what_it_can_and_returns_the_count()
    {
        RuntimePagePool pool = Create(poolSize: 10);
        Page[] pages = new Page[16];
        Assert.Equal(10, pool.AllocPages(pages));
        Assert.True(pages[10].IsDefault);
        Assert.Equal(0, pool.AllocPages(pages.AsSpan(10)));
        pool.RecyclePages(pages.AsSpan(0, 10));
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void Double_recycle_throws_names_page_and_pool_and_loses_nothing()
    {
        RuntimePagePool pool = Create(poolSize: 8);
        Page page = pool.AllocPage();
        pool.RecyclePageDirect(page);

        var direct = Assert.Throws<PagePoolException>(() => pool.RecyclePageDirect(page));
        Assert.Contains($"Page {page.Id}", direct.Message);
        Assert.Contains("'test'", direct.Message);
        Assert.Contains("recycled twice", direct.Message);
        Assert.Equal(page.Id, direct.PageId);
        Assert.Equal("test", direct.PoolName);
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(page));

        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 8);
    }

    [Fact]
    public void Double_recycle_from_another_thread_throws_and_loses_nothing()
    {
        RuntimePagePool pool = Create(poolSize: 8);
        Page page = pool.AllocPage();
        Exception? error = null;
        RunOnOtherThread(() =>
        {
            pool.RecyclePage(page);
            error = Record.Exception(() => pool.RecyclePage(page));
        });
        Assert.IsType<PagePoolException>(error);
        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 8);
    }

    [Fact]
    public void Default_and_foreign_pages_are_refused()
    {
        RuntimePagePool pool = Create(poolSize: 4);
        RuntimePagePool other = Create(poolSize: 4, configure: o => o.Name = "other");
        Page foreign = other.AllocPage();

        var ex = Assert.Throws<PagePoolException>(() => pool.RecyclePageDirect(default));
        Assert.Contains("default(Page)", ex.Message);
        ex = Assert.Throws<PagePoolException>(() => pool.RecyclePage(foreign));
        Assert.Contains("'other'", ex.Message);
        Assert.Contains("'test'", ex.Message);
        RunOnOtherThread(() => Assert.Throws<PagePoolException>(() => pool.RecyclePage(default)));
        Assert.Throws<PagePoolException>(() => default(Page).Memory);

        Assert.Equal(1, other.PagesInUse); // the foreign page is still its pool's and still out
        other.RecyclePage(foreign);
        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 4);
    }

    [Fact]
    public void RecyclePages_recycles_the_good_pages_then_throws_for_the_first_bad_one()
    {
        RuntimePagePool pool = Create(poolSize: 8);
        Page a = pool.AllocPage(), b = pool.AllocPage(), c = pool.AllocPage();
        pool.RecyclePage(b);

        Exception? error = null;
        RunOnOtherThread(() => error = Record.Exception(() => pool.RecyclePages(new[] { a, b, c, default })));
        var ex = Assert.IsType<PagePoolException>(error);
        Assert.Equal(b.Id, ex.PageId);
        Assert.Equal(0, pool.PagesInUse);
        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 8);
    }

    [Fact]
    public void RecyclePages_on_the_owner_thread_skips_bad_pages_and_spills_a_full_cache_to_the_ring()
    {
        RuntimePagePool pool = Create(poolSize: 16, configure: o => { o.CacheSize = 4; o.RefillBatch = 2; });
        Page[] pages = new Page[8];
        pool.AllocPages(pages);
        pool.RecyclePageDirect(pages[5]);

        var ex = Assert.Throws<PagePoolException>(() => pool.RecyclePages(pages));
        Assert.Equal(pages[5].Id, ex.PageId);
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(0, stats.PagesInUse);
        Assert.Equal(4, stats.RecycleCached);     // the direct recycle of page 5, then 3 of the batch fill the cache
        Assert.Equal(4, stats.RecycleCacheFull);  // the other 4 spill to the ring
        Assert.Equal(4, stats.RecycleRing);
        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 16);
    }

    [Fact]
    public void Recycling_from_another_thread_goes_through_the_ring_and_refills_the_cache()
    {
        RuntimePagePool pool = Create(poolSize: 128, configure: o => { o.CacheSize = 16; o.RefillBatch = 8; });
        Page[] pages = new Page[100];
        Assert.Equal(100, pool.AllocPages(pages));
        RunOnOtherThread(() => pool.RecyclePages(pages));

        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(100, stats.RecycleRing);
        Assert.Equal(0, stats.PagesInUse);

        Page again = pool.AllocPage();
        stats = pool.GetPageStats();
        Assert.Equal(1, stats.AllocRefill);
        Assert.Equal(100, stats.AllocEmpty); // only the first 100 allocations found nothing to refill from
        Assert.Equal(7, CountFastAllocs(pool, 7)); // the other 7 of the batch of 8 are in the cache now
        pool.RecyclePageDirect(again);
    }

    [Fact]
    public void A_full_ring_releases_the_page_instead_of_losing_it()
    {
        int released = 0;
        RuntimePagePool pool = Create(poolSize: 64, configure: o => { o.RingSize = 4; o.OnPageReleased = _ => released++; });
        Page[] pages = new Page[10];
        pool.AllocPages(pages);
        RunOnOtherThread(() =>
        {
            foreach (Page p in pages)
            {
                pool.RecyclePage(p);
            }
        });

        // The recycling thread claimed the lane: 4 pages fill it, 4 more fill the ring, the other 2 are released.
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(8, stats.RecycleRing);
        Assert.Equal(2, stats.RecycleRingFull);
        Assert.Equal(2, stats.RecycleReleased);
        Assert.Equal(2, released);
        Assert.Equal(0, stats.PagesInUse);
        // Released slots are created again (OnPageCreated runs again), so the pool still holds 64 pages.
        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 64);
    }

    [Fact]
    public void Direct_recycle_into_a_full_cache_spills_to_the_ring()
    {
        RuntimePagePool pool = Create(poolSize: 32, configure: o => { o.CacheSize = 4; o.RefillBatch = 2; });
        Page[] pages = new Page[10];
        pool.AllocPages(pages);
        foreach (Page p in pages)
        {
            pool.RecyclePageDirect(p);
        }
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(4, stats.RecycleCached);
        Assert.Equal(6, stats.RecycleCacheFull);
        Assert.Equal(6, stats.RecycleRing);
        Assert.Equal(0, stats.PagesInUse);
    }

    [Fact]
    public void Hooks_run_on_the_slow_paths_only()
    {
        var created = new List<int>();
        var released = new List<int>();
        RuntimePagePool pool = Create(poolSize: 4, configure: o =>
        {
            o.OnPageCreated = p => created.Add(p.Id);
            o.OnPageReleased = p => released.Add(p.Id);
        });
        for (int i = 0; i < 100; i++)
        {
            Page a = pool.AllocPage();
            Page b = pool.AllocPage();
            pool.RecyclePage(b);
            pool.RecyclePageDirect(a);
        }
        Assert.Equal(new[] { 0, 1 }, created);
        Assert.Empty(released);
        pool.DestroyPagePool();
        Assert.Equal(new[] { 0, 1 }, released.OrderBy(x => x));
    }

    [Fact]
    public void Stats_add_up()
    {
        RuntimePagePool pool = Create(poolSize: 50, configure: o => { o.CacheSize = 8; o.RefillBatch = 4; });
        var rng = new Random(42);
        var held = new List<Page>();
        long crossThread = 0;
        for (int i = 0; i < 5000; i++)
        {
            if (held.Count < 50 && (held.Count == 0 || rng.Next(2) == 0))
            {
                held.Add(pool.AllocPage());
            }
            else
            {
                int k = rng.Next(held.Count);
                Page p = held[k];
                held.RemoveAt(k);
                if (rng.Next(3) == 0)
                {
                    crossThread++;
                    RunOnOtherThread(() => pool.RecyclePage(p));
                }
                else
                {
                    pool.RecyclePageDirect(p);
                }
            }
            Assert.Equal(held.Count, pool.PagesInUse);
        }
        PagePoolStats s = pool.GetPageStats();
        long allocs = s.AllocFast + s.AllocSlow + s.AllocRefill;
        long returns = s.RecycleCached + s.RecycleRing + s.RecycleRingFull;
        Assert.Equal(held.Count, allocs - returns);
        // Everything that reached the ring came from another thread or from an owner recycle that found the cache full.
        Assert.Equal(crossThread + s.RecycleCacheFull, s.RecycleRing + s.RecycleRingFull);
        Assert.Equal(5000 - allocs, returns); // every step either allocated or recycled one page
        Assert.True(s.PagesCreated <= 50);
    }

    [Theory]
    [InlineData(100, 16, "PageSize")]
    [InlineData(4096, 0, "PoolSize")]
    [InlineData(4096, 2_000_000, "PoolSize")]
    public void Invalid_options_throw_naming_the_setting(int pageSize, int poolSize, string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => new RuntimePagePool(new PagePoolOptions { PageSize = pageSize, PoolSize = poolSize }));
        Assert.Contains(name, ex.Message);
    }

    [Theory]
    [InlineData(0, 1, 0, 0, "CacheSize")]
    [InlineData(8, 9, 0, 0, "RefillBatch")]
    [InlineData(128, 64, 4096, 0, "Headroom")]
    [InlineData(128, 64, 256, 4000, "MaxLength")]
    public void Invalid_named_options_throw_naming_the_setting(int cache, int batch, int headroom, int maxLength, string name)
    {
        var options = new PagePoolOptions { CacheSize = cache, RefillBatch = batch, Headroom = headroom, MaxLength = maxLength };
        var ex = Assert.Throws<ArgumentException>(() => new RuntimePagePool(options));
        Assert.Contains(name, ex.Message);
        Assert.Throws<ArgumentNullException>(() => new RuntimePagePool(null!));
    }

    [Fact]
    public void Page_equality_and_ToString()
    {
        RuntimePagePool pool = Create();
        Page a = pool.AllocPage();
        Page copy = a;
        Page b = pool.AllocPage();
        Assert.True(a == copy);
        Assert.True(a != b);
        Assert.True(a.Equals((object)copy));
        Assert.Equal(a.GetHashCode(), copy.GetHashCode());
        Assert.Contains($"Page {a.Id} of 'test'", a.ToString());
        Assert.Equal("Page(default)", default(Page).ToString());
        Assert.Equal(default, default(Page));
        Assert.True(default(Page).IsDefault);
    }

    [Fact]
    public void Headroom_and_MaxLength_are_exposed()
    {
        RuntimePagePool pool = Create(configure: o => { o.Headroom = 256; });
        Assert.Equal(256, pool.Headroom);
        Assert.Equal(4096 - 256, pool.MaxLength);
        Assert.Equal(4096, pool.PageSize);
        Assert.Equal(16, pool.PoolSize);
        Assert.Equal("test", pool.Name);
    }

    internal static void AssertHandsOutExactlyPoolSizeDistinctPages(RuntimePagePool pool, int poolSize)
    {
        var pages = new List<Page>();
        while (pool.TryAllocPage(out Page p))
        {
            pages.Add(p);
            Assert.True(pages.Count <= poolSize, "the pool handed out more pages than it has");
        }
        Assert.Equal(poolSize, pages.Count);
        Assert.Equal(poolSize, pages.Select(p => p.Id).Distinct().Count());
        Assert.Equal(poolSize, pages.Select(p => p.Address).Distinct().Count());
        Assert.Equal(poolSize, pool.PagesInUse);
        foreach (Page p in pages)
        {
            pool.RecyclePage(p);
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    internal static void RunOnOtherThread(Action action)
    {
        Exception? error = null;
        var thread = new System.Threading.Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        }
    }

    private static int CountFastAllocs(RuntimePagePool pool, int count)
    {
        long before = pool.GetPageStats().AllocFast;
        var pages = new Page[count];
        pool.AllocPages(pages);
        int fast = (int)(pool.GetPageStats().AllocFast - before);
        pool.RecyclePages(pages);
        return fast;
    }
}
