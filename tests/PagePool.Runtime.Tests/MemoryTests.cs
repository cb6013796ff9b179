using System;
using System.Buffers;
using System.IO.Pipelines;
using System.Linq;
using System.Threading.Tasks;
using PagePool;
using PagePool.Internal;
using static PagePool.Runtime.Tests.RuntimePagePoolTests;

namespace PagePool.Runtime.Tests;

public sealed class MemoryTests
{
    [Theory]
    [InlineData(PageMemoryKind.Pinned, 4096)]
    [InlineData(PageMemoryKind.Native, 4096)]
    [InlineData(PageMemoryKind.Native, 65536)]
    [InlineData(PageMemoryKind.Pinned, 256)]
    public void Each_memory_kind_gives_aligned_distinct_pages_and_bounded_memory(PageMemoryKind kind, int pageSize)
    {
        RuntimePagePool pool = Create(poolSize: 100, pageSize: pageSize, configure: o => o.Memory = kind);
        Page[] pages = new Page[100];
        Assert.Equal(100, pool.AllocPages(pages));
        Assert.All(pages, p => Assert.Equal(0, p.Address % Math.Min(pageSize, 4096)));
        Assert.Equal(100, pages.Select(p => p.Address).Distinct().Count());
        foreach (Page p in pages)
        {
            p.Span.Fill((byte)p.Id);
        }
        foreach (Page p in pages)
        {
            Assert.True(p.Span.IndexOfAnyExcept((byte)p.Id) < 0, "a page was overwritten by another");
            Assert.Equal((byte)p.Id, p.Memory.Span[pageSize - 1]);
        }
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(kind, stats.MemoryKind);
        Assert.True(stats.BytesReserved >= 100L * pageSize);
        // Chunks of 256 KiB (or one page); pinned slabs add at most one alignment unit each.
        long chunks = (100L * pageSize + Math.Max(256 * 1024, pageSize) - 1) / Math.Max(256 * 1024, pageSize);
        Assert.True(stats.BytesReserved <= 100L * pageSize + chunks * 4096, $"reserved {stats.BytesReserved}");
        pool.RecyclePages(pages);
        pool.DestroyPagePool();
        Assert.Equal(0, pool.GetPageStats().BytesReserved);
    }

    [Fact]
    public void Memory_is_carved_lazily()
    {
        RuntimePagePool pool = Create(poolSize: 1024);
        Assert.Equal(0, pool.GetPageStats().BytesReserved);
        pool.AllocPage();
        long oneChunk = pool.GetPageStats().BytesReserved;
        Assert.InRange(oneChunk, 4096, 256 * 1024 + 4096);
    }

    [Fact]
    public void HugePages_use_2MiB_aligned_mappings_on_Linux()
    {
        RuntimePagePool pool = Create(poolSize: 600, configure: o => o.Memory = PageMemoryKind.HugePages);
        Page[] pages = new Page[600];
        pool.AllocPages(pages);
        PageMemoryKind expected = OperatingSystem.IsLinux() ? PageMemoryKind.HugePages : PageMemoryKind.Native;
        Assert.Equal(expected, pool.GetPageStats().MemoryKind);
        if (expected == PageMemoryKind.HugePages)
        {
            Assert.Equal(0, pages[0].Address % (2 * 1024 * 1024));
            Assert.Equal(0, pages[512].Address % (2 * 1024 * 1024)); // the second 2 MiB chunk
        }
        foreach (Page p in pages)
        {
            p.Span.Fill(1);
        }
        pool.RecyclePages(pages);
        pool.DestroyPagePool();
        Assert.Equal(0, pool.GetPageStats().BytesReserved);
    }

    [Fact]
    public void HugePages_fall_back_to_Native_where_unsupported_and_say_so()
    {
        HugePageMapping.ForceUnsupported = true;
        try
        {
            RuntimePagePool pool = Create(poolSize: 4, configure: o => o.Memory = PageMemoryKind.HugePages);
            Page page = pool.AllocPage();
            page.Span.Fill(3);
            Assert.Equal(PageMemoryKind.Native, pool.GetPageStats().MemoryKind);
            pool.RecyclePage(page);
        }
        finally
        {
            HugePageMapping.ForceUnsupported = false;
        }
    }

    [Fact]
    public void Page_Memory_allocates_nothing_after_the_first_call()
    {
        foreach (PageMemoryKind kind in new[] { PageMemoryKind.Pinned, PageMemoryKind.Native })
        {
            RuntimePagePool pool = Create(poolSize: 4, configure: o => o.Memory = kind);
            Page page = pool.AllocPage();
            _ = page.Memory;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                Memory<byte> memory = page.Memory;
                memory.Span[0] = (byte)i;
                pool.RecyclePageDirect(page);
                page = pool.AllocPage();
            }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [Fact]
    public void Alloc_and_recycle_allocate_nothing_in_steady_state()
    {
        RuntimePagePool pool = Create(poolSize: 256);
        Page[] burst = new Page[64];
        pool.AllocPages(burst);
        pool.RecyclePages(burst);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            pool.AllocPages(burst);
            pool.RecyclePages(burst);
            Page p = pool.AllocPage();
            pool.RecyclePage(p);
            pool.TryAllocPage(out p);
            pool.RecyclePageDirect(p);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task AsMemoryPool_drives_a_real_pipe_and_gets_every_page_back()
    {
        RuntimePagePool pool = Create(poolSize: 64);
        MemoryPool<byte> memoryPool = pool.AsMemoryPool();
        Assert.Same(memoryPool, pool.AsMemoryPool());
        Assert.Equal(4096, memoryPool.MaxBufferSize);
        var pipe = new Pipe(new PipeOptions(pool: memoryPool, minimumSegmentSize: 4096, pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false));

        const int Total = 8 * 1024 * 1024;
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
        Assert.True(pool.GetPageStats().AllocFast + pool.GetPageStats().AllocRefill > 0);
    }

    [Fact]
    public void AsMemoryPool_rents_without_allocating_and_falls_back_when_exhausted()
    {
        RuntimePagePool pool = Create(poolSize: 2);
        MemoryPool<byte> memoryPool = pool.AsMemoryPool();
        // Both pages created before counting: a short refill (one page back in the ring) creates a page while the
        // pool is below PoolSize, and creating one allocates.
        using (IMemoryOwner<byte> warm1 = memoryPool.Rent(), warm2 = memoryPool.Rent())
        {
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            IMemoryOwner<byte> owner = memoryPool.Rent(100);
            owner.Memory.Span[0] = 1;
            owner.Dispose();
            owner.Dispose(); // a second Dispose is a no-op
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0, pool.PagesInUse);

        IMemoryOwner<byte> a = memoryPool.Rent(), b = memoryPool.Rent(), c = memoryPool.Rent();
        Assert.Equal(4096, c.Memory.Length); // unpooled fallback
        Assert.Equal(1, ((PageMemoryPool)memoryPool).UnpooledRents);
        Assert.Throws<ObjectDisposedException>(() => { a.Dispose(); return a.Memory; });
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, pool.PagesInUse);
        Assert.Throws<ArgumentOutOfRangeException>(() => memoryPool.Rent(5000));
    }
}
