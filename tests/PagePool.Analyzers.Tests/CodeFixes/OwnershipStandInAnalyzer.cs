using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace PagePool.Analyzers.Tests.CodeFixes;

/// <summary>
/// A test-only stand-in for the ownership analyzer (PagePool.Analyzers/Ownership, written on another branch), so
/// the PP1001/PP1003/PP1004 fixes can be tested here. It is deliberately crude — syntax only, no flow analysis —
/// but it reports each id at exactly the location the real analyzer uses, which is all the fixes depend on:
/// PP1001 on the allocation invocation (<c>pool.AllocPage()</c>) of a local declaration, PP1003 on the second
/// recycle invocation, PP1004 on the <c>RecyclePageDirect</c> invocation. After the merge the same fixes run
/// against the real analyzer's diagnostics.
/// </summary>
// The analyzer-authoring rules are about shipping an analyzer (target framework, Workspaces reference, release
// tracking); this one lives and runs only inside the test assembly.
#pragma warning disable RS1036, RS1038, RS1041, RS2008
[DiagnosticAnalyzer(LanguageNames.CSharp)]
internal sealed class OwnershipStandInAnalyzer : DiagnosticAnalyzer
{
    public static readonly DiagnosticDescriptor PageMayLeak = new(
        "PP1001", "Page may leak", "Page '{0}' may leak: on some path it is neither recycled nor handed on", "Reliability", DiagnosticSeverity.Warning, true);

    public static readonly DiagnosticDescriptor RecycledTwice = new(
        "PP1003", "Page recycled twice", "Page '{0}' is recycled twice", "Reliability", DiagnosticSeverity.Warning, true);

    public static readonly DiagnosticDescriptor DirectOffOwner = new(
        "PP1004", "RecyclePageDirect off the owner context", "RecyclePageDirect is called where the owner context is not guaranteed", "Usage", DiagnosticSeverity.Warning, true);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(PageMayLeak, RecycledTwice, DirectOffOwner);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterSyntaxNodeAction(AnalyzeMethod, SyntaxKind.MethodDeclaration);
    }

    private static void AnalyzeMethod(SyntaxNodeAnalysisContext context)
    {
        var method = (MethodDeclarationSyntax)context.Node;
        var recycles = method.DescendantNodes().OfType<InvocationExpressionSyntax>().Where(IsRecycle).ToList();

        foreach (var declarator in method.DescendantNodes().OfType<VariableDeclaratorSyntax>())
        {
            if (declarator.Initializer?.Value is InvocationExpressionSyntax allocation &&
                NameOf(allocation) == "AllocPage" &&
                !recycles.Any(r => ArgumentName(r) == declarator.Identifier.ValueText))
            {
                context.ReportDiagnostic(Diagnostic.Create(PageMayLeak, allocation.GetLocation(), declarator.Identifier.ValueText));
            }
        }

        foreach (var block in method.DescendantNodes().OfType<BlockSyntax>())
        {
            var seen = new HashSet<string>();
            foreach (var statement in block.Statements)
            {
                if (statement is ExpressionStatementSyntax { Expression: InvocationExpressionSyntax recycle } &&
                    IsRecycle(recycle) && ArgumentName(recycle) is { } page && !seen.Add(page))
                {
                    context.ReportDiagnostic(Diagnostic.Create(RecycledTwice, recycle.GetLocation(), page));
                }
            }
        }

        foreach (var recycle in recycles)
        {
            if (NameOf(recycle) == "RecyclePageDirect" && recycle.Ancestors().Any(a => a is AnonymousFunctionExpressionSyntax))
            {
                context.ReportDiagnostic(Diagnostic.Create(DirectOffOwner, recycle.GetLocation()));
            }
        }
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
#pragma warning restore RS1036, RS1038, RS1041, RS2008
