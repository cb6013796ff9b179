using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using PagePool.Analyzers.Ownership;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>
/// Runs <see cref="OwnershipAnalyzer"/> on test sources compiled against the real runtime assembly, with
/// hand-written pools that have the generated pools' signatures (the generator does not run in these tests).
/// </summary>
internal static class OwnershipVerifier
{
    public const string GlobalUsings = """
        global using System;
        global using System.Buffers;
        global using System.Collections.Generic;
        global using System.Threading;
        global using System.Threading.Tasks;
        global using PagePool;
        global using PagePool.Tests;
        """;

    /// <summary>Two "generated" pools (what the generator emits, by hand) and a few helpers the cases use.</summary>
    public const string Pools = """
        namespace PagePool.Tests
        {
            [PagePool(4096, 1024)]
            public sealed partial class RxQueue
            {
                private readonly Page[] _cache = new Page[1];
                public Page AllocPage() => default;
                public bool TryAllocPage(out Page page) { page = default; return false; }
                public int AllocPages(Span<Page> pages) => 0;
                public Page AllocFragment(int size) => default;
                public void RecyclePage([Owned] Page page) => _cache[0] = page;
                public void RecyclePageDirect([Owned] Page page) => _cache[0] = page;
                public void RecyclePages(ReadOnlySpan<Page> pages) { }
            }

            [PagePool(2048, 64)]
            public sealed partial class TxQueue
            {
                private readonly Page[] _cache = new Page[1];
                public Page AllocPage() => default;
                public bool TryAllocPage(out Page page) { page = default; return false; }
                public void RecyclePage([Owned] Page page) => _cache[0] = page;
                public void RecyclePageDirect([Owned] Page page) => _cache[0] = page;
            }

            public static class Sink
            {
                private static Page s_last;
                public static void Borrow(Page page) { }
                public static void Keep([Owned] Page page) => s_last = page;
                public static void Bytes(Span<byte> bytes) { }
                public static void Array(byte[] bytes) { }
                public static bool Cond() => true;
                public static int Next() => 0;
                public static void Work() { }
            }
        }
        """;

    public static async Task VerifyAsync(string source, bool arrays = false)
    {
        // The analyzer swallows its own failures (no AD0001 on half-typed code); in these tests any is a bug.
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        await CreateTest(source, arrays).RunAsync();
        Xunit.Assert.True(
            OwnershipAnalyzer.InternalErrors == errorsBefore,
            $"internal analyzer error: {OwnershipAnalyzer.LastInternalError}");
    }

    public static CSharpAnalyzerTest<OwnershipAnalyzer, DefaultVerifier> CreateTest(string source, bool arrays = false)
    {
        var test = new CSharpAnalyzerTest<OwnershipAnalyzer, DefaultVerifier>
        {
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"),
        };
        test.TestState.Sources.Add(("/0/Test0.cs", source));
        test.TestState.Sources.Add(("/0/Usings.cs", GlobalUsings));
        test.TestState.Sources.Add(("/0/Pools.cs", Pools));
        test.TestState.AdditionalReferences.AddRange(Basic.Reference.Assemblies.Net100.References.All);
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(PagePool.Page).Assembly.Location));
        if (!source.Contains("PP1006", System.StringComparison.Ordinal))
        {
            // Each rule's suite checks its own rule; PP1006 (a page lost when a call throws) has its own suite
            // and is checked wherever a source marks it. The graph still computes it: the tree walk's cross-check
            // (TreeWalkCheck) and the agreement corpus cover it in every test.
            test.DisabledDiagnostics.Add("PP1006");
        }

        if (source.Contains("unsafe", System.StringComparison.Ordinal))
        {
            test.SolutionTransforms.Add((solution, projectId) => solution.WithProjectCompilationOptions(
                projectId,
                ((Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions)solution.GetProject(projectId)!.CompilationOptions!).WithAllowUnsafe(true)));
        }

        if (arrays)
        {
            test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", """
                root = true

                [*]
                dotnet_diagnostic.PP1101.severity = warning
                dotnet_diagnostic.PP1102.severity = warning
                dotnet_diagnostic.PP1103.severity = warning
                """));
        }

        return test;
    }

    /// <summary>Wraps a member list in a class with a pool, the usual fields and helpers.</summary>
    public static string InClass(string members) => $$"""
        #nullable enable
        public sealed class C
        {
            private readonly RxQueue pool = new RxQueue();
            private readonly TxQueue tx = new TxQueue();
            private Page _field;
            private readonly Page[] _slots = new Page[4];
            private readonly List<Page> _list = new List<Page>();
            private readonly Queue<Page> _queue = new Queue<Page>();

        {{members}}
        }
        """;
}
