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
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Text;

namespace PagePool.Analyzers.CodeFixes;

/// <summary>
/// PP1006 on a call that may throw while a page is held: protect the statements from the page's declaration to
/// where the block gives it back. Where the block's last word on the page is a recycle statement of its own, that
/// recycle moves into a <c>finally</c>; where the block hands the page on otherwise (returns it, stores it, passes
/// it to an <c>[Owned]</c> parameter), the statements go into <c>try { ... } catch { Recycle(page); throw; }</c>,
/// which recycles only when an exception passes.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RecycleOnExceptionCodeFixProvider)), Shared]
public sealed class RecycleOnExceptionCodeFixProvider : CodeFixProvider
{
    private const string FinallyKey = "PP1006.RecycleInFinally";
    private const string CatchKey = "PP1006.RecycleInCatch";
    private const string PageProperty = "Page";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.PageLeaksOnException);

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
            if (Plan.Find(root, model, diagnostic, context.CancellationToken) is not { } plan)
            {
                continue;
            }

            string title = plan.InFinally
                ? "Recycle '" + plan.Name + "' in a finally block"
                : "Recycle '" + plan.Name + "' if an exception passes";
            context.RegisterCodeFix(
                CodeAction.Create(
                    title,
                    ct => FixAsync(context.Document, diagnostic, ct),
                    plan.InFinally ? FinallyKey : CatchKey),
                diagnostic);
        }
    }

    private static async Task<Document> FixAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        SyntaxNode? root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        SemanticModel? model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null || Plan.Find(root, model, diagnostic, cancellationToken) is not { } plan)
        {
            return document;
        }

        SyntaxList<StatementSyntax> statements = plan.Block.Statements;
        IEnumerable<StatementSyntax> guarded = statements.Skip(plan.First).Take(plan.Last - plan.First + 1);
        TryStatementSyntax tryStatement;
        if (plan.InFinally)
        {
            // The recycle statement becomes the finally; the rest of the range is the try.
            StatementSyntax recycle = statements[plan.Recycle];
            tryStatement = SyntaxFactory.TryStatement(
                SyntaxFactory.Block(guarded.Where(statement => statement != recycle)),
                default,
                SyntaxFactory.FinallyClause(SyntaxFactory.Block(recycle.WithoutLeadingTrivia())));
        }
        else
        {
            tryStatement = SyntaxFactory.TryStatement(
                SyntaxFactory.Block(guarded),
                SyntaxFactory.SingletonList(SyntaxFactory.CatchClause().WithBlock(SyntaxFactory.Block(
                    plan.CreateRecycleStatement(),
                    SyntaxFactory.ThrowStatement()))),
                null);
        }

        tryStatement = tryStatement
            .WithLeadingTrivia(statements[plan.First].GetLeadingTrivia())
            .WithAdditionalAnnotations(Formatter.Annotation);
        var newStatements = statements.Take(plan.First)
            .Append(tryStatement)
            .Concat(statements.Skip(plan.Last + 1));
        BlockSyntax newBlock = plan.Block.WithStatements(SyntaxFactory.List(newStatements));
        return document.WithSyntaxRoot(root.ReplaceNode(plan.Block, newBlock));
    }

    /// <summary>What the fix does for one diagnostic: which statements of which block it guards, and how.</summary>
    private sealed class Plan
    {
        private Plan(BlockSyntax block, string name, int first, int last, int recycle, bool inFinally, ExpressionSyntax? receiver)
        {
            Recycle = recycle;
            Block = block;
            Name = name;
            First = first;
            Last = last;
            InFinally = inFinally;
            Receiver = receiver;
        }

        public BlockSyntax Block { get; }

        public string Name { get; }

        /// <summary>The first statement guarded: the one after the page's declaration.</summary>
        public int First { get; }

        /// <summary>
        /// The last statement guarded: the page's last mention, or for a finally the last statement that uses a
        /// local the guarded statements declare (recycling after them is as good, and they still compile).
        /// </summary>
        public int Last { get; }

        public bool InFinally { get; }

        /// <summary>For a finally: the recycle statement that moves into it.</summary>
        public int Recycle { get; }

        /// <summary>The pool to recycle into in a catch: the allocation's receiver (null: a method of this class).</summary>
        public ExpressionSyntax? Receiver { get; }

        public static Plan? Find(SyntaxNode root, SemanticModel model, Diagnostic diagnostic, CancellationToken cancellationToken)
        {
            if (!diagnostic.Properties.TryGetValue(PageProperty, out string? name) || name is null
                || !root.FullSpan.Contains(diagnostic.Location.SourceSpan))
            {
                return null;
            }

            SyntaxNode call = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true);

            // The innermost block, around the call, where the page is declared: by a statement of the block
            // (var page = pool.AllocPage(); if (!pool.TryAllocPage(out var page)) return;), or by the condition of
            // the while or if whose body the block is (while (pool.TryAllocPage(out var page)) { ... }).
            foreach (BlockSyntax block in call.Ancestors().OfType<BlockSyntax>())
            {
                int declaration = IndexOfDeclaration(block, name, out ExpressionSyntax? allocation);
                if (declaration == NotDeclared)
                {
                    continue;
                }

                int callIndex = IndexOfStatementContaining(block, call);
                if (callIndex <= declaration)
                {
                    return null;
                }

                return Build(block, name, declaration, callIndex, allocation, model, cancellationToken);
            }

            return null;
        }

        private static Plan? Build(BlockSyntax block, string name, int declaration, int callIndex, ExpressionSyntax? allocation, SemanticModel model, CancellationToken cancellationToken)
        {
            SyntaxList<StatementSyntax> statements = block.Statements;

            // The last statement that mentions the page: what the guarded range must reach.
            int lastMention = -1;
            for (int i = declaration + 1; i < statements.Count; i++)
            {
                if (Mentions(statements[i], name))
                {
                    lastMention = i;
                }
            }

            if (lastMention < callIndex)
            {
                lastMention = callIndex;
            }

            bool inFinally = IsOwnRecycle(statements[lastMention], name)
                && !HandsOnBefore(statements, declaration + 1, lastMention, name, model, cancellationToken);
            int first = declaration + 1;
            int last = inFinally ? Extend(statements, first, lastMention) : lastMention;
            if (!CanMove(statements, first, last, inFinally))
            {
                return null;
            }

            ExpressionSyntax? receiver = inFinally ? null : ReceiverOf(allocation);
            if (!inFinally && receiver is null && allocation is not InvocationExpressionSyntax { Expression: IdentifierNameSyntax })
            {
                return null; // no pool to name in the catch
            }

            return new Plan(block, name, first, last, lastMention, inFinally, receiver);
        }

        /// <summary>Grows the range over the statements after it that use a local it declares.</summary>
        private static int Extend(SyntaxList<StatementSyntax> statements, int first, int last)
        {
            while (true)
            {
                HashSet<string> declared = Declared(statements, first, last);
                int grown = last;
                for (int i = last + 1; i < statements.Count; i++)
                {
                    if (UsesAny(statements[i], declared))
                    {
                        grown = i;
                    }
                }

                if (grown == last)
                {
                    return last;
                }

                last = grown;
            }
        }

        private static HashSet<string> Declared(SyntaxList<StatementSyntax> statements, int first, int last)
        {
            var declared = new HashSet<string>();
            for (int i = first; i <= last; i++)
            {
                StatementSyntax statement = statements[i];
                foreach (SyntaxNode node in statement.DescendantNodesAndSelf(n => n == statement || n is not (BlockSyntax or AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
                {
                    switch (node)
                    {
                        case VariableDeclaratorSyntax declarator when declarator.Parent?.Parent is LocalDeclarationStatementSyntax:
                            declared.Add(declarator.Identifier.ValueText);
                            break;
                        case SingleVariableDesignationSyntax designation:
                            declared.Add(designation.Identifier.ValueText);
                            break;
                    }
                }
            }

            return declared;
        }

        private static bool UsesAny(SyntaxNode node, HashSet<string> names) =>
            names.Count > 0 && node.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(id => names.Contains(id.Identifier.ValueText));

        /// <summary>
        /// The moved statements must still compile inside a try: no yield in a try with a catch, no local function
        /// or label the rest of the block may name, and no local of theirs used after them.
        /// </summary>
        private static bool CanMove(SyntaxList<StatementSyntax> statements, int first, int last, bool inFinally)
        {
            for (int i = first; i <= last; i++)
            {
                StatementSyntax statement = statements[i];
                if (!inFinally && statement.DescendantNodesAndSelf().Any(n => n is YieldStatementSyntax))
                {
                    return false;
                }

                if (statement is LocalFunctionStatementSyntax or LabeledStatementSyntax)
                {
                    return false;
                }
            }

            HashSet<string> declared = Declared(statements, first, last);
            for (int i = last + 1; i < statements.Count; i++)
            {
                if (UsesAny(statements[i], declared))
                {
                    return false;
                }
            }

            return true;
        }

        private const int NotDeclared = -2;

        /// <summary>
        /// The index of the statement of <paramref name="block"/> that declares the page; -1 when the condition
        /// of the while or if owning the block does; <see cref="NotDeclared"/> otherwise.
        /// </summary>
        private static int IndexOfDeclaration(BlockSyntax block, string name, out ExpressionSyntax? allocation)
        {
            SyntaxList<StatementSyntax> statements = block.Statements;
            for (int i = 0; i < statements.Count; i++)
            {
                if (statements[i] is LocalDeclarationStatementSyntax { UsingKeyword.RawKind: 0 } local)
                {
                    foreach (VariableDeclaratorSyntax declarator in local.Declaration.Variables)
                    {
                        if (declarator.Identifier.ValueText == name)
                        {
                            allocation = declarator.Initializer?.Value;
                            return i;
                        }
                    }
                }

                // An out variable of an if's condition or an expression statement lives on in the block.
                SyntaxNode? declaring = statements[i] switch
                {
                    IfStatementSyntax ifStatement => ifStatement.Condition,
                    ExpressionStatementSyntax expression => expression.Expression,
                    LocalDeclarationStatementSyntax declarationStatement => declarationStatement.Declaration,
                    _ => null,
                };
                if (declaring is not null && OutDeclaration(declaring, name) is { } call)
                {
                    allocation = call;
                    return i;
                }
            }

            ExpressionSyntax? condition = block.Parent switch
            {
                WhileStatementSyntax whileStatement => whileStatement.Condition,
                IfStatementSyntax ifStatement when ifStatement.Statement == block => ifStatement.Condition,
                _ => null,
            };
            if (condition is not null && OutDeclaration(condition, name) is { } owner)
            {
                allocation = owner;
                return -1;
            }

            allocation = null;
            return NotDeclared;
        }

        /// <summary>The call whose <c>out var name</c> / <c>out Page name</c> argument declares the page.</summary>
        private static InvocationExpressionSyntax? OutDeclaration(SyntaxNode node, string name)
        {
            foreach (SyntaxNode candidate in node.DescendantNodesAndSelf(n => n is not (AnonymousFunctionExpressionSyntax or BlockSyntax)))
            {
                if (candidate is ArgumentSyntax { Expression: DeclarationExpressionSyntax { Designation: SingleVariableDesignationSyntax designation } } argument
                    && designation.Identifier.ValueText == name
                    && argument.Parent?.Parent is InvocationExpressionSyntax invocation)
                {
                    return invocation;
                }
            }

            return null;
        }

        private static int IndexOfStatementContaining(BlockSyntax block, SyntaxNode node)
        {
            for (SyntaxNode? current = node; current is not null && current != block; current = current.Parent)
            {
                if (current.Parent == block && current is StatementSyntax statement)
                {
                    return block.Statements.IndexOf(statement);
                }
            }

            return -1;
        }

        private static bool Mentions(SyntaxNode node, string name) =>
            node.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == name);

        /// <summary>A statement that is nothing but <c>x.RecycleXxx(page)</c>.</summary>
        private static bool IsOwnRecycle(StatementSyntax statement, string name) =>
            statement is ExpressionStatementSyntax { Expression: InvocationExpressionSyntax invocation } && IsRecycleOf(invocation, name);

        private static bool IsRecycleOf(InvocationExpressionSyntax invocation, string name) =>
            MethodName(invocation) is { } method
            && method.StartsWith("Recycle", System.StringComparison.Ordinal)
            && invocation.ArgumentList.Arguments.Any(a => IsName(a.Expression, name));

        /// <summary>
        /// Whether the statements before the final recycle already give the page back on some path (a recycle in a
        /// branch, a return, a store, an [Owned] argument): a finally would then recycle it a second time.
        /// </summary>
        private static bool HandsOnBefore(SyntaxList<StatementSyntax> statements, int first, int end, string name, SemanticModel model, CancellationToken cancellationToken)
        {
            for (int i = first; i < end; i++)
            {
                foreach (SyntaxNode node in statements[i].DescendantNodesAndSelf())
                {
                    switch (node)
                    {
                        case InvocationExpressionSyntax invocation when IsRecycleOf(invocation, name):
                            return true;
                        case ReturnStatementSyntax { Expression: { } returned } when IsName(returned, name):
                            return true;
                        case AssignmentExpressionSyntax assignment when IsName(assignment.Right, name) || IsName(assignment.Left, name):
                            return true;
                        case ArgumentSyntax argument when IsName(argument.Expression, name) && IsOwnedParameter(argument, model, cancellationToken):
                            return true;
                    }
                }
            }

            return false;
        }

        private static bool IsOwnedParameter(ArgumentSyntax argument, SemanticModel model, CancellationToken cancellationToken)
        {
            if (argument.Parent?.Parent is not { } call || model.GetSymbolInfo(call, cancellationToken).Symbol is not IMethodSymbol method)
            {
                return false;
            }

            IParameterSymbol? parameter = argument.NameColon is { } nameColon
                ? method.Parameters.FirstOrDefault(p => p.Name == nameColon.Name.Identifier.ValueText)
                : argument.Parent is ArgumentListSyntax list && list.Arguments.IndexOf(argument) is var index && index < method.Parameters.Length
                    ? method.Parameters[index]
                    : null;
            return parameter is not null
                && parameter.GetAttributes().Any(a => a.AttributeClass is { Name: "OwnedAttribute", ContainingNamespace.Name: "PagePool" });
        }

        private static ExpressionSyntax? ReceiverOf(ExpressionSyntax? allocation) =>
            allocation is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } && IsStableReceiver(access.Expression)
                ? access.Expression
                : null;

        // Names that evaluate to the same pool when written again: locals, fields, this, and member chains of them.
        private static bool IsStableReceiver(ExpressionSyntax expression) => expression switch
        {
            IdentifierNameSyntax or ThisExpressionSyntax or BaseExpressionSyntax => true,
            MemberAccessExpressionSyntax { RawKind: (int)SyntaxKind.SimpleMemberAccessExpression } access => IsStableReceiver(access.Expression),
            ParenthesizedExpressionSyntax parenthesized => IsStableReceiver(parenthesized.Expression),
            _ => false,
        };

        private static bool IsName(ExpressionSyntax expression, string name) =>
            expression is IdentifierNameSyntax identifier && identifier.Identifier.ValueText == name;

        private static string? MethodName(InvocationExpressionSyntax invocation) => invocation.Expression switch
        {
            MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
            MemberBindingExpressionSyntax binding => binding.Name.Identifier.ValueText,
            SimpleNameSyntax simple => simple.Identifier.ValueText,
            _ => null,
        };

        public StatementSyntax CreateRecycleStatement()
        {
            ExpressionSyntax target = Receiver is null
                ? SyntaxFactory.IdentifierName("RecyclePage")
                : SyntaxFactory.MemberAccessExpression(
                    SyntaxKind.SimpleMemberAccessExpression, Receiver.WithoutTrivia(), SyntaxFactory.IdentifierName("RecyclePage"));
            return SyntaxFactory.ExpressionStatement(
                SyntaxFactory.InvocationExpression(
                    target,
                    SyntaxFactory.ArgumentList(SyntaxFactory.SingletonSeparatedList(
                        SyntaxFactory.Argument(SyntaxFactory.IdentifierName(Name))))));
        }
    }
}
