using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>Branch conditions: how a test of a page or an array (null, default, a Try-method's result) refines the state on each edge.</summary>
internal sealed partial class OwnershipDataflow
{
    private static bool IsRefinable(IOperation condition)
    {
        condition = Strip(condition);
        return condition switch
        {
            IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not => IsRefinable(not.Operand),
            IPropertyReferenceOperation { Property.Name: "IsDefault" } => true,
            IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals } binary =>
                IsNullOrDefault(binary.LeftOperand) || IsNullOrDefault(binary.RightOperand),
            IIsPatternOperation pattern => IsNullTest(pattern.Pattern),
            IIsNullOperation => true,
            _ => false,
        };
    }

    private static bool IsNullTest(IPatternOperation pattern) => pattern switch
    {
        INegatedPatternOperation negated => IsNullTest(negated.Pattern),
        IConstantPatternOperation constant => IsNullOrDefault(constant.Value),
        IRecursivePatternOperation or ITypePatternOperation or IDeclarationPatternOperation => true,
        _ => false,
    };

    private static bool IsNullOrDefault(IOperation operation)
    {
        operation = Strip(operation);
        return operation is IDefaultValueOperation
            || (operation is ILiteralOperation literal && literal.ConstantValue.HasValue && literal.ConstantValue.Value is null);
    }

    /// <summary>
    /// The graph drops a leading <c>!</c> and flips the jump instead; a message speaks of the condition as written.
    /// </summary>
    private static bool SenseAsWritten(IOperation branchValue, bool sense)
    {
        var node = branchValue.Syntax;
        while (node.Parent is PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalNotExpression } or ParenthesizedExpressionSyntax)
        {
            if (node.Parent is PrefixUnaryExpressionSyntax)
            {
                sense = !sense;
            }

            node = node.Parent;
        }

        return sense;
    }

    private void Annotate(OwnershipState state, int line, bool sense)
    {
        var resources = state.Resources;
        for (var position = 0; position < resources.End; position++)
        {
            var resource = resources.ValueAt(position);
            if (resources.IdAt(position) != ResourceMap.Removed && (resource.Flags & Own.Held) != 0)
            {
                resource.Note = PathNote.Push(resource.Note, isException: false, line, sense);
                resources.SetAt(position, resource);
            }
        }
    }

    // ---- branches, finally regions and exceptions ----

    /// <summary>Narrows the state to the paths where <paramref name="condition"/> is <paramref name="sense"/>; false when none.</summary>
    private bool Refine(OwnershipState state, IOperation condition, bool sense)
    {
        condition = Strip(condition);
        switch (condition)
        {
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not:
                return Refine(state, not.Operand, !sense);

            case IPropertyReferenceOperation { Property.Name: "IsDefault" } property when _types.IsPage(property.Instance?.Type):
                return SetDefault(state, ValueOf(state, property.Instance), sense);

            case IBinaryOperation binary when EmptyArrayTest(binary) is { } emptyWhen:
                // "if (lease.Length != 0) Return(lease);": an array a callee may have rented into a variable that
                // held [] is owed only when it is not empty (Rent(0) gives the shared empty array).
                return SetDefault(state, ValueOf(state, ((IPropertyReferenceOperation)Strip(binary.LeftOperand)).Instance), emptyWhen == sense);

            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals } binary:
            {
                var other = IsNullOrDefault(binary.RightOperand) ? binary.LeftOperand
                    : IsNullOrDefault(binary.LeftOperand) ? binary.RightOperand
                    : null;
                if (other is null)
                {
                    return true;
                }

                var equal = binary.OperatorKind == BinaryOperatorKind.Equals ? sense : !sense;
                return SetDefault(state, ValueOf(state, other), equal);
            }

            case IIsPatternOperation isPattern:
                return RefinePattern(state, ValueOf(state, isPattern.Value), isPattern.Pattern, sense);

            case IIsNullOperation isNull:
                return SetDefault(state, ValueOf(state, isNull.Operand), sense);

            case IInvocationOperation when _tryResults.TryGetValue(condition, out var created):
                return SetDefault(state, created, !sense);

            case ILocalReferenceOperation local when state.TryGetFact(local.Local, out var facts):
                return SetDefault(state, facts, !sense);

            case IFlowCaptureReferenceOperation capture when state.TryGetFact(capture.Id, out var captured):
                return SetDefault(state, captured, !sense);

            default:
                return true;
        }
    }

    /// <summary>
    /// <c>array.Length == 0</c> (true: the test holds when the array is empty), <c>array.Length != 0</c> or
    /// <c>array.Length &gt; 0</c> (false); null for any other condition.
    /// </summary>
    private static bool? EmptyArrayTest(IBinaryOperation binary)
    {
        if (Strip(binary.LeftOperand) is not IPropertyReferenceOperation { Property.Name: "Length", Instance: { } instance }
            || !OwnershipTypes.IsArray(instance.Type)
            || Strip(binary.RightOperand) is not ILiteralOperation { ConstantValue: { HasValue: true, Value: 0 } })
        {
            return null;
        }

        return binary.OperatorKind switch
        {
            BinaryOperatorKind.Equals => true,
            BinaryOperatorKind.NotEquals or BinaryOperatorKind.GreaterThan => false,
            _ => null,
        };
    }

    private bool RefinePattern(OwnershipState state, ResourceSet value, IPatternOperation pattern, bool sense)
    {
        switch (pattern)
        {
            case INegatedPatternOperation negated:
                return RefinePattern(state, value, negated.Pattern, !sense);
            case IConstantPatternOperation constant when IsNullOrDefault(constant.Value):
                return SetDefault(state, value, sense);
            case IRecursivePatternOperation or ITypePatternOperation or IDeclarationPatternOperation:
                if (!sense)
                {
                    // "x is { }" failing means x is null; a narrowing type test failing says nothing.
                    return IsNotNullTest(pattern) ? SetDefault(state, value, true) : true;
                }

                // "x is { } y" / "x is byte[] y": y is a copy of x on the matching path.
                var declared = pattern switch
                {
                    IRecursivePatternOperation recursive => recursive.DeclaredSymbol,
                    IDeclarationPatternOperation declaration => declaration.DeclaredSymbol,
                    _ => null,
                };
                if (declared is ILocalSymbol local && !value.IsEmpty)
                {
                    Assign(state, local, value, local.Name);
                }

                return SetDefault(state, value, false);
            default:
                return true;
        }
    }

    private static bool IsNotNullTest(IPatternOperation pattern) => pattern switch
    {
        IRecursivePatternOperation recursive =>
            recursive.PropertySubpatterns.IsEmpty
            && recursive.DeconstructionSubpatterns.IsEmpty
            && SameType(recursive.InputType, recursive.MatchedType),
        ITypePatternOperation type => SameType(type.InputType, type.MatchedType),
        IDeclarationPatternOperation declaration => !declaration.MatchesNull && SameType(declaration.InputType, declaration.MatchedType),
        _ => false,
    };

    private static bool SameType(ITypeSymbol? input, ITypeSymbol? matched) =>
        input is not null && matched is not null
        && SymbolEqualityComparer.Default.Equals(input.WithNullableAnnotation(NullableAnnotation.None), matched.WithNullableAnnotation(NullableAnnotation.None));

    private static ResourceSet ValueOf(OwnershipState state, IOperation? operation) => operation is null ? ResourceSet.Empty : Strip(operation) switch
    {
        ILocalReferenceOperation local => state.ValueOf(local.Local),
        IParameterReferenceOperation parameter => state.ValueOf(parameter.Parameter),
        IFlowCaptureReferenceOperation capture => state.ValueOf(capture.Id),
        _ => ResourceSet.Empty,
    };

    private static bool SetDefault(OwnershipState state, ResourceSet value, bool isDefault)
    {
        if (value.IsEmpty)
        {
            return true;
        }

        var feasible = false;
        foreach (var id in value.Ids)
        {
            var resource = state.Get(id);
            if (isDefault)
            {
                // The variable holds no page on this path, whichever value it would otherwise hold.
                resource.Flags = Own.Absent;
                resource.Note = null;
                state.Resources[id] = resource;
                feasible = true;
                continue;
            }

            resource.Flags &= ~Own.Absent;
            state.Resources[id] = resource;
            feasible |= resource.Flags != Own.None;
        }

        return feasible;
    }

    // ---- captures, owner context and pools ----
}
