using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO.Pipelines;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PagePool;

#pragma warning disable PP1001, PP1002, PP1003, PP1004, PP1005 // use after recycle and leaks on purpose

namespace PagePool.IntegrationTests;

/// <summary>Features that only some configurations have: fragments, ClearOnRecycle, leak tracking, DEBUG checks, the MemoryPool adapter.</summary>
public sealed class FeatureTests
{
    public static IEnumerable<object[]> FragmentPools() => AllPools.Both("Fragments");

    public static IEnumerable<object[]> ClearPools() => AllPools.Both("ClearOnRecycle");

    public static IEnumerable<object[]> AllLeakPools() => AllPools.Both("AllLeaks");

    public static IEnumerable<object[]> SampledLeakPools() => AllPools.Both("SampledLeaks");

    public static IEnumerable<object[]> DefaultPools() => AllPools.Both("Default");

    [Theory]
    [MemberData(nameof(FragmentPools))]
    public void Fragments_share_a_page_that_returns_with_its_last_fragment(string name)
    {
        var pool = (IFragmentTestPool)AllPools.Create(name);
        Page a = pool.AllocFragment(100);
        Page b = pool.AllocFragment(1);
        Page c = pool.AllocFragment(200);
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(a.Id, c.Id);
        Assert.Equal(100, a.Length);
        Assert.Equal(a.Address + 104, b.Address); // 8-byte aligned
        Assert.Equal(b.Address + 8, c.Address);
        Assert.Equal(1, pool.PagesInUse);

        Page whole = pool.AllocFragment(pool.PageSizeBytes);
        Assert.Equal(pool.PageSizeBytes, whole.Length);
        Assert.NotEqual(a.Id, whole.Id);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.AllocFragment(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.AllocFragment(pool.PageSizeBytes + 1));
        pool.RecyclePage(whole);

        Task.Run(() => pool.RecyclePage(a)).Wait();
        pool.RecyclePageDirect(b);
        pool.RecyclePages(new[] { c });
        Assert.Equal(1, pool.PagesInUse); // the owner still carves the page

        // A fragment that does not fit moves the owner on; with every fragment back, the page is recycled (and,
        // the cache being LIFO, carved again at once).
        long cachedBefore = pool.GetPageStats().RecycleCached;
        Page d = pool.AllocFragment(4000);
        Assert.Equal(cachedBefore + 1, pool.GetPageStats().RecycleCached);
        Assert.Equal(1, pool.PagesInUse);
        pool.RecyclePage(d);
        Assert.Equal(1, pool.PagesInUse);

        // Destroy gives back the owner's references: the page is recycled and released; a fragment recycled again is caught.
        pool.DestroyPagePool();
        Assert.Equal(0, pool.PagesInUse);
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(d));
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(a));
        Assert.Equal(pool.PagesCreatedByHook, pool.PagesReleasedByHook);
    }

    [Theory]
    [MemberData(nameof(ClearPools))]
    public void ClearOnRecycle_zeroes_the_device_range_on_both_recycle_paths(string name)
    {
        const int Headroom = 64, MaxLength = 512; // both ClearOnRecycle configurations
        ITestPool pool = AllPools.Create(name);
        var pages = new Page[pool.PoolSizePages];
        Assert.Equal(pages.Length, pool.AllocPages(pages));
        foreach (Page page in pages)
        {
            page.Span.Fill(0xEE);
        }
        for (int i = 0; i < pages.Length; i++)
        {
            if (i % 2 == 0)
            {
                pool.RecyclePageDirect(pages[i]);
            }
            else
            {
                Page page = pages[i];
                Task.Run(() => pool.RecyclePage(page)).Wait();
            }
        }
        Assert.Equal(pages.Length, pool.AllocPages(pages));
        foreach (Page page in pages)
        {
            Assert.True(page.Span.Slice(Headroom, MaxLength).IndexOfAnyExcept((byte)0) < 0, $"page {page.Id} not cleared");
        }
        pool.RecyclePages(pages);
    }

    [Theory]
    [MemberData(nameof(AllLeakPools))]
    public void Leak_tracking_All_reports_every_page_out_with_its_allocation_site(string name)
    {
        var pool = (ILeakTestPool)AllPools.Create(name);
        Page kept1 = pool.AllocPage();
        Page kept2 = pool.AllocPage();
        Page back = pool.AllocPage();
        pool.RecyclePage(back);
        var leaks = pool.GetPageLeaks(TimeSpan.Zero);
        Assert.Equal(new[] { kept1.Id, kept2.Id }.OrderBy(i => i), leaks.Select(l => l.PageId).OrderBy(i => i));
        Assert.All(leaks, l => Assert.Contains(nameof(Leak_tracking_All_reports_every_page_out_with_its_allocation_site), l.AllocationStackTrace));
        Assert.Empty(pool.GetPageLeaks(TimeSpan.FromHours(1)));
        pool.RecyclePage(kept1);
        Task.Run(() => pool.RecyclePage(kept2)).Wait();
        Assert.Empty(pool.GetPageLeaks(TimeSpan.Zero));
    }

    [Theory]
    [MemberData(nameof(SampledLeakPools))]
    public void Leak_tracking_Sampled_reports_only_pages_still_out(string name)
    {
        var pool = (ILeakTestPool)AllPools.Create(name);
        var pages = new Page[pool.PoolSizePages];
        System.Collections.Generic.IReadOnlyList<PageLeak> leaks = Array.Empty<PageLeak>();
        // One allocation in 64 is sampled: within a few rounds of 32 some page still out was.
        for (int round = 0; round < 8 && leaks.Count == 0; round++)
        {
            pool.RecyclePages(pages.Where(p => !p.IsDefault).ToArray());
            Assert.Equal(pages.Length, pool.AllocPages(pages));
            leaks = pool.GetPageLeaks(TimeSpan.Zero);
        }
        Assert.NotEmpty(leaks);
        Assert.True(leaks.Count < pages.Length);
        Assert.All(leaks, l => Assert.Contains(l.PageId, pages.Select(p => p.Id)));
        pool.RecyclePages(pages);
        Assert.Empty(pool.GetPageLeaks(TimeSpan.Zero));
    }

