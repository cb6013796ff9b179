using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>
/// Wrappers carry the obligation: an object, record, struct, tuple or BCL array wrapper made from a page or a
/// rented array holds the same tracked value, so returning, storing or handing on the wrapper hands on what it
/// wraps, reading the wrapped member back (<c>d.Page</c>, <c>segment.Array</c>, <c>t.Item1</c>) gives the same
/// value, and a wrapper dropped with its value still owed is a leak. Which constructors and methods keep an
/// argument comes from their summaries (OwnershipSummaries.cs, OwnershipWrappers.cs).
/// </summary>
internal sealed partial class OwnershipDataflow
{
    /// <summary>The graph's captures of a new object whose members an initializer or a <c>with</c> then sets.</summary>
    private HashSet<CaptureId>? _freshCaptures;

    /// <summary>The graph's captures of <c>this</c> (spilled before an assignment whose value has control flow).</summary>
    private HashSet<CaptureId>? _thisCaptures;

    /// <summary><c>new T(...)</c>: what its constructor keeps, and what its initializer stores into it.</summary>
    private ResourceSet EvalCreation(IObjectCreationOperation creation, OwnershipState state)
    {
        ResourceSet kept;
        if (creation.Constructor is { } constructor)
        {
            kept = EvalCall(creation, constructor, null, creation.Arguments, state);
        }
        else
        {
            EvalChildren(creation, state, escape: true);
            kept = ResourceSet.Empty;
        }

        // The graph turns initializers into assignments to a capture (see StoreInto); only an operation tree
        // still has them here.
        if (creation.Initializer is { } initializer)
        {
            foreach (var member in initializer.Initializers)
            {
                if (member is ISimpleAssignmentOperation { Target: IMemberReferenceOperation { Instance: IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ImplicitReceiver } } } assignment)
                {
                    kept = kept.Union(Eval(assignment.Value, state, Mode.Use));
                }
                else
                {
                    Eval(member, state, Mode.Use);
                }
            }
        }

