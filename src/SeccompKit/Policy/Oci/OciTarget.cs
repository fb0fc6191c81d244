using System.Collections.Immutable;
using System.Globalization;

namespace SeccompKit.Policy.Oci;

/// <summary>Which architectures an OCI runtime's ENOSYS stub covers (runc's <c>libcontainer/seccomp/patchbpf</c>).</summary>
public enum OciEnosysStub
{
    /// <summary>No stub: the runtime installs libseccomp's filter as it is, so unknown numbers get the default action (crun).</summary>
    None,
    /// <summary>
    /// The architectures listed in <c>architectures</c> only; the native one only when listed (runc 1.0.0-rc93 to
    /// 1.1.14: <c>findLastSyscalls</c> loops over <c>config.Architectures</c>).
    /// </summary>
    ListedArchitectures,
    /// <summary>The listed architectures and always the native one (runc 1.1.15 and 1.2.0+: "always include native architecture in stub").</summary>
    ListedAndNative,
}

/// <summary>
/// What one range of versions of an OCI runtime accepts in <c>linux.seccomp</c> and how it reads it, as far as it
/// differs between runtimes and versions. What every modelled version shares is not repeated here: all seven
/// <c>SCMP_CMP_*</c> operators, libseccomp's rule database (an unconditional rule overrides conditional ones; a rule
/// whose action equals the default is skipped; conditions repeating an argument index become separate rules), unknown
/// syscall names skipped, errnoRet as a 16-bit value, and libseccomp's refusal to mix byte orders in one filter.
/// Read from the runtimes' sources (named in <see cref="Source"/>) and checked against runc 1.1.5 and crun 1.8.1 as
/// Debian 12 ships them (the container tests OciTargetContainerSpecs and OciWritersContainerSpecs).
/// </summary>
public sealed record OciRuntimeModel
{
    /// <summary>"runc" or "crun".</summary>
    public required string Runtime { get; init; }

    /// <summary>The first version the row describes.</summary>
    public required Version From { get; init; }

    /// <summary>The last version the row describes (the newest release read, for the last row of a runtime).</summary>
    public required Version Through { get; init; }

    /// <summary>The <c>SCMP_ACT_*</c> names it accepts.</summary>
    public required ImmutableArray<string> Actions { get; init; }

    /// <summary>The <c>SCMP_ARCH_*</c> names it accepts.</summary>
    public required ImmutableArray<string> Architectures { get; init; }

    /// <summary>The <c>SECCOMP_FILTER_FLAG_*</c> names it accepts; empty when it refuses any non-empty <c>flags</c> list (runc 1.1).</summary>
    public required ImmutableArray<string> Flags { get; init; }

    /// <summary>What an absent <c>flags</c> field means (runc 1.2+ and crun: SPEC_ALLOW; runc 1.1: none). An empty list always means none.</summary>
    public required PolicyFlags AbsentFlags { get; init; }

    /// <summary>Which architectures get the ENOSYS stub.</summary>
    public required OciEnosysStub EnosysStub { get; init; }

    /// <summary>Whether the stub also answers ENOSYS for syscall 0 on s390/s390x (runc 1.1.3+).</summary>
    public required bool EnosysForS390Setup { get; init; }

    /// <summary>Whether <c>defaultErrnoRet</c> is read (runc 1.0+, crun).</summary>
    public bool DefaultErrnoRet { get; init; } = true;

    /// <summary>Whether <c>listenerPath</c> (SCMP_ACT_NOTIFY with a seccomp agent) is supported (runc 1.1+, crun).</summary>
    public bool Listener { get; init; } = true;

    /// <summary>Whether SCMP_ACT_NOTIFY is refused as the default action and for <c>write</c> (runc: it must still write the listener fd to its parent).</summary>
    public required bool RefusesNotifyDefaultAndWrite { get; init; }

    /// <summary>Whether <c>errnoRet</c>/<c>defaultErrnoRet</c> on an action other than ERRNO and TRACE is an error (crun) rather than ignored (runc).</summary>
    public required bool RefusesErrnoRetOnOtherActions { get; init; }

