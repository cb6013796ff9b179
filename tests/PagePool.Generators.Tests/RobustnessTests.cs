using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace PagePool.Generators.Tests;

/// <summary>Half-typed and mangled code: the generator never throws and never reports a failure (CS8784/CS8785).</summary>
public sealed class RobustnessTests
{
    private static void AssertNoFailure(string source)
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(false, source);
        GeneratorDriver driver = GeneratorHarness.CreateDriver(trackSteps: false)
            .RunGeneratorsAndUpdateCompilation(compilation, out _, out ImmutableArray<Diagnostic> diagnostics);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        Assert.True(result.Exception is null, "generator threw on:\n" + source + "\n" + result.Exception);
        Assert.DoesNotContain(diagnostics, d => d.Id is "CS8784" or "CS8785");
    }

    public static IEnumerable<object[]> Truncations()
    {
        foreach (KeyValuePair<string, string> source in TestSources.Baselines)
        {
            yield return new object[] { source.Key };
        }
    }

    [Theory]
    [MemberData(nameof(Truncations))]
    public void Every_truncation_of_a_real_source_is_survived(string name)
    {
        string text = TestSources.Baselines[name];
        int step = Math.Max(1, text.Length / 60);
        for (int cut = 0; cut <= text.Length; cut += step)
        {
            AssertNoFailure(text.Substring(0, cut));
        }
    }

    [Theory]
    [MemberData(nameof(Truncations))]
    public void Deleting_any_token_of_a_real_source_is_survived(string name)
    {
        string text = TestSources.Baselines[name];
        SyntaxNode root = CSharpSyntaxTree.ParseText(text).GetRoot();
        SyntaxToken[] tokens = root.DescendantTokens().ToArray();
        foreach (SyntaxToken token in tokens)
        {
            AssertNoFailure(text.Remove(token.SpanStart, token.Span.Length));
        }
    }

    [Theory]
    [InlineData("[PagePool(4096, )] internal partial class C { }")]
    [InlineData("[PagePool(, 1024)] internal partial class C { }")]
    [InlineData("[PagePool(\"x\", 1)] internal partial class C { }")]
    [InlineData("[PagePool(4096)] internal partial class C { }")]
    [InlineData("[PagePool] internal partial class C { }")]
    [InlineData("[PagePool()] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024, 7)] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024, Nope = 3)] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024, CacheSize = )] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024, CacheSize = \"big\")] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024, Fragments = 1)] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024, Memory = 1)] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024, LeakTracking = PageLeakTracking.Nope)] internal partial class C { }")]
    [InlineData("[PagePool(4096L, 1024)] internal partial class C { }")]
    [InlineData("[PagePool(4096.0, 1024)] internal partial class C { }")]
    [InlineData("[PagePool(null, 1024)] internal partial class C { }")]
    [InlineData("[PagePool(int.MaxValue, int.MinValue)] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024)] internal partial class { }")]
    [InlineData("[PagePool(4096, 1024)] internal partial class")]
    [InlineData("[PagePool(4096, 1024)] partial")]
    [InlineData("[PagePool(4096, 1024)]")]
    [InlineData("[PagePool(4096, 1024) internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024)] internal partial class C<> { }")]
    [InlineData("[PagePool(4096, 1024)] internal partial class C { public void AllocPage( }")]
    [InlineData("[PagePool(x, y)] internal partial class C { }")]
    [InlineData("[PagePool(4096, 1024)] internal partial enum E { }")]
    [InlineData("[PagePool(4096, 1024)] internal partial delegate void D();")]
    [InlineData("[PagePool(4096, 1024)] internal partial interface I { }")]
    [InlineData("class Outer { [PagePool(4096, 1024)] internal partial class C { } ")]
    [InlineData("partial class Outer { void M() { [PagePool(4096, 1024)] partial class C { } } }")]
    public void Garbage_attribute_use_generates_nothing(string declaration)
    {
        string source = "using PagePool;\nnamespace N;\n" + declaration;
        AssertNoFailure(source);
        var (result, _, _) = GeneratorHarness.Run(false, source);
        Assert.Empty(result.GeneratedSources);
    }

    // A valid attribute on a class with a half-typed hook: the pool is generated and the compiler reports the hook.
    [Theory]
    [InlineData("[PagePool(4096, 1024)] internal partial class C { partial void OnPageCreated(Page); }")]
    [InlineData("[PagePool(4096, 1024)] internal partial class C { partial void OnPageCreated(Pag page) { } }")]
    [InlineData("[PagePool(4096, 1024)] internal partial class C { partial void OnPageReleased( }")]
    public void Half_typed_hooks_are_survived(string declaration) => AssertNoFailure("using PagePool;\nnamespace N;\n" + declaration);

    [Fact]
    public void Random_mutations_of_real_sources_are_survived()
    {
        // Deterministic pseudo-random edits: swap, duplicate and delete spans, insert stray punctuation.
        var random = new Random(20261125);
        string[] junk = { "(", ")", ",", "=", "[", "]", "{", "}", "\"", "partial ", "class ", "@", "<T>", "0", "-1", "PagePool(", ";" };
        string[] sources = TestSources.Baselines.Values.ToArray();
        for (int i = 0; i < 200; i++)
        {
            string text = sources[i % sources.Length];
            int edits = 1 + random.Next(3);
            for (int e = 0; e < edits && text.Length > 0; e++)
            {
                int at = random.Next(text.Length);
                switch (random.Next(3))
                {
                    case 0:
                        text = text.Remove(at, Math.Min(text.Length - at, 1 + random.Next(12)));
                        break;
                    case 1:
                        text = text.Insert(at, junk[random.Next(junk.Length)]);
                        break;
                    default:
                        int length = Math.Min(text.Length - at, 1 + random.Next(20));
                        text = text.Insert(random.Next(text.Length), text.Substring(at, length));
                        break;
                }
            }
            AssertNoFailure(text);
        }
    }
}
