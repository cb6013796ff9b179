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
        SemanticModel? model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
        {
            return;
        }

        foreach (Diagnostic diagnostic in context.Diagnostics)
        {
            if (Allocation.Find(root, diagnostic.Location.SourceSpan) is not { } allocation)
            {
                continue;
            }

            // Where the page already goes back on some paths, a recycle added at the end would be a second one on
            // those paths. Recycles that are statements of their own in the block can move into the finally;
            // anything else (a recycle inside a branch, a return, a store, an [Owned] argument) needs the
            // per-path reasoning only the analyzer has, so no fix is offered.
            HandOffs handOffs = allocation.FindHandOffs(model, context.CancellationToken);
            if (handOffs == HandOffs.Elsewhere)
            {
                continue;
            }

            string name = allocation.Declarator.Identifier.ValueText;
            if (handOffs == HandOffs.None && allocation.EndOfScopeIndex() >= 0)
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
            // The block's own recycle statements of this page are replaced by the finally.
            int declarationIndex = statements.IndexOf(allocation.Statement);
            TryStatementSyntax tryStatement = SyntaxFactory.TryStatement(
                    SyntaxFactory.Block(statements.Skip(declarationIndex + 1).Where(statement => !allocation.IsOwnRecycleStatement(statement))),
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

        /// <summary>How the statements after the declaration already hand the page on.</summary>
        public HandOffs FindHandOffs(SemanticModel model, CancellationToken cancellationToken)
        {
            string name = Declarator.Identifier.ValueText;
            HandOffs found = HandOffs.None;
            foreach (StatementSyntax statement in Block.Statements.SkipWhile(s => s != Statement).Skip(1))
            {
                if (IsOwnRecycleStatement(statement))
                {
                    found = HandOffs.OwnStatements;
                    continue;
                }

                foreach (SyntaxNode node in statement.DescendantNodesAndSelf())
                {
                    if (IsHandOff(node, name, model, cancellationToken))
                    {
                        return HandOffs.Elsewhere;
                    }
                }
            }

            return found;
        }

        /// <summary>A statement of the block that is nothing but <c>x.RecycleXxx(page)</c>.</summary>
        public bool IsOwnRecycleStatement(StatementSyntax statement) =>
            statement.Parent == Block &&
            statement is ExpressionStatementSyntax { Expression: InvocationExpressionSyntax invocation } &&
            IsRecycleOf(invocation, Declarator.Identifier.ValueText);

        private static bool IsRecycleOf(InvocationExpressionSyntax invocation, string name) =>
            MethodName(invocation) is { } method &&
            method.StartsWith("Recycle", System.StringComparison.Ordinal) &&
            invocation.ArgumentList.Arguments.Any(a => IsName(a.Expression, name));

        private static bool IsHandOff(SyntaxNode node, string name, SemanticModel model, CancellationToken cancellationToken)
        {
            switch (node)
            {
                case InvocationExpressionSyntax invocation when IsRecycleOf(invocation, name):
                    return true;
                case ArgumentSyntax argument when IsName(argument.Expression, name) && IsOwnedParameter(argument, model, cancellationToken):
                    return true;
                case ReturnStatementSyntax { Expression: { } returned } when IsName(returned, name):
                    return true;
                case AssignmentExpressionSyntax assignment when IsName(assignment.Right, name):
                    return true;
                default:
                    return false;
            }
        }

        private static bool IsOwnedParameter(ArgumentSyntax argument, SemanticModel model, CancellationToken cancellationToken)
        {
            if (argument.Parent?.Parent is not { } call ||
                model.GetSymbolInfo(call, cancellationToken).Symbol is not IMethodSymbol method)
            {
                return false;
            }

            IParameterSymbol? parameter = argument.NameColon is { } nameColon
                ? method.Parameters.FirstOrDefault(p => p.Name == nameColon.Name.Identifier.ValueText)
                : argument.Parent is ArgumentListSyntax list && list.Arguments.IndexOf(argument) is var index && index < method.Parameters.Length
                    ? method.Parameters[index]
                    : null;
            return parameter is not null &&
                parameter.GetAttributes().Any(a => a.AttributeClass is { Name: "OwnedAttribute", ContainingNamespace.Name: "PagePool" });
        }

        private static bool IsName(ExpressionSyntax expression, string name) =>
            expression is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == name;

        private static string? MethodName(InvocationExpressionSyntax invocation) => invocation.Expression switch
        {
            MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
            MemberBindingExpressionSyntax binding => binding.Name.Identifier.ValueText,
            SimpleNameSyntax simple => simple.Identifier.ValueText,
            _ => null,
        };

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

    /// <summary>What the code after an allocation already does with the page.</summary>
    private enum HandOffs
    {
        /// <summary>Nothing: the page is never recycled or handed on.</summary>
        None,

        /// <summary>Only recycle statements of the block itself, which a finally can replace.</summary>
        OwnStatements,

        /// <summary>A hand-off somewhere a fix cannot reason about without the paths.</summary>
        Elsewhere,
    }
}
