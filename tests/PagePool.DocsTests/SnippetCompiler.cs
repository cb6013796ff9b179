using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using PagePool.Analyzers.Ownership;
using PagePool.Generators;

namespace PagePool.DocsTests;

/// <summary>
/// Compiles a snippet as a user's project would: .NET 10 references and the runtime, the generator run, and every
/// PagePool analyzer on, the ArrayPool rules (PP1101–PP1103) included.
/// </summary>
internal static class SnippetCompiler
{
    private static readonly ImmutableArray<MetadataReference> s_references =
        Basic.Reference.Assemblies.Net100.References.All
            .Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(Page).Assembly.Location))
            .ToImmutableArray();

    private static readonly ImmutableArray<DiagnosticAnalyzer> s_analyzers =
        typeof(OwnershipAnalyzer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t)
                        && t.GetCustomAttributes(typeof(DiagnosticAnalyzerAttribute), false).Length > 0)
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
            .ToImmutableArray();

    /// <summary>The compilation with the generator's output, and every diagnostic a user would see.</summary>
    public static (Compilation Compilation, IReadOnlyList<Diagnostic> Diagnostics) Compile(string source, OutputKind kind = OutputKind.DynamicallyLinkedLibrary)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var optIn = s_analyzers.SelectMany(a => a.SupportedDiagnostics)
            .Where(d => !d.IsEnabledByDefault)
            .ToImmutableDictionary(d => d.Id, _ => ReportDiagnostic.Warn);
        CSharpCompilation compilation = CSharpCompilation.Create(
            "DocsSnippet",
            new[] { CSharpSyntaxTree.ParseText(source, parse, path: "Snippet.cs") },
            s_references,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable,
                allowUnsafe: true, specificDiagnosticOptions: optIn));
        CSharpGeneratorDriver.Create(new[] { new PagePoolGenerator().AsSourceGenerator() }, parseOptions: parse)
            .RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> generatorDiagnostics);
        ImmutableArray<Diagnostic> all = output.WithAnalyzers(s_analyzers, new CompilationWithAnalyzersOptions(
                new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), onAnalyzerException: null,
                concurrentAnalysis: false, logAnalyzerExecutionTime: false, reportSuppressedDiagnostics: false))
            .GetAllDiagnosticsAsync(CancellationToken.None).GetAwaiter().GetResult();
        var visible = generatorDiagnostics.Concat(all)
            .Where(d => d.Severity != DiagnosticSeverity.Hidden)
            // A snippet shows one class, not a whole program: members it never uses are fine.
            .Where(d => d.Id is not ("CS0169" or "CS0414" or "CS0649" or "CS8321"))
            .ToList();
        return (output, visible);
    }

    public static string Format(IEnumerable<Diagnostic> diagnostics) =>
        string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString()));
}
