using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Oci;

/// <summary>A policy written as a security-profiles-operator <c>SeccompProfile</c> object, and what it means on the node.</summary>
/// <param name="Name">The object's <c>metadata.name</c>.</param>
/// <param name="Yaml">The object as YAML, ready for <c>kubectl apply -f</c>.</param>
/// <param name="Oci">The OCI profile for the node's runtime that the object carries as its <c>spec</c>.</param>
/// <param name="Effective">
/// The policy as the node's runtime runs the profile the operator writes from <c>spec</c> (the operator marshals
/// <c>spec</c> to JSON, dropping empty fields): <see cref="OciExport.Effective"/>, with the runtime's absent-flags choice
/// where the flag list is empty.
/// </param>
/// <param name="Diagnostics">The OCI export's notes and warnings, then the operator's.</param>
public sealed record SpoExport(string Name, string Yaml, OciExport Oci, SeccompPolicy Effective, ImmutableArray<PolicyDiagnostic> Diagnostics);

/// <summary>The policy cannot be written as a SeccompProfile; <see cref="Problems"/> lists every reason, each located.</summary>
public sealed class SpoExportException : PolicyException
{
    /// <summary>Creates the exception from all the problems found.</summary>
    public SpoExportException(ImmutableArray<OciExportProblem> problems)
        : base(Compose(problems))
    {
        Problems = problems;
    }

    /// <summary>Every problem, in the object's order.</summary>
    public ImmutableArray<OciExportProblem> Problems { get; }

    private static string Compose(ImmutableArray<OciExportProblem> problems)
    {
        var sb = new StringBuilder($"the policy cannot be written as a security-profiles-operator SeccompProfile ({problems.Length} problem{(problems.Length == 1 ? "" : "s")}):");
        foreach (var p in problems) sb.Append("\n  ").Append(p.ToString().Replace("\n", "\n  ", StringComparison.Ordinal));
        return sb.ToString();
    }
}

/// <summary>
/// Writes a policy as a security-profiles-operator (SPO) <c>SeccompProfile</c> (apiVersion
/// <c>security-profiles-operator.x-k8s.io/v1beta1</c>, the CRD in <c>data/k8s/seccompprofile-crd.yaml</c>). The operator's
/// node daemon marshals <c>spec</c> to JSON and saves it as a kubelet Localhost profile, which containerd or CRI-O hand to
/// the node's runtime; so <c>spec</c> is the OCI profile <see cref="OciExporter"/> writes for that runtime
/// (<see cref="OciTarget"/>), in the CRD's shape. What the CRD cannot hold is refused with every reason
/// (<see cref="SpoExportException"/>), never dropped: a <c>defaultErrnoRet</c> other than EPERM (the CRD has no such
/// field), argument values of 2^63 and more (<c>value</c>/<c>valueTwo</c> are int64 ≥ 0), architectures and flags outside
/// its enums, more than six conditions in one entry.
/// </summary>
/// <remarks>
/// The YAML is written here rather than by a YAML library: the object's shape is fixed and small (maps, lists, integers,
/// strings), the core assembly takes no package dependency and stays trimmable for NativeAOT, and every string that is
/// not a plain identifier is written as a double-quoted scalar with JSON's escapes, which YAML 1.2 reads alike. The tests
/// read every object back with an independent YAML parser and check it against the CRD's openAPIV3Schema.
/// </remarks>
public static class SpoProfile
{
    /// <summary>The object's <c>apiVersion</c>.</summary>
    public const string ApiVersion = "security-profiles-operator.x-k8s.io/v1beta1";

    /// <summary>The object's <c>kind</c>.</summary>
    public const string Kind = "SeccompProfile";

    /// <summary>EPERM: what the runtimes return for ERRNO and TRACE when <c>errnoRet</c>/<c>defaultErrnoRet</c> is absent (runc's getAction, crun).</summary>
    private const ulong Eperm = 1;

    /// <summary>The CRD's <c>architectures</c> enum (SPO v1beta1).</summary>
    public static readonly ImmutableArray<string> Architectures =
    [
        "SCMP_ARCH_NATIVE", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
    ];

    /// <summary>The CRD's <c>defaultAction</c> and <c>action</c> enum.</summary>
    public static readonly ImmutableArray<string> Actions =
    [
        "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
    ];

