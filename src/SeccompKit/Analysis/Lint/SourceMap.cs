using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SeccompKit.Policy;

namespace SeccompKit.Analysis.Lint;

/// <summary>
/// Turns the places a policy knows (<see cref="SyscallRule.Origin"/>, <see cref="SeccompPolicy.Origins"/>) into
/// <see cref="LintLocation"/>s: <c>file:line:column</c> as the policy language writes them, and for JSON the path,
/// with its line and column when the text is known (the path's nearest element that exists in the text: a missing
/// <c>$.architectures</c> points at the whole object).
/// </summary>
internal sealed partial class SourceMap(LintInput input)
{
    private Dictionary<string, (int Line, int Column)>? _json;

    [GeneratedRegex(@"^(?<file>.*):(?<line>\d+):(?<col>\d+)$")]
    private static partial Regex FileLineColumn();

    // The origin PolicyRecovery gives a rule recovered from BPF: the return that decides it.
    [GeneratedRegex(@"^filter \d+ pc -?\d+$")]
    private static partial Regex InstructionOrigin();

    /// <summary>Where an origin string points. For JSON origins "X with Y", <paramref name="condition"/> picks Y (the condition) over X (the name).</summary>
    public LintLocation At(string? origin, bool condition = false)
    {
        if (string.IsNullOrEmpty(origin)) return Top();
        if (origin.StartsWith('$'))
        {
            int with = origin.IndexOf(" with ", StringComparison.Ordinal);
            string path = with >= 0 ? (condition ? origin[(with + 6)..] : origin[..with])
                // One set of conditions for the whole entry: they are its "args".
                : condition && origin.LastIndexOf(".names[", StringComparison.Ordinal) is int n and > 0 ? origin[..n] + ".args"
                : origin;
            return AtJsonPath(path);
        }
        if (InstructionOrigin().IsMatch(origin)) return new LintLocation { File = input.FileName, Instruction = origin };
        var m = FileLineColumn().Match(origin);
        if (m.Success)
            return new LintLocation
            {
                File = SameFile(m.Groups["file"].Value),
                Line = int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture),
                Column = int.Parse(m.Groups["col"].Value, CultureInfo.InvariantCulture),
            };
        return Top();
    }

    /// <summary>
    /// The input's own name for a file the parser named by its full path (it resolves includes from it, so standard
    /// input becomes the working directory's "&lt;stdin&gt;"); other files keep their names.
    /// </summary>
    private string SameFile(string file)
    {
        if (input.FileName is not { } name || file == name) return file;
        try { return Path.GetFullPath(file) == Path.GetFullPath(name) ? name : file; }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return file; }
    }

    /// <summary>The start of the input (a policy without known places).</summary>
    public LintLocation Top() => input.SourceKind == LintSourceKind.Json
        ? AtJsonPath("$")
        : new LintLocation { File = input.FileName, Line = input.Text is null ? null : 1, Column = input.Text is null ? null : 1 };

    /// <summary>A header statement: the language's own place for it, else the default action's, else the top; for JSON, the field.</summary>
    public LintLocation AtStatement(PolicyStatement statement)
    {
        if (input.SourceKind == LintSourceKind.Json)
            return AtJsonPath(statement switch
            {
                PolicyStatement.DefaultAction => "$.defaultAction",
                PolicyStatement.Architectures => "$.architectures",
                PolicyStatement.Flags => "$.flags",
                PolicyStatement.Listener => "$.listenerPath",
                _ => "$",
            });
        var o = input.Policy.Origins;
        string? at = statement switch
        {
            PolicyStatement.DefaultAction => o.DefaultAction,
            PolicyStatement.Architectures => o.Architectures,
            PolicyStatement.BadArchAction => o.BadArchAction,
            PolicyStatement.Flags => o.Flags,
            PolicyStatement.Listener => o.Listener,
            PolicyStatement.EnosysAbove => o.EnosysAbove.Values.Order(StringComparer.Ordinal).FirstOrDefault(),
            _ => null,
        };
        return At(at ?? o.DefaultAction);
    }

    private LintLocation AtJsonPath(string path)
    {
        var loc = new LintLocation { File = input.FileName, JsonPath = path };
        if (input.Text is null) return loc;
        _json ??= IndexJson(input.Text);
        for (string p = path; ; p = Parent(p))
        {
            if (_json.TryGetValue(p, out var lc)) return loc with { Line = lc.Line, Column = lc.Column };
            if (p == "$") return loc with { Line = 1, Column = 1 };
        }
    }

    private static string Parent(string path)
    {
        int cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut <= 1 ? "$" : path[..cut];
    }

    /// <summary>Every value's JSON path (in the readers' spelling: <c>$.syscalls[3].names[0]</c>) and where it starts.</summary>
    private static Dictionary<string, (int, int)> IndexJson(string text)
    {
        var map = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < bytes.Length; i++) if (bytes[i] == '\n') lineStarts.Add(i + 1);
        (int, int) Position(long offset)
        {
            int line = lineStarts.BinarySearch((int)offset);
            if (line < 0) line = ~line - 1;
            int col = Encoding.UTF8.GetCharCount(bytes, lineStarts[line], (int)offset - lineStarts[line]) + 1;
            return (line + 1, col);
        }
        var stack = new Stack<(bool Array, int Index, string Path)>();
        string? name = null;
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName) { name = reader.GetString(); continue; }
                if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray) { stack.Pop(); continue; }
                string path;
                if (stack.Count == 0) path = "$";
                else if (stack.Peek().Array)
                {
                    var top = stack.Pop();
                    path = string.Create(CultureInfo.InvariantCulture, $"{top.Path}[{top.Index}]");
                    stack.Push(top with { Index = top.Index + 1 });
                }
                else path = $"{stack.Peek().Path}.{name}";
                map.TryAdd(path, Position(reader.TokenStartIndex));
                if (reader.TokenType == JsonTokenType.StartObject) stack.Push((false, 0, path));
                else if (reader.TokenType == JsonTokenType.StartArray) stack.Push((true, 0, path));
            }
        }
        catch (JsonException) { } // the policy was read from this text already; a tail the index cannot read keeps the paths seen so far
        // A whole config.json: the readers' paths are relative to its linux.seccomp object.
        const string Seccomp = "$.linux.seccomp";
        if (map.ContainsKey("$.ociVersion") && map.ContainsKey(Seccomp))
            return map.Where(p => p.Key.StartsWith(Seccomp, StringComparison.Ordinal))
                .ToDictionary(p => "$" + p.Key[Seccomp.Length..], p => p.Value, StringComparer.Ordinal);
        return map;
    }
}
