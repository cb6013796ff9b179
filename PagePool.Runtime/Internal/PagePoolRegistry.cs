using System;
using System.Collections.Generic;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// Live pools by id, so that a <see cref="Page"/> can name its pool with a 22-bit number instead of an object
/// reference: a Page holds no GC reference, is 16 bytes, and costs no write barrier when it is stored in a queue.
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

    private static readonly PoolTable s_table = new(MaxPools);

    /// <summary>Registers <paramref name="core"/> and returns its pool id (never 0).</summary>
    /// <exception cref="InvalidOperationException">65,535 pools are alive already.</exception>
    public static int Register(PagePoolCore core) => s_table.Register(core, core.Name);

    /// <summary>The live pool with this id, or null (id 0, or a pool already unregistered). Lock-free.</summary>
    public static PagePoolCore? Find(int poolId) => s_table.Find(poolId);

    /// <summary>Unregisters the pool: its id no longer resolves, and its index goes to the back of the reuse queue.</summary>
    public static void Unregister(PagePoolCore core) => s_table.Unregister(core.PoolId);

    /// <summary>
    /// The table behind the registry, with its capacity as a parameter so that tests can fill it and watch indexes
    /// come back with a new generation.
    /// </summary>
    internal sealed class PoolTable
    {
        private const int IndexMask = (1 << IndexBits) - 1;
        private const int GenerationMask = (1 << (IdBits - IndexBits)) - 1;

        private readonly object _lock = new();
        private readonly Queue<int> _freeIndexes = new();
        private readonly int _capacity;
        private Entry?[] _pools = new Entry?[64];
        private byte[] _generations = new byte[64];
        private int _nextIndex = 1; // 0 is never used: pool id 0 is default(Page)

        public PoolTable(int capacity)
        {
            if (capacity is < 1 or > MaxPools)
            {
                throw new ArgumentOutOfRangeException(nameof(capacity));
            }
            _capacity = capacity;
        }

        /// <summary>Pools registered right now.</summary>
        public int Count
        {
            get
            {
                lock (_lock)
                {
                    return _nextIndex - 1 - _freeIndexes.Count;
                }
            }
        }

        public int Register(PagePoolCore core, string name)
        {
            lock (_lock)
            {
                int index;
                if (_nextIndex <= _capacity)
                {
                    index = _nextIndex++;
                }
                else if (!_freeIndexes.TryDequeue(out index))
                {
                    throw new InvalidOperationException(
                        $"Page pool '{name}' cannot be created: {_capacity} page pools are alive already. " +
                        "Call DestroyPagePool() on pools you no longer use; a pool is freed once it is destroyed and its last page came back.");
                }
                if (index >= _pools.Length)
                {
                    int length = Math.Min(_pools.Length * 2, MaxPools + 1);
                    Array.Resize(ref _generations, length);
                    Entry?[] grown = new Entry?[length];
                    Array.Copy(_pools, grown, _pools.Length);
                    Volatile.Write(ref _pools, grown);
                }
                int id = (_generations[index] << IndexBits) | index;
                Volatile.Write(ref _pools[index], new Entry(core, id));
                return id;
            }
        }

        public PagePoolCore? Find(int poolId)
        {
            Entry?[] pools = Volatile.Read(ref _pools);
            int index = poolId & IndexMask;
            Entry? entry = (uint)index < (uint)pools.Length ? Volatile.Read(ref pools[index]) : null;
            return entry is not null && entry.Id == poolId ? entry.Core : null;
        }

        /// <summary>One registration: the id and its pool published together, so a lookup never pairs one with another's.</summary>
        private sealed class Entry(PagePoolCore core, int id)
        {
            public PagePoolCore Core { get; } = core;
            public int Id { get; } = id;
        }

        /// <summary>The pool with this id leaves the table; an id that is not registered is ignored.</summary>
        public void Unregister(int poolId)
        {
            lock (_lock)
            {
                int index = poolId & IndexMask;
                if (index == 0 || index >= _nextIndex || _pools[index] is not { } entry || entry.Id != poolId)
                {
                    return;
                }
                Volatile.Write(ref _pools[index], null);
                _generations[index] = (byte)((_generations[index] + 1) & GenerationMask);
                _freeIndexes.Enqueue(index);
            }
        }
    }
}
