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
using Microsoft.CodeAnalysis.Formatting;

namespace PagePool.Analyzers.CodeFixes;

/// <summary>
/// PP1001 on <c>var page = pool.AllocPage();</c>: recycle the page into the pool it came from (the allocation's
/// receiver), either at the end of the enclosing block or in a <c>finally</c> around the statements that use it.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RecycleLeakedPageCodeFixProvider)), Shared]
public sealed class RecycleLeakedPageCodeFixProvider : CodeFixProvider
{
    private const string AtEndKey = "PP1001.RecycleAtEndOfScope";
    private const string TryFinallyKey = "PP1001.RecycleInFinally";
    private const string RecycleMethod = "RecyclePage";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.PageMayLeak);

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
            if (Allocation.Find(root, diagnostic.Location.SourceSpan) is not { } allocation)
            {
                continue;
            }

            string name = allocation.Declarator.Identifier.ValueText;
            if (allocation.EndOfScopeIndex() >= 0)
            {
                context.RegisterCodeFix(
                    CodeAction.Create(
                        "Recycle '" + name + "' at the end of the scope",
                        ct => FixAsync(context.Document, diagnostic.Location.SourceSpan, inFinally: false, ct),
                        AtEndKey),
                    diagnostic);
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Recycle '" + name + "' in a finally block",
                    ct => FixAsync(context.Document, diagnostic.Location.SourceSpan, inFinally: true, ct),
                    TryFinallyKey),
                diagnostic);
        }
    }

    private static async Task<Document> FixAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, bool inFinally, CancellationToken cancellationToken)
    {
        SyntaxNode? root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || Allocation.Find(root, span) is not { } allocation)
        {
            return document;
        }

        BlockSyntax block = allocation.Block;
        SyntaxList<StatementSyntax> statements = block.Statements;
        StatementSyntax recycle = allocation.CreateRecycleStatement();
        BlockSyntax newBlock;
        if (inFinally)
        {
            int declarationIndex = statements.IndexOf(allocation.Statement);
            TryStatementSyntax tryStatement = SyntaxFactory.TryStatement(
                    SyntaxFactory.Block(statements.Skip(declarationIndex + 1)),
                    default,
                    SyntaxFactory.FinallyClause(SyntaxFactory.Block(recycle)))
                .WithAdditionalAnnotations(Formatter.Annotation);
            newBlock = block.WithStatements(SyntaxFactory.List(statements.Take(declarationIndex + 1).Append(tryStatement)));
        }
        else
        {
            int index = allocation.EndOfScopeIndex();
            if (index < 0)
            {
                return document;
            }

            newBlock = block.WithStatements(statements.Insert(index, recycle.WithAdditionalAnnotations(Formatter.Annotation)));
        }

        return document.WithSyntaxRoot(root.ReplaceNode(block, newBlock));
    }

    /// <summary>The leaking allocation as the fix understands it: <c>T name = receiver.AllocXxx(...);</c> in a block.</summary>
    private sealed class Allocation
    {
        private Allocation(InvocationExpressionSyntax invocation, VariableDeclaratorSyntax declarator, LocalDeclarationStatementSyntax statement, BlockSyntax block, ExpressionSyntax? receiver)
        {
            Invocation = invocation;
            Declarator = declarator;
            Statement = statement;
            Block = block;
            Receiver = receiver;
        }

        public InvocationExpressionSyntax Invocation { get; }

        public VariableDeclaratorSyntax Declarator { get; }

        public LocalDeclarationStatementSyntax Statement { get; }

        public BlockSyntax Block { get; }

        /// <summary>The pool the page came from; null for an allocation on <c>this</c> written without a receiver.</summary>
        public ExpressionSyntax? Receiver { get; }

        public static Allocation? Find(SyntaxNode root, Microsoft.CodeAnalysis.Text.TextSpan span)
        {
            if (!root.FullSpan.Contains(span))
            {
                return null;
            }

            // The ownership analyzer reports on the allocation invocation; accept the declarator or the statement too.
            SyntaxNode node = root.FindNode(span, getInnermostNodeForTie: true);
            InvocationExpressionSyntax? invocation =
                node as InvocationExpressionSyntax ??
                node.DescendantNodes().OfType<InvocationExpressionSyntax>().FirstOrDefault() ??
                node.FirstAncestorOrSelf<InvocationExpressionSyntax>();
            if (invocation?.Parent is not EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator } ||
                declarator.Parent?.Parent is not LocalDeclarationStatementSyntax statement ||
                statement.UsingKeyword != default ||
                statement.Parent is not BlockSyntax block)
            {
                return null;
            }

            ExpressionSyntax? receiver;
            switch (invocation.Expression)
            {
                case MemberAccessExpressionSyntax memberAccess when IsStableReceiver(memberAccess.Expression):
                    receiver = memberAccess.Expression;
                    break;
                case IdentifierNameSyntax:
                    receiver = null;
                    break;
                default:
                    return null; // pool?.AllocPage(), GetPool().AllocPage(): no receiver to name twice safely.
            }

            return new Allocation(invocation, declarator, statement, block, receiver);
        }

        /// <summary>
        /// Where "the end of the scope" is: before a final return/throw/break/continue/goto (after it would be
        /// unreachable), unless that statement still uses the page, in which case there is no such place (-1).
        /// </summary>
        public int EndOfScopeIndex()
        {
            SyntaxList<StatementSyntax> statements = Block.Statements;
            if (statements.Count == 0 || statements.Last() == Statement)
            {
                return statements.Count;
            }

            StatementSyntax last = statements.Last();
            if (last is ReturnStatementSyntax or ThrowStatementSyntax or BreakStatementSyntax or ContinueStatementSyntax or GotoStatementSyntax or YieldStatementSyntax { RawKind: (int)SyntaxKind.YieldBreakStatement })
            {
                string name = Declarator.Identifier.ValueText;
                bool usesPage = last.DescendantNodes().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == name);
                return usesPage ? -1 : statements.Count - 1;
            }

            return statements.Count;
        }

        public StatementSyntax CreateRecycleStatement()
        {
            ExpressionSyntax target = Receiver is null
                ? SyntaxFactory.IdentifierName(RecycleMethod)
                : SyntaxFactory.MemberAccessExpression(
                    SyntaxKind.SimpleMemberAccessExpression, Receiver.WithoutTrivia(), SyntaxFactory.IdentifierName(RecycleMethod));
            return SyntaxFactory.ExpressionStatement(
                SyntaxFactory.InvocationExpression(
                    target,
                    SyntaxFactory.ArgumentList(SyntaxFactory.SingletonSeparatedList(
                        SyntaxFactory.Argument(SyntaxFactory.IdentifierName(Declarator.Identifier.ValueText))))));
        }

        // Names that evaluate to the same pool when written again: locals, fields, this, and member chains of them.
        private static bool IsStableReceiver(ExpressionSyntax expression) => expression switch
        {
            IdentifierNameSyntax or ThisExpressionSyntax or BaseExpressionSyntax => true,
            MemberAccessExpressionSyntax { RawKind: (int)SyntaxKind.SimpleMemberAccessExpression } access => IsStableReceiver(access.Expression),
            ParenthesizedExpressionSyntax parenthesized => IsStableReceiver(parenthesized.Expression),
            _ => false,
        };
    }
}
