using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading.Tasks;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using PagePool.Analyzers.Attribute;

namespace PagePool.Analyzers.Tests.Attribute;

/// <summary>
/// Half-typed code is what an analyzer sees most in an editor: truncate and mutate real declarations a few
/// hundred ways and require that the analyzer never throws (no AD0001, no exception callback).
/// </summary>
public sealed class RobustnessTests
{
    private const string Driver = """
        using System;
        using System.Threading;
        using PagePool;

        namespace Driver.Nic
        {
            internal static class Sizes { public const int Page = 4096; public const int Ring = 1024; }

            [PagePool(Sizes.Page, Sizes.Ring, Memory = PageMemoryKind.Native, CacheSize = 128, RefillBatch = 64,
                      Headroom = 256, MaxLength = 2048, ClearOnRecycle = true, Fragments = true,
                      LeakTracking = PageLeakTracking.Sampled)]
            internal sealed partial class RxQueue
            {
                private readonly int _queue;
                public RxQueue(int queue) => _queue = queue;
                partial void OnPageCreated(Page page) { }
                public Page AllocFragment(int size) => default;
                public int PageSize => 1;

                public int Poll(int budget)
                {
                    int done = 0;
                    while (done < budget) { done++; }
                    return done;
                }
            }

            partial class Port<T>
            {
                [PagePool(2048, 64, CacheSize = 16, RefillBatch = 8)]
                partial class Queue { }
            }

            class Outer { [PagePool(pageSize: 1000, poolSize: 0)] static class Inner { public void RecyclePage(Page p) { } } }
        }
        """;

    private const string Records = """
        namespace Driver;
        using PagePool;

        [PagePool(poolSize: 64, pageSize: 65536, Headroom = 65535, MaxLength = 1)]
        public sealed partial record class Frames(int Id)
        {
            public int PoolSize { get; init; }
            public void DestroyPagePool() { }
        }

        [global::PagePool.PagePoolAttribute(256, 1 << 20, CacheSize = 4096, RefillBatch = 4096)]
        partial class Tiny<TKey> where TKey : notnull { event System.Action? RecyclePages; }
        """;

    private static readonly string[] Insertions =
    {
        "(", ")", ",", "=", "[", "]", "{", "}", ";", "<T>", "partial ", "static ", "PagePool(", "[PagePool(", "0",
        "int.MaxValue", "CacheSize = ", "Headroom", "typeof(", "\"", "'", "/*", "#if X\n", "class ", "record ", "?", ":",
    };

    [Fact]
    public async Task Truncated_and_mutated_sources_never_make_the_analyzer_throw()
    {
        var random = new Random(20261125);
        var variants = new List<string>();
        foreach (string source in new[] { Driver, Records })
        {
            // Every prefix at an even spread, so each token of the attribute is cut somewhere.
            int step = Math.Max(1, source.Length / 120);
            for (int length = 0; length <= source.Length; length += step)
            {
                variants.Add(source.Substring(0, length));
            }

            for (int i = 0; i < 120; i++)
            {
                variants.Add(Mutate(source, random));
            }
        }

        Assert.True(variants.Count >= 400, "expected a few hundred variants, got " + variants.Count);

        var failures = new ConcurrentQueue<string>();
        int reported = 0;
        foreach (string variant in variants)
        {
            ImmutableArray<Diagnostic> diagnostics = await AnalyzeAsync(variant, (exception, analyzer, diagnostic) =>
                failures.Enqueue(exception.GetType().Name + ": " + exception.Message + "\n--- source ---\n" + variant));
            foreach (Diagnostic diagnostic in diagnostics)
            {
                if (diagnostic.Id == "AD0001")
                {
                    failures.Enqueue(diagnostic.GetMessage() + "\n--- source ---\n" + variant);
                }
                else if (diagnostic.Id.StartsWith("PP", StringComparison.Ordinal))
                {
                    reported++;
                }
            }
        }

        Assert.True(failures.IsEmpty, string.Join("\n\n", failures.Take(3)));

        // The corpus still exercises the analyzer: the untouched sources alone report several diagnostics.
        Assert.True(reported > variants.Count, "the analyzer reported only " + reported + " diagnostics");
    }

    [Fact]
    public async Task The_unmutated_corpus_reports_what_it_should()
    {
        var ids = (await AnalyzeAsync(Driver, (e, a, d) => throw e)).Select(d => d.Id).OrderBy(id => id, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "PP0001", "PP0002", "PP0005", "PP0005", "PP0006", "PP0006", "PP0006" }, ids);
    }

    private static string Mutate(string source, Random random)
    {
        var text = source;
        int edits = random.Next(1, 4);
        for (int i = 0; i < edits; i++)
        {
            int at = random.Next(text.Length);
            switch (random.Next(3))
            {
                case 0: // delete a span
                    text = text.Remove(at, Math.Min(random.Next(1, 20), text.Length - at));
                    break;
                case 1: // insert a token that often breaks a declaration
                    text = text.Insert(at, Insertions[random.Next(Insertions.Length)]);
                    break;
                default: // swap a character for a digit or a minus sign, corrupting numbers and names
                    text = text.Remove(at, 1).Insert(at, random.Next(2) == 0 ? "-" : random.Next(10).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }

        return text;
    }

    private static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(string source, Action<Exception, DiagnosticAnalyzer, Diagnostic> onException)
    {
        var compilation = CSharpCompilation.Create(
            "Robustness",
            new[] { CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest)) },
            Net100.References.All.Append(MetadataReference.CreateFromFile(typeof(PagePoolAttribute).Assembly.Location)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty), onException, concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        var withAnalyzers = compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new PagePoolAttributeAnalyzer()), options);
        return await withAnalyzers.GetAnalyzerDiagnosticsAsync();
    }
}