    /// <summary>The sources read, for the record.</summary>
    public required string Source { get; init; }

    /// <summary>Whether the row describes <paramref name="version"/>.</summary>
    public bool Covers(Version version) => version >= From && version <= Through;

    /// <summary>"runc 1.1.3-1.1.7".</summary>
    public string Range => From == Through ? $"{Runtime} {From}" : $"{Runtime} {From}-{Through}";
}

/// <summary>No model for the runtime or version asked for.</summary>
public sealed class UnknownOciTargetException : PolicyException
{
    /// <summary>Creates the exception; the message lists what is known.</summary>
    public UnknownOciTargetException(string asked, string why)
        : base($"{why}; known: {OciTarget.KnownSummary}. Name one of them as RUNTIME@VERSION (e.g. runc@1.1.5, crun@1.8.1).") => Asked = asked;

    /// <summary>What was asked for.</summary>
    public string Asked { get; }
}

/// <summary>
/// The OCI runtime and version a profile is written for: what it accepts and how it reads <c>linux.seccomp</c>
/// (<see cref="Model"/>). <c>runc@1.1.5</c> and <c>crun@1.8.1</c> in the CLI's <c>--for</c>.
/// </summary>
/// <param name="Runtime">"runc" or "crun".</param>
/// <param name="Version">The version (release numbers only: "1.1.5+ds1" is 1.1.5).</param>
/// <param name="Model">What that version accepts.</param>
public sealed record OciTarget(string Runtime, Version Version, OciRuntimeModel Model)
{
    private static readonly ImmutableArray<string> Actions11 =
        ["SCMP_ACT_KILL", "SCMP_ACT_ERRNO", "SCMP_ACT_TRAP", "SCMP_ACT_ALLOW", "SCMP_ACT_TRACE", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"];

    private static readonly ImmutableArray<string> Actions = [.. Actions11, "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS"];

    private static readonly ImmutableArray<string> Arches11 =
        ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
         "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
         "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X"];

    private static readonly ImmutableArray<string> ArchesRiscv = [.. Arches11, "SCMP_ARCH_RISCV64"];

    private const string Tsync = "SECCOMP_FILTER_FLAG_TSYNC", SpecAllow = "SECCOMP_FILTER_FLAG_SPEC_ALLOW", Log = "SECCOMP_FILTER_FLAG_LOG",
        WaitKillableRecv = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV";

    private static OciRuntimeModel Runc(string from, string through, ImmutableArray<string> actions, ImmutableArray<string> arches,
        OciEnosysStub stub, bool s390, ImmutableArray<string> flags, string source) => new()
    {
        Runtime = "runc", From = ParseVersion(from)!, Through = ParseVersion(through)!, Actions = actions, Architectures = arches,
        Flags = flags, AbsentFlags = flags.IsEmpty ? PolicyFlags.None : PolicyFlags.SpecAllow, EnosysStub = stub, EnosysForS390Setup = s390,
        RefusesNotifyDefaultAndWrite = true, RefusesErrnoRetOnOtherActions = false, Source = source,
    };

    private static OciRuntimeModel Crun(string from, string through, ImmutableArray<string> flags, string source) => new()
    {
        Runtime = "crun", From = ParseVersion(from)!, Through = ParseVersion(through)!, Actions = Actions,
        // crun lower-cases the name after SCMP_ARCH_ and asks libseccomp (seccomp_arch_resolve_name): libseccomp 2.5's
        // names. parisc/parisc64 resolve but are big-endian, which libseccomp refuses beside a little-endian native
        // arch (EDOM, seen with crun 1.8.1 on x86_64); loongarch64, m68k and sh need libseccomp 2.6.
        Architectures = [.. ArchesRiscv, "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64"],
        Flags = flags, AbsentFlags = PolicyFlags.SpecAllow, EnosysStub = OciEnosysStub.None, EnosysForS390Setup = false,
        RefusesNotifyDefaultAndWrite = false, RefusesErrnoRetOnOtherActions = true, Source = source,
    };

