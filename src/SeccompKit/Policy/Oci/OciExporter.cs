using System.Collections.Immutable;
using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Oci;

/// <summary>An OCI profile written for one runtime version, and what it means there.</summary>
/// <param name="Target">The runtime and version written for.</param>
/// <param name="Seccomp">The <c>linux.seccomp</c> object.</param>
/// <param name="Json">It as indented JSON text.</param>
/// <param name="Effective">
/// The policy as <paramref name="Target"/> runs the profile: the input with what the runtime decides where the input is
/// silent (KILL_THREAD for other architectures, the ENOSYS cutoffs runc computes) and without what it cannot carry
/// (flags it drops; crun's missing ENOSYS stub). Importing <paramref name="Json"/> for the target means the same.
/// </param>
/// <param name="Diagnostics">Warnings for meaning lost (a flag dropped), notes for what the runtime decided.</param>
public sealed record OciExport(OciTarget Target, OciSeccomp Seccomp, string Json, SeccompPolicy Effective, ImmutableArray<PolicyDiagnostic> Diagnostics);

/// <summary>One reason a policy cannot be written for a target.</summary>
/// <param name="Location">Where: <c>file:line:column</c> of the policy statement or rule, a JSON path, or the statement's name.</param>
/// <param name="Message">What the runtime cannot do.</param>
/// <param name="Fix">The policy statement (or option) that makes it expressible.</param>
public sealed record OciExportProblem(string Location, string Message, string Fix)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Location}: {Message}\n    fix: {Fix}";
}

/// <summary>The policy cannot be written for the target; <see cref="Problems"/> lists every reason, each located.</summary>
public sealed class OciExportException : PolicyException
{
    /// <summary>Creates the exception from all the problems found.</summary>
    public OciExportException(OciTarget target, ImmutableArray<OciExportProblem> problems)
        : base(Compose(target, problems))
    {
        Target = target;
        Problems = problems;
    }

    /// <summary>The runtime written for.</summary>
    public OciTarget Target { get; }

    /// <summary>Every problem, in policy order.</summary>
    public ImmutableArray<OciExportProblem> Problems { get; }

    private static string Compose(OciTarget target, ImmutableArray<OciExportProblem> problems)
    {
        var sb = new StringBuilder($"the policy cannot be written as OCI for {target} ({problems.Length} problem{(problems.Length == 1 ? "" : "s")}):");
        foreach (var p in problems) sb.Append("\n  ").Append(p.ToString().Replace("\n", "\n  ", StringComparison.Ordinal));
        return sb.ToString();
    }
}

/// <summary>
/// Writes a <see cref="SeccompPolicy"/> as OCI <c>linux.seccomp</c> JSON for one runtime version
/// (<see cref="OciTarget"/>): only what that version accepts, so that it reads the profile back with the policy's
/// meaning (<see cref="OciImporter"/> with the same target evaluates like <see cref="OciExport.Effective"/>). Where the
/// policy is silent the runtime's choice is taken (a note); a meaning the runtime cannot carry but that never lets a
/// refused call run or refuses an allowed one (a flag, crun's ENOSYS answer) is dropped with a warning; anything else is
/// refused with an <see cref="OciExportException"/> listing every problem with its location and the statement that fixes
/// it.
/// </summary>
/// <remarks>
/// Conditions on the low 32 bits of an argument (<c>fd == 3</c> on an <c>int</c>) are written as SCMP_CMP_MASKED_EQ
/// comparisons with masks of at most 32 bits, which mean the same on every ABI: <c>==</c> is one masked comparison with
/// 0xffffffff (what runc's own profiles use), <c>!=</c> one alternative per bit, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>,
/// <c>&gt;=</c> one per bit where the constant has a 1 (or 0): "equal above bit i, bit i smaller (or larger)".
/// </remarks>
public static class OciExporter
{
    /// <summary>ENOSYS (include/uapi/asm-generic/errno.h): what runc's stub returns.</summary>
    private const int EnosysErrno = 38;

    /// <summary>Most OCI rules one policy rule may become when its 32-bit conditions are written as masks.</summary>
    public const int MaxAlternatives = PolicyLanguage.MaxAlternatives;

