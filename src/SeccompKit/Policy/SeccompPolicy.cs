using System.Collections.Immutable;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy;

/// <summary>Filter flags passed to <c>seccomp(SECCOMP_SET_MODE_FILTER, flags, ...)</c>, as the OCI runtime-spec names them.</summary>
[Flags]
public enum PolicyFlags
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>SECCOMP_FILTER_FLAG_TSYNC: install on every thread of the process.</summary>
    Tsync = 1,
    /// <summary>SECCOMP_FILTER_FLAG_LOG: log every action except ALLOW.</summary>
    Log = 2,
    /// <summary>SECCOMP_FILTER_FLAG_SPEC_ALLOW: do not force Speculative Store Bypass mitigation.</summary>
    SpecAllow = 4,
    /// <summary>SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: a notified task waits killably once the supervisor received the notification.</summary>
    WaitKillableRecv = 8,
}

/// <summary>
/// A seccomp policy: what happens to every system call, independent of how it is written (OCI JSON,
/// a Docker profile, the SeccompKit language) or compiled. Immutable and validated at construction.
/// <para>
/// Meaning (<see cref="PolicyEvaluator.Evaluate"/> is the oracle):
/// a call from an ABI the policy does not cover gets <see cref="BadArchAction"/>; on ABIs listed in
/// <see cref="EnosysAbove"/> a number above the cutoff gets ERRNO(ENOSYS) (runc's treatment of
/// syscalls newer than the profile); otherwise the rules for the called syscall are tried — among the
/// rules whose conditions all hold, the most restrictive action wins (the kernel's precedence order:
/// KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, USER_NOTIF, TRACE, LOG, ALLOW; ties go to the earlier rule) —
/// and if none holds, <see cref="DefaultAction"/>.
/// </para>
/// </summary>
public sealed class SeccompPolicy
{
    /// <summary>Creates and validates a policy.</summary>
    /// <param name="defaultAction">Action for calls no rule matches.</param>
    /// <param name="rules">The rules, in order.</param>
    /// <param name="architectures">ABIs the filter covers; empty means the host's (x86_64).</param>
    /// <param name="badArchAction">Action for calls from any other ABI; null leaves it undeclared: KILL_PROCESS here, and an OCI export takes the runtime's KILL_THREAD (<see cref="DeclaredBadArchAction"/>).</param>
    /// <param name="flags">Filter flags.</param>
    /// <param name="listenerPath">OCI <c>listenerPath</c>: where the runtime sends the notification fd.</param>
    /// <param name="listenerMetadata">OCI <c>listenerMetadata</c>: opaque text passed to the agent.</param>
    /// <param name="enosysAbove">Per ABI, the number above which calls return ENOSYS (runc's stub); s390/s390x also give ENOSYS for number 0.</param>
    /// <exception cref="PolicyException">Unknown syscall on every covered ABI, a condition on an argument the syscall does not have, conflicting rules, or a bad ENOSYS cutoff.</exception>
    public SeccompPolicy(
        PolicyAction defaultAction,
        IEnumerable<SyscallRule> rules,
        IEnumerable<Architecture>? architectures = null,
        PolicyAction? badArchAction = null,
        PolicyFlags flags = PolicyFlags.None,
        string? listenerPath = null,
        string? listenerMetadata = null,
        IReadOnlyDictionary<Architecture, uint>? enosysAbove = null)
    {
        DefaultAction = defaultAction;
        Rules = [.. rules];
        Architectures = architectures is null ? [] : [.. architectures.Distinct()];
        DeclaredBadArchAction = badArchAction;
        BadArchAction = badArchAction ?? PolicyAction.KillProcess;
        Flags = flags;
        ListenerPath = string.IsNullOrEmpty(listenerPath) ? null : listenerPath;
        ListenerMetadata = string.IsNullOrEmpty(listenerMetadata) ? null : listenerMetadata;
        EnosysAbove = enosysAbove is null ? ImmutableSortedDictionary<Architecture, uint>.Empty.WithComparers(ArchitectureOrder)
            : enosysAbove.ToImmutableSortedDictionary(p => p.Key, p => p.Value, ArchitectureOrder);
        EffectiveArchitectures = Architectures.IsEmpty ? [Architecture.NativeHost] : Architectures;
        Validate();
        _byName = Rules.Select((r, i) => (r, i)).GroupBy(t => t.r.Syscall, StringComparer.Ordinal)
            .ToImmutableDictionary(g => g.Key, g => g.Select(t => t.r).ToImmutableArray(), StringComparer.Ordinal);
    }

