using System;
using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;

namespace PagePool.Analyzers.Ownership;

/// <summary>What may be true of a tracked value on the paths that reach a program point (a may-set).</summary>
[Flags]
internal enum Own : byte
{
    None = 0,

    /// <summary>Owned here and not yet recycled or handed on: the obligation is open.</summary>
    Held = 1,

    /// <summary>A valid page this code does not have to give back (lent, or stored where someone else will).</summary>
    Borrowed = 2,

    /// <summary>Recycled or handed on: any further use is a use after recycle.</summary>
    Released = 4,

    /// <summary>No page at all: never allocated on this path, <c>default</c>, or TryAllocPage returned false.</summary>
    Absent = 8,
}

/// <summary>Why a page left this code: the words a message uses.</summary>
internal enum ReleaseKind : byte
{
    Recycled,
    HandedOn,
    Returned,
}

/// <summary>A step of the path that led to the current state, for messages: "when the condition at line 12 is false".</summary>
internal sealed class PathNote
{
    private const int MaxDepth = 6;

    private PathNote(bool isException, int line, bool sense, PathNote? next, int depth)
    {
        IsException = isException;
        Line = line;
        Sense = sense;
        Next = next;
        Depth = depth;
    }

    public bool IsException { get; }

    public int Line { get; }

    public bool Sense { get; }

    public PathNote? Next { get; }

    public int Depth { get; }

    public static PathNote Push(PathNote? head, bool isException, int line, bool sense)
    {
        if (head is not null && head.Depth >= MaxDepth)
        {
            head = Truncate(head, MaxDepth - 1);
        }

        return new PathNote(isException, line, sense, head, (head?.Depth ?? 0) + 1);
    }

    private static PathNote? Truncate(PathNote? note, int depth)
    {
        if (note is null || depth == 0)
        {
            return null;
        }

        var rest = Truncate(note.Next, depth - 1);
        return new PathNote(note.IsException, note.Line, note.Sense, rest, (rest?.Depth ?? 0) + 1);
    }

    /// <summary>
    /// Where two paths meet: a condition whose two outcomes both arrive here did not matter, so it is dropped;
    /// otherwise the first path's explanation is kept.
    /// </summary>
    public static PathNote? Merge(PathNote? a, PathNote? b)
    {
        while (a is not null && b is not null && !a.IsException && !b.IsException && a.Line == b.Line && a.Sense != b.Sense)
        {
            a = a.Next;
            b = b.Next;
        }

        return a ?? b;
    }
}

/// <summary>The identity of a pool, as far as it is known: its type, and the instance when it can be told apart.</summary>
internal sealed class PoolIdentity : IEquatable<PoolIdentity>
{
    public const int Named = 0;
    public const int This = 1;
    public const int Other = 2;

    private readonly int _shape;
    private readonly string? _name;

    // shape: Named (a local or field called name), This, or Other; the words are built only for a message.
    public PoolIdentity(ITypeSymbol type, object? instance, int shape, string? name)
    {
        Type = type;
        Instance = instance;
        _shape = shape;
        _name = name;
    }

    public ITypeSymbol Type { get; }

    /// <summary>The creation operation or the readonly field that holds the instance; null when unknown.</summary>
    public object? Instance { get; }

    /// <summary>How a message names the pool (built only for a message).</summary>
    public string Display => _shape switch
    {
        Named => $"'{_name}' ({Type.Name})",
        This => $"this ({Type.Name})",
        _ => $"a {Type.Name}",
    };

    public bool Equals(PoolIdentity? other) =>
        other is not null
        && SymbolEqualityComparer.Default.Equals(Type, other.Type)
        && Equals(Instance, other.Instance);

    public override bool Equals(object? obj) => Equals(obj as PoolIdentity);

    public override int GetHashCode() => SymbolEqualityComparer.Default.GetHashCode(Type);