    /// <summary>
    /// Every modelled range, oldest first per runtime. Add a row when a runtime changes what it accepts; the rows of one
    /// runtime must not overlap.
    /// </summary>
    public static ImmutableArray<OciRuntimeModel> Models { get; } =
    [
        // specconv.SetupSeccomp: "if len(config.Flags) != 0 { return errors.New("seccomp flags are not yet supported by runc") }";
        // config.go's actions map lacks SCMP_ACT_KILL_THREAD/KILL_PROCESS until d105e052d (v1.1.3).
        Runc("1.1.0", "1.1.2", Actions11, Arches11, OciEnosysStub.ListedArchitectures, false, [],
            "runc v1.1.0 libcontainer/specconv/spec_linux.go, libcontainer/seccomp/{config.go,seccomp_linux.go,patchbpf/enosys_linux.go}"),
        // v1.1.3: KILL_THREAD and KILL_PROCESS names (d105e052d); ENOSYS for s390(x) setup(2) (8b93f9fb3).
        Runc("1.1.3", "1.1.7", Actions, Arches11, OciEnosysStub.ListedArchitectures, true, [], "runc v1.1.3, v1.1.5 (installed here)"),
        // v1.1.8: SCMP_ARCH_RISCV64 (9164fe17a).
        Runc("1.1.8", "1.1.14", Actions, ArchesRiscv, OciEnosysStub.ListedArchitectures, true, [], "runc v1.1.8"),
        // v1.1.15: "seccomp: patchbpf: always include native architecture in stub" (618e149e4).
        Runc("1.1.15", "1.1.15", Actions, ArchesRiscv, OciEnosysStub.ListedAndNative, true, [], "runc v1.1.15"),
        // v1.2.0: flags (setFlag: TSYNC accepted and ignored, LOG, SPEC_ALLOW; anything else "is not known to runc"), and an
        // absent list means SPEC_ALLOW when libseccomp and the kernel support it (specconv: config.Flags == nil).
        Runc("1.2.0", "1.4.3", Actions, ArchesRiscv, OciEnosysStub.ListedAndNative, true, [Tsync, SpecAllow, Log], "runc v1.2.0, v1.3.0, v1.4.0"),
        // v1.5.0: SCMP_ARCH_LOONGARCH64 (885509afd).
        Runc("1.5.0", "1.5.1", Actions, [.. ArchesRiscv, "SCMP_ARCH_LOONGARCH64"], OciEnosysStub.ListedAndNative, true, [Tsync, SpecAllow, Log], "runc v1.5.0, v1.5.1"),
        // src/libcrun/seccomp.c libcrun_apply_seccomp: "if (seccomp_flags == NULL) flags = SECCOMP_FILTER_FLAG_SPEC_ALLOW";
        // libcrun_generate_seccomp exports libseccomp's filter without a stub; "errno value specified for action" errors.
        Crun("1.0", "1.5", [Tsync, SpecAllow, Log], "crun 1.0, 1.4, 1.5 src/libcrun/seccomp.c"),
        // 1.6: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
        Crun("1.6", "1.29.1", [Tsync, SpecAllow, Log, WaitKillableRecv], "crun 1.6, 1.7, 1.8, 1.8.1 (installed here), 1.29.1 src/libcrun/seccomp.c"),
    ];

