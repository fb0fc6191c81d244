using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Learning;

/// <summary>Whether a learned profile gets argument conditions.</summary>
public enum ArgumentMode
{
    /// <summary>Conditions on the security arguments (<see cref="SecurityArguments"/>) from the values seen.</summary>
    Auto,
    /// <summary>Syscalls only.</summary>
    None,
}

/// <summary>How to turn recorded calls into a profile.</summary>
public sealed record SynthesisOptions
{
    /// <summary>The action for everything not learned; default ERRNO(EPERM), as Docker's profile.</summary>
    public PolicyAction DefaultAction { get; init; } = PolicyAction.Errno(1);

    /// <summary>Argument conditions or none.</summary>
    public ArgumentMode Arguments { get; init; } = ArgumentMode.Auto;

    /// <summary>Syscalls to allow in addition (without conditions), e.g. a container runtime's own; with the reason for the report.</summary>
    public ImmutableArray<(string Syscall, string Reason)> Extra { get; init; } = [];

    /// <summary>The ABIs the profile covers in addition to those seen (e.g. a base profile's).</summary>
    public ImmutableArray<Architecture> Architectures { get; init; } = [];

    /// <summary>Allow <see cref="LearnedBaseline"/> too (default true): what any program may need without having made it while learned.</summary>
    public bool Baseline { get; init; } = true;

    /// <summary>What the profile says about clone3; default <see cref="Clone3Rule.Enosys"/>.</summary>
    public Clone3Rule Clone3 { get; init; } = Clone3Rule.Enosys;

    /// <summary>
    /// The OCI runtime the profile is for: its ENOSYS stub goes into the profile (<see cref="OciEnosysStub"/>: runc 1.1
    /// the listed ABIs, runc 1.1.15+ also the native one, crun none), so that <c>run</c> and the runtime answer alike.
    /// Default: <see cref="OciTarget.Default"/>.
    /// </summary>
    public OciTarget? Target { get; init; }
}

/// <summary>How a learned profile treats clone3, whose flags are in memory where no seccomp filter can read them.</summary>
public enum Clone3Rule
{
    /// <summary>
    /// clone3 fails with ENOSYS, as in Docker's profile: glibc (2.34+) then falls back to clone, whose flags the filter
    /// checks, so no namespace can be created through clone3. A learner answers clone3 the same way while it records, so
    /// that the fallback's clone calls are what gets learned.
    /// </summary>
    Enosys,
    /// <summary>clone3 is allowed (without conditions: none are possible) if the program made it.</summary>
    Allow,
    /// <summary>No rule for clone3 (it gets the default action unless recorded), e.g. for a patch to a profile that already answers it.</summary>
    Omit,
}

/// <summary>A learned profile and what went into it.</summary>
/// <param name="Policy">The profile.</param>
/// <param name="Notes">Things the user should know (a syscall without a name, dropped conditions).</param>
/// <param name="Baseline">The <see cref="LearnedBaseline"/> members allowed although the program did not make them.</param>
public sealed record SynthesisResult(SeccompPolicy Policy, ImmutableArray<string> Notes, ImmutableArray<BaselineSyscall> Baseline);

