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
