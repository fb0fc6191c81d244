using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;

namespace SeccompKit.Agent;

/// <summary>
/// The agent's configuration (<c>seccompkit agent --config FILE</c>), a JSON object whose fields are all optional:
/// <code>
/// {
///   "allowedUids": [0],                      // who may send listeners (SO_PEERCRED uid); default [0]
///   "socketGroup": "containers",             // group name or gid: the socket is then 0660 and owned by it; default none (0600)
///   "defaultMode": "learn",                  // mode for containers without listenerMetadata; default none (refused)
///   "profiles": { "web": "profiles/web.json" },   // complain:NAME: policy files (any format PolicyFile reads), relative to this file
///   "rulesets": { "lab": { ... } }           // supervise:NAME: ruleset definitions, kept as JSON for the ruleset reader
/// }
/// </code>
/// Profiles are loaded when the configuration is, so a broken profile stops the agent before it listens, not when a
/// container asks for it. Unknown fields are refused (a misspelt field would otherwise be silently ignored).
/// </summary>
public sealed record AgentConfig
{
    /// <summary>The uids allowed to send listeners (SO_PEERCRED at connect). Default: root only.</summary>
    public ImmutableArray<uint> AllowedUids { get; init; } = [0];

    /// <summary>A group (name or numeric gid) given access to the socket (0660), or null for owner only (0600).</summary>
    public string? SocketGroup { get; init; }

    /// <summary>The mode of a container whose config has no <c>listenerMetadata</c>; null to refuse such containers.</summary>
    public ContainerMode? DefaultMode { get; init; }

    /// <summary>Profiles for <c>complain:NAME</c>, loaded.</summary>
    public ImmutableDictionary<string, SeccompPolicy> Profiles { get; init; } = ImmutableDictionary<string, SeccompPolicy>.Empty;

    /// <summary>Ruleset definitions for <c>supervise:NAME</c>, as written (cloned: they outlive the file's document).</summary>
    public ImmutableDictionary<string, JsonElement> Rulesets { get; init; } = ImmutableDictionary<string, JsonElement>.Empty;

    /// <summary>Where it was loaded from (null for the built-in default).</summary>
    public string? Source { get; init; }

    /// <summary>Most profiles one configuration may name (each is a file read and checked when the agent starts).</summary>
    public const int MaxProfiles = 1000;

    private static readonly string[] Fields = ["allowedUids", "socketGroup", "defaultMode", "profiles", "rulesets"];

