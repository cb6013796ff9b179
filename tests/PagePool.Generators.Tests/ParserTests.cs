using System.Linq;
using Microsoft.CodeAnalysis;

namespace PagePool.Generators.Tests;

/// <summary>What the generator serves and what it leaves to the analyzer (no output, no crash).</summary>
public sealed class ParserTests
{
    private static GeneratorRunResult Run(string source)
    {
        var (result, _, diagnostics) = GeneratorHarness.Run(false, source);
        Assert.Null(result.Exception);
        Assert.Empty(diagnostics);
        return result;
    }

    [Theory]
    [InlineData("[PagePool(4096, 1024)] internal sealed class NotPartial { }")]
    [InlineData("internal class Outer { [PagePool(4096, 1024)] internal partial class Inner { } }")]
    [InlineData("[PagePool(4096, 1024)] internal static partial class StaticPool { }")]
    [InlineData("[PagePool(4096, 1024)] internal partial class GenericPool<T> { }")]
    [InlineData("internal partial class Outer<T> { [PagePool(4096, 1024)] internal partial class Inner { } }")]
    [InlineData("[PagePool(4096, 1024)] file partial class FileLocal { }")]
    [InlineData("[PagePool(1000, 1024)] internal partial class NotPowerOfTwo { }")]
    [InlineData("[PagePool(128, 1024)] internal partial class TooSmall { }")]
    [InlineData("[PagePool(4 * 1024 * 1024, 1024)] internal partial class TooLarge { }")]
    [InlineData("[PagePool(4096, 0)] internal partial class NoPages { }")]
    [InlineData("[PagePool(4096, 2000000)] internal partial class TooManyPages { }")]
    [InlineData("[PagePool(4096, 64, Headroom = 4096)] internal partial class HeadroomTooBig { }")]
    [InlineData("[PagePool(4096, 64, CacheSize = 8, RefillBatch = 16)] internal partial class BatchOverCache { }")]
    [InlineData("[PagePool(4096, 64, CacheSize = 0)] internal partial class NoCache { }")]
    [InlineData("[PagePool(4096, 64, MaxLength = 5000)] internal partial class MaxLengthTooBig { }")]
    [InlineData("[PagePool(4096, 64, Memory = (PageMemoryKind)9)] internal partial class BadMemory { }")]
    [InlineData("[PagePool(4096, 64, LeakTracking = (PageLeakTracking)(-1))] internal partial class BadTracking { }")]
    [InlineData("[PagePool(4096, 64)] internal partial class HasAllocPage { public Page AllocPage() => default; }")]
    [InlineData("[PagePool(4096, 64)] internal partial class HasPageSize { public const int PageSize = 1; }")]
    [InlineData("[PagePool(4096, 64)] internal partial class HasPrefix { private int __pp_core; }")]
    [InlineData("[PagePool(4096, 64)] internal partial class HasNested { private class RecyclePages { } }")]
    [InlineData("[PagePool(4096, 64)] internal partial class HasHookNotPartial { private void OnPageCreated(Page page) { } }")]
    [InlineData("[PagePool(4096, 64, Fragments = true)] internal partial class HasFragment { public Page AllocFragment(int size) => default; }")]
    [InlineData("[PagePool(4096, 64, LeakTracking = PageLeakTracking.All)] internal partial class HasLeaks { public void GetPageLeaks() { } }")]
    [InlineData("[PagePool(4096, 64)] internal partial class PageSize { }")]
    [InlineData("[PagePool(4096, 64)] internal partial struct NotAClass { }")]
    [InlineData("[PagePool(4096, 64)][PagePool(4096, 64)] internal partial class Twice { }")]
    [InlineData("[PagePool(4096, 64)] internal partial class TwoParts { } [PagePool(4096, 64)] internal partial class TwoParts { }")]
    public void Unsupported_or_invalid_use_generates_nothing(string declaration)
    {
        GeneratorRunResult result = Run("using PagePool;\nnamespace N;\n" + declaration);
        Assert.Empty(result.GeneratedSources);
    }

