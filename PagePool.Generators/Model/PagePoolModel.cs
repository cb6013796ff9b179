namespace PagePool.Generators.Model
{
    /// <summary>Mirrors <c>PagePool.PageMemoryKind</c> (the generator does not reference the runtime).</summary>
    internal enum PoolMemoryKind
    {
        Pinned = 0,
        Native = 1,
        HugePages = 2,
    }

    /// <summary>Mirrors <c>PagePool.PageLeakTracking</c>.</summary>
    internal enum PoolLeakTracking
    {
        Off = 0,
        Sampled = 1,
        All = 2,
    }

    /// <summary>The optional public constants (beyond PageSize and PoolSize), each emitted unless the class declares that name.</summary>
    [System.Flags]
    internal enum ExtraConstants
    {
        None = 0,
        Headroom = 1,
        MaxLength = 2,
        CacheSize = 4,
        RefillBatch = 8,
        All = Headroom | MaxLength | CacheSize | RefillBatch,
    }

    /// <summary>A type that contains the pool class, re-declared partial around the generated members.</summary>
    /// <param name="Name">The name as it must be written in C# (keywords escaped with <c>@</c>).</param>
    /// <param name="Keyword">The declaration keyword(s): <c>class</c>, <c>struct</c>, <c>record</c>, <c>record struct</c>, <c>interface</c>.</param>
    /// <param name="Modifiers">Modifiers every partial part must repeat (<c>static</c>, <c>ref</c>), each followed by a space, or empty.</param>
    internal sealed record ContainingTypeModel(string Name, string Keyword, string Modifiers);

    /// <summary>The validated arguments of one <c>[PagePool]</c> attribute.</summary>
    internal sealed record PoolOptionsModel(
        int PageSize,
        int PoolSize,
        PoolMemoryKind Memory,
        int CacheSize,
        int RefillBatch,
        int Headroom,
        int MaxLength,
        bool ClearOnRecycle,
        bool Fragments,
        PoolLeakTracking LeakTracking);

    /// <summary>Everything the emitter needs for one pool class: strings, ints and enums only, so it caches.</summary>
    /// <param name="Namespace">The namespace as written in C# (segments escaped), or empty for the global namespace.</param>
    /// <param name="TypeName">The class's name as written in C#.</param>
    /// <param name="TypeKeyword"><c>class</c> or <c>record</c>.</param>
    /// <param name="PoolName">The pool's name at run time (exceptions, stats, the <c>pagepool.name</c> metric tag): the full type name.</param>
    /// <param name="HintName">Base of the generated file's name, unique per type, before de-duplication.</param>
    /// <param name="ContainingTypes">Outermost first.</param>
    /// <param name="Options">The attribute's validated arguments.</param>
    /// <param name="ExtraConstants">Which of the optional public constants to emit.</param>
    internal sealed record PagePoolModel(
        string Namespace,
        string TypeName,
        string TypeKeyword,
        string PoolName,
        string HintName,
        EquatableArray<ContainingTypeModel> ContainingTypes,
        PoolOptionsModel Options,
        ExtraConstants ExtraConstants);
}
