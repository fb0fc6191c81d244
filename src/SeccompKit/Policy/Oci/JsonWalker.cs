using System.Text.Json;

namespace SeccompKit.Policy.Oci;

/// <summary>
/// Reads JSON the way Go's <c>encoding/json</c> reads it into runc's and moby's structs, but keeps the
/// JSON path of every value so that errors and notes can say where: property names match exactly or,
/// failing that, case-insensitively (Go's rule); a later duplicate key wins; <c>null</c> leaves a field
/// unset; numbers for unsigned fields must be non-negative integers without fraction or exponent.
/// </summary>
internal sealed class JsonWalker(List<PolicyDiagnostic> diagnostics)
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    public List<PolicyDiagnostic> Diagnostics { get; } = diagnostics;

    /// <summary>Parses text; a syntax error becomes a <see cref="PolicyException"/> at <c>line L, column C</c>.</summary>
    public static JsonDocument Parse(string json)
    {
        try
        {
            return JsonDocument.Parse(ReplaceLoneSurrogateEscapes(json), DocumentOptions);
        }
        catch (JsonException e)
        {
            var (line, column) = Position(json, e);
            throw new PolicyException($"the text is not valid JSON ({Describe(e)}); fix the syntax there.", PolicyLocation.AtText(line, column));
        }
    }

    /// <summary>
    /// Where a <see cref="JsonException"/> points, as a 1-based line and column in characters (the runtime counts lines
    /// from 0 and columns in UTF-8 bytes).
    /// </summary>
    internal static (int Line, int Column) Position(string json, JsonException e)
    {
        long line0 = e.LineNumber ?? 0, bytes = e.BytePositionInLine ?? 0;
        int start = 0;
        for (long l = 0; l < line0; l++)
        {
            int nl = json.IndexOf('\n', start);
            if (nl < 0) break;
            start = nl + 1;
        }
        int i = start;
        long seen = 0;
        while (i < json.Length && json[i] != '\n' && seen < bytes)
        {
            if (char.IsHighSurrogate(json[i]) && i + 1 < json.Length && char.IsLowSurrogate(json[i + 1])) { seen += 4; i += 2; }
            else { seen += json[i] < 0x80 ? 1 : json[i] < 0x800 ? 2 : 3; i++; }
        }
        return ((int)Math.Min(line0 + 1, int.MaxValue), i - start + 1);
    }

    /// <summary>The runtime's description of a JSON syntax error without its own position and path suffixes.</summary>
    internal static string Describe(JsonException e)
    {
        string m = e.Message;
        foreach (var suffix in new[] { " LineNumber:", " Path:" })
        {
            int i = m.IndexOf(suffix, StringComparison.Ordinal);
            if (i >= 0) m = m[..i];
        }
        return m.TrimEnd('.', ' ', '|');
    }

    /// <summary>
    /// <paramref name="json"/> with every <c>\uXXXX</c> escape of a lone UTF-16 surrogate (a high one not followed by a
    /// low one, or a low one alone) written as <c>\ufffd</c>: valid JSON that .NET refuses to read as a string, while Go's
    /// decoder (runc's) reads it as U+FFFD, the replacement character. Same length, so error columns stay right.
    /// Escapes are found by scanning string literals, so an escaped backslash (<c>\\ud800</c>) is left alone.
    /// </summary>
    internal static string ReplaceLoneSurrogateEscapes(string json)
    {
        if (!json.Contains("\\u", StringComparison.Ordinal)) return json;
        char[]? copy = null;
        bool inString = false;
        for (int i = 0; i < json.Length; i++)
        {
            char c = json[i];
            if (!inString) { inString = c == '"'; continue; }
            if (c == '"') { inString = false; continue; }
            if (c != '\\' || i + 1 >= json.Length) continue;
            if (json[i + 1] != 'u') { i++; continue; }
            if (!TryEscape(json, i, out char unit)) { i++; continue; }
            if (char.IsHighSurrogate(unit) && TryEscape(json, i + 6, out char next) && char.IsLowSurrogate(next))
            {
                i += 11; // a valid pair: both escapes stay
                continue;
            }
            if (char.IsSurrogate(unit))
            {
                copy ??= json.ToCharArray();
                "\\ufffd".CopyTo(copy.AsSpan(i));
            }
            i += 5;
        }
        return copy is null ? json : new string(copy);
    }

    private static bool TryEscape(string s, int at, out char unit)
    {
        unit = '\0';
        if (at + 6 > s.Length || s[at] != '\\' || s[at + 1] != 'u') return false;
        if (!ushort.TryParse(s.AsSpan(at + 2, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var v)) return false;
        unit = (char)v;
        return true;
    }

    /// <summary>A member path: <c>$.a</c>, or <c>$['odd key']</c> for names that are not identifiers.</summary>
    public static string Member(string path, string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !char.IsAsciiDigit(name[0])
            ? $"{path}.{name}"
            : $"{path}['{name.Replace("\\", "\\\\").Replace("'", "\\'")}']";

    /// <summary>
    /// Visits the properties of an object. Each known name (matched like Go: exact, else ignoring case) calls its
    /// handler; unknown names are reported by <paramref name="unknown"/> (null: a warning saying the
    /// runtime ignores it).
    /// </summary>
    public void Object(JsonElement e, string path, string what, IReadOnlyDictionary<string, Action<JsonElement, string>> fields,
        Action<string, string>? unknown = null)
    {
        Expect(e, JsonValueKind.Object, path, what);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            string at = Member(path, p.Name);
            string? key = fields.ContainsKey(p.Name) ? p.Name : fields.Keys.FirstOrDefault(k => string.Equals(k, p.Name, StringComparison.OrdinalIgnoreCase));
            if (key is null)
            {
                if (unknown is not null) unknown(p.Name, at);
                else Diagnostics.Add(new(DiagnosticSeverity.Warning, at,
                    $"unknown property '{p.Name}' in {what}; the runtime-spec says to ignore it, so it has no effect. Remove it or check the spelling{Hint(p.Name, fields.Keys)}."));
                continue;
            }
            if (key != p.Name)
                Diagnostics.Add(new(DiagnosticSeverity.Info, at, $"'{p.Name}' is read as '{key}' (Go's JSON decoder ignores case); write '{key}'."));
            if (seen.TryGetValue(key, out var earlier))
                Diagnostics.Add(new(DiagnosticSeverity.Warning, at, $"'{key}' appears twice in {what} (first at {earlier}); the last one wins, as in Go. Remove one."));
            seen[key] = at;
            if (p.Value.ValueKind == JsonValueKind.Null) continue; // Go leaves the field unset
            fields[key](p.Value, at);
        }
    }

    private static string Hint(string name, IEnumerable<string> known)
    {
        var close = Syscalls.Suggestions.Closest(name, known);
        return close.Count > 0 ? $" (did you mean {Syscalls.Suggestions.OrList(close)}?)" : "";
    }

    public static void Expect(JsonElement e, JsonValueKind kind, string path, string what)
    {
        if (e.ValueKind != kind)
            throw new PolicyException($"{what} must be {KindName(kind)}, not {KindName(e.ValueKind)}.", PolicyLocation.AtJsonPath(path));
    }

    private static string KindName(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    public static string String(JsonElement e, string path, string what)
    {
        Expect(e, JsonValueKind.String, path, what);
        return e.GetString()!;
    }

    /// <summary>An unsigned integer as Go decodes it into <c>uint</c>/<c>uint64</c>.</summary>
    public static ulong UInt64(JsonElement e, string path, string what)
    {
        Expect(e, JsonValueKind.Number, path, what);
        string raw = e.GetRawText();
        if (raw.Contains('.') || raw.Contains('e') || raw.Contains('E') || raw.StartsWith('-') || !e.TryGetUInt64(out var v))
            throw new PolicyException($"{what} must be a whole number from 0 to 18446744073709551615 (no sign, fraction or exponent), not {raw}.", PolicyLocation.AtJsonPath(path));
        return v;
    }

    public static List<string> StringArray(JsonElement e, string path, string what)
    {
        Expect(e, JsonValueKind.Array, path, what);
        var list = new List<string>();
        int i = 0;
        foreach (var item in e.EnumerateArray())
        {
            string at = $"{path}[{i++}]";
            // Go decodes null in a []string as "".
            list.Add(item.ValueKind == JsonValueKind.Null ? "" : String(item, at, $"each element of {what}"));
        }
        return list;
    }

    public static List<T> Array<T>(JsonElement e, string path, string what, Func<JsonElement, string, T> read)
    {
        Expect(e, JsonValueKind.Array, path, what);
        var list = new List<T>();
        int i = 0;
        foreach (var item in e.EnumerateArray())
            list.Add(read(item, $"{path}[{i++}]"));
        return list;
    }
}
