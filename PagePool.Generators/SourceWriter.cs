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

        /// <summary>Writes one line or a block of lines, each indented; blank lines stay empty.</summary>
        public void WriteLine(string text)
        {
            foreach (string line in text.Replace("\r\n", "\n").Split('\n'))
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
