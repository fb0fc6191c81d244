using System.Text.Json;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>
/// The real profiles of the differential tests and the compiler benchmark: Docker's and podman's default
/// seccomp profiles (data/profiles, moby format) resolved for amd64 the way runc gets them — the container
/// engine keeps the entries whose includes/excludes match amd64 and its default capabilities, and runc adds a
/// rule per name (one per condition when an entry compares one argument twice). Covered ABIs: runc's list for
/// amd64, x86_64 + x86 + x32. Names none of these ABIs has are left out (runc skips names libseccomp cannot
/// resolve). No ENOSYS cutoff: libseccomp does not generate one. Two unconditional rules of one syscall with
/// different actions (podman: setns etc. without CAP_SYS_ADMIN) are resolved to the more restrictive one.
/// <para>
/// This is the tests' own small adapter until SeccompKit.Policy.Oci.DockerProfile lands; then
/// <see cref="Load"/> should call it instead. Shared with bench/compiler (linked source file).
/// </para>
/// </summary>
public static class ProfilePolicies
{
    /// <summary>Docker's default capabilities (moby oci/caps/defaults.go).</summary>
    public static readonly string[] DockerCaps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>podman's default capabilities (containers.conf default_capabilities).</summary>
    public static readonly string[] PodmanCaps =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",
        "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
    ];

    /// <summary>runc's ABI list for amd64.</summary>
    public static readonly Architecture[] Amd64Abis = [Architecture.X86_64, Architecture.X86, Architecture.X32];

    /// <summary>The profile names and files the tests and benchmark use.</summary>
    public static readonly (string Name, string File, string[] Caps)[] Profiles =
    [
        ("docker-default", "docker-default.json", DockerCaps),
        ("podman-default", "podman-default.json", PodmanCaps),
    ];

    /// <summary>Finds data/profiles above the running binary.</summary>
    public static string ProfileDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "data", "profiles");
            if (File.Exists(Path.Combine(candidate, "docker-default.json"))) return candidate;
        }
        throw new DirectoryNotFoundException($"data/profiles/docker-default.json was not found above {AppContext.BaseDirectory}");
    }

    /// <summary>Loads one of <see cref="Profiles"/> by name.</summary>
    public static SeccompPolicy Load(string name)
    {
        var (_, file, caps) = Profiles.Single(p => p.Name == name);
        return FromMoby(File.ReadAllText(Path.Combine(ProfileDirectory(), file)), "amd64", caps, Amd64Abis);
    }

    /// <summary>Resolves a moby-format profile for one Go architecture and capability set.</summary>
    public static SeccompPolicy FromMoby(string json, string goArch, IReadOnlyCollection<string> caps, IReadOnlyList<Architecture> abis)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var defaultAction = Action(root.GetProperty("defaultAction").GetString()!, ErrnoRet(root, "defaultErrnoRet"));
        var rules = new List<SyscallRule>();
        foreach (var call in root.GetProperty("syscalls").EnumerateArray())
        {
            if (!Applies(call, goArch, caps)) continue;
            var action = Action(call.GetProperty("action").GetString()!, ErrnoRet(call, "errnoRet"));
            var conds = new List<ArgCondition>();
            if (call.TryGetProperty("args", out var args) && args.ValueKind == JsonValueKind.Array)
                foreach (var a in args.EnumerateArray())
                {
                    int index = a.GetProperty("index").GetInt32();
                    ulong value = a.GetProperty("value").GetUInt64();
                    ulong two = a.TryGetProperty("valueTwo", out var v2) ? v2.GetUInt64() : 0;
                    var op = a.GetProperty("op").GetString() switch
                    {
                        "SCMP_CMP_EQ" => ArgOperator.Equal,
                        "SCMP_CMP_NE" => ArgOperator.NotEqual,
                        "SCMP_CMP_LT" => ArgOperator.Less,
                        "SCMP_CMP_LE" => ArgOperator.LessOrEqual,
                        "SCMP_CMP_GT" => ArgOperator.Greater,
                        "SCMP_CMP_GE" => ArgOperator.GreaterOrEqual,
                        "SCMP_CMP_MASKED_EQ" => ArgOperator.MaskedEqual,
                        var o => throw new InvalidDataException($"unknown operator {o}"),
                    };
                    conds.Add(op == ArgOperator.MaskedEqual ? new ArgCondition(index, op, two & value, value) : new ArgCondition(index, op, value));
                }
            foreach (var n in call.GetProperty("names").EnumerateArray())
            {
                var name = n.GetString()!;
                if (!abis.Any(abi => abi.Syscalls.Contains(name))) continue;
                // runc: an entry comparing one argument twice becomes one rule per condition.
                if (conds.Select(c => c.Index).Distinct().Count() != conds.Count)
                    rules.AddRange(conds.Select(c => new SyscallRule(name, action, [c])));
                else
                    rules.Add(new SyscallRule(name, action, conds));
            }
        }
        // podman lists e.g. setns both in its big ALLOW entry and, without CAP_SYS_ADMIN, in an ERRNO(EPERM)
        // entry: two unconditional rules with different actions, which the policy model refuses. The
        // more restrictive one wins, as the policy's precedence would have it.
        var drop = new HashSet<SyscallRule>(ReferenceEqualityComparer.Instance);
        foreach (var g in rules.Where(r => r.IsUnconditional).GroupBy(r => r.Syscall))
            foreach (var r in g.Where(r => r.Action != g.MinBy(x => x.Action.Precedence)!.Action)) drop.Add(r);
        return new SeccompPolicy(defaultAction, rules.Where(r => !drop.Contains(r)), abis);
    }

    private static bool Applies(JsonElement call, string goArch, IReadOnlyCollection<string> caps)
    {
        if (call.TryGetProperty("includes", out var inc) && inc.ValueKind == JsonValueKind.Object)
        {
            if (inc.TryGetProperty("arches", out var a) && a.GetArrayLength() > 0 && !a.EnumerateArray().Any(x => x.GetString() == goArch)) return false;
            if (inc.TryGetProperty("caps", out var c) && c.GetArrayLength() > 0 && !c.EnumerateArray().All(x => caps.Contains(x.GetString()!))) return false;
            if (inc.TryGetProperty("minKernel", out var k) && k.ValueKind == JsonValueKind.String && !KernelAtLeast(k.GetString()!)) return false;
        }
        if (call.TryGetProperty("excludes", out var exc) && exc.ValueKind == JsonValueKind.Object)
        {
            if (exc.TryGetProperty("arches", out var a) && a.EnumerateArray().Any(x => x.GetString() == goArch)) return false;
            if (exc.TryGetProperty("caps", out var c) && c.EnumerateArray().Any(x => caps.Contains(x.GetString()!))) return false;
        }
        return true;
    }

    private static bool KernelAtLeast(string version)
    {
        static int[] Parts(string v) => [.. v.Split('.').Take(2).Select(p => int.TryParse(new string(p.TakeWhile(char.IsDigit).ToArray()), out int x) ? x : 0)];
        var have = Parts(Environment.OSVersion.Version.ToString());
        var want = Parts(version);
        return have[0] != want[0] ? have[0] > want[0] : have[1] >= want[1];
    }

    private static int? ErrnoRet(JsonElement e, string property) =>
        e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static PolicyAction Action(string name, int? errno) => name switch
    {
        "SCMP_ACT_ALLOW" => PolicyAction.Allow,
        "SCMP_ACT_ERRNO" => PolicyAction.Errno(errno ?? 1),
        "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => PolicyAction.KillThread,
        "SCMP_ACT_KILL_PROCESS" => PolicyAction.KillProcess,
        "SCMP_ACT_LOG" => PolicyAction.Log,
        "SCMP_ACT_TRAP" => PolicyAction.Trap(),
        "SCMP_ACT_TRACE" => PolicyAction.Trace(errno ?? 1),
        "SCMP_ACT_NOTIFY" => PolicyAction.UserNotif,
        _ => throw new InvalidDataException($"unknown action {name}"),
    };
}
