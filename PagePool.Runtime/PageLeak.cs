using System;

namespace PagePool;

/// <summary>A tracked page that is out of its pool: where and how long ago it was allocated.</summary>
/// <param name="PageId">The page's id in its pool.</param>
/// <param name="PoolName">The pool's name.</param>
/// <param name="Age">How long the page has been out.</param>
/// <param name="AllocationStackTrace">The stack trace of the allocation that handed the page out.</param>
public sealed record PageLeak(int PageId, string PoolName, TimeSpan Age, string AllocationStackTrace)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"Page {PageId} of '{PoolName}' out for {Age.TotalSeconds:F1} s, allocated at:{Environment.NewLine}{AllocationStackTrace}";
}
