using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using PagePool.Generators;

namespace PagePool.Generators.Tests;

/// <summary>Runs the generator over in-memory compilations (Basic.Reference.Assemblies + the runtime: no downloads).</summary>
internal static class GeneratorHarness
{
    private static readonly ImmutableArray<MetadataReference> s_references =
        Basic.Reference.Assemblies.Net100.References.All
            .Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(Page).Assembly.Location))
            .ToImmutableArray();

    public static CSharpParseOptions ParseOptions(bool debug) =>
        new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose,
            preprocessorSymbols: debug ? new[] { "DEBUG" } : Array.Empty<string>());

    /// <summary>A library compilation, nullable on, every warning an error (as a strict user project).</summary>
    public static CSharpCompilation CreateCompilation(bool debug, params string[] sources) =>
        CSharpCompilation.Create(
            "PagePoolUser",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions(debug), path: $"Source{i}.cs")),
            s_references,
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                generalDiagnosticOption: ReportDiagnostic.Error,
                optimizationLevel: debug ? OptimizationLevel.Debug : OptimizationLevel.Release,
                deterministic: true));

    public static GeneratorDriver CreateDriver(bool debug = false, bool trackSteps = true) =>
        CSharpGeneratorDriver.Create(
            new[] { new PagePoolGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions(debug),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator once; returns what it produced and the compilation with its output added.</summary>
    public static (GeneratorRunResult Result, Compilation Output, ImmutableArray<Diagnostic> DriverDiagnostics) Run(bool debug, params string[] sources)
    {
        CSharpCompilation compilation = CreateCompilation(debug, sources);
        GeneratorDriver driver = CreateDriver(debug).RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        return (driver.GetRunResult().Results.Single(), output, diagnostics);
    }

    /// <summary>Diagnostics a user would see (hidden ones such as unused usings are not).</summary>
    public static IReadOnlyList<Diagnostic> VisibleDiagnostics(Compilation compilation) =>
        compilation.GetDiagnostics().Where(d => d.Severity != DiagnosticSeverity.Hidden).ToList();

    public static string Format(IEnumerable<Diagnostic> diagnostics) =>
        string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString()));

    /// <summary>The test project's directory (where Baselines/ lives), found from this file's path at compile time.</summary>
    public static string ProjectDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
