using System.Collections.Immutable;
using System.Globalization;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy;

/// <summary>
/// How <see cref="PolicyMerger.Union"/> merges. The overrides resolve conflicts by restating the inputs: each one
/// replaces that part of every input before the merge (so the merge means "the union of the inputs, each read
/// with this default / these architectures"), and the verifier checks the merge against the restated inputs
/// (<see cref="MergeResult.Inputs"/>).
/// </summary>
public sealed record MergeOptions
{
    /// <summary>Names of the inputs (file paths, say) for messages and notes; by default <c>input 1</c>, <c>input 2</c>...</summary>
    public IReadOnlyList<string>? InputNames { get; init; }

    /// <summary>
    /// When set, every input is read as if this were its default action. Inputs with different defaults can only
    /// be merged this way: a call no input allows must get one answer.
    /// </summary>
    public PolicyAction? DefaultAction { get; init; }

    /// <summary>When set, every input is read as if this were its bad-architecture action (OCI profiles always have KILL_THREAD, the policy language KILL_PROCESS).</summary>
    public PolicyAction? BadArchAction { get; init; }

    /// <summary>
    /// When set, every input is read as covering exactly these ABIs (<see cref="SeccompPolicy.WithArchitectures"/>).
    /// Needed when inputs with different architecture lists allow different calls: a policy's rules apply to every
    /// ABI it covers, so one input's rules would otherwise reach calls of an ABI only other inputs decide.
    /// </summary>
    public IReadOnlyList<Architecture>? Architectures { get; init; }
}

/// <summary>What <see cref="PolicyMerger.Union"/> produced.</summary>
public sealed class MergeResult
{
    internal MergeResult(SeccompPolicy policy, ImmutableArray<SeccompPolicy> inputs, ImmutableArray<string> inputNames, ImmutableArray<PolicyDiagnostic> notes)
    {
        Policy = policy;
        Inputs = inputs;
        InputNames = inputNames;
        Notes = notes;
        var conditional = policy.Rules.Where(r => !r.IsUnconditional).Select(r => r.Syscall).ToHashSet(StringComparer.Ordinal);
        SyscallCount = policy.SyscallNames.Count();
        ConditionalSyscallCount = conditional.Count;
    }

    /// <summary>The merged policy.</summary>
    public SeccompPolicy Policy { get; }

    /// <summary>The inputs as merged: the given policies with <see cref="MergeOptions"/>' overrides applied. The merge's meaning is stated against these.</summary>
    public ImmutableArray<SeccompPolicy> Inputs { get; }

    /// <summary>The inputs' names, as given in <see cref="MergeOptions.InputNames"/> or <c>input N</c>.</summary>
    public ImmutableArray<string> InputNames { get; }

    /// <summary>What the merge decided that is worth knowing (rules absorbed, cutoffs raised or dropped, flags combined); severity Info.</summary>
    public ImmutableArray<PolicyDiagnostic> Notes { get; }

    /// <summary>How many syscalls the merged rules name.</summary>
    public int SyscallCount { get; }

    /// <summary>How many of them have at least one rule with argument conditions.</summary>
    public int ConditionalSyscallCount { get; }
}

