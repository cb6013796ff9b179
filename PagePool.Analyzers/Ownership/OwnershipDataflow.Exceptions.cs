using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>Exception edges and finally regions: where a throw (or a call that may throw inside a try) takes the state, and how each entry into a finally resumes.</summary>
internal sealed partial class OwnershipDataflow
{
    private void EnterFinally(OwnershipState state, int frameId, ControlFlowRegion finallyRegion) =>
        Merge(finallyRegion.FirstBlockOrdinal, frameId, state);

    private int Intern(int parent, object anchor, int index, ControlFlowRegion? resumeFrom)
    {
        var key = (parent, anchor, index);
        if (!_frameIds.TryGetValue(key, out var id))
        {
            id = _frames.Count;
            _frames.Add(new Frame(parent, anchor as ControlFlowBranch, index, resumeFrom));
            _frameIds[key] = id;
        }

        return id;
    }

    private void CompleteFinally(OwnershipState state, int context)
    {
        if (context <= 0 || context >= _frames.Count)
        {
            return;
        }

        var frame = _frames[context];
        if (frame.Branch is { } branch)
        {
            if (frame.Index + 1 < branch.FinallyRegions.Length)
            {
                EnterFinally(state, Intern(frame.Parent, branch, frame.Index + 1, null), branch.FinallyRegions[frame.Index + 1]);
                return;
            }

            foreach (var region in branch.LeavingRegions)
            {
                KillRegion(state, region, LineOfBranch(branch));
            }

            GoTo(state, branch.Destination, branch.Semantics, frame.Parent);
            return;
        }

        if (frame.ResumeFrom is { } tryAndFinally)
        {
            PropagateException(state, tryAndFinally.EnclosingRegion, frame.Parent, explicitThrow: true, 0);
        }
    }

    /// <summary>
    /// A point where an exception may be thrown (a call or an await): the state before the call's effects goes to
    /// the handlers. Inside a <c>try</c> the author wrote, everything tracked follows the exception; elsewhere only
    /// pages do (PP1006: a rented array is taken back by the GC, a page is lost to its pool for good). What the call
    /// itself takes (<paramref name="consumed"/>: an [Owned] argument; <paramref name="escaped"/>: a value it
    /// stores; <paramref name="kept"/>: a value the wrapper it returns keeps) is the callee's to give back if it
    /// throws. <paramref name="method"/> is null for an await.
    /// </summary>
    private void MayThrow(
        OwnershipState state,
        IOperation operation,
        IMethodSymbol? method,
        List<(IArgumentOperation Argument, ResourceSet Value)>? consumed,
        List<ResourceSet>? escaped,
        ResourceSet kept)
    {
        // Cheapest first: most calls run while no page is held, outside any try.
        var written = _currentBlock is not null && _blockInTry[_currentBlock.Ordinal];
        if ((!written && !HoldsPage(state, handedOn: null)) || (method is not null && !MayThrow(operation, method)))
        {
            return;
        }

        var handedOn = HandedOnBy(consumed, escaped, kept);
        if (!written && handedOn is not null && !HoldsPage(state, handedOn))
        {
            return;
        }

        if (written || (_currentBlock is not null && _blockInAnyTry[_currentBlock.Ordinal]))
        {
            var copy = state.Clone();
            var resources = copy.Resources;
            for (var position = 0; position < resources.End; position++)
            {
                var id = resources.IdAt(position);
                var resource = resources.ValueAt(position);
                if (id != ResourceMap.Removed
                    && (resource.Flags & Own.Held) != 0
                    && ((handedOn?.Contains(id) ?? false) || (!written && _sites[id / 2].Kind != ResourceKind.Page)))
                {
                    resource.Flags = (resource.Flags & ~Own.Held) | Own.Borrowed;
                    resources.SetAt(position, resource);
                }
            }

            PropagateException(copy, _currentBlock!.EnclosingRegion, _currentContext, explicitThrow: false, LineOf(operation), operation);
            return;
        }

        // No try between the call and the method's exit: the pages held here leave with the exception.
        var held = state.Resources;
        for (var position = 0; position < held.End; position++)
        {
            var id = held.IdAt(position);
            var resource = held.ValueAt(position);
            if (id != ResourceMap.Removed
                && (resource.Flags & Own.Held) != 0
                && _sites[id / 2].Kind == ResourceKind.Page
                && !(handedOn?.Contains(id) ?? false))
            {
                ReportThrowLeak(id, operation);
            }
        }
    }

    private bool HoldsPage(OwnershipState state, ResourceSet? handedOn)
    {
        var resources = state.Resources;
        for (var position = 0; position < resources.End; position++)
        {
            var id = resources.IdAt(position);
            if (id != ResourceMap.Removed
                && (resources.ValueAt(position).Flags & Own.Held) != 0
                && _sites[id / 2].Kind == ResourceKind.Page
                && !(handedOn?.Contains(id) ?? false))
            {
                return true;
            }
        }

        return false;
    }

    private static ResourceSet? HandedOnBy(List<(IArgumentOperation Argument, ResourceSet Value)>? consumed, List<ResourceSet>? escaped, ResourceSet kept)
    {
        if (consumed is null && escaped is null && kept.IsEmpty)
        {
            return null;
        }

        var result = kept;
        foreach (var (_, value) in consumed ?? new List<(IArgumentOperation, ResourceSet)>())
        {
            result = result.Union(value);
        }

        foreach (var value in escaped ?? new List<ResourceSet>())
        {
            result = result.Union(value);
        }

        return result;
    }

