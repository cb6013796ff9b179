namespace PagePool.Analyzers.Attribute;

/// <summary>
/// The names the PagePool generator adds to a <c>[PagePool]</c> class (DESIGN.md section 3). A member the user
/// declares under one of these names collides with the generated one (PP0006).
/// </summary>
internal static class GeneratedMemberNames
{
    /// <summary>Added to every pool.</summary>
    public static readonly string[] Always =
    {
        "PageSize",
        "PoolSize",
        "AllocPage",
        "TryAllocPage",
        "AllocPages",
        "RecyclePage",
        "RecyclePageDirect",
        "RecyclePages",
        "PagesInUse",
        "GetPageStats",
        "DestroyPagePool",
        "AsMemoryPool",
    };

    /// <summary>Added when <c>Fragments = true</c>.</summary>
    public const string AllocFragment = "AllocFragment";

    /// <summary>Added when <c>LeakTracking</c> is not <c>Off</c>.</summary>
    public const string GetPageLeaks = "GetPageLeaks";

    /// <summary>
    /// The hooks the generator declares as <c>partial void</c>: a <c>partial</c> method of this name is the user's
    /// implementation, anything else under the name collides with the generated declaration.
    /// </summary>
    public static readonly string[] PartialHooks = { "OnPageCreated", "OnPageReleased" };
}
