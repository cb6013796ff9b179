using System;
using System.Collections.Generic;
using System.Linq;
using PagePool;

namespace PagePool.Runtime.Tests;

/// <summary>
/// Page memory that cannot be had (a pinned array, native memory, a huge-page mapping): the allocation fails with
/// the allocator's exception, the pool is left as it was, and the next allocation tries again.
/// </summary>
public sealed class AllocationFailureTests
{
    [Theory]
    [InlineData(PageMemoryKind.Pinned)]
    [InlineData(PageMemoryKind.Native)]
    [InlineData(PageMemoryKind.HugePages)]
    public void A_failed_memory_allocation_loses_nothing_and_is_tried_again(PageMemoryKind memory)
    {
        int created = 0;
        var pool = new RuntimePagePool(new PagePoolOptions
        {
            Name = "AllocationFailure." + memory,
            PageSize = 4096,
            PoolSize = 1024, // two 2 MiB chunks for huge pages, sixteen 256 KiB chunks otherwise
            Memory = memory,
            OnPageCreated = _ => created++,
        });
        var fault = new OutOfMemoryException("injected: no memory for chunk 1");
        bool failing = true;
        pool.Core.Arena.ChunkFault = chunk => failing && chunk == 1 ? fault : null;

        var held = new List<Page>();
        OutOfMemoryException? thrown = null;
        while (thrown is null)
        {
            try
            {
                held.Add(pool.AllocPage());
            }
            catch (OutOfMemoryException ex)
            {
                thrown = ex;
            }
        }
        Assert.Same(fault, thrown);
        Assert.NotEmpty(held);
        Assert.Equal(held.Count, pool.PagesInUse);
        Assert.Equal(held.Count, created);                 // the hook never ran for the page that had no memory
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(1, stats.AllocFailed);
        Assert.Equal(held.Count, stats.PagesCreated);
        Assert.Same(fault, Assert.Throws<OutOfMemoryException>(() => pool.TryAllocPage(out _)));
        Assert.Equal(2, pool.GetPageStats().AllocFailed);

        failing = false;
        while (pool.TryAllocPage(out Page page))
        {
            held.Add(page);
        }
        Assert.Equal(pool.PoolSize, held.Count);
        Assert.Equal(pool.PoolSize, held.Select(p => p.Id).Distinct().Count());
        Assert.Equal(pool.PoolSize, held.Select(p => p.Address).Distinct().Count());
        pool.RecyclePages(held.ToArray());
        Assert.Equal(0, pool.PagesInUse);
        pool.DestroyPagePool();
        Assert.Equal(0, pool.GetPageStats().BytesReserved);
    }
}
