using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>
/// Checks that every page taken from a pool goes back to it exactly once (PP1001–PP1003), that
/// <c>RecyclePageDirect</c> runs in the owner context (PP1004), that a page goes back to its own pool (PP1005) and
/// that no call that may throw loses a page on its way out of the method (PP1006);
/// with the same engine, that arrays rented from an <c>ArrayPool&lt;T&gt;</c> are returned exactly once
/// (PP1101–PP1103, off by default).
/// </summary>
/// <remarks>
/// The rules follow the Checker Framework's Resource Leak Checker: a page returned by a method or written to an
/// <c>out</c> argument is owned by the caller (unless <c>[NotOwned]</c>), parameters are borrowed unless
/// <c>[Owned]</c>, copies of the struct are the same page, and handing on (recycling, passing to an <c>[Owned]</c>
/// parameter, returning, storing into a field, array or collection) discharges the obligation. A wrapper made from
/// a page or an array (a constructor that stores it, an initializer, a tuple, <c>ArraySegment</c>, <c>Memory</c>...)
/// carries the same obligation (OwnershipDataflow.Wrappers.cs, OwnershipWrappers.cs), and what a callee whose body
/// is in the compilation does with its parameters, its <c>ref</c> and <c>out</c> arguments and its result is read
/// from that body (OwnershipSummaries.cs, OwnershipDataflow.Summaries.cs). A method that never
/// mentions a page (or a rented array) costs one walk over its operations and builds no control-flow graph; nor does
/// a correct method whose statements are only blocks, ifs, loops and returns over plain expressions, which the walk
/// of OwnershipDataflow.TreeWalk.cs proves clean (any other method, and any the walk cannot prove, gets its graph).
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class OwnershipAnalyzer : DiagnosticAnalyzer
{
    private static int s_internalErrors;
    private static int s_graphsBuilt;

    private readonly bool _treeWalk;
    private int _provedByTreeWalk;

    /// <summary>Creates the analyzer.</summary>
    public OwnershipAnalyzer()
        : this(treeWalk: true)
    {
    }

    /// <summary>For tests: <paramref name="treeWalk"/> false builds a graph for every method that touches a page.</summary>
    internal OwnershipAnalyzer(bool treeWalk) => _treeWalk = treeWalk;

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        OwnershipDescriptors.PageMayLeak,
        OwnershipDescriptors.PageUsedAfterRecycle,
        OwnershipDescriptors.PageRecycledTwice,
        OwnershipDescriptors.RecycleDirectOffOwner,
        OwnershipDescriptors.PageRecycledToOtherPool,
        OwnershipDescriptors.PageLeaksOnException,
        OwnershipDescriptors.ArrayMayLeak,
        OwnershipDescriptors.ArrayUsedAfterReturn,
        OwnershipDescriptors.ArrayReturnedTwice);

    /// <summary>How many times the analysis hit an internal error and skipped a method (for tests).</summary>
    internal static int InternalErrors => Volatile.Read(ref s_internalErrors);

    /// <summary>How many control-flow graphs the analyzer asked for (for tests: methods without pages build none).</summary>
    internal static int GraphsBuilt => Volatile.Read(ref s_graphsBuilt);

    /// <summary>Counts an internal error met while reading <paramref name="method"/> for a summary (tests fail on any).</summary>
    internal static void NoteInternalError(Exception exception, ISymbol method)
    {
        Interlocked.Increment(ref s_internalErrors);
        LastInternalError = new InvalidOperationException("Ownership summary failed for " + method.ToDisplayString(), exception);
    }

    /// <summary>The last internal error, for tests to show.</summary>
    internal static Exception? LastInternalError { get; private set; }

    /// <summary>
    /// For tests: after the tree walk proves a method clean, build its graph anyway and count an internal error
    /// when the graph reports something (its diagnostics are reported too). Set once, before any analysis.
    /// </summary>
    internal static bool CheckTreeWalks { get; set; }

    /// <summary>How many methods this instance proved clean without a graph (for tests).</summary>
    internal int ProvedByTreeWalk => Volatile.Read(ref _provedByTreeWalk);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        var treeWalk = _treeWalk;
        context.RegisterCompilationStartAction(start =>
        {
            var types = OwnershipTypes.Create(start.Compilation);
            if (!types.HasAnything)
            {
                return;
            }

            start.RegisterOperationBlockAction(block => AnalyzeBlock(block, types, treeWalk ? this : null));
        });
    }

    private static void AnalyzeBlock(OperationBlockAnalysisContext context, OwnershipTypes types, OwnershipAnalyzer? treeWalk)
    {
        var trackArrays = types.ArrayPool is not null
            && context.OperationBlocks.Length > 0
            && ArrayRulesEnabled(context.Compilation, context.OperationBlocks[0].Syntax.SyntaxTree, types, context.CancellationToken);

        var blocks = context.OperationBlocks;
        for (var i = 0; i < blocks.Length; i++)
        {
            // For a method the blocks may be the body block under an IMethodBodyOperation: the graph is built
            // for the root, once.
            var block = blocks[i];
            var root = RootOf(block);
            if (SeenBefore(blocks, i, root)
                || root is not (IMethodBodyOperation or IConstructorBodyOperation or IBlockOperation)
                || !Touches(root, context.OwningSymbol, types, trackArrays))
            {
                continue;
            }

            try
            {
                var method = context.OwningSymbol as IMethodSymbol;
                if (treeWalk is not null && TryTreeWalk(context, root, method, types, trackArrays))
                {
                    Interlocked.Increment(ref treeWalk._provedByTreeWalk);
                    if (CheckTreeWalks)
                    {
                        CheckTreeWalk(context, block, method, types, trackArrays);
                    }

                    continue;
                }

                Interlocked.Increment(ref s_graphsBuilt);
                var graph = context.GetControlFlowGraph(block);
                var reporter = new OwnershipReporter(context.ReportDiagnostic);
                AnalyzeGraph(graph, method, types, reporter, trackArrays, offContextApi: null, context.CancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Half-typed code must never surface as AD0001: skip the method rather than crash the build.
                Interlocked.Increment(ref s_internalErrors);
                LastInternalError = new InvalidOperationException("Ownership analysis failed in " + context.OwningSymbol.ToDisplayString(), ex);
            }
        }
    }

    /// <summary>The fast path: true when the method is proved clean without a graph.</summary>
    private static bool TryTreeWalk(OperationBlockAnalysisContext context, IOperation root, IMethodSymbol? method, OwnershipTypes types, bool trackArrays)
    {
        try
        {
            return OwnershipDataflow.CanWalk(root, types)
                && OwnershipDataflow.ProvesClean(root, method, types, trackArrays, context.CancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug in the fast path must cost only time: count it (tests fail on it) and build the graph.
            Interlocked.Increment(ref s_internalErrors);
            LastInternalError = new InvalidOperationException("The tree walk failed in " + context.OwningSymbol.ToDisplayString(), ex);
            return false;
        }
    }

    /// <summary>The tests' check of the fast path: the graph must agree that the method is clean.</summary>
    private static void CheckTreeWalk(OperationBlockAnalysisContext context, IOperation block, IMethodSymbol? method, OwnershipTypes types, bool trackArrays)
    {
        var found = new List<Diagnostic>();
        var graph = context.GetControlFlowGraph(block);
        AnalyzeGraph(graph, method, types, new OwnershipReporter(found.Add), trackArrays, offContextApi: null, context.CancellationToken);
        if (found.Count == 0)
        {
            return;
        }

        Interlocked.Increment(ref s_internalErrors);
        LastInternalError = new InvalidOperationException(
            "The tree walk proved " + context.OwningSymbol.ToDisplayString() + " clean, but its graph reports: " + string.Join("; ", found));
        foreach (var diagnostic in found)
        {
            context.ReportDiagnostic(diagnostic);
        }
    }

    private static IOperation RootOf(IOperation operation)
    {
        while (operation.Parent is not null)
        {
            operation = operation.Parent;
        }

        return operation;
    }

    /// <summary>A method has one to three blocks: comparing roots beats hashing them into a set.</summary>
    private static bool SeenBefore(ImmutableArray<IOperation> blocks, int index, IOperation root)
    {
        for (var i = 0; i < index; i++)
        {
            if (ReferenceEquals(RootOf(blocks[i]), root))
            {
                return true;
            }
        }

        return false;
    }

    private static void AnalyzeGraph(
        ControlFlowGraph graph,
        IMethodSymbol? method,
        OwnershipTypes types,
        OwnershipReporter reporter,
        bool trackArrays,
        string? offContextApi,
        CancellationToken cancellationToken)
    {
        // Most methods are correct: a first run without messages proves it, and only a method where some check
        // fired pays for the run that words the diagnostics.
        var facts = new GraphFacts(graph, types);
        var quick = new OwnershipDataflow(graph, method, types, facts.LocalPools, reporter, trackArrays, offContextApi, detailed: false, cancellationToken);
        if (quick.Run() && quick.WouldReport)
        {
            new OwnershipDataflow(graph, method, types, facts.LocalPools, reporter, trackArrays, offContextApi, detailed: true, cancellationToken).Run();
        }

        if (graph.LocalFunctions.IsEmpty && facts.Lambdas is null)
        {
            return;
        }

        var callbacks = FindOffContextCallbacks(facts.Callbacks, types);
        foreach (var localFunction in graph.LocalFunctions)
        {
            callbacks.TryGetValue(localFunction, out var api);
            AnalyzeGraph(graph.GetLocalFunctionControlFlowGraph(localFunction), localFunction, types, reporter, trackArrays, offContextApi ?? api, cancellationToken);
        }

        if (facts.Lambdas is not null)
        {
            foreach (var lambda in facts.Lambdas)
            {
                callbacks.TryGetValue(lambda, out var api);
                AnalyzeGraph(graph.GetAnonymousFunctionControlFlowGraph(lambda), lambda.Symbol, types, reporter, trackArrays, offContextApi ?? api, cancellationToken);
            }
        }
    }

    /// <summary>
    /// What one walk over a graph's operations finds: its lambdas and the callbacks (lambdas and local function
    /// references) that may be handed to another thread, in the order they occur, and which pool locals are
    /// assigned once from a <c>new</c> (for PP1005).
    /// </summary>
    private sealed class GraphFacts
    {
        private readonly OwnershipTypes _types;

        public GraphFacts(ControlFlowGraph graph, OwnershipTypes types)
        {
            _types = types;
            foreach (var block in graph.Blocks)
            {
                foreach (var operation in block.Operations)
                {
                    Walk(operation, inStatement: true);
                }

                if (block.BranchValue is { } branchValue)
                {
                    Walk(branchValue, inStatement: false);
                }
            }
        }

        public List<IFlowAnonymousFunctionOperation>? Lambdas { get; private set; }

        public List<IOperation>? Callbacks { get; private set; }

        public Dictionary<ILocalSymbol, object?>? LocalPools { get; private set; }

        private void Walk(IOperation operation, bool inStatement)
        {
            switch (operation)
            {
                case IFlowAnonymousFunctionOperation lambda:
                    (Lambdas ??= new List<IFlowAnonymousFunctionOperation>()).Add(lambda);
                    (Callbacks ??= new List<IOperation>()).Add(lambda);
                    break;
                case IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } reference:
                    (Callbacks ??= new List<IOperation>()).Add(reference);
                    break;
                case ISimpleAssignmentOperation { Target: ILocalReferenceOperation local } assignment
                    when inStatement && _types.IsPoolType(local.Local.Type):
                    // Locals assigned exactly once, from a new: two of them are two different pools.
                    var pools = LocalPools ??= new Dictionary<ILocalSymbol, object?>(SymbolEqualityComparer.Default);
                    var value = OwnershipDataflow.Strip(assignment.Value);
                    pools[local.Local] = pools.ContainsKey(local.Local) || value is not IObjectCreationOperation ? null : value;
                    break;
            }

            foreach (var child in operation.ChildOperations)
            {
                Walk(child, inStatement);
            }
        }
    }

    /// <summary>The cheap test: does this body mention a page (or a rented array) at all?</summary>
    private static bool Touches(IOperation root, ISymbol owner, OwnershipTypes types, bool trackArrays)
    {
        if (owner is IMethodSymbol method && HasPageParameter(method, types))
        {
            return true;
        }

        foreach (var operation in root.DescendantsAndSelf())
        {
            if (types.IsPage(operation.Type))
            {
                return true;
            }

            switch (operation)
            {
                case IInvocationOperation invocation when trackArrays
                    && (types.IsArrayPool(invocation.TargetMethod.ContainingType) || MayRentForCaller(invocation.TargetMethod)):
                    return true;
                case ILocalFunctionOperation localFunction when HasPageParameter(localFunction.Symbol, types):
                    return true;
                case IAnonymousFunctionOperation lambda when HasPageParameter(lambda.Symbol, types):
                    return true;
            }
        }

        return false;
    }

    /// <summary>A method in this compilation that may hand its caller a rented array: as a result, or through ref or out.</summary>
    private static bool MayRentForCaller(IMethodSymbol method)
    {
        if (!CanHoldArray(method.ReturnType))
        {
            var any = false;
            foreach (var parameter in method.Parameters)
            {
                any |= parameter.RefKind is RefKind.Ref or RefKind.Out && CanHoldArray(parameter.Type);
            }

            if (!any)
            {
                return false;
            }
        }

        return OwnershipSummaries.Summarizable(method) is not null;

        static bool CanHoldArray(ITypeSymbol type) => OwnershipTypes.IsArray(type) || OwnershipWrappers.IsArrayWrapper(type);
    }

    private static bool HasPageParameter(IMethodSymbol method, OwnershipTypes types)
    {
        foreach (var parameter in method.Parameters)
        {
            if (types.IsPage(parameter.Type))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>PP1101–PP1103 are off by default: build nothing for them unless the user turned one on.</summary>
    private static bool ArrayRulesEnabled(Compilation compilation, SyntaxTree tree, OwnershipTypes types, CancellationToken cancellationToken)
    {
        // Asked for every method: the answer is the same for all of a file's methods.
        if (types.ArrayRulesByTree.TryGetValue(tree, out var known))
        {
            return known;
        }

        var enabled = ComputeArrayRulesEnabled(compilation, tree, cancellationToken);
        types.ArrayRulesByTree.TryAdd(tree, enabled);
        return enabled;
    }

    private static bool ComputeArrayRulesEnabled(Compilation compilation, SyntaxTree tree, CancellationToken cancellationToken)
    {
        foreach (var id in new[] { "PP1101", "PP1102", "PP1103" })
        {
            if (compilation.Options.SpecificDiagnosticOptions.TryGetValue(id, out var specific) && IsOn(specific))
            {
                return true;
            }

            var provider = compilation.Options.SyntaxTreeOptionsProvider;
            if (provider is null)
            {
                continue;
            }

            if (provider.TryGetDiagnosticValue(tree, id, cancellationToken, out var severity) && IsOn(severity))
            {
                return true;
            }

            if (provider.TryGetGlobalDiagnosticValue(id, cancellationToken, out var global) && IsOn(global))
            {
                return true;
            }
        }

        return false;

        static bool IsOn(ReportDiagnostic value) => value is not (ReportDiagnostic.Suppress or ReportDiagnostic.Default);
    }

    private static IEnumerable<IOperation> AllOperations(ControlFlowGraph graph)
    {
        foreach (var block in graph.Blocks)
        {
            foreach (var operation in block.Operations)
            {
                foreach (var node in operation.DescendantsAndSelf())
                {
                    yield return node;
                }
            }

            if (block.BranchValue is { } branchValue)
            {
                foreach (var node in branchValue.DescendantsAndSelf())
                {
                    yield return node;
                }
            }
        }
    }

    /// <summary>
    /// Lambdas and local functions handed to an API that runs them on another thread (Task.Run, Parallel.For,
    /// ThreadPool, new Thread, timers, ContinueWith...), with the API's name for the message.
    /// </summary>
    private static Dictionary<object, string> FindOffContextCallbacks(List<IOperation>? candidates, OwnershipTypes types)
    {
        var result = new Dictionary<object, string>();
        if (candidates is null)
        {
            return result;
        }

        foreach (var operation in candidates)
        {
            object? callback = operation switch
            {
                IFlowAnonymousFunctionOperation lambda => lambda,
                IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } reference => reference.Method.OriginalDefinition,
                _ => null,
            };

            if (callback is null)
            {
                continue;
            }

            var parent = operation.Parent;
            while (parent is IDelegateCreationOperation or IConversionOperation or IParenthesizedOperation or IArrayInitializerOperation or IArrayCreationOperation)
            {
                parent = parent.Parent;
            }

            string? api = null;
            if (parent is IArgumentOperation argument)
            {
                switch (argument.Parent)
                {
                    case IInvocationOperation invocation when types.IsOffContextType(invocation.TargetMethod.ContainingType):
                        api = invocation.TargetMethod.ContainingType.Name + "." + invocation.TargetMethod.Name;
                        break;
                    case IObjectCreationOperation creation when types.IsOffContextType(creation.Type):
                        api = "new " + creation.Type!.Name;
                        break;
                }
            }
            else if (parent is IEventAssignmentOperation { EventReference: IEventReferenceOperation eventReference }
                && types.IsOffContextType(eventReference.Event.ContainingType))
            {
                api = eventReference.Event.ContainingType.Name + "." + eventReference.Event.Name;
            }

            if (api is not null && !result.ContainsKey(callback))
            {
                result.Add(callback, api);
            }
        }

        return result;
    }

    /// <summary>Every local and parameter a lambda or local function (and what it nests) mentions.</summary>
    internal static ISymbol[] ReferencedSymbols(ControlFlowGraph graph, OwnershipTypes types) =>
        types.ReferencedSymbolsCache.GetValue(graph, static g =>
        {
            var symbols = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
            Collect(g, symbols);
            var array = new ISymbol[symbols.Count];
            symbols.CopyTo(array);
            return array;
        });

    private static void Collect(ControlFlowGraph graph, HashSet<ISymbol> symbols)
    {
        foreach (var operation in AllOperations(graph))
        {
            switch (operation)
            {
                case ILocalReferenceOperation local:
                    symbols.Add(local.Local);
                    break;
                case IParameterReferenceOperation parameter:
                    symbols.Add(parameter.Parameter);
                    break;
                case IFlowAnonymousFunctionOperation lambda:
                    Collect(graph.GetAnonymousFunctionControlFlowGraph(lambda), symbols);
                    break;
            }
        }

        foreach (var localFunction in graph.LocalFunctions)
        {
            Collect(graph.GetLocalFunctionControlFlowGraph(localFunction), symbols);
        }
    }
}

/// <summary>Reports each diagnostic once per location, whatever number of paths or finally contexts reach it.</summary>
internal sealed class OwnershipReporter
{
    private readonly Action<Diagnostic> _report;
    private readonly HashSet<(string Id, Location Location, int Subject)> _reported = new();

    public OwnershipReporter(Action<Diagnostic> report) => _report = report;

    public void Report(DiagnosticDescriptor descriptor, Location location, string message) =>
        Report(descriptor, location, message, subject: -1, properties: null);

    /// <summary>
    /// Reports once per rule, location and <paramref name="subject"/> (PP1006 names each page a call may leak
    /// at the same call).
    /// </summary>
    public void Report(DiagnosticDescriptor descriptor, Location location, string message, int subject, ImmutableDictionary<string, string?>? properties)
    {
        if (_reported.Add((descriptor.Id, location, subject)))
        {
            _report(Diagnostic.Create(descriptor, location, properties, message));
        }
    }
}
