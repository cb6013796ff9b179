#if !PAGEPOOL_GENERATOR
using System;
using PagePool;

namespace UdpRxQueue;

// Stand-in for what [PagePool(2048, 1024)] generates, used only until the generator is part of the build: the same
// members, forwarding to a RuntimePagePool configured like the attribute.
internal sealed partial class RxQueue
{
    public const int PageSize = 2048;
    public const int PoolSize = 1024;

    private readonly RuntimePagePool _pool;

    public RxQueue() =>
        _pool = new RuntimePagePool(new PagePoolOptions
        {
            PageSize = PageSize,
            PoolSize = PoolSize,
            Name = nameof(RxQueue),
            OnPageCreated = page => OnPageCreated(page),
        });

    public int PagesInUse => _pool.PagesInUse;

    public bool TryAllocPage(out Page page) => _pool.TryAllocPage(out page);

    public Page AllocPage() => _pool.AllocPage();

    public void RecyclePageDirect(Page page) => _pool.RecyclePageDirect(page);

    public void RecyclePage(Page page) => _pool.RecyclePage(page);

    public PagePoolStats GetPageStats() => _pool.GetPageStats();

    public void DestroyPagePool() => _pool.DestroyPagePool();

    partial void OnPageCreated(Page page);
}
#endif
