using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SeccompKit.Fuzz;

/// <summary>
/// Makes hostile inputs from seeds: generic byte mutations (flips, span insert/delete/duplicate, splices of two seeds)
/// plus mutations that know the format, so that inputs get past the first syntax check and reach the deeper readers:
/// JSON values replaced with extremes, deep nesting, odd Unicode and lone surrogate escapes; policy-language and BPF-text
/// token swaps; raw BPF 8-byte records with boundary opcodes, jump offsets and constants.
/// </summary>
public sealed partial class Mutator(Corpus corpus)
{
    /// <summary>The largest input made: inputs beyond a few hundred KB only test the size checks, which have their own specs.</summary>
    public const int MaxInput = 1 << 20;

    private static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "7", "31", "32", "63", "64", "255", "256", "4095", "4096", "4097", "65535", "65536",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296", "-4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999999999999999999", "1e308", "1e400", "-1e400", "1.5", "0.0000001",
        "1E2", "0x7fffffff", "0xffffffff", "0x100000000", "0xffffffffffffffff", "0x1ffffffffffffffff", "0x", "0b101",
        "0777", "08", "NaN", "Infinity", "-Infinity", "1_000", "٣", "１", "0x7fff0000", "0x80000000", "0xc000003e",
        "0x40000003", "0x7ffc0000", "0x7ff00000", "0x00050000", "0x0005ffff", "0x00030000",
    ];

    private static readonly string[] Strings =
    [
        "", " ", "\u0000", "\u00e9", "\u202e", "\ud83d\ude00", "\ufeff", "\uffff", "\u2028", "\t\r\n", "../../etc/passwd",
        "/dev/zero", "%s%n", "{", "}", "\"", "\\", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL",
        "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_S390X", "SCMP_ARCH_MIPS",
        "SCMP_ARCH_RISCV64", "SCMP_ARCH_NOPE", "SCMP_CMP_EQ", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_GT",
        "SCMP_CMP_GE", "SCMP_CMP_MASKED_EQ", "SCMP_FLTATR_CTL_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_NEW_LISTENER",
        "read", "openat", "clone", "clone3", "socket", "ioctl", "personality", "socketcall", "ipc", "mount", "unknown_call",
        "CAP_SYS_ADMIN", "CAP_NOPE", "amd64", "x86_64", "arm64", "creating", "running", "stopped", "learn", "complain",
        "supervise", "mode=learn", "1.0.2", "1.2.0", "99.99.99", "6.8", "5.x", "-1.0",
    ];

    // Unicode the JSON writer cannot carry: lone surrogates and a NUL escape, written as \u escapes after serialisation.
    private static readonly string[] RawEscapes = ["\\ud800", "\\udc00", "\\udbff\\udbff", "\\u0000", "\\ud800x", "\\udfff\\ud800", "\\u"];

    private static readonly string[] PolicyTokens =
    [
        "allow", "errno", "kill", "kill_process", "kill_thread", "trap", "log", "trace", "notify", "user_notif", "default",
        "architectures", "arch", "include", "args", "arg", "args[0]", "args[5]", "args[6]", "args[-1]", "args[2147483648]",
        "args[0]:32", "args[1]:64", "args[0]:0", "args[0]:33", "==", "!=", "<", "<=", ">", ">=", "&", "|", "&&", "||", "!",
        "masked", "in", "{", "}", "(", ")", "[", "]", ",", ":", ";", "=", "#", "\"", "\n", "x86_64", "x86", "x32", "aarch64",
        "native", "EPERM", "ENOSYS", "EACCES", "E2BIG", "ENOPE", "errno(0)", "errno(4096)", "errno(65535)", "errno(65536)",
        "errno(-1)", "trace(65535)", "trace(65536)", "O_RDONLY", "O_WRONLY|O_CREAT", "CLONE_NEWUSER", "AF_INET", "SOCK_RAW",
        "TIOCSTI", "openat", "read", "write", "clone", "socket", "ioctl", "personality", "nosuchcall", "@default",
    ];

    private static readonly string[] BpfTokens =
    [
        "A", "X", "M[0]", "M[15]", "M[16]", "M[-1]", "M[4294967296]", "=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
        "<<=", ">>=", "-A", "arch", "nr", "instruction_pointer", "args[0]", "args[5]", "args[6]", "args[2147483648]",
        "args[0].hi", "args[0].lo", "seccomp_data[64]", "seccomp_data[3]", "data[0]", "len", "if", "(", ")", "==", "!=", ">",
        ">=", "<", "<=", "&", "goto", "else", "return", "ALLOW", "KILL", "KILL_PROCESS", "KILL_THREAD", "TRAP", "LOG",
        "ERRNO(1)", "ERRNO(4095)", "ERRNO(65535)", "ERRNO(65536)", "TRACE(1)", "USER_NOTIF", "A", "0x7fff0000", "L1", "L99",
        ":", "{", "}", ",", "\n", "#", "openat", "read", "x86_64", "AUDIT_ARCH_X86_64", "0xc000003e", "jeq", "ld", "ret",
    ];

    private static readonly ushort[] Opcodes =
    [
        0x20, 0x28, 0x30, 0x00, 0x01, 0x60, 0x61, 0x80, 0x81, 0x02, 0x03, 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c,
        0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac, 0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35,
        0x3d, 0x45, 0x4d, 0x06, 0x16, 0x07, 0x87, 0x40, 0x48, 0x50, 0x21, 0x22, 0xffff, 0x8000,
    ];

    private static readonly uint[] Constants =
    [
        0, 1, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 63, 64, 65, 0x7fffffff, 0x80000000, 0xffffffff,
        0x7fff0000, 0x7ffc0000, 0x7ff00000, 0x7fc00000, 0x80000000, 0x00050000, 0x00050001, 0x0005ffff, 0x00030000,
        0x00000000, 0xc000003e, 0x40000003, 0xc00000b7, 0x80000016, 0x40000000, 0x40000000 | 1, 15, 16, 4096, 0xffff,
    ];

    private readonly Corpus _corpus = corpus;

    /// <summary>Mutates <paramref name="seed"/> (of <paramref name="kind"/>) with 1 to 8 stacked mutations drawn from <paramref name="rng"/>.</summary>
    public byte[] Mutate(Seed seed, Random rng, out string how)
    {
        var data = seed.Bytes;
        var steps = new List<string>();
        int n = 1 + (rng.Next(4) == 0 ? rng.Next(8) : rng.Next(2));
        for (int i = 0; i < n; i++)
        {
            var (next, name) = MutateOnce(data, seed.Kind, rng);
            data = next.Length > MaxInput ? next[..MaxInput] : next;
            steps.Add(name);
        }
        how = string.Join('+', steps);
        return data;
    }

    private (byte[] Data, string Name) MutateOnce(byte[] data, SeedKind kind, Random rng)
    {
        // Half the time a format-aware mutation, so that most inputs get past the first syntax check.
        if (rng.Next(2) == 0)
        {
            switch (kind)
            {
                case SeedKind.PolicyJson or SeedKind.AgentPayload or SeedKind.AgentConfig:
                    // JsonNode refuses some inputs late (duplicate keys when enumerated, lone surrogates when written):
                    // such a seed gets a byte mutation instead.
                    byte[]? j;
                    try { j = JsonMutate(data, rng); }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or JsonException) { j = null; }
                    if (j is not null) return (j, "json");
                    break;
                case SeedKind.PolicyText:
                    return (TokenMutate(data, PolicyTokens, rng), "token");
                case SeedKind.BpfText:
                    return (rng.Next(3) == 0 ? LineMutate(data, rng) : TokenMutate(data, BpfTokens, rng), "bpf-text");
                case SeedKind.BpfRaw:
                    return (RecordMutate(data, rng), "bpf-record");
            }
        }
        return rng.Next(12) switch
        {
            0 => (FlipBit(data, rng), "flip"),
            1 => (SetByte(data, rng), "byte"),
            2 => (InsertSpan(data, rng), "insert"),
            3 or 4 => (DeleteSpan(data, rng), "delete"),
            5 => (DuplicateSpan(data, rng), "duplicate"),
            6 => (CopySpan(data, rng), "copy"),
            7 => (Splice(data, kind, rng), "splice"),
            8 => (InsertText(data, Pick(rng, Numbers), rng), "number"),
            9 => (InsertText(data, Pick(rng, Strings), rng), "string"),
            10 => (ReplaceNumber(data, rng), "renumber"),
            _ => (Truncate(data, rng), "truncate"),
        };
    }

    private static T Pick<T>(Random rng, IReadOnlyList<T> items) => items[rng.Next(items.Count)];

    private static int Position(byte[] data, Random rng) => data.Length == 0 ? 0 : rng.Next(data.Length + 1);

    private static byte[] FlipBit(byte[] data, Random rng)
    {
        if (data.Length == 0) return [(byte)rng.Next(256)];
        var r = (byte[])data.Clone();
        r[rng.Next(r.Length)] ^= (byte)(1 << rng.Next(8));
        return r;
    }

    private static readonly byte[] InterestingBytes = "\0\xff\x7f\x80\"{}[],:\\\n#()/*.-0x"u8.ToArray();

    private static byte[] SetByte(byte[] data, Random rng)
    {
        if (data.Length == 0) return [Pick(rng, InterestingBytes)];
        var r = (byte[])data.Clone();
        r[rng.Next(r.Length)] = rng.Next(2) == 0 ? (byte)rng.Next(256) : Pick(rng, InterestingBytes);
        return r;
    }

    private static int SpanLength(Random rng, int max) => Math.Min(max, rng.Next(4) switch { 0 => 1, 1 => rng.Next(1, 9), 2 => rng.Next(1, 65), _ => rng.Next(1, 1025) });

    private static byte[] InsertSpan(byte[] data, Random rng)
    {
        int at = Position(data, rng);
        var span = new byte[SpanLength(rng, 4096)];
        if (rng.Next(2) == 0) rng.NextBytes(span);
        else Array.Fill(span, Pick(rng, InterestingBytes));
        return [.. data.AsSpan(0, at), .. span, .. data.AsSpan(at)];
    }

    private static byte[] DeleteSpan(byte[] data, Random rng)
    {
        if (data.Length == 0) return data;
        int at = rng.Next(data.Length);
        int len = SpanLength(rng, data.Length - at);
        return [.. data.AsSpan(0, at), .. data.AsSpan(at + len)];
    }

    private static byte[] DuplicateSpan(byte[] data, Random rng)
    {
        if (data.Length == 0) return data;
        int at = rng.Next(data.Length);
        int len = SpanLength(rng, data.Length - at);
        // Sometimes many copies: repetition finds quadratic readers.
        int copies = rng.Next(8) == 0 ? rng.Next(2, 200) : 1;
        var r = new List<byte>(data.Length + len * copies);
        r.AddRange(data.AsSpan(0, at + len));
        for (int i = 0; i < copies; i++) r.AddRange(data.AsSpan(at, len));
        r.AddRange(data.AsSpan(at + len));
        return [.. r];
    }

    private static byte[] CopySpan(byte[] data, Random rng)
    {
        if (data.Length < 2) return data;
        int from = rng.Next(data.Length), to = rng.Next(data.Length);
        int len = Math.Min(SpanLength(rng, data.Length - from), data.Length - to);
        var r = (byte[])data.Clone();
        data.AsSpan(from, len).CopyTo(r.AsSpan(to));
        return r;
    }

    private byte[] Splice(byte[] data, SeedKind kind, Random rng)
    {
        // Mostly a seed of the same kind (a valid prefix joined to a valid suffix); sometimes any seed at all.
        var other = rng.Next(4) == 0 ? _corpus.Any(rng) : _corpus.OfKind(kind, rng);
        int a = Position(data, rng), b = Position(other.Bytes, rng);
        return [.. data.AsSpan(0, a), .. other.Bytes.AsSpan(b)];
    }

    private static byte[] InsertText(byte[] data, string text, Random rng)
    {
        int at = Position(data, rng);
        return [.. data.AsSpan(0, at), .. Encoding.UTF8.GetBytes(text), .. data.AsSpan(at)];
    }

    private static byte[] Truncate(byte[] data, Random rng) => data.Length == 0 ? data : data[..rng.Next(data.Length)];

    [GeneratedRegex(@"-?(?:0x[0-9a-fA-F]+|\d+)")]
    private static partial Regex NumberPattern();

    /// <summary>Replaces one number in the text with an extreme one.</summary>
    private static byte[] ReplaceNumber(byte[] data, Random rng)
    {
        string text = Encoding.UTF8.GetString(data);
        var matches = NumberPattern().Matches(text);
        if (matches.Count == 0) return InsertText(data, Pick(rng, Numbers), rng);
        var m = matches[rng.Next(matches.Count)];
        return Encoding.UTF8.GetBytes(string.Concat(text.AsSpan(0, m.Index), Pick(rng, Numbers), text.AsSpan(m.Index + m.Length)));
    }

    // ---- JSON ----

    /// <summary>A JSON-aware mutation, or null when <paramref name="data"/> is not JSON (the byte mutations then apply).</summary>
    private static byte[]? JsonMutate(byte[] data, Random rng)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(data, documentOptions: new JsonDocumentOptions { MaxDepth = 256 }); }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException) { return null; }
        if (root is null) return null;
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[rng.Next(nodes.Count)];
        var escapes = new List<(string Find, string Replace)>();
        try
        {
            switch (rng.Next(9))
            {
                case 0: Replace(root, target, JsonValue.Create(Pick(rng, Numbers).Trim('-') is var s && double.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var d) && !double.IsInfinity(d) ? d : rng.NextInt64())); break;
                case 1: Replace(root, target, RawNumber(rng, escapes)); break;
                case 2: Replace(root, target, JsonValue.Create(Pick(rng, Strings))); break;
                case 3: Replace(root, target, Placeholder(escapes, Pick(rng, RawEscapes))); break;
                case 4: Replace(root, target, Deep(rng)); break;
                case 5: Replace(root, target, rng.Next(4) switch { 0 => null, 1 => JsonValue.Create(true), 2 => new JsonArray(), _ => new JsonObject() }); break;
                case 6: Replace(root, target, JsonValue.Create(new string(Pick(rng, "a\u00e9\\\"%".ToCharArray()), rng.Next(1, 100_000)))); break;
                case 7:
                    if (target is JsonObject o && o.Count > 0)
                    {
                        var key = o.ElementAt(rng.Next(o.Count)).Key;
                        if (rng.Next(2) == 0) o.Remove(key);
                        else o[key + (rng.Next(2) == 0 ? "x" : "")] = Pick(rng, Strings);
                    }
                    else if (target is JsonArray a && a.Count > 0)
                    {
                        int i = rng.Next(a.Count);
                        if (rng.Next(2) == 0) a.RemoveAt(i);
                        else for (int k = rng.Next(1, 50); k > 0; k--) a.Add(a[i]?.DeepClone());
                    }
                    break;
                default:
                    if (target is JsonObject obj)
                        obj[rng.Next(3) == 0 ? Pick(rng, Strings) : "unknownField"] = Pick(rng, Numbers);
                    break;
            }
        }
        catch (InvalidOperationException) { return null; } // the node already had a parent (the root)
        string json;
        // A seed that already holds a lone surrogate escape (from an earlier mutation) cannot be written back.
        try { json = root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = 100_000 }); }
        catch (Exception e) when (e is InvalidOperationException or JsonException or ArgumentException) { return null; }
        foreach (var (find, replace) in escapes) json = json.Replace(find, replace, StringComparison.Ordinal);
        // Sometimes a duplicate key: JSON parsers disagree on them, so the readers must refuse them.
        if (rng.Next(10) == 0)
        {
            int brace = json.IndexOf('{', StringComparison.Ordinal);
            int colon = brace < 0 ? -1 : json.IndexOf(':', brace);
            int end = colon < 0 ? -1 : json.IndexOfAny([',', '}'], colon);
            if (end > brace && brace >= 0) json = json.Insert(end, "," + json[(brace + 1)..end]);
        }
        return Encoding.UTF8.GetBytes(json);
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        if (node is JsonObject o) foreach (var (_, v) in o) { if (v is not null) Collect(v, into); }
        else if (node is JsonArray a) foreach (var v in a) { if (v is not null) Collect(v, into); }
    }

    private static void Replace(JsonNode root, JsonNode target, JsonNode? value)
    {
        if (ReferenceEquals(root, target)) throw new InvalidOperationException("root");
        switch (target.Parent)
        {
            case JsonObject o: o[target.GetPropertyName()] = value; break;
            case JsonArray a: a[target.GetElementIndex()] = value; break;
        }
    }

    private static string PlaceholderText(int i) => $"@@ESC{i}@@";

    // Text the JSON writer cannot make (a lone surrogate escape, a huge number): a placeholder string is written and then
    // replaced; for a string escape the quotes stay, for a number they go.
    private static JsonNode Placeholder(List<(string Find, string Replace)> escapes, string raw)
    {
        escapes.Add((PlaceholderText(escapes.Count), raw));
        return JsonValue.Create(escapes[^1].Find)!;
    }

    private static JsonNode RawNumber(Random rng, List<(string Find, string Replace)> escapes)
    {
        escapes.Add(("\"" + PlaceholderText(escapes.Count) + "\"", Pick(rng, Numbers)));
        return JsonValue.Create(escapes[^1].Find.Trim('"'))!;
    }

    private static JsonNode Deep(Random rng)
    {
        int depth = rng.Next(3) switch { 0 => rng.Next(2, 70), 1 => rng.Next(60, 300), _ => rng.Next(300, 5000) };
        JsonNode node = JsonValue.Create(1);
        for (int i = 0; i < depth; i++) node = rng.Next(2) == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        return node;
    }

    // ---- text tokens ----

    [GeneratedRegex(@"\s+|[A-Za-z_@][A-Za-z0-9_\[\]:.\-]*|0x[0-9a-fA-F]+|\d+|==|!=|<=|>=|<<=|>>=|[-+*/%&|^]=|.", RegexOptions.Singleline)]
    private static partial Regex TokenPattern();

    /// <summary>Replaces, deletes, duplicates, swaps or nests tokens of a policy or BPF text.</summary>
    private static byte[] TokenMutate(byte[] data, string[] dictionary, Random rng)
    {
        string text = Encoding.UTF8.GetString(data);
        var tokens = TokenPattern().Matches(text).Select(m => m.Value).ToList();
        if (tokens.Count == 0) tokens.Add(Pick(rng, dictionary));
        int i = rng.Next(tokens.Count);
        switch (rng.Next(8))
        {
            case 0: case 1: tokens[i] = Pick(rng, dictionary); break;
            case 2: tokens.Insert(i, Pick(rng, dictionary) + (rng.Next(2) == 0 ? " " : "")); break;
            case 3: tokens.RemoveAt(i); break;
            case 4: tokens.Insert(i, string.Concat(Enumerable.Repeat(tokens[i], rng.Next(2, rng.Next(2) == 0 ? 20 : 5000)))); break;
            case 5: { int j = rng.Next(tokens.Count); (tokens[i], tokens[j]) = (tokens[j], tokens[i]); break; }
            case 6:
            {
                int depth = rng.Next(2) == 0 ? rng.Next(2, 50) : rng.Next(50, 20_000);
                string open = Pick(rng, new[] { "(", "{", "[", "!", "-" });
                string close = open switch { "(" => ")", "{" => "}", "[" => "]", _ => "" };
                tokens[i] = new string(open[0], depth) + tokens[i] + (close.Length > 0 ? new string(close[0], depth) : "");
                break;
            }
            default: tokens[i] = Pick(rng, Numbers); break;
        }
        return Encoding.UTF8.GetBytes(string.Concat(tokens));
    }

    private static byte[] LineMutate(byte[] data, Random rng)
    {
        var lines = Encoding.UTF8.GetString(data).Split('\n').ToList();
        int i = rng.Next(lines.Count), j = rng.Next(lines.Count);
        switch (rng.Next(4))
        {
            case 0: lines.RemoveAt(i); break;
            case 1: for (int k = rng.Next(1, rng.Next(2) == 0 ? 4 : 5000); k > 0; k--) lines.Insert(i, lines[i]); break;
            case 2: (lines[i], lines[j]) = (lines[j], lines[i]); break;
            default: lines.Insert(i, lines[j]); break;
        }
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    // ---- raw BPF ----

    /// <summary>Mutates one or more 8-byte <c>struct sock_filter</c> records: opcode, jumps, constant, or the record list.</summary>
    private static byte[] RecordMutate(byte[] data, Random rng)
    {
        int count = data.Length / 8;
        if (count == 0) return [.. data, .. Record(rng, 1)];
        var r = (byte[])data.Clone();
        int i = rng.Next(count);
        var rec = r.AsSpan(i * 8, 8);
        switch (rng.Next(9))
        {
            case 0: BinaryPrimitives.WriteUInt16LittleEndian(rec, rng.Next(4) == 0 ? (ushort)rng.Next(65536) : Pick(rng, Opcodes)); break;
            case 1: rec[2] = JumpOffset(rng, count - i - 1); break;
            case 2: rec[3] = JumpOffset(rng, count - i - 1); break;
            case 3: BinaryPrimitives.WriteUInt32LittleEndian(rec[4..], rng.Next(3) == 0 ? (uint)rng.NextInt64(1L << 32) : Pick(rng, Constants)); break;
            case 4: return [.. data.AsSpan(0, i * 8), .. data.AsSpan((i + 1) * 8)];
            case 5:
            {
                // Duplicate a record many times: lengths at and past BPF_MAXINSNS (4096).
                int copies = rng.Next(3) switch { 0 => 1, 1 => rng.Next(2, 100), _ => Math.Max(1, 4096 - count + rng.Next(-2, 3)) };
                var list = new List<byte>(data.Length + copies * 8);
                list.AddRange(data.AsSpan(0, (i + 1) * 8));
                for (int k = 0; k < copies; k++) list.AddRange(data.AsSpan(i * 8, 8));
                list.AddRange(data.AsSpan((i + 1) * 8));
                return [.. list];
            }
            case 6: { int j = rng.Next(count); var tmp = rec.ToArray(); r.AsSpan(j * 8, 8).CopyTo(rec); tmp.CopyTo(r.AsSpan(j * 8, 8)); break; }
            case 7: return [.. data.AsSpan(0, i * 8), .. Record(rng, rng.Next(1, 8)), .. data.AsSpan(i * 8)];
            default: return [.. data, .. Record(rng, 1).AsSpan(0, rng.Next(1, 8))]; // a trailing partial record
        }
        return r;
    }

    private static byte JumpOffset(Random rng, int toEnd) => rng.Next(4) switch
    {
        0 => 0,
        1 => (byte)Math.Clamp(toEnd, 0, 255),
        2 => (byte)Math.Clamp(toEnd + 1, 0, 255),
        _ => (byte)rng.Next(256),
    };

    private static byte[] Record(Random rng, int n)
    {
        var r = new byte[n * 8];
        for (int i = 0; i < n; i++)
        {
            var rec = r.AsSpan(i * 8, 8);
            BinaryPrimitives.WriteUInt16LittleEndian(rec, Pick(rng, Opcodes));
            rec[2] = (byte)rng.Next(3);
            rec[3] = (byte)rng.Next(3);
            BinaryPrimitives.WriteUInt32LittleEndian(rec[4..], Pick(rng, Constants));
        }
        return r;
    }
}
