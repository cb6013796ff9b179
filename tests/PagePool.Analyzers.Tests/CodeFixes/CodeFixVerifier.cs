using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace PagePool.Analyzers.Tests.CodeFixes;

/// <summary>Runs a code fix over marked-up sources with the same offline references as the analyzer tests.</summary>
internal static class CodeFixVerifier<TAnalyzer, TCodeFix>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public static Task VerifyAsync(string source, string fixedSource, int codeActionIndex = 0, string? equivalenceKey = null) =>
        CreateTest(source, fixedSource, codeActionIndex, equivalenceKey).RunAsync();

    public static CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier> CreateTest(string source, string fixedSource, int codeActionIndex = 0, string? equivalenceKey = null)
    {
        var test = new CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
        {
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"),
            TestCode = source,
            FixedCode = fixedSource,
            CodeActionIndex = codeActionIndex,
            CodeActionEquivalenceKey = equivalenceKey,
        };
        test.TestState.AdditionalReferences.AddRange(Net100.References.All);
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(PagePoolAttribute).Assembly.Location));
        test.FixedState.AdditionalReferences.AddRange(Net100.References.All);
        test.FixedState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(PagePoolAttribute).Assembly.Location));
        return test;
    }
}

/// <summary>
/// Runs an ownership code fix against the real ownership analyzer when it is in the analyzer assembly (once the
/// Ownership branch is merged), else against <see cref="OwnershipStandInAnalyzer"/>; the test sources are written
/// so both report the same diagnostics at the same places.
/// </summary>
internal static class OwnershipFixVerifier<TCodeFix>
    where TCodeFix : CodeFixProvider, new()
{
    private const string RealAnalyzerName = "PagePool.Analyzers.Ownership.OwnershipAnalyzer";

    /// <summary>The real analyzer's type, or null before the merge.</summary>
    public static Type? RealAnalyzer { get; } = typeof(PagePool.Analyzers.Attribute.PagePoolAttributeAnalyzer).Assembly.GetType(RealAnalyzerName);

    public static Task VerifyAsync(string source, string fixedSource, string? equivalenceKey = null) =>
        CreateTest(source, fixedSource, equivalenceKey).RunAsync();

    public static CSharpCodeFixTest<OwnershipStandInAnalyzer, TCodeFix, DefaultVerifier> CreateTest(string source, string fixedSource, string? equivalenceKey = null)
    {
        var test = new Test
        {
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"),
            TestCode = source,
            FixedCode = fixedSource,
            CodeActionEquivalenceKey = equivalenceKey,
        };
        test.TestState.AdditionalReferences.AddRange(Net100.References.All);
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(PagePoolAttribute).Assembly.Location));
        if (!source.Contains("PP1006", StringComparison.Ordinal))
        {
            // A fix for another rule is tested on its own diagnostics; PP1006's fix marks PP1006 where it expects it.
            test.DisabledDiagnostics.Add("PP1006");
        }

        return test;
    }

    private sealed class Test : CSharpCodeFixTest<OwnershipStandInAnalyzer, TCodeFix, DefaultVerifier>
    {
        protected override IEnumerable<DiagnosticAnalyzer> GetDiagnosticAnalyzers() =>
            new[] { RealAnalyzer is null ? new OwnershipStandInAnalyzer() : (DiagnosticAnalyzer)Activator.CreateInstance(RealAnalyzer)! };
    }
}