    [Theory]
    [InlineData("[PagePool(4096, 64, Fragments = false)] internal partial class NoFragments { public Page AllocFragment(int size) => default; }")]
    [InlineData("[PagePool(4096, 64)] internal partial class LeaksOff { public void GetPageLeaks() { } }")]
    [InlineData("[PagePool(4096, 64)] internal partial class Hooks { partial void OnPageCreated(Page page) { } partial void OnPageReleased(Page page) { } }")]
    [InlineData("[PagePool(256, 1)] internal partial class Smallest { }")]
    [InlineData("[PagePool(2 * 1024 * 1024, 1048576, CacheSize = 4096, RefillBatch = 4096)] internal partial class Largest { }")]
    [InlineData("[PagePool(pageSize: 4096, poolSize: 64, Headroom = 4095, MaxLength = 1)] internal partial class Edges { }")]
    [InlineData("[PagePoolAttribute(4096, 64)] internal sealed partial record RecordPool { }")]
    [InlineData("[PagePool(4096, 64)] internal abstract partial class AbstractPool { }")]
    [InlineData("internal partial interface IHost { [PagePool(4096, 64)] internal partial class InInterface { } }")]
    [InlineData("internal ref partial struct RefHost { [PagePool(4096, 64)] internal partial class InRefStruct { } }")]
    [InlineData("[PagePool(4096, 64)] internal partial class @class { }")]
    [InlineData("[PagePool(4096, 64, CacheSize = 32, RefillBatch = 16)] internal partial class HasCacheSize { private readonly int CacheSize = 7; public int Cache => CacheSize; }")]
    [InlineData("[PagePool(4096, 64, Headroom = 128)] internal partial class HasExtras { public string Headroom => \"h\"; public void MaxLength() { } private class RefillBatch { } }")]
    [InlineData("[PagePool(4096, 64)] internal partial class RefillBatch { }")]
    [InlineData("internal readonly partial struct ReadOnlyHost { [PagePool(4096, 64)] internal partial class InReadOnly { } }")]
    [InlineData("internal readonly ref partial struct ReadOnlyRefHost { [PagePool(4096, 64)] internal partial class InReadOnlyRef { } }")]
    [InlineData("internal abstract partial class AbstractHost { [PagePool(4096, 64)] protected sealed partial class InAbstract { } }")]
    [InlineData("internal sealed partial record RecordHost(int X) { [PagePool(4096, 64)] private sealed partial class InRecord { } }")]
    [InlineData("internal partial class A { internal partial class B { internal partial class C { [PagePool(4096, 64)] internal partial class Deep { } } } }")]
    [InlineData("[PagePool(4096, 64)] internal partial record PositionalPool(int Queue) { }")]
    [InlineData("[PagePool(4096, 64)] internal partial class WithCtor { public WithCtor(int x) { X = x; } public int X { get; } }")]
    public void Supported_use_generates_code_that_compiles(string declaration)
    {
        string source = "using PagePool;\nnamespace N;\n" + declaration;
        GeneratorRunResult result = Run(source);
        Assert.Single(result.GeneratedSources);
        foreach (bool debug in new[] { false, true })
        {
            var (_, output, _) = GeneratorHarness.Run(debug, source);
            var visible = GeneratorHarness.VisibleDiagnostics(output);
            Assert.True(visible.Count == 0, GeneratorHarness.Format(visible));
        }
    }

    [Fact]
    public void Fragment_and_leak_members_appear_only_when_enabled()
    {
        string plain = Run("using PagePool;\n[PagePool(4096, 64)] internal partial class P { }").GeneratedSources.Single().SourceText.ToString();
        Assert.DoesNotContain("AllocFragment", plain);
        Assert.DoesNotContain("__pp_fragment", plain);
        Assert.DoesNotContain("GetPageLeaks", plain);
        Assert.DoesNotContain("GetLeaks", plain);
        // Without leak tracking or ClearOnRecycle the per-page hooks run only under DEBUG (poisoning).
        AssertOnlyUnderDebug(plain, "__pp_core.OnAllocated(");
        AssertOnlyUnderDebug(plain, "__pp_core.OnRecycled(");
        AssertOnlyUnderDebug(plain, "__pp_core.EnterOwnerScope(");
        Assert.DoesNotContain("clearOnRecycle: true", plain);

        string all = Run("using PagePool;\n[PagePool(4096, 64, Fragments = true, LeakTracking = PageLeakTracking.All)] internal partial class P { }")
            .GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("public __pp_Page AllocFragment(int size)", all);
        Assert.Contains("__pp_fragment", all);
        Assert.Contains("GetPageLeaks(__pp_TimeSpan minAge)", all);
    }

