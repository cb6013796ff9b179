using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using PagePool.Analyzers.Ownership;

namespace PagePool.Analyzers.Tests.Ownership;

[CollectionDefinition(nameof(SerialOwnershipCollection), DisableParallelization = true)]
public sealed class SerialOwnershipCollection
{
}

/// <summary>
/// Runs the analyzer through <see cref="CompilationWithAnalyzers"/> as a build does: on realistic code, on
/// hundreds of truncated and mutated copies of it (half-typed code must never throw), and with default options
/// (the ArrayPool rules off, methods without pages building no graph).
/// </summary>
[Collection(nameof(SerialOwnershipCollection))]
public sealed class RobustnessTests
{
    /// <summary>A receive loop written the way the docs recommend: it must produce no warning.</summary>
    public const string ReceiveLoop = """
        using System;
        using System.Buffers;
        using System.Collections.Generic;
        using System.Net.Sockets;
        using System.Threading;
        using System.Threading.Channels;
        using System.Threading.Tasks;
        using PagePool;
        using PagePool.Tests;

        public sealed class Receiver
        {
            private readonly RxQueue _pool = new RxQueue();
            private readonly Queue<Page> _backlog = new Queue<Page>();
            private readonly Channel<Page> _channel = Channel.CreateUnbounded<Page>();
            private Page _pending;

            public int Poll(Socket socket, int budget)
            {
                int done = 0;
                while (done < budget)
                {
                    if (!_pool.TryAllocPage(out var page))
                    {
                        break;
                    }

                    int n;
                    try
                    {
                        n = socket.Receive(page.Span);
                    }
                    catch
                    {
                        _pool.RecyclePageDirect(page);
                        throw;
                    }

                    if (n == 0)
                    {
                        _pool.RecyclePageDirect(page);
                        continue;
                    }

                    switch (page.Span[0])
                    {
                        case 0:
                            _backlog.Enqueue(page);
                            break;
                        case 1:
                            _channel.Writer.TryWrite(page);
                            break;
                        default:
                            Deliver(page);
                            break;
                    }

                    done++;
                }

                return done;
            }

            public void Deliver([Owned] Page page)
            {
                try
                {
                    Process(page.Span);
                }
                finally
                {
                    _pool.RecyclePage(page);
                }
            }

            public void Drain()
            {
                while (_backlog.TryDequeue(out var page))
                {
                    _pool.RecyclePageDirect(page);
                }

                var old = Interlocked.Exchange(ref _pending, default);
                if (!old.IsDefault)
                {
                    _pool.RecyclePageDirect(old);
                }
            }

            public async Task ConsumeAsync(CancellationToken token)
            {
                await foreach (var page in _channel.Reader.ReadAllAsync(token))
                {
                    Process(page.Span);
                    _pool.RecyclePage(page);
                }
            }

            public int Checksum(ReadOnlySpan<byte> data)
            {
                byte[]? rented = null;
                Span<byte> scratch = data.Length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(data.Length));
                try
                {
                    data.CopyTo(scratch);
                    int sum = 0;
                    foreach (var b in scratch.Slice(0, data.Length)) sum += b;
                    return sum;
                }
                finally
                {
                    if (rented is not null)
                    {
                        ArrayPool<byte>.Shared.Return(rented);
                    }
                }
            }

            public Page Take()
            {
                var page = _pool.AllocPage();
                page.Span.Clear();
                return page;
            }

            public bool TryTake(out Page page) => _pool.TryAllocPage(out page);

            private static void Process(Span<byte> bytes) => bytes.Clear();
        }
        """;

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    internal static CSharpCompilation Compile(CSharpCompilationOptions? options, params string[] sources)
    {
        var trees = sources
            .Concat(new[] { OwnershipVerifier.GlobalUsings, OwnershipVerifier.Pools })
            .Select((text, i) => CSharpSyntaxTree.ParseText(text, ParseOptions, path: $"/src/File{i}.cs"))
            .ToArray();
        var references = Basic.Reference.Assemblies.Net100.References.All
            .Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(PagePool.Page).Assembly.Location));
        return CSharpCompilation.Create(
            "Robustness",
            trees,
            references,
            options ?? new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
    }

    internal static async Task<(ImmutableArray<Diagnostic> Diagnostics, List<Exception> Exceptions)> AnalyzeAsync(Compilation compilation, OwnershipAnalyzer? analyzer = null)
    {
        var exceptions = new List<Exception>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            onAnalyzerException: (ex, _, _) => { lock (exceptions) { exceptions.Add(ex); } },
            concurrentAnalysis: false,
            logAnalyzerExecutionTime: false,
            reportSuppressedDiagnostics: false);
        var withAnalyzers = compilation.WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(analyzer ?? new OwnershipAnalyzer()), options);
        var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        return (diagnostics, exceptions);
    }

    [Fact]
    public async Task ReceiveLoopIsClean()
    {
        var compilation = Compile(null, ReceiveLoop);
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var options = compilation.Options.WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
        {
            ["PP1101"] = ReportDiagnostic.Warn,
            ["PP1102"] = ReportDiagnostic.Warn,
            ["PP1103"] = ReportDiagnostic.Warn,
        });
        var (diagnostics, exceptions) = await AnalyzeAsync(compilation.WithOptions(options));
        Assert.Empty(exceptions);
        Assert.Empty(diagnostics);
    }

    [Fact]
    public async Task LambdasInsideHandlersAreAnalyzed()
    {
        // A lambda's graph links its root region to the enclosing method's regions; walking past it once crashed.
        const string source = """
            public sealed class E
            {
                private readonly RxQueue _pool = new RxQueue();

                public void M(IDisposable resource, int n)
                {
                    for (int i = 0; i < n; i++) { if (i % 3 == 0) Sink.Work(); else if (i % 5 == 0) Sink.Work(); }
                    using var scope = resource;
                    Action leak = () => { var p = _pool.AllocPage(); try { Sink.Work(); } finally { Sink.Work(); } };
                    Action fine = () => { var p = _pool.AllocPage(); try { Sink.Work(); } finally { _pool.RecyclePage(p); } };
                    leak();
                    fine();
                }
            }
            """;
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        var (diagnostics, exceptions) = await AnalyzeAsync(Compile(null, source));
        Assert.Empty(exceptions);
        Assert.Equal(errorsBefore, OwnershipAnalyzer.InternalErrors);
        var leak = Assert.Single(diagnostics, d => d.Id == "PP1001");
        Assert.Equal(8, leak.Location.GetLineSpan().StartLinePosition.Line);

        // Both calls of the leaking lambda may throw while it holds its page (the finally recycles nothing).
        var throws = diagnostics.Where(d => d.Id == "PP1006").ToList();
        Assert.Equal(2, throws.Count);
        Assert.All(throws, d => Assert.Equal(8, d.Location.GetLineSpan().StartLinePosition.Line));
    }

    [Fact]
    public async Task LargeMethodsAreAnalyzedToTheEnd()
    {
        // Many pages, loops, try/finally and try/catch in one method: the fixpoint must converge well within its
        // budget (giving up would silently drop the leak at the end).
        var source = new StringBuilder("public sealed class Big\n{\n    private readonly RxQueue _pool = new RxQueue();\n    public void M(int n)\n    {\n");
        for (var i = 0; i < 60; i++)
        {
            source.Append($"        for (int i{i} = 0; i{i} < n; i{i}++) {{ var p{i} = _pool.AllocPage(); try {{ if (i{i} % 3 == 0) continue; Sink.Borrow(p{i}); }} catch (InvalidOperationException) {{ Sink.Work(); }} finally {{ _pool.RecyclePage(p{i}); }} }}\n");
        }

        source.Append("        var last = _pool.AllocPage();\n        Sink.Borrow(last);\n    }\n}\n");
        var (diagnostics, exceptions) = await AnalyzeAsync(Compile(null, source.ToString()));
        Assert.Empty(exceptions);
        var leak = Assert.Single(diagnostics, d => d.Id == "PP1001");
        Assert.Contains("'last'", leak.GetMessage());

        // Sink.Borrow(last) may throw while 'last' is held; every page of the loops is guarded by its finally.
        var thrown = Assert.Single(diagnostics, d => d.Id == "PP1006");
        Assert.Contains("'last'", thrown.GetMessage());
    }

    [Fact]
    public async Task ArrayPoolRulesAreOffByDefault()
    {
        const string source = """
            public sealed class D
            {
                public void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); ArrayPool<byte>.Shared.Return(a); a[0] = 1; }
                public void N() { ArrayPool<byte>.Shared.Rent(8); }
            }
            """;
        var compilation = Compile(null, source);
        var (off, _) = await AnalyzeAsync(compilation);
        Assert.Empty(off);

        var on = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
        {
            ["PP1101"] = ReportDiagnostic.Warn,
            ["PP1102"] = ReportDiagnostic.Warn,
            ["PP1103"] = ReportDiagnostic.Warn,
        }));
        var (diagnostics, _) = await AnalyzeAsync(on);
        Assert.Equal(new[] { "PP1101", "PP1102", "PP1103" }, diagnostics.Select(d => d.Id).OrderBy(id => id));
    }

    [Fact]
    public async Task MethodsWithoutPagesBuildNoGraph()
    {
        var source = new StringBuilder("public sealed class Plain {\n");
        for (var i = 0; i < 50; i++)
        {
            source.Append($"    public int M{i}(int a, int[] xs) {{ int s = 0; foreach (var x in xs) {{ if (x > a) s += x; else s -= {i}; }} try {{ return s; }} finally {{ a++; }} }}\n");
        }

        source.Append('}');
        var compilation = Compile(null, source.ToString());
        var before = OwnershipAnalyzer.GraphsBuilt;
        var (diagnostics, exceptions) = await AnalyzeAsync(compilation);
        Assert.Empty(exceptions);
        Assert.Empty(diagnostics);

        // The pools in the shared test source touch pages (their Recycle methods take [Owned] pages); nothing else may.
        var poolMethods = 11;
        Assert.InRange(OwnershipAnalyzer.GraphsBuilt - before, 0, poolMethods);
    }

    [Fact]
    public async Task TruncatedAndMutatedSourcesNeverThrow()
    {
        var originals = new List<string> { ReceiveLoop };
        foreach (var data in new[] { LeakTests.MustWarn, LeakTests.MustNotWarn, DoubleRecycleTests.MustWarn, OwnerContextTests.MustWarn, ArrayPoolTests.LeakMustNotWarn })
        {
            foreach (var row in data)
            {
                originals.Add(StripMarkup(OwnershipVerifier.InClass((string)row[1])));
            }
        }

        var variants = new List<string>();
        var random = new Random(1234);
        foreach (var original in originals)
        {
            var step = Math.Max(1, original.Length / (original == ReceiveLoop ? 60 : 3));
            for (var cut = step; cut < original.Length; cut += step)
            {
                variants.Add(original.Substring(0, cut));
            }

            var tokens = CSharpSyntaxTree.ParseText(original, ParseOptions).GetRoot().DescendantTokens().ToList();
            var deletions = original == ReceiveLoop ? 80 : 2;
            for (var k = 0; k < deletions && tokens.Count > 0; k++)
            {
                var token = tokens[random.Next(tokens.Count)];
                variants.Add(original.Remove(token.SpanStart, token.Span.Length));
            }
        }

        Assert.True(variants.Count >= 300, $"only {variants.Count} variants");
        var errorsBefore = OwnershipAnalyzer.InternalErrors;
        foreach (var variant in variants)
        {
            var compilation = Compile(null, variant).WithOptions(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary)
                .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic> { ["PP1101"] = ReportDiagnostic.Warn }));
            var (diagnostics, exceptions) = await AnalyzeAsync(compilation);
            Assert.True(exceptions.Count == 0, $"{exceptions.FirstOrDefault()}\n--- source ---\n{variant}");
            Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001");
            Assert.True(
                OwnershipAnalyzer.InternalErrors == errorsBefore,
                $"internal error: {OwnershipAnalyzer.LastInternalError}\n--- source ---\n{variant}");
        }
    }

    internal static string StripMarkup(string source)
    {
        var builder = new StringBuilder(source.Length);
        for (var i = 0; i < source.Length; i++)
        {
            if (source[i] == '{' && i + 1 < source.Length && source[i + 1] == '|')
            {
                var colon = source.IndexOf(':', i);
                i = colon;
                continue;
            }

            if (source[i] == '|' && i + 1 < source.Length && source[i + 1] == '}')
            {
                i++;
                continue;
            }

            builder.Append(source[i]);
        }

        return builder.ToString();
    }
}