    /// <summary>Writes <paramref name="policy"/> for <paramref name="target"/> on <paramref name="native"/> (default: this machine's architecture).</summary>
    /// <exception cref="OciExportException">The target cannot run the policy's meaning; every reason is listed.</exception>
    public static OciExport Export(SeccompPolicy policy, OciTarget target, Architecture? native = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(target);
        return new Run(policy, target, native ?? Architecture.NativeHost).Export();
    }

    private sealed class Run(SeccompPolicy policy, OciTarget target, Architecture native)
    {
        private readonly OciRuntimeModel _model = target.Model;
        private readonly List<OciExportProblem> _problems = [];
        private readonly List<PolicyDiagnostic> _notes = [];

        private void Problem(string location, string message, string fix)
        {
            if (!_problems.Any(p => p.Location == location && p.Message == message)) _problems.Add(new(location, message, fix));
        }

        private void Warn(string location, string message) => _notes.Add(new(DiagnosticSeverity.Warning, location, message));

        private void Note(string location, string message) => _notes.Add(new(DiagnosticSeverity.Info, location, message));

        private static string Text(PolicyAction a) => PolicyPrinter.ActionText(a);

        private static string Where(SyscallRule rule, int index) => rule.Origin ?? $"rule {index + 1} (`{PolicyPrinter.RuleText(rule)}`)";

        public OciExport Export()
        {
            var o = policy.Origins;
            BadArchitecture(o);
            var arches = Architectures(o);
            DefaultAction(o);
            var rules = LowerRules();
            CheckRules(rules);

            // ---- entries: rules grouped by (action, conditions) in first-appearance order. A rule joins an earlier group
            // only if that keeps its syscall's rules in order (ties between equally restrictive rules go to the earlier one).
            var groups = new List<(PolicyAction Action, ImmutableArray<ArgCondition> Conditions, List<string> Names)>();
            var lastGroup = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (r, _) in rules)
            {
                int floor = lastGroup.GetValueOrDefault(r.Syscall, 0);
                int gi = groups.FindIndex(floor, x => x.Action == r.Action && x.Conditions.SequenceEqual(r.Conditions));
                if (gi < 0) { groups.Add((r.Action, r.Conditions, [r.Syscall])); gi = groups.Count - 1; }
                else if (!groups[gi].Names.Contains(r.Syscall)) groups[gi].Names.Add(r.Syscall);
                lastGroup[r.Syscall] = gi;
            }
            var entries = groups.Select(g => Entry(g.Names, g.Action, g.Conditions)).ToList();

            var cutoffs = Enosys(o, arches, entries);
            var (flagNames, flags) = Flags(o);

            if (_problems.Count > 0) throw new OciExportException(target, [.. _problems]);

            var seccomp = new OciSeccomp
            {
                DefaultAction = ActionName(policy.DefaultAction.Kind),
                DefaultErrnoRet = HasData(policy.DefaultAction) ? (ulong)policy.DefaultAction.Data : null,
                Architectures = arches.Listed.Count == 0 ? null : [.. arches.Listed.Select(a => OciNames.ArchitectureName(a)!)],
                // Always written: an absent list means SPEC_ALLOW to runc 1.2+ and crun.
                Flags = flagNames,
                ListenerPath = policy.ListenerPath,
                ListenerMetadata = policy.ListenerMetadata,
                Syscalls = entries,
            };
            var effective = new SeccompPolicy(policy.DefaultAction, policy.Rules, policy.EffectiveArchitectures, PolicyAction.KillThread, flags,
                policy.ListenerPath, policy.ListenerMetadata, cutoffs) { Origins = policy.Origins };
            return new OciExport(target, seccomp, OciJson.Write(seccomp), effective, [.. _notes]);
        }

        // ---- what the runtime fixes

        private void BadArchitecture(PolicyOrigins o)
        {
            if (policy.DeclaredBadArchAction is { } declared)
            {
                if (declared != PolicyAction.KillThread)
                    Problem(o.BadArchAction ?? "on-bad-arch",
                        $"the policy says `on-bad-arch {Text(declared)}`, but {target} always leaves calls from other architectures to libseccomp's KILL_THREAD (SCMP_ACT_KILL); OCI has no field for it",
                        "write `on-bad-arch kill-thread`, or remove the statement to take the runtime's KILL_THREAD");
            }
            else
                Note("on-bad-arch", $"the policy has no `on-bad-arch` statement: calls from architectures it does not cover get {target}'s KILL_THREAD (seccompkit run would give kill-process)");
        }