    private static readonly Comparer<Architecture> ArchitectureOrder = Comparer<Architecture>.Create((a, b) => string.CompareOrdinal(a.Name, b.Name));

    private readonly ImmutableDictionary<string, ImmutableArray<SyscallRule>> _byName;

    /// <summary>Action for calls no rule matches.</summary>
    public PolicyAction DefaultAction { get; }

    /// <summary>The rules in order.</summary>
    public ImmutableArray<SyscallRule> Rules { get; }

    /// <summary>The ABIs as written (may be empty).</summary>
    public ImmutableArray<Architecture> Architectures { get; }

    /// <summary>The ABIs the filter covers: <see cref="Architectures"/>, or the host's when none are given.</summary>
    public ImmutableArray<Architecture> EffectiveArchitectures { get; }

    /// <summary>Action for calls from ABIs the policy does not cover: <see cref="DeclaredBadArchAction"/>, or KILL_PROCESS when none was declared.</summary>
    public PolicyAction BadArchAction { get; }

    /// <summary>
    /// The bad-architecture action the policy was given (a policy file's <c>on-bad-arch</c> statement, an OCI profile's
    /// fixed KILL_THREAD), or null when it was left unsaid. An OCI export of an undeclared one takes what the runtime
    /// does (KILL_THREAD); a declared other one is refused there, as OCI has no field for it.
    /// </summary>
    public PolicyAction? DeclaredBadArchAction { get; }

    /// <summary>Where the header statements were written (for messages); <see cref="PolicyOrigins.Unknown"/> when not from a file.</summary>
    public PolicyOrigins Origins { get; init; } = PolicyOrigins.Unknown;

    /// <summary>Filter flags.</summary>
    public PolicyFlags Flags { get; }

    /// <summary>OCI <c>listenerPath</c>, or null.</summary>
    public string? ListenerPath { get; }

    /// <summary>OCI <c>listenerMetadata</c>, or null.</summary>
    public string? ListenerMetadata { get; }

    /// <summary>Per ABI, calls numbered above the cutoff return ERRNO(ENOSYS) (see runc's <c>patchbpf</c>).</summary>
    public ImmutableSortedDictionary<Architecture, uint> EnosysAbove { get; }

    /// <summary>
    /// Whether a call numbered <paramref name="nr"/> from <paramref name="abi"/> gets runc's ERRNO(ENOSYS) before any
    /// rule is tried: the number is above the ABI's <see cref="EnosysAbove"/> cutoff, or is 0 on s390/s390x (their
    /// <c>setup</c> slot, which runc's stub also answers). False on ABIs without a cutoff.
    /// </summary>
    public bool IsAboveEnosysCutoff(Architecture abi, int nr) =>
        EnosysAbove.TryGetValue(abi, out var cutoff) &&
        ((uint)nr > cutoff || (nr == 0 && (abi == Architecture.S390 || abi == Architecture.S390X)));

    /// <summary>The rules naming <paramref name="syscall"/>, in order.</summary>
    public ImmutableArray<SyscallRule> RulesFor(string syscall) => _byName.TryGetValue(syscall, out var r) ? r : [];

    /// <summary>The distinct syscall names the rules mention, in first-mention order.</summary>
    public IEnumerable<string> SyscallNames => Rules.Select(r => r.Syscall).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// Which covered ABI a call with this <c>seccomp_data.arch</c> and <c>nr</c> belongs to, or null if
    /// none. x86_64 and x32 share AUDIT_ARCH_X86_64: numbers from 0x40000000 (the x32 bit) up are x32 calls, as libseccomp's filters treat them; nr -1
    /// (a call a tracer skipped) counts as x86_64 when it is covered, as libseccomp treats it.
    /// </summary>
    public Architecture? ResolveAbi(uint auditArch, int nr)
    {
        Architecture? only = null;
        bool x86_64 = false, x32 = false;
        foreach (var a in EffectiveArchitectures)
        {
            if (a.AuditArch != auditArch) continue;
            if (a == Architecture.X86_64) x86_64 = true;
            else if (a == Architecture.X32) x32 = true;
            else only = a;
        }
        if (only is not null) return only;
        if (!x86_64 && !x32) return null;
        // libseccomp (and so runc) sends every number from 0x40000000 up, except -1, down the x32 path.
        bool x32Call = (uint)nr >= Architecture.X32SyscallBit && nr != -1;
        if (nr == -1) return x86_64 ? Architecture.X86_64 : Architecture.X32;
        if (x32Call) return x32 ? Architecture.X32 : null;
        return x86_64 ? Architecture.X86_64 : null;
    }

