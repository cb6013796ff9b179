using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using PagePool.Analyzers.Attribute;

namespace PagePool.Analyzers.Tests.Attribute;

public sealed class DescriptorTests
{
    private static readonly string RepositoryRoot = FindRoot();

    [Fact]
    public void Every_attribute_diagnostic_is_a_usage_error_with_a_page()
    {
        var descriptors = new PagePoolAttributeAnalyzer().SupportedDiagnostics;
        Assert.Equal(new[] { "PP0001", "PP0002", "PP0003", "PP0004", "PP0005", "PP0006" }, descriptors.Select(d => d.Id));
        foreach (DiagnosticDescriptor descriptor in descriptors)
        {
            Assert.Equal("Usage", descriptor.Category);
            Assert.Equal(DiagnosticSeverity.Error, descriptor.DefaultSeverity);
            Assert.True(descriptor.IsEnabledByDefault);
            Assert.True(File.Exists(Path.Combine(RepositoryRoot, "docs", "diagnostics", descriptor.Id + ".md")), descriptor.Id + " has no page");
        }
    }

    [Fact]
    public void Every_released_id_has_a_page_and_an_index_entry()
    {
        string releases = File.ReadAllText(Path.Combine(RepositoryRoot, "PagePool.Analyzers", "AnalyzerReleases.Unshipped.md"));
        string index = File.ReadAllText(Path.Combine(RepositoryRoot, "docs", "diagnostics", "README.md"));
        var ids = Regex.Matches(releases, @"^(PP\d{4}) \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(15, ids.Length);
        foreach (string id in ids)
        {
            Assert.True(File.Exists(Path.Combine(RepositoryRoot, "docs", "diagnostics", id + ".md")), id + " has no page");
            Assert.Contains("[" + id + "](" + id + ".md)", index, StringComparison.Ordinal);
        }
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PagePool.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("PagePool.sln not found above " + AppContext.BaseDirectory);
    }
}
