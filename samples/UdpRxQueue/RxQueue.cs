using System;
using System.Threading;
using PagePool;

namespace UdpRxQueue;

/// <summary>
/// The receive queue's page pool: 2 KiB pages (a full-MTU datagram each, like a NIC driver's half-page buffers),
/// at most 1024 of them. The generator adds AllocPage, TryAllocPage, RecyclePageDirect, RecyclePage, PagesInUse,
/// GetPageStats and DestroyPagePool, with every size folded into constants.
/// </summary>
/// <remarks>Pages are pinned, so their <see cref="Page.Address"/> goes straight into recvmmsg's iovecs.</remarks>
[PagePool(2048, 1024)]
internal sealed partial class RxQueue
{
    private long _pagesCreated;

    /// <summary>Pages that entered service (the slow path ran): stays flat once the pool is warm.</summary>
    public long PagesCreated => Interlocked.Read(ref _pagesCreated);

    // The kernel's page_pool would DMA-map here; a user-space transport would register the page with io_uring or RIO.
    partial void OnPageCreated(Page page) => Interlocked.Increment(ref _pagesCreated);
}
