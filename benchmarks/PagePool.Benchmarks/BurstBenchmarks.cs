using System;
using System.Buffers;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using DotNetty.Buffers;

namespace PagePool.Benchmarks;

/// <summary>
/// Scenario (b): an RX budget. 64 buffers are taken (one byte written into each), then all 64 are returned, as a
/// NAPI poll fills a batch of descriptors before the stack consumes them. Reported per rent + return pair.
/// </summary>
[MemoryDiagnoser]
public unsafe class BurstBenchmarks
{
    private const int Burst = 64;
    private const int Bursts = 16;
    private const int Pairs = Burst * Bursts;

    private readonly byte[][] _arrays = new byte[Burst][];
    private readonly IByteBuffer[] _nettyBuffers = new IByteBuffer[Burst];
    private readonly nint[] _pointers = new nint[Burst];
    private readonly int[] _indices = new int[Burst];
    private readonly Page[] _pages = new Page[Burst];

    private PinnedBlockQueue _kestrel = null!;
    private IByteBufferAllocator _netty = null!;
    private ArrayStackFloor _floor = null!;
    private RuntimePagePool _runtime = null!;
    private BenchPagePool _generated = null!;

    [GlobalSetup]
    public void Setup()
    {
        _kestrel = new PinnedBlockQueue(prefill: Burst);
        _netty = PooledByteBufferAllocator.Default;
        _floor = new ArrayStackFloor(Sizes.PoolSize);
        _runtime = new RuntimePagePool(new PagePoolOptions { PageSize = Sizes.Buffer, PoolSize = Sizes.PoolSize, Name = "bench" });
        _generated = new BenchPagePool();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _runtime.DestroyPagePool();
        _generated.DestroyPagePool();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Pairs, Description = "ArrayPool<byte>.Shared")]
    public void ArrayPoolShared()
    {
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        byte[][] held = _arrays;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                byte[] buffer = pool.Rent(Sizes.Buffer);
                buffer[0] = (byte)i;
                held[i] = buffer;
            }
            for (int i = 0; i < held.Length; i++)
            {
                pool.Return(held[i]);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "Kestrel-style ConcurrentQueue<pinned byte[]>")]
    public void KestrelPinnedQueue()
    {
        PinnedBlockQueue pool = _kestrel;
        byte[][] held = _arrays;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                byte[] buffer = pool.Rent();
                buffer[0] = (byte)i;
                held[i] = buffer;
            }
            for (int i = 0; i < held.Length; i++)
            {
                pool.Return(held[i]);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "DotNetty PooledByteBufferAllocator")]
    public void DotNettyPooled()
    {
        IByteBufferAllocator allocator = _netty;
        IByteBuffer[] held = _nettyBuffers;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                IByteBuffer buffer = allocator.Buffer(Sizes.Buffer);
                buffer.SetByte(0, i);
                held[i] = buffer;
            }
            for (int i = 0; i < held.Length; i++)
            {
                held[i].Release();
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "new byte[4096]")]
    public void NewArray()
    {
        byte[][] held = _arrays;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                byte[] buffer = new byte[Sizes.Buffer];
                buffer[0] = (byte)i;
                held[i] = buffer;
            }
            Array.Clear(held); // "return": drop the references, the GC reclaims them
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NativeMemory.AlignedAlloc/AlignedFree")]
    public void NativeAligned()
    {
        nint[] held = _pointers;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                byte* buffer = (byte*)NativeMemory.AlignedAlloc(Sizes.Buffer, Sizes.Buffer);
                buffer[0] = (byte)i;
                held[i] = (nint)buffer;
            }
            for (int i = 0; i < held.Length; i++)
            {
                NativeMemory.AlignedFree((void*)held[i]);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "floor: array stack pop/push")]
    public void ArrayStack()
    {
        ArrayStackFloor floor = _floor;
        int[] held = _indices;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                int index = floor.Pop();
                floor.PageSpan(index)[0] = (byte)i;
                held[i] = index;
            }
            for (int i = 0; i < held.Length; i++)
            {
                floor.Push(held[i]);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "RuntimePagePool RecyclePageDirect")]
    public void RuntimeDirect()
    {
        RuntimePagePool pool = _runtime;
        Page[] held = _pages;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                Page page = pool.AllocPage();
                page.Span[0] = (byte)i;
                held[i] = page;
            }
            for (int i = 0; i < held.Length; i++)
            {
                pool.RecyclePageDirect(held[i]);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "RuntimePagePool AllocPages/RecyclePages")]
    public void RuntimeBulk()
    {
        RuntimePagePool pool = _runtime;
        Span<Page> held = _pages;
        for (int b = 0; b < Bursts; b++)
        {
            int n = pool.AllocPages(held);
            for (int i = 0; i < n; i++)
            {
                held[i].Span[0] = (byte)i;
            }
            pool.RecyclePages(held[..n]);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "[PagePool] generated RecyclePageDirect")]
    public void GeneratedDirect()
    {
        BenchPagePool pool = _generated;
        Page[] held = _pages;
        for (int b = 0; b < Bursts; b++)
        {
            for (int i = 0; i < held.Length; i++)
            {
                Page page = pool.AllocPage();
                page.Span[0] = (byte)i;
                held[i] = page;
            }
            for (int i = 0; i < held.Length; i++)
            {
                pool.RecyclePageDirect(held[i]);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "[PagePool] generated AllocPages/RecyclePages")]
    public void GeneratedBulk()
    {
        BenchPagePool pool = _generated;
        Span<Page> held = _pages;
        for (int b = 0; b < Bursts; b++)
        {
            int n = pool.AllocPages(held);
            for (int i = 0; i < n; i++)
            {
                held[i].Span[0] = (byte)i;
            }
            pool.RecyclePages(held[..n]);
        }
    }
}
