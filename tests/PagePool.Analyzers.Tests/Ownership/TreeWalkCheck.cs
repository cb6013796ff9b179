using System.Runtime.CompilerServices;
using PagePool.Analyzers.Ownership;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>
/// Every method the tree walk proves clean in these tests is also analysed with its graph, and a disagreement is an
/// internal error, which the verifiers already fail on: the whole suite checks the fast path, not only its own tests.
/// </summary>
internal static class TreeWalkCheck
{
#pragma warning disable CA2255 // A test assembly's switch, set before any test runs.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Enable() => OwnershipAnalyzer.CheckTreeWalks = true;
}
