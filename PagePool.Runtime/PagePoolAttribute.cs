using System;

namespace PagePool;

/// <summary>
/// Declares a page pool on a <see langword="partial"/> class: the PagePool source generator writes the
/// pool's allocation and recycling members into that class, with every argument folded into constants.
/// </summary>
/// <remarks>
/// <para>Invalid arguments are compile-time errors (PP0002–PP0004); the class must be partial (PP0001),
/// non-static, non-generic and not nested in a generic type (PP0005).</para>
/// <para>The attribute only carries data; it is safe to read from any thread.</para>
/// </remarks>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class PagePoolAttribute : Attribute
{
    /// <summary>Declares a pool of <paramref name="poolSize"/> pages of <paramref name="pageSize"/> bytes.</summary>
    /// <param name="pageSize">Bytes per page: a power of two from 256 bytes to 2 MiB.</param>
    /// <param name="poolSize">The most pages that can exist at once: 1 to 1,048,576.</param>
    public PagePoolAttribute(int pageSize, int poolSize)
    {
        PageSize = pageSize;
        PoolSize = poolSize;
    }

    /// <summary>Bytes per page: a power of two from 256 bytes to 2 MiB.</summary>
    public int PageSize { get; }

    /// <summary>The most pages that can exist at once (a hard cap, as the kernel's in-flight limit).</summary>
    public int PoolSize { get; }

    /// <summary>Where page memory lives. Default <see cref="PageMemoryKind.Pinned"/>.</summary>
    public PageMemoryKind Memory { get; set; } = PageMemoryKind.Pinned;

    /// <summary>Entries in the owner's lock-free cache (the kernel's alloc cache). Default 128; 1 to 4096.</summary>
    public int CacheSize { get; set; } = PagePoolDefaults.CacheSize;

    /// <summary>
    /// Pages moved from the return ring into the cache at once. Default 64; 1 to <see cref="CacheSize"/>. A refill that
    /// finds fewer in the ring also creates a page for the caller while fewer than poolSize exist, so a pool whose pages
    /// are recycled on other threads keeps about this many beyond those in flight.
    /// </summary>
    public int RefillBatch { get; set; } = PagePoolDefaults.RefillBatch;

    /// <summary>Bytes reserved at the start of each page before the data a device writes. Default 0; less than the page size.</summary>
    public int Headroom { get; set; }

    /// <summary>The most bytes a device writes after <see cref="Headroom"/>. Default 0, meaning the page size minus the headroom.</summary>
    public int MaxLength { get; set; }

    /// <summary>Zero the <see cref="MaxLength"/> bytes after <see cref="Headroom"/> when a page is recycled, off the allocation fast path.</summary>
    public bool ClearOnRecycle { get; set; }

    /// <summary>Generate <c>AllocFragment(int)</c>: several fragments share one page, recycled with its last fragment.</summary>
    public bool Fragments { get; set; }

    /// <summary>Record where pages were allocated, to report the ones that are never returned. Default <see cref="PageLeakTracking.Off"/>.</summary>
    public PageLeakTracking LeakTracking { get; set; } = PageLeakTracking.Off;
}

/// <summary>The defaults and limits shared by the attribute, <see cref="PagePoolOptions"/> and the generator.</summary>
public static class PagePoolDefaults
{
    /// <summary>Default owner-cache entries (the kernel's <c>PP_ALLOC_CACHE_SIZE</c>).</summary>
    public const int CacheSize = Shared.PagePoolRules.DefaultCacheSize;
    /// <summary>Default refill batch (the kernel's <c>PP_ALLOC_CACHE_REFILL</c>).</summary>
    public const int RefillBatch = Shared.PagePoolRules.DefaultRefillBatch;
    /// <summary>Smallest page size.</summary>
    public const int MinPageSize = Shared.PagePoolRules.MinPageSize;
    /// <summary>Largest page size (2 MiB).</summary>
    public const int MaxPageSize = Shared.PagePoolRules.MaxPageSize;
    /// <summary>Largest pool.</summary>
    public const int MaxPoolSize = Shared.PagePoolRules.MaxPoolSize;
    /// <summary>Largest owner cache.</summary>
    public const int MaxCacheSize = Shared.PagePoolRules.MaxCacheSize;
    /// <summary>With <see cref="PageLeakTracking.Sampled"/>, one allocation in this many is tracked.</summary>
    public const int LeakSampleInterval = Shared.PagePoolRules.LeakSampleInterval;
}
