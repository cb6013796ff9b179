using System;
using System.Buffers;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using DotNetty.Buffers;

namespace PagePool.Benchmarks;

/// <summary>
/// Scenario (a): one rent + return pair at a time on the owner thread, the steady state of a receive loop that
/// handles each packet before taking the next. Each pair writes one byte into the buffer it got. Reported per pair.
/// </summary>
[MemoryDiagnoser]
public unsafe class SingleBenchmarks
{
    private const int Pairs = 1024;

    private PinnedBlockQueue _kestrel = null!;
    private IByteBufferAllocator _netty = null!;
    private ArrayStackFloor _floor = null!;
    private RuntimePagePool _runtime = null!;
    private BenchPagePool _generated = null!;
    private byte[]? _lastNew;

    [GlobalSetup]
    public void Setup()
    {
        _kestrel = new PinnedBlockQueue(prefill: 64);
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
        for (int i = 0; i < Pairs; i++)
        {
            byte[] buffer = pool.Rent(Sizes.Buffer);
            buffer[0] = (byte)i;
            pool.Return(buffer);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "Kestrel-style ConcurrentQueue<pinned byte[]>")]
    public void KestrelPinnedQueue()
    {
        PinnedBlockQueue pool = _kestrel;
        for (int i = 0; i < Pairs; i++)
        {
            byte[] buffer = pool.Rent();
            buffer[0] = (byte)i;
            pool.Return(buffer);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "DotNetty PooledByteBufferAllocator")]
    public void DotNettyPooled()
    {
        IByteBufferAllocator allocator = _netty;
        for (int i = 0; i < Pairs; i++)
        {
            IByteBuffer buffer = allocator.Buffer(Sizes.Buffer);
            buffer.SetByte(0, i);
            buffer.Release();
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "new byte[4096]")]
    public void NewArray()
    {
        for (int i = 0; i < Pairs; i++)
        {
            byte[] buffer = new byte[Sizes.Buffer];
            buffer[0] = (byte)i;
            _lastNew = buffer; // escapes: the allocation (and the GC work it causes) cannot be elided
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "NativeMemory.AlignedAlloc/AlignedFree")]
    public void NativeAligned()
    {
        for (int i = 0; i < Pairs; i++)
        {
            byte* buffer = (byte*)NativeMemory.AlignedAlloc(Sizes.Buffer, Sizes.Buffer);
            buffer[0] = (byte)i;
            NativeMemory.AlignedFree(buffer);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "floor: array stack pop/push")]
    public void ArrayStack()
    {
        ArrayStackFloor floor = _floor;
        for (int i = 0; i < Pairs; i++)
        {
            int index = floor.Pop();
            floor.PageSpan(index)[0] = (byte)i;
            floor.Push(index);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "RuntimePagePool RecyclePageDirect")]
    public void RuntimeDirect()
    {
        RuntimePagePool pool = _runtime;
        for (int i = 0; i < Pairs; i++)
        {
            Page page = pool.AllocPage();
            page.Span[0] = (byte)i;
            pool.RecyclePageDirect(page);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "RuntimePagePool RecyclePage")]
    public void RuntimeRecycle()
    {
        RuntimePagePool pool = _runtime;
        for (int i = 0; i < Pairs; i++)
        {
            Page page = pool.AllocPage();
            page.Span[0] = (byte)i;
            pool.RecyclePage(page);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "[PagePool] generated RecyclePageDirect")]
    public void GeneratedDirect()
    {
        BenchPagePool pool = _generated;
        for (int i = 0; i < Pairs; i++)
        {
            Page page = pool.AllocPage();
            page.Span[0] = (byte)i;
            pool.RecyclePageDirect(page);
        }
    }

    [Benchmark(OperationsPerInvoke = Pairs, Description = "[PagePool] generated RecyclePage")]
    public void GeneratedRecycle()
    {
        BenchPagePool pool = _generated;
        for (int i = 0; i < Pairs; i++)
        {
            Page page = pool.AllocPage();
            page.Span[0] = (byte)i;
            pool.RecyclePage(page);
        }
    }
}
