using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace PagePool.RealCode;

/// <summary>
/// Runs every PagePool analyzer (the ArrayPool rules PP1101–PP1103 turned on) over a folder of real C# compiled as
/// one compilation, lists every PP diagnostic and every analyzer exception, and optionally measures how many
/// deleted <c>ArrayPool&lt;T&gt;.Return</c> calls the analysis catches.
/// </summary>
/// <remarks>
/// The code is compiled against the net10.0 reference assemblies only: package references and source generators
/// are missing, so real code compiles with errors. That is deliberate: the analyzers must still work (and never
/// throw) on such semi-broken code, as they must in an IDE on half-typed code.
/// </remarks>
internal static class Program
{
    private static readonly string[] ArrayIds = { "PP1101", "PP1102", "PP1103" };

    private static readonly string[] ImplicitUsings =
    {
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading",
        "System.Threading.Tasks",
    };

    private static int Main(string[] args)
    {
        var options = Options.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine("""
                usage: RealCode <folder> [--name NAME] [--commit SHA] [--tests separate|include|exclude] [--mutate]
                  --tests separate  (default) tests, benchmarks and samples form a second compilation that
                                    references the first; their results are listed apart
                  --tests include   everything in one compilation
                  --tests exclude   tests, benchmarks and samples are left out
                  --mutate          delete each ArrayPool Return of a locally rented array, one at a time, and
                                    report how many of those mutants gain a PP1101/PP1102/PP1103 in that method
                """);
            return 2;
        }

