using System.Globalization;
using System.Text;

namespace SeccompKit.Policy.Language;

/// <summary>Token kinds of the policy language.</summary>
internal enum TokenKind
{
    Identifier, Number, String, SetName,
    LBrace, RBrace, LParen, RParen, LBracket, RBracket, Comma, Assign, Colon, Minus,
    Eq, Ne, Lt, Le, Gt, Ge, Amp, AndAnd, Pipe, OrOr, Bang,
    End,
}

/// <summary>One token with its 0-based offset in the source text.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Offset, ulong Number = 0)
{
    public string Describe() => Kind switch
    {
        TokenKind.End => "end of file",
        TokenKind.String => "a string",
        TokenKind.Number => $"number {Text}",
        TokenKind.Identifier => $"'{Text}'",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits policy text into tokens. Identifiers are <c>[A-Za-z_][A-Za-z0-9_]*</c> and may contain a
/// <c>-</c> followed by a letter (<c>kill-process</c>); numbers are decimal, <c>0x</c> hex, <c>0o</c> or
/// leading-zero octal, <c>0b</c> binary; comments run from <c>#</c> to the end of the line.
/// </summary>
internal static class Lexer
{
    public static List<Token> Tokenize(SourceFile file)
    {
        var text = file.Text;
        var tokens = new List<Token>();
        int i = 0;
        while (true)
        {
            while (i < text.Length)
            {
                char c = text[i];
                if (c == '#') { while (i < text.Length && text[i] != '\n') i++; }
                else if (char.IsWhiteSpace(c)) i++;
                else break;
            }
            if (i >= text.Length) { tokens.Add(new Token(TokenKind.End, "", text.Length)); return tokens; }
            int start = i;
            char ch = text[i];
            if (IsIdentStart(ch))
            {
                i++;
                while (i < text.Length && (IsIdentPart(text[i]) || (text[i] == '-' && i + 1 < text.Length && char.IsAsciiLetter(text[i + 1])))) i++;
                tokens.Add(new Token(TokenKind.Identifier, text[start..i], start));
            }
            else if (ch == '@')
            {
                i++;
                if (i >= text.Length || !IsIdentStart(text[i]))
                    throw file.Error(start, "'@' must be followed by a set name", "set names look like @files: a letter or '_', then letters, digits, '_' or '-'.");
                while (i < text.Length && (IsIdentPart(text[i]) || (text[i] == '-' && i + 1 < text.Length && char.IsAsciiLetter(text[i + 1])))) i++;
                tokens.Add(new Token(TokenKind.SetName, text[start..i], start));
            }
            else if (char.IsAsciiDigit(ch))
            {
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] == '_')) i++;
                var lit = text[start..i];
                tokens.Add(new Token(TokenKind.Number, lit, start, ParseNumber(file, lit, start)));
            }
            else if (ch == '"')
            {
                tokens.Add(ReadString(file, ref i));
            }
            else
            {
                (TokenKind kind, int len) = ch switch
                {
                    '{' => (TokenKind.LBrace, 1),
                    '}' => (TokenKind.RBrace, 1),
                    '(' => (TokenKind.LParen, 1),
                    ')' => (TokenKind.RParen, 1),
                    '[' => (TokenKind.LBracket, 1),
                    ']' => (TokenKind.RBracket, 1),
                    ',' => (TokenKind.Comma, 1),
                    ':' => (TokenKind.Colon, 1),
                    '-' => (TokenKind.Minus, 1),
                    '=' when Next(text, i) == '=' => (TokenKind.Eq, 2),
                    '=' => (TokenKind.Assign, 1),
                    '!' when Next(text, i) == '=' => (TokenKind.Ne, 2),
                    '!' => (TokenKind.Bang, 1),
                    '<' when Next(text, i) == '=' => (TokenKind.Le, 2),
                    '<' => (TokenKind.Lt, 1),
                    '>' when Next(text, i) == '=' => (TokenKind.Ge, 2),
                    '>' => (TokenKind.Gt, 1),
                    '&' when Next(text, i) == '&' => (TokenKind.AndAnd, 2),
                    '&' => (TokenKind.Amp, 1),
                    '|' when Next(text, i) == '|' => (TokenKind.OrOr, 2),
                    '|' => (TokenKind.Pipe, 1),
                    _ => (TokenKind.End, 0),
                };
                if (len == 0)
                    throw file.Error(start, $"unexpected character '{Printable(ch)}'",
                        ch == ';' ? "statements need no terminator: remove the ';'." : "the language uses names, numbers, \"strings\", @sets, braces, parentheses and the operators == != < <= > >= & | && || !.");
                i += len;
                tokens.Add(new Token(kind, text.Substring(start, len), start));
            }
        }
    }

    private static char Next(string text, int i) => i + 1 < text.Length ? text[i + 1] : '\0';

    private static string Printable(char c) => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString();

    public static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c == '_';

    public static bool IsIdentPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static ulong ParseNumber(SourceFile file, string lit, int offset)
    {
        string digits = lit.Replace("_", "", StringComparison.Ordinal);
        int radix = 10;
        if (digits.Length > 1 && digits[0] == '0')
        {
            switch (digits[1])
            {
                case 'x' or 'X': radix = 16; digits = digits[2..]; break;
                case 'o' or 'O': radix = 8; digits = digits[2..]; break;
                case 'b' or 'B': radix = 2; digits = digits[2..]; break;
                default: radix = 8; digits = digits[1..]; break;
            }
        }
        if (digits.Length == 0)
            throw file.Error(offset, $"number '{lit}' has no digits", "write e.g. 0x1f, 0o755, 0755, 0b101 or 42.");
        ulong value = 0;
        foreach (char c in digits)
        {
            int d = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (d >= radix)
                throw file.Error(offset, $"'{lit}' is not a valid {(radix switch { 16 => "hexadecimal", 8 => "octal", 2 => "binary", _ => "decimal" })} number",
                    radix == 8 ? "a leading 0 means octal (as in C); write 0x for hex or drop the leading zero." : "numbers are decimal, 0x hex, 0o or leading-zero octal, or 0b binary.");
            UInt128 next = (UInt128)value * (uint)radix + (uint)d;
            if (next > ulong.MaxValue)
                throw file.Error(offset, $"number '{lit}' does not fit in 64 bits", "seccomp arguments are at most 64 bits (0xffffffffffffffff).");
            value = (ulong)next;
        }
        return value;
    }

    private static Token ReadString(SourceFile file, ref int i)
    {
        var text = file.Text;
        int start = i++;
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= text.Length || text[i] == '\n')
                throw file.Error(start, "unterminated string", "close the string with '\"' on the same line; write \\n for a newline.");
            char c = text[i++];
            if (c == '"') break;
            if (c != '\\') { sb.Append(c); continue; }
            if (i >= text.Length) throw file.Error(start, "unterminated string", "close the string with '\"'.");
            char e = text[i++];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'u' when i < text.Length && text[i] == '{':
                    int close = text.IndexOf('}', i);
                    if (close < 0 || close - i - 1 is < 1 or > 6 ||
                        !int.TryParse(text.AsSpan(i + 1, close - i - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp) ||
                        cp > 0x10FFFF || cp is >= 0xD800 and <= 0xDFFF)
                        throw file.Error(i - 2, "bad \\u{...} escape", "write \\u{HEX} with 1 to 6 hex digits naming a Unicode scalar value, e.g. \\u{7f}.");
                    sb.Append(char.ConvertFromUtf32(cp));
                    i = close + 1;
                    break;
                default:
                    throw file.Error(i - 2, $"unknown escape '\\{Printable(e)}' in string", "strings know \\\" \\\\ \\n \\t \\r and \\u{HEX}.");
            }
        }
        return new Token(TokenKind.String, sb.ToString(), start);
    }
}
