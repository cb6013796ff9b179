using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using PagePool;

#pragma warning disable PP1001, PP1002, PP1003, PP1004, PP1005 // pages travel through queues and lists the analyzer cannot follow

namespace PagePool.IntegrationTests;

/// <summary>
/// Hooks that fail, on every configuration of both kinds of pool: a failing <c>OnPageCreated</c> lends no page and
/// loses none, a failing <c>OnPageReleased</c> still releases its page, and the exception reaches the caller
/// unchanged. Invariants, not timings: no page held twice, none lost, <c>PagesInUse</c> equal to what callers hold.
/// </summary>
public sealed class FaultInjectionTests
{
    private static readonly TimeSpan s_hangLimit = TimeSpan.FromSeconds(60);

    /// <summary>The failure the hooks throw: a driver's registration error.</summary>
    private sealed class InjectedFault : IOException
    {
        public InjectedFault(string hook)
            : base("injected " + hook + " failure")
        {
        }
    }

    public static IEnumerable<object[]> StressPools() =>
        new[] { "Default", "SmallCache", "ClearOnRecycle", "AllLeaks", "Fragments", "NativeHeadroom" }
            .SelectMany(n => new[] { n, "Runtime." + n })
            .Append("Runtime.SmallRing")
            .Select(n => new object[] { n });

    private static ITestPool Create(string name) =>
        name == "Runtime.SmallRing"
            // A return ring of 2: cross-thread recycles often find it full and release their page, so release hooks
            // fail on recycling threads too, and the owner re-creates pages (running the creation hook again).
            ? new RuntimeTestPool(new PagePoolOptions { Name = name, PageSize = 1024, PoolSize = 32, CacheSize = 8, RefillBatch = 4, RingSize = 2 })
            : AllPools.Create(name);

    private static List<Page> TakeAll(ITestPool pool)
    {
        var pages = new List<Page>();
        while (pool.TryAllocPage(out Page page))
        {
            pages.Add(page);
        }
        return pages;
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void A_failing_OnPageCreated_lends_no_page_and_loses_none(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var hooks = (HookCounter)pool;
        int calls = 0;
        var fault = new InjectedFault("OnPageCreated");
        hooks.OnCreated = _ =>
        {
            if (++calls % 5 == 0)
            {
                throw fault;
            }
        };

        var held = new List<Page>();
        int failures = 0;
        while (held.Count < pool.PoolSizePages)
        {
            try
            {
                held.Add(pool.AllocPage());
            }
            catch (InjectedFault ex)
            {
                Assert.Same(fault, ex); // unchanged, not wrapped
                failures++;
            }
            Assert.Equal(held.Count, pool.PagesInUse);
        }
        Assert.True(failures >= pool.PoolSizePages / 5 - 1, $"{failures} failures");
        Assert.Equal(pool.PoolSizePages, held.Select(p => p.Id).Distinct().Count());
        Assert.False(pool.TryAllocPage(out _)); // every page is out: nothing was lost, nothing lent twice
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(failures, stats.AllocFailed);
        Assert.Equal(pool.PoolSizePages, stats.PagesCreated);
        Assert.Equal(pool.PoolSizePages, hooks.PagesCreatedByHook);

        pool.RecyclePages(held.ToArray());
        Assert.Equal(0, pool.PagesInUse);
        hooks.OnCreated = null;
        List<Page> all = TakeAll(pool);
        Assert.Equal(pool.PoolSizePages, all.Count);
        Assert.Equal(pool.PoolSizePages, all.Select(p => p.Id).Distinct().Count());
        pool.RecyclePages(all.ToArray());
        pool.DestroyPagePool();
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(hooks.PagesCreatedByHook, hooks.PagesReleasedByHook);
    }

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void A_failing_bulk_allocation_gives_back_the_pages_it_took(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var hooks = (HookCounter)pool;
        int calls = 0;
        hooks.OnCreated = _ =>
        {
            if (++calls == 3)
            {
                throw new InjectedFault("OnPageCreated");
            }
        };
        var pages = new Page[pool.PoolSizePages];
        Assert.Throws<InjectedFault>(() => pool.AllocPages(pages));
        Assert.Equal(0, pool.PagesInUse);                      // the two pages it took are back in the pool
        Assert.Equal(2, pool.GetPageStats().PagesCreated);     // and stay in service, idle
        Assert.Equal(pages.Length, pool.AllocPages(pages));    // the healthy hook runs again for the failed slot
        Assert.Equal(pages.Length, pages.Select(p => p.Id).Distinct().Count());
        Assert.Equal(pages.Length, pool.PagesInUse);
        pool.RecyclePages(pages);
        pool.DestroyPagePool();
        Assert.Equal(hooks.PagesCreatedByHook, hooks.PagesReleasedByHook);
    }

    [Theory]
    [MemberData(nameof(FragmentAndDefaultPools))]
    public void TryAllocPage_AllocFragment_and_AsMemoryPool_pass_the_failure_on_unchanged(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var hooks = (HookCounter)pool;
        var fault = new InjectedFault("OnPageCreated");
        hooks.OnCreated = _ => throw fault;
        Assert.Same(fault, Assert.Throws<InjectedFault>(() => pool.TryAllocPage(out _)));
        Assert.Same(fault, Assert.Throws<InjectedFault>(() => pool.AsMemoryPool().Rent()));
        if (name.EndsWith("Fragments", StringComparison.Ordinal) && pool is IFragmentTestPool fragments)
        {
            Assert.Same(fault, Assert.Throws<InjectedFault>(() => fragments.AllocFragment(100)));
            Assert.Same(fault, Assert.Throws<InjectedFault>(() => fragments.AllocFragment(pool.PageSizeBytes)));
        }
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(0, pool.GetPageStats().PagesCreated);

        hooks.OnCreated = null;
        using (System.Buffers.IMemoryOwner<byte> rented = pool.AsMemoryPool().Rent())
        {
            Assert.Equal(pool.PageSizeBytes, rented.Memory.Length);
            Assert.Equal(1, pool.PagesInUse);
        }
        Assert.Equal(0, pool.PagesInUse);
        List<Page> all = TakeAll(pool);
        Assert.Equal(pool.PoolSizePages, all.Select(p => p.Id).Distinct().Count());
        pool.RecyclePages(all.ToArray());
        pool.DestroyPagePool();
        Assert.Equal(hooks.PagesCreatedByHook, hooks.PagesReleasedByHook);
    }

    public static IEnumerable<object[]> FragmentAndDefaultPools() => AllPools.Both("Default").Concat(AllPools.Both("Fragments"));

    [Theory]
    [MemberData(nameof(AllPools.Names), MemberType = typeof(AllPools))]
    public void A_failing_OnPageReleased_still_releases_every_page_at_destroy(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var hooks = (HookCounter)pool;
        List<Page> all = TakeAll(pool);
        Page kept = all[^1];
        pool.RecyclePages(all.Take(all.Count - 1).ToArray());
        int releases = 0;
        hooks.OnReleased = _ =>
        {
            if (++releases % 2 == 1)
            {
                throw new InjectedFault("OnPageReleased");
            }
        };

        // Every idle page is released, the destroy completes, then the first failure reaches the caller.
        Assert.Throws<InjectedFault>(() => pool.DestroyPagePool());
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(pool.PoolSizePages - 1, stats.RecycleReleased);
        Assert.Equal((pool.PoolSizePages - 1 + 1) / 2, stats.ReleaseFailed);
        Assert.Equal(1, pool.PagesInUse);
        Assert.Throws<PagePoolException>(() => pool.AllocPage()); // destroyed
        pool.DestroyPagePool();                                 // done already: nothing to release, nothing thrown

        // The page still out is released when it comes back, on the recycling thread, whatever its hook does.
        bool odd = releases % 2 == 0; // the next release fails
        Exception? recycled = null;
        var thread = new Thread(() => recycled = Record(() => pool.RecyclePage(kept)));
        thread.Start();
        Assert.True(thread.Join(s_hangLimit));
        Assert.Equal(odd, recycled is InjectedFault);
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(pool.PoolSizePages, pool.GetPageStats().RecycleReleased);
        Assert.Null(kept.Core);                                  // every page came back: the pool left the registry
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(kept));
    }

