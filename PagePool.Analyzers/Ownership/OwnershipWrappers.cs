using Microsoft.CodeAnalysis;

namespace PagePool.Analyzers.Ownership;

/// <summary>
/// Which types can carry a page or a rented array inside them (a wrapper), and what the BCL's own array wrappers
/// keep: <c>ArraySegment&lt;T&gt;</c>, <c>Memory&lt;T&gt;</c>, <c>ReadOnlyMemory&lt;T&gt;</c> and
/// <c>ReadOnlySequence&lt;T&gt;</c>, whose constructors, <c>AsMemory</c>, <c>Slice</c> and
/// <c>MemoryMarshal.TryGetArray</c> keep (or give back) the very array they were made from. A wrapper holds the
/// obligation of what it wraps: the dataflow gives it the same tracked value (OwnershipDataflow.Wrappers.cs).
/// </summary>
/// <remarks>
/// <c>Span&lt;T&gt;</c> and <c>ReadOnlySpan&lt;T&gt;</c> are not wrappers: a span cannot outlive the method that
/// made it from a local, so taking one is a use (a borrow), never a hand-on.
/// </remarks>
internal static class OwnershipWrappers
{
    /// <summary><c>ArraySegment&lt;T&gt;</c>, <c>Memory&lt;T&gt;</c>, <c>ReadOnlyMemory&lt;T&gt;</c> or <c>ReadOnlySequence&lt;T&gt;</c>.</summary>
    public static bool IsArrayWrapper(ITypeSymbol? type)
    {
        if (type is not INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } named)
        {
            return false;
        }

        var ns = named.ContainingNamespace;
        return named.Name switch
        {
            "ArraySegment" or "Memory" or "ReadOnlyMemory" => ns is { Name: "System", ContainingNamespace.IsGlobalNamespace: true },
            "ReadOnlySequence" => ns is { Name: "Buffers", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } },
            _ => false,
        };
    }

    /// <summary>
    /// A BCL method (or constructor) that keeps the array behind an argument or its receiver in its result: an
    /// array wrapper's constructor, <c>AsMemory</c> over an array or segment, a wrapper's <c>Slice</c>,
    /// <c>MemoryMarshal.AsMemory</c>. <paramref name="keepsInstance"/> says the receiver is kept;
    /// <paramref name="keepsArguments"/> that every argument is.
    /// </summary>
    public static bool KeepsInResult(IMethodSymbol method, out bool keepsInstance, out bool keepsArguments)
    {
        keepsInstance = false;
        keepsArguments = false;
        var type = method.ContainingType;
        if (type is null)
        {
            return false;
        }

        if (method.MethodKind == MethodKind.Constructor && IsArrayWrapper(type))
        {
            keepsArguments = true;
            return true;
        }

        if (method.Name == "Slice" && !method.IsStatic && IsArrayWrapper(type))
        {
            keepsInstance = true;
            return true;
        }

        if (method.IsStatic && method.Parameters.Length > 0 && IsSystemType(type, "MemoryExtensions", "System")
            && method.Name == "AsMemory"
            && (OwnershipTypes.IsArray(method.Parameters[0].Type) || IsArrayWrapper(method.Parameters[0].Type)))
        {
            keepsArguments = true;
            return true;
        }

        if (method.IsStatic && method.Name == "AsMemory" && IsSystemType(type, "MemoryMarshal", "System.Runtime.InteropServices"))
        {
            keepsArguments = true;
            return true;
        }

        // A record's Clone method (what `with` calls): the copy holds what the original held.
        if (method.Name == "<Clone>$" && !method.IsStatic)
        {
            keepsInstance = true;
            return true;
        }

        return false;
    }

    /// <summary><c>MemoryMarshal.TryGetArray(memory, out segment)</c>: the segment is the memory's own array.</summary>
    public static bool IsTryGetArray(IMethodSymbol method) =>
        method.IsStatic && method.Name == "TryGetArray" && method.Parameters.Length == 2
        && IsSystemType(method.ContainingType, "MemoryMarshal", "System.Runtime.InteropServices");

    private static bool IsSystemType(INamedTypeSymbol? type, string name, string ns) =>
        type is not null && type.Name == name && type.ContainingNamespace?.ToDisplayString() == ns;

    /// <summary>
    /// Which tracked values a member of this type gives back when read from a wrapper that holds them: pages for
    /// a <c>Page</c>, arrays for an array or an array wrapper, both for a tuple, an anonymous type or a type
    /// declared in this compilation (a user's wrapper inside a wrapper); null for anything else.
    /// </summary>
    public static CarriedKinds Carries(ITypeSymbol? type, OwnershipTypes types)
    {
        if (type is null)
        {
            return CarriedKinds.None;
        }

        if (types.IsPage(type))
        {
            return CarriedKinds.Pages;
        }

        if (OwnershipTypes.IsArray(type) || IsArrayWrapper(type))
        {
            return CarriedKinds.Arrays;
        }

        // A pool is where pages go back, not a holder of one: reading it from a wrapper gives nothing.
        if (type.IsRefLikeType || type.SpecialType != SpecialType.None || type.TypeKind is TypeKind.Enum or TypeKind.Delegate or TypeKind.Pointer
            || types.IsPoolType(type))
        {
            return CarriedKinds.None;
        }

        if (type.IsTupleType || type.IsAnonymousType)
        {
            return CarriedKinds.Both;
        }

        foreach (var location in type.OriginalDefinition.Locations)
        {
            if (location.IsInSource)
            {
                return CarriedKinds.Both;
            }
        }

        return CarriedKinds.None;
    }
}

/// <summary>What a wrapper's member can give back.</summary>
internal enum CarriedKinds : byte
{
    None = 0,
    Pages = 1,
    Arrays = 2,
    Both = 3,
}
