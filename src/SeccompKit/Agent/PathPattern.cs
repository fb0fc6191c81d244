using System.Text;
using System.Text.RegularExpressions;

namespace SeccompKit.Agent;

/// <summary>
/// A glob over paths and mount sources: <c>*</c> matches any characters but <c>/</c>, <c>**</c> any characters
/// including <c>/</c>, <c>?</c> one character but <c>/</c>; everything else matches itself. The whole text must match.
/// </summary>
public sealed class PathPattern
{
    private readonly Regex _regex;

    private PathPattern(string text, Regex regex)
    {
        Text = text;
        _regex = regex;
    }

    /// <summary>The pattern as written.</summary>
    public string Text { get; }

    /// <summary>Compiles <paramref name="text"/> (never fails: every text is a pattern).</summary>
    public static PathPattern Create(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder("^");
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '*' && i + 1 < text.Length && text[i + 1] == '*') { sb.Append(".*"); i++; }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        sb.Append('$');
        return new PathPattern(text, new Regex(sb.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1)));
    }

    /// <summary>Does <paramref name="value"/> match the whole pattern?</summary>
    public bool Matches(string value) => _regex.IsMatch(value);

    /// <inheritdoc/>
    public override string ToString() => Text;
}
