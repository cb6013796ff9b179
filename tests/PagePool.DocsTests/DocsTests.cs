using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace PagePool.DocsTests;

/// <summary>The README and the architecture notes may promise only what the code does.</summary>
public sealed partial class DocsTests
{
    /// <summary>The pages whose code is checked. Diagnostics pages are checked by the analyzer tests.</summary>
    private static readonly string[] s_pages = { "README.md", "docs/architecture.md" };

    public static TheoryData<CodeBlock> CSharpBlocks()
    {
        var data = new TheoryData<CodeBlock>();
        foreach (string page in s_pages)
        {
            foreach (CodeBlock block in Markdown.Blocks(page).Where(b => b.Language is "csharp" or "cs" or "c#"))
            {
                data.Add(block);
            }
        }
        return data;
    }

    [Fact]
    public void EveryPageExistsAndShowsCode()
    {
        foreach (string page in s_pages)
        {
            Assert.True(File.Exists(Path.Combine(Markdown.Root, page)), $"{page} is missing");
        }
        Assert.Contains(Markdown.Blocks("README.md"), b => b.Language == "csharp");
    }

    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public void CSharpBlockCompilesAsDocumented(CodeBlock block)
    {
        var (_, diagnostics) = SnippetCompiler.Compile(block.Code);
        if (block.Expect is null)
        {
            Assert.True(diagnostics.Count == 0,
                $"{block}: the example must compile clean with the generator and analyzers on:{Environment.NewLine}{SnippetCompiler.Format(diagnostics)}");
            return;
        }

        Assert.True(diagnostics.Any(d => d.Id == block.Expect),
            $"{block}: the example promises {block.Expect}, the analyzers gave:{Environment.NewLine}{SnippetCompiler.Format(diagnostics)}");
        var others = diagnostics.Where(d => d.Id != block.Expect).ToList();
        Assert.True(others.Count == 0, $"{block}: only {block.Expect} was promised:{Environment.NewLine}{SnippetCompiler.Format(others)}");
    }

    /// <summary>Every name in the README's API table is a member of a generated pool or a public runtime name.</summary>
    [Fact]
    public void EveryDocumentedMemberExists()
    {
        HashSet<string> known = KnownNames();
        string section = Markdown.Section("README.md", "API at a glance");
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        int checkedNames = 0;
        foreach (Match span in CodeSpan().Matches(section))
        {
            if (span.Groups[1].Value.StartsWith("System.", StringComparison.Ordinal))
            {
                continue; // a namespace
            }
            foreach (Match name in PascalName().Matches(span.Groups[1].Value))
            {
                checkedNames++;
                string id = name.Value;
                if (!known.Contains(id) && !known.Contains(id + "Attribute"))
                {
                    missing.Add(id);
                }
            }
        }
        Assert.True(checkedNames > 20, $"the API section names only {checkedNames} members: has it moved?");
        Assert.True(missing.Count == 0, "README's API section names what does not exist: " + string.Join(", ", missing));
    }

    /// <summary>Every repository path the pages name (a file or folder in backticks) exists.</summary>
    [Fact]
    public void EveryNamedPathExists()
    {
        var missing = new List<string>();
        foreach (string page in s_pages)
        {
            string text = Markdown.Read(page);
            foreach (Match span in CodeSpan().Matches(text))
            {
                string value = span.Groups[1].Value;
                if (!RepoPath().IsMatch(value))
                {
                    continue;
                }
                string full = Path.Combine(Markdown.Root, value.TrimEnd('/'));
                if (!File.Exists(full) && !Directory.Exists(full))
                {
                    missing.Add($"{page}: `{value}`");
                }
            }
            foreach (Match link in MarkdownLink().Matches(text))
            {
                string target = link.Groups[1].Value.Split('#')[0];
                if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal))
                {
                    continue;
                }
                string full = Path.Combine(Markdown.Root, Path.GetDirectoryName(page)!, target);
                if (!File.Exists(full) && !Directory.Exists(full))
                {
                    missing.Add($"{page}: link ({target})");
                }
            }
        }
        Assert.True(missing.Count == 0, "named but missing: " + string.Join("; ", missing));
    }

    /// <summary>The generated pool's members (every feature on), the runtime's public names, and the BCL types the API uses.</summary>
    private static HashSet<string> KnownNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var (compilation, diagnostics) = SnippetCompiler.Compile("""
            using PagePool;
            [PagePool(4096, 64, Fragments = true, Headroom = 64, MaxLength = 2048)]
            internal sealed partial class DocPool { }
            """);
        Assert.True(diagnostics.Count == 0, SnippetCompiler.Format(diagnostics));
        INamedTypeSymbol pool = compilation.GetTypeByMetadataName("DocPool")!;
        foreach (ISymbol member in pool.GetMembers())
        {
            names.Add(member.Name);
        }
        foreach (Type type in typeof(Page).Assembly.GetExportedTypes())
        {
            names.Add(type.Name.Split('`')[0]);
            foreach (string part in (type.Namespace ?? "").Split('.'))
            {
                names.Add(part); // `PagePool.IoUring` names a namespace
            }
            foreach (MemberInfo member in type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            {
                names.Add(member.Name);
            }
        }
        foreach (string bcl in new[] { "System.Span`1", "System.ReadOnlySpan`1", "System.Memory`1", "System.Buffers.MemoryPool`1",
                     "System.Buffers.IMemoryOwner`1", "System.Buffers.ArrayPool`1", "System.Int32", "System.Boolean" })
        {
            INamedTypeSymbol? type = compilation.GetTypeByMetadataName(bcl);
            Assert.NotNull(type);
            names.Add(type!.Name);
        }
        return names;
    }

    [GeneratedRegex("`([^`\n]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\b[A-Z][A-Za-z0-9]*\b")]
    private static partial Regex PascalName();

    [GeneratedRegex(@"^(PagePool\.[A-Za-z.]+|tests|samples|benchmarks|docs|scripts)(/[A-Za-z0-9_.\-]+)+/?$")]
    private static partial Regex RepoPath();

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();
}
