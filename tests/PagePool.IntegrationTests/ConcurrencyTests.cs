using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using PagePool;

#pragma warning disable PP1001, PP1002, PP1003, PP1004, PP1005 // pages travel through queues the analyzer cannot follow

namespace PagePool.IntegrationTests;

/// <summary>
/// Stress with invariants that fail on a bug: no page is held by two owners at once, page contents are never
/// overwritten by another holder, nothing is lost, counters add up. No timing assertions: the stopwatch only turns
/// a hang (a lost page) into a failure.
/// </summary>
public sealed class ConcurrencyTests
{
    private static readonly TimeSpan s_hangLimit = TimeSpan.FromSeconds(60);

    public static IEnumerable<object[]> StressPools() =>
        new[] { "Default", "SmallCache", "ClearOnRecycle", "AllLeaks", "Fragments", "GlobalNamespace" }
            .SelectMany(n => AllPools.Factories.ContainsKey("Runtime." + n) ? new[] { n, "Runtime." + n } : new[] { n })
            .Select(n => new object[] { n });

    public static IEnumerable<object[]> FragmentPools() => AllPools.Both("Fragments");

    [Theory]
    [MemberData(nameof(StressPools))]
    public void Cross_thread_recycling_never_holds_a_page_twice_nor_loses_one(string name)
    {
        ITestPool pool = AllPools.Create(name);
        const int Total = 60_000;
        const int Consumers = 2;
        int[] held = new int[pool.PoolSizePages];
        var queues = Enumerable.Range(0, Consumers).Select(_ => new BlockingCollection<(Page Page, long Seq)>()).ToArray();
        var failures = new ConcurrentQueue<string>();
        long recycledRemotely = 0;

        var threads = queues.Select((queue, index) => new Thread(() =>
        {
            var batch = new List<Page>();
            try
            {
                foreach ((Page page, long seq) in queue.GetConsumingEnumerable())
                {
                    if (BitConverter.ToInt64(page.Span) != seq)
                    {
                        failures.Enqueue($"page {page.Id} was written by someone else while held (seq {seq})");
                    }
                    if (Interlocked.Exchange(ref held[page.Id], 0) != 1)
                    {
                        failures.Enqueue($"page {page.Id} was not marked held");
                    }
                    if (seq % 5 == 0)
                    {
                        batch.Add(page);
                        if (batch.Count == 4)
                        {
                            pool.RecyclePages(batch.ToArray());
                            Interlocked.Add(ref recycledRemotely, batch.Count);
                            batch.Clear();
                        }
                    }
                    else
                    {
                        pool.RecyclePage(page);
                        Interlocked.Increment(ref recycledRemotely);
                    }
                }
                pool.RecyclePages(batch.ToArray());
                Interlocked.Add(ref recycledRemotely, batch.Count);
            }
            catch (Exception ex)
            {
                failures.Enqueue($"consumer {index}: {ex}");
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        long allocated = 0;
        long recycledLocally = 0;
        var stopwatch = Stopwatch.StartNew();
        var spin = new SpinWait();
        while (allocated < Total && failures.IsEmpty)
        {
            if (!pool.TryAllocPage(out Page page))
            {
                Assert.True(stopwatch.Elapsed < s_hangLimit, "pages were lost: the pool stayed exhausted");
                spin.SpinOnce();
                continue;
            }
            long seq = allocated++;
            if (Interlocked.Exchange(ref held[page.Id], 1) != 0)
            {
                failures.Enqueue($"page {page.Id} handed out while held");
                break;
            }
            BitConverter.TryWriteBytes(page.Span, seq);
            if (seq % 4 == 0)
            {
                Interlocked.Exchange(ref held[page.Id], 0);
                if (seq % 8 == 0)
                {
                    pool.RecyclePageDirect(page);
                }
                else
                {
                    pool.RecyclePage(page);
                }
                recycledLocally++;
            }
            else
            {
                queues[seq % Consumers].Add((page, seq));
            }
        }
        foreach (var queue in queues)
        {
            queue.CompleteAdding();
        }
        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(s_hangLimit), "a consumer hung");
        }

        Assert.True(failures.IsEmpty, string.Join(Environment.NewLine, failures));
        Assert.Equal(Total, allocated);
        Assert.Equal(Total, recycledLocally + recycledRemotely);
        Assert.All(held, h => Assert.Equal(0, h));
        Assert.Equal(0, pool.PagesInUse);
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(Total, stats.AllocFast + stats.AllocSlow + stats.AllocRefill);
        Assert.Equal(0, stats.PagesInUse);
        Assert.Equal(stats.PagesCreated, pool.PagesCreatedByHook);
        Assert.True(stats.RecycleRing > 0, "nothing went through the ring");

        // Exactly PoolSize distinct pages are still there.
        var all = new Page[pool.PoolSizePages + 1];
        Assert.Equal(pool.PoolSizePages, pool.AllocPages(all));
        Assert.Equal(pool.PoolSizePages, all.Take(pool.PoolSizePages).Select(p => p.Id).Distinct().Count());
        pool.RecyclePages(all.AsSpan(0, pool.PoolSizePages));

        pool.DestroyPagePool();
        Assert.Equal(pool.PagesCreatedByHook, pool.PagesReleasedByHook);
    }

    [Theory]
    [MemberData(nameof(FragmentPools))]
    public void Fragments_recycled_from_other_threads_never_overlap_and_every_page_comes_back(string name)
    {
        var pool = (IFragmentTestPool)AllPools.Create(name);
        const int Total = 30_000;
        var queue = new BlockingCollection<(Page Fragment, byte Pattern)>(boundedCapacity: 64);
        var failures = new ConcurrentQueue<string>();
        var consumers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            try
            {
                foreach ((Page fragment, byte pattern) in queue.GetConsumingEnumerable())
                {
                    if (fragment.Span.IndexOfAnyExcept(pattern) >= 0)
                    {
                        failures.Enqueue($"fragment of page {fragment.Id} ({fragment.Length} bytes) overlapped another");
                    }
                    pool.RecyclePage(fragment);
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

        var random = new Random(7);
        var stopwatch = Stopwatch.StartNew();
        int made = 0;
        while (made < Total && failures.IsEmpty)
        {
            int size = random.Next(10) == 0 ? pool.PageSizeBytes : 1 + random.Next(1500);
            Page fragment;
            try
            {
                fragment = pool.AllocFragment(size);
            }
            catch (PagePoolExhaustedException)
            {
                Assert.True(stopwatch.Elapsed < s_hangLimit, "fragment pages were lost");
                Thread.Yield();
                continue;
            }
            Assert.Equal(size, fragment.Length);
            Assert.Equal(0, (fragment.Address - fragment.Address / 8 * 8));
            byte pattern = (byte)(made % 251 + 1);
            fragment.Span.Fill(pattern);
            made++;
            if (made % 3 == 0)
            {
                if (fragment.Span.IndexOfAnyExcept(pattern) >= 0)
                {
                    failures.Enqueue("overlap on the owner");
                }
                pool.RecyclePageDirect(fragment);
            }
            else
            {
                queue.Add((fragment, pattern));
            }
        }
        queue.CompleteAdding();
        foreach (Thread consumer in consumers)
        {
            Assert.True(consumer.Join(s_hangLimit));
        }
        Assert.True(failures.IsEmpty, string.Join(Environment.NewLine, failures));

        // Only the page the owner is still carving is out.
        Assert.InRange(pool.PagesInUse, 0, 1);
        pool.DestroyPagePool();
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(pool.PagesCreatedByHook, pool.PagesReleasedByHook);
    }
}
