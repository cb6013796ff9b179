using Microsoft.CodeAnalysis;
using PagePool.Shared;

namespace PagePool.Analyzers.Attribute;

/// <summary>
/// The values of one <c>[PagePool]</c> application, read from its bound <see cref="AttributeData"/>: arguments
/// the user did not write take the attribute's defaults, arguments that did not bind to a constant make the set
/// unknown (the compiler reports those, and guessing them would only add a second, wrong error).
/// </summary>
internal readonly struct PoolArguments
{
    private PoolArguments(
        bool allKnown, int pageSize, int poolSize, int cacheSize, int refillBatch, int headroom, int maxLength,
        bool fragments, bool leakTracking)
    {
        AllKnown = allKnown;
        PageSize = pageSize;
        PoolSize = poolSize;
        CacheSize = cacheSize;
        RefillBatch = refillBatch;
        Headroom = headroom;
        MaxLength = maxLength;
        Fragments = fragments;
        LeakTracking = leakTracking;
    }

    /// <summary>True when every integer argument bound to a constant, so the rules can be checked.</summary>
    public bool AllKnown { get; }

    public int PageSize { get; }

    public int PoolSize { get; }

    public int CacheSize { get; }

    public int RefillBatch { get; }

    public int Headroom { get; }

    public int MaxLength { get; }

    /// <summary><c>Fragments = true</c> (the generator adds <c>AllocFragment</c>).</summary>
    public bool Fragments { get; }

    /// <summary><c>LeakTracking</c> is not <c>Off</c> (the generator adds <c>GetPageLeaks</c>).</summary>
    public bool LeakTracking { get; }

    public static PoolArguments Read(AttributeData attribute)
    {
        bool known = attribute.AttributeConstructor is not null && attribute.ConstructorArguments.Length == 2;
        int pageSize = 0;
        int poolSize = 0;
        if (known)
        {
            known = TryGetInt(attribute.ConstructorArguments[0], out pageSize) &
                    TryGetInt(attribute.ConstructorArguments[1], out poolSize);
        }

        int cacheSize = PagePoolRules.DefaultCacheSize;
        int refillBatch = PagePoolRules.DefaultRefillBatch;
        int headroom = 0;
        int maxLength = 0;
        bool fragments = false;
        bool leakTracking = false;
        foreach (var named in attribute.NamedArguments)
        {
            TypedConstant value = named.Value;
            switch (named.Key)
            {
                case "CacheSize":
                    known &= TryGetInt(value, out cacheSize);
                    break;
                case "RefillBatch":
                    known &= TryGetInt(value, out refillBatch);
                    break;
                case "Headroom":
                    known &= TryGetInt(value, out headroom);
                    break;
                case "MaxLength":
                    known &= TryGetInt(value, out maxLength);
                    break;
                case "Fragments":
                    fragments = value.Kind == TypedConstantKind.Primitive && value.Value is true;
                    break;
                case "LeakTracking":
                    // An enum constant's Value is its underlying integer; Off is 0.
                    leakTracking = value.Kind == TypedConstantKind.Enum && value.Value is int mode && mode != 0;
                    break;
            }
        }

        return new PoolArguments(known, pageSize, poolSize, cacheSize, refillBatch, headroom, maxLength, fragments, leakTracking);
    }

    private static bool TryGetInt(TypedConstant constant, out int value)
    {
        if (constant.Kind == TypedConstantKind.Primitive && constant.Value is int number)
        {
            value = number;
            return true;
        }

        value = 0;
        return false;
    }
}
