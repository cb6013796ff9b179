using System;
using System.Runtime.CompilerServices;
using PagePool;

namespace JitCheck;

/// <summary>A default-configured generated pool: the loop below is what check-jit.sh disassembles.</summary>
[PagePool(4096, 1024)]
internal sealed partial class RxQueue
{
}

internal static class Program
{
    /// <summary>The owner's steady state: alloc, direct recycle, alloc, recycle on the owner's thread.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long HotLoop(RxQueue pool, int iterations)
    {
        long sum = 0;
        for (int i = 0; i < iterations; i++)
        {
            Page a = pool.AllocPage();
            sum += a.Id;
            pool.RecyclePageDirect(a);
            Page b = pool.AllocPage();
            sum += b.Length;
            pool.RecyclePage(b);
        }
        return sum;
    }

    /// <summary>The same with TryAllocPage (an out parameter that must not cost a write barrier once inlined).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long HotLoopTry(RxQueue pool, int iterations)
    {
        long sum = 0;
        for (int i = 0; i < iterations; i++)
        {
            if (pool.TryAllocPage(out Page page))
            {
                sum += page.Address;
                pool.RecyclePageDirect(page);
            }
        }
        return sum;
    }

    private static int Main()
    {
        var pool = new RxQueue();
        long sum = HotLoop(pool, 1000) + HotLoopTry(pool, 1000);
        for (int i = 0; i < 20; i++)
        {
            sum += HotLoop(pool, 100_000);
            sum += HotLoopTry(pool, 100_000);
        }
        Console.WriteLine($"checksum {sum}, pages in use {pool.PagesInUse}, alloc fast {pool.GetPageStats().AllocFast}");
        return pool.PagesInUse == 0 ? 0 : 1;
    }
}
