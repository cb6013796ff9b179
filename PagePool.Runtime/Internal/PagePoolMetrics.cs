using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace PagePool.Internal;

/// <summary>
/// The <c>PagePool</c> meter: one observable instrument per counter, observed over every live pool and tagged
/// <c>pagepool.name</c>. Nothing is recorded on the fast path: instruments read the pools' counters when a listener
/// (dotnet-counters, OpenTelemetry, a MeterListener) collects.
/// </summary>
internal static class PagePoolMetrics
{
    public const string MeterName = "PagePool";

    private static readonly object s_lock = new();
    private static readonly List<WeakReference<PagePoolCore>> s_pools = new();
    private static readonly Meter s_meter = new(MeterName, typeof(PagePoolMetrics).Assembly.GetName().Version?.ToString());

    static PagePoolMetrics()
    {
        Counter("pagepool.alloc.fast", "Pages handed out from the owner's cache", static s => s.AllocFast);
        Counter("pagepool.alloc.slow", "Pages handed out by the slow path (created)", static s => s.AllocSlow);
        Counter("pagepool.alloc.empty", "Times the cache and the return ring were both empty", static s => s.AllocEmpty);
        Counter("pagepool.alloc.refill", "Pages handed out after a refill from the return ring", static s => s.AllocRefill);
        Counter("pagepool.recycle.cached", "Pages recycled into the owner's cache", static s => s.RecycleCached);
        Counter("pagepool.recycle.cache_full", "Owner recycles that found the cache full", static s => s.RecycleCacheFull);
        Counter("pagepool.recycle.ring", "Pages recycled into the return ring", static s => s.RecycleRing);
        Counter("pagepool.recycle.ring_full", "Recycles that found the return ring full", static s => s.RecycleRingFull);
        Counter("pagepool.recycle.released", "Pages released from service", static s => s.RecycleReleased);
        Counter("pagepool.pages.created", "Pages that entered service", static s => s.PagesCreated);
        Counter("pagepool.alloc.failed", "Page creations that failed (no memory, or OnPageCreated threw)", static s => s.AllocFailed);
        Counter("pagepool.release.failed", "Releases whose OnPageReleased threw (the page was released all the same)", static s => s.ReleaseFailed);
        Gauge("pagepool.pages.in_use", "{page}", "Pages held outside the pool", static s => s.PagesInUse);
        Gauge("pagepool.bytes.reserved", "By", "Bytes of page memory the pool holds", static s => s.BytesReserved);
    }

    public static void Register(PagePoolCore pool)
    {
        lock (s_lock)
        {
            s_pools.RemoveAll(static w => !w.TryGetTarget(out _));
            s_pools.Add(new WeakReference<PagePoolCore>(pool));
        }
    }

    private static void Counter(string name, string description, Func<PagePoolStats, long> read) =>
        s_meter.CreateObservableCounter(name, () => Observe(read), unit: name.Contains("pages") ? "{page}" : "{event}", description: description);

    private static void Gauge(string name, string unit, string description, Func<PagePoolStats, long> read) =>
        s_meter.CreateObservableUpDownCounter(name, () => Observe(read), unit: unit, description: description);

    private static List<Measurement<long>> Observe(Func<PagePoolStats, long> read)
    {
        var measurements = new List<Measurement<long>>();
        lock (s_lock)
        {
            foreach (WeakReference<PagePoolCore> weak in s_pools)
            {
                if (weak.TryGetTarget(out PagePoolCore? pool))
                {
                    measurements.Add(new Measurement<long>(read(pool.GetStats()), new KeyValuePair<string, object?>("pagepool.name", pool.Name)));
                }
            }
        }
        return measurements;
    }
}
