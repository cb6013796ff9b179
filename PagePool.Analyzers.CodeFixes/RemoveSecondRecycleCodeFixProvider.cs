using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace PagePool.Analyzers.CodeFixes;

/// <summary>PP1003 on the second recycle (or hand-off) of a page: removes that statement.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveSecondRecycleCodeFixProvider)), Shared]
public sealed class RemoveSecondRecycleCodeFixProvider : CodeFixProvider
{
    private const string EquivalenceKey = "PP1003.RemoveSecondRecycle";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.RecycledTwice);

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
            if (FindStatement(root, diagnostic.Location.SourceSpan) is null)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create("Remove the second recycle", ct => FixAsync(context.Document, diagnostic.Location.SourceSpan, ct), EquivalenceKey),
                diagnostic);
        }
    }

    private static async Task<Document> FixAsync(Document document, TextSpan span, CancellationToken cancellationToken)
    {
        SyntaxNode? root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || FindStatement(root, span) is not { } statement)
        {
            return document;
        }

        SyntaxNode? newRoot = root.RemoveNode(statement, SyntaxRemoveOptions.KeepUnbalancedDirectives);
        return newRoot is null ? document : document.WithSyntaxRoot(newRoot);
    }

    // Only a statement that is the recycle call and nothing else, directly in a block or switch section
    // (removing an 'if' body would change what the 'if' governs).
    private static ExpressionStatementSyntax? FindStatement(SyntaxNode root, TextSpan span)
    {
        if (!root.FullSpan.Contains(span))
        {
            return null;
        }

        SyntaxNode node = root.FindNode(span, getInnermostNodeForTie: true);
        InvocationExpressionSyntax? invocation = node.FirstAncestorOrSelf<InvocationExpressionSyntax>();
        if (invocation?.Parent is ExpressionStatementSyntax statement &&
            statement.Parent is BlockSyntax or SwitchSectionSyntax)
        {
            return statement;
        }

        return null;
    }
}
