using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Agent;

/// <summary>What a ruleset answers a <c>mknod</c>/<c>mknodat</c>, decided from its register arguments only.</summary>
public enum MknodVerdict
{
    /// <summary>Not a device (FIFO, socket, regular file): it needs no privilege, the kernel runs it as the caller (Continue).</summary>
    NotADevice,
    /// <summary>The whiteout (c 0:0), allowed: the kernel lets the caller make it itself since Linux 5.8 (Continue).</summary>
    Whiteout,
    /// <summary>An allowed device: the agent creates it on the caller's behalf.</summary>
    Create,
    /// <summary>A device the ruleset does not allow: fails with <see cref="RulesetSpec.Errno"/>.</summary>
    Refuse,
}

/// <summary>
/// A <c>supervise:RULESET</c> ruleset: which device nodes the agent creates for a container (<see cref="Devices"/>), which
/// mounts it performs (<see cref="Mounts"/>), and the errno every other handled call fails with (<see cref="Errno"/>).
/// The built-in <see cref="BuiltinDevices"/> is LXD's <c>security.syscalls.intercept.mknod</c> list; more come from the
/// agent's configuration (<see cref="Parse"/>). Library users can also register rulesets with their own handlers
/// (<c>SeccompKit.Linux.Agent.RulesetRegistry</c>).
/// </summary>
/// <param name="Name">The ruleset's name, as <c>supervise:NAME</c> selects it.</param>
/// <param name="Devices">The device nodes the agent creates; null when the ruleset does not handle mknod.</param>
/// <param name="Mounts">The mount rules; null when the ruleset does not handle mount.</param>
/// <param name="Errno">The errno of every refused call (1..4095; EPERM by default).</param>
public sealed record RulesetSpec(string Name, ImmutableArray<DeviceNode>? Devices, ImmutableArray<MountRule>? Mounts, int Errno)
{
    /// <summary>The name of the built-in ruleset.</summary>
    public const string BuiltinDevicesName = "devices";

    /// <summary>
    /// The character devices a container may always create (LXD's <c>device_allowed</c>, lxd/seccomp/seccomp.go): 0:0 whiteout,
    /// 1:3 null, 1:5 zero, 1:7 full, 1:8 random, 1:9 urandom, 5:0 tty, 5:1 console. All character devices: LXD refuses every
    /// block device.
    /// </summary>
    public static ImmutableArray<DeviceNode> SafeDevices { get; } =
    [
        new(DeviceKind.Character, 0, 0), new(DeviceKind.Character, 1, 3), new(DeviceKind.Character, 1, 5), new(DeviceKind.Character, 1, 7),
        new(DeviceKind.Character, 1, 8), new(DeviceKind.Character, 1, 9), new(DeviceKind.Character, 5, 0), new(DeviceKind.Character, 5, 1),
    ];

    /// <summary>The built-in ruleset <c>devices</c>: mknod of <see cref="SafeDevices"/>, EPERM for any other device, no mounts.</summary>
    public static RulesetSpec BuiltinDevices { get; } = new(BuiltinDevicesName, SafeDevices, null, 1);

    /// <summary>
    /// The syscalls this ruleset's handlers decide, by name (what <c>agent profile</c> makes the container notify):
    /// <c>mknod</c> and <c>mknodat</c> when it has devices, <c>mount</c> when it has mount rules.
    /// </summary>
    public ImmutableArray<string> Syscalls =>
        [.. Devices is null ? [] : new[] { "mknod", "mknodat" }, .. Mounts is null ? [] : new[] { "mount" }];

    /// <summary>Decides a <c>mknod</c> from its <c>mode</c> and <c>dev</c> registers (no memory is read).</summary>
    public (MknodVerdict Verdict, DeviceNode? Device) DecideMknod(ulong mode, ulong dev)
    {
        var node = DeviceNode.FromSyscall(mode, dev);
        if (node is not DeviceNode d) return (MknodVerdict.NotADevice, null);
        if (Devices is not { } allowed || !allowed.Contains(d)) return (MknodVerdict.Refuse, d);
        return (d.IsWhiteout ? MknodVerdict.Whiteout : MknodVerdict.Create, d);
    }