/// <summary>
/// Writes the minimal profile for recorded calls: an ALLOW rule for every syscall made, with argument conditions on the
/// security arguments where the values seen are few (<see cref="SyscallRecorder.MaxDistinctValues"/>), and the default
/// action for everything else. Nothing that was not called is allowed, except <see cref="LearnedBaseline"/> (unless
/// <see cref="SynthesisOptions.Baseline"/> is off) and <see cref="SynthesisOptions.Extra"/>; clone3 gets ENOSYS
/// (<see cref="Clone3Rule"/>).
/// </summary>
/// <remarks>
/// A profile names syscalls, and its rules apply to every ABI it lists, so a name seen on one ABI is allowed on each
/// ABI seen. Conditions compare the masked values exactly (<c>(arg &amp; mask) == value</c>, one rule per distinct
/// tuple), which the OCI format expresses as SCMP_CMP_MASKED_EQ. On an ABI other than the native one, numbers above the
/// largest one the profile names get ERRNO(ENOSYS) rather than the default action, as runc's stub gives them.
/// </remarks>
public static class ProfileSynthesizer
{
    /// <summary>Builds the profile.</summary>
    public static SynthesisResult Synthesize(LearnedCalls calls, SynthesisOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(calls);
        options ??= new SynthesisOptions();
        var notes = new List<string>();
        var arches = new List<Architecture>();
        var unconditional = new SortedSet<string>(StringComparer.Ordinal);
        var conditional = new SortedDictionary<string, (ImmutableArray<RecordedArgument> Spec, HashSet<ArgumentTuple> Values)>(StringComparer.Ordinal);

        foreach (var s in calls.Syscalls)
        {
            if (s.Abi is null)
            {
                notes.Add($"{s.Count} call(s) from an ABI SeccompKit does not know (AUDIT_ARCH 0x{s.AuditArch:x8}, nr {s.Nr}) cannot be written into the profile; the program will be refused them");
                continue;
            }
            if (!arches.Contains(s.Abi)) arches.Add(s.Abi);
            if (s.Name is null)
            {
                notes.Add($"{s.Display} ({s.Count} call(s)) has no name in SeccompKit's {s.Abi.Name} table ({SyscallTable.DataVersion}), so a profile cannot name it; the program will be refused it");
                continue;
            }
            bool withConditions = options.Arguments == ArgumentMode.Auto && !s.Arguments.IsDefaultOrEmpty && !s.TooManyValues;
            if (s.TooManyValues && options.Arguments == ArgumentMode.Auto)
                notes.Add($"{s.Name}: more than {SyscallRecorder.MaxDistinctValues} distinct values of {string.Join(", ", s.Arguments.Select(a => a.Meaning))}; allowed without conditions");
            if (!withConditions) { unconditional.Add(s.Name); continue; }
            if (!conditional.TryGetValue(s.Name, out var c)) conditional[s.Name] = c = (s.Arguments, []);
            foreach (var v in s.Values) c.Values.UnionWith(Widen(s.Arguments, v.Values));
        }
        foreach (var (name, _) in options.Extra) unconditional.Add(name);
        foreach (var a in options.Architectures) if (!arches.Contains(a)) arches.Add(a);
        if (arches.Count == 0) arches.Add(Architecture.NativeHost);

        var baseline = ImmutableArray.CreateBuilder<BaselineSyscall>();
        if (options.Baseline)
            foreach (var b in LearnedBaseline.For(arches))
                if (!unconditional.Contains(b.Syscall) && !conditional.ContainsKey(b.Syscall))
                {
                    unconditional.Add(b.Syscall);
                    baseline.Add(b);
                }
        const string clone3 = "clone3";
        if (options.Clone3 == Clone3Rule.Enosys)
        {
            if (unconditional.Remove(clone3) || conditional.Remove(clone3))
                notes.Add("clone3 was allowed while learning (it is in the base profile); the profile answers it ENOSYS instead, so that glibc falls back to clone, whose flags it checks (learn --allow-clone3 keeps it allowed)");
        }
        else if (options.Clone3 == Clone3Rule.Allow && (unconditional.Contains(clone3) || conditional.ContainsKey(clone3)))
            notes.Add("clone3 is allowed without conditions: its flags (CLONE_NEW* included) are in memory, where no seccomp filter can check them");

        var rules = new List<SyscallRule>();
        var names = new SortedSet<string>(unconditional, StringComparer.Ordinal);
        names.UnionWith(conditional.Keys);
        foreach (var name in names)
        {
            if (unconditional.Contains(name) || !conditional.TryGetValue(name, out var c))
            {
                rules.Add(new SyscallRule(name, PolicyAction.Allow));
                continue;
            }
            foreach (var t in c.Values.OrderBy(t => t.V0).ThenBy(t => t.V1).ThenBy(t => t.V2))
                rules.Add(new SyscallRule(name, PolicyAction.Allow, c.Spec.Select((a, i) => Condition(a, t[i]))));
        }
        if (options.Clone3 == Clone3Rule.Enosys && arches.Any(a => a.Syscalls.Contains(clone3)))
            rules.Add(new SyscallRule(clone3, PolicyAction.Errno(Enosys)));
        // Keep only names known on at least one covered ABI (the policy refuses a rule no ABI can place).
        var kept = rules.Where(r => arches.Any(a => a.Syscalls.Contains(r.Syscall))).ToList();
        var policy = new SeccompPolicy(options.DefaultAction, kept,
            arches.OrderBy(a => a == Architecture.NativeHost ? 0 : 1).ThenBy(a => a.Name, StringComparer.Ordinal),
            // runc and crun always leave libseccomp's bad-arch action, KILL_THREAD (SCMP_ACT_KILL): the one an OCI profile can say.
            badArchAction: PolicyAction.KillThread,
            enosysAbove: EnosysStub(options.Target ?? OciTarget.Default, options.DefaultAction, arches, kept));
        foreach (var r in rules.Where(r => !arches.Any(a => a.Syscalls.Contains(r.Syscall))).Select(r => r.Syscall).Distinct())
            notes.Add($"{r} is not a syscall of {string.Join("/", arches.Select(a => a.Name))}; left out");
        return new SynthesisResult(policy, [.. notes], baseline.ToImmutable());
    }