        return Run(options).GetAwaiter().GetResult();
    }

    private static async Task<int> Run(Options options)
    {
        var stopwatch = Stopwatch.StartNew();
        var root = Path.GetFullPath(options.Folder);
        var files = Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !IsBuildOutput(f))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        var product = files.Where(f => !IsTestLike(f)).ToList();
        var tests = files.Where(IsTestLike).ToList();
        if (options.Tests == "include")
        {
            product = files;
            tests = new List<string>();
        }
        else if (options.Tests == "exclude")
        {
            tests = new List<string>();
        }

        var parse = new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Regular, PreprocessorSymbols());
        var implicitUsings = UsesImplicitUsings(root);
        var compilationOptions = new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                allowUnsafe: true,
                nullableContextOptions: NullableContextOptions.Enable,
                concurrentBuild: true)
            .WithSpecificDiagnosticOptions(ArrayIds.ToDictionary(id => id, _ => ReportDiagnostic.Warn));
        var analyzers = LoadAnalyzers();

        Console.WriteLine($"# {options.Name}");
        Console.WriteLine($"folder: {root}");
        if (options.Commit is not null)
        {
            Console.WriteLine($"commit: {options.Commit}");
        }

        Console.WriteLine($"analyzers: {string.Join(", ", analyzers.Select(a => a.GetType().Name))}");
        Console.WriteLine($"implicit usings: {(implicitUsings ? "yes" : "no")}");

        var groups = new List<Group>();
        var productCompilation = Compile("product", product, root, parse, compilationOptions, implicitUsings, null);
        groups.Add(new Group("product", productCompilation, product.Count));
        if (tests.Count > 0)
        {
            var testCompilation = Compile("tests", tests, root, parse, compilationOptions, implicitUsings, productCompilation.ToMetadataReference());
            groups.Add(new Group("tests", testCompilation, tests.Count));
        }

        var exitCode = 0;
        var internalErrorsBefore = InternalErrors();
        foreach (var group in groups)
        {
            var exceptions = new List<string>();
            var withAnalyzers = WithAnalyzers(group.Compilation, analyzers, exceptions);
            var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
            var shown = diagnostics
                .Where(d => d.Id.StartsWith("PP", StringComparison.Ordinal) || d.Id == "AD0001")
                .OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal)
                .ThenBy(d => d.Location.SourceSpan.Start)
                .ToList();
            var ad0001 = Math.Max(exceptions.Count, shown.Count(d => d.Id == "AD0001"));
            var compileErrors = group.Compilation.GetDiagnostics().Count(d => d.Severity == DiagnosticSeverity.Error);
            var rents = CountRents(group.Compilation);

            Console.WriteLine();
            Console.WriteLine($"## {group.Name}: {group.Files} files, {rents} ArrayPool Rent calls, {compileErrors} compile errors (missing references expected)");
            foreach (var diagnostic in shown)
            {
                var span = diagnostic.Location.GetLineSpan();
                Console.WriteLine($"{diagnostic.Id} {span.Path}:{span.StartLinePosition.Line + 1}: {diagnostic.GetMessage()}");
            }

            foreach (var exception in exceptions)
            {
                Console.WriteLine("AD0001 " + exception);
            }

            var byId = shown.Where(d => d.Id != "AD0001").GroupBy(d => d.Id).OrderBy(g => g.Key)
                .Select(g => $"{g.Key}={g.Count()}");
            Console.WriteLine($"summary {options.Name} {group.Name}: files={group.Files} rents={rents} warnings={shown.Count(d => d.Id != "AD0001")} [{string.Join(" ", byId)}] AD0001={ad0001}");
            if (ad0001 > 0)
            {
                exitCode = 1;
            }
        }

        var swallowed = InternalErrors() - internalErrorsBefore;
        Console.WriteLine($"internal errors swallowed by the ownership analyzer: {swallowed}{(swallowed > 0 ? " (last: " + LastInternalError() + ")" : "")}");

        Console.WriteLine($"analysis elapsed: {stopwatch.Elapsed.TotalSeconds:F1} s");
        if (options.Mutate)
        {
            var mutationStart = stopwatch.Elapsed;
            var caughtAll = 0;
            var totalAll = 0;
            foreach (var group in groups)
            {
                var (caught, total) = await Mutate(group, analyzers);
                Console.WriteLine($"mutation {options.Name} {group.Name}: caught {caught} of {total} deleted Return calls ({Percent(caught, total)})");
                caughtAll += caught;
                totalAll += total;
            }

            Console.WriteLine($"mutation {options.Name} all: caught {caughtAll} of {totalAll} ({Percent(caughtAll, totalAll)})");
            var mutationTime = (stopwatch.Elapsed - mutationStart).TotalSeconds;
            Console.WriteLine($"mutation elapsed: {mutationTime:F1} s ({(totalAll == 0 ? 0 : mutationTime / totalAll):F1} s a mutant)");
            var swallowedAfter = InternalErrors() - internalErrorsBefore;
            if (swallowedAfter != swallowed)
            {
                Console.WriteLine($"internal errors swallowed while analysing mutants: {swallowedAfter - swallowed}");
            }
        }

        Console.WriteLine($"elapsed: {stopwatch.Elapsed.TotalSeconds:F1} s");
        return exitCode;
    }

    private static string Percent(int part, int whole) => whole == 0 ? "n/a" : $"{100.0 * part / whole:F1}%";

    private static CSharpCompilation Compile(
        string name,
        List<string> files,
        string root,
        CSharpParseOptions parse,
        CSharpCompilationOptions options,
        bool implicitUsings,
        MetadataReference? extra)
    {
        var trees = files
            .AsParallel()
            .AsOrdered()
            .Select(f => CSharpSyntaxTree.ParseText(
                Microsoft.CodeAnalysis.Text.SourceText.From(File.ReadAllText(Path.Combine(root, f)), System.Text.Encoding.UTF8),
                parse,
                f))
            .ToList();
        if (implicitUsings)
        {
            trees.Add(CSharpSyntaxTree.ParseText(
                string.Concat(ImplicitUsings.Select(u => $"global using global::{u};\n")),
                parse,
                "<implicit usings>.cs"));
        }

        var references = Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>().ToList();
        if (extra is not null)
        {
            references.Add(extra);
        }

        return CSharpCompilation.Create("RealCode." + name, trees, references, options);
    }

    private static CompilationWithAnalyzers WithAnalyzers(Compilation compilation, ImmutableArray<DiagnosticAnalyzer> analyzers, List<string>? exceptions)
    {
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            onAnalyzerException: (exception, analyzer, _) =>
            {
                if (exceptions is not null)
                {
                    lock (exceptions)
                    {
                        exceptions.Add($"{analyzer.GetType().Name}: {exception.GetType().Name}: {exception.Message}");
                    }
                }
            },
            concurrentAnalysis: true,
            logAnalyzerExecutionTime: false);
        return compilation.WithAnalyzers(analyzers, options);
    }

    /// <summary>Every analyzer in the PagePool.Analyzers assembly, so a rule added later is run without a change here.</summary>
    private static ImmutableArray<DiagnosticAnalyzer> LoadAnalyzers() =>
        typeof(PagePool.Analyzers.Ownership.OwnershipAnalyzer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t)
                && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null
                && t.GetConstructor(Type.EmptyTypes) is not null)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
            .ToImmutableArray();

    /// <summary>The ownership analyzer skips a method it fails on instead of throwing (no AD0001): count those too.</summary>
    private static int InternalErrors() =>
        typeof(PagePool.Analyzers.Ownership.OwnershipAnalyzer)
            .GetProperty("InternalErrors", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null) as int? ?? 0;

    private static string? LastInternalError() =>
        (typeof(PagePool.Analyzers.Ownership.OwnershipAnalyzer)
            .GetProperty("LastInternalError", BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null) as Exception)?.ToString();

    private static bool IsBuildOutput(string relative) =>
        relative.Split('/').Any(s => s is "obj" or "bin" || s.StartsWith('.'));

    /// <summary>
    /// Tests, benchmarks, samples and similar: a folder of the path with a word (split at '.', '-', '_') that is or
    /// ends in "Test"/"Tests" ("UnitTests", "Foo.Test"; not "TestDecoding" or "Latest"), or names a benchmark, sample, ...
    /// </summary>
    private static bool IsTestLike(string relative)
    {
        var folders = relative.Split('/');
        return folders.Take(folders.Length - 1)
            .SelectMany(folder => folder.Split('.', '-', '_'))
            .Any(word => Regex.IsMatch(word, @"^(?i:tests?|testing|toys?)$|[a-z]Tests?$|(?i:benchmark|sample|sandbox|playground|perf|example|demo)"));
    }

    private static bool UsesImplicitUsings(string root) =>
        Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".props", StringComparison.OrdinalIgnoreCase))
            .Any(f => Regex.IsMatch(File.ReadAllText(f), @"<ImplicitUsings>\s*(enable|true)\s*</ImplicitUsings>", RegexOptions.IgnoreCase));

    private static string[] PreprocessorSymbols()
    {
        var symbols = new List<string> { "TRACE", "RELEASE", "NET", "NETCOREAPP", "NET10_0" };
        for (var major = 5; major <= 10; major++)
        {
            symbols.Add($"NET{major}_0_OR_GREATER");
        }

        symbols.AddRange(new[]
        {
            "NETCOREAPP1_0_OR_GREATER", "NETCOREAPP1_1_OR_GREATER", "NETCOREAPP2_0_OR_GREATER", "NETCOREAPP2_1_OR_GREATER",
            "NETCOREAPP2_2_OR_GREATER", "NETCOREAPP3_0_OR_GREATER", "NETCOREAPP3_1_OR_GREATER",
        });
        return symbols.ToArray();
    }

    private static bool IsArrayPool(ITypeSymbol? type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.OriginalDefinition is INamedTypeSymbol { Name: "ArrayPool", Arity: 1 } named
                && named.ContainingNamespace?.ToDisplayString() == "System.Buffers")
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsPoolCall(IMethodSymbol? method, string name) =>
        method is not null && method.Name == name && IsArrayPool(method.ContainingType);

    private static int CountRents(Compilation compilation)
    {
        var count = 0;
        foreach (var tree in compilation.SyntaxTrees)
        {
            SemanticModel? model = null;
            foreach (var invocation in tree.GetRoot().DescendantNodes().OfType<InvocationExpressionSyntax>())
            {
                if (NameOf(invocation) != "Rent")
                {
                    continue;
                }

                model ??= compilation.GetSemanticModel(tree);
                if (IsPoolCall(model.GetSymbolInfo(invocation).Symbol as IMethodSymbol, "Rent"))
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static string? NameOf(InvocationExpressionSyntax invocation) => invocation.Expression switch
    {
        MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText,
        MemberBindingExpressionSyntax binding => binding.Name.Identifier.ValueText,
        IdentifierNameSyntax identifier => identifier.Identifier.ValueText,
        _ => null,
    };

    /// <summary>
    /// Deletes, one at a time, each statement <c>pool.Return(x)</c> / <c>pool?.Return(x, ...)</c> where <c>x</c> is a
    /// local that the same function assigns from <c>Rent</c>; a mutant is caught when the member it is in gains a
    /// PP1101, PP1102 or PP1103 it did not have. Only the changed tree is analysed.
    /// </summary>
    private static async Task<(int Caught, int Total)> Mutate(Group group, ImmutableArray<DiagnosticAnalyzer> analyzers)
    {
        var compilation = group.Compilation;
        var caught = 0;
        var total = 0;
        foreach (var tree in compilation.SyntaxTrees)
        {
            var model = compilation.GetSemanticModel(tree);
            var candidates = FindMutants(tree, model);
            if (candidates.Count == 0)
            {
                continue;
            }

            var baseline = await WithAnalyzers(compilation, analyzers, null).GetAnalyzerSemanticDiagnosticsAsync(model, null, CancellationToken.None);
            foreach (var (statement, member) in candidates)
            {
                total++;
                var before = Keys(baseline, member.Span);
                var marker = new SyntaxAnnotation();
                // The statement becomes an empty one with the same trivia: every line keeps its number, so the
                // messages before and after compare.
                var mutatedRoot = tree.GetRoot().ReplaceNodes(
                    new SyntaxNode[] { member, statement },
                    (original, rewritten) => original == statement
                        ? SyntaxFactory.EmptyStatement().WithTriviaFrom(rewritten)
                        : rewritten.WithAdditionalAnnotations(marker));
                var mutatedTree = tree.WithRootAndOptions(mutatedRoot, tree.Options);
                var mutated = compilation.ReplaceSyntaxTree(tree, mutatedTree);
                var mutatedModel = mutated.GetSemanticModel(mutatedTree);
                var after = await WithAnalyzers(mutated, analyzers, null).GetAnalyzerSemanticDiagnosticsAsync(mutatedModel, null, CancellationToken.None);
                var mutatedMember = mutatedRoot.GetAnnotatedNodes(marker).Single();
                var gained = Keys(after, mutatedMember.Span);
                foreach (var key in before)
                {
                    gained.Remove(key);
                }

                var line = statement.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                if (gained.Count > 0)
                {
                    caught++;
                    Console.WriteLine($"caught {tree.FilePath}:{line}: {gained[0]}");
                }
                else
                {
                    Console.WriteLine($"missed {tree.FilePath}:{line}: {statement.ToString().Trim()} in {MemberName(member)}");
                }
            }
        }

        return (caught, total);
    }

    private static string MemberName(SyntaxNode member) => member switch
    {
        MethodDeclarationSyntax m => m.Identifier.ValueText,
        ConstructorDeclarationSyntax c => c.Identifier.ValueText + " (constructor)",
        PropertyDeclarationSyntax p => p.Identifier.ValueText,
        _ => member.Kind().ToString(),
    };

    private static List<string> Keys(ImmutableArray<Diagnostic> diagnostics, Microsoft.CodeAnalysis.Text.TextSpan span) =>
        diagnostics
            .Where(d => ArrayIds.Contains(d.Id) && span.Contains(d.Location.SourceSpan))
            .Select(d => $"{d.Id} line {d.Location.GetLineSpan().StartLinePosition.Line + 1}: {d.GetMessage()}")
            .ToList();

    private static List<(StatementSyntax Statement, MemberDeclarationSyntax Member)> FindMutants(SyntaxTree tree, SemanticModel model)
    {
        var found = new List<(StatementSyntax, MemberDeclarationSyntax)>();
        foreach (var statement in tree.GetRoot().DescendantNodes().OfType<ExpressionStatementSyntax>())
        {
            var invocation = statement.Expression switch
            {
                InvocationExpressionSyntax direct => direct,
                ConditionalAccessExpressionSyntax { WhenNotNull: InvocationExpressionSyntax conditional } => conditional,
                _ => null,
            };
            if (invocation is null || NameOf(invocation) != "Return" || invocation.ArgumentList.Arguments.Count == 0
                || !IsPoolCall(model.GetSymbolInfo(invocation).Symbol as IMethodSymbol, "Return"))
            {
                continue;
            }

            var argument = invocation.ArgumentList.Arguments[0].Expression;
            while (argument is PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression } bang)
            {
                argument = bang.Operand;
            }

            if (argument is not IdentifierNameSyntax || model.GetSymbolInfo(argument).Symbol is not ILocalSymbol local)
            {
                continue;
            }

            var function = statement.Ancestors().FirstOrDefault(IsFunction);
            var member = statement.Ancestors().OfType<MemberDeclarationSyntax>().FirstOrDefault(m => m is not BaseTypeDeclarationSyntax and not NamespaceDeclarationSyntax);
            if (function is null || member is null || !RentedInto(function, local, model))
            {
                continue;
            }

            found.Add((statement, member));
        }

        return found;
    }

    private static bool IsFunction(SyntaxNode node) =>
        node is BaseMethodDeclarationSyntax or AccessorDeclarationSyntax or LocalFunctionStatementSyntax
            or AnonymousFunctionExpressionSyntax or PropertyDeclarationSyntax or IndexerDeclarationSyntax;

    /// <summary>Whether <paramref name="function"/> itself (not a nested function) assigns a Rent to <paramref name="local"/>.</summary>
    private static bool RentedInto(SyntaxNode function, ILocalSymbol local, SemanticModel model)
    {
        foreach (var invocation in function.DescendantNodes().OfType<InvocationExpressionSyntax>())
        {
            if (NameOf(invocation) != "Rent" || invocation.Ancestors().First(IsFunction) != function
                || !IsPoolCall(model.GetSymbolInfo(invocation).Symbol as IMethodSymbol, "Rent"))
            {
                continue;
            }

            SyntaxNode node = invocation;
            while (node.Parent is ParenthesizedExpressionSyntax or CastExpressionSyntax or PostfixUnaryExpressionSyntax
                   || (node.Parent is ConditionalExpressionSyntax conditional && conditional.Condition != node))
            {
                node = node.Parent;
            }

            switch (node.Parent)
            {
                case EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator }
                    when SymbolEqualityComparer.Default.Equals(model.GetDeclaredSymbol(declarator), local):
                    return true;
                case AssignmentExpressionSyntax assignment when assignment.Right == node
                    && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(assignment.Left).Symbol, local):
                    return true;
            }
        }

        return false;
    }

    private sealed record Group(string Name, CSharpCompilation Compilation, int Files);

    private sealed class Options
    {
        public string Folder { get; private set; } = "";

        public string Name { get; private set; } = "";

        public string? Commit { get; private set; }

        public string Tests { get; private set; } = "separate";

        public bool Mutate { get; private set; }

        public static Options? Parse(string[] args)
        {
            var options = new Options();
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--name" when i + 1 < args.Length:
                        options.Name = args[++i];
                        break;
                    case "--commit" when i + 1 < args.Length:
                        options.Commit = args[++i];
                        break;
                    case "--tests" when i + 1 < args.Length && args[i + 1] is "separate" or "include" or "exclude":
                        options.Tests = args[++i];
                        break;
                    case "--mutate":
                        options.Mutate = true;
                        break;
                    default:
                        if (args[i].StartsWith("--", StringComparison.Ordinal) || options.Folder.Length > 0)
                        {
                            return null;
                        }

                        options.Folder = args[i];
                        break;
                }
            }

            if (options.Folder.Length == 0 || !Directory.Exists(options.Folder))
            {
                return null;
            }

            if (options.Name.Length == 0)
            {
                options.Name = Path.GetFileName(Path.GetFullPath(options.Folder).TrimEnd('/'));
            }

            return options;
        }
    }
}
