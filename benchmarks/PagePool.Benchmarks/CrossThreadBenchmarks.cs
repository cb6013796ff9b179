using System;
using System.Buffers;
using System.Runtime.InteropServices;
using System.Threading;
using BenchmarkDotNet.Attributes;
using DotNetty.Buffers;

namespace PagePool.Benchmarks;

/// <summary>
/// Scenario (c): rent on one thread, return on another. The benchmark thread takes a buffer, writes a byte and
/// hands it through a bounded SPSC ring to a dedicated consumer thread, which returns it to the pool from there.
/// Each invocation sends a batch of <see cref="Items"/> and waits until the consumer has returned every one, so the
/// time per pair is end to end: rent, handoff, cross-thread return, and whatever the pool makes the next rent pay.
/// </summary>
[MemoryDiagnoser]
public unsafe class CrossThreadBenchmarks
{
    private const int Items = 1024;
    private const int RingCapacity = 256;

    private Handoff? _handoff;
    private PinnedBlockQueue _kestrel = null!;
    private RuntimePagePool _runtime = null!;
    private BenchPagePool _generated = null!;
    private byte[] _floorPage = null!;

    private Handoff<byte[], ArrayPoolReturn> _arrayPool = null!;
    private Handoff<byte[], KestrelReturn> _kestrelHandoff = null!;
    private Handoff<IByteBuffer, NettyRelease> _netty = null!;
    private Handoff<byte[], Drop<byte[]>> _newArray = null!;
    private Handoff<nint, NativeFree> _native = null!;
    private Handoff<nint, Drop<nint>> _floor = null!;
    private Handoff<Page, Drop<Page>> _pageFloor = null!;
    private Page _floorHandle;
    private Handoff<Page, RuntimeRecycle> _runtimeHandoff = null!;
    private Handoff<Page, GeneratedRecycle> _generatedHandoff = null!;

    [GlobalSetup(Target = nameof(ArrayPoolShared))]
    public void SetupArrayPool() => _handoff = _arrayPool = new(RingCapacity, default);

    [GlobalSetup(Target = nameof(KestrelPinnedQueue))]
    public void SetupKestrel()
    {
        _kestrel = new PinnedBlockQueue(prefill: RingCapacity);
        _handoff = _kestrelHandoff = new(RingCapacity, new KestrelReturn(_kestrel));
    }

    [GlobalSetup(Target = nameof(DotNettyPooled))]
    public void SetupNetty() => _handoff = _netty = new(RingCapacity, default);

    [GlobalSetup(Target = nameof(NewArray))]
    public void SetupNewArray() => _handoff = _newArray = new(RingCapacity, default);

    [GlobalSetup(Target = nameof(NativeAligned))]
    public void SetupNative() => _handoff = _native = new(RingCapacity, default);

    [GlobalSetup(Target = nameof(HandoffOnly))]
    public void SetupFloor()
    {
        _floorPage = GC.AllocateUninitializedArray<byte>(Sizes.Buffer, pinned: true);
        _handoff = _floor = new(RingCapacity, default);
    }

    [GlobalSetup(Target = nameof(HandoffPageOnly))]
    public void SetupPageFloor()
    {
        _runtime = new RuntimePagePool(new PagePoolOptions { PageSize = Sizes.Buffer, PoolSize = Sizes.PoolSize, Name = "bench" });
        _floorHandle = _runtime.AllocPage(); // one page, sent over and over: the handoff of a Page, no pool work
        _handoff = _pageFloor = new(RingCapacity, default);
    }

    [GlobalSetup(Target = nameof(RuntimePool))]
    public void SetupRuntime()
    {
        _runtime = new RuntimePagePool(new PagePoolOptions { PageSize = Sizes.Buffer, PoolSize = Sizes.PoolSize, Name = "bench" });
        _handoff = _runtimeHandoff = new(RingCapacity, new RuntimeRecycle(_runtime));
    }

