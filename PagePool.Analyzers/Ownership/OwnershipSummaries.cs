using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>What a callee does with a value passed to one of its (by-value) parameters, on every normal path.</summary>
internal enum ParameterEffect : byte
{
    /// <summary>Nothing the caller can count on: the value is only borrowed (or the callee is not known).</summary>
    None,

    /// <summary>Recycled, returned to its pool or handed to an [Owned] parameter on every path: as if [Owned].</summary>
    Releases,

    /// <summary>Stored or handed on, by some mix of paths: the caller's obligation ends, but the value may still be used.</summary>
    Escapes,

    /// <summary>Kept by the result: returned (a factory) or stored in the new object (a constructor).</summary>
    KeptByResult,
}

/// <summary>What a callee does with the value of a <c>ref</c> parameter.</summary>
internal enum RefEffect : byte
{
    /// <summary>The variable keeps its value (or the callee is not known).</summary>
    None,

    /// <summary>The old value is given back (or kept in the variable) and a new one, owned by the caller, is left in it.</summary>
    Replaces,

    /// <summary>The old value is given back and the variable is left empty.</summary>
    Clears,
}

/// <summary>One parameter's part of a <see cref="MethodSummary"/>.</summary>
internal readonly struct ParameterSummary
{
    public ParameterSummary(ParameterEffect effect, RefEffect refEffect, ResourceKind? fresh)
    {
        Effect = effect;
        RefEffect = refEffect;
        Fresh = fresh;
    }

    public ParameterEffect Effect { get; }

    public RefEffect RefEffect { get; }

    /// <summary>For <see cref="RefEffect.Replaces"/> and for an owned <c>out</c> parameter: what the new value is.</summary>
    public ResourceKind? Fresh { get; }
}

/// <summary>
/// What a method does with the pages and arrays it is given and what it gives back: inferred from its body when
/// the body is in the compilation (OwnershipDataflow.Summaries.cs runs the same dataflow over it), or known for
/// the BCL's array wrappers (OwnershipWrappers.cs). Callers use it where no attribute says otherwise.
/// </summary>
internal sealed class MethodSummary
{
    public MethodSummary(ImmutableArray<ParameterSummary> parameters, ResourceKind? freshResult, bool keepsInstance, bool keepsAllArguments)
    {
        Parameters = parameters.IsDefault ? ImmutableArray<ParameterSummary>.Empty : parameters;
        FreshResult = freshResult;
        KeepsInstance = keepsInstance;
        KeepsAllArguments = keepsAllArguments;
    }

    /// <summary>Nothing known: every parameter borrowed, the result not owned.</summary>
    public static MethodSummary Unknown { get; } = new(ImmutableArray<ParameterSummary>.Empty, null, false, false);

    /// <summary>A BCL wrapper's constructor or <c>AsMemory</c>: the result keeps every argument.</summary>
    public static MethodSummary KeepsArguments { get; } = new(ImmutableArray<ParameterSummary>.Empty, null, false, true);

    /// <summary>A wrapper's <c>Slice</c>, a record's clone: the result keeps the receiver.</summary>
    public static MethodSummary KeepsReceiver { get; } = new(ImmutableArray<ParameterSummary>.Empty, null, true, false);

    public ImmutableArray<ParameterSummary> Parameters { get; }

    /// <summary>The result is a fresh page or rented array (or a wrapper of one) that the caller now owns.</summary>
    public ResourceKind? FreshResult { get; }

    public bool KeepsInstance { get; }

    public bool KeepsAllArguments { get; }

    /// <summary>
    /// What an instance method does with what its object holds (a wrapper's page): <c>Dispose</c> recycling it
    /// releases it, a <c>Send</c> queuing it lets it escape, a <c>Detach</c> returning it keeps it in the result.
    /// </summary>
    public ParameterEffect InstanceEffect { get; private set; }

