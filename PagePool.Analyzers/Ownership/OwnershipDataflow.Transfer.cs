using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>Transfer functions for operations other than calls: reads, assignments, escapes (stores, returns, captures) and local functions.</summary>
internal sealed partial class OwnershipDataflow
{
    private ResourceSet Eval(IOperation? operation, OwnershipState state, Mode mode)
    {
        switch (operation)
        {
            case null:
                return ResourceSet.Empty;

            case ILocalReferenceOperation local:
                return Read(state, local.Local, local.Local.Name, operation, mode);

            case IParameterReferenceOperation parameter:
                return Read(state, parameter.Parameter, parameter.Parameter.Name, operation, mode);

            case IFlowCaptureReferenceOperation captureReference:
                return Read(state, captureReference.Id, null, operation, mode);

            case IFlowCaptureOperation capture:
            {
                if (Strip(capture.Value) is ILocalReferenceOperation or IParameterReferenceOperation)
                {
                    // The graph captures a variable an assignment will write after evaluating its value
                    // (b = c ? stackalloc byte[n] : rented): the write goes to that variable.
                    _capturedVariables[capture.Id] = Strip(capture.Value) switch
                    {
                        ILocalReferenceOperation local => local.Local,
                        var other => ((IParameterReferenceOperation)other).Parameter,
                    };
                }

                var value = Eval(capture.Value, state, Mode.NoUse);
                Assign(state, capture.Id, value, null);
                NoteFreshCapture(capture);
                if (_tryResults.TryGetValue(Strip(capture.Value), out var facts))
                {
                    state.SetFact(capture.Id, facts);
                }
                else
                {
                    state.RemoveFact(capture.Id);
                }

                return ResourceSet.Empty;
            }

            case IConversionOperation conversion:
                return Eval(conversion.Operand, state, mode);

            case IParenthesizedOperation parenthesized:
                return Eval(parenthesized.Operand, state, mode);

            case ISimpleAssignmentOperation assignment:
                return EvalAssignment(assignment, state);

            case IInvocationOperation invocation:
                return EvalCall(invocation, invocation.TargetMethod, invocation.Instance, invocation.Arguments, state);

            case IObjectCreationOperation creation:
                return EvalCreation(creation, state);

            case IDeconstructionAssignmentOperation deconstruction:
                return EvalDeconstruction(deconstruction, state);

            case IPropertyReferenceOperation property:
            {
                var isDefaultCheck = property.Property.Name == "IsDefault" && _types.IsPage(property.Instance?.Type);
                var instanceValue = Eval(property.Instance, state, isDefaultCheck ? Mode.NoUse : Mode.Use);
                foreach (var argument in property.Arguments)
                {
                    Eval(argument.Value, state, Mode.Use);
                }

                var back = ReadBack(property.Instance, instanceValue, property.Type);
                return back.IsEmpty ? Lent(state, operation, property.Type) : back;
            }

            case IFieldReferenceOperation field:
            {
                var back = ReadBack(field.Instance, Eval(field.Instance, state, Mode.Use), field.Type);
                return back.IsEmpty ? Lent(state, operation, field.Type) : back;
            }

            case IArrayElementReferenceOperation element:
                Eval(element.ArrayReference, state, Mode.Use);
                foreach (var index in element.Indices)
                {
                    Eval(index, state, Mode.Use);
                }

                return Lent(state, operation, element.Type);

            case IBinaryOperation binary:
            {
                // A null test, or a comparison of two references (the compiler's ==, not a user's operator),
                // reads no element: comparing a returned array with its replacement is no use after return.
                var noUse = IsNullOrDefault(binary.LeftOperand) || IsNullOrDefault(binary.RightOperand)
                    || (binary.OperatorMethod is null
                        && binary.OperatorKind is BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals
                        && binary.LeftOperand.Type?.IsReferenceType == true && binary.RightOperand.Type?.IsReferenceType == true);
                Eval(binary.LeftOperand, state, noUse ? Mode.NoUse : Mode.Use);
                Eval(binary.RightOperand, state, noUse ? Mode.NoUse : Mode.Use);
                return ResourceSet.Empty;
            }

            case IIsPatternOperation isPattern:
                Eval(isPattern.Value, state, IsNullTest(isPattern.Pattern) ? Mode.NoUse : Mode.Use);
                return ResourceSet.Empty;

            case IIsNullOperation isNull:
                Eval(isNull.Operand, state, Mode.NoUse);
                return ResourceSet.Empty;

            case IAwaitOperation awaitOperation:
                Eval(awaitOperation.Operation, state, Mode.Use);
                MayThrow(state, operation, method: null, consumed: null, escaped: null, kept: ResourceSet.Empty);
                if (state.AwaitLine == 0)
                {
                    // Not just for messages: whether an await ran is part of the state.
                    state.AwaitLine = ComputeLine(operation);
                }

                return _types.IsPage(awaitOperation.Type)
                    ? NewResource(state, operation, Own.Held, ResourceKind.Page, null, "await")
                    : ResourceSet.Empty;

            case IFlowAnonymousFunctionOperation lambda:
                EscapeCaptured(state, _graph!.GetAnonymousFunctionControlFlowGraph(lambda));
                return ResourceSet.Empty;

            case IMethodReferenceOperation methodReference:
                Eval(methodReference.Instance, state, Mode.Use);
                if (methodReference.Method.MethodKind == MethodKind.LocalFunction)
                {
                    EscapeCaptured(state, LocalFunctionGraph(methodReference.Method));
                }

                return ResourceSet.Empty;

            case IReturnOperation yieldReturn:
                Escape(state, Eval(yieldReturn.ReturnedValue, state, Mode.Use));
                return ResourceSet.Empty;

            case IInstanceReferenceOperation instanceReference:
                return ThisValue(instanceReference);

            case ILiteralOperation or IDefaultValueOperation:
                return ResourceSet.Empty;

            case ITupleOperation or IAnonymousObjectCreationOperation:
                return EvalComposite(operation, state);

            case IArrayInitializerOperation
                or IDynamicInvocationOperation or IDynamicObjectCreationOperation or IDynamicMemberReferenceOperation
                or IDynamicIndexerAccessOperation or ICollectionExpressionOperation or ISpreadOperation:
                EvalChildren(operation, state, escape: true);
                return ResourceSet.Empty;

            default:
                // stackalloc initializers and other constructs without a public operation land here as None; the
                // array a fixed statement pins is one of them, and pinning is a use, not a hand-on.
                EvalChildren(operation, state, escape: operation.Kind == OperationKind.None && !IsPinned(operation));
                return ResourceSet.Empty;
        }
    }

