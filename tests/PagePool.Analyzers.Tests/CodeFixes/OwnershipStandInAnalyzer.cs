using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace PagePool.Analyzers.Tests.CodeFixes;

// The analyzer-authoring rules are about shipping an analyzer (target framework, Workspaces reference, release
// tracking); these live and run only inside the test assembly.
#pragma warning disable RS1036, RS1038, RS1041, RS2008

/// <summary>
/// A test-only stand-in for the ownership analyzer (PagePool.Analyzers/Ownership, written on another branch), so
/// the PP1001/PP1003/PP1004 fixes can be tested on this one. It is deliberately crude — syntax only, no flow
/// analysis — but it reports each id where the real analyzer does, which is all the fixes depend on:
/// PP1001 on the allocation invocation (<c>pool.AllocPage()</c>) of a local declaration, when no recycle is
/// certain to follow (see IsCertain); PP1003 on the page
/// argument of the second recycle (the real analyzer's location; the fix also accepts the whole invocation,
/// see <see cref="OwnershipStandInInvocationLocationAnalyzer"/>); PP1004 on the <c>RecyclePageDirect</c>
/// invocation inside a callback handed to a thread-pool or task API.
/// <see cref="OwnershipFixVerifier{TCodeFix}"/> runs the real analyzer instead whenever it is in the analyzer
/// assembly (after the merge), so the same tests then check the fixes against it.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
internal class OwnershipStandInAnalyzer : DiagnosticAnalyzer
{
    public static readonly DiagnosticDescriptor PageMayLeak = new(
        "PP1001", "Page may leak", "Page '{0}' may leak: on some path it is neither recycled nor handed on", "Reliability", DiagnosticSeverity.Warning, true);

    public static readonly DiagnosticDescriptor RecycledTwice = new(
        "PP1003", "Page recycled twice", "Page '{0}' is recycled twice", "Reliability", DiagnosticSeverity.Warning, true);

    public static readonly DiagnosticDescriptor DirectOffOwner = new(
        "PP1004", "RecyclePageDirect off the owner context", "RecyclePageDirect is called where the owner context is not guaranteed", "Usage", DiagnosticSeverity.Warning, true);

    private static readonly string[] OffOwnerApis = { "Run", "StartNew", "QueueUserWorkItem", "UnsafeQueueUserWorkItem", "For", "ForEach", "ContinueWith" };

    /// <summary>Where PP1003 goes: false, the page argument (the real analyzer); true, the whole invocation.</summary>
    protected virtual bool ReportSecondRecycleOnInvocation => false;

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(PageMayLeak, RecycledTwice, DirectOffOwner);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterSyntaxNodeAction(AnalyzeMethod, SyntaxKind.MethodDeclaration);
    }

    private void AnalyzeMethod(SyntaxNodeAnalysisContext context)
    {
        var method = (MethodDeclarationSyntax)context.Node;
        var recycles = method.DescendantNodes().OfType<InvocationExpressionSyntax>().Where(IsRecycle).ToList();

        foreach (var declarator in method.DescendantNodes().OfType<VariableDeclaratorSyntax>())
        {
            if (declarator.Initializer?.Value is InvocationExpressionSyntax allocation &&
                NameOf(allocation) == "AllocPage" &&
                declarator.FirstAncestorOrSelf<StatementSyntax>() is { Parent: BlockSyntax block } declaration &&
                !recycles.Any(r => ArgumentName(r) == declarator.Identifier.ValueText && IsCertain(r, declaration, block)))
            {
                context.ReportDiagnostic(Diagnostic.Create(PageMayLeak, allocation.GetLocation(), declarator.Identifier.ValueText));
            }
        }

        // Source order stands in for path order: every recycle of a name after its first is a second recycle.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var recycle in recycles)
        {
            if (ArgumentName(recycle) is { } page && !seen.Add(page))
            {
                Location location = ReportSecondRecycleOnInvocation
                    ? recycle.GetLocation()
                    : recycle.ArgumentList.Arguments[0].GetLocation();
                context.ReportDiagnostic(Diagnostic.Create(RecycledTwice, location, page));
            }
        }

        foreach (var recycle in recycles)
        {
            if (NameOf(recycle) == "RecyclePageDirect" &&
                recycle.FirstAncestorOrSelf<AnonymousFunctionExpressionSyntax>() is { } callback &&
                callback.Parent?.Parent?.Parent is InvocationExpressionSyntax api &&
                OffOwnerApis.Contains(NameOf(api)))
            {
                context.ReportDiagnostic(Diagnostic.Create(DirectOffOwner, recycle.GetLocation()));
            }
        }
    }

    // A crude stand-in for "on every path": the recycle is a statement of the declaration's block (or of a
    // finally directly in it, or runs in a callback that captured the page), and no return leaves before it.
    private static bool IsCertain(InvocationExpressionSyntax recycle, StatementSyntax declaration, BlockSyntax block)
    {
        if (recycle.FirstAncestorOrSelf<AnonymousFunctionExpressionSyntax>() is null)
        {
            var statement = recycle.FirstAncestorOrSelf<StatementSyntax>();
            if (statement?.Parent is BlockSyntax { Parent: FinallyClauseSyntax { Parent: TryStatementSyntax tryStatement } } &&
                tryStatement.Parent == block)
            {
                return true; // a finally runs whichever way the try is left
            }

            if (statement?.Parent != block)
            {
                return false;
            }
        }

        return !block.DescendantNodes().OfType<ReturnStatementSyntax>().Any(r =>
            r.SpanStart > declaration.Span.End && r.SpanStart < recycle.SpanStart && !r.Span.Contains(recycle.Span) &&
            r.FirstAncestorOrSelf<AnonymousFunctionExpressionSyntax>() is null);
    }

    private static bool IsRecycle(InvocationExpressionSyntax invocation) => NameOf(invocation) is "RecyclePage" or "RecyclePageDirect";

    private static string? NameOf(InvocationExpressionSyntax invocation) => invocation.Expression switch
    {
        MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
        SimpleNameSyntax name => name.Identifier.ValueText,
        _ => null,
    };

    private static string? ArgumentName(InvocationExpressionSyntax invocation) =>
        invocation.ArgumentList.Arguments.Count == 1 && invocation.ArgumentList.Arguments[0].Expression is IdentifierNameSyntax id
            ? id.Identifier.ValueText
            : null;
}

/// <summary>The stand-in with PP1003 on the whole second recycle invocation, the location the design brief names.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
internal sealed class OwnershipStandInInvocationLocationAnalyzer : OwnershipStandInAnalyzer
{
    protected override bool ReportSecondRecycleOnInvocation => true;
}
#pragma warning restore RS1036, RS1038, RS1041, RS2008