    /// <summary>Returns a copy with other rules (everything else kept; validated again).</summary>
    public SeccompPolicy WithRules(IEnumerable<SyscallRule> rules) =>
        new(DefaultAction, rules, Architectures, DeclaredBadArchAction, Flags, ListenerPath, ListenerMetadata, EnosysAbove) { Origins = Origins };

    /// <summary>Returns a copy with another default action.</summary>
    public SeccompPolicy WithDefaultAction(PolicyAction action) =>
        new(action, Rules, Architectures, DeclaredBadArchAction, Flags, ListenerPath, ListenerMetadata, EnosysAbove) { Origins = Origins with { DefaultAction = null } };

    /// <summary>Returns a copy covering other ABIs.</summary>
    public SeccompPolicy WithArchitectures(IEnumerable<Architecture> architectures) =>
        new(DefaultAction, Rules, architectures, DeclaredBadArchAction, Flags, ListenerPath, ListenerMetadata,
            EnosysAbove.Where(p => architectures.Contains(p.Key)).ToDictionary()) { Origins = Origins with { Architectures = null } };

    /// <summary>Returns a copy with another bad-architecture action, declared.</summary>
    public SeccompPolicy WithBadArchAction(PolicyAction action) =>
        new(DefaultAction, Rules, Architectures, action, Flags, ListenerPath, ListenerMetadata, EnosysAbove) { Origins = Origins with { BadArchAction = null } };

    /// <summary>Returns a copy with other ENOSYS cutoffs.</summary>
    public SeccompPolicy WithEnosysAbove(IReadOnlyDictionary<Architecture, uint> enosysAbove) =>
        new(DefaultAction, Rules, Architectures, DeclaredBadArchAction, Flags, ListenerPath, ListenerMetadata, enosysAbove) { Origins = Origins with { EnosysAbove = ImmutableDictionary<Architecture, string>.Empty } };

    /// <summary>Returns a copy with other filter flags.</summary>
    public SeccompPolicy WithFlags(PolicyFlags flags) =>
        new(DefaultAction, Rules, Architectures, DeclaredBadArchAction, flags, ListenerPath, ListenerMetadata, EnosysAbove) { Origins = Origins with { Flags = null } };