/// <summary>
/// Merges policies into one whose allowed calls are the union of theirs: typically allow-lists learned from
/// several runs of one program.
/// <para>
/// Meaning. Input <c>i</c> <em>decides</em> a call when it covers the call's ABI and the number is not above its
/// ENOSYS cutoff (an input says nothing about ABIs it does not cover, and runc's ENOSYS stub only stands for
/// "newer than this profile"). The merged policy lets a call run (ALLOW or LOG) if and only if some input that
/// decides it lets it run. A call no deciding input allows gets the action those inputs agree on; a call no input
/// decides gets ERRNO(ENOSYS) when some input covers its ABI (all of them returned it), else the common
/// bad-architecture action. When the inputs would not agree, <see cref="Union"/> throws instead of choosing.
/// </para>
/// <para>
/// Shape. Architectures: the union (ordered as <see cref="Architecture.All"/>; empty when every input is empty,
/// meaning the host's). Default and bad-architecture actions: the inputs' common ones (or the
/// <see cref="MergeOptions"/> overrides). ENOSYS cutoff per ABI: the largest of the inputs that cover the ABI, if
/// all of them have one; none otherwise. Flags: the union (every flag an input asks for is kept: they change how
/// the filter is installed, not which calls it allows). Listener: the one the inputs name (they must not name
/// different ones). Rules, sorted by syscall name: for a syscall only ALLOW/LOG rules name, the union of those rules
/// with conditions sorted, identical rules once, and any rule whose conditions include all of another's (same or
/// less restrictive action) dropped, so an unconditional allow absorbs every conditional one. A syscall some input
/// allows unconditionally (with no refusing rule) keeps only that rule. Otherwise refusing rules are kept only when
/// every input that names the syscall has the same rules for it. The output does not depend on the inputs' order,
/// and merging a merge with any of its inputs gives it back.
/// </para>
/// </summary>
public static class PolicyMerger
{
    /// <summary>Merges <paramref name="inputs"/> (at least one).</summary>
    /// <exception cref="PolicyException">
    /// The inputs disagree where the union needs one answer (default or bad-architecture action, the refusal of a
    /// syscall, the listener), or one input's rules would reach calls of an ABI only other inputs decide. The message
    /// names the inputs, the syscall or ABI, and the option or edit that resolves it.
    /// </exception>
    public static MergeResult Union(IReadOnlyList<SeccompPolicy> inputs, MergeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new MergeOptions();
        if (inputs.Count == 0) throw new PolicyException("nothing to merge: give at least one policy.");
        var names = options.InputNames is { } given
            ? [.. given]
            : Enumerable.Range(1, inputs.Count).Select(i => string.Create(CultureInfo.InvariantCulture, $"input {i}")).ToImmutableArray();
        if (names.Length != inputs.Count)
            throw new ArgumentException($"{names.Length} input names for {inputs.Count} inputs.", nameof(options));

        var restated = inputs.Select((p, i) =>
        {
            ArgumentNullException.ThrowIfNull(p, $"inputs[{i}]");
            if (options.Architectures is { } arches) p = p.WithArchitectures(arches);
            if (options.DefaultAction is { } d) p = p.WithDefaultAction(d);
            if (options.BadArchAction is { } b) p = p.WithBadArchAction(b);
            return p;
        }).ToImmutableArray();
        return new Merger(restated, names).Run();
    }

    private enum Shape
    {
        /// <summary>No rule (or only rules giving the default): the default decides every call.</summary>
        None,
        /// <summary>Only ALLOW/LOG rules.</summary>
        AllowOnly,
        /// <summary>One refusing action for every call (an unconditional rule, every rule with that action).</summary>
        Constant,
        /// <summary>Anything else: refusing rules that decide part of the calls.</summary>
        Complex,
    }

    /// <summary>What one input does with one syscall.</summary>
    private sealed record Summary(Shape Shape, ImmutableArray<SyscallRule> Rules, bool AllowsAll);

    /// <summary>What must hold on every ABI for the merged rules of a syscall to mean the union there.</summary>
    private enum Requirement
    {
        /// <summary>Nothing: every ABI gets what every input gives.</summary>
        None,
        /// <summary>Each merged allow rule is implied by an allow rule of an input deciding the ABI.</summary>
        Cover,
        /// <summary>An input deciding the ABI lets every call of the syscall run.</summary>
        AllowsAll,
        /// <summary>An input deciding the ABI has the (shared) rules of the syscall.</summary>
        SameRules,
    }

    private sealed record Plan(string Syscall, ImmutableArray<SyscallRule> Rules, Summary[] Inputs, Requirement Requirement);

    /// <summary>A merged allow rule and the inputs it came from.</summary>
    private sealed class Candidate(SyscallRule rule, int origin)
    {
        public SyscallRule Rule { get; } = Canonical(rule);
        public SortedSet<int> Origins { get; } = [origin];
        public string Key { get; } = ConditionKey(rule);
    }

    private sealed class Merger(ImmutableArray<SeccompPolicy> inputs, ImmutableArray<string> names)
    {
        private readonly List<PolicyDiagnostic> _notes = [];
        private PolicyAction _default;