    public ParameterSummary For(IParameterSymbol? parameter)
    {
        if (parameter is null)
        {
            return default;
        }

        if (KeepsAllArguments)
        {
            return new ParameterSummary(ParameterEffect.KeptByResult, RefEffect.None, null);
        }

        return parameter.Ordinal < Parameters.Length ? Parameters[parameter.Ordinal] : default;
    }

    /// <summary>This summary, with what the method does with its receiver's values.</summary>
    public MethodSummary WithInstanceEffect(ParameterEffect effect)
    {
        InstanceEffect = effect;
        return this;
    }
}

/// <summary>
/// The summaries of one compilation's methods, computed on first use and cached. Thread-safe: analyzers run
/// concurrently, a summary is immutable once published, and two threads that compute the same one compute the
/// same thing.
/// </summary>
/// <remarks>
/// A summary reads callees only <see cref="MaxDepth"/> calls down: the summary of a method with a budget of
/// <c>b</c> reads its callees' summaries with <c>b - 1</c>, and a budget of 0 is unknown (every parameter
/// borrowed, the conservative answer). Recursion, direct or through a cycle, ends there too. The budget is part of
/// the cache key, so a summary is a function of the method and the budget alone: the answer never depends on
/// which method the analyzer happened to read first.
/// </remarks>
internal sealed class OwnershipSummaries
{
    /// <summary>How many summaries deep one computation goes (the callee of the callee of the callee).</summary>
    public const int MaxDepth = 3;

    private readonly Compilation _compilation;
    private readonly OwnershipTypes _types;
    private readonly ConcurrentDictionary<IMethodSymbol, MethodSummary>[] _cache = CreateCaches();

    public OwnershipSummaries(Compilation compilation, OwnershipTypes types)
    {
        _compilation = compilation;
        _types = types;
    }

    private static ConcurrentDictionary<IMethodSymbol, MethodSummary>[] CreateCaches()
    {
        var caches = new ConcurrentDictionary<IMethodSymbol, MethodSummary>[MaxDepth + 1];
        for (var i = 0; i < caches.Length; i++)
        {
            caches[i] = new ConcurrentDictionary<IMethodSymbol, MethodSummary>(SymbolEqualityComparer.Default);
        }

        return caches;
    }

    /// <summary>
    /// The method whose body a summary is read from, or null when none may be inferred: no source in this
    /// compilation, or a call that may run another body (virtual, abstract, an interface's, extern, a partial
    /// method without its implementation).
    /// </summary>
    public static IMethodSymbol? Summarizable(IMethodSymbol method)
    {
        method = method.ReducedFrom ?? method;
        method = method.OriginalDefinition;
        if (method.PartialImplementationPart is { } implementation)
        {
            method = implementation;
        }

        if (method.MethodKind is not (MethodKind.Ordinary or MethodKind.Constructor or MethodKind.LocalFunction)
            || method.IsAbstract
            || method.IsExtern
            || method.DeclaringSyntaxReferences.IsEmpty
            || (method.IsPartialDefinition && method.PartialImplementationPart is null))
        {
            return null;
        }

        if ((method.IsVirtual || method.IsOverride) && !method.IsSealed && method.ContainingType?.IsSealed != true)
        {
            return null;
        }

        if (method.ContainingType?.TypeKind == TypeKind.Interface && !method.IsStatic)
        {
            return null;
        }

        return method;
    }

