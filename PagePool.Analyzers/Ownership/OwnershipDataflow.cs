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

/// <summary>
/// The ownership dataflow over one control-flow graph (a method, a local function or a lambda): a forward
/// may-analysis to a fixpoint, path-sensitive through <c>finally</c> (each entry into a finally region is analysed
/// with its own continuation), with exception edges from calls inside <c>try</c> and from every <c>throw</c>.
/// Diagnostics are reported in one last pass over the converged states, so intermediate states never leak out.
/// </summary>
/// <remarks>
/// Nearly every method that touches a page is correct, so the analysis first runs without what only a message
/// needs (lines, path notes) and notes whether any check could fire (<see cref="WouldReport"/>); only then is it run
/// again in full, with the reporting pass. The first run's lattice (flags, variables, try facts, "an await ran") is
/// the one the full run reaches, and the reporting pass re-evaluates each block from a state equal to the one its
/// last visit saw in that lattice, so a check that fires there fired during the first run too.
/// </remarks>
internal sealed partial class OwnershipDataflow
{
    private const int MaxBlockVisits = 20_000;

    private readonly ControlFlowGraph? _graph;
    private readonly IMethodSymbol? _method;
    private readonly OwnershipTypes _types;
    private readonly OwnershipReporter _reporter;
    private readonly string? _offContextApi;
    private readonly bool _trackArrays;
    private readonly bool _detailed;
    private readonly CancellationToken _cancellationToken;

    private readonly Dictionary<object, int> _siteIds = new();
    private readonly VariableSlots _slots = new();
    private readonly List<Site> _sites = new();
    private readonly List<Frame> _frames = new() { default };
    private readonly Dictionary<(int Parent, object Anchor, int Index), int> _frameIds = new();
    private readonly Dictionary<long, OwnershipState> _inStates = new();
    private readonly SortedSet<long> _worklist = new();
    private readonly bool[] _blockInTry;
    private readonly Dictionary<ILocalSymbol, object?>? _localPoolInstances;
    private readonly Dictionary<IOperation, ResourceSet> _tryResults = new();

    private readonly HashSet<int> _reportedUses = new();
    private bool _reporting;
    private bool _wouldReport;
    private int _currentContext;
    private BasicBlock? _currentBlock;

    public OwnershipDataflow(
        ControlFlowGraph? graph,
        IMethodSymbol? method,
        OwnershipTypes types,
        Dictionary<ILocalSymbol, object?>? localPoolInstances,
        OwnershipReporter reporter,
        bool trackArrays,
        string? offContextApi,
        bool detailed,
        CancellationToken cancellationToken)
    {
        _localPoolInstances = localPoolInstances;
        _graph = graph;
        _detailed = detailed;
        _trackArrays = trackArrays;
        _method = method;
        _types = types;
        _reporter = reporter;
        _offContextApi = offContextApi;
        _cancellationToken = cancellationToken;
        if (graph is null)
        {
            // The tree walk (OwnershipDataflow.TreeWalk.cs): no graph, no try regions.
            _blockInTry = Array.Empty<bool>();
            return;
        }

        _blockInTry = new bool[graph.Blocks.Length];
        foreach (var block in graph.Blocks)
        {
            // A lambda's graph links its root region to the enclosing graph's regions: stop at this graph's root.
            for (var region = block.EnclosingRegion; region is not null && region.Kind != ControlFlowRegionKind.Root; region = region.EnclosingRegion)
            {
                if (region.Kind == ControlFlowRegionKind.Try && IsWrittenHandler(graph, region.EnclosingRegion))
                {
                    _blockInTry[block.Ordinal] = true;
                    break;
                }
            }
        }
    }

