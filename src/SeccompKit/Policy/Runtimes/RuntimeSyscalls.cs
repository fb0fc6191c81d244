using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Runtimes;

/// <summary>One measured configuration of a runtime: which syscalls it made after installing the filter there.</summary>
/// <param name="NoNewPrivileges">process.noNewPrivileges. When false, runc and crun install the filter earlier (before dropping privileges), so more follows it.</param>
/// <param name="Uid">process.user.uid of the container.</param>
/// <param name="Launch">"run" (foreground <c>run</c>) or "create+start" (what podman and containerd do).</param>
/// <param name="Runs">How many runs the set is the union of.</param>
/// <param name="Syscalls">The syscall names, sorted.</param>
public sealed record RuntimeConfiguration(bool NoNewPrivileges, int Uid, string Launch, int Runs, ImmutableArray<string> Syscalls);

/// <summary>
/// The syscalls an OCI runtime makes itself after it installs a container's seccomp filter, up to and including its
/// execve of the container process: a profile for a container must allow them, or the container never starts.
/// Measured once per runtime version (tools/measure-runtime-syscalls.sh, docs/RUNTIME-SYSCALLS.md).
/// </summary>
/// <param name="Runtime">"runc" or "crun".</param>
/// <param name="Version">The runtime version measured, as its <c>--version</c> prints it ("1.1.5+ds1").</param>
/// <param name="Architecture">The ABI the names belong to.</param>
/// <param name="Syscalls">The union over every configuration and run, sorted: what a profile must allow for any of them.</param>
/// <param name="Measured">The day of the measurement (UTC).</param>
/// <param name="Kernel">The kernel release it ran on.</param>
/// <param name="Runs">Container runs in all.</param>
/// <param name="Method">How it was measured, in one sentence.</param>
/// <param name="Configurations">The set of each configuration measured.</param>
public sealed record RuntimeSyscallSet(
    string Runtime, string Version, Architecture Architecture, ImmutableArray<string> Syscalls,
    DateOnly Measured, string Kernel, int Runs, string Method, ImmutableArray<RuntimeConfiguration> Configurations)
{
    /// <summary>
    /// Why the set may not fit <paramref name="target"/>: it was measured with another version of the runtime, which may
    /// make other calls after installing the filter. Null when the versions agree.
    /// </summary>
    public string? Mismatch(Oci.OciTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var measured = Oci.OciTarget.ParseVersion(Version);
        if (measured == target.Version) return null;
        return $"the syscalls {Runtime} makes after installing the filter were measured for {Runtime} {Version}, not {target}; " +
               "another version may call more: measure it with tools/measure-runtime-syscalls.sh";
    }

    /// <summary>
    /// What a seccomp-agent profile must not notify for this runtime (<c>beforeHandoff</c> in the data file), or null when
    /// it was not measured.
    /// </summary>
    public RuntimeHandoff? BeforeHandoff { get; init; }
}

/// <summary>
/// Which syscalls a seccomp-agent profile (SCMP_ACT_NOTIFY with <c>listenerPath</c>) must not notify for one runtime
/// version: those the runtime makes after installing the filter but before the agent has the notify descriptor (a
/// notified call then waits for an answer nobody can give: the container never starts, as in runc#4328), and those the
/// runtime refuses to notify at all (runc: <c>write</c>, which it needs to pass the descriptor number to its parent).
/// Measured by <c>tools/measure-runtime-syscalls.sh handoff</c> (docs/RUNTIME-SYSCALLS.md, "Before the hand-off").
/// </summary>
/// <param name="Syscalls">Each syscall that must not be notified, with why (sorted by name).</param>
/// <param name="DefaultNotify">Whether the runtime accepts SCMP_ACT_NOTIFY as the default action (runc 1.1 refuses it).</param>
/// <param name="RuntimeCallsNotified">The runtime's own calls an agent was notified of (from the container init, up to its execve) when everything else was notified.</param>
/// <param name="Version">The runtime version measured.</param>
/// <param name="Measured">The day of the measurement (UTC).</param>
/// <param name="Runs">Container runs in all.</param>
/// <param name="Method">How it was measured.</param>
public sealed record RuntimeHandoff(ImmutableSortedDictionary<string, string> Syscalls, bool DefaultNotify, ImmutableArray<string> RuntimeCallsNotified,
    string Version, DateOnly Measured, int Runs, string Method);

/// <summary>No measurement ships for the runtime asked for.</summary>
public sealed class UnknownRuntimeException : PolicyException
{
    /// <summary>Creates the exception; the message lists the runtimes that are known.</summary>
    public UnknownRuntimeException(string runtime, ImmutableArray<string> known)
        : base($"no measured syscalls for the container runtime '{runtime}'; known runtimes: {string.Join(", ", known)}. " +
               "Measure another with tools/measure-runtime-syscalls.sh RUNTIME and add data/runtimes/RUNTIME.json.")
    {
        Runtime = runtime;
        Known = known;
    }

