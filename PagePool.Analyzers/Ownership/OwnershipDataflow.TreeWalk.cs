using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>
/// The fast path: proves a method clean by walking its operation tree, so that no control-flow graph is built.
/// </summary>
/// <remarks>
/// <para>
/// Building the graph is most of the analyzer's cost, and nearly every method is correct. For a method made only of
/// blocks, declarations, expression statements, <c>if</c>, <c>while</c>, <c>do</c>, <c>for</c>, <c>break</c>,
/// <c>continue</c> and <c>return</c>, whose expressions hold no control flow of their own (no <c>?:</c>,
/// <c>??</c>, <c>?.</c>, patterns, lambdas, throw, await...; <c>&amp;&amp;</c>, <c>||</c> and <c>!</c> only as a
/// branch's condition, where the graph tests one operand per block), the graph's blocks are the tree's
/// statements in order, so the first (undetailed) run of <see cref="Run"/> can be done on the tree with the same
/// transfer functions: <see cref="Eval"/>, <see cref="Refine"/>, <see cref="CheckUnreferenced"/>,
/// <see cref="CheckExit"/> and <see cref="OwnershipState.JoinWith"/>, and loops iterated to the same fixpoint.
/// A call that may throw while a page is held (PP1006) fires there as in the graph: a walked method has no try, so
/// nothing between the call and the method's exit recycles the page.
/// </para>
/// <para>
/// Where paths meet matters, because leaving a scope is not the same before and after a join (a page one path left
/// only in a dying local is a leak on that path, even if another path also stored it in an out parameter). The
/// graph leaves scopes on each edge and joins edges in the next block that has an operation (it drops empty
/// blocks), so a statement here hands on the states of its outgoing edges unjoined (<see cref="Flow"/>), each
/// leaves its scopes on its own, and they are joined only where the next operation, a loop head or the exit is.
/// </para>
/// <para>
/// The walk only ever answers "clean": when some check fires (or the method is too large) the caller builds the
/// graph and runs the analysis as before, so every diagnostic, message included, still comes from the graph. A
/// method of any other shape (<see cref="CanWalk"/> is false) goes to the graph directly.
/// </para>
/// </remarks>
internal sealed partial class OwnershipDataflow
{
    private static readonly OwnershipReporter NoReporter = new(static _ => { });

    private readonly List<ImmutableArray<ILocalSymbol>> _scopes = new();
    private readonly List<LoopFrame> _loops = new();
    private readonly Dictionary<(IOperation Operation, int Point), OwnershipState> _blockStates = new();
    private OwnershipState? _exitState;
    private int _treeVisits;

    private enum Point
    {
        Before,
        Head,
        Bottom,
        Break,
    }

    /// <summary>
    /// True when the tree walk proves that the graph's analysis of <paramref name="root"/> reports nothing; false
    /// means "build the graph" (a check fired, or the method is too large).
    /// </summary>
    public static bool ProvesClean(IOperation root, IMethodSymbol? method, OwnershipTypes types, bool trackArrays, CancellationToken cancellationToken)
    {
        var body = BodyOf(root);
        if (body is null)
        {
            return false;
        }

        var walk = new OwnershipDataflow(graph: null, method, types, localPoolInstances: null, NoReporter, trackArrays, offContextApi: null, detailed: false, cancellationToken);
        return walk.RunTree(body) && !walk._wouldReport;
    }

    private bool RunTree(IBlockOperation body)
    {
        foreach (var end in WalkBlock(body, Flow.Of(InitialState())).Edges)
        {
            ArriveExit(end);
        }

        if (_treeVisits > MaxBlockVisits)
        {
            return false;
        }

        if (_exitState is not null)
        {
            CheckExit(_exitState, exceptional: false, 0);
        }

        return true;
    }

    /// <summary>
    /// The states on the edges out of a statement, not yet joined; none when it does not complete. <see cref="With(OwnershipState?)"/>
    /// appends in place: a flow has one owner, which hands it on and does not use it again.
    /// </summary>
    private readonly struct Flow
    {
        private readonly List<OwnershipState>? _edges;

        private Flow(List<OwnershipState> edges) => _edges = edges;

        public static Flow None => default;

        public IReadOnlyList<OwnershipState> Edges => (IReadOnlyList<OwnershipState>?)_edges ?? System.Array.Empty<OwnershipState>();

        public bool IsNone => _edges is null || _edges.Count == 0;

        public static Flow Of(OwnershipState state) => new(new List<OwnershipState> { state });

        public Flow With(OwnershipState? state)
        {
            if (state is null)
            {
                return this;
            }

            var edges = _edges ?? new List<OwnershipState>();
            edges.Add(state);
            return new Flow(edges);
        }

        public Flow With(Flow other)
        {
            var result = this;
            foreach (var state in other.Edges)
            {
                result = result.With(state);
            }

            return result;
        }
    }