    /// <summary>Reads and validates a configuration file.</summary>
    /// <exception cref="AgentConfigException">It cannot be read, is not JSON, or a value is wrong (the message has the JSON path).</exception>
    public static AgentConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = InputFile.ReadAllText(path);
        }
        catch (InputFileException e)
        {
            throw new AgentConfigException(path, "$", $"cannot be read: {e.Reason}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Validates a configuration already read; <paramref name="path"/> names it in messages and anchors relative profile paths.</summary>
    /// <exception cref="AgentConfigException">Not JSON, or a value is wrong.</exception>
    public static AgentConfig Parse(string text, string path)
    {
        JsonDocument doc;
        try
        {
            // A \uD800 escape without its pair is read as U+FFFD, as the profile readers do (JsonWalker): .NET would
            // otherwise throw on reading the string, outside the config's error handling (found by tools/Fuzz).
            doc = JsonDocument.Parse(Policy.Oci.JsonWalker.ReplaceLoneSurrogateEscapes(text), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            var (line, column) = Policy.Oci.JsonWalker.Position(text, e);
            throw new AgentConfigException(path, "$", $"not valid JSON at line {line}, column {column}: {Policy.Oci.JsonWalker.Describe(e)}; fix the syntax there", e);
        }
        using (doc)
        {
            try
            {
                return Read(doc.RootElement, path);
            }
            catch (InvalidOperationException e)
            {
                throw new AgentConfigException(path, "$", $"a string is not valid Unicode: {e.Message}", e);
            }
        }
    }

    private static AgentConfig Read(JsonElement root, string path)
    {
        var props = Object(root, path, "$");
        foreach (var name in props.Keys)
            if (Array.IndexOf(Fields, name) < 0)
                throw new AgentConfigException(path, $"$.{name}", $"unknown field; the agent's configuration has {string.Join(", ", Fields)}");
        var config = new AgentConfig { Source = path };
        if (props.TryGetValue("allowedUids", out var uids))
        {
            if (uids.ValueKind != JsonValueKind.Array) throw new AgentConfigException(path, "$.allowedUids", "must be an array of uids, e.g. [0]");
            var list = ImmutableArray.CreateBuilder<uint>();
            int i = 0;
            foreach (var u in uids.EnumerateArray())
            {
                if (u.ValueKind != JsonValueKind.Number || !u.TryGetUInt32(out uint uid) || uid == uint.MaxValue)
                    throw new AgentConfigException(path, $"$.allowedUids[{i}]", "must be a uid (an integer from 0 to 4294967294)");
                list.Add(uid);
                i++;
            }
            if (list.Count == 0) throw new AgentConfigException(path, "$.allowedUids", "is empty: no runtime could send a listener; list the uid the runtimes run as (0 for root)");
            config = config with { AllowedUids = list.ToImmutable() };
        }
        if (props.TryGetValue("socketGroup", out var g))
        {
            string group = g.ValueKind switch
            {
                JsonValueKind.String when g.GetString()!.Length > 0 => g.GetString()!,
                JsonValueKind.Number when g.TryGetUInt32(out uint gid) && gid != uint.MaxValue => gid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => throw new AgentConfigException(path, "$.socketGroup", "must be a group name or a gid"),
            };
            config = config with { SocketGroup = group };
        }
        var profiles = ImmutableDictionary.CreateBuilder<string, SeccompPolicy>(StringComparer.Ordinal);
        if (props.TryGetValue("profiles", out var p))
        {
            string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? "/";
            var entries = Object(p, path, "$.profiles");
            if (entries.Count > MaxProfiles)
                throw new AgentConfigException(path, "$.profiles", $"names {entries.Count} profiles; at most {MaxProfiles} are read (each is loaded and checked at start); keep the ones containers use");
            // Each file is loaded once however many names share it: a configuration repeating one profile under
            // thousands of names took 42 s and 8 GiB before (tools/Fuzz, issue 17).
            var loaded = new Dictionary<string, SeccompPolicy>(StringComparer.Ordinal);
            foreach (var (name, value) in entries)
            {
                string at = $"$.profiles.{name}";
                if (!ContainerMode.IsValidName(name)) throw new AgentConfigException(path, at, $"\"{name}\" is not a profile name: {ContainerMode.Grammar}");
                if (value.ValueKind != JsonValueKind.String || value.GetString()!.Length == 0) throw new AgentConfigException(path, at, "must be the path of a policy file");
                // A NUL cannot be in a path (the runtime's GetFullPath throws ArgumentException on it; found by tools/Fuzz).
                if (value.GetString()!.Contains('\0', StringComparison.Ordinal)) throw new AgentConfigException(path, at, "must be the path of a policy file, and a path cannot contain a NUL character (\\u0000)");
                string file = System.IO.Path.GetFullPath(value.GetString()!, dir);
                try
                {
                    if (!loaded.TryGetValue(file, out var policy)) loaded[file] = policy = PolicyFile.Load(file).Policy;
                    profiles[name] = policy;
                }
                catch (PolicyException e)
                {
                    throw new AgentConfigException(path, at, $"the profile cannot be loaded: {e.Message}", e);
                }
            }
        }
        var rulesets = ImmutableDictionary.CreateBuilder<string, JsonElement>(StringComparer.Ordinal);
        if (props.TryGetValue("rulesets", out var r))
            foreach (var (name, value) in Object(r, path, "$.rulesets"))
            {
                string at = $"$.rulesets.{name}";
                if (!ContainerMode.IsValidName(name)) throw new AgentConfigException(path, at, $"\"{name}\" is not a ruleset name: {ContainerMode.Grammar}");
                if (value.ValueKind != JsonValueKind.Object) throw new AgentConfigException(path, at, "must be an object (a ruleset definition)");
                rulesets[name] = value.Clone();
            }
        config = config with { Profiles = profiles.ToImmutable(), Rulesets = rulesets.ToImmutable() };
        if (props.TryGetValue("defaultMode", out var d))
        {
            if (d.ValueKind != JsonValueKind.String) throw new AgentConfigException(path, "$.defaultMode", $"must be a string: {ContainerMode.Grammar}");
            ContainerMode mode;
            try
            {
                mode = ContainerMode.Parse(d.GetString(), null);
            }
            catch (ContainerModeException e)
            {
                throw new AgentConfigException(path, "$.defaultMode", e.Message, e);
            }
            if (mode is ContainerMode.Complain c && !config.Profiles.ContainsKey(c.Profile))
                throw new AgentConfigException(path, "$.defaultMode", $"names the profile \"{c.Profile}\", which $.profiles does not define");
            config = config with { DefaultMode = mode };
        }
        return config;
    }

    private static Dictionary<string, JsonElement> Object(JsonElement e, string file, string at)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new AgentConfigException(file, at, "must be an object");
        var props = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
            if (!props.TryAdd(p.Name, p.Value)) throw new AgentConfigException(file, $"{at}.{p.Name}", "appears twice");
        return props;
    }
}