    /// <summary>
    /// The ENOSYS cutoffs the runtime gives the profile: runc returns ENOSYS above the largest number a profile names on
    /// each ABI its stub covers, unless the default action lets calls run (libcontainer/seccomp/patchbpf); an exported
    /// profile lists every ABI but the native one, which runc 1.1.15+ stubs anyway; crun has no stub. Written into the
    /// policy so that <c>run</c> and the runtime answer alike.
    /// </summary>
    internal static Dictionary<Architecture, uint>? EnosysStub(OciTarget target, PolicyAction defaultAction, IReadOnlyList<Architecture> arches, IReadOnlyList<SyscallRule> rules)
    {
        if (defaultAction.Kind is SeccompAction.Allow or SeccompAction.Log or SeccompAction.Trace) return null;
        if (target.Model.EnosysStub == OciEnosysStub.None) return null;
        bool native = target.Model.EnosysStub == OciEnosysStub.ListedAndNative;
        var cutoffs = new Dictionary<Architecture, uint>();
        foreach (var abi in arches.Where(a => native || a != Architecture.NativeHost))
        {
            int largest = rules.Select(r => abi.Syscalls.TryGetNumber(r.Syscall, out int nr) ? nr : 0).DefaultIfEmpty(0).Max();
            if (largest > 0) cutoffs[abi] = (uint)largest;
        }
        return cutoffs;
    }

    private const int Enosys = 38;

    /// <summary>
    /// The tuples a profile allows for <paramref name="seen"/>: itself, and for permission arguments
    /// (<see cref="RecordedArgument.Granted"/>) every subset of its bits and of the granted ones.
    /// </summary>
    internal static IEnumerable<ArgumentTuple> Widen(ImmutableArray<RecordedArgument> spec, ArgumentTuple seen)
    {
        IEnumerable<ArgumentTuple> tuples = [seen];
        for (int i = 0; i < spec.Length; i++)
        {
            if (spec[i].Granted is not { } granted) continue;
            int at = i;
            tuples = tuples.SelectMany(t => new[] { t[at], granted & spec[at].Mask }.SelectMany(Subsets).Distinct().Select(v => t.With(at, v))).ToList();
        }
        return tuples;

        // Every subset of the bits of v (v has at most a few bits: the masks of permission arguments are small).
        static IEnumerable<ulong> Subsets(ulong v)
        {
            for (ulong s = v; ; s = (s - 1) & v)
            {
                yield return s;
                if (s == 0) yield break;
            }
        }
    }

    private static ArgCondition Condition(RecordedArgument a, ulong value) => a.Mask == ulong.MaxValue
        ? new ArgCondition(a.Index, ArgOperator.Equal, value)
        : new ArgCondition(a.Index, ArgOperator.MaskedEqual, value, a.Mask);
}

/// <summary>The outcome of replaying recorded calls through a compiled profile.</summary>
/// <param name="Replayed">Distinct calls replayed (every recorded value tuple and sample vector).</param>
/// <param name="Refused">Calls the profile does not allow, with the action it gives (empty when the profile is good).</param>
public sealed record ReplayResult(int Replayed, ImmutableArray<(LearnedSyscall Syscall, SeccompData Data, string Action)> Refused)
{
    /// <summary>Every replayed call was allowed.</summary>
    public bool AllAllowed => Refused.IsEmpty;
}

