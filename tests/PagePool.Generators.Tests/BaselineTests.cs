using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace PagePool.Generators.Tests;

/// <summary>
/// The generator's output against approved files in Baselines/, line by line. Set PAGEPOOL_UPDATE_BASELINES=1 to
/// rewrite them (then review the diff); otherwise a difference fails the test.
/// </summary>
public sealed class BaselineTests
{
    private static bool Update => Environment.GetEnvironmentVariable("PAGEPOOL_UPDATE_BASELINES") == "1";

    private static string BaselineDirectory => Path.Combine(GeneratorHarness.ProjectDirectory(), "Baselines");

    [Theory]
    [MemberData(nameof(TestSources.BaselineNames), MemberType = typeof(TestSources))]
    public void Output_matches_the_approved_baseline(string name)
    {
        var (result, _, diagnostics) = GeneratorHarness.Run(debug: false, TestSources.Baselines[name]);
        Assert.Null(result.Exception);
        Assert.Empty(diagnostics);
        Assert.NotEmpty(result.GeneratedSources);

        List<string> expectedFiles = Directory.Exists(BaselineDirectory)
            ? Directory.GetFiles(BaselineDirectory, name + ".*.g.cs").Select(Path.GetFileName).OfType<string>().OrderBy(f => f, StringComparer.Ordinal).ToList()
            : new List<string>();
        List<string> actualFiles = result.GeneratedSources.Select(s => name + "." + s.HintName).OrderBy(f => f, StringComparer.Ordinal).ToList();

        if (Update)
        {
            Directory.CreateDirectory(BaselineDirectory);
            foreach (string stale in expectedFiles.Except(actualFiles))
            {
                File.Delete(Path.Combine(BaselineDirectory, stale));
            }
            foreach (GeneratedSourceResult source in result.GeneratedSources)
            {
                File.WriteAllText(Path.Combine(BaselineDirectory, name + "." + source.HintName), source.SourceText.ToString());
            }
            return;
        }

        Assert.Equal(expectedFiles, actualFiles);
        foreach (GeneratedSourceResult source in result.GeneratedSources)
        {
            string[] expected = SplitLines(File.ReadAllText(Path.Combine(BaselineDirectory, name + "." + source.HintName)));
            string[] actual = SplitLines(source.SourceText.ToString());
            for (int i = 0; i < Math.Min(expected.Length, actual.Length); i++)
            {
                if (expected[i] != actual[i])
                {
                    Assert.Fail($"{name}.{source.HintName} line {i + 1} differs (PAGEPOOL_UPDATE_BASELINES=1 rewrites the baselines).\nexpected: {expected[i]}\nactual:   {actual[i]}");
                }
            }
            Assert.True(expected.Length == actual.Length,
                $"{name}.{source.HintName}: {actual.Length} lines generated, {expected.Length} approved (PAGEPOOL_UPDATE_BASELINES=1 rewrites the baselines).");
        }
    }

    [Theory]
    [MemberData(nameof(TestSources.BaselineNames), MemberType = typeof(TestSources))]
    public void Baseline_input_compiles_without_diagnostics_in_release_and_debug(string name)
    {
        foreach (bool debug in new[] { false, true })
        {
            var (result, output, diagnostics) = GeneratorHarness.Run(debug, TestSources.Baselines[name]);
            Assert.Null(result.Exception);
            Assert.Empty(diagnostics);
            IReadOnlyList<Diagnostic> visible = GeneratorHarness.VisibleDiagnostics(output);
            Assert.True(visible.Count == 0, $"{name} (DEBUG={debug}):\n{GeneratorHarness.Format(visible)}");
        }
    }

    [Fact]
    public void Output_is_deterministic()
    {
        foreach (string source in TestSources.Baselines.Values)
        {
            var first = GeneratorHarness.Run(false, source).Result.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())).ToList();
            var second = GeneratorHarness.Run(false, source).Result.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())).ToList();
            Assert.Equal(first, second);
        }
    }

    private static string[] SplitLines(string text) => text.Replace("\r\n", "\n").Split('\n');
}
