using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using PagePool.Analyzers.Attribute;

namespace PagePool.Analyzers.Tests.Attribute;

/// <summary>
/// The analyzer, the generator's parser and the runtime share PagePoolRules so they never disagree. This checks
/// the analyzer's side on hundreds of argument sets drawn around every bound: it reports PP0002–PP0004 exactly
/// when <see cref="PagePoolOptions.Validate"/> (the runtime's use of the same rules) rejects the same values,
/// with the same message.
/// </summary>
public sealed class RulesAgreementTests
{
    private static readonly int[] PageSizes = { int.MinValue, -4096, 0, 1, 128, 255, 256, 300, 512, 1000, 2048, 4096, 4097, 65536, 1 << 21, (1 << 21) + 1, 1 << 22, int.MaxValue };
    private static readonly int[] PoolSizes = { int.MinValue, -1, 0, 1, 2, 1024, 1 << 20, (1 << 20) + 1, int.MaxValue };
    private static readonly int[] CacheSizes = { -1, 0, 1, 16, 32, 63, 64, 65, 128, 4096, 4097 };
    private static readonly int[] Small = { -1, 0, 1, 16, 32, 64, 65, 128, 129, 255, 256, 1000, 2047, 2048, 3840, 3841, 4095, 4096, 4097 };

    private sealed record Case(int PageSize, int PoolSize, int? CacheSize, int? RefillBatch, int? Headroom, int? MaxLength)
    {
        public string Attribute()
        {
            var text = new StringBuilder("[PagePool(").Append(Num(PageSize)).Append(", ").Append(Num(PoolSize));
            Named(text, "CacheSize", CacheSize);
            Named(text, "RefillBatch", RefillBatch);
            Named(text, "Headroom", Headroom);
            Named(text, "MaxLength", MaxLength);
            return text.Append(")]").ToString();
        }

        public string? RuntimeError()
        {
            var options = new PagePoolOptions { PageSize = PageSize, PoolSize = PoolSize };
            if (CacheSize is { } c) { options.CacheSize = c; }
            if (RefillBatch is { } r) { options.RefillBatch = r; }
            if (Headroom is { } h) { options.Headroom = h; }
            if (MaxLength is { } m) { options.MaxLength = m; }
            try
            {
                options.Validate();
                return null;
            }
            catch (ArgumentException e)
            {
                return e.Message.Substring(0, e.Message.IndexOf(" (Parameter", StringComparison.Ordinal) is var end and >= 0 ? end : e.Message.Length);
            }
        }

        private static void Named(StringBuilder text, string name, int? value)
        {
            if (value is { } v)
            {
                text.Append(", ").Append(name).Append(" = ").Append(Num(v));
            }
        }

        private static string Num(int value) => value switch
        {
            int.MinValue => "int.MinValue",
            int.MaxValue => "int.MaxValue",
            _ => value.ToString(CultureInfo.InvariantCulture),
        };
    }

    [Fact]
    public async Task Analyzer_reports_exactly_what_the_runtime_rejects_with_the_same_message()
    {
        var random = new Random(1125);
        var cases = new List<Case>();
        for (int i = 0; i < 600; i++)
        {
            // Mostly valid page and pool sizes, so the named-argument rules get exercised too.
            int pageSize = random.Next(4) == 0 ? Pick(random, PageSizes) : 256 << random.Next(0, 14);
            int poolSize = random.Next(5) == 0 ? Pick(random, PoolSizes) : 1024;
            cases.Add(new Case(
                pageSize,
                poolSize,
                random.Next(2) == 0 ? Pick(random, CacheSizes) : null,
                random.Next(2) == 0 ? Pick(random, CacheSizes) : null,
                random.Next(2) == 0 ? Pick(random, Small) : null,
                random.Next(2) == 0 ? Pick(random, Small) : null));
        }

        var source = new StringBuilder("using PagePool;\n");
        for (int i = 0; i < cases.Count; i++)
        {
            source.Append(cases[i].Attribute()).Append(" partial class Pool").Append(i).Append(" { }\n");
        }

        ImmutableArray<Diagnostic> diagnostics = await AnalyzeAsync(source.ToString());
        var byLine = diagnostics.ToDictionary(d => d.Location.GetLineSpan().StartLinePosition.Line - 1);

        int rejected = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            string? expected = cases[i].RuntimeError();
            byLine.TryGetValue(i, out Diagnostic? actual);
            if (expected is null)
            {
                Assert.True(actual is null, cases[i].Attribute() + " was reported: " + actual?.GetMessage(CultureInfo.InvariantCulture));
                continue;
            }

            rejected++;
            Assert.True(actual is not null, cases[i].Attribute() + " was not reported; the runtime says: " + expected);
            string message = actual!.GetMessage(CultureInfo.InvariantCulture);
            Assert.Equal(expected, char.ToUpperInvariant(message[0]) + message.Substring(1) + ".");
            string expectedId = expected.StartsWith("PageSize", StringComparison.OrdinalIgnoreCase) ? "PP0002"
                : expected.StartsWith("PoolSize", StringComparison.OrdinalIgnoreCase) ? "PP0003"
                : "PP0004";
            Assert.Equal(expectedId, actual.Id);
        }

        // Both outcomes are well represented, or the test proves little.
        Assert.InRange(rejected, cases.Count / 5, cases.Count * 4 / 5);
    }

    private static int Pick(Random random, int[] values) => values[random.Next(values.Length)];

    private static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Agreement",
            new[] { CSharpSyntaxTree.ParseText(source) },
            Net100.References.All.Append(MetadataReference.CreateFromFile(typeof(PagePoolAttribute).Assembly.Location)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        return await compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new PagePoolAttributeAnalyzer()))
            .GetAnalyzerDiagnosticsAsync();
    }
}
