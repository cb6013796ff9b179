using System;
using System.Runtime.CompilerServices;

namespace PagePool.IoUring;

/// <summary>
/// Where a <see cref="ProvidedBufferRing{TPages}"/> gets its pages and where it returns those it still holds at
/// teardown. Implement it on a <see langword="struct"/> that wraps a pool: the ring is generic over the struct, so
/// each call is a direct, inlinable call to the pool, with no interface or virtual dispatch per page.
/// </summary>
/// <remarks>
/// For a <c>[PagePool]</c> class the adapter is three one-line members:
/// <code>
/// readonly struct RxPages(RxQueue pool) : IPageSource
/// {
///     public int PoolSize => RxQueue.PoolSize;
///     public int AllocPages(Span&lt;Page&gt; pages) => pool.AllocPages(pages);
///     public void RecyclePage([Owned] Page page) => pool.RecyclePage(page);
/// }
/// </code>
/// For a <see cref="RuntimePagePool"/>, use <see cref="RuntimePageSource"/>.
/// </remarks>
public interface IPageSource
{
    /// <summary>The pool's <c>PoolSize</c>: page ids are below it, and they are the buffer ids the kernel names (at most 65,536).</summary>
    int PoolSize { get; }

    /// <summary>The pool's <c>AllocPages</c>: called on the ring's owner thread, which must be the pool's owner context.</summary>
    int AllocPages(Span<Page> pages);

    /// <summary>The pool's <c>RecyclePage</c>: returns a page the ring still held at teardown.</summary>
    void RecyclePage([Owned] Page page);
}

/// <summary>A <see cref="RuntimePagePool"/> as the page source of a <see cref="ProvidedBufferRing{TPages}"/>.</summary>
/// <param name="pool">The pool; the ring's owner thread must be its owner context.</param>
public readonly struct RuntimePageSource(RuntimePagePool pool) : IPageSource
{
    /// <summary>The pool.</summary>
    public RuntimePagePool Pool => pool;

    /// <inheritdoc/>
    public int PoolSize => pool.PoolSize;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int AllocPages(Span<Page> pages) => pool.AllocPages(pages);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecyclePage([Owned] Page page) => pool.RecyclePage(page);
}
