namespace PagePool;

/// <summary>
/// A snapshot of a pool's counters, named after the kernel's <c>page_pool</c> stats. Each allocation counts
/// in exactly one of <see cref="AllocFast"/>, <see cref="AllocRefill"/> and <see cref="AllocSlow"/>.
/// </summary>
/// <param name="AllocFast">Pages handed out straight from the owner's cache.</param>
/// <param name="AllocSlow">Pages handed out by the slow path: a page created (or re-created after release) for the caller.</param>
/// <param name="AllocEmpty">Times the cache was empty and the return ring had nothing to refill it.</param>
/// <param name="AllocRefill">Pages handed out after the cache was refilled from the return lane and ring.</param>
/// <param name="RecycleCached">Pages recycled straight into the owner's cache.</param>
/// <param name="RecycleCacheFull">Owner recycles that found the cache full and went on to the ring.</param>
/// <param name="RecycleRing">Pages recycled into the return ring or the return lane (from any thread; the kernel counts its ptr_ring here).</param>
/// <param name="RecycleRingFull">Recycles that found the ring full; the page was released instead, never lost.</param>
/// <param name="RecycleReleased">Pages released from service (ring full, destroy); <c>OnPageReleased</c> ran for each.</param>
/// <param name="PagesInUse">Pages held outside the pool at the time of the snapshot.</param>
/// <param name="PagesCreated">Pages that entered service (<c>OnPageCreated</c> ran for each), counting re-creations after release.</param>
/// <param name="BytesReserved">Bytes of page memory the pool holds now (carved lazily, never more than PoolSize × PageSize plus alignment).</param>
/// <param name="AllocFailed">Page creations that failed (the memory could not be had, or <c>OnPageCreated</c> threw): the page was not lent and not counted, its slot and memory wait for the next creation, and the exception went on to the caller.</param>
/// <param name="ReleaseFailed">Releases whose <c>OnPageReleased</c> threw: the page left service all the same, and the first failure of the call went on to its caller.</param>
/// <param name="MemoryKind">The memory kind in use: <see cref="PageMemoryKind.Native"/> when huge pages were asked for but are not available.</param>
public readonly record struct PagePoolStats(
    long AllocFast,
    long AllocSlow,
    long AllocEmpty,
    long AllocRefill,
    long RecycleCached,
    long RecycleCacheFull,
    long RecycleRing,
    long RecycleRingFull,
    long RecycleReleased,
    long PagesInUse,
    long PagesCreated,
    long BytesReserved,
    PageMemoryKind MemoryKind,
    long AllocFailed = 0,
    long ReleaseFailed = 0);