        public MergeResult Run()
        {
            _default = Common(p => p.DefaultAction, "default action", "--default-action ACTION",
                "a call that no input allows would have no single answer");
            var badArch = Common(p => p.BadArchAction, "bad-architecture action", "--bad-arch-action ACTION",
                "a call from an architecture no input covers would have no single answer");
            var (listenerPath, listenerMetadata) = Listener();
            var flags = Flags();
            var arches = Architectures(out var effective);
            var enosys = EnosysCutoffs(effective);

            var plans = inputs.SelectMany(p => p.SyscallNames).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
                .Select(PlanFor).ToList();
            // Undeclared in every input stays undeclared, so that an OCI export still takes the runtime's own.
            var policy = new SeccompPolicy(_default, plans.SelectMany(p => p.Rules), arches,
                inputs.All(p => p.DeclaredBadArchAction is null) ? null : badArch, flags, listenerPath, listenerMetadata, enosys);
            foreach (var plan in plans) CheckEveryAbi(plan, policy);
            return new MergeResult(policy, inputs, names, [.. _notes]);
        }

        private PolicyAction Common(Func<SeccompPolicy, PolicyAction> get, string what, string option, string why)
        {
            var first = get(inputs[0]);
            if (inputs.All(p => get(p) == first)) return first;
            var each = string.Join(", ", inputs.Select((p, i) => $"{names[i]}: {get(p)}"));
            throw new PolicyException($"the inputs have different {what}s ({each}), so {why}. Choose the merged policy's {what} with {option}: every input is then read as if it had that one.");
        }

        private (string? Path, string? Metadata) Listener()
        {
            var named = inputs.Select((p, i) => (p.ListenerPath, p.ListenerMetadata, i)).Where(t => t.ListenerPath is not null || t.ListenerMetadata is not null).ToList();
            if (named.Count == 0) return (null, null);
            if (named.Any(t => t.ListenerPath != named[0].ListenerPath || t.ListenerMetadata != named[0].ListenerMetadata))
            {
                var each = string.Join(", ", named.Select(t => $"{names[t.i]}: {t.ListenerPath ?? "(no path)"}{(t.ListenerMetadata is null ? "" : $" with metadata \"{t.ListenerMetadata}\"")}"));
                throw new PolicyException($"the inputs name different seccomp listeners ({each}); a filter has one notification fd, so give them the same listenerPath and listenerMetadata.");
            }
            var silent = Enumerable.Range(0, inputs.Length).Where(i => named.All(t => t.i != i)).ToList();
            if (silent.Count > 0)
                Note("listener", $"the merge sends notifications to {named[0].ListenerPath} as {names[named[0].i]} does; {string.Join(", ", silent.Select(i => names[i]))} {(silent.Count == 1 ? "names" : "name")} no listener.");
            return (named[0].ListenerPath, named[0].ListenerMetadata);
        }

        private PolicyFlags Flags()
        {
            var union = inputs.Aggregate(PolicyFlags.None, (f, p) => f | p.Flags);
            if (inputs.Any(p => p.Flags != union))
                Note("flags", $"the merge installs with {union} (every flag an input asks for; they do not change which calls are allowed): " +
                              string.Join(", ", inputs.Select((p, i) => $"{names[i]} has {p.Flags}")) + ".");
            return union;
        }

        private ImmutableArray<Architecture> Architectures(out ImmutableArray<Architecture> effective)
        {
            effective = [.. Architecture.All.Where(a => inputs.Any(p => p.EffectiveArchitectures.Contains(a)))];
            var all = effective;
            foreach (var (p, i) in inputs.Select((p, i) => (p, i)).Where(t => t.p.EffectiveArchitectures.Length != all.Length))
                Note("architectures", $"the merge covers {string.Join(", ", all.Select(a => a.Name))}; {names[i]} covers only {string.Join(", ", p.EffectiveArchitectures.Select(a => a.Name))} and decides nothing about calls from the others.");
            return inputs.All(p => p.Architectures.IsEmpty) ? [] : effective;
        }

