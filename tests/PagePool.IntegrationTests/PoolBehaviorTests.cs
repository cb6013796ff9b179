using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using PagePool;

#pragma warning disable PP1001, PP1002, PP1003, PP1004, PP1005 // misuse on purpose: the pool must catch it at run time

namespace PagePool.IntegrationTests;

/// <summary>The contract every generated pool keeps, checked on each configuration.</summary>
public sealed class PoolBehaviorTests
{
    private static List<Page> Drain(ITestPool pool)
    {
        var pages = new List<Page>();
        while (pool.TryAllocPage(out Page page))
        {
            pages.Add(page);
        }
        return pages;
    }

    private static void AssertExactlyPoolSizeDistinctPages(ITestPool pool)
    {
        List<Page> pages = Drain(pool);
        Assert.Equal(pool.PoolSizePages, pages.Count);
        Assert.Equal(pool.PoolSizePages, pages.Select(p => p.Id).Distinct().Count());
        Assert.Equal(pool.PoolSizePages, pages.Select(p => p.Address).Distinct().Count());
        Assert.Equal(pool.PoolSizePages, pool.PagesInUse);
        foreach (Page page in pages)
        {
            pool.RecyclePage(page);
        }
        Assert.Equal(0, pool.PagesInUse);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void Exhaustion_is_backpressure_and_recycling_relieves_it(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var pages = new List<Page>();
        for (int i = 0; i < pool.PoolSizePages; i++)
        {
            Page page = pool.AllocPage();
            Assert.Equal(pool.PageSizeBytes, page.Length);
            Assert.Equal(pool.PageSizeBytes, page.Span.Length);
            Assert.InRange(page.Id, 0, pool.PoolSizePages - 1);
            page.Span.Fill((byte)i);
            pages.Add(page);
        }
        Assert.Equal(pool.PoolSizePages, pages.Select(p => p.Id).Distinct().Count());
        Assert.False(pool.TryAllocPage(out Page none));
        Assert.True(none.IsDefault);
        PagePoolExhaustedException ex = Assert.Throws<PagePoolExhaustedException>(() => pool.AllocPage());
        Assert.Equal(pool.PoolSizePages, ex.PoolSize);
        Assert.Equal(0, pool.AllocPages(new Page[3]));

        for (int i = 0; i < pages.Count; i++)
        {
            Assert.True(pages[i].Span.IndexOfAnyExcept((byte)i) < 0, "pages overlap");
        }
        pool.RecyclePageDirect(pages[0]);
        Page again = pool.AllocPage();
        Assert.Equal(pages[0].Id, again.Id);
        pages[0] = again;
        pool.RecyclePages(pages.ToArray());
        Assert.Equal(0, pool.PagesInUse);
        AssertExactlyPoolSizeDistinctPages(pool);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void Misuse_throws_in_every_recycle_method_and_loses_nothing(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var other = new DefaultPool();
        Page foreign = other.AllocPage();

        Page page = pool.AllocPage();
        pool.RecyclePage(page);
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(page));
        Assert.Throws<PagePoolException>(() => pool.RecyclePageDirect(page));
        Assert.Throws<PagePoolException>(() => pool.RecyclePages(new[] { page }));
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(foreign));
        Assert.Throws<PagePoolException>(() => pool.RecyclePageDirect(foreign));
        Assert.Throws<PagePoolException>(() => pool.RecyclePages(new[] { foreign }));
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(default));
        Assert.Throws<PagePoolException>(() => pool.RecyclePageDirect(default));
        Assert.Throws<PagePoolException>(() => pool.RecyclePages(new Page[] { default }));

        // From another thread (the ring path), too.
        Task.Run(() =>
        {
            Assert.Throws<PagePoolException>(() => pool.RecyclePage(page));
            Assert.Throws<PagePoolException>(() => pool.RecyclePage(foreign));
            Assert.Throws<PagePoolException>(() => pool.RecyclePage(default));
            Assert.Throws<PagePoolException>(() => pool.RecyclePages(new[] { page, default }));
        }).GetAwaiter().GetResult();

        // A bad page in a batch does not stop the good ones.
        Page a = pool.AllocPage();
        Page b = pool.AllocPage();
        PagePoolException batch = Assert.Throws<PagePoolException>(() => pool.RecyclePages(new[] { a, foreign, b }));
        Assert.Equal(0, pool.PagesInUse);
        Page c = pool.AllocPage();
        Page d = pool.AllocPage();
        Task.Run(() => Assert.Throws<PagePoolException>(() => pool.RecyclePages(new[] { c, default, d, c }))).GetAwaiter().GetResult();
        Assert.Equal(0, pool.PagesInUse);

