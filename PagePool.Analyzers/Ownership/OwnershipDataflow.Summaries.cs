using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>
/// Callee summaries (OwnershipSummaries.cs): how the dataflow infers one from a callee's body, and how a call uses
/// it: a parameter the callee recycles, stores or keeps in its result, a <c>ref</c> argument the callee gives back
/// and refills (<c>Resize(ref array, n)</c>), an <c>out</c> argument it fills from a pool, a result it rents.
/// </summary>
/// <remarks>
/// A summary is inferred by running this same analysis over the callee's graph with every parameter owned: a
/// parameter still owned at some normal exit is only borrowed; one returned, or stored into the new object by a
/// constructor, is kept by the result; one recycled on every path is as good as <c>[Owned]</c>; any other mix of
/// recycling, storing and handing on discharges the caller. Paths the callee leaves by throwing do not count: a
/// throw in the callee is an exception path of the caller, which PP1001 does not follow.
/// </remarks>
internal sealed partial class OwnershipDataflow
{
    private readonly SummaryRecorder? _summary;
    private Func<IMethodSymbol, ControlFlowGraph?>? _localFunctionGraphs;

    /// <summary>Infers the summary of <paramref name="method"/> from its graph.</summary>
    /// <summary>Infers the summary of <paramref name="method"/> from its graph, reading callees with <paramref name="calleeBudget"/>.</summary>
    public static MethodSummary Summarize(ControlFlowGraph graph, IMethodSymbol method, OwnershipTypes types, int calleeBudget, CancellationToken cancellationToken)
    {
        var recorder = new SummaryRecorder(method, calleeBudget);
        var flow = new OwnershipDataflow(graph, method, types, localPoolInstances: null, NoReporter, trackArrays: true, offContextApi: null, detailed: false, cancellationToken, recorder);
        return flow.Run() ? recorder.Finish() : MethodSummary.Unknown;
    }

    /// <summary>What a summary run has seen so far.</summary>
    internal sealed class SummaryRecorder
    {
        public SummaryRecorder(IMethodSymbol method, int calleeBudget)
        {
            Method = method;
            CalleeBudget = calleeBudget;
            var count = method.Parameters.Length;
            ParameterIds = new int[count];
            for (var i = 0; i < count; i++)
            {
                ParameterIds[i] = -1;
            }

            ExitFlags = new Own[count];
            Leaked = new bool[count];
            RefKeptOld = new bool[count];
            Fresh = new ResourceKind?[count];
        }

        public IMethodSymbol Method { get; }

        /// <summary>How deep this run's own callees are read.</summary>
        public int CalleeBudget { get; }

        /// <summary>The tracked value each parameter starts with; -1 for one not tracked.</summary>
        public int[] ParameterIds { get; }

        /// <summary>What each parameter's own value may be at a normal exit.</summary>
        public Own[] ExitFlags { get; }

        /// <summary>Some normal exit still owes the parameter's value: the caller's obligation stays.</summary>
        public bool[] Leaked { get; }

        /// <summary>A <c>ref</c> parameter still holds its incoming value at some exit.</summary>
        public bool[] RefKeptOld { get; }

        /// <summary>A <c>ref</c> or <c>out</c> parameter holds a fresh owned value at some exit: of which kind.</summary>
        public ResourceKind?[] Fresh { get; }

        public bool ReachedExit { get; set; }

        /// <summary>The tracked value standing for what the receiver holds (an instance method of a wrapper); -1 if none.</summary>
        public int ThisId { get; set; } = -1;

        public Own ThisFlags { get; set; }

        public bool ThisLeaked { get; set; }

        /// <summary>Everything some return hands back.</summary>
        public ResourceSet Returned { get; set; }

        /// <summary>Everything a constructor stores into the object it builds.</summary>
        public ResourceSet KeptByThis { get; set; }

        public ResourceKind? FreshReturn { get; set; }

        /// <summary>Some return hands back a value that is neither fresh nor null.</summary>
        public bool ReturnsOther { get; set; }

