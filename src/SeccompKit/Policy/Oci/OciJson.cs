using System.Collections.Immutable;
using System.Text;
using System.Text.Json;

namespace SeccompKit.Policy.Oci;

/// <summary>
/// Reads and writes the OCI <c>linux.seccomp</c> JSON object. Reading accepts either the seccomp object itself
/// or a whole <c>config.json</c> (then <c>linux.seccomp</c> is used). Unknown properties are reported as warnings
/// with their JSON path, as the runtime-spec requires them to be ignored; wrong types are a
/// <see cref="PolicyException"/> with the path.
/// </summary>
public static class OciJson
{
    /// <summary>Reads the text into the DTO, with notes about ignored or odd input.</summary>
    /// <exception cref="PolicyException">Invalid JSON (with line and column) or a value of the wrong type (with its JSON path).</exception>
    public static (OciSeccomp Seccomp, ImmutableArray<PolicyDiagnostic> Diagnostics) Read(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var diagnostics = new List<PolicyDiagnostic>();
        using var doc = JsonWalker.Parse(json);
        var root = doc.RootElement;
        string path = "$";
        // A whole config.json: take linux.seccomp and ignore the rest of the bundle configuration.
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ociVersion", out _) && root.TryGetProperty("linux", out var linux))
        {
            path = "$.linux.seccomp";
            if (linux.ValueKind != JsonValueKind.Object || !linux.TryGetProperty("seccomp", out root))
                throw new PolicyException("this config.json has no linux.seccomp object; add one or pass the seccomp object itself.", PolicyLocation.AtJsonPath("$.linux"));
        }
        var seccomp = ReadSeccomp(new JsonWalker(diagnostics), root, path);
        return (seccomp, [.. diagnostics]);
    }

    internal static OciSeccomp ReadSeccomp(JsonWalker w, JsonElement e, string path)
    {
        var s = new OciSeccomp();
        w.Object(e, path, "linux.seccomp", new Dictionary<string, Action<JsonElement, string>>
        {
            ["defaultAction"] = (v, p) => s = s with { DefaultAction = JsonWalker.String(v, p, "defaultAction") },
            ["defaultErrnoRet"] = (v, p) => s = s with { DefaultErrnoRet = JsonWalker.UInt64(v, p, "defaultErrnoRet") },
            ["architectures"] = (v, p) => s = s with { Architectures = JsonWalker.StringArray(v, p, "architectures") },
            ["flags"] = (v, p) => s = s with { Flags = JsonWalker.StringArray(v, p, "flags") },
            ["listenerPath"] = (v, p) => s = s with { ListenerPath = JsonWalker.String(v, p, "listenerPath") },
            ["listenerMetadata"] = (v, p) => s = s with { ListenerMetadata = JsonWalker.String(v, p, "listenerMetadata") },
            ["syscalls"] = (v, p) => s = s with { Syscalls = JsonWalker.Array(v, p, "syscalls", (x, xp) => ReadSyscall(w, x, xp)) },
        });
        return s;
    }

    internal static OciSyscall ReadSyscall(JsonWalker w, JsonElement e, string path)
    {
        var s = new OciSyscall { Origin = path };
        if (e.ValueKind == JsonValueKind.Null) return s; // Go: a zero entry with no names, which does nothing
        w.Object(e, path, "a syscalls entry", new Dictionary<string, Action<JsonElement, string>>
        {
            ["names"] = (v, p) => s = s with { Names = JsonWalker.StringArray(v, p, "names") },
            ["action"] = (v, p) => s = s with { Action = JsonWalker.String(v, p, "action") },
            ["errnoRet"] = (v, p) => s = s with { ErrnoRet = JsonWalker.UInt64(v, p, "errnoRet") },
            ["args"] = (v, p) => s = s with { Args = JsonWalker.Array(v, p, "args", (x, xp) => ReadArg(w, x, xp)) },
        }, (name, at) => w.Diagnostics.Add(new(DiagnosticSeverity.Warning, at, name == "name"
            ? "'name' is a Docker profile field, not OCI: runc ignores it, so this entry's name does nothing. Use \"names\": [ ... ]."
            : $"unknown property '{name}' in a syscalls entry; the runtime-spec says to ignore it, so it has no effect.")));
        return s;
    }

    internal static OciArg ReadArg(JsonWalker w, JsonElement e, string path)
    {
        var a = new OciArg();
        if (e.ValueKind == JsonValueKind.Null) return a; // Go: a zero condition, whose empty op runc then refuses
        w.Object(e, path, "an args entry", new Dictionary<string, Action<JsonElement, string>>
        {
            ["index"] = (v, p) => a = a with { Index = JsonWalker.UInt64(v, p, "index") },
            ["value"] = (v, p) => a = a with { Value = JsonWalker.UInt64(v, p, "value") },
            ["valueTwo"] = (v, p) => a = a with { ValueTwo = JsonWalker.UInt64(v, p, "valueTwo") },
            ["op"] = (v, p) => a = a with { Op = JsonWalker.String(v, p, "op") },
        });
        return a;
    }

    /// <summary>Writes the DTO as indented JSON, fields in the runtime-spec's order, omitting absent ones.</summary>
    public static string Write(OciSeccomp seccomp)
    {
        ArgumentNullException.ThrowIfNull(seccomp);
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            j.WriteStartObject();
            if (seccomp.DefaultAction is not null) j.WriteString("defaultAction", seccomp.DefaultAction);
            if (seccomp.DefaultErrnoRet is { } d) j.WriteNumber("defaultErrnoRet", d);
            WriteStrings(j, "architectures", seccomp.Architectures);
            WriteStrings(j, "flags", seccomp.Flags);
            if (seccomp.ListenerPath is not null) j.WriteString("listenerPath", seccomp.ListenerPath);
            if (seccomp.ListenerMetadata is not null) j.WriteString("listenerMetadata", seccomp.ListenerMetadata);
            if (seccomp.Syscalls is not null)
            {
                j.WriteStartArray("syscalls");
                foreach (var s in seccomp.Syscalls) WriteSyscall(j, s);
                j.WriteEndArray();
            }
            j.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>One <c>syscalls</c> entry as compact JSON on one line (as complain mode prints a patch), fields as <see cref="Write"/> writes them.</summary>
    public static string WriteEntry(OciSyscall syscall)
    {
        ArgumentNullException.ThrowIfNull(syscall);
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms)) WriteSyscall(j, syscall);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteSyscall(Utf8JsonWriter j, OciSyscall s)
    {
        j.WriteStartObject();
        WriteStrings(j, "names", s.Names);
        j.WriteString("action", s.Action);
        if (s.ErrnoRet is { } e) j.WriteNumber("errnoRet", e);
        if (s.Args.Count > 0)
        {
            j.WriteStartArray("args");
            foreach (var a in s.Args)
            {
                j.WriteStartObject();
                j.WriteNumber("index", a.Index);
                j.WriteNumber("value", a.Value);
                j.WriteNumber("valueTwo", a.ValueTwo);
                j.WriteString("op", a.Op);
                j.WriteEndObject();
            }
            j.WriteEndArray();
        }
        j.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter j, string name, IReadOnlyList<string>? values)
    {
        if (values is null) return;
        j.WriteStartArray(name);
        foreach (var v in values) j.WriteStringValue(v);
        j.WriteEndArray();
    }
}