        private (List<Architecture> Listed, List<Architecture> Covered) Architectures(PolicyOrigins o)
        {
            string at = o.Architectures ?? "architectures";
            var covered = policy.EffectiveArchitectures.ToList();
            if (!covered.Contains(native))
                Problem(at, $"the policy does not cover {native.Name}, but libseccomp always puts the native architecture ({native.Name}) in {target}'s filter, so {native.Name} calls would meet the rules instead of the bad-architecture action",
                    $"add {native.Name} to `architectures`");
            foreach (var a in covered)
            {
                var name = OciNames.ArchitectureName(a);
                if (name is null || !_model.Architectures.Contains(name))
                    Problem(at, $"{target} cannot filter for {a.Name}{(name is null ? "" : $" ({name})")}; it knows {string.Join(", ", _model.Architectures)}",
                        $"remove {a.Name} from `architectures`");
                else if (a.IsLittleEndian != native.IsLittleEndian)
                    Problem(at, $"{a.Name} is {(a.IsLittleEndian ? "little" : "big")}-endian and the native {native.Name} is not; libseccomp refuses to mix byte orders in one filter (EDOM), so {target} fails to start the container",
                        $"remove {a.Name} from `architectures` (write a separate profile for {a.Name} hosts)");
            }
            // With runc's stub covering listed architectures only, listing the native one would give it a stub.
            bool listNative = _model.EnosysStub != OciEnosysStub.ListedArchitectures || policy.EnosysAbove.ContainsKey(native);
            return ([.. covered.Where(a => a != native || listNative)], covered);
        }

        private void DefaultAction(PolicyOrigins o)
        {
            var d = policy.DefaultAction;
            string at = o.DefaultAction ?? "default";
            if (ActionName(d.Kind) is null)
                Problem(at, $"{target} does not know {OciNames.ActionName(d.Kind)} (it knows {string.Join(", ", _model.Actions)})", $"write another `default` action");
            if (d.Kind == SeccompAction.UserNotif && _model.RefusesNotifyDefaultAndWrite)
                Problem(at, $"{target} refuses SCMP_ACT_NOTIFY as the default action (it must still write the listener fd to its parent after installing the filter)",
                    "write another `default` action and notify on specific syscalls (`notify { mount }`)");
            if (d.Kind == SeccompAction.Trap && d.Data != 0)
                Problem(at, $"`default {Text(d)}` carries data, but SCMP_ACT_TRAP always has data 0 in OCI", "write `default trap`");
            if (HasData(d) && !_model.DefaultErrnoRet && d.Data != 1)
                Problem(at, $"{target} does not read defaultErrnoRet, so the default {Text(d)} would return EPERM", "write `default errno(EPERM)`");
            bool notify = d.Kind == SeccompAction.UserNotif || policy.Rules.Any(r => r.Action.Kind == SeccompAction.UserNotif);
            if (notify && policy.ListenerPath is null)
                Problem(o.Listener ?? "listener", "the policy notifies a supervisor but names no listener; the runtime then has nowhere to send the notification fd (runc: \"seccomp listenerPath is not set\")",
                    "add `listener \"/path/of/the/agent.sock\"`, or use another action than notify");
            if (policy.ListenerPath is not null && !_model.Listener)
                Problem(o.Listener ?? "listener", $"{target} does not support seccomp agents (listenerPath)", "remove the `listener` statement and the notify rules");
        }

        // ---- rules