    /// <summary>Decides a mount (refused when the ruleset has no mount rules).</summary>
    public MountDecision DecideMount(MountRequest request) =>
        Mounts is { } rules ? MountDecision.For(request, rules) : MountDecision.Refuse($"ruleset '{Name}' performs no mounts");

    /// <summary>Is <paramref name="name"/> a valid ruleset name (<c>[A-Za-z0-9][A-Za-z0-9_.-]{0,63}</c>)?</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 64 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary>
    /// Reads the configuration's <c>rulesets</c> object (<c>{ "NAME": { ... }, ... }</c>) at <paramref name="jsonPath"/>.
    /// Names must be valid and must not redefine the built-in <c>devices</c>. Errors are <see cref="PolicyException"/>s
    /// located by JSON path.
    /// </summary>
    public static ImmutableDictionary<string, RulesetSpec> ParseAll(JsonElement rulesets, string jsonPath)
    {
        JsonWalker.Expect(rulesets, JsonValueKind.Object, jsonPath, "rulesets");
        var result = ImmutableDictionary.CreateBuilder<string, RulesetSpec>(StringComparer.Ordinal);
        foreach (var p in rulesets.EnumerateObject())
        {
            string at = JsonWalker.Member(jsonPath, p.Name);
            if (!IsValidName(p.Name))
                throw new PolicyException($"ruleset name '{p.Name}' is not valid; use letters, digits, '_', '.' and '-' (first a letter or digit, at most 64).", PolicyLocation.AtJsonPath(at));
            if (p.Name == BuiltinDevicesName)
                throw new PolicyException($"'{BuiltinDevicesName}' is the built-in ruleset and cannot be redefined; give yours another name (it may list \"safe\" in its devices).", PolicyLocation.AtJsonPath(at));
            if (result.ContainsKey(p.Name))
                throw new PolicyException($"ruleset '{p.Name}' is defined twice; keep one.", PolicyLocation.AtJsonPath(at));
            result[p.Name] = Parse(p.Name, p.Value, at);
        }
        return result.ToImmutable();
    }

    /// <summary>
    /// Reads the rulesets of an agent configuration (<see cref="AgentConfig.Rulesets"/>, kept there as JSON): each at
    /// <c>$.rulesets.NAME</c>. A bad one is an <see cref="AgentConfigException"/> naming the file and the JSON path, so the
    /// agent refuses to start rather than refuse containers later.
    /// </summary>
    public static ImmutableDictionary<string, RulesetSpec> FromConfig(AgentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string file = config.Source ?? "the agent configuration";
        var result = ImmutableDictionary.CreateBuilder<string, RulesetSpec>(StringComparer.Ordinal);
        foreach (var (name, json) in config.Rulesets.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            string at = JsonWalker.Member("$.rulesets", name);
            if (name == BuiltinDevicesName)
                throw new AgentConfigException(file, at, $"'{BuiltinDevicesName}' is the built-in ruleset and cannot be redefined; give yours another name (it may list \"safe\" in its devices)");
            if (!IsValidName(name))
                throw new AgentConfigException(file, at, $"ruleset name '{name}' is not valid; use letters, digits, '_', '.' and '-' (first a letter or digit, at most 64)");
            try
            {
                result[name] = Parse(name, json, at);
            }
            catch (PolicyException e)
            {
                throw new AgentConfigException(file, e.Location?.JsonPath ?? at, e.Reason, e);
            }
        }
        return result.ToImmutable();
    }