        return kept;
    }

    /// <summary>Remembers a capture of a new object (or of a <c>with</c>'s copy) that an initializer fills.</summary>
    private void NoteFreshCapture(IFlowCaptureOperation capture)
    {
        var value = Strip(capture.Value);
        var fresh = value is IObjectCreationOperation or IAnonymousObjectCreationOperation or ITypeParameterObjectCreationOperation
            || value.Syntax is WithExpressionSyntax
            || (value.Syntax.Parent is WithExpressionSyntax with && with.Expression == value.Syntax);
        if (fresh)
        {
            (_freshCaptures ??= new HashSet<CaptureId>()).Add(capture.Id);
        }
        else if (value is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance })
        {
            (_thisCaptures ??= new HashSet<CaptureId>()).Add(capture.Id);
        }
    }

    /// <summary>
    /// A value stored into a field or property: into a new object being initialized, the object holds it (a
    /// wrapper); into <c>this</c> in a constructor, the object being built keeps it (what a summary records);
    /// anywhere else it escapes to whoever reads it from there.
    /// </summary>
    private void StoreInto(OwnershipState state, IOperation target, ResourceSet stored)
    {
        if (stored.IsEmpty)
        {
            return;
        }

        var instance = (target as IMemberReferenceOperation)?.Instance;
        if (instance is IFlowCaptureReferenceOperation capture && _freshCaptures is not null && _freshCaptures.Contains(capture.Id))
        {
            state.SetValue(capture.Id, state.ValueOf(capture.Id).Union(stored));
            return;
        }

        if (instance is IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
            || (instance is IFlowCaptureReferenceOperation thisCapture && _thisCaptures is not null && _thisCaptures.Contains(thisCapture.Id)))
        {
            StoreIntoThis(state, stored);
            return;
        }

        Escape(state, stored);
    }

    private void StoreIntoThis(OwnershipState state, ResourceSet stored)
    {
        if (_summary is not null && _summary.Method.MethodKind == MethodKind.Constructor)
        {
            _summary.KeptByThis = _summary.KeptByThis.Union(stored);
        }

        Escape(state, stored);
    }

    /// <summary>
    /// A member read from a wrapper that holds tracked values: a member of a type that can carry one gives back
    /// what the wrapper holds (<c>d.Page</c>, <c>segment.Array</c>, <c>sequence.First</c>); empty otherwise.
    /// </summary>
    private ResourceSet ReadBack(IOperation? instance, ResourceSet instanceValue, ITypeSymbol? memberType)
    {
        if (instanceValue.IsEmpty || instance is null || _types.KindOf(instance.Type) is not null)
        {
            // Not a wrapper: the page or the array itself (its members are uses).
            return ResourceSet.Empty;
        }

        var carries = OwnershipWrappers.Carries(memberType, _types);
        if (carries == CarriedKinds.Both && instance is IInstanceReferenceOperation)
        {
            // Inside a wrapper's own method only its page, array and array-wrapper members are what it holds.
            return ResourceSet.Empty;
        }

        if (carries == CarriedKinds.Both || carries == CarriedKinds.None)
        {
            return carries == CarriedKinds.Both ? instanceValue : ResourceSet.Empty;
        }

        var kind = carries == CarriedKinds.Pages ? ResourceKind.Page : ResourceKind.Array;
        var result = ResourceSet.Empty;
        foreach (var id in instanceValue.Ids)
        {
            var site = _sites[id / 2];
            if (site.Kind == kind || (_summary is not null && site.IsParameter))
            {
                result = result.Union(ResourceSet.Of(id));
            }
        }

        return result;
    }

    /// <summary>A tuple or an anonymous object: it holds everything it is made of.</summary>
    private ResourceSet EvalComposite(IOperation operation, OwnershipState state)
    {
        var result = ResourceSet.Empty;
        switch (operation)
        {
            case ITupleOperation tuple:
                foreach (var element in tuple.Elements)
                {
                    result = result.Union(Eval(element, state, Mode.Use));
                }

                break;
            case IAnonymousObjectCreationOperation anonymous:
                foreach (var initializer in anonymous.Initializers)
                {
                    result = result.Union(Eval(initializer is ISimpleAssignmentOperation assignment ? assignment.Value : initializer, state, Mode.Use));
                }

                break;
        }

        return result;
    }

    /// <summary>
    /// <c>var (a, b) = (x, y);</c> assigns element by element (all values first: <c>(a, b) = (b, a)</c> swaps);
    /// <c>var (a, n) = wrapper;</c> gives the wrapper's values to the one target that can hold them, and lets them
    /// escape when several could (which one holds what is not followed).
    /// </summary>
    private ResourceSet EvalDeconstruction(IDeconstructionAssignmentOperation deconstruction, OwnershipState state)
    {
        var writes = new List<(IOperation Target, ResourceSet Value)>();
        Deconstruct(deconstruction.Target, deconstruction.Value, state, writes);
        foreach (var (target, value) in writes)
        {
            switch (Strip(target))
            {
                case ILocalReferenceOperation local:
                    Assign(state, local.Local, value, local.Local.Name);
                    state.RemoveFact(local.Local);
                    break;
                case IParameterReferenceOperation parameter:
                    Assign(state, parameter.Parameter, value, parameter.Parameter.Name);
                    state.RemoveFact(parameter.Parameter);
                    break;
                case IDiscardOperation:
                    break;
                default:
                    EvalChildren(target, state, escape: false);
                    Escape(state, value);
                    break;
            }
        }

        return ResourceSet.Empty;
    }

    private void Deconstruct(IOperation target, IOperation value, OwnershipState state, List<(IOperation Target, ResourceSet Value)> writes)
    {
        target = Strip(target);
        if (target is IDeclarationExpressionOperation declaration)
        {
            target = Strip(declaration.Expression);
        }

        if (target is not ITupleOperation targets)
        {
            writes.Add((target, Eval(value, state, Mode.Use)));
            return;
        }

        if (Strip(value) is ITupleOperation values && values.Elements.Length == targets.Elements.Length)
        {
            for (var i = 0; i < targets.Elements.Length; i++)
            {
                Deconstruct(targets.Elements[i], values.Elements[i], state, writes);
            }

            return;
        }

        var whole = Eval(value, state, Mode.Use);
        var leaves = new List<IOperation>();
        Leaves(targets, leaves);
        IOperation? holder = null;
        var holders = 0;
        foreach (var leaf in leaves)
        {
            writes.Add((leaf, ResourceSet.Empty));
            if (OwnershipWrappers.Carries(leaf.Type, _types) != CarriedKinds.None)
            {
                holder = leaf;
                holders++;
            }
        }

        if (holders == 1)
        {
            writes[writes.Count - leaves.Count + leaves.IndexOf(holder!)] = (holder!, whole);
        }
        else
        {
            Escape(state, whole);
        }
    }

    private static void Leaves(IOperation target, List<IOperation> leaves)
    {
        target = Strip(target);
        if (target is IDeclarationExpressionOperation declaration)
        {
            target = Strip(declaration.Expression);
        }

        if (target is ITupleOperation tuple)
        {
            foreach (var element in tuple.Elements)
            {
                Leaves(element, leaves);
            }
        }
        else
        {
            leaves.Add(target);
        }
    }
}
