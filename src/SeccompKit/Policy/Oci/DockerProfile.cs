using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Oci;

/// <summary>Which engine's reading of a Docker-format profile to reproduce.</summary>
public enum DockerEngine
{
    /// <summary>Docker/moby (profiles/seccomp): <c>minKernel</c> is checked; arches are Go GOARCH-derived names.</summary>
    Moby,
    /// <summary>
    /// Podman/Buildah/CRI-O via containers/common (pkg/seccomp): adds the <c>errno</c> and <c>defaultErrno</c>
    /// name fields (they win over errnoRet), uses libseccomp's native-arch names, maps fewer archMap entries, and
    /// does not check <c>minKernel</c>.
    /// </summary>
    Podman,
}

/// <summary>Options for <see cref="DockerProfile"/>: the host and container the profile is resolved for.</summary>
public sealed record DockerResolveOptions
{
    /// <summary>The host architecture (the engine's native one). Default x86_64.</summary>
    public Architecture Architecture { get; init; } = Architecture.X86_64;

    /// <summary>The container's bounding capabilities, as <c>CAP_*</c> names. Default: the engine's default set.</summary>
    public IReadOnlyCollection<string>? Capabilities { get; init; }

    /// <summary>
    /// The host kernel release (only "major.minor" counts, as in moby's parseRelease: <c>6.18.2-arch1</c> is 6.18).
    /// The core stays pure, so the running kernel is not read; the default is "6.18".
    /// </summary>
    public string KernelVersion { get; init; } = "6.18";

    /// <summary>Whose semantics to reproduce. Default <see cref="DockerEngine.Moby"/>.</summary>
    public DockerEngine Engine { get; init; } = DockerEngine.Moby;
}

