using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace PagePool.Analyzers.CodeFixes;

/// <summary>
/// PP1004: <c>RecyclePageDirect</c> where the owner context is not guaranteed becomes <c>RecyclePage</c>, which is
/// safe on any thread and still takes the direct path by itself when it runs on the owner's.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UseRecyclePageCodeFixProvider)), Shared]
public sealed class UseRecyclePageCodeFixProvider : CodeFixProvider
{
    private const string EquivalenceKey = "PP1004.UseRecyclePage";
    private const string DirectName = "RecyclePageDirect";
    private const string SafeName = "RecyclePage";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.DirectRecycleOffOwner);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        SyntaxNode? root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
        {
            return;
        }

        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            if (FindName(root, diagnostic.Location.SourceSpan) is null)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create("Use RecyclePage", ct => FixAsync(context.Document, diagnostic.Location.SourceSpan, ct), EquivalenceKey),
                diagnostic);
        }
    }

    private static async Task<Document> FixAsync(Document document, TextSpan span, CancellationToken cancellationToken)
    {
        SyntaxNode? root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || FindName(root, span) is not { } name)
        {
            return document;
        }

        SyntaxToken renamed = SyntaxFactory.Identifier(name.Identifier.LeadingTrivia, SafeName, name.Identifier.TrailingTrivia);
        return document.WithSyntaxRoot(root.ReplaceToken(name.Identifier, renamed));
    }

    private static SimpleNameSyntax? FindName(SyntaxNode root, TextSpan span)
    {
        if (!root.FullSpan.Contains(span))
        {
            return null;
        }

        SyntaxNode node = root.FindNode(span, getInnermostNodeForTie: true);
        SimpleNameSyntax? name = node.FirstAncestorOrSelf<InvocationExpressionSyntax>()?.Expression switch
        {
            MemberAccessExpressionSyntax access => access.Name,
            MemberBindingExpressionSyntax binding => binding.Name,
            SimpleNameSyntax simple => simple,
            _ => null,
        };
        return name is IdentifierNameSyntax && name.Identifier.ValueText == DirectName ? name : null;
    }
}