        /// <summary>The policy's rules with 32-bit conditions written as masks; each keeps the index of the rule it came from.</summary>
        private List<(SyscallRule Rule, int From)> LowerRules()
        {
            var lowered = new List<(SyscallRule Rule, int From)>();
            for (int i = 0; i < policy.Rules.Length; i++)
            {
                var rule = policy.Rules[i];
                var alternatives = OciConditions.Lower(rule.Conditions, MaxAlternatives);
                if (alternatives is null)
                {
                    Problem(Where(rule, i), $"`{PolicyPrinter.RuleText(rule)}` becomes more than {MaxAlternatives} OCI rules: OCI compares all 64 bits or a mask, so each 32-bit !=, <, <=, > or >= becomes one masked comparison per bit",
                        "split the item into simpler ones, or compare all 64 bits (`name:64`) where the upper half is known to be clean");
                    continue;
                }
                foreach (var conditions in alternatives)
                    lowered.Add((new SyscallRule(rule.Syscall, rule.Action, conditions) { Origin = rule.Origin }, i));
            }
            // Rules that became equal: the winner among them is the policy's winner (most restrictive, then earlier), so
            // the others never decide anything. Dropping them keeps the meaning and spares libseccomp's EEXIST.
            var kept = new List<(SyscallRule Rule, int From)>();
            foreach (var x in lowered)
            {
                int same = kept.FindIndex(k => k.Rule.Syscall == x.Rule.Syscall && k.Rule.HasSameConditions(x.Rule));
                if (same < 0) kept.Add(x);
                else if (x.Rule.Action.Precedence < kept[same].Rule.Action.Precedence)
                {
                    // The later rule is more restrictive: the earlier never wins. The later keeps its place, which decides ties with others.
                    kept.RemoveAt(same);
                    kept.Add(x);
                }
            }
            return kept;
        }

        private void CheckRules(List<(SyscallRule Rule, int From)> rules)
        {
            for (int k = 0; k < rules.Count; k++)
            {
                var (rule, from) = rules[k];
                var original = policy.Rules[from];
                string at = Where(original, from);
                string text = PolicyPrinter.RuleText(original);
                if (ActionName(rule.Action.Kind) is null)
                    Problem(at, $"{target} does not know {OciNames.ActionName(rule.Action.Kind)} (it knows {string.Join(", ", _model.Actions)})", $"give {rule.Syscall} another action");
                if (rule.Action.Kind == SeccompAction.Trap && rule.Action.Data != 0)
                    Problem(at, $"`{Text(rule.Action)}` carries data, but SCMP_ACT_TRAP always has data 0 in OCI", $"write `trap {{ {rule.Syscall} }}`");
                if (rule.Action.Kind == SeccompAction.UserNotif && rule.Syscall == "write" && _model.RefusesNotifyDefaultAndWrite)
                    Problem(at, $"{target} refuses SCMP_ACT_NOTIFY for write (it must write the listener fd to its parent after installing the filter)", "give write another action");
                var repeated = rule.Conditions.GroupBy(c => c.Index).FirstOrDefault(g => g.Count() > 1);
                if (repeated is not null)
                    Problem(at, $"`{text}` compares {ArgumentNames.Name(rule.Syscall, repeated.Key)} twice in one rule (an AND), but the runtime reads an entry that repeats an argument as alternatives (an OR)",
                        "write the range as separate items that each compare the argument once (e.g. masked comparisons), or drop one bound");

                var others = rules.Where((r, j) => j != k && r.Rule.Syscall == rule.Syscall).ToList();
                // libseccomp: an unconditional rule overrides the conditional ones; in the policy a more restrictive one wins.
                if (rule.IsUnconditional)
                {
                    var stronger = others.FirstOrDefault(r => !r.Rule.IsUnconditional && r.Rule.Action != rule.Action &&
                        (r.Rule.Action.Precedence < rule.Action.Precedence || (r.Rule.Action.Precedence == rule.Action.Precedence && rules.IndexOf(r) < k)));
                    if (stronger.Rule is not null)
                        Problem(at, $"{rule.Syscall} has the unconditional rule `{text}` and the more restrictive `{PolicyPrinter.RuleText(policy.Rules[stronger.From])}`; libseccomp lets an unconditional rule override every conditional one, so {Text(stronger.Rule.Action)} would never happen",
                            $"give the {Text(rule.Action)} rule of {rule.Syscall} a condition that excludes the other's calls, or drop one of them");
                }
                // The runtime skips rules whose action equals the default; that matters when a less restrictive rule overlaps.
                if (rule.Action == policy.DefaultAction)
                {
                    var weaker = others.FirstOrDefault(r => r.Rule.Action != rule.Action &&
                        (r.Rule.Action.Precedence > rule.Action.Precedence || (r.Rule.Action.Precedence == rule.Action.Precedence && rules.IndexOf(r) > k)));
                    if (weaker.Rule is not null)
                        Problem(at, $"the runtime skips rules whose action is the default ({Text(policy.DefaultAction)}), so `{text}` could no longer override `{PolicyPrinter.RuleText(policy.Rules[weaker.From])}` for the calls both match",
                            $"rewrite {rule.Syscall}'s items so that they do not overlap");
                }
            }
        }