    /// <summary>The CRD's <c>flags</c> enum.</summary>
    public static readonly ImmutableArray<string> Flags =
    [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ];

    /// <summary>The CRD's <c>args</c> <c>maxItems</c>.</summary>
    public const int MaxArgs = 6;

    // A DNS-1123 subdomain (Kubernetes object names): lowercase alphanumerics, '-' and '.', alphanumeric at both ends.
    private static readonly Regex DnsSubdomain = new("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", RegexOptions.CultureInvariant);

    private const int MaxNameLength = 253;

    /// <summary>
    /// Writes <paramref name="policy"/> as a SeccompProfile named <paramref name="name"/> for nodes whose runtime is
    /// <paramref name="target"/> (architecture <paramref name="native"/>, default this machine's).
    /// </summary>
    /// <param name="policy">The policy, e.g. a learned profile.</param>
    /// <param name="name">The object's <c>metadata.name</c> (a DNS-1123 subdomain; <see cref="NameFor"/> makes one from a container id).</param>
    /// <param name="target">The runtime the operator's profile file will reach on the node.</param>
    /// <param name="namespace">The object's <c>metadata.namespace</c>, or null to leave it to <c>kubectl -n</c>.</param>
    /// <param name="native">The nodes' architecture.</param>
    /// <exception cref="OciExportException">The runtime cannot run the policy (every reason, located).</exception>
    /// <exception cref="SpoExportException">The CRD cannot hold the profile (every reason, located).</exception>
    public static SpoExport Export(SeccompPolicy policy, string name, OciTarget target, string? @namespace = null, Architecture? native = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(target);
        var problems = new List<OciExportProblem>();
        if (NameProblem(name) is { } bad) problems.Add(new("metadata.name", bad, $"choose another name (e.g. `{NameFor(name)}`)"));
        if (@namespace is not null && (@namespace.Length > 63 || @namespace.Contains('.', StringComparison.Ordinal) || NameProblem(@namespace) is not null))
            problems.Add(new("metadata.namespace", $"`{@namespace}` is not a Kubernetes namespace name (a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)", "choose another namespace"));
        var oci = OciExporter.Export(policy, target, native);
        var s = oci.Seccomp;
        var notes = new List<PolicyDiagnostic>(oci.Diagnostics);

        if (s.DefaultErrnoRet is { } d && d != Eperm)
            problems.Add(new(policy.Origins.DefaultAction ?? "default", $"the default action returns {d}, but a SeccompProfile has no defaultErrnoRet (the CRD's spec lacks the field), so the node's runtime would return EPERM",
                "write `default errno(EPERM)`, or refuse the other calls with kill-process"));
        if (!Actions.Contains(s.DefaultAction!))
            problems.Add(new("spec.defaultAction", $"the CRD does not accept {s.DefaultAction} (it accepts {string.Join(", ", Actions)})", "write another `default` action"));
        foreach (var a in s.Architectures ?? [])
            if (!Architectures.Contains(a))
                problems.Add(new(policy.Origins.Architectures ?? "architectures", $"the CRD does not accept {a} in spec.architectures (it accepts {string.Join(", ", Architectures)})",
                    $"remove {(OciNames.Architectures.TryGetValue(a, out var arch) ? arch.Name : a)} from `architectures` and write a separate profile for those nodes"));
        foreach (var f in s.Flags ?? [])
            if (!Flags.Contains(f))
                problems.Add(new(policy.Origins.Flags ?? "flags", $"the CRD does not accept {f} in spec.flags (it accepts {string.Join(", ", Flags)})", "remove the flag from `flags`"));

        var effective = oci.Effective;
        if (s.Flags is { Count: 0 } && target.Model.AbsentFlags != PolicyFlags.None)
        {
            // SPO marshals `flags` with omitempty: an empty list reaches the runtime as an absent one.
            notes.Add(new(DiagnosticSeverity.Warning, policy.Origins.Flags ?? "flags",
                $"the operator writes no `flags` field when the list is empty, and {target} reads an absent list as {PolicyPrinter.FlagText(target.Model.AbsentFlags)}: the kernel's speculative store bypass mitigation is off for the container (it still refuses and allows the same calls)"));
            effective = new SeccompPolicy(effective.DefaultAction, effective.Rules, effective.EffectiveArchitectures, effective.BadArchAction,
                effective.Flags | target.Model.AbsentFlags, effective.ListenerPath, effective.ListenerMetadata, effective.EnosysAbove) { Origins = effective.Origins };
        }

        var syscalls = s.Syscalls ?? [];
        bool errnoRetWritten = false;
        for (int i = 0; i < syscalls.Count; i++)
        {
            var e = syscalls[i];
            string at = $"spec.syscalls[{i}] ({string.Join(", ", e.Names)})";
            if (!Actions.Contains(e.Action))
                problems.Add(new(at, $"the CRD does not accept {e.Action} (it accepts {string.Join(", ", Actions)})", $"give {e.Names[0]} another action"));
            if (e.ErrnoRet is { } r && r != Eperm) errnoRetWritten = true;
            if (e.Args.Count > MaxArgs)
                problems.Add(new(at, $"the entry has {e.Args.Count} conditions, but the CRD allows at most {MaxArgs}", "compare fewer arguments"));
            for (int k = 0; k < e.Args.Count; k++)
            {
                var arg = e.Args[k];
                foreach (var (field, v) in new[] { ("value", arg.Value), ("valueTwo", arg.ValueTwo) })
                    if (v > long.MaxValue)
                        problems.Add(new($"{at}.args[{k}].{field}", $"0x{v:x} does not fit the CRD's int64 (values 0 to 2^63-1), so {arg.Op} on {ArgumentNames.Name(e.Names[0], (int)arg.Index)} cannot be written",
                            $"compare only the low 32 bits of {ArgumentNames.Name(e.Names[0], (int)arg.Index)} (`{ArgumentNames.Name(e.Names[0], (int)arg.Index)}:32`), or a constant below 2^63"));
            }
        }
        if (errnoRetWritten)
            notes.Add(new(DiagnosticSeverity.Warning, "spec.syscalls",
                "some entries carry errnoRet, which the CRD types as a string: security-profiles-operator releases that copy it into the node's profile file unchanged make containerd, CRI-O and runc refuse the profile " +
                "(\"cannot unmarshal string into Go struct field Syscall.syscalls.errnoRet of type uint\", security-profiles-operator issue 1769), and crun 1.8.1 read the string as no errnoRet (EPERM); " +
                "check that your operator converts it, or use the kubelet profile (--to kubelet)"));

        if (problems.Count > 0) throw new SpoExportException([.. problems]);
        notes.Add(new(DiagnosticSeverity.Info, "metadata.name",
            $"the operator saves the profile on each node as <kubelet root>/seccomp/operator/{@namespace ?? "NAMESPACE"}/{name}.json; pods in that namespace use it with securityContext.seccompProfile {{type: Localhost, localhostProfile: operator/{@namespace ?? "NAMESPACE"}/{name}.json}}"));
        return new SpoExport(name, Yaml(s, name, @namespace, target), oci, effective, [.. notes]);
    }

