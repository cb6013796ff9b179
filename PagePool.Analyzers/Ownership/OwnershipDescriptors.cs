using Microsoft.CodeAnalysis;

namespace PagePool.Analyzers.Ownership;

/// <summary>
/// The ownership diagnostics: PP1001–PP1005 for pages of a page pool, PP1101–PP1103 for arrays rented from
/// <c>System.Buffers.ArrayPool&lt;T&gt;</c> (the same engine, off by default).
/// </summary>
/// <remarks>
/// Every message is composed by the analyzer (it names the variable and the path that goes wrong), so each
/// format is a single placeholder. No help link: the project has no public home yet, and a link to a page that
/// does not exist is worse than none; each rule's page is <c>docs/diagnostics/{id}.md</c>.
/// </remarks>
internal static class OwnershipDescriptors
{
    private const string Reliability = "Reliability";
    private const string Usage = "Usage";

    /// <summary>PP1001: on some path a page is neither recycled nor handed on.</summary>
    public static readonly DiagnosticDescriptor PageMayLeak = new(
        "PP1001",
        "A page may leak",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A page taken from a pool must go back to it (or be handed on) on every path, exception paths included; otherwise the pool shrinks until allocation fails.");

    /// <summary>PP1002: a page is used after it was recycled or handed on.</summary>
    public static readonly DiagnosticDescriptor PageUsedAfterRecycle = new(
        "PP1002",
        "A page is used after it was recycled",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Once recycled (or handed on), a page may already belong to someone else: reading or writing it corrupts their data.");

    /// <summary>PP1003: a page is recycled or handed on twice.</summary>
    public static readonly DiagnosticDescriptor PageRecycledTwice = new(
        "PP1003",
        "A page is recycled twice",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A page recycled twice would be handed out to two owners; the pool rejects the second recycle at run time.");

    /// <summary>PP1004: <c>RecyclePageDirect</c> where the owner context is not guaranteed.</summary>
    public static readonly DiagnosticDescriptor RecycleDirectOffOwner = new(
        "PP1004",
        "RecyclePageDirect outside the owner context",
        messageFormat: "{0}",
        Usage,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "RecyclePageDirect writes the owner's cache without synchronization: call it only from the owner context (the allocating loop). Use RecyclePage from callbacks, thread-pool work and after await.");

    /// <summary>PP1005: a page recycled into another pool than the one it came from.</summary>
    public static readonly DiagnosticDescriptor PageRecycledToOtherPool = new(
        "PP1005",
        "A page is recycled into another pool",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "A page must go back to the pool that allocated it; another pool rejects it at run time.");

    /// <summary>
    /// PP1006: a call that may throw runs while a page is held, and nothing recycles the page when it does. Info,
    /// on by default: shown in the IDE, never an error under TreatWarningsAsErrors (see docs/diagnostics/PP1006.md).
    /// </summary>
    public static readonly DiagnosticDescriptor PageLeaksOnException = new(
        "PP1006",
        "A page leaks if a call throws",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Info,
        isEnabledByDefault: true,
        description: "A page held across a call that may throw is lost to its pool for good when the call throws, unless a finally (or a catch that rethrows) recycles it; the pool is a hard cap, so each such exception shrinks it.");

    /// <summary>PP1101: an array rented from an <c>ArrayPool&lt;T&gt;</c> is not returned on some path.</summary>
    public static readonly DiagnosticDescriptor ArrayMayLeak = new(
        "PP1101",
        "A rented array may not be returned",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: false,
        description: "An array rented from an ArrayPool should be returned on every path, exception paths included.");

    /// <summary>PP1102: a rented array is used after it was returned.</summary>
    public static readonly DiagnosticDescriptor ArrayUsedAfterReturn = new(
        "PP1102",
        "A rented array is used after it was returned",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: false,
        description: "Once returned, the array may be rented by someone else: reading or writing it corrupts their data.");

    /// <summary>PP1103: a rented array is returned twice.</summary>
    public static readonly DiagnosticDescriptor ArrayReturnedTwice = new(
        "PP1103",
        "A rented array is returned twice",
        messageFormat: "{0}",
        Reliability,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: false,
        description: "ArrayPool does not detect a double return: the array is then handed to two renters at once.");
}