    /// <summary>The initializer of a <c>fixed</c> statement's pointer.</summary>
    private static bool IsPinned(IOperation operation) =>
        operation.Syntax.Parent is EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Parent: FixedStatementSyntax } } };

    private void EvalChildren(IOperation operation, OwnershipState state, bool escape)
    {
        foreach (var child in operation.ChildOperations)
        {
            var value = Eval(child, state, Mode.Use);
            if (escape)
            {
                Escape(state, value);
            }
        }
    }

    /// <summary>A page read from a field, property, array slot or collection is lent: valid, but not ours to recycle.</summary>
    private ResourceSet Lent(OwnershipState state, IOperation operation, ITypeSymbol? type)
    {
        if (!_types.IsPage(type))
        {
            return ResourceSet.Empty;
        }

        return NewResource(state, operation, Own.Borrowed, ResourceKind.Page, null, "a member");
    }

    private ResourceSet Read(OwnershipState state, object variable, string? name, IOperation operation, Mode mode)
    {
        var value = state.ValueOf(variable);
        if (mode == Mode.Use && !_reporting && !value.IsEmpty)
        {
            foreach (var id in value.Ids)
            {
                if ((state.Get(id).Flags & Own.Released) != 0)
                {
                    _wouldReport = true;
                }
            }
        }
        else if (mode == Mode.Use && _reporting && !value.IsEmpty)
        {
            foreach (var id in value.Ids)
            {
                var resource = state.Get(id);
                if ((resource.Flags & Own.Released) != 0 && _reportedUses.Add(id / 2))
                {
                    var site = _sites[id / 2];
                    var isPage = site.Kind == ResourceKind.Page;
                    var what = isPage ? $"Page '{name ?? site.Name ?? "?"}'" : $"Array '{name ?? site.Name ?? "?"}'";
                    _reporter.Report(
                        isPage ? OwnershipDescriptors.PageUsedAfterRecycle : OwnershipDescriptors.ArrayUsedAfterReturn,
                        operation.Syntax.GetLocation(),
                        $"{what} is used after it was {Describe(resource.ReleaseKind)} at line {resource.ReleaseLine}");
                    break;
                }
            }
        }

        return value;
    }

    private static string Describe(ReleaseKind kind) => kind switch
    {
        ReleaseKind.Recycled => "recycled",
        ReleaseKind.Returned => "returned to the pool",
        _ => "handed on",
    };

    private void Assign(OwnershipState state, object variable, ResourceSet value, string? name)
    {
        state.SetValue(variable, value);
        if (!value.IsEmpty)
        {
            if (name is not null)
            {
                foreach (var id in value.Ids)
                {
                    var site = id / 2;
                    _sites[site].Name ??= name;
                }
            }
        }
    }

    private ResourceSet EvalAssignment(ISimpleAssignmentOperation assignment, OwnershipState state)
    {
        var target = assignment.Target;
        object? variable = target switch
        {
            ILocalReferenceOperation local => local.Local,
            IParameterReferenceOperation parameter => parameter.Parameter,
            IFlowCaptureReferenceOperation captured when _capturedVariables.TryGetValue(captured.Id, out var symbol) => symbol,
            _ => null,
        };

        if (variable is not null)
        {
            return AssignVariable(state, variable, assignment.Value);
        }

        if (target is IDiscardOperation)
        {
            return Eval(assignment.Value, state, Mode.Use);
        }

        // A field, property, array slot, indexer or ref: whoever reads it from there owns the value now.
        switch (target)
        {
            case IPropertyReferenceOperation property:
                Eval(property.Instance, state, Mode.Use);
                foreach (var argument in property.Arguments)
                {
                    Eval(argument.Value, state, Mode.Use);
                }

                break;
            case IFieldReferenceOperation field:
                Eval(field.Instance, state, Mode.Use);
                break;
            case IArrayElementReferenceOperation element:
                Eval(element.ArrayReference, state, Mode.Use);
                foreach (var index in element.Indices)
                {
                    Eval(index, state, Mode.Use);
                }

                break;
            default:
                EvalChildren(target, state, escape: false);
                break;
        }

        var stored = Eval(assignment.Value, state, Mode.Use);
        StoreInto(state, target, stored);
        return ResourceSet.Empty;
    }

    /// <summary>A local or parameter takes the value (and what a Try call's result says of it).</summary>
    private ResourceSet AssignVariable(OwnershipState state, object variable, IOperation valueOperation)
    {
        var value = Eval(valueOperation, state, Mode.Use);
        Assign(state, variable, value, (variable as ISymbol)?.Name);
        if (_tryResults.TryGetValue(Strip(valueOperation), out var facts))
        {
            state.SetFact(variable, facts);
        }
        else if (Strip(valueOperation) is IFlowCaptureReferenceOperation captured && state.TryGetFact(captured.Id, out var capturedFacts))
        {
            state.SetFact(variable, capturedFacts);
        }
        else
        {
            state.RemoveFact(variable);
        }

        return value;
    }

    private void Escape(OwnershipState state, ResourceSet value)
    {
        foreach (var id in value.Ids)
        {
            if (state.Resources.TryGetValue(id, out var resource) && (resource.Flags & Own.Held) != 0)
            {
                _handedOnSites.Add(id / 2);
                resource.Flags = (resource.Flags & ~Own.Held) | Own.Borrowed;
                state.Resources[id] = resource;
            }
        }
    }

    private void EscapeCaptured(OwnershipState state, ControlFlowGraph? graph)
    {
        if (graph is null || !state.HasValues)
        {
            return;
        }

        foreach (var symbol in OwnershipAnalyzer.ReferencedSymbols(graph, _types))
        {
            var value = state.ValueOf(symbol);
            if (!value.IsEmpty)
            {
                Escape(state, value);
            }
        }
    }

    private ControlFlowGraph? LocalFunctionGraph(IMethodSymbol localFunction)
    {
        for (var graph = _graph; graph is not null; graph = graph.Parent)
        {
            foreach (var candidate in graph.LocalFunctions)
            {
                if (SymbolEqualityComparer.Default.Equals(candidate, localFunction.OriginalDefinition))
                {
                    return graph.GetLocalFunctionControlFlowGraph(candidate);
                }
            }
        }

        return null;
    }
}