    /// <summary>A loop being walked: how many scopes lie outside it and its own (a for loop's locals).</summary>
    private sealed class LoopFrame
    {
        public LoopFrame(ILoopOperation loop, int outerScopes, int loopScopes)
        {
            Loop = loop;
            OuterScopes = outerScopes;
            LoopScopes = loopScopes;
        }

        public ILoopOperation Loop { get; }

        /// <summary>Scopes outside the loop: a break leaves every scope above.</summary>
        public int OuterScopes { get; }

        /// <summary>Scopes outside the body: a continue leaves every scope above.</summary>
        public int LoopScopes { get; }

        /// <summary>A for loop's bottom, or a do loop's condition: where a continue goes, unless the head.</summary>
        public bool ContinuesAtBottom => Loop is IForLoopOperation || Loop is IWhileLoopOperation { ConditionIsTop: false };

        /// <summary>Set when a continue made the state kept at the head grow.</summary>
        public bool Grew { get; set; }

        /// <summary>The edges out of the loop met so far (false edges of its condition, breaks), by source.</summary>
        public List<IOperation> Exits { get; } = new();

        public void AddExit(IOperation source)
        {
            if (!Exits.Contains(source))
            {
                Exits.Add(source);
            }
        }
    }

    /// <summary>
    /// Joins <paramref name="incoming"/> (the caller is done with it) into the state kept where the graph starts a
    /// block, as <see cref="Merge"/> does: kept across a loop's iterations. True when the kept state grew.
    /// </summary>
    private bool Join(IOperation operation, Point point, OwnershipState incoming)
    {
        var key = (operation, (int)point);
        if (_blockStates.TryGetValue(key, out var kept))
        {
            return kept.JoinWith(incoming);
        }

        _blockStates[key] = incoming;
        return true;
    }

    private OwnershipState? Kept(IOperation operation, Point point) =>
        _blockStates.TryGetValue((operation, (int)point), out var kept) ? kept.Clone() : null;

    /// <summary>The state the next operation (<paramref name="at"/>) starts from: where the incoming edges meet.</summary>
    private OwnershipState? Materialize(IOperation at, Flow incoming)
    {
        var edges = incoming.Edges;
        if (edges.Count <= 1)
        {
            return edges.Count == 0 ? null : edges[0];
        }

        foreach (var edge in edges)
        {
            Join(at, Point.Before, edge);
        }

        return Kept(at, Point.Before);
    }

    private void ArriveExit(OwnershipState state)
    {
        if (_exitState is null)
        {
            _exitState = state;
        }
        else
        {
            _exitState.JoinWith(state);
        }
    }

    /// <summary>Leaves every scope above <paramref name="depth"/>, innermost first, as a branch leaves its regions.</summary>
    private void LeaveScopes(OwnershipState state, int depth)
    {
        var killed = false;
        for (var i = _scopes.Count - 1; i >= depth; i--)
        {
            killed |= KillLocals(state, _scopes[i]);
        }

        if (killed)
        {
            CheckUnreferenced(state, LeakReason.ScopeExit, 0);
        }
    }

    /// <summary>Walks one statement; returns the edges out of it.</summary>
    private Flow Walk(IOperation statement, Flow incoming)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        if (++_treeVisits > MaxBlockVisits)
        {
            return Flow.None;
        }