        Assert.Equal(1, other.PagesInUse);
        other.RecyclePage(foreign);
        AssertExactlyPoolSizeDistinctPages(pool);
        AssertExactlyPoolSizeDistinctPages(pool);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void A_copy_kept_from_an_earlier_hand_out_is_refused_and_the_page_is_never_handed_out_twice(string name)
    {
        // The ABA case that a pool tracking only "in use or idle" cannot see: the page is in use again, by someone
        // else, when the stale copy comes back. Each hand-out is a new generation, and the copy carries the old one.
        ITestPool pool = AllPools.Create(name);
        Page first = pool.AllocPage();
        Page kept = first;
        pool.RecyclePageDirect(first);
        Page second = pool.AllocPage();
        Assert.Equal(first.Id, second.Id); // the owner's cache is last in, first out: the same page, handed out again
        Assert.NotEqual(kept, second);

        Assert.Throws<PagePoolException>(() => pool.RecyclePageDirect(kept));
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(kept));
        Assert.Throws<PagePoolException>(() => pool.RecyclePages(new[] { kept }));
        Task.Run(() => Assert.Throws<PagePoolException>(() => pool.RecyclePage(kept))).GetAwaiter().GetResult();
        Assert.Equal(1, pool.PagesInUse);

        // The rightful holder gives it back; nothing else can take it meanwhile.
        Page third = pool.AllocPage();
        Assert.NotEqual(second.Id, third.Id);
        pool.RecyclePage(second);
        pool.RecyclePage(third);
        Assert.Equal(0, pool.PagesInUse);
        AssertExactlyPoolSizeDistinctPages(pool);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void A_page_recycled_on_another_thread_cannot_be_recycled_again_by_the_owner(string name)
    {
        ITestPool pool = AllPools.Create(name);
        Page page = pool.AllocPage();
        Task.Run(() => pool.RecyclePage(page)).GetAwaiter().GetResult(); // into the return ring
        Assert.Throws<PagePoolException>(() => pool.RecyclePageDirect(page));
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(page));
        Assert.Equal(0, pool.PagesInUse);
        AssertExactlyPoolSizeDistinctPages(pool);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void A_refill_short_of_a_whole_batch_also_creates_a_page_while_below_PoolSize(string name)
    {
        ITestPool pool = AllPools.Create(name);
        Page a = pool.AllocPage(), b = pool.AllocPage(), c = pool.AllocPage();
        // On a thread of its own (a task could run inline on this one, the owner's): one page in the return ring.
        var recycler = new System.Threading.Thread(() => pool.RecyclePage(b));
        recycler.Start();
        recycler.Join();
        PagePoolStats before = pool.GetPageStats();

        Page grown = pool.AllocPage(); // the refill brings one page: the caller gets a new one
        PagePoolStats after = pool.GetPageStats();
        Assert.NotEqual(b.Id, grown.Id);
        Assert.Equal(before.PagesCreated + 1, after.PagesCreated);
        Assert.Equal(4, pool.PagesCreatedByHook);
        Assert.Equal(before.AllocEmpty, after.AllocEmpty);

        Page refilled = pool.AllocPage(); // the refilled page waited in the cache
        Assert.Equal(b.Id, refilled.Id);
        Assert.Equal(before.PagesCreated + 1, pool.GetPageStats().PagesCreated);

        foreach (Page page in new[] { a, c, grown, refilled })
        {
            pool.RecyclePageDirect(page);
        }
        Assert.Equal(0, pool.PagesInUse);
        AssertExactlyPoolSizeDistinctPages(pool);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void AllocPages_fills_what_it_can_and_stats_add_up(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var burst = new Page[pool.PoolSizePages + 5];
        Assert.Equal(pool.PoolSizePages, pool.AllocPages(burst));
        Assert.True(burst.Skip(pool.PoolSizePages).All(p => p.IsDefault));
        pool.RecyclePages(burst.AsSpan(0, pool.PoolSizePages));

        long allocations = pool.PoolSizePages;
        long recycles = pool.PoolSizePages;
        for (int round = 0; round < 50; round++)
        {
            int n = pool.AllocPages(burst.AsSpan(0, 1 + (round % pool.PoolSizePages)));
            allocations += n;
            if (round % 3 == 0)
            {
                Task.Run(() => pool.RecyclePages(burst.AsSpan(0, n))).Wait();
            }
            else
            {
                pool.RecyclePages(burst.AsSpan(0, n));
            }
            recycles += n;
        }

        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(allocations, stats.AllocFast + stats.AllocSlow + stats.AllocRefill);
        Assert.Equal(recycles, stats.RecycleCached + stats.RecycleRing + stats.RecycleRingFull);
        Assert.Equal(0, stats.PagesInUse);
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(stats.PagesCreated, pool.PagesCreatedByHook);
        Assert.Equal(stats.RecycleReleased, pool.PagesReleasedByHook);
        Assert.InRange(stats.PagesCreated, 1, pool.PoolSizePages + stats.RecycleReleased);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void Hooks_run_once_per_page_entering_and_leaving_service_including_destroy(string name)
    {
        ITestPool pool = AllPools.Create(name);
        Page[] pages = new Page[pool.PoolSizePages];
        Assert.Equal(pages.Length, pool.AllocPages(pages));
        Assert.Equal(pages.Length, pool.PagesCreatedByHook);
        Assert.Equal(0, pool.PagesReleasedByHook);
        int half = pages.Length / 2;
        pool.RecyclePages(pages.AsSpan(0, half));

        pool.DestroyPagePool();
        Assert.Equal(half, pool.PagesReleasedByHook);
        Assert.Throws<PagePoolException>(() => pool.AllocPage());
        Assert.Throws<PagePoolException>(() => pool.TryAllocPage(out _));

        // Pages still out are released as they come back, on any thread.
        Task.Run(() => pool.RecyclePage(pages[half])).Wait();
        pool.RecyclePageDirect(pages[half + 1]);
        pool.RecyclePages(pages.AsSpan(half + 2));
        Assert.Equal(pool.PagesCreatedByHook, pool.PagesReleasedByHook);
        Assert.Equal(0, pool.PagesInUse);
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(pages[0]));

        pool.DestroyPagePool(); // idempotent
        Assert.Equal(pool.PagesCreatedByHook, pool.PagesReleasedByHook);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void When_another_thread_allocates_the_former_owner_recycles_through_the_ring(string name)
    {
        ITestPool pool = AllPools.Create(name);
        Page a = pool.AllocPage();
        Page b = pool.AllocPage();
        pool.RecyclePageDirect(b); // b waits in the cache: the new owner's fast path could take it

        Page c = default;
        var thread = new System.Threading.Thread(() => c = pool.AllocPage());
        thread.Start();
        thread.Join();
        Assert.False(c.IsDefault);

        long ringBefore = pool.GetPageStats().RecycleRing;
        pool.RecyclePage(a); // this thread is no longer the owner: the direct path would race the new owner
        Assert.Equal(ringBefore + 1, pool.GetPageStats().RecycleRing);
        Assert.Equal(1, pool.PagesInUse);
        pool.RecyclePage(c);
        Assert.Equal(0, pool.PagesInUse);
        AssertExactlyPoolSizeDistinctPages(pool);
    }

    [Fact]
    public void Constants_are_the_attribute_arguments()
    {
        Assert.Equal(4096, DefaultPool.PageSize);
        Assert.Equal(64, DefaultPool.PoolSize);
        Assert.Equal(128, DefaultPool.CacheSize);
        Assert.Equal(64, DefaultPool.RefillBatch);
        Assert.Equal(0, DefaultPool.Headroom);
        Assert.Equal(4096, DefaultPool.MaxLength);
        Assert.Equal(256, NativeHeadroomPool.Headroom);
        Assert.Equal(1500, NativeHeadroomPool.MaxLength);
        Assert.Equal(8, SmallCachePool.CacheSize);
        Assert.Equal(4, SmallCachePool.RefillBatch);
        Assert.Equal(4, Other.DefaultPool.PoolSize);
        Assert.Equal(PageMemoryKind.Native, new NativeHeadroomPool().GetPageStats().MemoryKind);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void A_pool_dropped_without_destroy_is_destroyed_by_its_finalizer(string name)
    {
        Page stale = AbandonAfterUse(name, keepOne: false);
        Page held = AbandonAfterUse(name, keepOne: true);
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.Null(stale.Core);                 // nothing was out: destroyed, memory freed, gone from the registry
        PagePool.Internal.PagePoolCore? core = held.Core;
        Assert.NotNull(core);                    // a page is still out: the engine and that page's memory stay
        Assert.True(core!.IsDestroyed);
        Assert.Equal(1, core.PagesInUse);
        held.Span.Fill(0x5A);
        Assert.Equal(0x5A, held.Span[held.Length - 1]);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Page AbandonAfterUse(string name, bool keepOne)
    {
        ITestPool pool = AllPools.Create(name);
        Page a = pool.AllocPage();
        Page b = pool.AllocPage();
        pool.RecyclePage(a);
        if (!keepOne)
        {
            pool.RecyclePage(b);
        }
        return b;
    }
}