    /// <summary>
    /// Why <paramref name="name"/> is not a valid <c>metadata.name</c> (a DNS-1123 subdomain: at most 253 lowercase letters,
    /// digits, '-' and '.', each dot-separated part starting and ending with a letter or digit), or null when it is.
    /// </summary>
    public static string? NameProblem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0) return "the name is empty";
        if (name.Length > MaxNameLength) return $"`{name[..20]}...` has {name.Length} characters; Kubernetes object names have at most {MaxNameLength}";
        return DnsSubdomain.IsMatch(name) ? null
            : $"`{name}` is not a Kubernetes object name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)";
    }

    /// <summary>
    /// A valid <c>metadata.name</c> made from a container id or file name: lowercased, every character other than a letter,
    /// digit, '-' or '.' made '-', runs of separators collapsed, trimmed to 253 characters and to a letter or digit at both
    /// ends; "profile" when nothing is left. Distinct ids that differ only in case or in the replaced characters map to one
    /// name, so a caller naming many containers checks for collisions.
    /// </summary>
    public static string NameFor(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var sb = new StringBuilder(id.Length);
        foreach (char c in id.ToLowerInvariant())
        {
            char x = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' ? c : '-';
            if ((x is '-' or '.') && sb.Length > 0 && sb[^1] is '-' or '.') continue;
            sb.Append(x);
        }
        string name = sb.ToString();
        if (name.Length > MaxNameLength) name = name[..MaxNameLength];
        name = name.Trim('-', '.');
        return name.Length == 0 ? "profile" : name;
    }

    // ---- YAML

    private static string Yaml(OciSeccomp s, string name, string? ns, OciTarget target)
    {
        var y = new StringBuilder();
        y.Append("# Written by seccompkit for nodes running ").Append(target).Append(" (security-profiles-operator v1beta1 SeccompProfile)\n");
        y.Append("apiVersion: ").Append(ApiVersion).Append('\n');
        y.Append("kind: ").Append(Kind).Append('\n');
        y.Append("metadata:\n  name: ").Append(Scalar(name)).Append('\n');
        if (ns is not null) y.Append("  namespace: ").Append(Scalar(ns)).Append('\n');
        y.Append("spec:\n");
        y.Append("  defaultAction: ").Append(Scalar(s.DefaultAction!)).Append('\n');
        // defaultErrnoRet is EPERM or absent here (anything else was refused): absent means EPERM to the runtime.
        List("  ", "architectures", s.Architectures);
        List("  ", "flags", s.Flags);
        if (s.ListenerPath is not null) y.Append("  listenerPath: ").Append(Scalar(s.ListenerPath)).Append('\n');
        if (s.ListenerMetadata is not null) y.Append("  listenerMetadata: ").Append(Scalar(s.ListenerMetadata)).Append('\n');
        var syscalls = s.Syscalls ?? [];
        if (syscalls.Count == 0) y.Append("  syscalls: []\n");
        else
        {
            y.Append("  syscalls:\n");
            foreach (var e in syscalls)
            {
                y.Append("  - action: ").Append(Scalar(e.Action)).Append('\n');
                // errnoRet is a string in the CRD. EPERM is left out: absent means EPERM for ERRNO and TRACE.
                if (e.ErrnoRet is { } r && r != Eperm) y.Append("    errnoRet: ").Append(Quoted(r.ToString(CultureInfo.InvariantCulture))).Append('\n');
                List("    ", "names", e.Names);
                if (e.Args.Count == 0) continue;
                y.Append("    args:\n");
                foreach (var a in e.Args)
                {
                    y.Append("    - index: ").Append(a.Index.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    y.Append("      value: ").Append(a.Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    y.Append("      valueTwo: ").Append(a.ValueTwo.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    y.Append("      op: ").Append(Scalar(a.Op)).Append('\n');
                }
            }
        }
        return y.ToString();

        void List(string indent, string key, IReadOnlyList<string>? values)
        {
            if (values is null) return;
            if (values.Count == 0) { y.Append(indent).Append(key).Append(": []\n"); return; }
            y.Append(indent).Append(key).Append(":\n");
            foreach (var v in values) y.Append(indent).Append("- ").Append(Scalar(v)).Append('\n');
        }
    }

    // YAML 1.1 and 1.2 words a plain scalar would read as something other than a string.
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    };

    /// <summary>
    /// <paramref name="text"/> as a plain scalar when it is an identifier that reads as the same string in YAML 1.1 and 1.2
    /// (letters, digits, '_', '-', '.', '/', starting with a letter or '_', not a boolean or null word), else double-quoted.
    /// </summary>
    internal static string Scalar(string text)
    {
        bool plain = text.Length > 0 && (char.IsAsciiLetter(text[0]) || text[0] == '_') && !Reserved.Contains(text)
            && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/');
        return plain ? text : Quoted(text);
    }

    /// <summary>
    /// A double-quoted YAML scalar: backslash and quote escaped, every control character, non-ASCII character and DEL
    /// as <c>\uXXXX</c> (<c>\UXXXXXXXX</c> beyond the BMP: YAML escapes code points, not UTF-16 halves), so the text is
    /// plain ASCII. A lone surrogate, which no UTF-8 text can hold, becomes U+FFFD.
    /// </summary>
    internal static string Quoted(string text)
    {
        var sb = new StringBuilder(text.Length + 2).Append('"');
        foreach (var r in text.EnumerateRunes())
        {
            int c = r.Value;
            if (c == '"') sb.Append("\\\"");
            else if (c == '\\') sb.Append("\\\\");
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\t') sb.Append("\\t");
            else if (c >= 0x20 && c < 0x7f) sb.Append((char)c);
            else if (c <= 0xffff) sb.Append("\\u").Append(c.ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append("\\U").Append(c.ToString("x8", CultureInfo.InvariantCulture));
        }
        return sb.Append('"').ToString();
    }
}
