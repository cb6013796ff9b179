using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;

namespace PagePool.Analyzers.Ownership;

/// <summary>What a tracked value is: a pool page, or an array rented from an <c>ArrayPool&lt;T&gt;</c>.</summary>
internal enum ResourceKind : byte
{
    Page,
    Array,
}

/// <summary>
/// The symbols the ownership rules are written against, resolved once per compilation, and the questions asked
/// of them (is this a page, is this parameter [Owned], is this call a recycle). Nothing here throws on
/// half-typed code: an error symbol simply matches nothing.
/// </summary>
internal sealed class OwnershipTypes
{
    private OwnershipTypes(
        INamedTypeSymbol? page,
        INamedTypeSymbol? owned,
        INamedTypeSymbol? notOwned,
        INamedTypeSymbol? arrayPool,
        INamedTypeSymbol? pagePoolAttribute,
        INamedTypeSymbol? runtimePool,
        INamedTypeSymbol? enumerable,
        ImmutableArray<INamedTypeSymbol> offContextTypes,
        ImmutableArray<INamedTypeSymbol> nonThrowingTypes,
        INamedTypeSymbol? exception)
    {
        NonThrowingTypes = nonThrowingTypes;
        Exception = exception;
        Page = page;
        Owned = owned;
        NotOwned = notOwned;
        ArrayPool = arrayPool;
        PagePoolAttribute = pagePoolAttribute;
        RuntimePool = runtimePool;
        Enumerable = enumerable;
        OffContextTypes = offContextTypes;
    }

    /// <summary><c>PagePool.Page</c>, or null when the compilation does not see PagePool.</summary>
    public INamedTypeSymbol? Page { get; }

    /// <summary><c>PagePool.OwnedAttribute</c>.</summary>
    public INamedTypeSymbol? Owned { get; }

    /// <summary><c>PagePool.NotOwnedAttribute</c>.</summary>
    public INamedTypeSymbol? NotOwned { get; }

    /// <summary><c>System.Buffers.ArrayPool&lt;T&gt;</c> (the open generic).</summary>
    public INamedTypeSymbol? ArrayPool { get; }

    /// <summary><c>PagePool.PagePoolAttribute</c>: marks generated pools.</summary>
    public INamedTypeSymbol? PagePoolAttribute { get; }

    /// <summary><c>PagePool.RuntimePagePool</c>.</summary>
    public INamedTypeSymbol? RuntimePool { get; }

    /// <summary><c>System.Collections.IEnumerable</c>.</summary>
    public INamedTypeSymbol? Enumerable { get; }

    /// <summary>Types whose callbacks run on another thread (Task, Parallel, ThreadPool, Thread, timers...).</summary>
    public ImmutableArray<INamedTypeSymbol> OffContextTypes { get; }

    /// <summary>
    /// Types whose methods throw only on a bug in their arguments (an index or length out of range), as an array
    /// index would: a call to them is no exception path for PP1006.
    /// </summary>
    public ImmutableArray<INamedTypeSymbol> NonThrowingTypes { get; }

    /// <summary><c>System.Exception</c>: building one is no exception path.</summary>
    public INamedTypeSymbol? Exception { get; }

    /// <summary>The locals and parameters each lambda or local function graph mentions (computed once per graph).</summary>
    public ConditionalWeakTable<ControlFlowGraph, ISymbol[]> ReferencedSymbolsCache { get; } = new();

    /// <summary>Whether PP1101–PP1103 are on, per file (the same for all of a file's methods).</summary>
    public ConcurrentDictionary<SyntaxTree, bool> ArrayRulesByTree { get; } = new();

    /// <summary>What this compilation's methods do with the pages and arrays passed to them (computed on first use).</summary>
    public OwnershipSummaries Summaries { get; private set; } = null!;

    /// <summary>True when there is anything at all to check in this compilation.</summary>
    public bool HasAnything => Page is not null || ArrayPool is not null;

