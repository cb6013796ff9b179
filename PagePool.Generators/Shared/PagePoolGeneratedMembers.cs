// The members the generator adds to a [PagePool] class, for the generator's parser (it skips a class that already
// declares one) and the analyzer (PP0006 reports it), so the two can never disagree. Link this file, as
// PagePoolRules.cs is linked. netstandard2.0-compatible C#, no Roslyn types.
namespace PagePool.Shared
{
    internal static class PagePoolGeneratedMembers
    {
        /// <summary>Every private member and nested type the generator adds starts with this.</summary>
        public const string PrivatePrefix = "__pp_";

        /// <summary>The hooks: any <c>partial</c> method of these names is the user's implementation; anything else clashes.</summary>
        public const string OnPageCreated = "OnPageCreated";

        /// <inheritdoc cref="OnPageCreated"/>
        public const string OnPageReleased = "OnPageReleased";

        /// <summary>Added only with <c>Fragments = true</c>.</summary>
        public const string AllocFragment = "AllocFragment";

        /// <summary>Added only with <c>LeakTracking</c> other than <c>Off</c>.</summary>
        public const string GetPageLeaks = "GetPageLeaks";

        /// <summary>Public members added to every pool class.</summary>
        public static readonly string[] Always =
        {
            "PageSize", "PoolSize",
            "AllocPage", "TryAllocPage", "AllocPages", "RecyclePage", "RecyclePageDirect", "RecyclePages",
            "PagesInUse", "GetPageStats", "DestroyPagePool", "AsMemoryPool",
        };

        /// <summary>
        /// Constants the generator adds only when the class does not declare the name already (no conflict, no PP0006).
        /// </summary>
        public static readonly string[] Optional = { "Headroom", "MaxLength", "CacheSize", "RefillBatch" };

        /// <summary>
        /// True when a member (or nested type) named <paramref name="name"/> would clash with a generated one. The hooks
        /// are not included: a partial implementation of them is allowed, anything else with their names is not.
        /// </summary>
        public static bool IsGeneratedName(string name, bool fragments, bool leakTracking)
        {
            if (name.StartsWith(PrivatePrefix, System.StringComparison.Ordinal))
            {
                return true;
            }
            foreach (string generated in Always)
            {
                if (name == generated)
                {
                    return true;
                }
            }
            return (fragments && name == AllocFragment) || (leakTracking && name == GetPageLeaks);
        }
    }
}
