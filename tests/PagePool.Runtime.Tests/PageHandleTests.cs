using System;
using System.Runtime.CompilerServices;
using PagePool;
using PagePool.Internal;
using static PagePool.Runtime.Tests.RuntimePagePoolTests;

namespace PagePool.Runtime.Tests;

/// <summary>The <see cref="Page"/> handle: 16 bytes, no object reference, its pool named by an id in the registry.</summary>
public sealed class PageHandleTests
{
    [Fact]
    public void A_page_is_16_bytes_without_an_object_reference()
    {
        Assert.Equal(16, Unsafe.SizeOf<Page>());
        Assert.False(RuntimeHelpers.IsReferenceOrContainsReferences<Page>());
    }

    [Theory]
    [InlineData(1, 0, 1, 0)]
    [InlineData((1 << 22) - 1, (1 << 20) - 1, 1 << 21, 0xFFFF)] // the largest pool id, page id (MaxPoolSize - 1), page size, generation
    [InlineData(0x2A_FFFF, 0x5_5555, 0x15_5555, 0x1_A5A5)]    // a generation keeps its low 16 bits
    public void Pool_id_page_id_length_and_generation_are_packed_without_overlap(int poolId, int id, int length, int generation)
    {
        Page page = Page.Create(Page.PoolBits(poolId), unchecked((nint)0x7FFF_1234_5000), id, length, generation);

        Assert.Equal(poolId, page.PoolId);
        Assert.Equal(id, page.Id);
        Assert.Equal(length, page.Length);
        Assert.Equal(generation & 0xFFFF, page.Generation);
        Assert.Equal(unchecked((nint)0x7FFF_1234_5000), page.Address);
        unsafe
        {
            // The span starts at the address without the generation bits (taking its address reads nothing).
            Assert.Equal(page.Address, (nint)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(page.Span)));
        }
        Assert.False(page.IsDefault);
        Assert.Equal(0, default(Page).PoolId);
        Assert.True(default(Page).IsDefault);
    }

    [Fact]
    public void Every_live_pool_has_its_own_id_and_pages_name_it()
    {
        RuntimePagePool a = Create(poolSize: 2);
        RuntimePagePool b = Create(poolSize: 2, configure: o => o.Name = "other");
        Page pa = a.AllocPage(), pb = b.AllocPage();

        Assert.NotEqual(0, pa.PoolId);
        Assert.NotEqual(pa.PoolId, pb.PoolId);
        Assert.Equal(pa.Id, pb.Id);               // same slot in two pools...
        Assert.NotEqual(pa, pb);                  // ...different pages
        Assert.Equal("test", pa.Core!.Name);
        Assert.Equal("other", pb.Core!.Name);
        Assert.Contains("'test'", pa.ToString());
        a.RecyclePage(pa);
        b.RecyclePage(pb);
        a.DestroyPagePool();
        b.DestroyPagePool();
    }

    [Fact]
    public void A_destroyed_pool_stays_registered_until_its_last_page_comes_back()
    {
        RuntimePagePool pool = Create(poolSize: 4);
        Page kept = pool.AllocPage();
        Page stale = kept; // a copy the user should not keep
        kept.Span.Fill(3);
        PagePoolCore core = kept.Core!;

        pool.DestroyPagePool();
        Assert.Same(core, kept.Core);          // a page is still out: the pool and its memory stay
        Assert.Equal(3, kept.Memory.Span[100]);

        pool.RecyclePage(kept);
        Assert.Null(stale.Core);                   // destroyed and drained: the id no longer resolves
        var ex = Assert.Throws<PagePoolException>(() => stale.Memory);
        Assert.Contains($"Page {stale.Id}", ex.Message);
        Assert.Contains("destroyed", ex.Message);
        Assert.Contains("a destroyed pool", stale.ToString());
        ex = Assert.Throws<PagePoolException>(() => pool.RecyclePage(stale)); // its own pool still refuses it
        Assert.Contains("recycled twice", ex.Message);

        RuntimePagePool next = Create(poolSize: 4, configure: o => o.Name = "next");
        Page mine = next.AllocPage();
        ex = Assert.Throws<PagePoolException>(() => next.RecyclePage(stale)); // any other pool refuses it
        Assert.Contains("destroyed", ex.Message);
        Assert.Contains("'next'", ex.Message);
        Assert.Equal(1, next.PagesInUse);
        next.RecyclePage(mine);
        AssertHandsOutExactlyPoolSizeDistinctPages(next, 4);
    }

    [Fact]
    public void An_id_with_another_generation_does_not_resolve()
    {
        RuntimePagePool pool = Create(poolSize: 2);
        Page page = pool.AllocPage();
        int poolId = page.PoolId;
        int otherGeneration = poolId ^ (1 << PagePoolRegistry.IndexBits);

        Assert.Same(page.Core, PagePoolRegistry.Find(poolId));
        Assert.Null(PagePoolRegistry.Find(otherGeneration));
        Assert.Null(PagePoolRegistry.Find(0));

        pool.RecyclePage(page);
        pool.DestroyPagePool();
        Assert.Null(PagePoolRegistry.Find(poolId));
    }

    [Fact]
    public void A_full_table_refuses_a_pool_and_reuses_an_index_first_in_first_out_with_a_new_generation()
    {
        var table = new PagePoolRegistry.PoolTable(capacity: 3);
        RuntimePagePool pool = Create(poolSize: 1);
        PagePoolCore core = pool.AllocPage().Core!;
        int a = table.Register(core, "a"), b = table.Register(core, "b"), c = table.Register(core, "c");

        Assert.Equal(new[] { 1, 2, 3 }, new[] { a, b, c });
        Assert.Equal(3, table.Count);
        var ex = Assert.Throws<InvalidOperationException>(() => table.Register(core, "d"));
        Assert.Contains("'d'", ex.Message);
        Assert.Contains("DestroyPagePool()", ex.Message);

        table.Unregister(b);
        table.Unregister(a);
        table.Unregister(b); // twice, or an unknown id: ignored
        table.Unregister(0);
        Assert.Null(table.Find(a));
        Assert.Same(core, table.Find(c));

        int b2 = table.Register(core, "b2"); // the first index given back comes back first, one generation on
        int a2 = table.Register(core, "a2");
        Assert.Equal((1 << PagePoolRegistry.IndexBits) | 2, b2);
        Assert.Equal((1 << PagePoolRegistry.IndexBits) | 1, a2);
        Assert.Null(table.Find(b));            // a stale id of the index's former pool does not resolve
        Assert.Same(core, table.Find(b2));
    }

    [Fact]
    public void Generations_wrap_within_the_22_bits_a_page_holds()
    {
        var table = new PagePoolRegistry.PoolTable(capacity: 1);
        RuntimePagePool pool = Create(poolSize: 1);
        PagePoolCore core = pool.AllocPage().Core!;
        int id = 0;
        for (int i = 0; i < 70; i++)
        {
            id = table.Register(core, "p");
            Assert.InRange(id, 1, (1 << PagePoolRegistry.IdBits) - 1);
            Assert.Equal(1, id & ((1 << PagePoolRegistry.IndexBits) - 1));
            table.Unregister(id);
        }
        Assert.Equal(((70 - 1) % 64) << PagePoolRegistry.IndexBits | 1, id);
    }

    [Fact]
    public void An_unreachable_pool_with_no_page_out_is_destroyed_by_its_finalizer_and_leaves_the_registry()
    {
        int poolId = CreateAndAbandon(keepOnePage: false, out _);
        CollectAndFinalize();

        Assert.Null(PagePoolRegistry.Find(poolId));
    }

    [Fact]
    public void An_unreachable_pool_with_a_page_out_keeps_that_page_valid()
    {
        int poolId = CreateAndAbandon(keepOnePage: true, out Page held);
        CollectAndFinalize();

        PagePoolCore? core = PagePoolRegistry.Find(poolId);
        Assert.NotNull(core);                   // a page is still out: the engine and its memory stay
        Assert.True(core!.IsDestroyed);         // but the pool was destroyed: its idle pages are released
        Assert.Equal(1, core.PagesInUse);
        Assert.Equal(7, core.GetStats().RecycleReleased);
        held.Span.Fill(9);                      // the held page's memory is still the pool's
        Assert.Equal(9, held.Memory.Span[4095]);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int CreateAndAbandon(bool keepOnePage, out Page held)
    {
        RuntimePagePool pool = Create(poolSize: 8);
        var pages = new Page[8];
        pool.AllocPages(pages);
        for (int i = keepOnePage ? 1 : 0; i < pages.Length; i++)
        {
            pool.RecyclePage(pages[i]);
        }
        held = keepOnePage ? pages[0] : default;
        return pages[0].PoolId;
    }

    private static void CollectAndFinalize()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    [Fact]
    public void A_copy_kept_from_an_earlier_hand_out_is_refused_while_the_page_is_out_again()
    {
        RuntimePagePool pool = Create(poolSize: 1);
        Page first = pool.AllocPage();
        Page kept = first;                       // a copy the user should not keep
        pool.RecyclePage(first);
        Page second = pool.AllocPage();          // the same page, handed out again
        Assert.Equal(first.Id, second.Id);
        Assert.NotEqual(kept, second);           // a new hand-out is a new handle
        Assert.Equal((kept.Generation + 1) & 0xFFFF, second.Generation);

        var ex = Assert.Throws<PagePoolException>(() => pool.RecyclePage(kept));
        Assert.Contains("earlier hand-out", ex.Message);
        RunOnOtherThread(() => Assert.Throws<PagePoolException>(() => pool.RecyclePage(kept)));
        Assert.Throws<PagePoolException>(() => pool.RecyclePages(new[] { kept }));
        Assert.Equal(1, pool.PagesInUse);        // the rightful holder still has it, and can give it back

        RunOnOtherThread(() => pool.RecyclePage(second));
        Assert.Equal(0, pool.PagesInUse);
        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 1);
    }

    [Theory]
    [InlineData(0x7FFF_FFFF_F000L)] // the top of x64 user space (47 bits)
    [InlineData(0xFFFF_8765_4000L)] // near the top of arm64 user space (48-bit virtual addresses), where mmap places memory
    public void The_generation_bits_leave_every_user_space_address_intact(long address)
    {
        Page page = Page.Create(Page.PoolBits(1), (nint)address, 3, 4096, 0xFFFF);
        Assert.Equal((nint)address, page.Address);
        Assert.Equal(0xFFFF, page.Generation);
        Assert.Equal(3, page.Id);
    }

    [Fact]
    public void A_late_duplicate_ring_entry_is_dropped_after_thousands_of_hand_outs_of_its_page()
    {
        // Two threads racing to recycle the same page can both pass the check and leave two ring entries. The owner
        // takes the first; the second may wait in the ring while the owner cycles the page through its cache. It must
        // still be told from the page's current hand-out: 4,096 hand-outs later a 12-bit generation would match.
        RuntimePagePool pool = Create(poolSize: 1);
        Page first = pool.AllocPage();
        PagePoolCore core = first.Core!;
        int duplicate = core.Token(first.Id, first.Generation);
        RunOnOtherThread(() => pool.RecyclePage(first));        // the first entry
        Page page = pool.AllocPage();                            // refill takes it back and hands the page out again
        Assert.Equal(1, core.TryRecycleToRing(new[] { duplicate })); // what the racing second recycle leaves
        for (int i = 0; i < 4095; i++)
        {
            pool.RecyclePageDirect(page);
            page = pool.AllocPage();
        }
        Assert.Equal((first.Generation + 4096) & 0xFFFF, page.Generation);

        Assert.False(pool.TryAllocPage(out Page again));        // the refill meets the duplicate and drops it
        Assert.True(again.IsDefault);
        Assert.Equal(1, pool.PagesInUse);
        pool.RecyclePage(page);
        Assert.Equal(0, pool.PagesInUse);
        AssertHandsOutExactlyPoolSizeDistinctPages(pool, 1);
    }

    [Fact]
    public void Generations_wrap_without_losing_track_on_either_path()
    {
        RuntimePagePool pool = Create(poolSize: 1);
        for (int i = 0; i < 70_000; i++)         // past 65,536 hand-outs of the one page (and 4,096, the most a ring entry of the largest pools keeps)
        {
            Page page = pool.AllocPage();
            if (i % 5_001 == 1)
            {
                RunOnOtherThread(() => pool.RecyclePage(page)); // the ring, now and then
            }
            else
            {
                pool.RecyclePage(page);
            }
        }
        Page last = pool.AllocPage();
        pool.RecyclePage(last);
        Assert.Throws<PagePoolException>(() => pool.RecyclePage(last));
        Assert.Equal(0, pool.PagesInUse);
    }
}