    /// <summary>
    /// A try the author wrote: one with catch clauses, or a finally with code of its own. The compiler's own
    /// try/finally (foreach, using, lock) does not make every call in its body an exception path.
    /// </summary>
    private static bool IsWrittenHandler(ControlFlowGraph graph, ControlFlowRegion? tryAndHandlers)
    {
        if (tryAndHandlers is null)
        {
            return false;
        }

        if (tryAndHandlers.Kind == ControlFlowRegionKind.TryAndCatch)
        {
            return true;
        }

        if (tryAndHandlers.Kind != ControlFlowRegionKind.TryAndFinally || tryAndHandlers.NestedRegions.Length < 2)
        {
            return false;
        }

        var handler = tryAndHandlers.NestedRegions[1];
        for (var ordinal = handler.FirstBlockOrdinal; ordinal <= handler.LastBlockOrdinal && ordinal < graph.Blocks.Length; ordinal++)
        {
            var block = graph.Blocks[ordinal];
            foreach (var operation in block.Operations)
            {
                if (!operation.IsImplicit)
                {
                    return true;
                }
            }

            if (block.BranchValue is { IsImplicit: false })
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Site
    {
        public Site(Location location, ResourceKind kind, string origin, bool isParameter)
        {
            Location = location;
            Kind = kind;
            Origin = origin;
            IsParameter = isParameter;
            Name = null;
        }

        public Location Location { get; }

        public ResourceKind Kind { get; }

        public string Origin { get; }

        public bool IsParameter { get; }

        public string? Name { get; set; }
    }

    /// <summary>A continuation for a finally region: where control goes when the region completes.</summary>
    private readonly struct Frame
    {
        public Frame(int parent, ControlFlowBranch? branch, int index, ControlFlowRegion? resumeFrom)
        {
            Parent = parent;
            Branch = branch;
            Index = index;
            ResumeFrom = resumeFrom;
        }

        public int Parent { get; }

        /// <summary>The normal branch whose finally regions run in order; null for an exception passing through.</summary>
        public ControlFlowBranch? Branch { get; }

        public int Index { get; }

        /// <summary>For an exception: the try/finally region it propagates out of once the finally completes.</summary>
        public ControlFlowRegion? ResumeFrom { get; }
    }

    private enum Mode
    {
        Use,
        NoUse,
        Consume,
    }

    private enum LeakReason
    {
        Exit,
        ExceptionExit,
        ScopeExit,
        Statement,
    }

    /// <summary>
    /// True when some check fired on a state the analysis reached: a full (detailed) run may report something.
    /// False means the full run reports nothing.
    /// </summary>
    public bool WouldReport => _wouldReport;

    /// <summary>
    /// Runs the analysis and, when detailed, reports what it finds. Returns false when it gave up (too large).
    /// </summary>
    public bool Run()
    {
        var graph = _graph!;
        var entry = graph.Blocks[0];
        Merge(entry.Ordinal, 0, InitialState());
        var visits = 0;
        while (_worklist.Count > 0)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            if (++visits > MaxBlockVisits)
            {
                return false;
            }

            var key = _worklist.Min;
            _worklist.Remove(key);
            Process(key);
        }

        if (!_detailed || !_wouldReport)
        {
            return true;
        }

        _reporting = true;
        foreach (var key in new List<long>(_inStates.Keys))
        {
            _cancellationToken.ThrowIfCancellationRequested();
            Process(key);
        }

        return true;
    }

    /// <summary>The state on entry: each page parameter is held ([Owned], by value) or borrowed.</summary>
    private OwnershipState InitialState()
    {
        var initial = new OwnershipState(_slots);
        if (_method is not null)
        {
            foreach (var parameter in _method.Parameters)
            {
                var kind = _types.KindOf(parameter.Type);
                if (kind != ResourceKind.Page || parameter.RefKind == RefKind.Out)
                {
                    continue;
                }

                var location = parameter.Locations.Length > 0 ? parameter.Locations[0] : Location.None;
                var site = GetSite(parameter, location, ResourceKind.Page, parameter.Name, isParameter: true);
                _sites[site].Name = parameter.Name;
                var id = site * 2;
                var owned = parameter.RefKind == RefKind.None && _types.IsOwnedParameter(parameter);
                initial.Resources[id] = new ResourceState { Flags = owned ? Own.Held : Own.Borrowed };
                initial.SetValue(parameter, ResourceSet.Of(id));
            }
        }

        return initial;
    }

    private static long Key(int ordinal, int context) => ((long)context << 32) | (uint)ordinal;

    /// <summary>
    /// Joins <paramref name="state"/> into the block's entry state. The first state to reach a block is kept as it
    /// is, not copied: every caller is done with it, except where one state goes to several handlers
    /// (<paramref name="shared"/>).
    /// </summary>
    private void Merge(int ordinal, int context, OwnershipState state, bool shared = false)
    {
        if (_reporting)
        {
            return;
        }

        var key = Key(ordinal, context);
        if (_inStates.TryGetValue(key, out var existing))
        {
            if (existing.JoinWith(state))
            {
                _worklist.Add(key);
            }
        }
        else
        {
            _inStates[key] = shared ? state.Clone() : state;
            _worklist.Add(key);
        }
    }

    private void Process(long key)
    {
        var ordinal = (int)(key & 0xFFFFFFFF);
        var context = (int)(key >> 32);
        var block = _graph!.Blocks[ordinal];
        var state = _inStates[key].Clone();
        _currentContext = context;
        _currentBlock = block;
        _tryResults.Clear();

        if (block.Kind == BasicBlockKind.Exit)
        {
            CheckExit(state, exceptional: false, 0);
            return;
        }

        foreach (var operation in block.Operations)
        {
            Eval(operation, state, Mode.Use);
            CheckUnreferenced(state, LeakReason.Statement, LineOf(operation));
        }

        var fallThrough = block.FallThroughSuccessor;
        var conditional = block.ConditionalSuccessor;
        if (block.BranchValue is { } branchValue)
        {
            if (conditional is not null)
            {
                Eval(branchValue, state, IsRefinable(branchValue) ? Mode.NoUse : Mode.Use);
                CheckUnreferenced(state, LeakReason.Statement, LineOf(branchValue));
                var jumpWhen = block.ConditionKind == ControlFlowConditionKind.WhenTrue;
                var line = LineOf(branchValue);
                var taken = state.Clone();
                if (Refine(taken, branchValue, jumpWhen))
                {
                    if (_detailed)
                    {
                        Annotate(taken, line, SenseAsWritten(branchValue, jumpWhen));
                    }

                    FollowBranch(taken, conditional, context);
                }

                if (fallThrough is not null && Refine(state, branchValue, !jumpWhen))
                {
                    if (_detailed)
                    {
                        Annotate(state, line, SenseAsWritten(branchValue, !jumpWhen));
                    }

                    FollowBranch(state, fallThrough, context);
                }

                return;
            }

            if (fallThrough?.Semantics == ControlFlowBranchSemantics.Throw)
            {
                if (Strip(branchValue).IsImplicit)
                {
                    // The compiler's own throw (a switch expression with no matching arm): not a path the author wrote.
                    return;
                }

                Eval(branchValue, state, Mode.Use);
                PropagateException(state, block.EnclosingRegion, context, explicitThrow: true, LineOf(branchValue));
                return;
            }

            if (fallThrough?.Semantics == ControlFlowBranchSemantics.Return)
            {
                var returned = Eval(branchValue, state, Mode.Use);
                Release(state, returned, ReleaseKind.HandedOn, LineOf(branchValue), branchValue, checkTwice: false);
            }
            else
            {
                Eval(branchValue, state, Mode.Use);
            }

            CheckUnreferenced(state, LeakReason.Statement, LineOf(branchValue));
        }

        if (fallThrough is null)
        {
            return;
        }

        if (fallThrough.Semantics == ControlFlowBranchSemantics.Rethrow)
        {
            PropagateException(state, block.EnclosingRegion, context, explicitThrow: true, 0);
            return;
        }

        FollowBranch(state, fallThrough, context);
    }

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

    internal static IOperation Strip(IOperation operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } or IConversionOperation { Conversion.IsNullable: true } or IParenthesizedOperation)
        {
            operation = operation switch
            {
                IConversionOperation conversion => conversion.Operand,
                IParenthesizedOperation parenthesized => parenthesized.Operand,
                _ => operation,
            };
        }

