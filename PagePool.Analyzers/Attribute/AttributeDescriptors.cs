using Microsoft.CodeAnalysis;

namespace PagePool.Analyzers.Attribute;

/// <summary>
/// The diagnostics about a <c>[PagePool]</c> declaration itself (PP0001–PP0006). They are errors: the generator
/// skips a declaration it cannot serve, so without them the user would see only "AllocPage does not exist".
/// </summary>
/// <remarks>
/// No help link: the project has no public home yet, and a link to a page that does not exist is worse than none;
/// each rule's page is <c>docs/diagnostics/{id}.md</c>.
/// </remarks>
internal static class AttributeDescriptors
{
    private const string Category = "Usage";

    internal const string NotPartialId = "PP0001";
    internal const string InvalidPageSizeId = "PP0002";
    internal const string InvalidPoolSizeId = "PP0003";
    internal const string InvalidNamedArgumentId = "PP0004";
    internal const string UnsupportedTargetId = "PP0005";
    internal const string MemberCollisionId = "PP0006";

    /// <summary>PP0001. {0}: the [PagePool] class; {1}: the type(s) that lack <c>partial</c>.</summary>
    public static readonly DiagnosticDescriptor NotPartial = Create(
        NotPartialId,
        "A [PagePool] class and every type containing it must be partial",
        "'{0}' declares a page pool, but {1} not partial: the PagePool generator adds the pool's members to '{0}'",
        "The PagePool source generator writes the pool into the annotated class, which needs the class and every type that contains it to be declared partial.");

    /// <summary>PP0002. {0}: the shared rule's message.</summary>
    public static readonly DiagnosticDescriptor InvalidPageSize = Create(
        InvalidPageSizeId,
        "pageSize must be a power of two from 256 bytes to 2 MiB",
        "{0}",
        "Pages are addressed by shift and mask, so their size must be a power of two; the range keeps a page between a small packet buffer and one huge page.");

    /// <summary>PP0003. {0}: the shared rule's message.</summary>
    public static readonly DiagnosticDescriptor InvalidPoolSize = Create(
        InvalidPoolSizeId,
        "poolSize must be from 1 to 1,048,576 pages",
        "{0}",
        "PoolSize is the hard cap on pages in existence; a page's id must fit the pool's slot table.");

    /// <summary>PP0004. {0}: the shared rule's message.</summary>
    public static readonly DiagnosticDescriptor InvalidNamedArgument = Create(
        InvalidNamedArgumentId,
        "A named [PagePool] argument is out of range or contradicts another",
        "{0}",
        "CacheSize must be 1 to 4096, RefillBatch 1 to CacheSize, Headroom less than pageSize, and MaxLength at most pageSize - Headroom (0 meaning the rest of the page).");

    /// <summary>PP0005. {0}: the class; {1}: why it cannot have a pool.</summary>
    public static readonly DiagnosticDescriptor UnsupportedTarget = Create(
        UnsupportedTargetId,
        "[PagePool] is not supported on static or generic classes or classes nested in a generic type",
        "'{0}' cannot declare a page pool: {1}",
        "A generated pool holds per-instance state and folds its parameters into constants of one closed type, so the class must be an instance class that is not generic and not nested in a generic type.");

    /// <summary>PP0006. {0}: the class; {1}: the clashing name (a member's, or the class's own).</summary>
    public static readonly DiagnosticDescriptor MemberCollision = Create(
        MemberCollisionId,
        "A member the PagePool generator adds already exists",
        "'{1}' in '{0}' clashes with a member the PagePool generator adds; rename it",
        "The generator owns the pool's member names (AllocPage, RecyclePage, PageSize, ..., and every name starting with __pp_); a member of the same name in the class, or the class's own name, would clash with the generated one. The hooks OnPageCreated/OnPageReleased may only be implemented: partial void OnPageCreated(Page page) { ... }.");

    private static DiagnosticDescriptor Create(string id, string title, string message, string description) =>
        new(
            id,
            title,
            message,
            Category,
            DiagnosticSeverity.Error,
            isEnabledByDefault: true,
            description: description);
}