    /// <summary>True only when the two are known to be different pools.</summary>
    public bool IsKnownDifferent(PoolIdentity other)
    {
        if (!SymbolEqualityComparer.Default.Equals(Type, other.Type))
        {
            return !Derives(Type, other.Type) && !Derives(other.Type, Type);
        }

        return Instance is not null && other.Instance is not null && !Instance.Equals(other.Instance);
    }

    private static bool Derives(ITypeSymbol type, ITypeSymbol baseType)
    {
        for (var t = type.BaseType; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, baseType))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The state of one tracked value (an allocation site, or a parameter).</summary>
internal struct ResourceState
{
    public Own Flags;
    public PathNote? Note;
    public int ReleaseLine;
    public ReleaseKind ReleaseKind;
    public PoolIdentity? Pool;

    public static ResourceState Absent => new() { Flags = Own.Absent };
}

/// <summary>A small immutable set of resource ids (sorted).</summary>
internal readonly struct ResourceSet : IEquatable<ResourceSet>
{
    private static readonly int[] NoIds = Array.Empty<int>();
    private readonly int[]? _ids;

    private ResourceSet(int[] ids) => _ids = ids;

    public static ResourceSet Empty => default;

    public int Count => _ids?.Length ?? 0;

    public bool IsEmpty => Count == 0;

    public int this[int index] => _ids![index];

    public int[] Ids => _ids ?? NoIds;

    public static ResourceSet Of(int id) => new(new[] { id });

    public bool Contains(int id) => _ids is not null && Array.BinarySearch(_ids, id) >= 0;

    public ResourceSet Union(ResourceSet other)
    {
        if (other.IsEmpty)
        {
            return this;
        }

        if (IsEmpty)
        {
            return other;
        }

        var merged = new List<int>(Count + other.Count);
        int i = 0, j = 0;
        var a = _ids!;
        var b = other._ids!;
        while (i < a.Length || j < b.Length)
        {
            if (j >= b.Length || (i < a.Length && a[i] < b[j]))
            {
                merged.Add(a[i++]);
            }
            else if (i >= a.Length || b[j] < a[i])
            {
                merged.Add(b[j++]);
            }
            else
            {
                merged.Add(a[i]);
                i++;
                j++;
            }
        }

        return merged.Count == a.Length ? this : new ResourceSet(merged.ToArray());
    }

    public ResourceSet Replace(int from, int to)
    {
        if (!Contains(from))
        {
            return this;
        }

        var list = new List<int>(Count);
        foreach (var id in Ids)
        {
            if (id != from)
            {
                list.Add(id);
            }
        }

        if (!list.Contains(to))
        {
            list.Add(to);
        }

        list.Sort();
        return new ResourceSet(list.ToArray());
    }

    public bool Equals(ResourceSet other)
    {
        if (Count != other.Count)
        {
            return false;
        }

        for (var i = 0; i < Count; i++)
        {
            if (_ids![i] != other._ids![i])
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is ResourceSet other && Equals(other);

    public override int GetHashCode() => Count == 0 ? 0 : (_ids![0] * 31) + Count;
}

/// <summary>Variables are locals, parameters and the graph's flow captures; symbols compare by symbol identity.</summary>
internal sealed class VariableComparer : IEqualityComparer<object>
{
    public static readonly VariableComparer Instance = new();

    public new bool Equals(object? x, object? y)
    {
        if (x is ISymbol a && y is ISymbol b)
        {
            return SymbolEqualityComparer.Default.Equals(a, b);
        }

        return object.Equals(x, y);
    }

    public int GetHashCode(object obj) =>
        obj is ISymbol symbol ? SymbolEqualityComparer.Default.GetHashCode(symbol) : obj.GetHashCode();
}

/// <summary>
/// The abstract state at a program point: which tracked values each variable may hold, what may be true of each
/// value, whether an <c>await</c> may have run, and which bool locals hold the result of a TryAllocPage-shaped call.
/// </summary>
internal sealed class OwnershipState
{
    public OwnershipState()
    {
        Variables = new Dictionary<object, ResourceSet>(VariableComparer.Instance);
        Resources = new Dictionary<int, ResourceState>();
        TryFacts = new Dictionary<object, ResourceSet>(VariableComparer.Instance);
    }

    private OwnershipState(OwnershipState other)
    {
        Variables = new Dictionary<object, ResourceSet>(other.Variables, VariableComparer.Instance);
        Resources = new Dictionary<int, ResourceState>(other.Resources);
        TryFacts = new Dictionary<object, ResourceSet>(other.TryFacts, VariableComparer.Instance);
        AwaitLine = other.AwaitLine;
    }

    public Dictionary<object, ResourceSet> Variables { get; }

    public Dictionary<int, ResourceState> Resources { get; }

    public Dictionary<object, ResourceSet> TryFacts { get; }

    /// <summary>The line of an <c>await</c> some path went through; 0 when none.</summary>
    public int AwaitLine { get; set; }

    public OwnershipState Clone() => new(this);

    public ResourceState Get(int id) => Resources.TryGetValue(id, out var state) ? state : ResourceState.Absent;

    public ResourceSet ValueOf(object variable) => Variables.TryGetValue(variable, out var value) ? value : ResourceSet.Empty;

    public bool IsReferenced(int id)
    {
        foreach (var value in Variables.Values)
        {
            if (value.Contains(id))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Joins <paramref name="other"/> into this state; true when anything the lattice compares changed.</summary>
    public bool JoinWith(OwnershipState other)
    {
        var changed = false;
        foreach (var pair in other.Variables)
        {
            if (Variables.TryGetValue(pair.Key, out var mine))
            {
                var union = mine.Union(pair.Value);
                if (!union.Equals(mine))
                {
                    Variables[pair.Key] = union;
                    changed = true;
                }
            }
            else
            {
                Variables[pair.Key] = pair.Value;
                changed = true;
            }
        }

        var ids = new List<int>(Resources.Keys);
        foreach (var id in other.Resources.Keys)
        {
            if (!Resources.ContainsKey(id))
            {
                ids.Add(id);
            }
        }

        foreach (var id in ids)
        {
            var hasMine = Resources.TryGetValue(id, out var mine);
            var hasTheirs = other.Resources.TryGetValue(id, out var theirs);
            if (!hasMine)
            {
                mine = ResourceState.Absent;
            }

            if (!hasTheirs)
            {
                theirs = ResourceState.Absent;
            }

            var joined = mine;
            joined.Flags = mine.Flags | theirs.Flags;
            joined.Note = (mine.Flags & Own.Held) != 0
                ? ((theirs.Flags & Own.Held) != 0 ? PathNote.Merge(mine.Note, theirs.Note) : mine.Note)
                : theirs.Note;
            if (joined.ReleaseLine == 0)
            {
                joined.ReleaseLine = theirs.ReleaseLine;
                joined.ReleaseKind = theirs.ReleaseKind;
            }

            joined.Pool = hasMine && hasTheirs
                ? (Equals(mine.Pool, theirs.Pool) ? mine.Pool : null)
                : (hasMine ? mine.Pool : theirs.Pool);

            if (!hasMine || joined.Flags != mine.Flags)
            {
                changed = true;
            }

            Resources[id] = joined;
        }

        List<object>? dropFacts = null;
        foreach (var pair in TryFacts)
        {
            if (!other.TryFacts.TryGetValue(pair.Key, out var theirs) || !theirs.Equals(pair.Value))
            {
                (dropFacts ??= new List<object>()).Add(pair.Key);
            }
        }

        if (dropFacts is not null)
        {
            foreach (var key in dropFacts)
            {
                TryFacts.Remove(key);
            }

            changed = true;
        }

        if (AwaitLine == 0 && other.AwaitLine != 0)
        {
            AwaitLine = other.AwaitLine;
            changed = true;
        }

        return changed;
    }
}
