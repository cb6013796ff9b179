using System;

namespace PagePool;

/// <summary>
/// The settings of a <see cref="RuntimePagePool"/>: the same as <see cref="PagePoolAttribute"/>'s arguments,
/// chosen at run time. Validated by <see cref="Validate"/> when the pool is built.
/// </summary>
/// <remarks>Not thread-safe while being filled in; the pool copies what it needs when it is constructed.</remarks>
public sealed class PagePoolOptions
{
    /// <summary>Bytes per page: a power of two from 256 bytes to 2 MiB. Default 4096.</summary>
    public int PageSize { get; set; } = 4096;

    /// <summary>The most pages that can exist at once: 1 to 1,048,576. Default 1024.</summary>
    public int PoolSize { get; set; } = 1024;

    /// <inheritdoc cref="PagePoolAttribute.Memory"/>
    public PageMemoryKind Memory { get; set; } = PageMemoryKind.Pinned;

    /// <inheritdoc cref="PagePoolAttribute.CacheSize"/>
    public int CacheSize { get; set; } = PagePoolDefaults.CacheSize;

    /// <inheritdoc cref="PagePoolAttribute.RefillBatch"/>
    public int RefillBatch { get; set; } = PagePoolDefaults.RefillBatch;

    /// <inheritdoc cref="PagePoolAttribute.Headroom"/>
    public int Headroom { get; set; }

    /// <inheritdoc cref="PagePoolAttribute.MaxLength"/>
    public int MaxLength { get; set; }

    /// <inheritdoc cref="PagePoolAttribute.ClearOnRecycle"/>
    public bool ClearOnRecycle { get; set; }

    /// <summary>Allow <see cref="RuntimePagePool.AllocFragment(int)"/>. Default <see langword="false"/>.</summary>
    public bool Fragments { get; set; }

    /// <inheritdoc cref="PagePoolAttribute.LeakTracking"/>
    public PageLeakTracking LeakTracking { get; set; } = PageLeakTracking.Off;

    /// <summary>
    /// Fill recycled pages with a pattern and check it when the page is handed out again, so a write after
    /// recycle throws <see cref="PagePoolException"/> naming the page. Costs a pass over the page both ways: for debugging.
    /// </summary>
    public bool Poison { get; set; }

    /// <summary>
    /// Entries in the cross-thread return ring, which threads recycling on other threads share; 0 picks the pool size
    /// rounded up to a power of two, at most 8192. The first four such threads get a lane each instead, of the same size
    /// up to 4096 entries, and go on to the ring when it is full. A recycle that finds the ring full releases the page
    /// (through <see cref="OnPageReleased"/>).
    /// </summary>
    public int RingSize { get; set; }

    /// <summary>The pool's name in exceptions, stats and the <c>pagepool.name</c> metric tag. Default <c>RuntimePagePool</c>.</summary>
    public string Name { get; set; } = nameof(RuntimePagePool);

    /// <summary>Runs on the slow path when a page enters service (map it, register it with the kernel).</summary>
    /// <remarks>If it throws, the page is not lent and not counted; its slot and memory wait for the next creation, which
    /// runs the hook again, and the exception reaches the allocating caller unchanged (counted in
    /// <see cref="PagePoolStats.AllocFailed"/>).</remarks>
    public Action<Page>? OnPageCreated { get; set; }

    /// <summary>Runs when a page leaves service for good (unmap it). Any thread may run it.</summary>
    /// <remarks>If it throws, the page leaves service all the same (its slot can be created again; after a destroy its
    /// memory is freed with its chunk), <see cref="PagePoolStats.ReleaseFailed"/> counts it, and the exception reaches the
    /// caller whose call released the page (a recycle, or <c>DestroyPagePool</c> once every other page is released).</remarks>
    public Action<Page>? OnPageReleased { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        string? error = PagePoolValidation.Validate(PageSize, PoolSize, CacheSize, RefillBatch, Headroom, MaxLength, RingSize);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(PagePoolOptions));
        }
        if (!Enum.IsDefined(Memory))
        {
            throw new ArgumentException($"Memory = {Memory} is not a PageMemoryKind.", nameof(PagePoolOptions));
        }
        if (!Enum.IsDefined(LeakTracking))
        {
            throw new ArgumentException($"LeakTracking = {LeakTracking} is not a PageLeakTracking.", nameof(PagePoolOptions));
        }
        if (string.IsNullOrEmpty(Name))
        {
            throw new ArgumentException("Name must not be empty.", nameof(PagePoolOptions));
        }
    }
}

internal static class PagePoolValidation
{
    public static string? Validate(int pageSize, int poolSize, int cacheSize, int refillBatch, int headroom, int maxLength, int ringSize)
    {
        Shared.PagePoolRuleError error = Shared.PagePoolRules.Check(pageSize, poolSize, cacheSize, refillBatch, headroom, maxLength);
        if (error.IsError)
        {
            return char.ToUpperInvariant(error.Message[0]) + error.Message.Substring(1) + ".";
        }
        if (ringSize < 0 || ringSize > PagePoolDefaults.MaxPoolSize || (ringSize & (ringSize - 1)) != 0)
        {
            return $"RingSize is {ringSize}; it must be 0 (automatic) or a power of two up to 1048576.";
        }
        return null;
    }
}