        // ---- ENOSYS

        private Dictionary<Architecture, uint> Enosys(PolicyOrigins o, (List<Architecture> Listed, List<Architecture> Covered) arches, List<OciSyscall> entries)
        {
            var d = policy.DefaultAction;
            bool allowing = d.Kind is SeccompAction.Allow or SeccompAction.Log or SeccompAction.Trace;
            var stubbed = allowing || _model.EnosysStub == OciEnosysStub.None ? []
                : _model.EnosysStub == OciEnosysStub.ListedAndNative ? arches.Covered : arches.Listed;
            var result = new Dictionary<Architecture, uint>();
            string At(Architecture abi) => o.EnosysAbove.GetValueOrDefault(abi) ?? "enosys-above";
            foreach (var abi in stubbed)
            {
                uint computed = Largest(abi, entries);
                if (!policy.EnosysAbove.TryGetValue(abi, out uint cutoff))
                {
                    if (computed == 0) continue; // no name there: runc adds no stub ("could not find any syscalls for arch")
                    result[abi] = computed;
                    Note(At(abi), $"{target} returns ENOSYS for {abi.Name} calls numbered above {computed} (the largest syscall the profile names there), which the policy does not say; write `enosys-above {abi.Name} {computed}` to say it");
                    continue;
                }
                if (computed < cutoff && abi.Syscalls.TryGetName((int)cutoff, out var name))
                {
                    // An entry with the default action does nothing in the runtime, but its names still count for the cutoff.
                    entries.Add(Entry([name], d, []));
                    computed = cutoff;
                }
                if (computed == cutoff) { result[abi] = cutoff; continue; }
                Problem(At(abi), computed > cutoff
                        ? $"the policy returns ENOSYS for {abi.Name} calls above {cutoff}, but {target} derives the cutoff from the largest syscall number the profile names there, {computed}"
                        : $"the policy returns ENOSYS for {abi.Name} calls above {cutoff}, but {target} derives the cutoff from the largest syscall number the profile names there ({computed}) and no {abi.Name} syscall is numbered {cutoff}",
                    computed == 0 ? $"remove `enosys-above {abi.Name} {cutoff}`" : $"write `enosys-above {abi.Name} {computed}`");
            }
            foreach (var (abi, cutoff) in policy.EnosysAbove)
            {
                if (stubbed.Contains(abi)) continue;
                if (_model.EnosysStub != OciEnosysStub.None || allowing)
                {
                    Problem(At(abi), $"the policy returns ENOSYS for {abi.Name} calls above {cutoff}, but {target} adds no ENOSYS stub when the default action is {Text(d)}, which lets calls run",
                        $"remove `enosys-above {abi.Name} {cutoff}`");
                    continue;
                }
                // crun installs libseccomp's filter as it is: numbers above the cutoff meet the rules and the default.
                var named = policy.Rules.FirstOrDefault(r => abi.Syscalls.TryGetNumber(r.Syscall, out int nr) && (uint)nr > cutoff);
                if (named is not null)
                    Problem(At(abi), $"the policy returns ENOSYS for {abi.Name} calls above {cutoff}, which includes {named.Syscall}, but {target} has no ENOSYS stub, so its rules would decide those calls",
                        $"remove `enosys-above {abi.Name} {cutoff}` or the rules above it");
                else if (d.Kind == SeccompAction.UserNotif)
                    Problem(At(abi), $"the policy returns ENOSYS for {abi.Name} calls above {cutoff}, but {target} has no ENOSYS stub, so they would go to the supervisor",
                        $"remove `enosys-above {abi.Name} {cutoff}`");
                else if (d != PolicyAction.Errno(EnosysErrno))
                    Warn(At(abi), $"{target} has no ENOSYS stub (it installs libseccomp's filter as it is): {abi.Name} calls numbered above {cutoff} get the default {Text(d)} instead of errno(ENOSYS); they stay refused");
            }
            foreach (var (abi, _) in result)
                if ((abi == Architecture.S390 || abi == Architecture.S390X) && !_model.EnosysForS390Setup)
                    Warn(At(abi), $"{target}'s stub does not answer {abi.Name} syscall 0 (setup) with ENOSYS as the policy does; it gets the default {Text(d)}");
            return result;
        }

