using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace PagePool.Analyzers.CodeFixes;

/// <summary>PP0001: adds <c>partial</c> to the <c>[PagePool]</c> class and to every type containing it that lacks it.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialCodeFixProvider)), Shared]
public sealed class MakePartialCodeFixProvider : CodeFixProvider
{
    private const string EquivalenceKey = "PP0001.MakePartial";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.NotPartial);

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
            if (FindDeclaration(root, diagnostic) is not { } declaration)
            {
                continue;
            }

            List<TypeDeclarationSyntax> chain = NotPartialChain(declaration);
            if (chain.Count == 0)
            {
                continue;
            }

            string name = declaration.Identifier.ValueText;
            string title = IsPartial(declaration)
                ? "Make the types containing '" + name + "' partial"
                : chain.Count == 1
                    ? "Make '" + name + "' partial"
                    : "Make '" + name + "' and its containing types partial";

            context.RegisterCodeFix(
                CodeAction.Create(title, ct => FixAsync(context.Document, diagnostic, ct), EquivalenceKey),
                diagnostic);
        }
    }

    private static async Task<Document> FixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        SyntaxNode? root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || FindDeclaration(root, diagnostic) is not { } declaration)
        {
            return document;
        }

        // ReplaceNodes hands each container its already-rewritten content, so nested declarations compose.
        SyntaxNode newRoot = root.ReplaceNodes(NotPartialChain(declaration), static (_, rewritten) => AddPartial(rewritten));
        return document.WithSyntaxRoot(newRoot);
    }

    private static TypeDeclarationSyntax? FindDeclaration(SyntaxNode root, Diagnostic diagnostic)
    {
        SyntaxToken token = root.FindToken(diagnostic.Location.SourceSpan.Start);
        return token.Parent as TypeDeclarationSyntax;
    }

    private static List<TypeDeclarationSyntax> NotPartialChain(TypeDeclarationSyntax declaration) =>
        declaration.AncestorsAndSelf().OfType<TypeDeclarationSyntax>().Where(t => !IsPartial(t)).ToList();

    private static bool IsPartial(TypeDeclarationSyntax declaration) => declaration.Modifiers.Any(SyntaxKind.PartialKeyword);

    // 'partial' goes last among the modifiers, right before the keyword (C# requires it there).
    private static TypeDeclarationSyntax AddPartial(TypeDeclarationSyntax declaration)
    {
        if (declaration.Modifiers.Count == 0)
        {
            SyntaxToken keyword = declaration.Keyword;
            SyntaxToken partialToken = SyntaxFactory.Token(keyword.LeadingTrivia, SyntaxKind.PartialKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space));
            return declaration
                .WithKeyword(keyword.WithLeadingTrivia(SyntaxFactory.TriviaList()))
                .WithModifiers(SyntaxFactory.TokenList(partialToken));
        }

        return declaration.WithModifiers(
            declaration.Modifiers.Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space)));
    }
}