        private Dictionary<Architecture, uint> EnosysCutoffs(ImmutableArray<Architecture> effective)
        {
            var result = new Dictionary<Architecture, uint>();
            foreach (var abi in effective)
            {
                var covering = Enumerable.Range(0, inputs.Length).Where(i => inputs[i].EffectiveArchitectures.Contains(abi)).ToList();
                var cutoffs = covering.Where(i => inputs[i].EnosysAbove.ContainsKey(abi)).ToList();
                if (cutoffs.Count == 0) continue;
                if (cutoffs.Count < covering.Count)
                {
                    Note(abi.Name, $"no ENOSYS cutoff: {string.Join(", ", covering.Except(cutoffs).Select(i => names[i]))} {(covering.Count - cutoffs.Count == 1 ? "has" : "have")} none, so calls above " +
                                   $"{string.Join(", ", cutoffs.Select(i => $"{names[i]}'s {inputs[i].EnosysAbove[abi]}"))} are decided by the rules and the default.");
                    continue;
                }
                uint max = cutoffs.Max(i => inputs[i].EnosysAbove[abi]);
                result[abi] = max;
                if (cutoffs.Any(i => inputs[i].EnosysAbove[abi] != max))
                    Note(abi.Name, $"ERRNO(ENOSYS) above {max}, the largest of the inputs' cutoffs ({string.Join(", ", cutoffs.Select(i => $"{names[i]}: {inputs[i].EnosysAbove[abi]}"))}).");
            }
            return result;
        }

        private static Summary Summarize(SeccompPolicy p, string syscall)
        {
            var rules = p.RulesFor(syscall);
            var d = p.DefaultAction;
            // Rules that all refuse with the default change nothing: the default refuses those calls anyway.
            if (rules.All(r => !r.Action.LetsCallRun && r.Action == d)) rules = [];
            if (rules.IsEmpty) return new(Shape.None, [], d.LetsCallRun);
            if (rules.All(r => r.Action.LetsCallRun)) return new(Shape.AllowOnly, rules, d.LetsCallRun || rules.Any(r => r.IsUnconditional));
            if (rules.All(r => r.Action == rules[0].Action) && rules.Any(r => r.IsUnconditional)) return new(Shape.Constant, rules, false);
            return new(Shape.Complex, rules, false);
        }

        private Plan PlanFor(string syscall)
        {
            var sums = inputs.Select(p => Summarize(p, syscall)).ToArray();
            bool refusing = sums.Any(s => s.Shape is Shape.Constant or Shape.Complex);
            if (!refusing)
            {
                var kept = Absorb(syscall, sums.SelectMany((s, i) => s.Rules.Select(r => (r, i))));
                // With a default that lets calls run, every input lets every call of the syscall run.
                return new(syscall, kept, sums, _default.LetsCallRun ? Requirement.None : Requirement.Cover);
            }
            if (sums.Any(s => s.AllowsAll))
            {
                var allowing = Enumerable.Range(0, sums.Length).Where(i => sums[i].AllowsAll).ToList();
                var dropped = Enumerable.Range(0, sums.Length).Where(i => sums[i].Shape is Shape.Constant or Shape.Complex).ToList();
                Note(syscall, $"{string.Join(", ", allowing.Select(i => names[i]))} {(allowing.Count == 1 ? "allows" : "allow")} every call, so the refusing rules of {string.Join(", ", dropped.Select(i => names[i]))} are not kept.");
                var kept = Absorb(syscall, allowing.SelectMany(i => sums[i].Rules.Where(r => r.IsUnconditional).Select(r => (r, i))));
                return new(syscall, kept, sums, Requirement.AllowsAll);
            }

            // Refusing rules and nobody allows everything: the inputs naming the syscall must agree exactly.
            var naming = Enumerable.Range(0, sums.Length).Where(i => sums[i].Shape != Shape.None).ToList();
            var silent = Enumerable.Range(0, sums.Length).Where(i => sums[i].Shape == Shape.None).ToList();
            int m = naming.First(i => sums[i].Shape is Shape.Constant or Shape.Complex);
            foreach (int k in naming)
                if (!SameRules(sums[m].Rules, sums[k].Rules) && !(sums[m].Shape == Shape.Constant && sums[k].Shape == Shape.Constant && sums[m].Rules[0].Action == sums[k].Rules[0].Action))
                    throw Disagree(syscall, m, sums[m], k, sums[k]);
            if (silent.Count > 0 && sums[m].Rules.Any(r => !r.Action.LetsCallRun && r.Action != _default))
                throw Disagree(syscall, m, sums[m], silent[0], sums[silent[0]]);
            if (sums[m].Shape == Shape.Constant)
                return new(syscall, [new SyscallRule(syscall, sums[m].Rules[0].Action)], sums, Requirement.None);
            var rules = sums[m].Rules.Select(Canonical).ToImmutableArray();
            return new(syscall, rules, sums, rules.Any(r => r.Action.LetsCallRun) ? Requirement.SameRules : Requirement.None);
        }

        private static bool SameRules(ImmutableArray<SyscallRule> a, ImmutableArray<SyscallRule> b) =>
            a.Length == b.Length && a.Zip(b).All(t => t.First.Action == t.Second.Action && t.First.HasSameConditions(t.Second));

        private PolicyException Disagree(string syscall, int a, Summary sa, int b, Summary sb) => new(
            $"cannot merge the rules for {syscall}: {names[a]} {Describe(syscall, sa)}, but {names[b]} {Describe(syscall, sb)}. " +
            $"A call no input allows must get the same answer from every input, and rules that refuse only some {syscall} calls can be merged " +
            $"only when every input that names {syscall} has the same rules for it. Give the inputs the same {syscall} rules, or remove the refusing rule so the default decides.");

        private string Describe(string syscall, Summary s) => s.Shape switch
        {
            Shape.None => $"has no rule for {syscall} (its default {_default} decides every call)",
            Shape.Constant => $"refuses every {syscall} call with {s.Rules[0].Action} ({Quote(s.Rules)})",
            Shape.AllowOnly => $"only allows ({Quote(s.Rules)})",
            _ => $"has the rules {Quote(s.Rules)}",
        };

        private static string Quote(ImmutableArray<SyscallRule> rules) =>
            string.Join(", ", rules.Take(3).Select(r => $"`{r}`")) + (rules.Length > 3 ? $" and {rules.Length - 3} more" : "");

        /// <summary>The allow rules once each, conditions sorted, without rules another rule implies, in a fixed order.</summary>
        private ImmutableArray<SyscallRule> Absorb(string syscall, IEnumerable<(SyscallRule Rule, int Origin)> rules)
        {
            // Fewer conditions first, so a rule that implies another is kept before it; for equal conditions the more
            // restrictive action (LOG before ALLOW) comes first, since where both match it wins.
            var ordered = rules.Select(t => new Candidate(t.Rule, t.Origin))
                .OrderBy(c => c.Rule.Conditions.Length).ThenBy(c => c.Key, StringComparer.Ordinal).ThenBy(c => c.Rule.Action.Precedence)
                .ThenBy(c => c.Origins.Min).ToList();
            var kept = new List<Candidate>();
            var absorbed = new Dictionary<Candidate, List<Candidate>>();
            foreach (var c in ordered)
            {
                var k = kept.FirstOrDefault(k => k.Rule.Action.Precedence <= c.Rule.Action.Precedence && k.Rule.Conditions.All(c.Rule.Conditions.Contains));
                if (k is null) kept.Add(c);
                else if (k.Rule.Action == c.Rule.Action && k.Rule.HasSameConditions(c.Rule)) k.Origins.UnionWith(c.Origins);
                else if (!c.Origins.IsSubsetOf(k.Origins)) (absorbed.TryGetValue(k, out var l) ? l : absorbed[k] = []).Add(c);
            }
            foreach (var (k, list) in absorbed)
                Note(syscall, $"`{k.Rule}` ({string.Join(", ", k.Origins.Select(i => names[i]))}) covers {list.Count} narrower rule{(list.Count == 1 ? "" : "s")} of " +
                              $"{string.Join(", ", list.SelectMany(c => c.Origins).Distinct().Order().Select(i => names[i]))}, which {(list.Count == 1 ? "is" : "are")} not kept.");
            return [.. kept.Select(c => c.Rule)];
        }

        /// <summary>
        /// Rules carry no architecture, so each merged rule of a syscall applies on every ABI the merge covers. Refuses
        /// the merge where that would let an input's rules decide calls of an ABI it does not decide.
        /// </summary>
        private void CheckEveryAbi(Plan plan, SeccompPolicy merged)
        {
            if (plan.Requirement == Requirement.None) return;
            foreach (var abi in merged.EffectiveArchitectures)
            {
                if (!abi.Syscalls.TryGetNumber(plan.Syscall, out int nr) || merged.IsAboveEnosysCutoff(abi, nr)) continue;
                var deciding = Enumerable.Range(0, inputs.Length)
                    .Where(i => inputs[i].EffectiveArchitectures.Contains(abi) && !inputs[i].IsAboveEnosysCutoff(abi, nr)).ToList();
                switch (plan.Requirement)
                {
                    case Requirement.Cover:
                        foreach (var rule in plan.Rules)
                            if (!deciding.Any(i => plan.Inputs[i].Rules.Any(r => r.Action.LetsCallRun && r.Conditions.All(rule.Conditions.Contains))))
                                throw ReachesOtherAbi(plan, abi, nr, deciding, $"`{rule}`", i => plan.Inputs[i].Rules.Any(r => r.Action.LetsCallRun && r.HasSameConditions(rule)));
                        break;
                    case Requirement.AllowsAll:
                        if (!deciding.Any(i => plan.Inputs[i].AllowsAll))
                            throw ReachesOtherAbi(plan, abi, nr, deciding, $"every {plan.Syscall} call", i => plan.Inputs[i].AllowsAll);
                        break;
                    case Requirement.SameRules:
                        if (!deciding.Any(i => plan.Inputs[i].Shape != Shape.None))
                            throw ReachesOtherAbi(plan, abi, nr, deciding, $"the {plan.Syscall} calls its rules allow", i => plan.Inputs[i].Shape != Shape.None);
                        break;
                }
            }
        }

        private PolicyException ReachesOtherAbi(Plan plan, Architecture abi, int nr, List<int> deciding, string what, Func<int, bool> source)
        {
            int from = Enumerable.Range(0, inputs.Length).First(source);
            string why = inputs[from].EffectiveArchitectures.Contains(abi)
                ? $"returns ENOSYS above {inputs[from].EnosysAbove[abi]} there ({plan.Syscall} is {nr})"
                : "does not cover it";
            string others = deciding.Count == 0 ? "no input decides those calls"
                : $"{string.Join(", ", deciding.Select(i => names[i]))} {(deciding.Count == 1 ? "decides" : "decide")} {abi.Name} calls and {(deciding.Count == 1 ? "does" : "do")} not allow that";
            var union = string.Join(",", Architecture.All.Where(a => inputs.Any(p => p.EffectiveArchitectures.Contains(a))).Select(a => a.Name));
            return new PolicyException(
                $"the merge would allow {what} on {abi.Name} because {names[from]} allows it, but {names[from]} {why}; {others}. " +
                $"A policy's rules apply to every architecture it covers, so the union cannot keep them apart there: read every input with the same " +
                $"architectures (seccompkit merge --arch {union}) or merge each architecture's profiles separately.");
        }

        private void Note(string location, string message) => _notes.Add(new PolicyDiagnostic(DiagnosticSeverity.Info, location, message));
    }

    /// <summary>The rule with its conditions in a fixed order (they are ANDed, so order carries no meaning).</summary>
    private static SyscallRule Canonical(SyscallRule rule) =>
        new(rule.Syscall, rule.Action, rule.Conditions.OrderBy(ConditionKey, StringComparer.Ordinal));

    private static string ConditionKey(ArgCondition c) =>
        string.Create(CultureInfo.InvariantCulture, $"{c.Index}:{(int)c.Operator}:{(int)c.Width}:{c.Value:x16}:{c.Mask:x16}");

    private static string ConditionKey(SyscallRule r) =>
        string.Join("|", r.Conditions.Select(ConditionKey).Order(StringComparer.Ordinal));
}