        private static uint Largest(Architecture abi, List<OciSyscall> entries)
        {
            int largest = 0;
            foreach (var e in entries)
                foreach (var n in e.Names)
                    if (abi.Syscalls.TryGetNumber(n, out int nr) && nr > largest) largest = nr;
            return (uint)largest;
        }

        // ---- flags

        private (List<string> Names, PolicyFlags Kept) Flags(PolicyOrigins o)
        {
            string at = o.Flags ?? "flags";
            var kept = PolicyFlags.None;
            var names = new List<string>();
            foreach (var (name, flag) in OciNames.Flags.OrderBy(p => (int)p.Value))
            {
                if (!policy.Flags.HasFlag(flag)) continue;
                if (_model.Flags.Contains(name)) { kept |= flag; names.Add(name); continue; }
                string why = _model.Flags.IsEmpty
                    ? $"{target} refuses every seccomp flag (\"seccomp flags are not yet supported by runc\")"
                    : $"{target} does not know {name} (it knows {string.Join(", ", _model.Flags)})";
                string word = PolicyPrinter.FlagText(flag);
                if (flag == PolicyFlags.Tsync)
                    Note(at, $"`flags {word}` is left out: {why}; it changes nothing for a container, whose process starts single-threaded after execve");
                else
                    Warn(at, $"`flags {word}` is dropped: {why}, so {Lost(flag)}");
            }
            return (names, kept);
        }

        private static string Lost(PolicyFlags flag) => flag switch
        {
            PolicyFlags.Log => "the kernel will not log this filter's actions (SECCOMP_FILTER_FLAG_LOG)",
            PolicyFlags.SpecAllow => "the kernel's speculative store bypass mitigation applies to the container as for any filtered task (SECCOMP_FILTER_FLAG_SPEC_ALLOW)",
            _ => "a notified task stays interruptible while the agent handles its call (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)",
        };

        // ---- names

        private string? ActionName(SeccompAction kind)
        {
            // KILL_THREAD is SCMP_ACT_KILL to runtimes that predate the explicit name.
            if (kind == SeccompAction.KillThread)
                return _model.Actions.Contains("SCMP_ACT_KILL_THREAD") ? "SCMP_ACT_KILL_THREAD" : _model.Actions.Contains("SCMP_ACT_KILL") ? "SCMP_ACT_KILL" : null;
            var name = OciNames.ActionName(kind);
            return _model.Actions.Contains(name) ? name : null;
        }

        private OciSyscall Entry(IReadOnlyList<string> names, PolicyAction action, IEnumerable<ArgCondition> conditions) => new()
        {
            Names = [.. names],
            Action = ActionName(action.Kind) ?? OciNames.ActionName(action.Kind),
            ErrnoRet = HasData(action) ? (ulong)action.Data : null,
            Args = [.. conditions.Select(c => c.Operator == ArgOperator.MaskedEqual
                ? new OciArg { Index = (ulong)c.Index, Value = c.Mask, ValueTwo = c.Value, Op = OciNames.OperatorName(c.Operator) }
                : new OciArg { Index = (ulong)c.Index, Value = c.Value, Op = OciNames.OperatorName(c.Operator) })],
        };
    }

    private static bool HasData(PolicyAction a) => a.Kind is SeccompAction.Errno or SeccompAction.Trace;
}

/// <summary>Rewrites a rule's conditions into ones OCI can write (64-bit comparisons, masks), meaning the same on every ABI.</summary>
internal static class OciConditions
{
    private const ulong Low32 = 0xffff_ffff;

