using System;
using System.Collections.Generic;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// Live pools by id, so that a <see cref="Page"/> can name its pool with a 22-bit number instead of an object
/// reference: a Page holds no GC reference, is 16 bytes, and costs no write barrier when it is stored in a queue
/// (the cross-thread benchmark's handoff of a Page went from about 200 to about 40 ns when the reference went).
/// </summary>
/// <remarks>
/// <para>A pool id is an index (low 16 bits, 1..65,535) and a generation (high 6 bits) bumped each time the index is
/// reused, and indexes are reused first in, first out, only once all 65,535 were handed out: a stale page of a pool
/// that is gone does not match the pool that took its index after it until the generation comes round again.</para>
/// <para>A pool stays registered, and so reachable, from its creation until it is destroyed and its last page came
/// back, as the kernel keeps a page_pool until page_pool_destroy and its last inflight page: a Page does not keep its
/// pool alive by itself, the registry does. Thread-safe: registration under a lock, lookups lock-free.</para>
/// </remarks>
internal static class PagePoolRegistry
{
    /// <summary>Bits of a pool id that are the index.</summary>
    public const int IndexBits = 16;

    /// <summary>Bits of a pool id in all (the rest is the generation); <see cref="Page"/> packs it in 22 bits.</summary>
    public const int IdBits = 22;

    /// <summary>Pools that can be alive at once.</summary>
    public const int MaxPools = (1 << IndexBits) - 1;

    private const int IndexMask = (1 << IndexBits) - 1;
    private const int GenerationMask = (1 << (IdBits - IndexBits)) - 1;

    private static readonly object s_lock = new();
    private static readonly Queue<int> s_freeIndexes = new();
    private static PagePoolCore?[] s_pools = new PagePoolCore?[64];
    private static byte[] s_generations = new byte[64];
    private static int s_nextIndex = 1; // 0 is never used: pool id 0 is default(Page)

    /// <summary>Registers <paramref name="core"/> and returns its pool id (never 0).</summary>
    /// <exception cref="InvalidOperationException">65,535 pools are alive already.</exception>
    public static int Register(PagePoolCore core)
    {
        lock (s_lock)
        {
            int index;
            if (s_nextIndex <= MaxPools)
            {
                index = s_nextIndex++;
            }
            else if (!s_freeIndexes.TryDequeue(out index))
            {
                throw new InvalidOperationException(
                    $"Page pool '{core.Name}' cannot be created: {MaxPools} page pools are alive already. " +
                    "Call DestroyPagePool() on pools you no longer use; a pool is freed once it is destroyed and its last page came back.");
            }
            if (index >= s_pools.Length)
            {
                int length = Math.Min(s_pools.Length * 2, MaxPools + 1);
                Array.Resize(ref s_generations, length);
                PagePoolCore?[] grown = new PagePoolCore?[length];
                Array.Copy(s_pools, grown, s_pools.Length);
                Volatile.Write(ref s_pools, grown);
            }
            int generation = s_generations[index];
            s_pools[index] = core;
            return (generation << IndexBits) | index;
        }
    }

    /// <summary>The live pool with this id, or null (id 0, or a pool already unregistered). Lock-free.</summary>
    public static PagePoolCore? Find(int poolId)
    {
        PagePoolCore?[] pools = Volatile.Read(ref s_pools);
        int index = poolId & IndexMask;
        PagePoolCore? core = (uint)index < (uint)pools.Length ? Volatile.Read(ref pools[index]) : null;
        return core is not null && core.PoolId == poolId ? core : null;
    }

    /// <summary>Unregisters the pool: its id no longer resolves, and its index goes to the back of the reuse queue.</summary>
    public static void Unregister(PagePoolCore core)
    {
        lock (s_lock)
        {
            int index = core.PoolId & IndexMask;
            if (!ReferenceEquals(s_pools[index], core))
            {
                return;
            }
            s_pools[index] = null;
            s_generations[index] = (byte)((s_generations[index] + 1) & GenerationMask);
            s_freeIndexes.Enqueue(index);
        }
    }

    /// <summary>Pools registered right now (tests and diagnostics).</summary>
    public static int Count
    {
        get
        {
            lock (s_lock)
            {
                return Math.Min(s_nextIndex - 1, MaxPools) - s_freeIndexes.Count;
            }
        }
    }
}
