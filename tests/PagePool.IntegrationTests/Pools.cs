using System;
using System.Collections.Generic;
using System.Threading;
using PagePool;

// Real generated pools, one per configuration, and a RuntimePagePool with the same options beside each: the partial
// parts written here add only test plumbing (the hooks' counters and an interface), so one test runs against every
// configuration of both kinds of pool and the two cannot drift apart.

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

    /// <summary>A pool with <c>Fragments = true</c>.</summary>
    public interface IFragmentTestPool : ITestPool
    {
        Page AllocFragment(int size);
    }

    /// <summary>A pool with leak tracking on.</summary>
    public interface ILeakTestPool : ITestPool
    {
        IReadOnlyList<PageLeak> GetPageLeaks(TimeSpan minAge);
    }

    /// <summary>
    /// Counts the hooks that completed. <see cref="OnCreated"/> and <see cref="OnReleased"/> run first: they can block a
    /// creation (to test the owner-context check) or throw (to inject a driver's failure, which is then not counted).
    /// </summary>
    public abstract class HookCounter
    {
        private int _created;
        private int _released;

        public int PagesCreatedByHook => Volatile.Read(ref _created);
        public int PagesReleasedByHook => Volatile.Read(ref _released);

        public Action<Page>? OnCreated { get; set; }
        public Action<Page>? OnReleased { get; set; }

        protected void CountCreated(Page page)
        {
            Assert.False(page.IsDefault);
            OnCreated?.Invoke(page);
            Interlocked.Increment(ref _created);
        }

        protected void CountReleased(Page page)
        {
            Assert.False(page.IsDefault);
            OnReleased?.Invoke(page);
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
    public sealed partial class FragmentPool : HookCounter, IFragmentTestPool
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
    public sealed partial class SampledLeakPool : HookCounter, ILeakTestPool
    {
        public int PageSizeBytes => PageSize;
        public int PoolSizePages => PoolSize;
        partial void OnPageCreated(Page page) => CountCreated(page);
        partial void OnPageReleased(Page page) => CountReleased(page);
    }

    [PagePool(4096, 32, LeakTracking = PageLeakTracking.All)]
    public sealed partial class AllLeakPool : HookCounter, ILeakTestPool
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

    /// <summary>
    /// A <see cref="RuntimePagePool"/> behind the test interface, its hooks counted like a generated pool's; poisoning
    /// follows DEBUG, as it does for the generated pools compiled into this assembly.
    /// </summary>
    public sealed class RuntimeTestPool : HookCounter, IFragmentTestPool, ILeakTestPool
    {
        public RuntimeTestPool(PagePoolOptions options)
        {
            options.OnPageCreated = CountCreated;
            options.OnPageReleased = CountReleased;
#if DEBUG
            options.Poison = true;
#endif
            Pool = new RuntimePagePool(options);
        }

        public RuntimePagePool Pool { get; }
        public int PageSizeBytes => Pool.PageSize;
        public int PoolSizePages => Pool.PoolSize;
        public int PagesInUse => Pool.PagesInUse;
        public Page AllocPage() => Pool.AllocPage();
        public bool TryAllocPage(out Page page) => Pool.TryAllocPage(out page);
        public int AllocPages(Span<Page> pages) => Pool.AllocPages(pages);
        public Page AllocFragment(int size) => Pool.AllocFragment(size);
        public void RecyclePage([Owned] Page page) => Pool.RecyclePage(page);
        public void RecyclePageDirect([Owned] Page page) => Pool.RecyclePageDirect(page);
        public void RecyclePages(ReadOnlySpan<Page> pages) => Pool.RecyclePages(pages);
        public PagePoolStats GetPageStats() => Pool.GetPageStats();
        public IReadOnlyList<PageLeak> GetPageLeaks(TimeSpan minAge) => Pool.GetPageLeaks(minAge);
        public void DestroyPagePool() => Pool.DestroyPagePool();
        public System.Buffers.MemoryPool<byte> AsMemoryPool() => Pool.AsMemoryPool();
    }

    /// <summary>Every configuration of both kinds of pool, freshly built, for theories: "Runtime." names the RuntimePagePool twin.</summary>
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
            ["Runtime.Default"] = () => Runtime("Default", new PagePoolOptions { PageSize = 4096, PoolSize = 64 }),
            ["Runtime.NativeHeadroom"] = () => Runtime("NativeHeadroom", new PagePoolOptions
            {
                PageSize = 2048, PoolSize = 32, Memory = PageMemoryKind.Native, Headroom = 256, MaxLength = 1500,
            }),
            ["Runtime.Fragments"] = () => Runtime("Fragments", new PagePoolOptions { PageSize = 4096, PoolSize = 16, Fragments = true }),
            ["Runtime.ClearOnRecycle"] = () => Runtime("ClearOnRecycle", new PagePoolOptions
            {
                PageSize = 1024, PoolSize = 16, ClearOnRecycle = true, Headroom = 64, MaxLength = 512,
            }),
            ["Runtime.SampledLeaks"] = () => Runtime("SampledLeaks", new PagePoolOptions { PageSize = 4096, PoolSize = 32, LeakTracking = PageLeakTracking.Sampled }),
            ["Runtime.AllLeaks"] = () => Runtime("AllLeaks", new PagePoolOptions { PageSize = 4096, PoolSize = 32, LeakTracking = PageLeakTracking.All }),
            ["Runtime.SmallCache"] = () => Runtime("SmallCache", new PagePoolOptions { PageSize = 256, PoolSize = 32, CacheSize = 8, RefillBatch = 4 }),
        };

        public static IEnumerable<object[]> Names()
        {
            foreach (string name in Factories.Keys)
            {
                yield return new object[] { name };
            }
        }

        /// <summary>A configuration and its RuntimePagePool twin, for tests of one configuration's features.</summary>
        public static IEnumerable<object[]> Both(string name) => new[] { new object[] { name }, new object[] { "Runtime." + name } };

        public static ITestPool Create(string name) => Factories[name]();

        private static RuntimeTestPool Runtime(string name, PagePoolOptions options)
        {
            options.Name = "Runtime." + name;
            return new RuntimeTestPool(options);
        }
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
