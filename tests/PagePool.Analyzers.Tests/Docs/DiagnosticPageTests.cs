using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Docs.DiagnosticPageExamples;

namespace PagePool.Analyzers.Tests.Docs;

/// <summary>
/// Every "Wrong" and "Right" example of <c>docs/diagnostics/*.md</c> compiles, "Wrong" gets its page's diagnostic on
/// the lines it marks, and "Right" gets none: a page can never promise what the analyzers do not do.
/// </summary>
public sealed class DiagnosticPageTests
{
    /// <summary>
    /// Examples that document behaviour the analysis does not have yet: each has a skipped test below, by name, so
    /// the gap stays visible; the theory leaves them out.
    /// </summary>
    private static readonly HashSet<string> Awaiting = new(StringComparer.Ordinal)
    {
    };

    public static TheoryData<string, string, int> Examples()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var page in Pages())
        {
            foreach (var example in Read(page))
            {
                if (!Awaiting.Contains(example.ToString()))
                {
                    data.Add(example.Page, example.Kind, example.Index);
                }
            }
        }

        return data;
    }

    [Fact]
    public void Every_page_has_a_wrong_and_a_right_example()
    {
        var pages = Pages().ToList();
        Assert.NotEmpty(pages);
        foreach (var page in pages)
        {
            var examples = Read(page);
            Assert.True(examples.Any(e => e.Kind == "Wrong"), page + ".md has no csharp block under a '## Wrong' heading");
            Assert.True(examples.Any(e => e.Kind == "Right"), page + ".md has no csharp block under a '## Right' heading");
        }
    }

    [Fact]
    public void The_reader_finds_every_fenced_block_under_wrong_and_right()
    {
        // PP1003.md's page has exactly one of each today; a reader that missed fences would pass the other tests.
        var examples = Read("PP1003");
        Assert.Equal(new[] { "Wrong", "Right" }, examples.Select(e => e.Kind));
        Assert.Contains("RecyclePage(page);", examples[0].Code, StringComparison.Ordinal);
        Assert.DoesNotContain("```", examples[0].Code, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_compiler_reports_lines_in_the_examples_own_numbering()
    {
        // Statements go into a method of the context class; the leak is on the example's line 2.
        var statements = await CompileAsync(new DocExample("PP1101", "Wrong", 1, "Log(default);\nvar a = ArrayPool<byte>.Shared.Rent(8);\nFill(a);\n", 1));
        Assert.Empty(statements.Errors);
        Assert.Equal(new[] { ("PP1101", 2) }, statements.Diagnostics.Select(d => (d.Id, d.Line)));

        // Declarations stand alone (no context class: RxQueue here is the example's own).
        var declarations = await CompileAsync(new DocExample("PP0001", "Wrong", 1, "\n[PagePool(4096, 1024)]\nsealed class RxQueue { }\n", 1));
        Assert.Empty(declarations.Errors);
        Assert.Equal(new[] { ("PP0001", 3) }, declarations.Diagnostics.Select(d => (d.Id, d.Line)));

        // A name the context does not give is a compile error, not a silent pass.
        var broken = await CompileAsync(new DocExample("PP1101", "Right", 1, "Undefined();\n", 1));
        Assert.Contains(broken.Errors, e => e.Contains("CS0103", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public Task Example_is_true(string page, string kind, int index) => Check(page, kind, index);

    internal static async Task Check(string page, string kind, int index)
    {
        var example = Read(page).Single(e => e.Kind == kind && e.Index == index);
        var outcome = await CompileAsync(example);
        var where = $"{example} (docs/diagnostics/{page}.md line {example.Line})";
        Assert.True(outcome.Errors.Count == 0, where + " does not compile:\n" + string.Join("\n", outcome.Errors));

        var own = outcome.Diagnostics.Where(d => d.Id == page).ToList();
        var shown = string.Join("\n", outcome.Diagnostics.Select(d => $"  {d.Id} line {d.Line}: {d.Message}"));
        if (kind == "Right")
        {
            Assert.True(own.Count == 0, where + " must not give " + page + ", but gives:\n" + shown);
            return;
        }

        Assert.True(own.Count > 0, where + " must give " + page + ", but gives " + (shown.Length == 0 ? "nothing" : ":\n" + shown));
        var marked = MarkedLines(example.Code, page);
        if (marked.Count > 0)
        {
            Assert.True(
                marked.SequenceEqual(own.Select(d => d.Line).Distinct().OrderBy(l => l)),
                $"{where} marks {page} on lines {string.Join(", ", marked)} but it is reported on:\n{shown}");
        }
    }
}