        return operation;
    }

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

    private void FollowBranch(OwnershipState state, ControlFlowBranch branch, int context)
    {
        if (!branch.FinallyRegions.IsEmpty)
        {
            EnterFinally(state, Intern(context, branch, 0, null), branch.FinallyRegions[0]);
            return;
        }

        foreach (var region in branch.LeavingRegions)
        {
            KillRegion(state, region, LineOfBranch(branch));
        }

        GoTo(state, branch.Destination, branch.Semantics, context);
    }

    private void GoTo(OwnershipState state, BasicBlock? destination, ControlFlowBranchSemantics semantics, int context)
    {
        if (destination is not null)
        {
            Merge(destination.Ordinal, context, state);
            return;
        }

        if (semantics == ControlFlowBranchSemantics.StructuredExceptionHandling)
        {
            CompleteFinally(state, context);
        }
    }

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

    private int LineOfBranch(ControlFlowBranch branch)
    {
        var source = branch.Source;
        if (source.BranchValue is { } value)
        {
            return LineOf(value);
        }

        return source.Operations.Length > 0 ? LineOf(source.Operations[source.Operations.Length - 1]) : 0;
    }

    // ---- leaks ----

    private void CheckUnreferenced(OwnershipState state, LeakReason reason, int line)
    {
        // Values no variable can reach any more are dropped; those still owned leak here.
        List<int>? dead = null;
        var resources = state.Resources;
        for (var position = 0; position < resources.End; position++)
        {
            var id = resources.IdAt(position);
            if (id != ResourceMap.Removed && !state.IsReferenced(id))
            {
                (dead ??= new List<int>()).Add(id);
            }
        }

        if (dead is null)
        {
            return;
        }

        foreach (var id in dead)
        {
            var resource = state.Resources[id];
            if ((resource.Flags & Own.Held) != 0)
            {
                ReportLeak(id, resource, reason, line);
            }

            state.Resources.Remove(id);
        }
    }

    private void CheckExit(OwnershipState state, bool exceptional, int line)
    {
        var handedOut = ResourceSet.Empty;
        if (!exceptional && _method is not null)
        {
            foreach (var parameter in _method.Parameters)
            {
                if (parameter.RefKind is RefKind.Out or RefKind.Ref)
                {
                    handedOut = handedOut.Union(state.ValueOf(parameter));
                }
            }
        }

        var resources = state.Resources;
        for (var position = 0; position < resources.End; position++)
        {
            var id = resources.IdAt(position);
            var resource = resources.ValueAt(position);
            if (id != ResourceMap.Removed && (resource.Flags & Own.Held) != 0 && !handedOut.Contains(id))
            {
                ReportLeak(id, resource, exceptional ? LeakReason.ExceptionExit : LeakReason.Exit, line);
            }
        }
    }

    private void ReportLeak(int id, ResourceState resource, LeakReason reason, int line)
    {
        if (!_reporting)
        {
            _wouldReport = true;
            return;
        }

        var site = _sites[id / 2];
        var isPage = site.Kind == ResourceKind.Page;
        var verb = isPage ? "recycled" : "returned to the pool";
        string subject;
        if (site.IsParameter)
        {
            subject = $"[Owned] parameter '{site.Name}'";
        }
        else if (site.Name is not null)
        {
            subject = isPage ? $"Page '{site.Name}'" : $"Array '{site.Name}'";
        }
        else
        {
            subject = isPage ? $"The page returned by '{site.Origin}'" : $"The array rented by '{site.Origin}'";
        }

        string message;
        var note = resource.Note;
        if (reason == LeakReason.Statement && site.Name is null)
        {
            message = $"{subject} is discarded and never {verb}";
        }
        else if (reason == LeakReason.Statement)
        {
            message = $"{subject} is overwritten at line {line} before it is {verb}";
        }
        else if (note is not null && note.IsException)
        {
            message = reason == LeakReason.ExceptionExit
                ? $"{subject} is not {verb} when the exception thrown at line {note.Line} leaves the method"
                : $"{subject} is not {verb} when the exception thrown at line {note.Line} is caught";
        }
        else if (reason == LeakReason.ExceptionExit)
        {
            message = line > 0
                ? $"{subject} is not {verb} when the exception thrown at line {line} leaves the method"
                : $"{subject} is not {verb} when an exception leaves the method";
        }
        else if (note is not null)
        {
            message = $"{subject} is not {verb} when the condition at line {note.Line} is {(note.Sense ? "true" : "false")}";
        }
        else if ((resource.Flags & (Own.Released | Own.Borrowed)) != 0)
        {
            message = $"{subject} is not {verb} on every path";
        }
        else
        {
            message = isPage ? $"{subject} is never recycled or handed on" : $"{subject} is never returned to the pool";
        }

        var descriptor = isPage ? OwnershipDescriptors.PageMayLeak : OwnershipDescriptors.ArrayMayLeak;
        _reporter.Report(descriptor, site.Location, message);
    }

    // ---- evaluation ----

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
                var value = Eval(capture.Value, state, Mode.NoUse);
                Assign(state, capture.Id, value, null);
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
            {
                if (creation.Constructor is { } constructor)
                {
                    EvalCall(creation, constructor, null, creation.Arguments, state);
                }
                else
                {
                    EvalChildren(creation, state, escape: true);
                }

                if (creation.Initializer is { } initializer)
                {
                    Eval(initializer, state, Mode.Use);
                }

                return ResourceSet.Empty;
            }

            case IPropertyReferenceOperation property:
            {
                var isDefaultCheck = property.Property.Name == "IsDefault" && _types.IsPage(property.Instance?.Type);
                Eval(property.Instance, state, isDefaultCheck ? Mode.NoUse : Mode.Use);
                foreach (var argument in property.Arguments)
                {
                    Eval(argument.Value, state, Mode.Use);
                }

                return Lent(state, operation, property.Type);
            }

            case IFieldReferenceOperation field:
                Eval(field.Instance, state, Mode.Use);
                return Lent(state, operation, field.Type);

            case IArrayElementReferenceOperation element:
                Eval(element.ArrayReference, state, Mode.Use);
                foreach (var index in element.Indices)
                {
                    Eval(index, state, Mode.Use);
                }

                return Lent(state, operation, element.Type);

            case IBinaryOperation binary:
            {
                var nullCheck = IsNullOrDefault(binary.LeftOperand) || IsNullOrDefault(binary.RightOperand);
                Eval(binary.LeftOperand, state, nullCheck ? Mode.NoUse : Mode.Use);
                Eval(binary.RightOperand, state, nullCheck ? Mode.NoUse : Mode.Use);
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
                MayThrow(state, operation);
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

            case ILiteralOperation or IDefaultValueOperation or IInstanceReferenceOperation:
                return ResourceSet.Empty;

            case ITupleOperation or IArrayInitializerOperation or IAnonymousObjectCreationOperation
                or IDynamicInvocationOperation or IDynamicObjectCreationOperation or IDynamicMemberReferenceOperation
                or IDynamicIndexerAccessOperation or ICollectionExpressionOperation or ISpreadOperation:
                EvalChildren(operation, state, escape: true);
                return ResourceSet.Empty;

            default:
                // stackalloc initializers and other constructs without a public operation land here as None.
                EvalChildren(operation, state, escape: operation.Kind == OperationKind.None);
                return ResourceSet.Empty;
        }
    }

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
        Escape(state, stored);
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

    private static void Escape(OwnershipState state, ResourceSet value)
    {
        foreach (var id in value.Ids)
        {
            if (state.Resources.TryGetValue(id, out var resource) && (resource.Flags & Own.Held) != 0)
            {
                resource.Flags = (resource.Flags & ~Own.Held) | Own.Borrowed;
                state.Resources[id] = resource;
            }
        }
    }

    private ResourceSet EvalCall(
        IOperation call,
        IMethodSymbol method,
        IOperation? instance,
        ImmutableArray<IArgumentOperation> arguments,
        OwnershipState state)
    {
        Eval(instance, state, Mode.Use);
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

            var value = Eval(argument.Value, state, owned ? Mode.Consume : Mode.Use);
            if (value.IsEmpty)
            {
                continue;
            }

            if (owned)
            {
                (consumed ??= new List<(IArgumentOperation, ResourceSet)>()).Add((argument, value));
            }
            else if (parameter is null
                || parameter.OriginalDefinition.Type is ITypeParameterSymbol
                || IsStoringName(method.Name)
                || (!(method.IsExtensionMethod && parameter.Ordinal == 0) && (storesInReceiver ??= _types.IsContainerType(receiverType))))
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
            MayThrow(state, call);
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

        var lends = (outs is not null || _types.IsPage(method.ReturnType))
            && IsLendingName(method.Name)
            && (storesInReceiver ??= _types.IsContainerType(receiverType));
        if (outs is not null)
        {
            var created = ResourceSet.Empty;
            foreach (var argument in outs)
            {
                created = created.Union(EvalOut(state, argument, method, lends));
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

        if (_types.IsPage(method.ReturnType))
        {
            var flags = lends || _types.IsNotOwnedReturn(method) ? Own.Borrowed : Own.Held;
            return NewResource(state, call, flags, ResourceKind.Page, PoolOf(instance), method.Name);
        }

        if (_trackArrays && _types.IsRent(method))
        {
            return NewResource(state, call, Own.Held, ResourceKind.Array, null, method.Name);
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

        return created;
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

                _reporter.Report(
                    isPage ? OwnershipDescriptors.PageRecycledTwice : OwnershipDescriptors.ArrayReturnedTwice,
                    at.Syntax.GetLocation(),
                    message);
            }

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

    private void CheckOwnerContext(OwnershipState state, IOperation call)
    {
        if (!_reporting)
        {
            _wouldReport |= _offContextApi is not null || state.AwaitLine != 0;
            return;
        }

        if (_offContextApi is not null)
        {
            _reporter.Report(
                OwnershipDescriptors.RecycleDirectOffOwner,
                call.Syntax.GetLocation(),
                $"RecyclePageDirect is called in a callback passed to '{_offContextApi}', which runs off the owner context; use RecyclePage");
        }
        else if (state.AwaitLine != 0)
        {
            _reporter.Report(
                OwnershipDescriptors.RecycleDirectOffOwner,
                call.Syntax.GetLocation(),
                $"RecyclePageDirect is called after the await at line {state.AwaitLine}, where the method may continue on another thread; use RecyclePage");
        }
    }

    private void CheckSamePool(OwnershipState state, ResourceSet value, PoolIdentity target, IArgumentOperation argument)
    {
        foreach (var id in value.Ids)
        {
            var resource = state.Get(id);
            if (resource.Pool is { } source && (resource.Flags & Own.Released) == 0 && source.IsKnownDifferent(target))
            {
                if (!_reporting)
                {
                    _wouldReport = true;
                    return;
                }

                var name = NameOf(argument.Value) ?? _sites[id / 2].Name ?? "?";
                _reporter.Report(
                    OwnershipDescriptors.PageRecycledToOtherPool,
                    argument.Syntax.GetLocation(),
                    $"Page '{name}' was allocated from {source.Display} but is recycled into {target.Display}");
                return;
            }
        }
    }

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

    /// <summary>The line, for messages and path notes only: 0 in the first, undetailed run, which needs neither.</summary>
    private int LineOf(IOperation operation) => _detailed ? ComputeLine(operation) : 0;

    private static int ComputeLine(IOperation operation)
    {
        var syntax = operation.Syntax;
        return syntax.SyntaxTree.GetLineSpan(syntax.Span).StartLinePosition.Line + 1;
    }
}