    [Theory]
    [InlineData("partial void OnPageReleased(Page page);", "CS0756")]
    [InlineData("partial void OnPageCreated(int id) { }", "CS0759")]
    [InlineData("private partial void OnPageCreated(Page page) { }", "CS8799")]
    public void A_mismatched_hook_is_left_to_the_compiler_with_a_precise_error(string hook, string error)
    {
        string source = "using PagePool;\nnamespace N;\n[PagePool(4096, 64)] internal partial class Hooked { " + hook + " }";
        var (result, output, _) = GeneratorHarness.Run(false, source);
        Assert.Single(result.GeneratedSources);
        Assert.Contains(output.GetDiagnostics(), d => d.Id == error);
    }

    [Fact]
    public void Optional_constants_the_class_already_declares_are_left_out()
    {
        string text = Run("using PagePool;\n[PagePool(4096, 64, CacheSize = 32, RefillBatch = 8, Headroom = 16)] internal partial class P { private int CacheSize; private int Headroom() => 0; }")
            .GeneratedSources.Single().SourceText.ToString();
        Assert.DoesNotContain("public const int CacheSize", text);
        Assert.DoesNotContain("public const int Headroom", text);
        Assert.Contains("public const int RefillBatch = 8;", text);
        Assert.Contains("public const int MaxLength = 4080;", text);
        Assert.Contains("private const int __pp_CacheSize = 32;", text);
        Assert.Contains("headroom: 16, maxLength: 4080", text);
        Assert.Contains("public __pp_Page AllocPage()", text);
    }

    private static void AssertOnlyUnderDebug(string text, string call)
    {
        string[] lines = text.Split('\n');
        int seen = 0;
        bool inDebug = false;
        foreach (string line in lines)
        {
            string trimmed = line.Trim();
            if (trimmed == "#if DEBUG")
            {
                inDebug = true;
            }
            else if (trimmed is "#else" or "#endif")
            {
                inDebug = false;
            }
            else if (trimmed.Contains(call))
            {
                seen++;
                Assert.True(inDebug, call + " outside #if DEBUG: " + trimmed);
            }
        }
        Assert.True(seen > 0, call + " never emitted");
    }

    [Fact]
    public void Clear_and_leak_hooks_run_in_every_build_when_enabled()
    {
        string clear = Run("using PagePool;\n[PagePool(4096, 64, ClearOnRecycle = true)] internal partial class P { }").GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("clearOnRecycle: true", clear);
        Assert.Contains("\n        __pp_core.OnRecycled(id);", clear);
        AssertOnlyUnderDebug(clear, "__pp_core.OnAllocated(");

        string leaks = Run("using PagePool;\n[PagePool(4096, 64, LeakTracking = PageLeakTracking.Sampled)] internal partial class P { }").GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("\n                __pp_core.OnAllocated(id);", leaks);
        Assert.Contains("\n        __pp_core.OnRecycled(id);", leaks);
    }

    [Fact]
    public void Same_class_name_in_two_namespaces_and_names_differing_in_case_get_distinct_files()
    {
        string source = """
            using PagePool;
            namespace A { [PagePool(4096, 64)] internal partial class RxQueue { } }
            namespace B { [PagePool(4096, 64)] internal partial class RxQueue { } }
            namespace A { [PagePool(4096, 64)] internal partial class rxqueue { } }
            [PagePool(4096, 64)] internal partial class RxQueue { }
            internal partial class A2 { [PagePool(4096, 64)] internal partial class B { } }
            """;
        GeneratorRunResult result = Run(source);
        Assert.Equal(5, result.GeneratedSources.Length);
        Assert.Equal(5, result.GeneratedSources.Select(s => s.HintName.ToUpperInvariant()).Distinct().Count());
        var (_, output, _) = GeneratorHarness.Run(false, source);
        var visible = GeneratorHarness.VisibleDiagnostics(output);
        Assert.True(visible.Count == 0, GeneratorHarness.Format(visible));
    }

    [Fact]
    public void Pool_name_is_the_full_type_name()
    {
        string text = Run("using PagePool;\nnamespace My.App { internal partial class Outer { [PagePool(4096, 64)] internal partial class Rx { } } }")
            .GeneratedSources.Single().SourceText.ToString();
        Assert.Contains("\"My.App.Outer.Rx\", PageSize, PoolSize", text);
    }
}