#if DEBUG
    [Theory]
    [MemberData(nameof(DefaultPools))]
    public void Debug_builds_report_a_write_after_recycle_and_lose_nothing(string name)
    {
        ITestPool pool = AllPools.Create(name);
        Page page = pool.AllocPage();
        pool.RecyclePage(page);
        page.Span[10] = 42; // use after recycle
        PagePoolException ex = Assert.Throws<PagePoolException>(() => pool.AllocPage());
        Assert.Contains("written after it was recycled", ex.Message);
        Assert.Equal(page.Id, ex.PageId);
        Assert.Equal(0, pool.PagesInUse);
        var all = new Page[pool.PoolSizePages];
        Assert.Equal(all.Length, pool.AllocPages(all));
        Assert.Equal(all.Length, all.Select(p => p.Id).Distinct().Count());
        pool.RecyclePages(all);
    }

    [Theory]
    [MemberData(nameof(DefaultPools))]
    public void Debug_builds_catch_two_threads_in_the_owner_context(string name)
    {
        ITestPool pool = AllPools.Create(name);
        var hooks = (HookCounter)pool;
        using var inSlowPath = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        hooks.OnCreated = _ =>
        {
            inSlowPath.Set();
            release.Wait();
        };
        Task owner = Task.Run(() => pool.RecyclePage(pool.AllocPage()));
        Assert.True(inSlowPath.Wait(TimeSpan.FromSeconds(30)));
        hooks.OnCreated = null;
        PagePoolException ex = Assert.Throws<PagePoolException>(() => pool.AllocPage());
        Assert.Contains("owner-context", ex.Message);
        release.Set();
        owner.Wait();
        Assert.Equal(0, pool.PagesInUse);
    }
#endif

    [Theory]
    [MemberData(nameof(DefaultPools))]
    public async Task AsMemoryPool_feeds_a_pipe_and_every_page_comes_back(string name)
    {
        ITestPool pool = AllPools.Create(name);
        MemoryPool<byte> memoryPool = pool.AsMemoryPool();
        Assert.Same(memoryPool, pool.AsMemoryPool());
        Assert.Equal(pool.PageSizeBytes, memoryPool.MaxBufferSize);
        var pipe = new Pipe(new PipeOptions(pool: memoryPool, minimumSegmentSize: pool.PageSizeBytes,
            pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false));

        const int Total = 2 * 1024 * 1024;
        Task writer = Task.Run(async () =>
        {
            int written = 0;
            while (written < Total)
            {
                Memory<byte> memory = pipe.Writer.GetMemory(1000);
                int n = Math.Min(memory.Length, Total - written);
                for (int i = 0; i < n; i++)
                {
                    memory.Span[i] = (byte)(written + i);
                }
                pipe.Writer.Advance(n);
                written += n;
                await pipe.Writer.FlushAsync();
            }
            await pipe.Writer.CompleteAsync();
        });

        long read = 0;
        while (true)
        {
            ReadResult result = await pipe.Reader.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                for (int i = 0; i < segment.Length; i++)
                {
                    Assert.Equal((byte)(read + i), segment.Span[i]);
                }
                read += segment.Length;
            }
            pipe.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        await writer;
        await pipe.Reader.CompleteAsync();

        Assert.Equal(Total, read);
        Assert.Equal(0, pool.PagesInUse);
        PagePoolStats stats = pool.GetPageStats();
        Assert.True(stats.AllocFast + stats.AllocRefill + stats.AllocSlow >= Total / pool.PageSizeBytes);
        Assert.True(stats.RecycleRing > 0);
    }
}