    [GlobalSetup(Target = nameof(GeneratedPool))]
    public void SetupGenerated()
    {
        _generated = new BenchPagePool();
        _handoff = _generatedHandoff = new(RingCapacity, new GeneratedRecycle(_generated));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _handoff?.Dispose();
        if (!_floorHandle.IsDefault)
        {
            _runtime.RecyclePage(_floorHandle);
        }
        _runtime?.DestroyPagePool();
        _generated?.DestroyPagePool();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Items, Description = "ArrayPool<byte>.Shared")]
    public void ArrayPoolShared()
    {
        ArrayPool<byte> pool = ArrayPool<byte>.Shared;
        Handoff<byte[], ArrayPoolReturn> handoff = _arrayPool;
        for (int i = 0; i < Items; i++)
        {
            byte[] buffer = pool.Rent(Sizes.Buffer);
            buffer[0] = (byte)i;
            handoff.Send(buffer);
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "Kestrel-style ConcurrentQueue<pinned byte[]>")]
    public void KestrelPinnedQueue()
    {
        PinnedBlockQueue pool = _kestrel;
        Handoff<byte[], KestrelReturn> handoff = _kestrelHandoff;
        for (int i = 0; i < Items; i++)
        {
            byte[] buffer = pool.Rent();
            buffer[0] = (byte)i;
            handoff.Send(buffer);
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "DotNetty PooledByteBufferAllocator")]
    public void DotNettyPooled()
    {
        IByteBufferAllocator allocator = PooledByteBufferAllocator.Default;
        Handoff<IByteBuffer, NettyRelease> handoff = _netty;
        for (int i = 0; i < Items; i++)
        {
            IByteBuffer buffer = allocator.Buffer(Sizes.Buffer);
            buffer.SetByte(0, i);
            handoff.Send(buffer);
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "new byte[4096]")]
    public void NewArray()
    {
        Handoff<byte[], Drop<byte[]>> handoff = _newArray;
        for (int i = 0; i < Items; i++)
        {
            byte[] buffer = new byte[Sizes.Buffer];
            buffer[0] = (byte)i;
            handoff.Send(buffer);
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "NativeMemory.AlignedAlloc/AlignedFree")]
    public void NativeAligned()
    {
        Handoff<nint, NativeFree> handoff = _native;
        for (int i = 0; i < Items; i++)
        {
            byte* buffer = (byte*)NativeMemory.AlignedAlloc(Sizes.Buffer, Sizes.Buffer);
            buffer[0] = (byte)i;
            handoff.Send((nint)buffer);
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "floor: SPSC handoff only, no pool")]
    public void HandoffOnly()
    {
        Handoff<nint, Drop<nint>> handoff = _floor;
        byte[] page = _floorPage;
        fixed (byte* p = page)
        {
            for (int i = 0; i < Items; i++)
            {
                p[0] = (byte)i;
                handoff.Send((nint)p);
            }
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "floor: SPSC handoff of a Page (16 B), no pool")]
    public void HandoffPageOnly()
    {
        Handoff<Page, Drop<Page>> handoff = _pageFloor;
        Page page = _floorHandle;
        for (int i = 0; i < Items; i++)
        {
            page.Span[0] = (byte)i;
            handoff.Send(page);
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "RuntimePagePool (RecyclePage -> return lane)")]
    public void RuntimePool()
    {
        RuntimePagePool pool = _runtime;
        Handoff<Page, RuntimeRecycle> handoff = _runtimeHandoff;
        for (int i = 0; i < Items; i++)
        {
            Page page = pool.AllocPage();
            page.Span[0] = (byte)i;
            handoff.Send(page);
        }
        handoff.WaitUntilReturned();
    }

    [Benchmark(OperationsPerInvoke = Items, Description = "[PagePool] generated (RecyclePage -> return lane)")]
    public void GeneratedPool()
    {
        BenchPagePool pool = _generated;
        Handoff<Page, GeneratedRecycle> handoff = _generatedHandoff;
        for (int i = 0; i < Items; i++)
        {
            Page page = pool.AllocPage();
            page.Span[0] = (byte)i;
            handoff.Send(page);
        }
        handoff.WaitUntilReturned();
    }

    // ---------------------------------------------------------------- what the consumer does with each buffer

    private readonly struct ArrayPoolReturn : IReturn<byte[]>
    {
        public void Return(byte[] item) => ArrayPool<byte>.Shared.Return(item);
    }

    private readonly struct KestrelReturn(PinnedBlockQueue pool) : IReturn<byte[]>
    {
        public void Return(byte[] item) => pool.Return(item);
    }

    private readonly struct NettyRelease : IReturn<IByteBuffer>
    {
        public void Return(IByteBuffer item) => item.Release();
    }

    private readonly struct NativeFree : IReturn<nint>
    {
        public void Return(nint item) => NativeMemory.AlignedFree((void*)item);
    }

    private readonly struct Drop<T> : IReturn<T>
    {
        public void Return(T item)
        {
        }
    }

    private readonly struct RuntimeRecycle(RuntimePagePool pool) : IReturn<Page>
    {
        public void Return(Page item) => pool.RecyclePage(item);
    }

    private readonly struct GeneratedRecycle(BenchPagePool pool) : IReturn<Page>
    {
        public void Return(Page item) => pool.RecyclePage(item);
    }
}

/// <summary>What the consumer thread does with a buffer it received. A struct, so each peer's call is direct.</summary>
internal interface IReturn<T>
{
    void Return(T item);
}

internal abstract class Handoff : IDisposable
{
    public abstract void Dispose();
}

/// <summary>
/// A dedicated consumer thread fed through an <see cref="SpscRing{T}"/>: it returns every item with
/// <typeparamref name="TReturn"/> and publishes how many it returned, so the producer can wait for a whole batch.
/// Both sides spin (yielding, never sleeping) because the consumer must react within nanoseconds.
/// </summary>
internal sealed class Handoff<T, TReturn> : Handoff where TReturn : struct, IReturn<T>
{
    private readonly SpscRing<T> _ring;
    private readonly Thread _thread;
    private TReturn _return;
    private long _sent;
    private PaddedCounter _returned;
    private volatile bool _stop;

    public Handoff(int capacity, TReturn returner)
    {
        _ring = new SpscRing<T>(capacity);
        _return = returner;
        _thread = new Thread(Consume) { IsBackground = true, Name = "handoff consumer" };
        _thread.Start();
    }

    public void Send(T item)
    {
        if (!_ring.TryEnqueue(item))
        {
            SendSlow(item);
        }
        _sent++;
    }

    private void SendSlow(T item)
    {
        SpinWait spin = default;
        while (!_ring.TryEnqueue(item))
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    public void WaitUntilReturned()
    {
        SpinWait spin = default;
        while (Volatile.Read(ref _returned.Value) < _sent)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void Consume()
    {
        SpinWait spin = default;
        long returned = 0;
        while (!_stop)
        {
            if (_ring.TryDequeue(out T item))
            {
                _return.Return(item);
                Volatile.Write(ref _returned.Value, ++returned);
                spin.Reset();
            }
            else
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    public override void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}

/// <summary>A counter alone on its cache line.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedCounter
{
    [FieldOffset(64)] public long Value;
}