    /// <summary>
    /// Reads one ruleset (see docs/AGENT.md, "Rulesets"):
    /// <c>{ "devices": ["safe", "c 10:200"], "mounts": [{ "fstype": "tmpfs", "target": "/mnt/**", "options": ["size"],
    /// "force": ["nosuid", "nodev"] }], "errno": "EPERM" }</c>. Unknown properties are errors.
    /// </summary>
    public static RulesetSpec Parse(string name, JsonElement ruleset, string jsonPath)
    {
        if (!IsValidName(name)) throw new ArgumentException($"'{name}' is not a valid ruleset name", nameof(name));
        ImmutableArray<DeviceNode>? devices = null;
        ImmutableArray<MountRule>? mounts = null;
        int errno = 1;
        Strict(ruleset, jsonPath, $"ruleset '{name}'", new Dictionary<string, Action<JsonElement, string>>
        {
            ["devices"] = (e, at) => devices = ParseDevices(e, at),
            ["mounts"] = (e, at) => mounts = [.. JsonWalker.Array(e, at, "mounts", ParseMount)],
            ["errno"] = (e, at) => errno = ParseErrno(e, at),
        });
        if (devices is null && mounts is null)
            throw new PolicyException($"ruleset '{name}' handles nothing; give it \"devices\" (mknod) or \"mounts\" (mount), or both.", PolicyLocation.AtJsonPath(jsonPath));
        return new RulesetSpec(name, devices, mounts, errno);
    }

    private static ImmutableArray<DeviceNode> ParseDevices(JsonElement e, string path)
    {
        var list = new List<DeviceNode>();
        int i = 0;
        foreach (var item in JsonWalker.StringArray(e, path, "devices"))
        {
            string at = $"{path}[{i++}]";
            if (item == "safe") { list.AddRange(SafeDevices); continue; }
            if (DeviceNode.TryParse(item, out var problem) is not DeviceNode d)
                throw new PolicyException($"'{item}' is not a device: {problem}; or write \"safe\" for LXD's safe character devices.", PolicyLocation.AtJsonPath(at));
            list.Add(d);
        }
        return [.. list.Distinct()];
    }

    /// <summary>
    /// Filesystem types that take their content from the namespaces of whoever creates them (proc: the pid namespace,
    /// sysfs: the network namespace, mqueue: the IPC namespace, devpts, cgroup: the cgroup namespace, and the kernel's
    /// own pseudo filesystems). The agent creates the filesystem in its own namespaces (fsopen), so the container would
    /// get the host's view: such rules are refused.
    /// </summary>
    public static IReadOnlySet<string> HostBoundFilesystems { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "proc", "sysfs", "mqueue", "devpts", "cgroup", "cgroup2", "bpf", "binfmt_misc", "debugfs", "tracefs", "securityfs",
        "configfs", "fusectl", "pstore", "efivarfs", "nsfs", "selinuxfs", "rpc_pipefs", "nfsd",
    };

