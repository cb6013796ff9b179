using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using PagePool;
using static PagePool.Runtime.Tests.RuntimePagePoolTests;

namespace PagePool.Runtime.Tests;

public sealed class DestroyAndDiagnosticsTests
{
    [Fact]
    public void Destroy_releases_idle_pages_now_and_the_others_as_they_come_back()
    {
        var released = new List<int>();
        RuntimePagePool pool = Create(poolSize: 8, configure: o => o.OnPageReleased = p => released.Add(p.Id));
        Page[] pages = new Page[6];
        pool.AllocPages(pages);
        pool.RecyclePageDirect(pages[0]);
        RunOnOtherThread(() => pool.RecyclePage(pages[1])); // one in the ring
        long reservedBefore = pool.GetPageStats().BytesReserved;

        pool.DestroyPagePool();

        Assert.Equal(new[] { pages[0].Id, pages[1].Id }.OrderBy(x => x), released.OrderBy(x => x));
        Assert.Equal(4, pool.PagesInUse);
        Assert.Contains("destroyed with 4 page(s) still in use", pool.DestroyReport);
        Assert.Equal(reservedBefore, pool.GetPageStats().BytesReserved); // the chunk still has pages out

        var ex = Assert.Throws<PagePoolException>(() => pool.AllocPage());
        Assert.Contains("destroyed", ex.Message);
        Assert.Throws<PagePoolException>(() => pool.TryAllocPage(out _));

        pool.RecyclePageDirect(pages[2]);
        RunOnOtherThread(() => pool.RecyclePage(pages[3]));
        RunOnOtherThread(() => pool.RecyclePages(pages.AsSpan(4, 2)));
        Assert.Equal(6, released.Count);
        Assert.Equal(0, pool.PagesInUse);
        Assert.Equal(0, pool.GetPageStats().BytesReserved); // everything back: memory freed
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(pages[2])); // released: a second recycle is still caught
        pool.DestroyPagePool(); // idempotent
        Assert.Equal(6, released.Count);
    }

    [Fact]
    public void Leak_report_lists_tracked_pages_with_their_allocation_site()
    {
        RuntimePagePool pool = Create(poolSize: 8, configure: o => o.LeakTracking = PageLeakTracking.All);
        Page kept = AllocateHere(pool);
        Page returned = pool.AllocPage();
        pool.RecyclePage(returned);

        IReadOnlyList<PageLeak> leaks = pool.GetPageLeaks(TimeSpan.Zero);
        PageLeak leak = Assert.Single(leaks);
        Assert.Equal(kept.Id, leak.PageId);
        Assert.Equal("test", leak.PoolName);
        Assert.Contains(nameof(AllocateHere), leak.AllocationStackTrace);
        Assert.Empty(pool.GetPageLeaks(TimeSpan.FromHours(1)));

        pool.DestroyPagePool();
        Assert.Contains(nameof(AllocateHere), pool.DestroyReport);
        pool.RecyclePage(kept);
        Assert.Empty(pool.GetPageLeaks(TimeSpan.Zero));
    }

    [Fact]
    public void Sampled_leak_tracking_records_one_allocation_in_64()
    {
        RuntimePagePool pool = Create(poolSize: 256, configure: o => o.LeakTracking = PageLeakTracking.Sampled);
        Page[] pages = new Page[256];
        pool.AllocPages(pages);
        Assert.Equal(256 / PagePoolDefaults.LeakSampleInterval, pool.GetPageLeaks(TimeSpan.Zero).Count);
        pool.RecyclePages(pages);
        Assert.Empty(pool.GetPageLeaks(TimeSpan.Zero));
        Assert.Empty(Create().GetPageLeaks(TimeSpan.Zero)); // off: nothing recorded
    }

    [Fact]
    public void Without_leak_tracking_the_destroy_report_says_how_to_find_the_pages()
    {
        RuntimePagePool pool = Create(poolSize: 2);
        pool.AllocPage();
        pool.DestroyPagePool();
        Assert.Contains("Turn on LeakTracking", pool.DestroyReport);
        Assert.Null(Create().DestroyReport);
    }

    [Fact]
    public void Poisoning_reports_a_write_after_recycle_and_keeps_the_page()
    {
        RuntimePagePool pool = Create(poolSize: 1, configure: o => o.Poison = true);
        Page page = pool.AllocPage();
        pool.RecyclePage(page);
        page.Span[100] = 42; // use after recycle

        var ex = Assert.Throws<PagePoolException>(() => pool.AllocPage());
        Assert.Contains($"Page {page.Id}", ex.Message);
        Assert.Contains("written after it was recycled", ex.Message);
        Assert.Contains("byte 100", ex.Message);
        Assert.Equal(0, pool.PagesInUse);

        Page again = pool.AllocPage(); // the page was put back, re-poisoned
        Assert.Equal(page.Id, again.Id);
        RunOnOtherThread(() => pool.RecyclePage(again)); // the shared recycle poisons too
        again.Span[7] = 1;
        ex = Assert.Throws<PagePoolException>(() => pool.AllocPage());
        Assert.Contains("byte 7", ex.Message);
        Assert.Equal(0, pool.PagesInUse);
        pool.RecyclePage(pool.AllocPage());
        Assert.Equal(0, pool.PagesInUse);
    }

    [Fact]
    public void ClearOnRecycle_zeroes_the_device_region_and_leaves_the_headroom()
    {
        RuntimePagePool pool = Create(poolSize: 1, configure: o => { o.ClearOnRecycle = true; o.Headroom = 256; o.MaxLength = 1024; });
        Page page = pool.AllocPage();
        page.Span.Fill(0xFF);
        pool.RecyclePageDirect(page);
        Page again = pool.AllocPage();
        Assert.All(again.Span.Slice(256, 1024).ToArray(), b => Assert.Equal(0, b));
        Assert.Equal(0xFF, again.Span[255]);
        Assert.Equal(0xFF, again.Span[256 + 1024]);
        RunOnOtherThread(() => { again.Span.Fill(0xEE); pool.RecyclePage(again); });
        Assert.All(pool.AllocPage().Span.Slice(256, 1024).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Metrics_are_published_on_the_PagePool_meter()
    {
        string name = "metrics-" + Guid.NewGuid().ToString("N");
        RuntimePagePool pool = Create(poolSize: 8, configure: o => o.Name = name);
        Page a = pool.AllocPage();
        Page b = pool.AllocPage();
        pool.RecyclePageDirect(a);
        RunOnOtherThread(() => pool.RecyclePage(b));
        pool.AllocPage();

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "PagePool")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "pagepool.name" && (string?)tag.Value == name)
                {
                    seen[instrument.Name] = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(2, seen["pagepool.alloc.slow"]);
        Assert.Equal(1, seen["pagepool.alloc.fast"]);
        Assert.Equal(1, seen["pagepool.recycle.cached"]);
        Assert.Equal(1, seen["pagepool.recycle.ring"]);
        Assert.Equal(1, seen["pagepool.pages.in_use"]);
        Assert.Equal(2, seen["pagepool.pages.created"]);
        Assert.True(seen["pagepool.bytes.reserved"] >= 8 * 4096);
        foreach (string instrument in new[] { "pagepool.alloc.empty", "pagepool.alloc.refill", "pagepool.recycle.cache_full", "pagepool.recycle.ring_full", "pagepool.recycle.released" })
        {
            Assert.True(seen.ContainsKey(instrument), instrument);
        }
        GC.KeepAlive(pool);
    }

    private static Page AllocateHere(RuntimePagePool pool) => pool.AllocPage();
}
