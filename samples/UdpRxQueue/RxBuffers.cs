using System;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PagePool;

namespace UdpRxQueue;

/// <summary>
/// A receive buffer in flight: where the kernel writes (<see cref="Address"/>, <see cref="Capacity"/>) and what
/// gives it back. Only the fields of the buffer kind in use are set.
/// </summary>
internal struct RxBuffer
{
    public nint Address;
    public int Capacity;
    public int Length;      // bytes received
    public bool Truncated;
    public Page Page;       // PagePool
    public byte[]? Array;   // ArrayPool / new byte[]
    public GCHandle Pin;    // arrays move: pinned while the kernel may write

    public readonly unsafe ReadOnlySpan<byte> Data => Array is not null ? new(Array, 0, Length) : new((void*)Address, Length);
}

/// <summary>
/// Where the receiver gets its buffers. A struct per kind, so the receive loop is specialized for each and the
/// comparison measures the buffers, not an interface call.
/// </summary>
internal interface IRxBuffers
{
    string Name { get; }

    /// <summary>Receive thread (the owner context): a buffer to post, or false when none is free (backpressure).</summary>
    bool TryTake(out RxBuffer buffer);

    /// <summary>Receive thread: gives back a buffer it did not hand on (dropped, or left posted at the end).</summary>
    void ReturnDirect(ref RxBuffer buffer);

    /// <summary>Processing thread: gives back a buffer once the datagram in it has been handled.</summary>
    void ReturnShared(ref RxBuffer buffer);

    /// <summary>Buffers taken and not given back (pages in use), or -1 where the kind cannot tell.</summary>
    long InUse { get; }
}

/// <summary>The pool as the page source of an io_uring provided-buffer ring: direct calls, no dispatch per page.</summary>
internal readonly struct RxPages(RxQueue queue) : PagePool.IoUring.IPageSource
{
    public int PoolSize => RxQueue.PoolSize;
    public int AllocPages(Span<Page> pages) => queue.AllocPages(pages);
    public void RecyclePage([Owned] Page page) => queue.RecyclePage(page);
}

/// <summary>Pages of an <see cref="RxQueue"/>: pinned already, recycled straight to the owner's cache or through the ring.</summary>
internal readonly struct PageBuffers(RxQueue queue) : IRxBuffers
{
    public string Name => "PagePool";

    public long InUse => queue.PagesInUse;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTake(out RxBuffer buffer)
    {
        buffer = default;
        if (!queue.TryAllocPage(out Page page))
        {
            return false;
        }
        buffer.Page = page;
        buffer.Address = page.Address;
        buffer.Capacity = page.Length;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReturnDirect(ref RxBuffer buffer) => queue.RecyclePageDirect(buffer.Page);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReturnShared(ref RxBuffer buffer) => queue.RecyclePage(buffer.Page);
}

/// <summary>
/// <see cref="ArrayPool{T}.Shared"/> arrays: each must be pinned (a GCHandle) while the kernel may write into it,
/// since the GC moves arrays. Returned from the processing thread, they land in that thread's slots.
/// </summary>
internal readonly struct ArrayPoolBuffers(int size) : IRxBuffers
{
    public string Name => "ArrayPool<byte>.Shared";

    public long InUse => -1;

    public bool TryTake(out RxBuffer buffer)
    {
        buffer = default;
        byte[] array = ArrayPool<byte>.Shared.Rent(size);
        buffer.Array = array;
        buffer.Pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        buffer.Address = buffer.Pin.AddrOfPinnedObject();
        buffer.Capacity = size;
        return true;
    }

    public void ReturnDirect(ref RxBuffer buffer) => ReturnShared(ref buffer);

    public void ReturnShared(ref RxBuffer buffer)
    {
        buffer.Pin.Free();
        ArrayPool<byte>.Shared.Return(buffer.Array!);
    }
}

/// <summary>A fresh <c>new byte[]</c> per datagram, pinned while posted, left to the GC afterwards.</summary>
internal readonly struct NewArrayBuffers(int size) : IRxBuffers
{
    public string Name => "new byte[]";

    public long InUse => -1;

    public bool TryTake(out RxBuffer buffer)
    {
        buffer = default;
        byte[] array = new byte[size];
        buffer.Array = array;
        buffer.Pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        buffer.Address = buffer.Pin.AddrOfPinnedObject();
        buffer.Capacity = size;
        return true;
    }

    public void ReturnDirect(ref RxBuffer buffer) => buffer.Pin.Free();

    public void ReturnShared(ref RxBuffer buffer) => buffer.Pin.Free();
}
