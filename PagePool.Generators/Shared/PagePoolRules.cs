// The rules for [PagePool] arguments, compiled into the runtime (PagePoolOptions.Validate), the generator's
// parser (it skips what breaks them) and the analyzer (it reports them), so the three can never disagree.
// netstandard2.0-compatible C#: no APIs newer than the generator's target.
namespace PagePool.Shared
{
    /// <summary>Which diagnostic an argument error belongs to.</summary>
    internal enum PagePoolRuleKind
    {
        None = 0,
        PageSize = 2,   // PP0002
        PoolSize = 3,   // PP0003
        NamedArgument = 4, // PP0004
    }

    internal readonly struct PagePoolRuleError
    {
        public PagePoolRuleError(PagePoolRuleKind kind, string argument, string message)
        {
            Kind = kind;
            Argument = argument;
            Message = message;
        }

        public PagePoolRuleKind Kind { get; }

        /// <summary>The argument's name as written in the attribute (pageSize, poolSize, CacheSize, ...).</summary>
        public string Argument { get; }

        public string Message { get; }

        public bool IsError => Kind != PagePoolRuleKind.None;
    }

    internal static class PagePoolRules
    {
        public const int MinPageSize = 256;
        public const int MaxPageSize = 2 * 1024 * 1024;
        public const int MaxPoolSize = 1024 * 1024;
        public const int DefaultCacheSize = 128;
        public const int DefaultRefillBatch = 64;
        public const int MaxCacheSize = 4096;
        public const int LeakSampleInterval = 64;

        public static bool IsValidPageSize(int pageSize) =>
            pageSize >= MinPageSize && pageSize <= MaxPageSize && (pageSize & (pageSize - 1)) == 0;

        public static bool IsValidPoolSize(int poolSize) => poolSize >= 1 && poolSize <= MaxPoolSize;

        /// <summary>
        /// Checks every argument; returns the first error in source order (pageSize, poolSize, then the named
        /// arguments), or an error of kind None when all are valid.
        /// </summary>
        public static PagePoolRuleError Check(int pageSize, int poolSize, int cacheSize, int refillBatch, int headroom, int maxLength)
        {
            if (!IsValidPageSize(pageSize))
            {
                return new PagePoolRuleError(PagePoolRuleKind.PageSize, "pageSize",
                    "pageSize is " + Format(pageSize) + "; it must be a power of two from 256 to 2097152 (2 MiB)");
            }
            if (!IsValidPoolSize(poolSize))
            {
                return new PagePoolRuleError(PagePoolRuleKind.PoolSize, "poolSize",
                    "poolSize is " + Format(poolSize) + "; it must be from 1 to 1048576");
            }
            return CheckNamed(pageSize, cacheSize, refillBatch, headroom, maxLength);
        }

        /// <summary>The named arguments alone (PP0004), for a valid page size.</summary>
        public static PagePoolRuleError CheckNamed(int pageSize, int cacheSize, int refillBatch, int headroom, int maxLength)
        {
            if (cacheSize < 1 || cacheSize > MaxCacheSize)
            {
                return new PagePoolRuleError(PagePoolRuleKind.NamedArgument, "CacheSize",
                    "CacheSize is " + Format(cacheSize) + "; it must be from 1 to 4096");
            }
            if (refillBatch < 1 || refillBatch > cacheSize)
            {
                return new PagePoolRuleError(PagePoolRuleKind.NamedArgument, "RefillBatch",
                    "RefillBatch is " + Format(refillBatch) + "; it must be from 1 to CacheSize (" + Format(cacheSize) + ")");
            }
            if (headroom < 0 || headroom >= pageSize)
            {
                return new PagePoolRuleError(PagePoolRuleKind.NamedArgument, "Headroom",
                    "Headroom is " + Format(headroom) + "; it must be from 0 to less than pageSize (" + Format(pageSize) + ")");
            }
            if (maxLength < 0 || maxLength > pageSize - headroom)
            {
                return new PagePoolRuleError(PagePoolRuleKind.NamedArgument, "MaxLength",
                    "MaxLength is " + Format(maxLength) + "; it must be from 0 (the rest of the page) to pageSize - Headroom (" + Format(pageSize - headroom) + ")");
            }
            return default;
        }

        /// <summary>MaxLength as the pool uses it: 0 means the rest of the page after the headroom.</summary>
        public static int EffectiveMaxLength(int pageSize, int headroom, int maxLength) =>
            maxLength == 0 ? pageSize - headroom : maxLength;

        private static string Format(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