    /// <summary>
    /// Whether this call makes an exception path (see <see cref="OwnershipTypes.MayThrow"/>): not a call the compiler
    /// wrote (a foreach's <c>MoveNext</c>, a using's <c>Dispose</c>), nor the call an <c>await</c> awaits (the await
    /// is the exception point, once).
    /// </summary>
    private bool MayThrow(IOperation call, IMethodSymbol method)
    {
        if (call.IsImplicit || IsAwaited(call))
        {
            return false;
        }

        return _types.MayThrow(method);
    }

    /// <summary>The call an <c>await</c> awaits, directly or through <c>ConfigureAwait</c>, or that <c>ConfigureAwait</c> itself.</summary>
    private static bool IsAwaited(IOperation call)
    {
        var parent = SkipConversionsUp(call.Parent);
        if (parent is IInvocationOperation { TargetMethod.Name: "ConfigureAwait" } configure
            && configure.Instance is { } instance
            && ReferenceEquals(Strip(instance), call))
        {
            parent = SkipConversionsUp(configure.Parent);
        }

        return parent is IAwaitOperation;

        static IOperation? SkipConversionsUp(IOperation? operation)
        {
            while (operation is IConversionOperation or IParenthesizedOperation)
            {
                operation = operation.Parent;
            }

            return operation;
        }
    }

    /// <summary>
    /// Takes an exception from <paramref name="start"/> outward: into each handler that may catch it, through each
    /// finally; at the method's exit, what it still holds leaks. <paramref name="thrower"/> is the call that threw
    /// (null for a <c>throw</c>): a page it leaks is PP1006's.
    /// </summary>
    private void PropagateException(OwnershipState state, ControlFlowRegion? start, int context, bool explicitThrow, int line, IOperation? thrower = null)
    {
        var noted = false;
        for (var region = start; region is not null; region = region.EnclosingRegion)
        {
            if (!noted && line > 0)
            {
                noted = true;
                var resources = state.Resources;
                for (var position = 0; position < resources.End; position++)
                {
                    var resource = resources.ValueAt(position);
                    // Released ones too: a second release on the exception's path says which call threw.
                    if (resources.IdAt(position) != ResourceMap.Removed && (resource.Flags & (Own.Held | Own.Released)) != 0)
                    {
                        resource.Note = PathNote.Push(resource.Note, isException: true, line, sense: true, thrower);
                        resources.SetAt(position, resource);
                    }
                }
            }

            switch (region.Kind)
            {
                case ControlFlowRegionKind.Root:
                    if (explicitThrow || thrower is not null)
                    {
                        CheckExit(state, exceptional: true, line);
                    }

                    return;

                case ControlFlowRegionKind.Try:
                {
                    var parent = region.EnclosingRegion;
                    if (parent is null)
                    {
                        return;
                    }

                    if (parent.Kind == ControlFlowRegionKind.TryAndFinally && parent.NestedRegions.Length > 1)
                    {
                        EnterFinally(state, Intern(context, parent, -1, parent), parent.NestedRegions[1]);
                        return;
                    }

                    var caughtAll = false;
                    for (var i = 1; i < parent.NestedRegions.Length; i++)
                    {
                        var handler = parent.NestedRegions[i];
                        Merge(handler.FirstBlockOrdinal, context, state, shared: true);
                        if (handler.Kind == ControlFlowRegionKind.Catch && CatchesEverything(handler.ExceptionType))
                        {
                            caughtAll = true;
                        }
                    }

                    if (caughtAll)
                    {
                        return;
                    }

                    // Not every exception is caught here: the rest go on outward, and those paths are tracked
                    // even for calls, because the author wrote a handler.
                    explicitThrow = true;
                    region = parent;
                    break;
                }

                case ControlFlowRegionKind.Finally:
                    if (context > 0 && context < _frames.Count)
                    {
                        context = _frames[context].Parent;
                    }

                    break;

                default:
                    // Locals of the regions the exception leaves stay in the state: nothing can name them any
                    // more, and a page only they hold is reported with the exception's line when the method ends.
                    break;
            }
        }
    }

    private static bool CatchesEverything(ITypeSymbol? exceptionType) =>
        exceptionType is null
        || exceptionType.SpecialType == SpecialType.System_Object
        || (exceptionType.Name == "Exception" && exceptionType.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true });

    private void KillRegion(OwnershipState state, ControlFlowRegion region, int line)
    {
        var killed = KillLocals(state, region.Locals);
        foreach (var capture in region.CaptureIds)
        {
            killed |= state.RemoveValue(capture);
        }

        if (killed)
        {
            CheckUnreferenced(state, LeakReason.ScopeExit, line);
        }
    }

    /// <summary>Forgets the locals of a scope control leaves; true when one of them held something.</summary>
    private static bool KillLocals(OwnershipState state, ImmutableArray<ILocalSymbol> locals)
    {
        var killed = false;
        foreach (var local in locals)
        {
            killed |= state.RemoveValue(local);
            state.RemoveFact(local);
        }

        return killed;
    }
}