/// <summary>
/// Docker-format seccomp profiles (moby's default.json, podman's seccomp.json): resolves <c>archMap</c>,
/// <c>includes</c>/<c>excludes</c> (arches, caps, minKernel) and <c>name</c> into OCI <c>linux.seccomp</c>, exactly as
/// moby's profiles/seccomp setupSeccomp (or containers/common's, see <see cref="DockerEngine"/>) does, then imports
/// that with <see cref="OciImporter"/>.
/// </summary>
public static partial class DockerProfile
{
    /// <summary>Docker's default capability set (moby oci/caps DefaultCapabilities).</summary>
    public static ImmutableArray<string> DockerDefaultCapabilities { get; } =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>Podman's default capability set (containers.conf default_capabilities).</summary>
    public static ImmutableArray<string> PodmanDefaultCapabilities { get; } =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",
        "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
    ];

    /// <summary>Resolves the profile and imports it as runc would load it on that host.</summary>
    /// <exception cref="PolicyException">Bad JSON, a profile the engine refuses, or a result runc refuses; located by JSON path in the profile.</exception>
    public static (SeccompPolicy Policy, ImmutableArray<PolicyDiagnostic> Diagnostics) Resolve(string json, DockerResolveOptions? options = null)
    {
        options ??= new();
        var (oci, notes) = ResolveToOci(json, options);
        var (policy, more) = OciImporter.Import(oci, new OciImportOptions { Native = options.Architecture });
        return (policy, notes.AddRange(more));
    }

    /// <summary>Resolves the profile into the OCI seccomp object the engine hands to the runtime.</summary>
    /// <exception cref="PolicyException">Bad JSON or a profile the engine refuses, located by JSON path.</exception>
    public static (OciSeccomp Seccomp, ImmutableArray<PolicyDiagnostic> Diagnostics) ResolveToOci(string json, DockerResolveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        options ??= new();
        var notes = new List<PolicyDiagnostic>();
        var w = new JsonWalker(notes);
        using var doc = JsonWalker.Parse(json);
        var p = ReadProfile(w, doc.RootElement, options.Engine);
        var caps = options.Capabilities ?? (options.Engine == DockerEngine.Podman ? PodmanDefaultCapabilities : DockerDefaultCapabilities);
        var kernel = ParseRelease(options.KernelVersion);

        if (string.IsNullOrEmpty(p.DefaultAction) && p.Syscalls.Count == 0)
            throw new PolicyException("defaultAction is missing and there are no syscalls: the engine then runs the container without seccomp, which a policy cannot express. Set defaultAction.", PolicyLocation.AtJsonPath("$.defaultAction"));
        if (p.Architectures.Count != 0 && p.ArchMap.Count != 0)
            throw new PolicyException("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'.", PolicyLocation.AtJsonPath("$.archMap"));

        // The engine's name for the host arch, and the archMap entry it selects.
        string arch = EngineArchName(options.Architecture, options.Engine);
        var architectures = new List<string>(p.Architectures);
        string? seccompArch = NativeToSeccomp(arch, options.Engine);
        if (seccompArch is not null)
        {
            var entry = p.ArchMap.FirstOrDefault(a => a.Arch == seccompArch);
            if (entry.Arch is not null)
            {
                architectures.Add(entry.Arch);
                architectures.AddRange(entry.SubArches);
            }
        }
        if (p.ArchMap.Count != 0 && (seccompArch is null || !p.ArchMap.Any(a => a.Arch == seccompArch)))
            notes.Add(new(DiagnosticSeverity.Warning, "$.archMap", $"no archMap entry is used on {options.Architecture.Name} ({(arch.Length == 0 ? "the engine has no name for it" : $"engine arch '{arch}'")}), so the filter covers only the native architecture."));

        var syscalls = new List<OciSyscall>();
        foreach (var s in p.Syscalls)
        {
            if (!Applies(s, arch, caps, kernel, options.Engine, notes)) continue;
            if (s.Name.Length != 0 && s.Names is { Count: > 0 })
                throw new PolicyException("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'.", PolicyLocation.AtJsonPath(s.Path));
            ulong? errno = s.Errno is { } e ? ParseErrno(e, $"{s.Path}.errno") : s.ErrnoRet;
            // moby folds name into names; containers/common emits a separate entry for each form (same effect).
            var names = s.Name.Length != 0 ? [s.Name] : s.Names ?? [];
            syscalls.Add(new OciSyscall { Names = names, Action = s.Action, ErrnoRet = errno, Args = s.Args, Origin = s.Path });
        }

        var oci = new OciSeccomp
        {
            DefaultAction = p.DefaultAction,
            DefaultErrnoRet = p.DefaultErrno is { } de ? ParseErrno(de, "$.defaultErrno") : p.DefaultErrnoRet,
            Architectures = architectures.Count == 0 ? null : architectures,
            Flags = p.Flags,
            ListenerPath = p.ListenerPath,
            ListenerMetadata = p.ListenerMetadata,
            Syscalls = syscalls,
        };
        return (oci, [.. notes]);
    }

    // ------------------------------------------------------------------ filters

    /// <summary>
    /// setupSeccomp's Loop: excludes first (any excluded arch, any excluded cap present, or kernel at least
    /// excludes.minKernel skips the entry), then includes (arch must be listed, EVERY included cap must be present,
    /// kernel at least includes.minKernel).
    /// </summary>
    private static bool Applies(DockerSyscall s, string arch, IReadOnlyCollection<string> caps, (int, int) kernel, DockerEngine engine, List<PolicyDiagnostic> notes)
    {
        var ex = s.Excludes;
        if (ex.Arches.Count > 0 && ex.Arches.Contains(arch)) return false;
        if (ex.Caps.Any(caps.Contains)) return false;
        if (ex.MinKernel is { } exk && KernelAtLeast(kernel, exk, engine, $"{s.Path}.excludes.minKernel", notes)) return false;
        var inc = s.Includes;
        if (inc.Arches.Count > 0 && !inc.Arches.Contains(arch)) return false;
        if (inc.Caps.Any(c => !caps.Contains(c))) return false;
        if (inc.MinKernel is { } ink && !KernelAtLeast(kernel, ink, engine, $"{s.Path}.includes.minKernel", notes)) return false;
        return true;
    }

    private static bool KernelAtLeast((int Kernel, int Major) host, (int Kernel, int Major) min, DockerEngine engine, string path, List<PolicyDiagnostic> notes)
    {
        if (engine == DockerEngine.Podman)
        {
            // containers/common's setupSeccomp has no minKernel check: the condition is simply met.
            notes.Add(new(DiagnosticSeverity.Info, path, "containers/common ignores minKernel; the entry is kept whatever the kernel."));
            return path.Contains(".includes.", StringComparison.Ordinal);
        }
        return host.Kernel > min.Kernel || (host.Kernel == min.Kernel && host.Major >= min.Major);
    }

    /// <summary>moby's parseRelease: <c>%d.%d</c> at the start ("3.12.25-gentoo" and "3.12-1-amd64" are both 3.12).</summary>
    private static (int, int) ParseRelease(string release)
    {
        var m = ReleasePattern().Match(release);
        if (!m.Success || !int.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out int k) || !int.TryParse(m.Groups[2].Value, CultureInfo.InvariantCulture, out int j))
            throw new PolicyException($"failed to parse kernel version \"{release}\" (the kernel the profile's minKernel conditions are resolved for)", "give it as major.minor, e.g. \"6.18\" (seccompkit: --kernel 6.18).", null);
        return (k, j);
    }

    [GeneratedRegex(@"^\s*([+-]?\d+)\.([+-]?\d+)")]
    private static partial Regex ReleasePattern();

    // ------------------------------------------------------------------ architecture names

    /// <summary>
    /// moby: GOARCH → goToNative (386→x86, mips64le→mipsel64, mips64p32le→"mips3l64n32" (sic)...); architectures
    /// Go does not map (riscv64, loong64, mips o32 big-endian, x32) get "". containers/common: libseccomp's
    /// native arch name (libseccomp-golang ScmpArch.String).
    /// </summary>
    internal static string EngineArchName(Architecture a, DockerEngine engine) => engine switch
    {
        DockerEngine.Moby => a.Name switch
        {
            "x86" => "x86", "x86_64" => "amd64", "arm" => "arm", "aarch64" => "arm64",
            "mips64" => "mips64", "mips64n32" => "mips64n32", "mipsel64" => "mipsel64", "mipsel64n32" => "mips3l64n32",
            "mipsel" => "mipsel", "ppc" => "ppc", "ppc64" => "ppc64", "ppc64le" => "ppc64le", "s390" => "s390", "s390x" => "s390x",
            _ => "",
        },
        _ => a.Name switch
        {
            "x86_64" => "amd64", "aarch64" => "arm64", "loongarch64" => "loong64",
            _ => a.Name,
        },
    };

    /// <summary>The archMap key the engine looks up for its arch name (moby's and containers/common's nativeToSeccomp).</summary>
    private static string? NativeToSeccomp(string arch, DockerEngine engine) => engine switch
    {
        DockerEngine.Moby => arch switch
        {
            "x86" => "SCMP_ARCH_X86", "amd64" => "SCMP_ARCH_X86_64", "arm" => "SCMP_ARCH_ARM", "arm64" => "SCMP_ARCH_AARCH64",
            "mips64" => "SCMP_ARCH_MIPS64", "mips64n32" => "SCMP_ARCH_MIPS64N32", "mipsel64" => "SCMP_ARCH_MIPSEL64",
            "mips3l64n32" => "SCMP_ARCH_MIPSEL64N32", "mipsle" => "SCMP_ARCH_MIPSEL", // "mipsle" never matches "mipsel": moby's typo, mirrored
            "ppc" => "SCMP_ARCH_PPC", "ppc64" => "SCMP_ARCH_PPC64", "ppc64le" => "SCMP_ARCH_PPC64LE",
            "s390" => "SCMP_ARCH_S390", "s390x" => "SCMP_ARCH_S390X",
            _ => null,
        },
        _ => arch switch
        {
            "amd64" => "SCMP_ARCH_X86_64", "arm64" => "SCMP_ARCH_AARCH64", "mips64" => "SCMP_ARCH_MIPS64",
            "mips64n32" => "SCMP_ARCH_MIPS64N32", "mipsel64" => "SCMP_ARCH_MIPSEL64", "mipsel64n32" => "SCMP_ARCH_MIPSEL64N32",
            "s390x" => "SCMP_ARCH_S390X",
            _ => null,
        },
    };

    // ------------------------------------------------------------------ errno names (containers/common getErrno)

    private static ulong ParseErrno(string errno, string path)
    {
        if (ulong.TryParse(errno, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= uint.MaxValue) return n;
        if (ErrnoNames.TryGetValue(errno, out int v)) return (ulong)v;
        var close = Suggestions.Closest(errno, ErrnoNames.Keys.Order(StringComparer.Ordinal));
        throw new PolicyException($"unknown errno {errno}; write a number or a name such as EPERM or ENOSYS{(close.Count > 0 ? $" (did you mean {Suggestions.OrList(close)}?)" : "")}.", PolicyLocation.AtJsonPath(path));
    }

    /// <summary>asm-generic errno values (x86, arm, s390, ppc, riscv...). MIPS, SPARC, Alpha and PA-RISC number some differently.</summary>
    private static readonly Dictionary<string, int> ErrnoNames = new(StringComparer.Ordinal)
    {
        ["EPERM"] = 1, ["ENOENT"] = 2, ["ESRCH"] = 3, ["EINTR"] = 4, ["EIO"] = 5, ["ENXIO"] = 6, ["E2BIG"] = 7, ["ENOEXEC"] = 8,
        ["EBADF"] = 9, ["ECHILD"] = 10, ["EAGAIN"] = 11, ["EWOULDBLOCK"] = 11, ["ENOMEM"] = 12, ["EACCES"] = 13, ["EFAULT"] = 14,
        ["ENOTBLK"] = 15, ["EBUSY"] = 16, ["EEXIST"] = 17, ["EXDEV"] = 18, ["ENODEV"] = 19, ["ENOTDIR"] = 20, ["EISDIR"] = 21,
        ["EINVAL"] = 22, ["ENFILE"] = 23, ["EMFILE"] = 24, ["ENOTTY"] = 25, ["ETXTBSY"] = 26, ["EFBIG"] = 27, ["ENOSPC"] = 28,
        ["ESPIPE"] = 29, ["EROFS"] = 30, ["EMLINK"] = 31, ["EPIPE"] = 32, ["EDOM"] = 33, ["ERANGE"] = 34, ["EDEADLK"] = 35,
        ["ENAMETOOLONG"] = 36, ["ENOLCK"] = 37, ["ENOSYS"] = 38, ["ENOTEMPTY"] = 39, ["ELOOP"] = 40, ["ENOMSG"] = 42,
        ["EIDRM"] = 43, ["ENOSTR"] = 60, ["ENODATA"] = 61, ["ETIME"] = 62, ["ENOSR"] = 63, ["ENOLINK"] = 67, ["EPROTO"] = 71,
        ["EBADMSG"] = 74, ["EOVERFLOW"] = 75, ["EILSEQ"] = 84, ["EUSERS"] = 87, ["ENOTSOCK"] = 88, ["EDESTADDRREQ"] = 89,
        ["EMSGSIZE"] = 90, ["EPROTOTYPE"] = 91, ["ENOPROTOOPT"] = 92, ["EPROTONOSUPPORT"] = 93, ["ESOCKTNOSUPPORT"] = 94,
        ["EOPNOTSUPP"] = 95, ["ENOTSUP"] = 95, ["EPFNOSUPPORT"] = 96, ["EAFNOSUPPORT"] = 97, ["EADDRINUSE"] = 98,
        ["EADDRNOTAVAIL"] = 99, ["ENETDOWN"] = 100, ["ENETUNREACH"] = 101, ["ENETRESET"] = 102, ["ECONNABORTED"] = 103,
        ["ECONNRESET"] = 104, ["ENOBUFS"] = 105, ["EISCONN"] = 106, ["ENOTCONN"] = 107, ["ESHUTDOWN"] = 108,
        ["ETOOMANYREFS"] = 109, ["ETIMEDOUT"] = 110, ["ECONNREFUSED"] = 111, ["EHOSTDOWN"] = 112, ["EHOSTUNREACH"] = 113,
        ["EALREADY"] = 114, ["EINPROGRESS"] = 115, ["ESTALE"] = 116, ["EDQUOT"] = 122, ["ECANCELED"] = 125,
        ["ENOKEY"] = 126, ["EKEYEXPIRED"] = 127, ["EKEYREVOKED"] = 128, ["EKEYREJECTED"] = 129, ["EOWNERDEAD"] = 130,
        ["ENOTRECOVERABLE"] = 131, ["ERFKILL"] = 132, ["EHWPOISON"] = 133,
    };

    // ------------------------------------------------------------------ reading

    private sealed record DockerFilter(IReadOnlyList<string> Arches, IReadOnlyList<string> Caps, (int, int)? MinKernel)
    {
        public static readonly DockerFilter None = new([], [], null);
    }

    private sealed record DockerSyscall(string Path)
    {
        public string Name { get; set; } = "";
        public IReadOnlyList<string>? Names { get; set; }
        public string Action { get; set; } = "";
        public ulong? ErrnoRet { get; set; }
        public string? Errno { get; set; }
        public IReadOnlyList<OciArg> Args { get; set; } = [];
        public DockerFilter Includes { get; set; } = DockerFilter.None;
        public DockerFilter Excludes { get; set; } = DockerFilter.None;
    }

    private sealed class Profile
    {
        public string? DefaultAction;
        public ulong? DefaultErrnoRet;
        public string? DefaultErrno;
        public IReadOnlyList<string> Architectures = [];
        public IReadOnlyList<string>? Flags;
        public string? ListenerPath, ListenerMetadata;
        public IReadOnlyList<(string Arch, IReadOnlyList<string> SubArches)> ArchMap = [];
        public IReadOnlyList<DockerSyscall> Syscalls = [];
    }

    private static Profile ReadProfile(JsonWalker w, JsonElement root, DockerEngine engine)
    {
        var p = new Profile();
        var fields = new Dictionary<string, Action<JsonElement, string>>
        {
            ["defaultAction"] = (v, at) => p.DefaultAction = JsonWalker.String(v, at, "defaultAction"),
            ["defaultErrnoRet"] = (v, at) => p.DefaultErrnoRet = JsonWalker.UInt64(v, at, "defaultErrnoRet"),
            ["architectures"] = (v, at) => p.Architectures = JsonWalker.StringArray(v, at, "architectures"),
            ["flags"] = (v, at) => p.Flags = JsonWalker.StringArray(v, at, "flags"),
            ["listenerPath"] = (v, at) => p.ListenerPath = JsonWalker.String(v, at, "listenerPath"),
            ["listenerMetadata"] = (v, at) => p.ListenerMetadata = JsonWalker.String(v, at, "listenerMetadata"),
            ["archMap"] = (v, at) => p.ArchMap = JsonWalker.Array(v, at, "archMap", (x, xp) =>
            {
                string arch = ""; IReadOnlyList<string> subs = [];
                if (x.ValueKind != JsonValueKind.Null)
                    w.Object(x, xp, "an archMap entry", new Dictionary<string, Action<JsonElement, string>>
                    {
                        ["architecture"] = (y, yp) => arch = JsonWalker.String(y, yp, "architecture"),
                        ["subArchitectures"] = (y, yp) => subs = JsonWalker.StringArray(y, yp, "subArchitectures"),
                    }, Ignored(w));
                return (arch, subs);
            }),
            ["syscalls"] = (v, at) => p.Syscalls = JsonWalker.Array(v, at, "syscalls", (x, xp) => ReadSyscall(w, x, xp, engine)),
        };
        if (engine == DockerEngine.Podman)
            fields["defaultErrno"] = (v, at) => p.DefaultErrno = JsonWalker.String(v, at, "defaultErrno");
        w.Object(root, "$", "the profile", fields, Ignored(w));
        return p;
    }

    private static Action<string, string> Ignored(JsonWalker w) => (name, at) =>
        w.Diagnostics.Add(new(DiagnosticSeverity.Warning, at, $"unknown property '{name}'; the engine's JSON decoder ignores it, so it has no effect."));

    private static DockerSyscall ReadSyscall(JsonWalker w, JsonElement e, string path, DockerEngine engine)
    {
        var s = new DockerSyscall(path);
        if (e.ValueKind == JsonValueKind.Null) return s;
        var fields = new Dictionary<string, Action<JsonElement, string>>
        {
            ["name"] = (v, at) => s.Name = JsonWalker.String(v, at, "name"),
            ["names"] = (v, at) => s.Names = JsonWalker.StringArray(v, at, "names"),
            ["action"] = (v, at) => s.Action = JsonWalker.String(v, at, "action"),
            ["errnoRet"] = (v, at) => s.ErrnoRet = JsonWalker.UInt64(v, at, "errnoRet"),
            ["args"] = (v, at) => s.Args = JsonWalker.Array(v, at, "args", (x, xp) => OciJson.ReadArg(w, x, xp)),
            ["comment"] = (v, at) => JsonWalker.String(v, at, "comment"), // documentation only
            ["includes"] = (v, at) => s.Includes = ReadFilter(w, v, at),
            ["excludes"] = (v, at) => s.Excludes = ReadFilter(w, v, at),
        };
        if (engine == DockerEngine.Podman)
            fields["errno"] = (v, at) => s.Errno = JsonWalker.String(v, at, "errno");
        w.Object(e, path, "a syscalls entry", fields, Ignored(w));
        return s;
    }

    private static DockerFilter ReadFilter(JsonWalker w, JsonElement e, string path)
    {
        IReadOnlyList<string> arches = [], caps = [];
        (int, int)? min = null;
        w.Object(e, path, "a filter", new Dictionary<string, Action<JsonElement, string>>
        {
            ["arches"] = (v, at) => arches = JsonWalker.StringArray(v, at, "arches"),
            ["caps"] = (v, at) => caps = JsonWalker.StringArray(v, at, "caps"),
            ["minKernel"] = (v, at) => min = ParseMinKernel(v, at),
        }, Ignored(w));
        return new(arches, caps, min);
    }

    /// <summary>moby's KernelVersion.UnmarshalJSON: a string "&lt;kernel&gt;.&lt;major&gt;", each 0..255, not "0.0"; "" means none.</summary>
    private static (int, int)? ParseMinKernel(JsonElement v, string at)
    {
        const string expected = "expected \"<kernel>.<major>\", e.g. \"4.8\"";
        if (v.ValueKind != JsonValueKind.String)
            throw new PolicyException($"invalid kernel version {v.GetRawText()}, {expected}.", PolicyLocation.AtJsonPath(at));
        string s = v.GetString()!;
        if (s.Length == 0) return null;
        var parts = s.Split('.', 3);
        if (parts.Length != 2 || !byte.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var k) || !byte.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var m))
            throw new PolicyException($"invalid kernel version \"{s}\", {expected} with numbers 0..255.", PolicyLocation.AtJsonPath(at));
        if (k == 0 && m == 0)
            throw new PolicyException($"invalid kernel version \"{s}\": version cannot be 0.0.", PolicyLocation.AtJsonPath(at));
        return (k, m);
    }
}
