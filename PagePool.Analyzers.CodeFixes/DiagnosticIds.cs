namespace PagePool.Analyzers.CodeFixes;

/// <summary>
/// The ids this project fixes. The ownership ids are spelled out rather than taken from the ownership analyzer's
/// descriptors so the fixes do not depend on that analyzer's internals, only on its documented ids and locations.
/// </summary>
internal static class DiagnosticIds
{
    public const string NotPartial = "PP0001";
    public const string PageMayLeak = "PP1001";
    public const string RecycledTwice = "PP1003";
    public const string DirectRecycleOffOwner = "PP1004";
    public const string PageLeaksOnException = "PP1006";
}
