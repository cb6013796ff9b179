using System;

namespace PagePool;

/// <summary>
/// Misuse of a page pool: a page recycled twice, a page of another pool, <c>default(Page)</c>, a page written
/// after it was recycled, or use of a destroyed pool. The pool is left consistent: no page is lost or duplicated.
/// </summary>
public class PagePoolException : InvalidOperationException
{
    /// <summary>Creates the exception with a message.</summary>
    public PagePoolException(string message) : this(message, poolName: null, pageId: -1)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public PagePoolException(string message, Exception innerException) : base(message, innerException)
    {
        PageId = -1;
    }

    /// <summary>Creates the exception naming the pool and the page.</summary>
    public PagePoolException(string message, string? poolName, int pageId) : base(message)
    {
        PoolName = poolName;
        PageId = pageId;
    }

    /// <summary>The pool's name (its type name for generated pools), when known.</summary>
    public string? PoolName { get; }

    /// <summary>The page's id, or -1 when no page is involved.</summary>
    public int PageId { get; }
}

/// <summary>
/// <c>AllocPage</c> found every one of the pool's pages in use. This is backpressure, not misuse: use
/// <c>TryAllocPage</c> to drop instead of throwing, as a NIC drops when its RX ring is empty.
/// </summary>
public sealed class PagePoolExhaustedException : PagePoolException
{
    /// <summary>Creates the exception for a pool of <paramref name="poolSize"/> pages.</summary>
    public PagePoolExhaustedException(string poolName, int poolSize)
        : base($"Page pool '{poolName}' is exhausted: all {poolSize} pages are in use. Recycle pages sooner, raise poolSize, or use TryAllocPage to drop under backpressure.", poolName, -1)
    {
        PoolSize = poolSize;
    }

    /// <summary>The pool's size in pages.</summary>
    public int PoolSize { get; }
}