    public static OwnershipTypes Create(Compilation compilation)
    {
        var offContext = ImmutableArray.CreateBuilder<INamedTypeSymbol>();
        foreach (var name in OffContextTypeNames)
        {
            if (compilation.GetTypeByMetadataName(name) is { } type)
            {
                offContext.Add(type);
            }
        }

        var nonThrowing = ImmutableArray.CreateBuilder<INamedTypeSymbol>();
        foreach (var name in NonThrowingTypeNames)
        {
            if (compilation.GetTypeByMetadataName(name) is { } type)
            {
                nonThrowing.Add(type);
            }
        }

        var types = new OwnershipTypes(
            compilation.GetTypeByMetadataName("PagePool.Page"),
            compilation.GetTypeByMetadataName("PagePool.OwnedAttribute"),
            compilation.GetTypeByMetadataName("PagePool.NotOwnedAttribute"),
            compilation.GetTypeByMetadataName("System.Buffers.ArrayPool`1"),
            compilation.GetTypeByMetadataName("PagePool.PagePoolAttribute"),
            compilation.GetTypeByMetadataName("PagePool.RuntimePagePool"),
            compilation.GetTypeByMetadataName("System.Collections.IEnumerable"),
            offContext.ToImmutable(),
            nonThrowing.ToImmutable(),
            compilation.GetTypeByMetadataName("System.Exception"));
        types.Summaries = new OwnershipSummaries(compilation, types);
        return types;
    }

    private static readonly string[] NonThrowingTypeNames =
    {
        "System.Span`1",
        "System.ReadOnlySpan`1",
        "System.Memory`1",
        "System.ReadOnlyMemory`1",
        "System.ArraySegment`1",
        "System.MemoryExtensions",
        "System.Math",
        "System.MathF",
        "System.Nullable`1",
        "System.Threading.Interlocked",
        "System.Threading.Volatile",
        "System.Runtime.CompilerServices.Unsafe",
        "System.Runtime.InteropServices.MemoryMarshal",
        "System.Buffers.Binary.BinaryPrimitives",
        "System.Numerics.BitOperations",
        "System.Diagnostics.Debug",
        // What an io_uring completion says about its page: accessors over the page's own bytes.
        "PagePool.IoUring.UdpDatagram",
        "PagePool.IoUring.IoCompletion",
    };

    private static readonly string[] OffContextTypeNames =
    {
        "System.Threading.Tasks.Task",
        "System.Threading.Tasks.Task`1",
        "System.Threading.Tasks.TaskFactory",
        "System.Threading.Tasks.TaskFactory`1",
        "System.Threading.Tasks.Parallel",
        "System.Threading.ThreadPool",
        "System.Threading.Thread",
        "System.Threading.Timer",
        "System.Timers.Timer",
        "System.Threading.PeriodicTimer",
    };

    public bool IsPage(ITypeSymbol? type) =>
        Page is not null && type is not null && SymbolEqualityComparer.Default.Equals(type, Page);

    /// <summary>A <c>T[]</c> (the shape an <c>ArrayPool&lt;T&gt;</c> rents).</summary>
    public static bool IsArray(ITypeSymbol? type) => type is IArrayTypeSymbol { Rank: 1 };

    /// <summary>The kind of value a variable of this type can hold, or null when nothing is tracked in it.</summary>
    public ResourceKind? KindOf(ITypeSymbol? type)
    {
        if (IsPage(type))
        {
            return ResourceKind.Page;
        }

        return ArrayPool is not null && IsArray(type) ? ResourceKind.Array : null;
    }

    public bool IsArrayPool(ITypeSymbol? type)
    {
        if (ArrayPool is null)
        {
            return false;
        }

        for (var t = type as INamedTypeSymbol; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, ArrayPool))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>ArrayPool&lt;T&gt;.Rent</c> (or an override).</summary>
    public bool IsRent(IMethodSymbol method) =>
        method.Name == "Rent" && !method.IsStatic && IsArrayPool(method.ContainingType) && IsArray(method.ReturnType);

    /// <summary><c>ArrayPool&lt;T&gt;.Return</c> (or an override): its first parameter takes the array back.</summary>
    public bool IsReturn(IMethodSymbol method) =>
        method.Name == "Return" && !method.IsStatic && method.Parameters.Length >= 1 && IsArrayPool(method.ContainingType);