    private static MountRule ParseMount(JsonElement e, string path)
    {
        string? fstype = null, target = null;
        PathPattern? source = null;
        var options = ImmutableArray<string>.Empty;
        var force = ForcedMountFlags.None;
        Strict(e, path, "a mount rule", new Dictionary<string, Action<JsonElement, string>>
        {
            ["fstype"] = (v, at) =>
            {
                fstype = NonEmpty(v, at, "fstype");
                if (HostBoundFilesystems.Contains(fstype))
                    throw new PolicyException($"'{fstype}' cannot be mounted for a container by the agent: it would show the host's namespaces (the agent creates the filesystem in its own); let the container mount it itself, or leave it out.", PolicyLocation.AtJsonPath(at));
            },
            ["source"] = (v, at) => source = PathPattern.Create(NonEmpty(v, at, "source")),
            ["target"] = (v, at) =>
            {
                target = NonEmpty(v, at, "target");
                if (target[0] != '/') throw new PolicyException($"target '{target}' must be an absolute path pattern (e.g. \"/mnt/*\").", PolicyLocation.AtJsonPath(at));
            },
            ["options"] = (v, at) => options = [.. JsonWalker.StringArray(v, at, "options").Select((o, i) =>
                o.Length == 0 || o.Contains(',') || o.Contains('=') || o == "source"
                    ? throw new PolicyException($"'{o}' is not a mount option key; list keys only, e.g. \"size\", \"mode\".", PolicyLocation.AtJsonPath($"{at}[{i}]"))
                    : o)],
            ["force"] = (v, at) =>
            {
                int i = 0;
                foreach (var f in JsonWalker.StringArray(v, at, "force"))
                {
                    force |= f switch
                    {
                        "ro" => ForcedMountFlags.ReadOnly,
                        "nosuid" => ForcedMountFlags.NoSuid,
                        "nodev" => ForcedMountFlags.NoDev,
                        "noexec" => ForcedMountFlags.NoExec,
                        _ => throw new PolicyException($"'{f}' cannot be forced; use \"ro\", \"nosuid\", \"nodev\" or \"noexec\".", PolicyLocation.AtJsonPath($"{at}[{i}]")),
                    };
                    i++;
                }
            },
        });
        if (fstype is null) throw new PolicyException("a mount rule needs \"fstype\" (e.g. \"tmpfs\").", PolicyLocation.AtJsonPath(path));
        if (target is null) throw new PolicyException("a mount rule needs \"target\" (an absolute path pattern, e.g. \"/mnt/*\").", PolicyLocation.AtJsonPath(path));
        return new MountRule(fstype, source, PathPattern.Create(target), options, force);
    }

    /// <summary>
    /// Longest mount source or target pattern: PATH_MAX (4096, linux/limits.h), the longest path mount(2) takes, so a
    /// longer pattern could only match what the kernel refuses. (A 170,000-character source made the pattern's regular
    /// expression take 7 GiB to build; tools/Fuzz, issue 17.)
    /// </summary>
    public const int MaxPatternLength = 4096;

    private static string NonEmpty(JsonElement e, string at, string what)
    {
        string s = JsonWalker.String(e, at, what);
        if (s.Length > MaxPatternLength)
            throw new PolicyException(string.Create(CultureInfo.InvariantCulture, $"{what} is {s.Length} characters long; at most {MaxPatternLength} are read (PATH_MAX, the longest path mount(2) takes); shorten it."), PolicyLocation.AtJsonPath(at));
        return s.Length > 0 ? s : throw new PolicyException($"{what} must not be empty.", PolicyLocation.AtJsonPath(at));
    }

    private static int ParseErrno(JsonElement e, string at)
    {
        if (e.ValueKind == JsonValueKind.String)
        {
            string s = e.GetString()!;
            if (ErrnoNames.TryGetNumber(s, out int n)) return n;
            throw new PolicyException($"unknown errno name '{s}'; use a name from errno(3) such as EPERM, EACCES or ENOSYS, or a number from 1 to 4095.", PolicyLocation.AtJsonPath(at));
        }
        ulong v = JsonWalker.UInt64(e, at, "errno");
        return v is >= 1 and <= 4095 ? (int)v
            : throw new PolicyException(string.Create(CultureInfo.InvariantCulture, $"errno {v} is out of range; use 1 to 4095 (0 would mean success)."), PolicyLocation.AtJsonPath(at));
    }

    private static void Strict(JsonElement e, string path, string what, IReadOnlyDictionary<string, Action<JsonElement, string>> fields)
    {
        JsonWalker.Expect(e, JsonValueKind.Object, path, what);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            string at = JsonWalker.Member(path, p.Name);
            if (!fields.TryGetValue(p.Name, out var read))
                throw new PolicyException($"unknown property '{p.Name}' in {what}; the properties are {string.Join(", ", fields.Keys.Select(k => $"\"{k}\""))}.", PolicyLocation.AtJsonPath(at));
            if (!seen.Add(p.Name)) throw new PolicyException($"'{p.Name}' appears twice in {what}; keep one.", PolicyLocation.AtJsonPath(at));
            read(p.Value, at);
        }
    }
}