        public MethodSummary Finish()
        {
            if (!ReachedExit)
            {
                return MethodSummary.Unknown;
            }

            var parameters = ImmutableArray.CreateBuilder<ParameterSummary>(ParameterIds.Length);
            for (var i = 0; i < ParameterIds.Length; i++)
            {
                var parameter = Method.Parameters[i];
                var id = ParameterIds[i];
                if (parameter.RefKind == RefKind.Out)
                {
                    parameters.Add(new ParameterSummary(ParameterEffect.None, RefEffect.None, Fresh[i]));
                }
                else if (id < 0 || Leaked[i])
                {
                    parameters.Add(default);
                }
                else if (parameter.RefKind == RefKind.Ref)
                {
                    var effect = Fresh[i] is not null ? RefEffect.Replaces : RefKeptOld[i] ? RefEffect.None : RefEffect.Clears;
                    parameters.Add(new ParameterSummary(ParameterEffect.None, effect, Fresh[i]));
                }
                else if (Returned.Contains(id) || KeptByThis.Contains(id))
                {
                    parameters.Add(new ParameterSummary(ParameterEffect.KeptByResult, RefEffect.None, null));
                }
                else
                {
                    var effect = ExitFlags[i] == Own.Released ? ParameterEffect.Releases : ParameterEffect.Escapes;
                    parameters.Add(new ParameterSummary(effect, RefEffect.None, null));
                }
            }

            var instance = ParameterEffect.None;
            if (ThisId >= 0)
            {
                // A guarded Dispose ("if (_disposed) return;") leaves the value on one path: any path that gives it
                // back discharges the caller; only giving it back on every path counts as a release.
                instance = Returned.Contains(ThisId) ? ParameterEffect.KeptByResult
                    : ThisFlags == Own.Released ? ParameterEffect.Releases
                    : (ThisFlags & (Own.Released | Own.Borrowed)) != 0 ? ParameterEffect.Escapes
                    : ParameterEffect.None;
            }

            var summary = new MethodSummary(parameters.MoveToImmutable(), ReturnsOther ? null : FreshReturn, keepsInstance: false, keepsAllArguments: false);
            return summary.WithInstanceEffect(instance);
        }
    }

    /// <summary>
    /// A variable no code can name, one per parameter: it keeps each parameter's value referenced, so that the
    /// value's state is still there at the exits (a parameter overwritten in the body would otherwise be dropped).
    /// </summary>
    private sealed class ParameterAnchor
    {
    }

    /// <summary>The state a summary run starts from: every parameter that can hold something, owned.</summary>
    private OwnershipState SummaryInitialState(SummaryRecorder recorder)
    {
        var initial = new OwnershipState(_slots);
        var parameters = recorder.Method.Parameters;
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            var type = parameter.Type;
            if (parameter.RefKind == RefKind.Out
                || type.SpecialType is not (SpecialType.None or SpecialType.System_Object)
                || type.TypeKind is TypeKind.Enum or TypeKind.Delegate or TypeKind.Pointer or TypeKind.FunctionPointer)
            {
                continue;
            }

            var location = parameter.Locations.Length > 0 ? parameter.Locations[0] : Location.None;
            var kind = _types.KindOf(type) ?? ResourceKind.Page;
            var site = GetSite(parameter, location, kind, parameter.Name, isParameter: true);
            _sites[site].Name = parameter.Name;
            var id = site * 2;
            recorder.ParameterIds[i] = id;
            initial.Resources[id] = new ResourceState { Flags = Own.Held };
            initial.SetValue(parameter, ResourceSet.Of(id));
            initial.SetValue(new ParameterAnchor(), ResourceSet.Of(id));
        }

        var method = recorder.Method;
        if (!method.IsStatic && method.MethodKind != MethodKind.Constructor && method.ContainingType is { } containing
            && OwnershipWrappers.Carries(containing, _types) != CarriedKinds.None)
        {
            var location = method.Locations.Length > 0 ? method.Locations[0] : Location.None;
            var site = GetSite(recorder, location, ResourceKind.Page, "this", isParameter: true);
            _sites[site].Name = "this";
            var id = site * 2;
            recorder.ThisId = id;
            initial.Resources[id] = new ResourceState { Flags = Own.Held };
            initial.SetValue(new ParameterAnchor(), ResourceSet.Of(id));
        }