    private static Exception? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    /// <summary>
    /// The owner allocates (single, bulk and fragments) while two threads recycle (single and bulk) and both hooks
    /// fail at random. At every quiescent point <c>PagesInUse</c> equals what the test holds; when the faults stop the
    /// pool lends exactly PoolSize distinct pages; a destroy with failing release hooks still releases them all.
    /// </summary>
    [Theory]
    [MemberData(nameof(StressPools))]
    public void Random_hook_failures_under_cross_thread_traffic_lose_no_page(string name)
    {
        ITestPool pool = Create(name);
        var hooks = (HookCounter)pool;
        var fragments = pool as IFragmentTestPool;
        bool carving = name.EndsWith("Fragments", StringComparison.Ordinal);
        int createFailPercent = 30, releaseFailPercent = 30;
        var random = new Random(name.GetHashCode(StringComparison.Ordinal));
        var faultRandom = new ThreadLocal<Random>(() => new Random(Environment.CurrentManagedThreadId * 7919));
        hooks.OnCreated = _ =>
        {
            if (faultRandom.Value!.Next(100) < Volatile.Read(ref createFailPercent))
            {
                throw new InjectedFault("OnPageCreated");
            }
        };
        hooks.OnReleased = _ =>
        {
            if (faultRandom.Value!.Next(100) < Volatile.Read(ref releaseFailPercent))
            {
                throw new InjectedFault("OnPageReleased");
            }
        };

        int[] holders = new int[pool.PoolSizePages]; // whole pages: how many callers hold each id (never above 1)
        var queues = Enumerable.Range(0, 2).Select(_ => new BlockingCollection<Page>()).ToArray();
        var failures = new ConcurrentQueue<string>();
        long recycledByConsumers = 0;
        long releaseFaultsSeen = 0;
        var consumers = queues.Select((queue, index) => new Thread(() =>
        {
            var batch = new List<Page>();
            try
            {
                foreach (Page page in queue.GetConsumingEnumerable())
                {
                    if (page.Length == pool.PageSizeBytes && Interlocked.Decrement(ref holders[page.Id]) != 0)
                    {
                        failures.Enqueue($"page {page.Id} was held by two callers");
                    }
                    batch.Add(page);
                    if (index == 0 || batch.Count == 8 || queue.Count == 0)
                    {
                        try
                        {
                            if (index == 0)
                            {
                                pool.RecyclePage(batch[0]);
                            }
                            else
                            {
                                pool.RecyclePages(batch.ToArray());
                            }
                        }
                        catch (InjectedFault)
                        {
                            Interlocked.Increment(ref releaseFaultsSeen); // the pages were released all the same
                        }
                        Interlocked.Add(ref recycledByConsumers, batch.Count);
                        batch.Clear();
                    }
                }
                if (batch.Count > 0)
                {
                    failures.Enqueue("a batch was left behind");
                }
            }
            catch (Exception ex)
            {
                failures.Enqueue(ex.ToString());
            }
        })).ToArray();
        foreach (Thread consumer in consumers)
        {
            consumer.Start();
        }

        var stopwatch = Stopwatch.StartNew();
        var bulk = new Page[6];
        long handedOff = 0;
        long createFaults = 0;
        for (int round = 0; round < 60 && failures.IsEmpty; round++)
        {
            for (int step = 0; step < 150; step++)
            {
                var got = new List<Page>();
                try
                {
                    switch (random.Next(4))
                    {
                        case 0:
                            got.Add(pool.AllocPage());
                            break;
                        case 1:
                            if (pool.TryAllocPage(out Page page))
                            {
                                got.Add(page);
                            }
                            break;
                        case 2:
                            got.AddRange(bulk.AsSpan(0, pool.AllocPages(bulk)).ToArray());
                            break;
                        default:
                            got.Add(carving ? fragments!.AllocFragment(1 + random.Next(1500)) : pool.AllocPage());
                            break;
                    }
                }
                catch (InjectedFault)
                {
                    createFaults++;
                }
                catch (PagePoolExhaustedException)
                {
                    Assert.True(stopwatch.Elapsed < s_hangLimit, "pages were lost: the pool stays exhausted");
                    Thread.Yield();
                }
                foreach (Page page in got)
                {
                    if (page.Length == pool.PageSizeBytes && Interlocked.Increment(ref holders[page.Id]) != 1)
                    {
                        failures.Enqueue($"page {page.Id} was handed out while held");
                    }
                    queues[(int)(handedOff++ % queues.Length)].Add(page);
                }
            }

            // Quiescent point: every page handed off has been recycled; only a fragment page being carved is out.
            while (Interlocked.Read(ref recycledByConsumers) < handedOff && failures.IsEmpty)
            {
                Assert.True(stopwatch.Elapsed < s_hangLimit, "the consumers did not catch up");
                Thread.Sleep(1);
            }
            int carvedPage = carving ? 1 : 0;
            Assert.InRange(pool.PagesInUse, 0, carvedPage);
            Assert.True(holders.All(h => h == 0), "a page is still marked held");
        }
        Assert.True(failures.IsEmpty, string.Join(Environment.NewLine, failures));
        Assert.True(createFaults > 0, "no creation failure was injected");
        Assert.Equal(createFaults, pool.GetPageStats().AllocFailed);
        if (name == "Runtime.SmallRing")
        {
            Assert.True(Interlocked.Read(ref releaseFaultsSeen) > 0, "no release failure reached a recycling thread");
        }

        // Faults stop: the pool lends exactly PoolSize distinct pages.
        Volatile.Write(ref createFailPercent, 0);
        Volatile.Write(ref releaseFailPercent, 0);
        if (carving)
        {
            fragments!.AllocFragment(pool.PageSizeBytes - 8); // move the carver off its page, then give that page back
            Assert.InRange(pool.PagesInUse, 1, 2);
        }
        List<Page> all = TakeAll(pool);
        int outside = carving ? 1 : 0;
        Assert.Equal(pool.PoolSizePages - outside, all.Count);
        Assert.Equal(all.Count, all.Select(p => p.Id).Distinct().Count());
        Assert.Equal(all.Count, all.Select(p => p.Address).Distinct().Count());
        Assert.Equal(pool.PoolSizePages, pool.PagesInUse);

        // A destroy while release hooks fail again: everything is released, the failure reaches the caller.
        pool.RecyclePages(all.ToArray());
        Volatile.Write(ref releaseFailPercent, 50);
        foreach (BlockingCollection<Page> queue in queues)
        {
            queue.CompleteAdding();
        }
        foreach (Thread consumer in consumers)
        {
            Assert.True(consumer.Join(s_hangLimit));
        }
        Record(() => pool.DestroyPagePool());
        Assert.Equal(outside, pool.PagesInUse);
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(stats.PagesCreated - outside, stats.RecycleReleased);
    }
}
