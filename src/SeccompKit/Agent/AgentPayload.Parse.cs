using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SeccompKit.Agent;

public sealed partial record AgentPayload
{
    /// <summary>
    /// The largest payload the agent reads: 1 MiB. The observed payloads are 190–346 bytes, about 1 KB under podman;
    /// what can grow is <c>state.annotations</c>, which Kubernetes caps at 256 KiB per pod (keys and values) and which
    /// JSON escaping can at most about triple for printable text. 1 MiB admits any such payload and still bounds what
    /// one connection can make the agent hold.
    /// </summary>
    public const int MaxSize = 1 << 20;

    /// <summary>
    /// The most descriptors a payload may name (and the agent's control buffer holds). Runtimes send one; the
    /// runtime-spec allows more (<c>fds</c> names each), so a few more are received, closed, and refused by count.
    /// </summary>
    public const int MaxFds = 16;

    /// <summary>The status runtimes send with a container's listener (runtime-spec state "creating"; runc 1.1.5, crun 1.8.1).</summary>
    public const string CreatingStatus = "creating";

    /// <summary>
    /// Parses and validates a payload as a runtime sent it (runtime-spec config-linux.md "containerProcessState"), UTF-8
    /// JSON, optionally followed by whitespace (crun ends it with a newline).
    /// </summary>
    /// <remarks>
    /// Strict where the spec is exact: the top-level object has only ociVersion, fds, pid, metadata and state, and an
    /// unknown field there is refused (it would change what the descriptors mean). <c>state</c> may carry more fields
    /// than the agent reads, as runtime-spec runtime.md allows ("additional properties MAY be added"); they are checked
    /// for duplicates only. Duplicate keys are refused anywhere: two readers of the same payload must not disagree.
    /// </remarks>
    /// <exception cref="AgentPayloadException">The payload is refused; the message has the JSON path and the reason.</exception>
    public static AgentPayload Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 0) throw new AgentPayloadException("$", "the payload is empty");
        if (utf8.Length > MaxSize) throw new AgentPayloadException("$", $"the payload has {utf8.Length} bytes, more than the {MaxSize} the agent reads");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        }
        catch (JsonException e)
        {
            throw new AgentPayloadException("$", $"not valid JSON at line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}: {FirstSentence(e.Message)}");
        }
        using (doc)
        {
            try
            {
                return Read(doc.RootElement);
            }
            catch (InvalidOperationException e)
            {
                // JsonElement.GetString throws this for a string whose \u escapes are a lone surrogate (not valid UTF-16).
                throw new AgentPayloadException("$", $"a string or key is not valid Unicode (a lone surrogate escape?): {FirstSentence(e.Message)}");
            }
        }
    }

    /// <summary>
    /// How many bytes of <paramref name="utf8"/> make up the first complete JSON value, or -1 while it is incomplete
    /// (more bytes may still come: a stream socket can deliver one <c>sendmsg</c> in several reads). Malformed input
    /// counts as complete (its length), so that <see cref="Parse"/> reports it.
    /// </summary>
    public static int CompleteLength(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, isFinalBlock: false, new JsonReaderState(new JsonReaderOptions { MaxDepth = 8 }));
        try
        {
            while (reader.Read())
                if (reader.CurrentDepth == 0 && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray or JsonTokenType.String or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null)
                    return (int)reader.BytesConsumed;
            return -1;
        }
        catch (JsonException)
        {
            return utf8.Length;
        }
    }

    private static readonly string[] TopLevel = ["ociVersion", "fds", "pid", "metadata", "state"];

    private static AgentPayload Read(JsonElement root)
    {
        var props = Properties(root, "$");
        foreach (var name in props.Keys)
            if (Array.IndexOf(TopLevel, name) < 0)
                throw new AgentPayloadException($"$.{name}", $"unknown field; a payload has {string.Join(", ", TopLevel)} (runtime-spec containerProcessState)");
        string ociVersion = RequiredString(props, "$", "ociVersion");
        var fds = ReadFds(Required(props, "$", "fds"));
        int pid = ReadPid(Required(props, "$", "pid"), "$.pid");
        string? metadata = props.TryGetValue("metadata", out var m) ? String(m, "$.metadata") : null;
        var state = ReadState(Required(props, "$", "state"));
        if (state.Pid != pid)
            throw new AgentPayloadException("$.pid", $"is {pid} but $.state.pid is {state.Pid}; a runtime sends the container init's pid in both");
        return new AgentPayload(ociVersion, fds, pid, metadata, state);
    }

    private static ImmutableArray<string> ReadFds(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Type("$.fds", "an array of descriptor names", e);
        int n = e.GetArrayLength();
        if (n == 0) throw new AgentPayloadException("$.fds", $"is empty; it must name the descriptors sent, among them \"{SeccompFdName}\"");
        if (n > MaxFds) throw new AgentPayloadException("$.fds", $"names {n} descriptors; the agent takes at most {MaxFds}");
        var names = ImmutableArray.CreateBuilder<string>(n);
        int i = 0;
        foreach (var item in e.EnumerateArray())
        {
            string path = $"$.fds[{i++}]";
            string name = String(item, path);
            if (names.Contains(name)) throw new AgentPayloadException(path, $"\"{Shown(name)}\" is named twice");
            names.Add(name);
        }
        if (!names.Contains(SeccompFdName))
            throw new AgentPayloadException("$.fds", $"does not name \"{SeccompFdName}\", the seccomp notify descriptor (runc and crun send [\"{SeccompFdName}\"])");
        return names.MoveToImmutable();
    }

    private static ContainerState ReadState(JsonElement e)
    {
        const string at = "$.state";
        var props = Properties(e, at);
        string ociVersion = RequiredString(props, at, "ociVersion");
        string id = RequiredString(props, at, "id");
        if (!ContainerIdPattern().IsMatch(id))
            throw new AgentPayloadException($"{at}.id", $"\"{Shown(id)}\" is not a safe container id: the agent names result files after it, so it must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,127}}");
        string status = RequiredString(props, at, "status");
        if (status != CreatingStatus)
            throw new AgentPayloadException($"{at}.status", $"is \"{Shown(status)}\"; the agent serves a container's filter sent at creation (\"{CreatingStatus}\"), not a process started later in a running container (crun exec sends \"running\")");
        int pid = ReadPid(Required(props, at, "pid"), $"{at}.pid");
        string bundle = RequiredString(props, at, "bundle");
        if (bundle.Length == 0) throw new AgentPayloadException($"{at}.bundle", "is empty; it must be the bundle directory");
        var annotations = ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);
        if (props.TryGetValue("annotations", out var a))
        {
            var entries = Properties(a, $"{at}.annotations");
            var builder = annotations.ToBuilder();
            foreach (var (key, value) in entries) builder[key] = String(value, $"{at}.annotations[\"{Shown(key)}\"]");
            annotations = builder.ToImmutable();
        }
        return new ContainerState(ociVersion, id, status, pid, bundle, annotations);
    }

    /// <summary>The properties of an object, refusing a non-object and duplicate keys.</summary>
    private static Dictionary<string, JsonElement> Properties(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Type(path, "an object", e);
        var props = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
            if (!props.TryAdd(p.Name, p.Value))
                throw new AgentPayloadException($"{path}.{Shown(p.Name)}", "appears twice; a payload with duplicate keys is ambiguous and refused");
        return props;
    }

    private static JsonElement Required(Dictionary<string, JsonElement> props, string at, string name) =>
        props.TryGetValue(name, out var v) ? v : throw new AgentPayloadException($"{at}.{name}", "is missing (required by runtime-spec)");

    private static string RequiredString(Dictionary<string, JsonElement> props, string at, string name) => String(Required(props, at, name), $"{at}.{name}");

    private static string String(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Type(path, "a string", e);

    private static int ReadPid(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Number) throw Type(path, "a process id (a positive integer)", e);
        if (!e.TryGetInt32(out int pid) || pid <= 0)
            throw new AgentPayloadException(path, $"{e.GetRawText()} is not a process id (a positive 32-bit integer)");
        return pid;
    }

    private static AgentPayloadException Type(string path, string expected, JsonElement got) =>
        new(path, $"must be {expected}, not {Kind(got.ValueKind)}");

    private static string Kind(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>A value as it may be shown in a message: at most 80 characters, control characters escaped (it goes to logs).</summary>
    internal static string Shown(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > 80 ? s[..80] : s)
            if (char.IsControl(c) || char.IsSurrogate(c)) sb.Append($"\\u{(int)c:x4}");
            else sb.Append(c);
        if (s.Length > 80) sb.Append('…');
        return sb.ToString();
    }

    private static string FirstSentence(string message)
    {
        int i = message.IndexOf(". ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message.TrimEnd('.');
    }

    /// <summary>A container id the agent accepts: it becomes a file name in the output directory.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\z", RegexOptions.CultureInvariant)]
    internal static partial Regex ContainerIdPattern();
}
