using System.Text;

namespace SeccompKit.Policy.Language;

/// <summary>
/// A policy text that cannot be read. The message is compiler-style:
/// <code>
/// file:line:column: message
///     source line
///     ^
///   hint: what to do
/// </code>
/// <see cref="PolicyException.Location"/> is <c>file:line:column</c> (with the rule or statement the model refused,
/// when the problem was found by <see cref="SeccompPolicy"/>'s validation).
/// </summary>
public sealed class PolicyParseException : PolicyException
{
    /// <summary>Creates the exception; lines and columns are 1-based.</summary>
    public PolicyParseException(string fileName, int line, int column, string message, string sourceLine, string? hint, IReadOnlyList<string>? includeChain = null)
        : this(fileName, line, column, message, sourceLine, hint, includeChain, null) { }

    /// <summary>
    /// Creates the exception for a problem the policy model found in what the text says: <paramref name="found"/> keeps
    /// its rule or statement in <see cref="PolicyException.Location"/>, and becomes the inner exception.
    /// </summary>
    internal PolicyParseException(string fileName, int line, int column, string message, string sourceLine, string? hint, IReadOnlyList<string>? includeChain, PolicyException? found)
        : base(Compose(message, sourceLine, column, hint, includeChain), message, hint,
            (found?.Location ?? new PolicyLocation()) with { File = fileName, Line = line, Column = column }, found)
    {
        FileName = fileName;
        Line = line;
        Column = column;
        SourceLine = sourceLine;
        IncludeChain = includeChain ?? [];
    }

    /// <summary>The file the problem is in, as the include resolver named it.</summary>
    public string FileName { get; }

    /// <summary>1-based line.</summary>
    public int Line { get; }

    /// <summary>1-based column (in UTF-16 code units, tabs counting one).</summary>
    public int Column { get; }

    /// <summary>The source line the problem is on.</summary>
    public string SourceLine { get; }

    /// <summary>Where the file was included from, outermost first (<c>file:line:column</c>); empty for the top-level file.</summary>
    public IReadOnlyList<string> IncludeChain { get; }

    private static string Compose(string message, string sourceLine, int column, string? hint, IReadOnlyList<string>? chain)
    {
        var sb = new StringBuilder(message);
        sb.Append("\n    ").Append(sourceLine);
        sb.Append("\n    ");
        // Keep tabs so the caret lines up under the same spot in a terminal.
        for (int i = 0; i < column - 1 && i < sourceLine.Length; i++) sb.Append(sourceLine[i] == '\t' ? '\t' : ' ');
        sb.Append('^');
        if (hint is not null) sb.Append("\n  hint: ").Append(hint);
        if (chain is { Count: > 0 })
            foreach (var c in chain.Reverse()) sb.Append("\n  included from ").Append(c);
        return sb.ToString();
    }
}

/// <summary>A source text with line starts, to turn offsets into line:column and excerpts.</summary>
internal sealed class SourceFile
{
    private readonly List<int> _lineStarts = [0];

    public SourceFile(string name, string text, IReadOnlyList<string> includeChain)
    {
        Name = name;
        Text = text;
        IncludeChain = includeChain;
        for (int i = 0; i < text.Length; i++)
            if (text[i] == '\n') _lineStarts.Add(i + 1);
    }

    public string Name { get; }

    public string Text { get; }

    public IReadOnlyList<string> IncludeChain { get; }

    public (int Line, int Column) Position(int offset)
    {
        offset = Math.Clamp(offset, 0, Text.Length);
        int idx = _lineStarts.BinarySearch(offset);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, offset - _lineStarts[idx] + 1);
    }

    public string Location(int offset)
    {
        var (l, c) = Position(offset);
        return $"{Name}:{l}:{c}";
    }

    public PolicyParseException Error(int offset, string message, string? hint = null) => Error(offset, message, hint, null);

    /// <summary>A problem the policy model found (<paramref name="found"/>), placed at <paramref name="offset"/>.</summary>
    public PolicyParseException Error(int offset, PolicyException found) => Error(offset, found.Problem, found.Hint, found);

    private PolicyParseException Error(int offset, string message, string? hint, PolicyException? found)
    {
        var (line, col) = Position(offset);
        int start = _lineStarts[line - 1];
        int end = Text.IndexOf('\n', start);
        if (end < 0) end = Text.Length;
        var src = Text[start..end].TrimEnd('\r');
        var printable = new string([.. src.Select(ch => ch != '\t' && char.IsControl(ch) ? '?' : ch)]);
        return new PolicyParseException(Name, line, col, message, printable, hint, IncludeChain, found);
    }
}
