using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>Transfer functions for calls and creations: which calls take, lend, release or hand on a page or an array, and the resources they create.</summary>
internal sealed partial class OwnershipDataflow
{
    private ResourceSet EvalCall(
        IOperation call,
        IMethodSymbol method,
        IOperation? instance,
        ImmutableArray<IArgumentOperation> arguments,
        OwnershipState state)
    {
        var instanceValue = Eval(instance, state, Mode.Use);
        if (method.MethodKind == MethodKind.LocalFunction)
        {
            EscapeCaptured(state, LocalFunctionGraph(method));
        }

        var receiverType = instance?.Type
            ?? (method.IsExtensionMethod && arguments.Length > 0 ? arguments[0].Value.Type : null);
        bool? storesInReceiver = null;
        var isReturn = _trackArrays && _types.IsReturn(method);

        List<(IArgumentOperation Argument, ResourceSet Value)>? consumed = null;
        List<ResourceSet>? escaped = null;
        List<IArgumentOperation>? outs = null;

        // What the callee's body (or the BCL) says it does with each argument: asked for only when it matters.
        MethodSummary? summary = null;
        var asked = false;
        var kept = ResourceSet.Empty;
        var firstArgument = ResourceSet.Empty;

        foreach (var argument in arguments)
        {
            var parameter = argument.Parameter;
            if (parameter?.RefKind == RefKind.Out)
            {
                (outs ??= new List<IArgumentOperation>()).Add(argument);
                continue;
            }

            var owned = _types.IsOwnedParameter(parameter) || (isReturn && parameter?.Ordinal == 0);
            if (!owned
                && argument.ArgumentKind == ArgumentKind.ParamArray
                && Strip(argument.Value) is IArrayCreationOperation { Initializer: { } elements }
                && parameter?.OriginalDefinition.Type is IArrayTypeSymbol { ElementType: not ITypeParameterSymbol })
            {
                // A params array (a log call's arguments) lives for the call only: its elements are lent, not stored.
                foreach (var element in elements.ElementValues)
                {
                    Eval(element, state, Mode.Use);
                }

                continue;
            }

            var settledAfter = false;
            if (!owned && parameter is { RefKind: RefKind.Ref } && CanBeFresh(parameter.Type) && OwnershipSummaries.Summarizable(method) is not null)
            {
                // A ref argument the callee gives back and refills is not used by the call: it is handed on.
                if (!asked)
                {
                    asked = true;
                    summary = SummaryOf(method);
                }

                settledAfter = summary!.For(parameter).RefEffect != RefEffect.None;
            }

            var value = Eval(argument.Value, state,
                owned || settledAfter ? Mode.Consume : IsReferenceComparison(method) ? Mode.NoUse : Mode.Use);
            if (parameter?.Ordinal == 0)
            {
                firstArgument = value;
            }

            if (value.IsEmpty)
            {
                continue;
            }

            if (!owned && parameter is not null)
            {
                if (!asked)
                {
                    asked = true;
                    summary = SummaryOf(method);
                }

                var effect = summary!.For(parameter);
                if (effect.RefEffect != RefEffect.None)
                {
                    // Settled after the call (ApplyRefEffects).
                    continue;
                }

                switch (parameter.RefKind == RefKind.Ref ? ParameterEffect.None : effect.Effect)
                {
                    case ParameterEffect.KeptByResult:
                        kept = kept.Union(value);
                        continue;
                    case ParameterEffect.Releases:
                        owned = true;
                        break;
                    case ParameterEffect.Escapes:
                        (escaped ??= new List<ResourceSet>()).Add(value);
                        continue;
                }
            }

            if (owned)
            {
                (consumed ??= new List<(IArgumentOperation, ResourceSet)>()).Add((argument, value));
            }
            else if (parameter is null
                || parameter.OriginalDefinition.Type is ITypeParameterSymbol
                || IsStoringName(method.Name)
                || (!(method.IsExtensionMethod && parameter.Ordinal == 0) && !IsCopyingOutName(method.Name)
                    && (storesInReceiver ??= _types.IsContainerType(receiverType))))
            {
                (escaped ??= new List<ResourceSet>()).Add(value);
            }
        }

        if (method.Name == "RecyclePageDirect" && HasOwnedParameter(method))
        {
            CheckOwnerContext(state, call);
        }

        // A pool's own recycle (or ArrayPool.Return) throws only on misuse (a page that was not ours to give
        // back), so it makes no exception path: "recycle; p = default;" in a try guarded by the finally is right. Handing on to any other [Owned] parameter counts only once the call
        // returns normally, so "recycle in catch, then rethrow" is right.
        var kind = isReturn ? ReleaseKind.Returned
            : consumed is not null && method.Name.StartsWith("Recycle", StringComparison.Ordinal) ? ReleaseKind.Recycled
            : ReleaseKind.HandedOn;
        if (kind == ReleaseKind.HandedOn)
        {
            MayThrow(state, call, method, consumed, escaped, kept);
        }

        if (consumed is not null)
        {
            var pool = kind == ReleaseKind.Recycled ? PoolOf(instance) : null;
            foreach (var (argument, value) in consumed)
            {
                if (pool is not null)
                {
                    CheckSamePool(state, value, pool, argument);
                }

                Release(state, value, kind, LineOf(argument), argument.Value, checkTwice: true);
            }
        }

        if (escaped is not null)
        {
            foreach (var value in escaped)
            {
                Escape(state, value);
            }
        }

        if (!asked && ((!instanceValue.IsEmpty && OwnershipWrappers.KeepsInResult(method, out _, out _)) || WantsSummary(method)))
        {
            asked = true;
            summary = SummaryOf(method);
        }

        if (!instanceValue.IsEmpty && instance is not null && !(summary?.KeepsInstance ?? false))
        {
            kept = kept.Union(ApplyInstanceEffect(state, call, method, instance, instanceValue));
        }

        if (summary is not null)
        {
            if (summary.KeepsInstance)
            {
                kept = kept.Union(instanceValue);
            }

            ApplyRefEffects(state, arguments, method, summary);
            if (!kept.IsEmpty && method.MethodKind == MethodKind.Constructor && call is IInvocationOperation)
            {
                // `: base(page)` / `: this(page)` (a constructor is invoked, not created, only there; its `this`
                // may be a capture when an argument has control flow): the object under construction keeps it.
                StoreIntoThis(state, kept);
                kept = ResourceSet.Empty;
            }
        }

        var lends = (outs is not null || _types.IsPage(method.ReturnType))
            && IsLendingName(method.Name)
            && (storesInReceiver ??= _types.IsContainerType(receiverType));
        if (outs is not null)
        {
            var created = ResourceSet.Empty;
            foreach (var argument in outs)
            {
                created = created.Union(_types.IsPage(argument.Value.Type)
                    ? EvalOut(state, argument, method, lends)
                    : EvalWrapperOut(state, argument, method, summary, firstArgument));
            }

            if (method.ReturnType.SpecialType == SpecialType.System_Boolean && !created.IsEmpty)
            {
                _tryResults[call] = created;
            }
        }

        if (method.ReturnsByRef || method.ReturnsByRefReadonly)
        {
            return ResourceSet.Empty;
        }

        if (!kept.IsEmpty)
        {
            // A wrapper (or the value itself, from a method that returns its argument): the same obligation.
            return kept;
        }

        if (_types.IsPage(method.ReturnType))
        {
            var flags = lends || _types.IsNotOwnedReturn(method) ? Own.Borrowed : Own.Held;
            return NewResource(state, call, flags, ResourceKind.Page, PoolOf(instance), method.Name);
        }

        if (_trackArrays && _types.IsRent(method))
        {
            return NewResource(state, call, Own.Held, ResourceKind.Array, null, method.Name);
        }

        if (summary?.FreshResult is { } fresh && CanBeFresh(method.ReturnType))
        {
            // A method in this compilation that rents for its caller.
            return NewResource(state, call, Own.Held, fresh, null, method.Name);
        }

        return ResourceSet.Empty;
    }

