using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
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

    /// <summary>A point where an exception may be thrown: its state before the call's effects goes to the handlers.</summary>
    private void MayThrow(OwnershipState state, IOperation operation)
    {
        if (_currentBlock is null || !_blockInTry[_currentBlock.Ordinal])
        {
            return;
        }

        var copy = state.Clone();
        PropagateException(copy, _currentBlock.EnclosingRegion, _currentContext, explicitThrow: false, LineOf(operation));
    }

    private void PropagateException(OwnershipState state, ControlFlowRegion? start, int context, bool explicitThrow, int line)
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
                    if (resources.IdAt(position) != ResourceMap.Removed && (resource.Flags & Own.Held) != 0)
                    {
                        resource.Note = PathNote.Push(resource.Note, isException: true, line, sense: true);
                        resources.SetAt(position, resource);
                    }
                }
            }

            switch (region.Kind)
            {
                case ControlFlowRegionKind.Root:
                    if (explicitThrow)
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
