namespace PagePool;

/// <summary>Where a pool's page memory lives. Every kind keeps <see cref="Page.Address"/> fixed while the pool lives.</summary>
public enum PageMemoryKind
{
    /// <summary>Slabs on the pinned object heap, carved into pages: the GC never moves them.</summary>
    Pinned = 0,
    /// <summary>Page-aligned native memory (<c>NativeMemory.AlignedAlloc</c>), freed when the pool is destroyed.</summary>
    Native = 1,
    /// <summary>
    /// Linux: 2 MiB-aligned anonymous mappings advised for transparent huge pages. Elsewhere, or if the
    /// mapping fails, the pool falls back to <see cref="Native"/> and <see cref="PagePoolStats.MemoryKind"/> says so.
    /// </summary>
    HugePages = 2,
}

/// <summary>How many allocations record where they happened, so leaked pages can be traced to their allocation site.</summary>
public enum PageLeakTracking
{
    /// <summary>No tracking: nothing is recorded and nothing is paid on the fast path.</summary>
    Off = 0,
    /// <summary>One allocation in <see cref="PagePoolDefaults.LeakSampleInterval"/> records its stack trace (as Netty's detector samples).</summary>
    Sampled = 1,
    /// <summary>Every allocation records its stack trace: for tests and hunting a known leak, not for production.</summary>
    All = 2,
}