    /// <summary>
    /// The one validation of a policy's whole (each <see cref="SyscallRule"/> and <see cref="ArgCondition"/> checks
    /// itself): every frontend (the policy language, OCI and Docker profiles, merges, learned profiles) builds a
    /// <see cref="SeccompPolicy"/> and gets these errors, located by rule index or statement; a frontend places that
    /// location in its input with <see cref="PolicyException.At"/>.
    /// </summary>
    private void Validate()
    {
        if (EffectiveArchitectures.Count(a => a.AuditArch == Architecture.X86_64.AuditArch) > 2)
            throw new PolicyException("internal: more than two ABIs share AUDIT_ARCH_X86_64.", PolicyLocation.AtStatement(PolicyStatement.Architectures));
        foreach (var (abi, _) in EnosysAbove)
            if (!EffectiveArchitectures.Contains(abi))
                throw new PolicyException($"an ENOSYS cutoff is given for {abi.Name}, which the policy does not cover",
                    $"add {abi.Name} to the architectures or drop the cutoff (the policy covers {Names(EffectiveArchitectures)}).",
                    PolicyLocation.AtStatement(PolicyStatement.EnosysAbove, abi));

        for (int i = 0; i < Rules.Length; i++)
        {
            var rule = Rules[i];
            if (!EffectiveArchitectures.Any(a => a.Syscalls.Contains(rule.Syscall)))
                throw UnknownSyscall(rule.Syscall, PolicyLocation.AtRule(i, rule.Syscall));
            if (rule.Conditions.Length > 0 && SyscallSignatures.TryGet(rule.Syscall, out var sig) && EffectiveArchitectures.Contains(SyscallSignatures.Architecture))
                foreach (var c in rule.Conditions)
                    if (c.Index >= sig.Arguments.Length)
                        throw new PolicyException(
                            $"{rule.Syscall} has {sig.Arguments.Length} argument{(sig.Arguments.Length == 1 ? "" : "s")}{(sig.Arguments.Length == 0 ? "" : $" ({string.Join(", ", sig.Arguments.Select(a => a.Name))})")}, so a condition on argument {c.Index} compares an unused register, whose value is whatever the caller left there",
                            "remove the condition or fix the argument.",
                            PolicyLocation.AtRule(i, rule.Syscall, c.Index));
        }

        var groups = Rules.Select((r, i) => (r, i)).GroupBy(t => t.r.Syscall, StringComparer.Ordinal);
        foreach (var g in groups)
        {
            var list = g.ToList();
            // Earlier rules bucketed by condition set: the same pairs in the same order as comparing every pair, in
            // linear time for the thousands of rules a generated profile can hold.
            var buckets = new Dictionary<int, List<int>>();
            for (int b = 0; b < list.Count; b++)
            {
                int key = list[b].r.ConditionSetHash();
                if (!buckets.TryGetValue(key, out var bucket)) buckets[key] = bucket = [];
                foreach (int a in bucket)
                    if (list[a].r.Action != list[b].r.Action && list[a].r.HasSameConditions(list[b].r))
                    {
                        var (first, second) = (list[a], list[b]);
                        // Where the other rule was written, when known (a policy file's item lowers to several rules: their numbers mean nothing there).
                        var other = first.r.Origin ?? $"rule {first.i + 1}";
                        throw new PolicyException(
                            $"conflicting rules for {g.Key}: {second.r.Action} here, but {first.r.Action} at {other} for the same {(first.r.IsUnconditional ? "calls" : "conditions")}",
                            "keep one of the two; a syscall with several actions needs conditions that tell them apart.",
                            PolicyLocation.AtRule(second.i, g.Key));
                    }
                bucket.Add(b);
            }
        }
    }

    private static string Names(IEnumerable<Architecture> arches) => string.Join(", ", arches.Select(a => a.Name));

    private PolicyException UnknownSyscall(string name, PolicyLocation where)
    {
        var elsewhere = Architecture.All.Where(a => a.Syscalls.Contains(name)).Select(a => a.Name).ToList();
        var candidates = EffectiveArchitectures.SelectMany(a => a.Syscalls.All.Select(e => e.Name)).Distinct().Order(StringComparer.Ordinal);
        var close = Suggestions.Closest(name, candidates);
        var hints = new List<string>();
        if (elsewhere.Count > 0) hints.Add($"it exists on {string.Join(", ", elsewhere)}; add one of those to the architectures, or drop the rule.");
        if (close.Count > 0) hints.Add($"did you mean {Suggestions.OrList(close)}?");
        if (hints.Count == 0) hints.Add("check the name against the syscall tables (seccompkit emulate --all lists them).");
        return new PolicyException($"unknown system call '{name}' on {Names(EffectiveArchitectures)}", string.Join(" ", hints), where);
    }
}

/// <summary>
/// Where a policy's header statements were written, as <c>file:line:column</c> (or a JSON path), so that a message about
/// one (an OCI export refusing <c>on-bad-arch kill-process</c>) can point at it. Null fields are unknown or absent.
/// </summary>
public sealed record PolicyOrigins
{
    /// <summary>Nothing known.</summary>
    public static PolicyOrigins Unknown { get; } = new();

    /// <summary>The <c>default</c> statement.</summary>
    public string? DefaultAction { get; init; }

    /// <summary>The <c>architectures</c> statement.</summary>
    public string? Architectures { get; init; }

    /// <summary>The <c>on-bad-arch</c> statement.</summary>
    public string? BadArchAction { get; init; }

    /// <summary>The <c>flags</c> statement.</summary>
    public string? Flags { get; init; }

    /// <summary>The <c>listener</c> statement.</summary>
    public string? Listener { get; init; }

    /// <summary>Each ABI's entry of an <c>enosys-above</c> statement.</summary>
    public ImmutableDictionary<Architecture, string> EnosysAbove { get; init; } = ImmutableDictionary<Architecture, string>.Empty;
}
