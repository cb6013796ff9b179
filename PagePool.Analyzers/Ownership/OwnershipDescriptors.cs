using Microsoft.CodeAnalysis;

namespace PagePool.Analyzers.Ownership;

// Release tracking (AnalyzerReleases.*.md) is kept by the attribute analyzers' owner; these ids are listed there.
#pragma warning disable RS2000, RS2008

/// <summary>
/// The ownership diagnostics: PP1001–PP1005 for pages of a page pool, PP1101–PP1103 for arrays rented from
/// <c>System.Buffers.ArrayPool&lt;T&gt;</c> (the same engine, off by default).
/// </summary>
/// <remarks>
/// Every message is composed by the analyzer (it names the variable and the path that goes wrong), so each
/// format is a single placeholder.
/// </remarks>
internal static class OwnershipDescriptors
{
    private const string Reliability = "Reliability";
    private const string Usage = "Usage";
    private const string HelpBase = "https://github.com/pagepool/pagepool/blob/main/docs/diagnostics/";

    /// <summary>PP1001: on some path a page is neither recycled nor handed on.</summary>
    public static readonly DiagnosticDescriptor PageMayLeak = Create(
        "PP1001",
        "A page may leak",
        "A page taken from a pool must go back to it (or be handed on) on every path, exception paths included; otherwise the pool shrinks until allocation fails.",
        Reliability,
        enabledByDefault: true);

    /// <summary>PP1002: a page is used after it was recycled or handed on.</summary>
    public static readonly DiagnosticDescriptor PageUsedAfterRecycle = Create(
        "PP1002",
        "A page is used after it was recycled",
        "Once recycled (or handed on), a page may already belong to someone else: reading or writing it corrupts their data.",
        Reliability,
        enabledByDefault: true);

    /// <summary>PP1003: a page is recycled or handed on twice.</summary>
    public static readonly DiagnosticDescriptor PageRecycledTwice = Create(
        "PP1003",
        "A page is recycled twice",
        "A page recycled twice would be handed out to two owners; the pool rejects the second recycle at run time.",
        Reliability,
        enabledByDefault: true);

    /// <summary>PP1004: <c>RecyclePageDirect</c> where the owner context is not guaranteed.</summary>
    public static readonly DiagnosticDescriptor RecycleDirectOffOwner = Create(
        "PP1004",
        "RecyclePageDirect outside the owner context",
        "RecyclePageDirect writes the owner's cache without synchronization: call it only from the owner context (the allocating loop). Use RecyclePage from callbacks, thread-pool work and after await.",
        Usage,
        enabledByDefault: true);

    /// <summary>PP1005: a page recycled into another pool than the one it came from.</summary>
    public static readonly DiagnosticDescriptor PageRecycledToOtherPool = Create(
        "PP1005",
        "A page is recycled into another pool",
        "A page must go back to the pool that allocated it; another pool rejects it at run time.",
        Reliability,
        enabledByDefault: true);

    /// <summary>PP1101: an array rented from an <c>ArrayPool&lt;T&gt;</c> is not returned on some path.</summary>
    public static readonly DiagnosticDescriptor ArrayMayLeak = Create(
        "PP1101",
        "A rented array may not be returned",
        "An array rented from an ArrayPool should be returned on every path, exception paths included.",
        Reliability,
        enabledByDefault: false);

    /// <summary>PP1102: a rented array is used after it was returned.</summary>
    public static readonly DiagnosticDescriptor ArrayUsedAfterReturn = Create(
        "PP1102",
        "A rented array is used after it was returned",
        "Once returned, the array may be rented by someone else: reading or writing it corrupts their data.",
        Reliability,
        enabledByDefault: false);

    /// <summary>PP1103: a rented array is returned twice.</summary>
    public static readonly DiagnosticDescriptor ArrayReturnedTwice = Create(
        "PP1103",
        "A rented array is returned twice",
        "ArrayPool does not detect a double return: the array is then handed to two renters at once.",
        Reliability,
        enabledByDefault: false);

    private static DiagnosticDescriptor Create(string id, string title, string description, string category, bool enabledByDefault) =>
        new(
            id,
            title,
            messageFormat: "{0}",
            category,
            DiagnosticSeverity.Warning,
            isEnabledByDefault: enabledByDefault,
            description: description,
            helpLinkUri: HelpBase + id + ".md");
}