    /// <summary>
    /// The summary of <paramref name="method"/>: a BCL wrapper's known one, the inferred one for source, or
    /// <see cref="MethodSummary.Unknown"/>. <paramref name="localFunctionGraph"/> finds a local function's graph
    /// (local functions are only reachable through the graph of the method that declares them).
    /// </summary>
    public MethodSummary Get(IMethodSymbol method, int budget, Func<IMethodSymbol, ControlFlowGraph?> localFunctionGraph, CancellationToken cancellationToken)
    {
        if (OwnershipWrappers.KeepsInResult(method, out var keepsInstance, out var keepsArguments))
        {
            return keepsArguments ? MethodSummary.KeepsArguments : keepsInstance ? MethodSummary.KeepsReceiver : MethodSummary.Unknown;
        }

        var target = Summarizable(method);
        if (target is null || budget <= 0)
        {
            return MethodSummary.Unknown;
        }

        budget = Math.Min(budget, MaxDepth);
        if (target.MethodKind == MethodKind.LocalFunction && localFunctionGraph(target) is null)
        {
            // Only the graph of the method that declares it reaches a local function: none here, nothing cached.
            return MethodSummary.Unknown;
        }

        var cache = _cache[budget];
        if (cache.TryGetValue(target, out var cached))
        {
            return cached;
        }

        MethodSummary summary;
        try
        {
            summary = Compute(target, budget, localFunctionGraph, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A callee the analysis cannot read (half-typed code) is borrowed from: the caller is still analysed.
            OwnershipAnalyzer.NoteInternalError(ex, target);
            summary = MethodSummary.Unknown;
        }

        return cache.GetOrAdd(target, summary);
    }

    private MethodSummary Compute(IMethodSymbol method, int budget, Func<IMethodSymbol, ControlFlowGraph?> localFunctionGraph, CancellationToken cancellationToken)
    {
        ControlFlowGraph? graph = null;
        if (method.MethodKind == MethodKind.LocalFunction)
        {
            graph = localFunctionGraph(method);
        }
        else
        {
            foreach (var reference in method.DeclaringSyntaxReferences)
            {
                if (!_compilation.ContainsSyntaxTree(reference.SyntaxTree))
                {
                    // Source of a referenced compilation (a test project's view of its product): not ours to read.
                    return MethodSummary.Unknown;
                }

                var syntax = reference.GetSyntax(cancellationToken);
                if (method.MethodKind == MethodKind.Constructor && syntax is TypeDeclarationSyntax type)
                {
                    return PrimaryConstructor(method, type, cancellationToken);
                }

                if (syntax is BaseMethodDeclarationSyntax { Body: null, ExpressionBody: null })
                {
                    continue;
                }

#pragma warning disable RS1030 // The callee's body is another method's, perhaps in another file: asked once per callee, then cached.
                var model = _compilation.GetSemanticModel(syntax.SyntaxTree);
#pragma warning restore RS1030
                graph = model.GetOperation(syntax, cancellationToken) switch
                {
                    IMethodBodyOperation body => ControlFlowGraph.Create(body, cancellationToken),
                    IConstructorBodyOperation body => ControlFlowGraph.Create(body, cancellationToken),
                    _ => null,
                };
                if (graph is not null)
                {
                    break;
                }
            }
        }

        return graph is null ? MethodSummary.Unknown : OwnershipDataflow.Summarize(graph, method, _types, budget - 1, cancellationToken);
    }

    /// <summary>
    /// A primary constructor has no body: a record's positional parameters become its properties, and a class's or
    /// struct's parameter is kept when the type's members mention it (it is captured, or a field is initialized
    /// from it).
    /// </summary>
    private static MethodSummary PrimaryConstructor(IMethodSymbol method, TypeDeclarationSyntax declaration, CancellationToken cancellationToken)
    {
        var parameters = ImmutableArray.CreateBuilder<ParameterSummary>(method.Parameters.Length);
        foreach (var parameter in method.Parameters)
        {
            var kept = declaration is RecordDeclarationSyntax || IsMentioned(method.ContainingType, parameter.Name, cancellationToken);
            parameters.Add(new ParameterSummary(kept ? ParameterEffect.KeptByResult : ParameterEffect.None, RefEffect.None, null));
        }

        return new MethodSummary(parameters.MoveToImmutable(), null, false, false);
    }

    private static bool IsMentioned(INamedTypeSymbol type, string name, CancellationToken cancellationToken)
    {
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is not TypeDeclarationSyntax declaration)
            {
                continue;
            }

            foreach (var member in declaration.Members)
            {
                foreach (var node in member.DescendantNodes())
                {
                    if (node is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == name)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }
}