    public bool HasAttribute(ImmutableArray<AttributeData> attributes, INamedTypeSymbol? attribute)
    {
        if (attribute is null)
        {
            return false;
        }

        foreach (var data in attributes)
        {
            if (SymbolEqualityComparer.Default.Equals(data.AttributeClass, attribute))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The callee takes ownership of what is passed to this parameter.</summary>
    public bool IsOwnedParameter(IParameterSymbol? parameter)
    {
        if (parameter is null || Owned is null)
        {
            return false;
        }

        return HasAttribute(parameter.GetAttributes(), Owned)
            || (!ReferenceEquals(parameter.OriginalDefinition, parameter) && HasAttribute(parameter.OriginalDefinition.GetAttributes(), Owned));
    }

    /// <summary>The value of this <c>out</c> parameter is lent, not given.</summary>
    public bool IsNotOwnedParameter(IParameterSymbol? parameter) =>
        parameter is not null && HasAttribute(parameter.GetAttributes(), NotOwned);

    /// <summary>The page this method returns is lent, not given.</summary>
    public bool IsNotOwnedReturn(IMethodSymbol method) =>
        HasAttribute(method.GetReturnTypeAttributes(), NotOwned)
        || (method.AssociatedSymbol is IPropertySymbol property && HasAttribute(property.GetAttributes(), NotOwned));

    /// <summary>A pool type: a class marked <c>[PagePool]</c> (generated) or <c>RuntimePagePool</c>.</summary>
    public bool IsPoolType(ITypeSymbol? type)
    {
        if (type is not INamedTypeSymbol named)
        {
            return false;
        }

        if (RuntimePool is not null && SymbolEqualityComparer.Default.Equals(named, RuntimePool))
        {
            return true;
        }

        return HasAttribute(named.GetAttributes(), PagePoolAttribute);
    }

    /// <summary>A type that stores what it is given: a collection, or anything generic over <c>Page</c>.</summary>
    public bool IsContainerType(ITypeSymbol? type)
    {
        if (type is null)
        {
            return false;
        }

        if (type is IArrayTypeSymbol)
        {
            return true;
        }

        if (type.SpecialType == SpecialType.System_String)
        {
            return false;
        }

        if (Enumerable is not null)
        {
            foreach (var i in type.AllInterfaces)
            {
                if (SymbolEqualityComparer.Default.Equals(i, Enumerable))
                {
                    return true;
                }
            }
        }

        for (var t = type as INamedTypeSymbol; t is not null; t = t.BaseType)
        {
            foreach (var argument in t.TypeArguments)
            {
                if (IsPage(argument) || IsArray(argument))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a call to <paramref name="method"/> may throw for PP1006: user code, sockets, streams, delegates,
    /// interfaces and constructors may; the pool's own API may not, except the allocations that throw when the pool
    /// is exhausted (<c>AllocPage</c>, <c>AllocFragment</c>: a runtime condition, not a misuse); nor may the page's
    /// members, <c>ArrayPool</c> other than <c>Rent</c>, span and memory helpers and the other <see cref="NonThrowingTypes"/>, methods of
    /// primitive types and strings (except <c>Parse</c>), a compiler-declared constructor, or an exception's
    /// constructor.
    /// </summary>
    public bool MayThrow(IMethodSymbol method)
    {
        var type = method.ContainingType;
        if (type is null)
        {
            return true;
        }

        if (IsPoolType(type))
        {
            return IsPage(method.ReturnType);
        }

        if (IsArrayPool(type))
        {
            // Rent allocates (and checks its length): the one ArrayPool call a try must expect to throw.
            return IsRent(method);
        }

        if (IsPage(type))
        {
            return false;
        }

        if (method.MethodKind == MethodKind.Constructor && (method.IsImplicitlyDeclared || DerivesFrom(type, Exception)))
        {
            return false;
        }

        if (type.SpecialType is SpecialType.System_Object or (>= SpecialType.System_Boolean and <= SpecialType.System_UIntPtr))
        {
            return method.Name is "Parse";
        }

        var definition = type.OriginalDefinition;
        foreach (var candidate in NonThrowingTypes)
        {
            if (SymbolEqualityComparer.Default.Equals(definition, candidate))
            {
                return false;
            }
        }

        return true;
    }

    private static bool DerivesFrom(INamedTypeSymbol type, INamedTypeSymbol? baseType)
    {
        if (baseType is null)
        {
            return false;
        }

        for (var t = type; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, baseType))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A type whose methods run delegates on another thread.</summary>
    public bool IsOffContextType(ITypeSymbol? type)
    {
        if (type is not INamedTypeSymbol named)
        {
            return false;
        }

        foreach (var candidate in OffContextTypes)
        {
            if (SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, candidate))
            {
                return true;
            }
        }

        return false;
    }
}
