using System;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace PagePool.Analyzers.Tests.Docs;

/// <summary>
/// A diagnostic must not send the user to a page that does not exist, and what it does carry (id and title) must
/// find its page in docs/diagnostics on its own.
/// </summary>
public sealed class DiagnosticLinkTests
{
    public static TheoryData<string> Ids()
    {
        var data = new TheoryData<string>();
        foreach (var descriptor in Descriptors())
        {
            data.Add(descriptor.Id);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void No_help_link_to_a_page_that_does_not_exist(string id)
    {
        var descriptor = Descriptors().First(d => d.Id == id);

        // The project has no public web address yet: any absolute link would be a guess. A link may come back as
        // a file path to the page itself, which this test can check.
        if (descriptor.HelpLinkUri.Length > 0)
        {
            Assert.True(
                Uri.TryCreate(descriptor.HelpLinkUri, UriKind.Absolute, out var uri) && uri.IsFile && File.Exists(uri.LocalPath),
                $"{id} links to {descriptor.HelpLinkUri}, which is not a page that exists");
        }
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void The_id_and_title_find_the_page(string id)
    {
        var descriptor = Descriptors().First(d => d.Id == id);
        var path = Path.Combine(DiagnosticPageExamples.DocsDirectory, id + ".md");
        Assert.True(File.Exists(path), $"{id} has no page docs/diagnostics/{id}.md");
        var heading = File.ReadLines(path).First().Replace("`", "", StringComparison.Ordinal);
        var title = descriptor.Title.ToString();
        Assert.StartsWith($"# {id}: {title}", heading, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(descriptor.Description.ToString()), id + " has no description");
    }

    [Fact]
    public void Every_page_belongs_to_a_diagnostic()
    {
        var ids = Descriptors().Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var page in DiagnosticPageExamples.Pages())
        {
            Assert.Contains(page, ids);
        }
    }

    /// <summary>Every descriptor of every analyzer in the analyzers assembly, so a rule added later is covered.</summary>
    private static DiagnosticDescriptor[] Descriptors() =>
        typeof(PagePool.Analyzers.Ownership.OwnershipAnalyzer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t)
                && t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null
                && t.GetConstructor(Type.EmptyTypes) is not null)
            .SelectMany(t => ((DiagnosticAnalyzer)Activator.CreateInstance(t)!).SupportedDiagnostics)
            .GroupBy(d => d.Id)
            .Select(g => g.First())
            .OrderBy(d => d.Id, StringComparer.Ordinal)
            .ToArray();
}