    /// <summary>The runtimes modelled, sorted.</summary>
    public static ImmutableArray<string> Runtimes { get; } = [.. Models.Select(m => m.Runtime).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>
    /// What the OCI writers target when none is named and no runc is installed: runc 1.1.5, the runc of Debian 12 that
    /// SeccompKit's runtime measurements and container tests use.
    /// </summary>
    public static OciTarget Default { get; } = Get("runc", "1.1.5");

    /// <summary>"crun 1.0-1.29.1, runc 1.1.0-1.5.1".</summary>
    public static string KnownSummary => string.Join(", ", Runtimes.Select(r =>
    {
        var rows = Models.Where(m => m.Runtime == r).ToList();
        return $"{r} {rows.Min(m => m.From)}-{rows.Max(m => m.Through)}";
    }));

    /// <summary>"runc 1.1.5".</summary>
    public override string ToString() => $"{Runtime} {Version}";

    /// <summary>The target for <paramref name="runtime"/> at <paramref name="version"/> ("1.1.5", "1.1.5+ds1", "1.8").</summary>
    /// <exception cref="UnknownOciTargetException">The runtime is not modelled, the version cannot be read, or no row covers it.</exception>
    public static OciTarget Get(string runtime, string version)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(version);
        string name = runtime.Trim().ToLowerInvariant();
        if (!Runtimes.Contains(name))
            throw new UnknownOciTargetException(runtime, $"no model of the OCI runtime '{runtime}'");
        var v = ParseVersion(version) ?? throw new UnknownOciTargetException($"{runtime}@{version}", $"'{version}' is not a version of {name} (expected numbers such as 1.1.5)");
        var model = Models.FirstOrDefault(m => m.Runtime == name && m.Covers(v))
            ?? throw new UnknownOciTargetException($"{runtime}@{version}", $"no model of {name} {v} (SeccompKit has read {name}'s sources from {Models.Where(m => m.Runtime == name).Min(m => m.From)} to {Models.Where(m => m.Runtime == name).Max(m => m.Through)})");
        return new OciTarget(name, v, model);
    }

    /// <summary>
    /// Reads a <c>--for</c> value: <c>RUNTIME@VERSION</c>, or <c>RUNTIME</c> for the version installed here, which
    /// <paramref name="installedVersion"/> reports (the first line of <c>RUNTIME --version</c>, or null when absent).
    /// </summary>
    /// <exception cref="UnknownOciTargetException">Unknown runtime or version, or no version given and the runtime is not installed.</exception>
    public static OciTarget Parse(string text, Func<string, string?> installedVersion)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(installedVersion);
        int at = text.IndexOf('@', StringComparison.Ordinal);
        string runtime = (at < 0 ? text : text[..at]).Trim().ToLowerInvariant();
        if (!Runtimes.Contains(runtime))
            throw new UnknownOciTargetException(text, $"no model of the OCI runtime '{(at < 0 ? text : text[..at])}'");
        if (at >= 0) return Get(runtime, text[(at + 1)..]);
        var installed = installedVersion(runtime)
            ?? throw new UnknownOciTargetException(text, $"{runtime} is not installed here, so its version is unknown; name the version as {runtime}@VERSION");
        return Get(runtime, VersionFromOutput(installed));
    }

    /// <summary>
    /// The target when none is named: the installed runc when SeccompKit models its version, else <see cref="Default"/>;
    /// the note says which and why (null when the installed runc is used).
    /// </summary>
    public static (OciTarget Target, string? Note) Resolve(Func<string, string?> installedVersion)
    {
        ArgumentNullException.ThrowIfNull(installedVersion);
        var installed = installedVersion("runc");
        if (installed is null) return (Default, null);
        try { return (Get("runc", VersionFromOutput(installed)), null); }
        catch (UnknownOciTargetException e)
        {
            return (Default, $"the installed runc (\"{installed}\") is not modelled ({e.Reason}); writing for {Default} instead. Name the target with --for.");
        }
    }

    /// <summary>"runc version 1.1.5+ds1" → "1.1.5+ds1"; other text is returned trimmed.</summary>
    public static string VersionFromOutput(string versionLine)
    {
        ArgumentNullException.ThrowIfNull(versionLine);
        const string marker = " version ";
        int i = versionLine.IndexOf(marker, StringComparison.Ordinal);
        return (i >= 0 ? versionLine[(i + marker.Length)..] : versionLine).Trim();
    }

    /// <summary>The release numbers of a version string ("1.1.5+ds1", "v1.2.0-rc.1", "1.8"), or null.</summary>
    public static Version? ParseVersion(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.StartsWith('v')) t = t[1..];
        int end = 0;
        while (end < t.Length && (char.IsAsciiDigit(t[end]) || t[end] == '.')) end++;
        var parts = t[..end].Split('.', StringSplitOptions.None);
        if (end == 0 || parts.Length is < 1 or > 3 || parts.Any(p => p.Length == 0)) return null;
        var numbers = new int[3];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i])) return null;
        return new Version(numbers[0], numbers[1], numbers[2]);
    }
}
