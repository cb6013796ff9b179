using System;
using System.Text;

namespace PagePool.Generators
{
    /// <summary>
    /// A minimal indented writer for generated C#: blocks of text (raw string literals) are written line by line
    /// at the current indentation; preprocessor lines stay at column 0. Always '\n' line endings, so the output
    /// is the same on every OS.
    /// </summary>
    internal sealed class SourceWriter
    {
        private const string IndentUnit = "    ";
        private readonly StringBuilder _builder = new StringBuilder(16 * 1024);
        private int _indent;

        public void Indent() => _indent++;

        public void Unindent() => _indent--;

        public void OpenBrace()
        {
            WriteLine("{");
            _indent++;
        }

        public void CloseBrace(string suffix = "")
        {
            _indent--;
            WriteLine("}" + suffix);
        }

        public void WriteLine() => _builder.Append('\n');

        /// <summary>Marks a multi-line value placed in a raw-string hole: see <see cref="Hole"/>.</summary>
        private const char HoleNewLine = '\u0001';

        /// <summary>A hole value that removes its line when empty.</summary>
        private const string EmptyHole = "\u0002";

        /// <summary>
        /// Prepares a (possibly multi-line, possibly empty) value for an interpolation hole that stands alone on its
        /// line: every line of the value gets the hole line's indentation; an empty value removes the line.
        /// </summary>
        public static string Hole(string value) =>
            value.Length == 0 ? EmptyHole : Expand(value).Replace('\n', HoleNewLine);

        /// <summary>Resolves holes inside <paramref name="text"/> into plain lines, each hole line's indentation kept.</summary>
        private static string Expand(string text)
        {
            StringBuilder builder = new StringBuilder(text.Length + 64);
            foreach (string rawLine in text.Replace("\r\n", "\n").Split('\n'))
            {
                if (rawLine.Trim() == EmptyHole)
                {
                    continue;
                }
                string indent = rawLine.Substring(0, rawLine.Length - rawLine.TrimStart().Length);
                string[] parts = rawLine.Split(HoleNewLine);
                for (int i = 0; i < parts.Length; i++)
                {
                    if (builder.Length > 0)
                    {
                        builder.Append('\n');
                    }
                    builder.Append(i == 0 || parts[i].TrimStart().StartsWith("#", StringComparison.Ordinal) ? parts[i] : indent + parts[i]);
                }
            }
            return builder.ToString();
        }

        /// <summary>Writes one line or a block of lines, each indented; blank lines stay empty.</summary>
        public void WriteLine(string text)
        {
            foreach (string line in Expand(text).Split('\n'))
            {
                WriteSingleLine(line);
            }
        }

        private void WriteSingleLine(string line)
        {
            line = line.TrimEnd();
            if (line.Length == 0)
            {
                _builder.Append('\n');
            }
            else if (line.TrimStart().StartsWith("#", StringComparison.Ordinal))
            {
                _builder.Append(line.TrimStart()).Append('\n');
            }
            else
            {
                for (int i = 0; i < _indent; i++)
                {
                    _builder.Append(IndentUnit);
                }
                _builder.Append(line).Append('\n');
            }
        }

        public override string ToString() => _builder.ToString();
    }
}