        switch (statement)
        {
            case IBlockOperation block:
                return WalkBlock(block, incoming);

            case IExpressionStatementOperation:
            {
                var state = Materialize(statement, incoming);
                if (state is null)
                {
                    return Flow.None;
                }

                _tryResults.Clear();
                Eval(statement, state, Mode.Use);
                CheckUnreferenced(state, LeakReason.Statement, 0);
                return Flow.Of(state);
            }

            case IVariableDeclarationGroupOperation group:
            {
                OwnershipState? state = null;
                foreach (var declaration in group.Declarations)
                {
                    foreach (var declarator in declaration.Declarators)
                    {
                        if (declarator.Initializer is not { } initializer)
                        {
                            continue;
                        }

                        state ??= Materialize(statement, incoming);
                        if (state is null)
                        {
                            return Flow.None;
                        }

                        _tryResults.Clear();
                        AssignVariable(state, declarator.Symbol, initializer.Value);
                        CheckUnreferenced(state, LeakReason.Statement, 0);
                    }
                }

                // Without an initializer a declaration is no operation: the edges go on unjoined.
                return state is null ? incoming : Flow.Of(state);
            }

            case IConditionalOperation conditional:
                return WalkIf(conditional, incoming);

            case IWhileLoopOperation { ConditionIsTop: true } whileLoop:
                return WalkLoop(whileLoop, whileLoop.Condition!, before: default, whileLoop.Body, atBottom: default, incoming);

            case IWhileLoopOperation doWhile:
                return WalkDoWhile(doWhile, incoming);

            case IForLoopOperation forLoop:
                return WalkLoop(forLoop, forLoop.Condition!, forLoop.Before, forLoop.Body, forLoop.AtLoopBottom, incoming);

            case IBranchOperation branch:
            {
                var frame = _loops[_loops.Count - 1];
                foreach (var edge in incoming.Edges)
                {
                    if (branch.BranchKind == BranchKind.Break)
                    {
                        LeaveScopes(edge, frame.OuterScopes);
                        frame.AddExit(branch);
                        Join(branch, Point.Break, edge);
                    }
                    else
                    {
                        LeaveScopes(edge, frame.LoopScopes);
                        if (frame.ContinuesAtBottom)
                        {
                            Join(frame.Loop, Point.Bottom, edge);
                        }
                        else if (Join(frame.Loop, Point.Head, edge))
                        {
                            frame.Grew = true;
                        }
                    }
                }

                return Flow.None;
            }

            case IReturnOperation { ReturnedValue: { } value }:
            {
                var state = Materialize(statement, incoming);
                if (state is null)
                {
                    return Flow.None;
                }

                _tryResults.Clear();
                var returned = Eval(value, state, Mode.Use);
                Release(state, returned, ReleaseKind.HandedOn, 0, value, checkTwice: false);
                CheckUnreferenced(state, LeakReason.Statement, 0);
                LeaveScopes(state, 0);
                ArriveExit(state);
                return Flow.None;
            }

            case IReturnOperation:
                foreach (var edge in incoming.Edges)
                {
                    LeaveScopes(edge, 0);
                    ArriveExit(edge);
                }

                return Flow.None;

            default:
                // IEmptyOperation; CanWalk lets nothing else through.
                return incoming;
        }
    }

    private Flow WalkBlock(IBlockOperation block, Flow incoming)
    {
        var depth = _scopes.Count;
        _scopes.Add(block.Locals);
        var flow = incoming;
        foreach (var statement in block.Operations)
        {
            flow = Walk(statement, flow);
            if (flow.IsNone)
            {
                break;
            }
        }

        // Each edge leaves the block's scope on its own, before it meets any other.
        foreach (var edge in flow.Edges)
        {
            LeaveScopes(edge, depth);
        }

        _scopes.RemoveAt(depth);
        return flow;
    }

    /// <summary>
    /// The edges out of a condition, each with the operand it leaves from: the graph tests each operand of
    /// <c>&amp;&amp;</c> and <c>||</c> in a block of its own (and turns <c>!</c> into swapped edges), so each is a
    /// branch, and the right operand's block starts where the left's edges to it meet.
    /// </summary>
    private void Split(IOperation condition, OwnershipState state, List<(IOperation Source, OwnershipState State)> whenTrue, List<(IOperation Source, OwnershipState State)> whenFalse)
    {
        switch (condition)
        {
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Not, OperatorMethod: null } not when IsShortCircuit(not.Operand):
                Split(not.Operand, state, whenFalse, whenTrue);
                return;

            case IBinaryOperation { OperatorMethod: null } binary when IsShortCircuit(binary):
            {
                var toRight = new List<(IOperation Source, OwnershipState State)>();
                var and = binary.OperatorKind == BinaryOperatorKind.ConditionalAnd;
                Split(binary.LeftOperand, state, and ? toRight : whenTrue, and ? whenFalse : toRight);
                if (Materialize(binary.RightOperand, FlowOf(toRight)) is { } right)
                {
                    Split(binary.RightOperand, right, whenTrue, whenFalse);
                }

                return;
            }
        }

        _tryResults.Clear();
        Eval(condition, state, IsRefinable(condition) ? Mode.NoUse : Mode.Use);
        CheckUnreferenced(state, LeakReason.Statement, 0);
        var taken = state.Clone();
        if (Refine(taken, condition, true))
        {
            whenTrue.Add((condition, taken));
        }

        if (Refine(state, condition, false))
        {
            whenFalse.Add((condition, state));
        }
    }

    private static bool IsShortCircuit(IOperation operation) => operation switch
    {
        IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr, OperatorMethod: null } binary =>
            binary.Type?.SpecialType == SpecialType.System_Boolean,
        IUnaryOperation { OperatorKind: UnaryOperatorKind.Not, OperatorMethod: null } not => IsShortCircuit(not.Operand),
        _ => false,
    };

    private static Flow FlowOf(List<(IOperation Source, OwnershipState State)> edges)
    {
        var flow = Flow.None;
        foreach (var edge in edges)
        {
            flow = flow.With(edge.State);
        }

        return flow;
    }

    /// <summary>The false edges of a loop's condition leave it: each leaves the loop's scopes and is an exit.</summary>
    private void ExitOnFalse(LoopFrame frame, List<(IOperation Source, OwnershipState State)> whenFalse)
    {
        foreach (var (source, state) in whenFalse)
        {
            LeaveScopes(state, frame.OuterScopes);
            frame.AddExit(source);
            Join(source, Point.Break, state);
        }
    }

    private Flow WalkIf(IConditionalOperation conditional, Flow incoming)
    {
        var state = Materialize(conditional, incoming);
        if (state is null)
        {
            return Flow.None;
        }

        var whenTrue = new List<(IOperation Source, OwnershipState State)>();
        var whenFalse = new List<(IOperation Source, OwnershipState State)>();
        Split(conditional.Condition, state, whenTrue, whenFalse);
        var result = Flow.None;
        if (whenTrue.Count > 0)
        {
            result = result.With(Walk(conditional.WhenTrue, FlowOf(whenTrue)));
        }

        if (whenFalse.Count > 0)
        {
            result = conditional.WhenFalse is { } elseStatement
                ? result.With(Walk(elseStatement, FlowOf(whenFalse)))
                : result.With(FlowOf(whenFalse));
        }

        return result;
    }

    /// <summary>while and for: the head tests the condition; the body (and a for's bottom) lead back to it.</summary>
    private Flow WalkLoop(
        ILoopOperation loop,
        IOperation condition,
        ImmutableArray<IOperation> before,
        IOperation body,
        ImmutableArray<IOperation> atBottom,
        Flow incoming)
    {
        var outer = _scopes.Count;
        _scopes.Add(loop.Locals);
        var flow = incoming;
        foreach (var statement in before.IsDefault ? ImmutableArray<IOperation>.Empty : before)
        {
            flow = Walk(statement, flow);
        }

        var frame = new LoopFrame(loop, outer, outer + 1);
        _loops.Add(frame);
        var changed = false;
        foreach (var edge in flow.Edges)
        {
            changed |= Join(loop, Point.Head, edge);
        }

        while (changed && _treeVisits <= MaxBlockVisits)
        {
            frame.Grew = false;
            var whenTrue = new List<(IOperation Source, OwnershipState State)>();
            var whenFalse = new List<(IOperation Source, OwnershipState State)>();
            Split(condition, Kept(loop, Point.Head)!, whenTrue, whenFalse);
            ExitOnFalse(frame, whenFalse);
            var back = Flow.None;
            if (whenTrue.Count > 0)
            {
                back = Walk(body, FlowOf(whenTrue));
                if (frame.ContinuesAtBottom)
                {
                    foreach (var edge in back.Edges)
                    {
                        Join(loop, Point.Bottom, edge);
                    }

                    back = Flow.None.With(Kept(loop, Point.Bottom));
                    foreach (var statement in atBottom.IsDefault ? ImmutableArray<IOperation>.Empty : atBottom)
                    {
                        back = Walk(statement, back);
                    }
                }
            }

            changed = frame.Grew;
            foreach (var edge in back.Edges)
            {
                changed |= Join(loop, Point.Head, edge);
            }
        }

        return ExitLoop(frame, outer);
    }

    /// <summary>do ... while: the body runs first; the condition at its bottom leads back to it.</summary>
    private Flow WalkDoWhile(IWhileLoopOperation loop, Flow incoming)
    {
        var outer = _scopes.Count;
        _scopes.Add(loop.Locals);
        var frame = new LoopFrame(loop, outer, outer + 1);
        _loops.Add(frame);
        var changed = false;
        foreach (var edge in incoming.Edges)
        {
            changed |= Join(loop, Point.Head, edge);
        }

        while (changed && _treeVisits <= MaxBlockVisits)
        {
            foreach (var edge in Walk(loop.Body, Flow.Of(Kept(loop, Point.Head)!)).Edges)
            {
                Join(loop, Point.Bottom, edge);
            }

            changed = false;
            if (Kept(loop, Point.Bottom) is not { } bottom)
            {
                break;
            }

            var whenTrue = new List<(IOperation Source, OwnershipState State)>();
            var whenFalse = new List<(IOperation Source, OwnershipState State)>();
            Split(loop.Condition!, bottom, whenTrue, whenFalse);
            ExitOnFalse(frame, whenFalse);
            foreach (var (_, state) in whenTrue)
            {
                changed |= Join(loop, Point.Head, state);
            }
        }

        return ExitLoop(frame, outer);
    }

    /// <summary>The edges out of a loop: its condition's false edge and each break, each joined over the iterations.</summary>
    private Flow ExitLoop(LoopFrame frame, int outer)
    {
        _loops.RemoveAt(_loops.Count - 1);
        _scopes.RemoveAt(outer);
        var exits = Flow.None;
        foreach (var source in frame.Exits)
        {
            exits = exits.With(Kept(source, Point.Break));
        }

        return exits;
    }

    // ---- the shapes the walk takes ----

    private static IBlockOperation? BodyOf(IOperation root) => root switch
    {
        IMethodBodyOperation { BlockBody: { } block, ExpressionBody: null } => block,
        IMethodBodyOperation { BlockBody: null, ExpressionBody: { } expression } => expression,
        IBlockOperation block when root.Parent is null => block,
        _ => null,
    };

    /// <summary>
    /// True when the graph of <paramref name="root"/> would be the tree's statements in order: see the remarks.
    /// Anything not listed here (try, using, foreach, lock, switch, goto, throw, yield, await, lambdas, local
    /// functions, patterns, conditional expressions, short-circuit operators outside a condition, initializers...)
    /// is refused.
    /// </summary>
    public static bool CanWalk(IOperation root, OwnershipTypes types)
    {
        var body = BodyOf(root);
        return body is not null && IsWalkableStatement(body, types, loopDepth: 0);
    }

    private static bool IsWalkableStatement(IOperation statement, OwnershipTypes types, int loopDepth)
    {
        switch (statement)
        {
            case IBlockOperation block:
                foreach (var local in block.Locals)
                {
                    if (!IsPlainLocal(local, types))
                    {
                        return false;
                    }
                }

                foreach (var inner in block.Operations)
                {
                    if (!IsWalkableStatement(inner, types, loopDepth))
                    {
                        return false;
                    }
                }

                return true;

            case IExpressionStatementOperation expressionStatement:
                return IsPlain(expressionStatement.Operation, types);

            case IVariableDeclarationGroupOperation group:
                foreach (var declaration in group.Declarations)
                {
                    if (declaration.Initializer is not null || !declaration.IgnoredDimensions.IsEmpty)
                    {
                        return false;
                    }

                    foreach (var declarator in declaration.Declarators)
                    {
                        if (!declarator.IgnoredArguments.IsEmpty
                            || !IsPlainLocal(declarator.Symbol, types)
                            || (declarator.Initializer is { } initializer && !IsPlain(initializer.Value, types)))
                        {
                            return false;
                        }
                    }
                }

                return true;

            case IConditionalOperation conditional:
                return conditional.Type is null
                    && IsPlainCondition(conditional.Condition, types)
                    && IsWalkableStatement(conditional.WhenTrue, types, loopDepth)
                    && (conditional.WhenFalse is null || IsWalkableStatement(conditional.WhenFalse, types, loopDepth));

            case IWhileLoopOperation whileLoop:
                return !whileLoop.ConditionIsUntil
                    && whileLoop.Locals.IsEmpty
                    && whileLoop.Condition is { } whileCondition
                    && IsPlainCondition(whileCondition, types)
                    && IsWalkableStatement(whileLoop.Body, types, loopDepth + 1);

            case IForLoopOperation forLoop:
                if (!forLoop.ConditionLocals.IsEmpty || forLoop.Condition is not { } forCondition || !IsPlainCondition(forCondition, types))
                {
                    return false;
                }

                foreach (var local in forLoop.Locals)
                {
                    if (!IsPlainLocal(local, types))
                    {
                        return false;
                    }
                }

                foreach (var inner in forLoop.Before)
                {
                    if (!IsWalkableStatement(inner, types, loopDepth))
                    {
                        return false;
                    }
                }

                foreach (var inner in forLoop.AtLoopBottom)
                {
                    if (!IsWalkableStatement(inner, types, loopDepth))
                    {
                        return false;
                    }
                }

                return IsWalkableStatement(forLoop.Body, types, loopDepth + 1);

            case IBranchOperation branch:
                // No switch is walked, so a break or continue belongs to the innermost loop.
                return loopDepth > 0 && branch.BranchKind is BranchKind.Break or BranchKind.Continue;

            case IReturnOperation returnOperation:
                return returnOperation.Kind == OperationKind.Return
                    && (returnOperation.ReturnedValue is null || IsPlain(returnOperation.ReturnedValue, types));

            case IEmptyOperation:
                return true;

            default:
                return false;
        }
    }

    /// <summary>
    /// A local the walk can follow: not a ref local, not a constant (the graph has no operation for its
    /// declaration, so edges would meet elsewhere), and not a pool (PP1005 tells pools in locals apart with facts
    /// gathered from the graph).
    /// </summary>
    private static bool IsPlainLocal(ILocalSymbol local, OwnershipTypes types) =>
        local.RefKind == RefKind.None && !local.IsConst && !types.IsPoolType(local.Type);

    /// <summary>
    /// A condition the graph tests one operand of <c>&amp;&amp;</c>, <c>||</c> and <c>!</c> at a time, each plain
    /// and not a constant (the graph folds constants away).
    /// </summary>
    private static bool IsPlainCondition(IOperation condition, OwnershipTypes types) => condition switch
    {
        IUnaryOperation not when IsShortCircuit(not) => IsPlainCondition(not.Operand, types),
        IBinaryOperation binary when IsShortCircuit(binary) =>
            IsPlainCondition(binary.LeftOperand, types) && IsPlainCondition(binary.RightOperand, types),
        _ => !condition.ConstantValue.HasValue && IsPlain(condition, types),
    };

    /// <summary>An expression without control flow of its own, made only of the operations listed.</summary>
    private static bool IsPlain(IOperation operation, OwnershipTypes types)
    {
        switch (operation)
        {
            case ILocalReferenceOperation local:
                return IsPlainLocal(local.Local, types);

            case IParameterReferenceOperation or IInstanceReferenceOperation or ILiteralOperation or IDefaultValueOperation
                or ITypeOfOperation or ISizeOfOperation or IDiscardOperation:
                return true;

            case IInvocationOperation invocation:
                if (invocation.TargetMethod.MethodKind == MethodKind.LocalFunction)
                {
                    return false;
                }

                break;

            case IObjectCreationOperation creation:
                if (creation.Initializer is not null)
                {
                    return false;
                }

                break;

            case IArrayCreationOperation arrayCreation:
                if (arrayCreation.Initializer is not null && arrayCreation.Parent is not IArgumentOperation { ArgumentKind: ArgumentKind.ParamArray })
                {
                    return false;
                }

                break;

            case IBinaryOperation binary:
                if (binary.OperatorKind is BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr)
                {
                    return false;
                }

                break;

            case ISimpleAssignmentOperation assignment:
                if (assignment.IsRef)
                {
                    return false;
                }

                break;

            case IDeclarationExpressionOperation declaration:
                // out var page / out Page page: one local, written by the call.
                return declaration.Expression is ILocalReferenceOperation declared
                    && IsPlainLocal(declared.Local, types)
                    && declaration.Parent is IArgumentOperation { Parameter.RefKind: RefKind.Out };

            case IFieldReferenceOperation or IPropertyReferenceOperation or IArrayElementReferenceOperation or IConversionOperation
                or IArgumentOperation or IUnaryOperation or ICompoundAssignmentOperation or IIncrementOrDecrementOperation
                or IArrayInitializerOperation or IIsTypeOperation:
                break;

            default:
                return false;
        }

        foreach (var child in operation.ChildOperations)
        {
            if (!IsPlain(child, types))
            {
                return false;
            }
        }

        return true;
    }
}