    /// <summary>The runtime asked for.</summary>
    public string Runtime { get; }

    /// <summary>The runtimes that have data.</summary>
    public ImmutableArray<string> Known { get; }
}

/// <summary>
/// The measured syscall sets of the container runtimes, read from <c>data/runtimes/*.json</c> (embedded in this
/// assembly). <c>RuntimeSyscalls.For("runc").Syscalls</c> is what <c>learn --for runc</c> adds to a learned profile.
/// </summary>
public static class RuntimeSyscalls
{
    private const string ResourcePrefix = "SeccompKit.Runtimes.";
    private static readonly Dictionary<string, Lazy<RuntimeSyscallSet>> Sets = typeof(RuntimeSyscalls).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
        .ToDictionary(n => n[ResourcePrefix.Length..^".json".Length], n => new Lazy<RuntimeSyscallSet>(() => Load(n)), StringComparer.OrdinalIgnoreCase);

    /// <summary>The runtimes with a measured set, sorted ("crun", "runc").</summary>
    public static ImmutableArray<string> Known { get; } = [.. Sets.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The measured set of <paramref name="target"/>'s runtime (see <see cref="RuntimeSyscallSet.Mismatch"/> for its version).</summary>
    /// <exception cref="UnknownRuntimeException">No data for that runtime; the message lists the known ones.</exception>
    public static RuntimeSyscallSet For(Oci.OciTarget target) => For(target?.Runtime ?? throw new ArgumentNullException(nameof(target)));

    /// <summary>The measured set of <paramref name="runtime"/> ("runc" or "crun", any case).</summary>
    /// <exception cref="UnknownRuntimeException">No data for that runtime; the message lists the known ones.</exception>
    public static RuntimeSyscallSet For(string runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        return Sets.TryGetValue(runtime.Trim(), out var set) ? set.Value : throw new UnknownRuntimeException(runtime, Known);
    }

    private static RuntimeSyscallSet Load(string resource)
    {
        using var stream = typeof(RuntimeSyscalls).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded resource {resource} vanished");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "data/runtimes/" + resource[ResourcePrefix.Length..]);
    }

    /// <summary>
    /// Reads one data file, strictly: every field present and of the right type, no unknown field, the syscall lists
    /// sorted, unique, and names of <c>arch</c>'s table.
    /// </summary>
    /// <exception cref="PolicyException">The file is malformed; the message names the file and the JSON path.</exception>
    internal static RuntimeSyscallSet Parse(string json, string origin)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new PolicyException($"{origin} is not JSON: {e.Message}", PolicyLocation.InFile(origin)); }
        using (doc)
        {
            var root = doc.RootElement;
            Fields(root, "$", origin, ["runtime", "version", "versionOutput", "measured", "kernel", "arch", "runs", "syscalls", "method", "configurations", "seenInRuns", "beforeHandoff"]);
            string archName = String(root, "arch", "$", origin);
            if (!Architecture.TryGet(archName, out var arch))
                throw new PolicyException($"unknown arch '{archName}'", PolicyLocation.AtJsonPath("$.arch", origin));
            string measured = String(root, "measured", "$", origin);
            if (!DateOnly.TryParseExact(measured, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                throw new PolicyException($"'{measured}' is not a yyyy-MM-dd date", PolicyLocation.AtJsonPath("$.measured", origin));
            var configurations = Array(root, "configurations", "$", origin).Select((c, i) =>
            {
                string path = $"$.configurations[{i}]";
                Fields(c, path, origin, ["noNewPrivileges", "uid", "launch", "runs", "syscalls"]);
                return new RuntimeConfiguration(
                    Property(c, "noNewPrivileges", path, origin, JsonValueKind.True, JsonValueKind.False).GetBoolean(),
                    Int(c, "uid", path, origin), String(c, "launch", path, origin), Int(c, "runs", path, origin),
                    Names(c, "syscalls", path, origin, arch));
            }).ToImmutableArray();
            Array(root, "versionOutput", "$", origin);
            Property(root, "seenInRuns", "$", origin, JsonValueKind.Object);
            var syscalls = Names(root, "syscalls", "$", origin, arch);
            var missing = configurations.SelectMany(c => c.Syscalls).Except(syscalls).ToList();
            if (missing.Count > 0)
                throw new PolicyException($"the union lacks {string.Join(", ", missing)}, which a configuration lists", PolicyLocation.AtJsonPath("$.syscalls", origin));
            return new RuntimeSyscallSet(
                String(root, "runtime", "$", origin), String(root, "version", "$", origin), arch, syscalls, day,
                String(root, "kernel", "$", origin), Int(root, "runs", "$", origin), String(root, "method", "$", origin), configurations)
            {
                BeforeHandoff = root.TryGetProperty("beforeHandoff", out var h) ? Handoff(h, origin, arch) : null,
            };
        }
    }

    private static RuntimeHandoff Handoff(JsonElement h, string origin, Architecture arch)
    {
        const string path = "$.beforeHandoff";
        Fields(h, path, origin, ["measured", "version", "method", "defaultNotify", "syscalls", "runtimeCallsNotified", "runs", "configurations"]);
        string measured = String(h, "measured", path, origin);
        if (!DateOnly.TryParseExact(measured, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            throw new PolicyException($"'{measured}' is not a yyyy-MM-dd date", PolicyLocation.AtJsonPath(path + ".measured", origin));
        var d = Property(h, "defaultNotify", path, origin, JsonValueKind.Object);
        Fields(d, path + ".defaultNotify", origin, ["outcome", "detail"]);
        string outcome = String(d, "outcome", path + ".defaultNotify", origin);
        if (outcome is not ("started" or "refused"))
            throw new PolicyException($"'{outcome}' is not an outcome of the default-action test (started or refused)", PolicyLocation.AtJsonPath(path + ".defaultNotify.outcome", origin));
        String(d, "detail", path + ".defaultNotify", origin);
        var syscalls = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (var p in Property(h, "syscalls", path, origin, JsonValueKind.Object).EnumerateObject())
        {
            var at = PolicyLocation.AtJsonPath($"{path}.syscalls.{p.Name}", origin);
            if (!arch.Syscalls.Contains(p.Name)) throw new PolicyException($"'{p.Name}' is not a {arch.Name} syscall", at);
            if (p.Value.ValueKind != JsonValueKind.String) throw new PolicyException("expected the reason as a string", at);
            syscalls[p.Name] = p.Value.GetString()!;
        }
        Array(h, "configurations", path, origin);
        return new RuntimeHandoff(syscalls.ToImmutable(), outcome == "started", Names(h, "runtimeCallsNotified", path, origin, arch),
            String(h, "version", path, origin), day, Int(h, "runs", path, origin), String(h, "method", path, origin));
    }

    private static void Fields(JsonElement e, string path, string origin, string[] expected)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new PolicyException("expected an object", PolicyLocation.AtJsonPath(path, origin));
        foreach (var p in e.EnumerateObject())
            if (!expected.Contains(p.Name))
                throw new PolicyException($"unknown field '{p.Name}' (expected {string.Join(", ", expected)})", PolicyLocation.AtJsonPath(path, origin));
    }

    private static JsonElement Property(JsonElement e, string name, string path, string origin, params JsonValueKind[] kinds)
    {
        if (!e.TryGetProperty(name, out var v)) throw new PolicyException($"missing field '{name}'", PolicyLocation.AtJsonPath(path, origin));
        if (!kinds.Contains(v.ValueKind)) throw new PolicyException($"expected {string.Join(" or ", kinds)}, found {v.ValueKind}", PolicyLocation.AtJsonPath($"{path}.{name}", origin));
        return v;
    }

    private static string String(JsonElement e, string name, string path, string origin) => Property(e, name, path, origin, JsonValueKind.String).GetString()!;

    private static int Int(JsonElement e, string name, string path, string origin) =>
        Property(e, name, path, origin, JsonValueKind.Number).TryGetInt32(out int v) && v >= 0 ? v
            : throw new PolicyException("expected a non-negative 32-bit integer", PolicyLocation.AtJsonPath($"{path}.{name}", origin));

    private static JsonElement.ArrayEnumerator Array(JsonElement e, string name, string path, string origin) =>
        Property(e, name, path, origin, JsonValueKind.Array).EnumerateArray();

    private static ImmutableArray<string> Names(JsonElement e, string name, string path, string origin, Architecture arch)
    {
        var names = new List<string>();
        foreach (var (item, i) in Array(e, name, path, origin).Select((x, i) => (x, i)))
        {
            var at = PolicyLocation.AtJsonPath($"{path}.{name}[{i}]", origin);
            if (item.ValueKind != JsonValueKind.String) throw new PolicyException("expected a syscall name", at);
            string s = item.GetString()!;
            if (!arch.Syscalls.Contains(s)) throw new PolicyException($"'{s}' is not a {arch.Name} syscall", at);
            if (names.Count > 0 && string.CompareOrdinal(names[^1], s) >= 0)
                throw new PolicyException($"'{s}' is out of order or repeated: keep the list sorted (ordinal) and unique", at);
            names.Add(s);
        }
        return [.. names];
    }
}
