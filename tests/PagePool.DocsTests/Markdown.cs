using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace PagePool.DocsTests;

/// <summary>A fenced code block of a markdown page: its language, the line its fence opens on, and its text.</summary>
public sealed record CodeBlock(string File, int Line, string Language, string Code, string? Expect)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>Reads the repository's markdown pages.</summary>
internal static partial class Markdown
{
    /// <summary>The repository root, found from this file's path at compile time.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot([CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath));

    /// <summary>
    /// Every fenced block of a page. A block may be preceded by <c>&lt;!-- expect: PP1001 --&gt;</c>: it must then
    /// produce that diagnostic (a "what goes wrong" example); every other C# block must compile clean.
    /// </summary>
    public static IEnumerable<CodeBlock> Blocks(string relativePath)
    {
        string[] lines = Read(relativePath).Replace("\r\n", "\n").Split('\n');
        string? expect = null;
        for (int i = 0; i < lines.Length; i++)
        {
            Match marker = ExpectMarker().Match(lines[i]);
            if (marker.Success)
            {
                expect = marker.Groups[1].Value;
                continue;
            }
            if (!lines[i].StartsWith("```", StringComparison.Ordinal) || lines[i].Length == 3)
            {
                if (lines[i].Trim().Length > 0)
                {
                    expect = null;
                }
                continue;
            }
            string language = lines[i].Substring(3).Trim();
            int open = i;
            var code = new List<string>();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++)
            {
                code.Add(lines[i]);
            }
            if (i == lines.Length)
            {
                throw new InvalidDataException($"{relativePath}:{open + 1}: the fence is never closed");
            }
            yield return new CodeBlock(relativePath, open + 1, language, string.Join("\n", code), expect);
            expect = null;
        }
    }

    /// <summary>The lines of a page's section (from its <c>## heading</c> up to the next heading of that level).</summary>
    public static string Section(string relativePath, string heading)
    {
        string text = Read(relativePath).Replace("\r\n", "\n");
        int start = text.IndexOf("\n## " + heading, StringComparison.Ordinal);
        if (start < 0)
        {
            throw new InvalidDataException($"{relativePath} has no '## {heading}' section");
        }
        int end = text.IndexOf("\n## ", start + 4, StringComparison.Ordinal);
        return end < 0 ? text.Substring(start) : text.Substring(start, end - start);
    }

    [GeneratedRegex(@"^<!--\s*expect:\s*(PP\d{4})\s*-->\s*$")]
    private static partial Regex ExpectMarker();
}
