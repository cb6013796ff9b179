using System;
using System.Linq;
using System.Threading;
using PagePool;
using static PagePool.Runtime.Tests.RuntimePagePoolTests;

namespace PagePool.Runtime.Tests;

/// <summary>
/// The alloc slow path grows the pool when the return ring cannot refill a whole batch: otherwise, with every page in
/// flight, the owner refills a few pages at a time from the ring cells a recycling thread is still writing, both
/// threads in lockstep on the same lines (benchmarks/results/CROSSTHREAD-MODES.md).
/// </summary>
public sealed class RefillGrowthTests
{
    [Fact]
    public void A_refill_short_of_a_whole_batch_also_creates_a_page_for_the_caller()
    {
        RuntimePagePool pool = Create(poolSize: 1024, configure: o => { o.CacheSize = 128; o.RefillBatch = 64; });
        Page[] pages = new Page[10];
        Assert.Equal(10, pool.AllocPages(pages));     // 10 pages created, the cache empty
        RunOnOtherThread(() => pool.RecyclePages(pages.AsSpan(0, 3)));  // 3 wait in the ring
        PagePoolStats before = pool.GetPageStats();

        Page grown = pool.AllocPage();
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(11, stats.PagesCreated);          // a new page for the caller...
        Assert.Equal(before.AllocSlow + 1, stats.AllocSlow);
        Assert.Equal(before.AllocRefill, stats.AllocRefill);
        Assert.Equal(before.AllocEmpty, stats.AllocEmpty);  // ...though the ring was not empty
        Assert.DoesNotContain(grown.Id, pages.Take(3).Select(p => p.Id));

        // The three refilled pages wait in the cache: the next three allocations are fast and create nothing.
        Page[] next = new Page[3];
        Assert.Equal(3, pool.AllocPages(next));
        stats = pool.GetPageStats();
        Assert.Equal(before.AllocFast + 3, stats.AllocFast);
        Assert.Equal(11, stats.PagesCreated);
        Assert.Equal(pages.Take(3).Select(p => p.Id).Order(), next.Select(p => p.Id).Order());
        pool.RecyclePages(next);
        pool.RecyclePageDirect(grown);
        pool.RecyclePages(pages.AsSpan(3));
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void A_refill_of_a_whole_batch_creates_nothing()
    {
        RuntimePagePool pool = Create(poolSize: 1024, configure: o => { o.CacheSize = 16; o.RefillBatch = 8; });
        Page[] pages = new Page[20];
        Assert.Equal(20, pool.AllocPages(pages));
        RunOnOtherThread(() => pool.RecyclePages(pages.AsSpan(0, 12)));

        Page again = pool.AllocPage();
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(20, stats.PagesCreated);
        Assert.Equal(1, stats.AllocRefill);
        Assert.Contains(again.Id, pages.Take(12).Select(p => p.Id));
        pool.RecyclePageDirect(again);
        pool.RecyclePages(pages.AsSpan(12));
    }

    [Fact]
    public void With_PoolSize_pages_out_a_short_refill_hands_out_a_refilled_page()
    {
        RuntimePagePool pool = Create(poolSize: 8, configure: o => { o.CacheSize = 8; o.RefillBatch = 8; });
        Page[] pages = new Page[8];
        Assert.Equal(8, pool.AllocPages(pages));      // every page exists and is out
        RunOnOtherThread(() => pool.RecyclePage(pages[5]));

        Page again = pool.AllocPage();                  // nothing left to create: the page from the ring
        Assert.Equal(pages[5].Id, again.Id);
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(8, stats.PagesCreated);
        Assert.Equal(1, stats.AllocRefill);
        Assert.Equal(8, pool.PagesInUse);
    }

    [Fact]
    public void Recycling_in_lockstep_grows_the_pool_by_one_batch_and_no_more()
    {
        // The owner takes one page at a time and another thread gives each back before the next: a refill brings one
        // page, then two... and each short refill creates a page, until a whole batch waits in the ring.
        RuntimePagePool pool = Create(poolSize: 1024, configure: o => { o.CacheSize = 128; o.RefillBatch = 64; });
        using var handed = new SemaphoreSlim(0);
        using var returned = new SemaphoreSlim(0);
        Page current = default;
        var recycler = new Thread(() =>
        {
            while (true)
            {
                handed.Wait();
                if (current.IsDefault)
                {
                    return;
                }
                pool.RecyclePage(current);
                returned.Release();
            }
        });
        recycler.Start();
        for (int i = 0; i < 5000; i++)
        {
            current = pool.AllocPage();
            handed.Release();
            returned.Wait();
        }
        current = default;
        handed.Release();
        recycler.Join();

        PagePoolStats stats = pool.GetPageStats();
        Assert.InRange(stats.PagesCreated, 64, 66);   // one batch of slack, then every refill is whole
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(5000, stats.RecycleRing);
    }

    [Fact]
    public void A_refill_of_nothing_but_stale_duplicates_takes_the_next_batch_instead_of_reporting_the_pool_empty()
    {
        RuntimePagePool pool = Create(poolSize: 3, configure: o => { o.CacheSize = 2; o.RefillBatch = 2; });
        Page a = pool.AllocPage(), b = pool.AllocPage(), c = pool.AllocPage();
        pool.RecyclePageDirect(a);
        pool.RecyclePageDirect(b);
        // Stale duplicates of a and b in the ring, as two racing recycles of one handle leave them.
        Assert.True(pool.Core.TryRecycleToRing(a.Id));
        Assert.True(pool.Core.TryRecycleToRing(b.Id));
        RunOnOtherThread(() => pool.RecyclePages(new[] { c })); // behind them in the ring
        Page first = pool.AllocPage(), second = pool.AllocPage(); // a and b again, from the cache

        // The next refill's first batch holds only the two duplicates (a and b are out again under a newer
        // generation): it must go on to c rather than report all three pages in use.
        Assert.True(pool.TryAllocPage(out Page third));
        Assert.Equal(c.Id, third.Id);
        Assert.Equal(3, pool.PagesInUse);
        Assert.Equal(3, pool.GetPageStats().PagesCreated);
        pool.RecyclePages(new[] { first, second, third });
        Assert.Equal(0, pool.PagesInUse);
    }
}