        return initial;
    }

    /// <summary>A value the summary run's method returns: kept by the result, fresh, or something else.</summary>
    private void RecordReturn(OwnershipState state, ResourceSet returned, IOperation value)
    {
        var recorder = _summary!;
        recorder.Returned = recorder.Returned.Union(returned);
        var fresh = FreshIn(state, returned);
        if (fresh is not null && !MayBeAbsent(state, returned))
        {
            recorder.FreshReturn ??= fresh;
        }
        else if (!IsNullOrDefault(value))
        {
            recorder.ReturnsOther = true;
        }
    }

    /// <summary>One path reaching the summary run's exit, before paths are joined.</summary>
    private void RecordExit(OwnershipState state)
    {
        var recorder = _summary!;
        recorder.ReachedExit = true;
        if (recorder.ThisId >= 0)
        {
            var flags = state.Get(recorder.ThisId).Flags;
            recorder.ThisFlags |= flags;
            recorder.ThisLeaked |= (flags & Own.Held) != 0;
        }

        var parameters = recorder.Method.Parameters;
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            var id = recorder.ParameterIds[i];
            if (parameter.RefKind is RefKind.Ref or RefKind.Out)
            {
                var value = state.ValueOf(parameter);
                recorder.Fresh[i] ??= FreshIn(state, value);
                if (id >= 0 && value.Contains(id))
                {
                    // Still in the variable: kept, unless this path knows it is null ("if (a != null) { ...; a = null; }").
                    recorder.RefKeptOld[i] |= (state.Get(id).Flags & (Own.Held | Own.Borrowed)) != 0;
                    continue;
                }
            }

            if (id < 0)
            {
                continue;
            }

            var flags = state.Get(id).Flags;
            recorder.ExitFlags[i] |= flags;
            if ((flags & Own.Held) != 0)
            {
                recorder.Leaked[i] = true;
            }
        }
    }

    /// <summary>
    /// Some path reaches here without the value (<c>n &gt; 64 ? Rent(n) : new byte[n]</c>, or a variable still
    /// null): the caller cannot tell whether it got a rented array, so the result is not taken as owned.
    /// </summary>
    private static bool MayBeAbsent(OwnershipState state, ResourceSet value)
    {
        foreach (var id in value.Ids)
        {
            if ((state.Get(id).Flags & Own.Absent) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The kind of a fresh value in <paramref name="value"/> (one this method took from a pool and still owns).</summary>
    private ResourceKind? FreshIn(OwnershipState state, ResourceSet value)
    {
        foreach (var id in value.Ids)
        {
            var site = _sites[id / 2];
            if (!site.IsParameter && (state.Get(id).Flags & Own.Held) != 0)
            {
                return site.Kind;
            }
        }

        return null;
    }

    /// <summary><c>this</c> in a summary run of a wrapper's instance method stands for what the object holds.</summary>
    private ResourceSet ThisValue(IInstanceReferenceOperation reference) =>
        _summary is { ThisId: >= 0 } recorder && reference.ReferenceKind == InstanceReferenceKind.ContainingTypeInstance
            ? ResourceSet.Of(recorder.ThisId)
            : ResourceSet.Empty;

    // ---- using summaries at a call ----

    /// <summary>
    /// A call on a receiver that holds tracked values (a wrapper): what the method does with them. An interface
    /// method (<c>Dispose</c> in a <c>using</c>) is followed to the implementation a sealed class or a struct runs.
    /// Returns the values the result keeps.
    /// </summary>
    private ResourceSet ApplyInstanceEffect(OwnershipState state, IOperation call, IMethodSymbol method, IOperation instance, ResourceSet instanceValue)
    {
        if (_types.KindOf(instance.Type) is not null)
        {
            // The page or the array itself: its own methods are uses.
            return ResourceSet.Empty;
        }

        var target = method;
        if (method.ContainingType?.TypeKind == TypeKind.Interface
            && Strip(instance).Type is INamedTypeSymbol receiver
            && (receiver.IsSealed || receiver.IsValueType)
            && receiver.FindImplementationForInterfaceMember(method) is IMethodSymbol implementation)
        {
            target = implementation;
        }

        if (OwnershipSummaries.Summarizable(target) is null)
        {
            return ResourceSet.Empty;
        }

        switch (SummaryOf(target).InstanceEffect)
        {
            case ParameterEffect.Releases:
                Release(state, instanceValue, ReleaseKind.HandedOn, LineOf(call), instance, checkTwice: false);
                break;
            case ParameterEffect.Escapes:
                Escape(state, instanceValue);
                break;
            case ParameterEffect.KeptByResult:
                return instanceValue;
        }

        return ResourceSet.Empty;
    }

    /// <summary>
    /// True when a call to <paramref name="method"/> may have something to learn from a summary besides its
    /// arguments' values: a <c>ref</c> or <c>out</c> parameter that can hold a page or an array, or an array
    /// (or array wrapper) it may rent for the caller.
    /// </summary>
    private bool WantsSummary(IMethodSymbol method)
    {
        if (OwnershipSummaries.Summarizable(method) is null)
        {
            return false;
        }

        foreach (var parameter in method.Parameters)
        {
            // An out page keeps its own rules (EvalOut): only a ref page, or an array, needs the body.
            if ((parameter.RefKind == RefKind.Ref && CanBeFresh(parameter.Type))
                || (parameter.RefKind == RefKind.Out && CanBeFresh(parameter.Type) && !_types.IsPage(parameter.Type)))
            {
                return true;
            }
        }

        return CanBeFresh(method.ReturnType) && !_types.IsPage(method.ReturnType);
    }

    /// <summary>A type a callee can hand the caller a new obligation in: a page, or (with the array rules on) an array or array wrapper.</summary>
    private bool CanBeFresh(ITypeSymbol? type) =>
        _types.IsPage(type) || (_trackArrays && (OwnershipTypes.IsArray(type) || OwnershipWrappers.IsArrayWrapper(type)));

    private MethodSummary SummaryOf(IMethodSymbol method) =>
        _types.Summaries.Get(method, _summary?.CalleeBudget ?? OwnershipSummaries.MaxDepth, _localFunctionGraphs ??= LocalFunctionGraph, _cancellationToken);

    /// <summary>
    /// An <c>out</c> argument that is not a page (pages keep their rules in <see cref="EvalOut"/>): the segment
    /// <c>MemoryMarshal.TryGetArray</c> fills is the memory's own array; an array a callee rents into it is the
    /// caller's. Returns what the caller now owns (for a Try method's result), or nothing.
    /// </summary>
    private ResourceSet EvalWrapperOut(OwnershipState state, IArgumentOperation argument, IMethodSymbol method, MethodSummary? summary, ResourceSet firstArgument)
    {
        if (OwnershipWrappers.IsTryGetArray(method))
        {
            WriteOut(state, argument, firstArgument);
            return ResourceSet.Empty;
        }

        if (summary?.For(argument.Parameter).Fresh is { } kind && (kind == ResourceKind.Page || _trackArrays))
        {
            var created = NewResource(state, argument, Own.Held, kind, null, method.Name);
            WriteOut(state, argument, created);
            return created;
        }

        Eval(argument.Value, state, Mode.NoUse);
        return ResourceSet.Empty;
    }

    /// <summary>
    /// <c>ref</c> arguments after the call: where the callee gives the old value back and refills the variable
    /// (or leaves it empty), the old obligation is settled and the variable holds a new one.
    /// </summary>
    private void ApplyRefEffects(OwnershipState state, ImmutableArray<IArgumentOperation> arguments, IMethodSymbol method, MethodSummary summary)
    {
        foreach (var argument in arguments)
        {
            if (argument.Parameter?.RefKind != RefKind.Ref)
            {
                continue;
            }

            var effect = summary.For(argument.Parameter);
            if (effect.RefEffect == RefEffect.None)
            {
                continue;
            }

            object? variable = Strip(argument.Value) switch
            {
                ILocalReferenceOperation local => local.Local,
                IParameterReferenceOperation parameter => parameter.Parameter,
                _ => null,
            };

            if (variable is null)
            {
                continue;
            }

            Release(state, state.ValueOf(variable), ReleaseKind.HandedOn, LineOf(argument), argument.Value, checkTwice: true);
            state.RemoveFact(variable);
            if (effect.RefEffect == RefEffect.Replaces && effect.Fresh is { } kind && (kind == ResourceKind.Page || _trackArrays))
            {
                Assign(state, variable, NewResource(state, argument, Own.Held, kind, null, method.Name), (variable as ISymbol)?.Name);
            }
            else
            {
                state.SetValue(variable, ResourceSet.Empty);
            }
        }
    }
}