    /// <summary>
    /// The alternatives (an OR of ANDs) meaning exactly <paramref name="conditions"/> (an AND): empty = never matches, an
    /// empty alternative = always matches. Null when there would be more than <paramref name="max"/>.
    /// </summary>
    public static List<List<ArgCondition>>? Lower(IReadOnlyList<ArgCondition> conditions, int max)
    {
        List<List<ArgCondition>> result = [[]];
        foreach (var c in conditions)
        {
            List<ArgCondition?> alternatives = c.Width == ArgumentWidth.Bits64 ? [c] : Lower32(c);
            var next = new List<List<ArgCondition>>();
            foreach (var left in result)
                foreach (var right in alternatives)
                {
                    if (right is null) { next.Add(left); }
                    else if (And(left, right) is { } both) next.Add(both);
                    else continue; // the two can never hold together
                    if (next.Count > max) return null;
                }
            result = next;
        }
        return result;
    }

    /// <summary>
    /// <paramref name="all"/> AND <paramref name="c"/>, with two masked comparisons of one argument joined into one:
    /// (x &amp; m1) == v1 and (x &amp; m2) == v2 is (x &amp; (m1|m2)) == (v1|v2) when they agree on the bits both masks
    /// cover, and impossible (null) when they do not. Only for masks and values within 32 bits, where 64-bit and 32-bit
    /// ABIs compare alike (the runtime reads an entry that repeats an argument as alternatives, so an AND must be one).
    /// </summary>
    private static List<ArgCondition>? And(List<ArgCondition> all, ArgCondition c)
    {
        int i = all.FindIndex(x => x.Index == c.Index);
        if (i < 0 || !Narrow(all[i]) || !Narrow(c)) return [.. all, c];
        var (m1, v1) = (all[i].Mask, all[i].Value);
        var (m2, v2) = (c.Mask, c.Value);
        if ((v1 & ~m1) != 0 || (v2 & ~m2) != 0 || (v1 & m2) != (v2 & m1)) return null;
        var joined = new List<ArgCondition>(all);
        joined[i] = new ArgCondition(c.Index, ArgOperator.MaskedEqual, v1 | v2, m1 | m2);
        return joined;

        static bool Narrow(ArgCondition x) => x.Operator == ArgOperator.MaskedEqual && x.Mask <= Low32 && x.Value <= Low32;
    }

    /// <summary>
    /// One 32-bit condition as alternatives of single masked comparisons whose masks and values fit 32 bits, so they mean
    /// the same at 64 bits (the upper half is masked off) and on 32-bit ABIs. A null alternative always holds.
    /// </summary>
    private static List<ArgCondition?> Lower32(ArgCondition c)
    {
        ulong v = c.Value;
        ArgCondition M(ulong mask, ulong value) => new(c.Index, ArgOperator.MaskedEqual, value, mask);
        switch (c.Operator)
        {
            case ArgOperator.MaskedEqual: return [M(c.Mask, v)];
            case ArgOperator.Equal: return [M(Low32, v)];
            case ArgOperator.NotEqual: // some bit differs from the constant's
                return [.. Enumerable.Range(0, 32).Select(i => (ArgCondition?)M(1UL << i, ~v & (1UL << i)))];
            case ArgOperator.LessOrEqual: return v == Low32 ? [null] : Less(v + 1);
            case ArgOperator.Less: return Less(v);
            case ArgOperator.GreaterOrEqual: return v == 0 ? [null] : Greater(v - 1);
            default: return Greater(v);
        }

        // x < v: for some bit i set in v, x has 0 there and equals v above it.
        List<ArgCondition?> Less(ulong k) =>
            [.. Enumerable.Range(0, 32).Where(i => (k & (1UL << i)) != 0).Select(i => (ArgCondition?)M(Above(i), k & Above(i) & ~(1UL << i)))];

        // x > v: for some bit i clear in v, x has 1 there and equals v above it.
        List<ArgCondition?> Greater(ulong k) =>
            [.. Enumerable.Range(0, 32).Where(i => (k & (1UL << i)) == 0).Select(i => (ArgCondition?)M(Above(i), (k & Above(i)) | (1UL << i)))];

        // Bits i..31.
        static ulong Above(int i) => Low32 & ~((1UL << i) - 1);
    }
}
