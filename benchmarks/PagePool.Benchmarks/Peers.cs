using System;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace PagePool.Benchmarks;

/// <summary>Buffer size every benchmark uses, and the number of buffers a pool may hold.</summary>
internal static class Sizes
{
    public const int Buffer = 4096;
    public const int PoolSize = 1024;
}

/// <summary>
/// Kestrel's <c>PinnedBlockMemoryPool</c> in miniature: 4 KiB blocks, each its own pinned array on the POH, kept in
/// one <see cref="ConcurrentQueue{T}"/>; an empty queue allocates a new block. No per-thread cache.
/// </summary>
internal sealed class PinnedBlockQueue
{
    private readonly ConcurrentQueue<byte[]> _blocks = new();

    public PinnedBlockQueue(int prefill)
    {
        for (int i = 0; i < prefill; i++)
        {
            _blocks.Enqueue(NewBlock());
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte[] Rent() => _blocks.TryDequeue(out byte[]? block) ? block : NewBlock();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(byte[] block) => _blocks.Enqueue(block);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte[] NewBlock() => GC.AllocateUninitializedArray<byte>(Sizes.Buffer, pinned: true);
}

/// <summary>
/// The floor for any pool: a plain stack of page indices over one pinned slab; pop an index, write a byte of
/// its page through a span, push it back. No checks, no counters, not thread-safe.
/// </summary>
internal sealed class ArrayStackFloor
{
    private readonly byte[] _slab;
    private readonly int[] _stack;
    private int _count;

    public ArrayStackFloor(int pages)
    {
        _slab = GC.AllocateUninitializedArray<byte>(pages * Sizes.Buffer, pinned: true);
        _stack = new int[pages];
        for (int i = 0; i < pages; i++)
        {
            _stack[i] = pages - 1 - i;
        }
        _count = pages;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Pop() => _stack[--_count];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(int index) => _stack[_count++] = index;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> PageSpan(int index) => _slab.AsSpan(index * Sizes.Buffer, Sizes.Buffer);
}
