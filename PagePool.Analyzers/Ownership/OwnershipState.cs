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

    private PathNote(bool isException, int line, bool sense, PathNote? next, int depth, IOperation? call = null)
    {
        Call = call;
        IsException = isException;
        Line = line;
        Sense = sense;
        Next = next;
        Depth = depth;
    }

    public bool IsException { get; }

    /// <summary>For an exception: the call that threw it (PP1006 reports there); null for a <c>throw</c>.</summary>
    public IOperation? Call { get; }

    public int Line { get; }

    public bool Sense { get; }

    public PathNote? Next { get; }

    public int Depth { get; }

    public static PathNote Push(PathNote? head, bool isException, int line, bool sense, IOperation? call = null)
    {
        if (head is not null && head.Depth >= MaxDepth)
        {
            head = Truncate(head, MaxDepth - 1);
        }

        return new PathNote(isException, line, sense, head, (head?.Depth ?? 0) + 1, call);
    }

    private static PathNote? Truncate(PathNote? note, int depth)
    {
        if (note is null || depth == 0)
        {
            return null;
        }

        var rest = Truncate(note.Next, depth - 1);
        return new PathNote(note.IsException, note.Line, note.Sense, rest, (rest?.Depth ?? 0) + 1, note.Call);
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

    /// <summary>The set of one id; the sets of small ids are shared (a set is never changed in place).</summary>
    public static ResourceSet Of(int id)
    {
        if ((uint)id >= (uint)Singles.Length)
        {
            return new(new[] { id });
        }

        return new(Singles[id] ??= new[] { id });
    }

    private static readonly int[]?[] Singles = new int[]?[256];

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
/// The variables one dataflow run tracks, numbered in the order they first hold a value, so that a state keeps
/// them in an array: copying a state copies an array instead of rehashing a dictionary.
/// </summary>
internal sealed class VariableSlots
{
    private readonly Dictionary<object, int> _slots = new(VariableComparer.Instance);

    public int Count => _slots.Count;

    public bool TryGet(object variable, out int slot) => _slots.TryGetValue(variable, out slot);

    public int GetOrAdd(object variable)
    {
        if (!_slots.TryGetValue(variable, out var slot))
        {
            slot = _slots.Count;
            _slots.Add(variable, slot);
        }

        return slot;
    }
}

/// <summary>
/// The states of the tracked values, by id. Enumerated in exactly the order a
/// <c>Dictionary&lt;int, ResourceState&gt;</c> enumerates (insertion order; a removed entry's place taken by the
/// next insertion, the last freed first; a copy compacted), because when two values of one site leak at the
/// same place, the first one enumerated words the message. A method tracks a handful of values: a linear
/// search beats hashing, and a copy is two array copies.
/// </summary>
internal sealed class ResourceMap
{
    /// <summary>The id of a removed entry.</summary>
    public const int Removed = -1;

    private static readonly int[] NoIds = Array.Empty<int>();
    private static readonly ResourceState[] NoValues = Array.Empty<ResourceState>();

    private int[] _ids;
    private ResourceState[] _values;
    private int _end;
    private int[]? _free;
    private int _freeCount;

    public ResourceMap()
    {
        _ids = NoIds;
        _values = NoValues;
    }

    /// <summary>A compacted copy of <paramref name="other"/>.</summary>
    public ResourceMap(ResourceMap other)
    {
        var count = other._end - other._freeCount;
        if (count == 0)
        {
            _ids = NoIds;
            _values = NoValues;
            return;
        }

        _ids = new int[count];
        _values = new ResourceState[count];
        if (other._freeCount == 0)
        {
            Array.Copy(other._ids, _ids, count);
            Array.Copy(other._values, _values, count);
        }
        else
        {
            var n = 0;
            for (var i = 0; i < other._end; i++)
            {
                if (other._ids[i] != Removed)
                {
                    _ids[n] = other._ids[i];
                    _values[n] = other._values[i];
                    n++;
                }
            }
        }

        _end = count;
    }

    /// <summary>One past the last entry position; positions below it hold an id or <see cref="Removed"/>.</summary>
    public int End => _end;

    public int IdAt(int position) => _ids[position];

    public ResourceState ValueAt(int position) => _values[position];

    public void SetAt(int position, ResourceState value) => _values[position] = value;

    public bool ContainsKey(int id) => IndexOf(id) >= 0;

    public bool TryGetValue(int id, out ResourceState value)
    {
        var index = IndexOf(id);
        if (index < 0)
        {
            value = default;
            return false;
        }

        value = _values[index];
        return true;
    }

    public ResourceState this[int id]
    {
        get
        {
            var index = IndexOf(id);
            if (index < 0)
            {
                throw new KeyNotFoundException();
            }

            return _values[index];
        }

        set
        {
            var index = IndexOf(id);
            if (index >= 0)
            {
                _values[index] = value;
                return;
            }

            if (_freeCount > 0)
            {
                index = _free![--_freeCount];
            }
            else
            {
                if (_end == _ids.Length)
                {
                    var size = _ids.Length == 0 ? 4 : _ids.Length * 2;
                    Array.Resize(ref _ids, size);
                    Array.Resize(ref _values, size);
                }

                index = _end++;
            }

            _ids[index] = id;
            _values[index] = value;
        }
    }

    public bool Remove(int id)
    {
        var index = IndexOf(id);
        if (index < 0)
        {
            return false;
        }

        _ids[index] = Removed;
        _values[index] = default;
        if (_free is null || _freeCount == _free.Length)
        {
            Array.Resize(ref _free, _free is null ? 4 : _free.Length * 2);
        }

        _free[_freeCount++] = index;
        return true;
    }

    private int IndexOf(int id)
    {
        var ids = _ids;
        for (var i = 0; i < _end; i++)
        {
            if (ids[i] == id)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>
/// The abstract state at a program point: which tracked values each variable may hold, what may be true of each
/// value, whether an <c>await</c> may have run, and which bool locals hold the result of a TryAllocPage-shaped call.
/// A variable with no value and a variable without a fact are empty sets (a held value or fact is never empty).
/// </summary>
internal sealed class OwnershipState
{
    private static readonly ResourceSet[] NoSets = Array.Empty<ResourceSet>();

    private readonly VariableSlots _slots;
    private ResourceSet[] _values;
    private ResourceSet[]? _facts;

    public OwnershipState(VariableSlots slots)
    {
        _slots = slots;
        _values = NoSets;
        Resources = new ResourceMap();
    }

    private OwnershipState(OwnershipState other)
    {
        _slots = other._slots;
        _values = other._values.Length == 0 ? NoSets : (ResourceSet[])other._values.Clone();
        _facts = other._facts is null ? null : (ResourceSet[])other._facts.Clone();
        Resources = new ResourceMap(other.Resources);
        AwaitLine = other.AwaitLine;
    }

    public ResourceMap Resources { get; }

    /// <summary>The line of an <c>await</c> some path went through; 0 when none.</summary>
    public int AwaitLine { get; set; }

    public OwnershipState Clone() => new(this);

    public ResourceState Get(int id) => Resources.TryGetValue(id, out var state) ? state : ResourceState.Absent;

    public ResourceSet ValueOf(object variable) =>
        _slots.TryGet(variable, out var slot) && slot < _values.Length ? _values[slot] : ResourceSet.Empty;

    /// <summary>True when some variable holds a value.</summary>
    public bool HasValues
    {
        get
        {
            foreach (var value in _values)
            {
                if (!value.IsEmpty)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Sets what <paramref name="variable"/> holds; an empty set forgets it.</summary>
    public void SetValue(object variable, ResourceSet value)
    {
        if (value.IsEmpty)
        {
            RemoveValue(variable);
            return;
        }

        var slot = _slots.GetOrAdd(variable);
        Set(ref _values, slot, value);
    }

    /// <summary>Forgets what <paramref name="variable"/> holds; true when it held something.</summary>
    public bool RemoveValue(object variable) => Remove(_values, variable);

    public bool TryGetFact(object variable, out ResourceSet facts)
    {
        facts = _facts is not null && _slots.TryGet(variable, out var slot) && slot < _facts.Length ? _facts[slot] : ResourceSet.Empty;
        return !facts.IsEmpty;
    }

    public void SetFact(object variable, ResourceSet facts)
    {
        if (facts.IsEmpty)
        {
            RemoveFact(variable);
            return;
        }

        var slot = _slots.GetOrAdd(variable);
        _facts ??= NoSets;
        Set(ref _facts, slot, facts);
    }

    public void RemoveFact(object variable)
    {
        if (_facts is not null)
        {
            Remove(_facts, variable);
        }
    }

    /// <summary>Every variable and fact that names <paramref name="from"/> names <paramref name="to"/> instead.</summary>
    public void Replace(int from, int to)
    {
        for (var i = 0; i < _values.Length; i++)
        {
            _values[i] = _values[i].Replace(from, to);
        }

        if (_facts is not null)
        {
            for (var i = 0; i < _facts.Length; i++)
            {
                _facts[i] = _facts[i].Replace(from, to);
            }
        }
    }

    public bool IsReferenced(int id)
    {
        foreach (var value in _values)
        {
            if (value.Contains(id))
            {
                return true;
            }
        }

        return false;
    }

    private void Set(ref ResourceSet[] sets, int slot, ResourceSet value)
    {
        if (slot >= sets.Length)
        {
            Array.Resize(ref sets, Math.Max(_slots.Count, Math.Max(4, slot + 1)));
        }

        sets[slot] = value;
    }

    private bool Remove(ResourceSet[] sets, object variable)
    {
        if (!_slots.TryGet(variable, out var slot) || slot >= sets.Length || sets[slot].IsEmpty)
        {
            return false;
        }

        sets[slot] = ResourceSet.Empty;
        return true;
    }

    /// <summary>Joins <paramref name="other"/> into this state; true when anything the lattice compares changed.</summary>
    public bool JoinWith(OwnershipState other)
    {
        var changed = false;
        for (var slot = 0; slot < other._values.Length; slot++)
        {
            var theirs = other._values[slot];
            if (theirs.IsEmpty)
            {
                continue;
            }

            var mine = slot < _values.Length ? _values[slot] : ResourceSet.Empty;
            if (mine.IsEmpty)
            {
                Set(ref _values, slot, theirs);
                changed = true;
                continue;
            }

            var union = mine.Union(theirs);
            if (!union.Equals(mine))
            {
                _values[slot] = union;
                changed = true;
            }
        }

        // This state's values first, in its order; then the other's new ones, in the other's order.
        var end = Resources.End;
        for (var position = 0; position < end; position++)
        {
            var id = Resources.IdAt(position);
            if (id == ResourceMap.Removed)
            {
                continue;
            }

            var mine = Resources.ValueAt(position);
            var hasTheirs = other.Resources.TryGetValue(id, out var theirs);
            var joined = Join(mine, hasMine: true, hasTheirs ? theirs : ResourceState.Absent, hasTheirs);
            if (joined.Flags != mine.Flags)
            {
                changed = true;
            }

            Resources.SetAt(position, joined);
        }

        for (var position = 0; position < other.Resources.End; position++)
        {
            var id = other.Resources.IdAt(position);
            if (id == ResourceMap.Removed || Resources.ContainsKey(id))
            {
                continue;
            }

            Resources[id] = Join(ResourceState.Absent, hasMine: false, other.Resources.ValueAt(position), hasTheirs: true);
            changed = true;
        }

        if (_facts is not null)
        {
            for (var slot = 0; slot < _facts.Length; slot++)
            {
                var mine = _facts[slot];
                if (mine.IsEmpty)
                {
                    continue;
                }

                var theirs = other._facts is not null && slot < other._facts.Length ? other._facts[slot] : ResourceSet.Empty;
                if (theirs.IsEmpty || !theirs.Equals(mine))
                {
                    _facts[slot] = ResourceSet.Empty;
                    changed = true;
                }
            }
        }

        if (AwaitLine == 0 && other.AwaitLine != 0)
        {
            AwaitLine = other.AwaitLine;
            changed = true;
        }

        return changed;
    }

    private static ResourceState Join(ResourceState mine, bool hasMine, ResourceState theirs, bool hasTheirs)
    {
        var joined = mine;
        joined.Flags = mine.Flags | theirs.Flags;
        joined.Note = !hasTheirs ? mine.Note
            : (mine.Flags & Own.Held) != 0
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
        return joined;
    }
}
