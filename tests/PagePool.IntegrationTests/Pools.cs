using System;
using System.Collections.Generic;
using System.Threading;
using PagePool;

// Real generated pools, one per configuration. The partial parts written here add only test plumbing: the
// hooks' counters and an interface so one test can run against every configuration.

namespace PagePool.IntegrationTests
{
    /// <summary>The generated surface, as an interface so tests can be shared across configurations.</summary>
    public interface ITestPool
    {
        int PageSizeBytes { get; }
        int PoolSizePages { get; }
        int PagesCreatedByHook { get; }
        int PagesReleasedByHook { get; }
        Page AllocPage();
        bool TryAllocPage(out Page page);
        int AllocPages(Span<Page> pages);
        void RecyclePage([Owned] Page page);
        void RecyclePageDirect([Owned] Page page);
        void RecyclePages(ReadOnlySpan<Page> pages);
        int PagesInUse { get; }
        PagePoolStats GetPageStats();
        void DestroyPagePool();
        System.Buffers.MemoryPool<byte> AsMemoryPool();
    }

    /// <summary>Counts the hooks; <see cref="OnCreated"/> can block a creation to test the owner-context check.</summary>
    public abstract class HookCounter
    {
        private int _created;
        private int _released;

        public int PagesCreatedByHook => Volatile.Read(ref _created);
        public int PagesReleasedByHook => Volatile.Read(ref _released);

        public Action<Page>? OnCreated { get; set; }

        protected void CountCreated(Page page)
        {
            Assert.False(page.IsDefault);
            Interlocked.Increment(ref _created);
            OnCreated?.Invoke(page);
        }

        protected void CountReleased(Page page)
        {
            Assert.False(page.IsDefault);
            Interlocked.Increment(ref _released);
        }
    }

    [PagePool(4096, 64)]
    public sealed partial class DefaultPool : HookCounter, ITestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    [PagePool(2048, 32, Memory = PageMemoryKind.Native, Headroom = 256, MaxLength = 1500)]
    public sealed partial class NativeHeadroomPool : HookCounter, ITestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    [PagePool(4096, 16, Fragments = true)]
    public sealed partial class FragmentPool : HookCounter, ITestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    [PagePool(1024, 16, ClearOnRecycle = true, Headroom = 64, MaxLength = 512)]
    public sealed partial class ClearPool : HookCounter, ITestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    [PagePool(4096, 32, LeakTracking = PageLeakTracking.Sampled)]
    public sealed partial class SampledLeakPool : HookCounter, ITestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    [PagePool(4096, 32, LeakTracking = PageLeakTracking.All)]
    public sealed partial class AllLeakPool : HookCounter, ITestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    [PagePool(256, 32, CacheSize = 8, RefillBatch = 4)]
    public sealed partial class SmallCachePool : HookCounter, ITestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    public static partial class Outer
    {
        public partial record struct Nic
        {
            [PagePool(4096, 24)]
            public sealed partial class NestedPool : HookCounter, ITestPool
            {
                public int PageSizeBytes => PageSize;
                public int PoolSizePages => PoolSize;
                partial void OnPageCreated(Page page) => CountCreated(page);
                partial void OnPageReleased(Page page) => CountReleased(page);
            }
        }
    }

    /// <summary>Every configuration, freshly built, for theories.</summary>
    public static class AllPools
    {
        public static readonly IReadOnlyDictionary<string, Func<ITestPool>> Factories = new Dictionary<string, Func<ITestPool>>
        {
            ["Default"] = () => new DefaultPool(),
            ["NativeHeadroom"] = () => new NativeHeadroomPool(),
            ["Fragments"] = () => new FragmentPool(),
            ["ClearOnRecycle"] = () => new ClearPool(),
            ["SampledLeaks"] = () => new SampledLeakPool(),
            ["AllLeaks"] = () => new AllLeakPool(),
            ["SmallCache"] = () => new SmallCachePool(),
            ["Nested"] = () => new Outer.Nic.NestedPool(),
            ["GlobalNamespace"] = () => new GlobalNamespacePool(),
        };

        public static IEnumerable<object[]> Names()
        {
            foreach (string name in Factories.Keys)
            {
                yield return new object[] { name };
            }
        }

        public static ITestPool Create(string name) => Factories[name]();
    }
}

namespace PagePool.IntegrationTests.Other
{
    /// <summary>The same class name as another pool in a different namespace.</summary>
    [PagePool(4096, 4)]
    public sealed partial class DefaultPool
    {
    }
}

[PagePool(512, 16)]
public sealed partial class GlobalNamespacePool : PagePool.IntegrationTests.HookCounter, PagePool.IntegrationTests.ITestPool
{
    public int PageSizeBytes => PageSize;
    public int PoolSizePages => PoolSize;
    partial void OnPageCreated(PagePool.Page page) => CountCreated(page);
    partial void OnPageReleased(PagePool.Page page) => CountReleased(page);
}
