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
/// with its own continuation), with exception edges from every <c>throw</c> and from calls that may throw: for
/// everything tracked inside a <c>try</c> the author wrote, and for pages everywhere (PP1006).
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
    private readonly bool[] _blockInAnyTry;
    private readonly Dictionary<ILocalSymbol, object?>? _localPoolInstances;
    private readonly Dictionary<IOperation, ResourceSet> _tryResults = new();

    private readonly HashSet<int> _reportedUses = new();
    private readonly Dictionary<CaptureId, ISymbol> _capturedVariables = new();

    /// <summary>The sites some path recycles, returns or hands on: a leak of any other is "never" recycled.</summary>
    private readonly HashSet<int> _handedOnSites = new();
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
        CancellationToken cancellationToken,
        SummaryRecorder? summary = null)
    {
        _summary = summary;
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
            _blockInAnyTry = Array.Empty<bool>();
            return;
        }

        _blockInTry = new bool[graph.Blocks.Length];
        _blockInAnyTry = new bool[graph.Blocks.Length];
        foreach (var block in graph.Blocks)
        {
            // A lambda's graph links its root region to the enclosing graph's regions: stop at this graph's root.
            for (var region = block.EnclosingRegion; region is not null && region.Kind != ControlFlowRegionKind.Root; region = region.EnclosingRegion)
            {
                if (region.Kind != ControlFlowRegionKind.Try)
                {
                    continue;
                }

                _blockInAnyTry[block.Ordinal] = true;
                if (IsWrittenHandler(graph, region.EnclosingRegion))
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
        if (_summary is not null)
        {
            return SummaryInitialState(_summary);
        }

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

        if (_summary is not null && ordinal == _graph!.Blocks.Length - 1)
        {
            RecordExit(state);
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
                if (_summary is not null)
                {
                    RecordReturn(state, returned, branchValue);
                }

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

    /// <summary>The line, for messages and path notes only: 0 in the first, undetailed run, which needs neither.</summary>
    private int LineOf(IOperation operation) => _detailed ? ComputeLine(operation) : 0;

    private static int ComputeLine(IOperation operation)
    {
        var syntax = operation.Syntax;
        return syntax.SyntaxTree.GetLineSpan(syntax.Span).StartLinePosition.Line + 1;
    }
}
