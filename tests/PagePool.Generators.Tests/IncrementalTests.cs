using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace PagePool.Generators.Tests;

/// <summary>The pipeline's named steps cache across unrelated edits and re-run on attribute edits.</summary>
public sealed class IncrementalTests
{
    private static readonly string[] s_steps =
    {
        PagePoolGenerator.StepNames.Models,
        PagePoolGenerator.StepNames.ValidModels,
        PagePoolGenerator.StepNames.AllModels,
    };

    private const string PoolSource = """
        using PagePool;

        namespace MyApp;

        [PagePool(4096, 1024)]
        internal sealed partial class RxQueue
        {
            public int Poll() => 1;
        }
        """;

    private const string OtherSource = """
        namespace MyApp;

        internal static class Helpers
        {
            public static int Twice(int x) => x * 2;
        }
        """;

    private static (GeneratorDriver Driver, CSharpCompilation Compilation) FirstRun()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(false, PoolSource, OtherSource);
        GeneratorDriver driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        GeneratorRunResult first = driver.GetRunResult().Results.Single();
        Assert.Single(first.GeneratedSources);
        foreach (string step in s_steps)
        {
            Assert.True(first.TrackedSteps.ContainsKey(step), "step " + step + " is not tracked");
        }
        return (driver, compilation);
    }

    private static GeneratorRunResult Rerun(GeneratorDriver driver, CSharpCompilation compilation, int tree, string newText)
    {
        SyntaxTree old = compilation.SyntaxTrees.ElementAt(tree);
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(old, CSharpSyntaxTree.ParseText(newText, (CSharpParseOptions)old.Options, old.FilePath));
        return driver.RunGenerators(edited).GetRunResult().Results.Single();
    }

    private static List<IncrementalStepRunReason> Reasons(GeneratorRunResult result, string step) =>
        result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result)
    {
        foreach (string step in s_steps)
        {
            List<IncrementalStepRunReason> reasons = Reasons(result, step);
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, step + ": " + r));
        }
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, "output: " + o.Reason));
    }

    [Fact]
    public void Adding_an_unrelated_class_leaves_every_step_cached()
    {
        var (driver, compilation) = FirstRun();
        GeneratorRunResult second = Rerun(driver, compilation, 1, OtherSource + "\ninternal sealed class Unrelated { }\n");
        AssertAllCachedOrUnchanged(second);
    }

    [Fact]
    public void Editing_a_method_body_in_the_pool_class_leaves_every_step_unchanged()
    {
        var (driver, compilation) = FirstRun();
        GeneratorRunResult second = Rerun(driver, compilation, 0, PoolSource.Replace("=> 1;", "=> 2 + 40;"));
        AssertAllCachedOrUnchanged(second);
    }

    [Fact]
    public void Editing_the_attribute_arguments_modifies_every_step()
    {
        var (driver, compilation) = FirstRun();
        GeneratorRunResult second = Rerun(driver, compilation, 0, PoolSource.Replace("[PagePool(4096, 1024)]", "[PagePool(4096, 512, CacheSize = 64)]"));
        foreach (string step in s_steps)
        {
            Assert.Contains(IncrementalStepRunReason.Modified, Reasons(second, step));
        }
        Assert.Contains("public const int PoolSize = 512;", second.GeneratedSources.Single().SourceText.ToString());
    }

    [Fact]
    public void Model_records_compare_by_value()
    {
        PagePoolGenerator.Parser.IsCandidate(CSharpSyntaxTree.ParseText("class C { }").GetRoot().DescendantNodes().First());
        var (driver1, _) = FirstRun();
        var (driver2, _) = FirstRun();
        object model1 = driver1.GetRunResult().Results.Single().TrackedSteps[PagePoolGenerator.StepNames.ValidModels].Single().Outputs.Single().Value;
        object model2 = driver2.GetRunResult().Results.Single().TrackedSteps[PagePoolGenerator.StepNames.ValidModels].Single().Outputs.Single().Value;
        Assert.NotSame(model1, model2);
        Assert.Equal(model1, model2);
    }
}