/// <summary>
/// Replays recorded calls through our BPF interpreter against the compiled profile: every call the program made must be
/// allowed (ALLOW or LOG) by the profile about to be written. The interpreter runs the exact filter the kernel would.
/// </summary>
public static class ReplayCheck
{
    /// <summary>Compiles <paramref name="policy"/> and replays <paramref name="calls"/> through it.</summary>
    public static ReplayResult Run(SeccompPolicy policy, LearnedCalls calls) => Run(PolicyCompiler.Compile(policy).Program, calls);

    /// <summary>Replays <paramref name="calls"/> through a compiled filter.</summary>
    public static ReplayResult Run(BpfProgram filter, LearnedCalls calls)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(calls);
        int replayed = 0;
        var refused = ImmutableArray.CreateBuilder<(LearnedSyscall, SeccompData, string)>();
        foreach (var s in calls.Syscalls)
        {
            var seen = new HashSet<ArgumentVector>();
            foreach (var v in s.Samples.Concat(s.Values.Select(v => v.Representative)))
            {
                if (!seen.Add(v)) continue;
                replayed++;
                var data = new SeccompData(s.Nr, s.AuditArch, s.FirstInstructionPointer, v.ToArray());
                uint ret = Interpreter.Run(filter, data).Value;
                uint action = ret & SeccompReturn.SECCOMP_RET_ACTION_FULL;
                if (action is not (SeccompReturn.SECCOMP_RET_ALLOW or SeccompReturn.SECCOMP_RET_LOG))
                    refused.Add((s, data, ActionNames.Format(ret)));
            }
        }
        return new ReplayResult(replayed, refused.ToImmutable());
    }
}

/// <summary>The filters a learner and complain mode install: notify where a profile would not let a call run.</summary>
public static class LearningFilter
{
    /// <summary>The ABIs an x86_64 kernel runs (x86_64, i386 emulation, x32): a learner watches all of them.</summary>
    public static ImmutableArray<Architecture> HostAbis { get; } = [Architecture.X86_64, Architecture.X86, Architecture.X32];

    /// <summary>
    /// A policy that notifies on every syscall of every ABI (no base), or on every call <paramref name="baseProfile"/> would
    /// not let run: its ALLOW and LOG rules stay, every other action (rules, default, bad-arch) becomes USER_NOTIF. Because
    /// USER_NOTIF outranks ALLOW and LOG as every refusing action does, the calls notified are exactly those the base
    /// refuses, whatever the rule order. Two exceptions: a base whose only clone3 rule is an unconditional ERRNO(ENOSYS) (as
    /// Docker's) keeps it (programs fall back to clone, as they will under the base), and with <paramref name="watchExecs"/> execve and execveat are always
    /// notified, so the learner sees every program executed (the learner lets the base's allowed ones run unrecorded).
    /// </summary>
    public static SeccompPolicy NotifyUnless(SeccompPolicy? baseProfile, bool watchExecs = false)
    {
        if (baseProfile is null)
            return new SeccompPolicy(PolicyAction.UserNotif, [], HostAbis, PolicyAction.UserNotif);
        // Docker's shape only: clone3's one rule, unconditional ERRNO(ENOSYS). Then every clone3 the base decides by a rule
        // gets exactly that answer under both filters.
        var clone3Rules = baseProfile.RulesFor("clone3");
        bool keepClone3 = clone3Rules.Length == 1 && clone3Rules[0].IsUnconditional && clone3Rules[0].Action == PolicyAction.Errno(38);
        var rules = baseProfile.Rules.Select(r => r.Action.LetsCallRun || (keepClone3 && r.Syscall == "clone3") ? r : new SyscallRule(r.Syscall, PolicyAction.UserNotif, r.Conditions)).ToList();
        if (watchExecs)
            foreach (var name in new[] { "execve", "execveat" })
                if (baseProfile.EffectiveArchitectures.Any(a => a.Syscalls.Contains(name)))
                {
                    rules.RemoveAll(r => r.Syscall == name);
                    rules.Add(new SyscallRule(name, PolicyAction.UserNotif));
                }
        var d = baseProfile.DefaultAction.LetsCallRun ? baseProfile.DefaultAction : PolicyAction.UserNotif;
        var badArch = baseProfile.BadArchAction.LetsCallRun ? baseProfile.BadArchAction : PolicyAction.UserNotif;
        return new SeccompPolicy(d, rules, baseProfile.EffectiveArchitectures, badArch, enosysAbove: null);
    }
}