    private bool HasOwnedParameter(IMethodSymbol method)
    {
        foreach (var parameter in method.Parameters)
        {
            if (_types.IsOwnedParameter(parameter))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Add/Enqueue/Push/Write-style methods keep what they are given, whatever the receiver's type.</summary>
    /// <summary>
    /// <c>object.ReferenceEquals</c>, and the test frameworks' <c>Assert.AreSame</c>/<c>AreNotSame</c> (MSTest,
    /// NUnit) and <c>Assert.Same</c>/<c>NotSame</c> (xunit), compare two references and read neither.
    /// </summary>
    private static bool IsReferenceComparison(IMethodSymbol method) =>
        method.IsStatic
        && (method.Name == "ReferenceEquals" && method.ContainingType?.SpecialType == SpecialType.System_Object
            || method.ContainingType?.Name == "Assert" && method.Name is "AreSame" or "AreNotSame" or "Same" or "NotSame");

    /// <summary>A collection's <c>CopyTo</c> writes its items into the array it is given: the array is borrowed, not stored.</summary>
    private static bool IsCopyingOutName(string name) =>
        name is "CopyTo" or "TryCopyTo";

    private static bool IsStoringName(string name) =>
        name.StartsWith("Add", StringComparison.Ordinal)
        || name.StartsWith("TryAdd", StringComparison.Ordinal)
        || name.StartsWith("Enqueue", StringComparison.Ordinal)
        || name.StartsWith("TryEnqueue", StringComparison.Ordinal)
        || name.StartsWith("Push", StringComparison.Ordinal)
        || name.StartsWith("TryPush", StringComparison.Ordinal)
        || name.StartsWith("Insert", StringComparison.Ordinal)
        || name.StartsWith("TryWrite", StringComparison.Ordinal)
        || name.StartsWith("Post", StringComparison.Ordinal);

    private static bool IsLendingName(string name) =>
        name.StartsWith("Peek", StringComparison.Ordinal)
        || name.StartsWith("TryPeek", StringComparison.Ordinal)
        || name.StartsWith("TryGet", StringComparison.Ordinal)
        || name.StartsWith("Get", StringComparison.Ordinal)
        || name.StartsWith("ElementAt", StringComparison.Ordinal)
        || name.StartsWith("First", StringComparison.Ordinal)
        || name.StartsWith("Last", StringComparison.Ordinal)
        || name.StartsWith("Single", StringComparison.Ordinal)
        || name.StartsWith("Find", StringComparison.Ordinal);

    private ResourceSet EvalOut(OwnershipState state, IArgumentOperation argument, IMethodSymbol method, bool lends)
    {
        var target = argument.Value;
        if (!_types.IsPage(target.Type))
        {
            Eval(target, state, Mode.NoUse);
            return ResourceSet.Empty;
        }

        var flags = lends || _types.IsNotOwnedParameter(argument.Parameter) ? Own.Borrowed : Own.Held;
        var created = NewResource(state, argument, flags, ResourceKind.Page, PoolOf(InstanceOf(argument)), method.Name);
        WriteOut(state, argument, created);
        return created;
    }

    /// <summary>An <c>out</c> argument's variable takes <paramref name="created"/>; anywhere else, it escapes.</summary>
    private void WriteOut(OwnershipState state, IArgumentOperation argument, ResourceSet created)
    {
        var target = argument.Value;
        var written = Strip(target);
        if (written is IDeclarationExpressionOperation declaration)
        {
            written = Strip(declaration.Expression);
        }

        switch (written)
        {
            case ILocalReferenceOperation local:
                Assign(state, local.Local, created, local.Local.Name);
                state.RemoveFact(local.Local);
                break;
            case IParameterReferenceOperation parameter:
                Assign(state, parameter.Parameter, created, parameter.Parameter.Name);
                break;
            case IDiscardOperation:
                break;
            default:
                Eval(target, state, Mode.NoUse);
                Escape(state, created);
                break;
        }
    }

    private static IOperation? InstanceOf(IArgumentOperation argument) =>
        argument.Parent is IInvocationOperation invocation ? invocation.Instance : null;

    private void Release(OwnershipState state, ResourceSet value, ReleaseKind kind, int line, IOperation at, bool checkTwice)
    {
        foreach (var id in value.Ids)
        {
            var resource = state.Get(id);
            if (checkTwice && !_reporting && (resource.Flags & Own.Released) != 0)
            {
                _wouldReport = true;
            }
            else if (checkTwice && _reporting && (resource.Flags & Own.Released) != 0)
            {
                var site = _sites[id / 2];
                var isPage = site.Kind == ResourceKind.Page;
                var name = NameOf(at) ?? site.Name ?? "?";
                string message;
                if (resource.ReleaseKind == kind && kind != ReleaseKind.HandedOn)
                {
                    message = isPage
                        ? $"Page '{name}' is recycled twice (first at line {resource.ReleaseLine})"
                        : $"Array '{name}' is returned to the pool twice (first at line {resource.ReleaseLine})";
                }
                else
                {
                    message = $"{(isPage ? "Page" : "Array")} '{name}' is {Describe(kind)} after it was already {Describe(resource.ReleaseKind)} at line {resource.ReleaseLine}";
                }

                message += WhenThrown(resource.Note);

                _reporter.Report(
                    isPage ? OwnershipDescriptors.PageRecycledTwice : OwnershipDescriptors.ArrayReturnedTwice,
                    at.Syntax.GetLocation(),
                    message);
            }

            _handedOnSites.Add(id / 2);
            if ((resource.Flags & Own.Released) == 0)
            {
                resource.ReleaseLine = line;
                resource.ReleaseKind = kind;
            }

            resource.Flags = Own.Released;
            resource.Note = null;
            state.Resources[id] = resource;
        }
    }

    private static string? NameOf(IOperation operation) => Strip(operation) switch
    {
        ILocalReferenceOperation local => local.Local.Name,
        IParameterReferenceOperation parameter => parameter.Parameter.Name,
        _ => null,
    };

    private ResourceSet NewResource(OwnershipState state, IOperation operation, Own flags, ResourceKind kind, PoolIdentity? pool, string origin)
    {
        var site = GetSite(operation, location: null, kind, origin, isParameter: false);
        var id = site * 2;
        if (state.Resources.TryGetValue(id, out var previous) && state.IsReferenced(id))
        {
            // The same site ran again while its previous value is still held somewhere (a loop): keep the
            // previous value as the site's second generation, so the two are tracked apart.
            var older = id + 1;
            if (state.Resources.TryGetValue(older, out var existing) && state.IsReferenced(older))
            {
                if ((previous.Flags & Own.Released) == 0)
                {
                    previous.ReleaseLine = existing.ReleaseLine;
                    previous.ReleaseKind = existing.ReleaseKind;
                }

                previous.Note = (previous.Flags & Own.Held) != 0 ? previous.Note : existing.Note;
                previous.Flags |= existing.Flags;
            }

            state.Resources[older] = previous;
            state.Replace(id, older);
        }

        state.Resources[id] = new ResourceState { Flags = flags, Pool = pool };
        return ResourceSet.Of(id);
    }

    /// <summary>The site of <paramref name="key"/>; its location is the operation's syntax unless given.</summary>
    private int GetSite(object key, Location? location, ResourceKind kind, string origin, bool isParameter)
    {
        if (!_siteIds.TryGetValue(key, out var site))
        {
            site = _sites.Count;
            _sites.Add(new Site(location ?? ((IOperation)key).Syntax.GetLocation(), kind, origin, isParameter));
            _siteIds[key] = site;
        }

        return site;
    }

    // ---- refinement on conditions ----

    private PoolIdentity? PoolOf(IOperation? instance)
    {
        if (instance is null || !_types.IsPoolType(instance.Type))
        {
            return null;
        }

        var type = instance.Type!;
        switch (Strip(instance))
        {
            case ILocalReferenceOperation local:
                object? created = null;
                _localPoolInstances?.TryGetValue(local.Local, out created);
                return new PoolIdentity(type, created, PoolIdentity.Named, local.Local.Name);
            case IFieldReferenceOperation field:
                return new PoolIdentity(type, IsDistinctInstanceField(field.Field) ? field.Field : null, PoolIdentity.Named, field.Field.Name);
            case IInstanceReferenceOperation:
                return new PoolIdentity(type, null, PoolIdentity.This, null);
            default:
                return new PoolIdentity(type, null, PoolIdentity.Other, null);
        }
    }

    /// <summary>A readonly field initialized with its own <c>new</c>: no other such field holds the same pool.</summary>
    private static bool IsDistinctInstanceField(IFieldSymbol field)
    {
        if (!field.IsReadOnly || field.DeclaringSyntaxReferences.Length != 1)
        {
            return false;
        }

        return field.DeclaringSyntaxReferences[0].GetSyntax() is VariableDeclaratorSyntax
        {
            Initializer.Value: ObjectCreationExpressionSyntax or ImplicitObjectCreationExpressionSyntax,
        };
    }
}
