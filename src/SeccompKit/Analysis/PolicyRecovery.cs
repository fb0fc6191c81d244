using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis;

/// <summary>Something of a filter's behaviour a <see cref="SeccompPolicy"/> cannot hold.</summary>
/// <param name="Where">Where: <c>x86_64 openat</c>, <c>filter 0 pc 12</c>, <c>unknown arch</c>...</param>
/// <param name="What">What cannot be expressed, in one sentence.</param>
public sealed record RecoveryProblem(string Where, string What)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Where}: {What}";
}

/// <summary>The policy recovered from an explanation, and what it could not hold.</summary>
/// <param name="Policy">The policy; null when the problems leave nothing consistent to write (e.g. conflicting rules).</param>
/// <param name="Problems">Everything the policy does not express; empty when it compiles to the same behaviour.</param>
public sealed record RecoveredPolicy(SeccompPolicy? Policy, ImmutableArray<RecoveryProblem> Problems)
{
    /// <summary>True when the policy means exactly what the filter does.</summary>
    public bool IsExact => Policy is not null && Problems.IsEmpty;
}

/// <summary>
/// Turns a <see cref="FilterExplanation"/> into a <see cref="SeccompPolicy"/>: the argument halves back into
/// <see cref="ArgCondition"/>s (low half alone as <see cref="ArgumentWidth.Bits32"/>, the high half as 64-bit bounds or
/// masks, both pinned as one 64-bit <c>==</c>), one rule set per syscall name, the out-of-table numbers as the default
/// (and runc's ENOSYS cutoff), unknown arches as the bad-arch action. Whatever the model cannot hold is a
/// <see cref="RecoveryProblem"/>, never dropped; the result is checked against the explanation on every syscall number
/// of every ABI at the regions' boundary values.
/// </summary>
public static class PolicyRecovery
{
    /// <summary>Most rules one region may become (a != on a masked value is one rule per mask bit).</summary>
    public const int MaxAlternatives = 64;

    /// <summary>Recovers the policy.</summary>
    /// <exception cref="AnalysisLimitException">Checking the recovered policy takes more than <see cref="AnalysisBudget.MaxWork"/> units.</exception>
    public static RecoveredPolicy Recover(FilterExplanation explanation) => Recover(explanation, new AnalysisBudget());

    /// <summary>Recovers the policy, spending from <paramref name="budget"/> on the check of every region against it.</summary>
    /// <exception cref="AnalysisLimitException">The budget is spent.</exception>
    public static RecoveredPolicy Recover(FilterExplanation explanation, AnalysisBudget budget)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        ArgumentNullException.ThrowIfNull(budget);
        var problems = new List<RecoveryProblem>();
        foreach (var i in explanation.Inexpressible)
            problems.Add(new($"filter {i.Filter} pc {i.Pc}", i.What + "; a policy cannot express it"));

        // ---- calls from arches no ABI uses: one action whatever nr and the arguments are, or the filter checks no arch.
        PolicyAction? badArch = null;
        var unknownValues = explanation.UnknownArch.Select(r => r.Value).Distinct().ToList();
        if (unknownValues.Count != 1 || unknownValues[0] is null)
            problems.Add(new("unknown arch", "calls from an unknown arch get different actions depending on nr or the arguments (the filter does not check arch first); a policy gives them one action"));
        else if (!PolicyAction.TryFromReturnValue(unknownValues[0]!.Value, out var ba))
            problems.Add(new("unknown arch", $"calls from an unknown arch get {ActionNames.Format(unknownValues[0]!.Value)}, which is not one of the policy actions"));
        else badArch = ba;
        uint badValue = badArch?.ReturnValue ?? unknownValues.FirstOrDefault() ?? 0;

        // ---- the ABIs the filter treats differently from an unknown arch.
        var covered = explanation.Abis.Where(a => !AllIs(a, badValue)).ToList();
        if (covered.Count == 0) covered.Add(explanation.For(Architecture.X86_64));

        // ---- per ABI: the default (numbers outside the table) and runc's ENOSYS cutoff.
        var defaults = new Dictionary<Architecture, PolicyAction>();
        var enosys = new Dictionary<Architecture, uint>();
        foreach (var a in covered) DefaultOf(a, defaults, enosys, problems);
        var defaultAction = defaults.Values.GroupBy(d => d).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault(PolicyAction.KillProcess);
        if (defaults.Count == 0)
            defaultAction = covered.SelectMany(a => a.Syscalls).Where(s => s.Regions.Length == 1 && s.Regions[0].Value is { } v && PolicyAction.TryFromReturnValue(v, out _))
                .GroupBy(s => s.Regions[0].Value!.Value).OrderByDescending(g => g.Count()).Select(g => Action(g.Key)).FirstOrDefault(PolicyAction.KillProcess);
        foreach (var (abi, d) in defaults.ToList())
            if (d != defaultAction && d == PolicyEvaluator.Enosys && CutoffFor(explanation.For(abi)) is { } alt && !enosys.ContainsKey(abi))
            {
                // Every number outside the table is ENOSYS here: runc's cutoff above the last number that is not, with the
                // common default below it, says the same.
                var a = explanation.For(abi);
                if (a.OtherNumbers.Where(r => r.Last <= alt).All(r => r.Regions[0].Value == defaultAction.ReturnValue))
                {
                    enosys[abi] = alt;
                    defaults[abi] = defaultAction;
                }
            }
        foreach (var (abi, d) in defaults)
            if (d != defaultAction)
                problems.Add(new(abi.Name, $"numbers outside the syscall table get {d} on {abi.Name} but {defaultAction} on other ABIs; a policy has one default action"));

        // ---- rules: per syscall name, from its first 64-bit covered ABI (else the first), checked on the others below.
        var primary = covered.OrderBy(a => a.Abi.Is64Bit ? 0 : 1).ThenBy(a => Architecture.All.IndexOf(a.Abi)).ToList();
        var singles = new HashSet<string>(StringComparer.Ordinal);
        var first = Build(primary, covered, defaultAction, badArch, enosys, explanation, problems, singles, noSingle: [], budget);
        if (first.Policy is null || singles.Count == 0 || first.Problems.Count == problems.Count) return Result(first);
        // A single 64-bit comparison read on the 64-bit ABI did not fit another ABI: read those syscalls piece by piece
        // instead, and keep whichever reading has fewer problems.
        var failed = new HashSet<string>(first.Problems.Skip(problems.Count).Select(p => p.Where.Split(' ').Last()).Where(singles.Contains), StringComparer.Ordinal);
        if (failed.Count == 0) return Result(first);
        var second = Build(primary, covered, defaultAction, badArch, enosys, explanation, problems, [], noSingle: failed, budget);
        return Result(second.Policy is not null && second.Problems.Count < first.Problems.Count ? second : first);

        static RecoveredPolicy Result((SeccompPolicy? Policy, List<RecoveryProblem> Problems) r) => new(r.Policy, [.. r.Problems.Distinct()]);
    }

    private static (SeccompPolicy? Policy, List<RecoveryProblem> Problems) Build(List<AbiExplanation> primary, List<AbiExplanation> covered, PolicyAction defaultAction,
        PolicyAction? badArch, Dictionary<Architecture, uint> enosys, FilterExplanation explanation, List<RecoveryProblem> before, HashSet<string> singles, HashSet<string> noSingle, AnalysisBudget budget)
    {
        var problems = new List<RecoveryProblem>(before);
        var rules = new List<SyscallRule>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var abi in primary)
            foreach (var s in abi.Syscalls)
            {
                if (!done.Add(s.Name)) continue;
                if (abi.Abi == Architecture.X86_64 && FilterStack.IsExemptFromFiltering(new SeccompData(s.Number, abi.Abi.AuditArch))) { done.Remove(s.Name); continue; }
                if (enosys.TryGetValue(abi.Abi, out var cut) && (uint)s.Number > cut) { done.Remove(s.Name); continue; }
                // A 64-bit comparison of one argument (`args[1]:64 > 0x100000000`) reads back as one rule, not as the pieces
                // of its two halves: those pieces mean the same on this ABI but compile differently on 32-bit ABIs, where
                // a policy's 64-bit condition compares the low half alone.
                if (abi.Abi.Is64Bit && !noSingle.Contains(s.Name) && SingleComparison(s, abi.Abi, defaultAction) is { } single)
                {
                    rules.AddRange(single);
                    singles.Add(s.Name);
                    continue;
                }
                foreach (var region in s.Regions)
                {
                    if (region.Value is null || !region.Opaque.IsEmpty) continue; // reported as inexpressible
                    if (!PolicyAction.TryFromReturnValue(region.Value.Value, out var action))
                    {
                        problems.Add(new($"{abi.Abi.Name} {s.Name}", $"returns {ActionNames.Format(region.Value.Value)} (filter {region.Decider.Filter} pc {region.Decider.Pc}), which is not one of the policy actions"));
                        continue;
                    }
                    if (action == defaultAction) continue;
                    var alternatives = Conditions(region, abi.Abi, out var why);
                    if (alternatives is null) { problems.Add(new($"{abi.Abi.Name} {s.Name}", why!)); continue; }
                    // SeccompPolicy refuses, where x86_64 is covered, conditions on arguments the syscall lacks (x86_64's signatures).
                    if (covered.Any(c => c.Abi == SyscallSignatures.Architecture) &&
                        alternatives.SelectMany(c => c).FirstOrDefault(c => SyscallSignatures.TryGet(s.Name, out var sig) && c.Index >= sig.Arguments.Length) is { } unused)
                    {
                        problems.Add(new($"{abi.Abi.Name} {s.Name}", $"compares argument {unused.Index}, which {s.Name} does not have; a policy refuses conditions on unused registers"));
                        continue;
                    }
                    // The rule's origin is the return that decided it, so that findings on the recovered policy (lint) point at it.
                    foreach (var conds in alternatives)
                        rules.Add(new SyscallRule(s.Name, action, abi.Abi.Is64Bit ? MergeMaskedHalves(conds) : conds) { Origin = $"filter {region.Decider.Filter} pc {region.Decider.Pc}" });
                }
            }

        SeccompPolicy? policy = null;
        try
        {
            policy = new SeccompPolicy(defaultAction, rules, covered.Select(a => a.Abi), badArch ?? PolicyAction.KillProcess,
                enosysAbove: enosys.Count == 0 ? null : enosys);
        }
        catch (PolicyException e)
        {
            problems.Add(new(e.Location?.ToString() ?? "policy", e.Message));
            return (null, problems);
        }

        // ---- the check: the policy against the explanation at every region's boundary values, on every ABI.
        Verify(policy, explanation, problems, budget);
        return (policy, problems);
    }

    private static PolicyAction Action(uint value) => PolicyAction.TryFromReturnValue(value, out var a) ? a : PolicyAction.KillProcess;

    private static bool AllIs(AbiExplanation a, uint value) =>
        a.Syscalls.All(s => (a.Abi == Architecture.X86_64 && FilterStack.IsExemptFromFiltering(new SeccompData(s.Number, a.Abi.AuditArch))) ||
                            s.Regions.All(r => r.Value == value && r.Opaque.IsEmpty)) &&
        a.OtherNumbers.All(n => n.Regions.All(r => r.Value == value && r.Opaque.IsEmpty));

    private static void DefaultOf(AbiExplanation a, Dictionary<Architecture, PolicyAction> defaults, Dictionary<Architecture, uint> enosys, List<RecoveryProblem> problems)
    {
        var ranges = a.OtherNumbers;
        if (ranges.IsEmpty) return;
        foreach (var r in ranges)
            if (r.Regions.Length != 1 || !r.Regions[0].IsUnconditional || r.Regions[0].Value is null)
            {
                problems.Add(new($"{a.Abi.Name} nr {r.First}..{r.Last}", "numbers outside the syscall table are decided by their arguments; a policy gives them the default action"));
                return;
            }
        uint enosysValue = PolicyEvaluator.Enosys.ReturnValue;
        uint last = ranges[^1].Regions[0].Value!.Value;
        // runc's stub: every number above a cutoff (table numbers included) gets ENOSYS.
        if (last == enosysValue && ranges.Any(r => r.Regions[0].Value != enosysValue))
        {
            uint cutoff = 0;
            foreach (var r in ranges) if (r.Regions[0].Value != enosysValue) cutoff = Math.Max(cutoff, r.Last);
            foreach (var s in a.Syscalls)
                if (!(s.Regions.Length == 1 && s.Regions[0].Value == enosysValue && s.Regions[0].IsUnconditional)) cutoff = Math.Max(cutoff, (uint)s.Number);
            bool s390 = a.Abi == Architecture.S390 || a.Abi == Architecture.S390X;
            if (!s390 || Outcome(a, 0) == enosysValue)
            {
                enosys[a.Abi] = cutoff;
                ranges = [.. ranges.Where(r => r.First <= cutoff)];
            }
        }
        var values = ranges.Select(r => r.Regions[0].Value!.Value).Distinct().ToList();
        if (values.Count == 0) return;
        if (values.Count > 1)
        {
            problems.Add(new(a.Abi.Name, $"numbers outside the syscall table get different actions ({string.Join(", ", values.Select(ActionNames.Format))}); a policy gives them one default action"));
            return;
        }
        if (!PolicyAction.TryFromReturnValue(values[0], out var d))
        {
            problems.Add(new(a.Abi.Name, $"numbers outside the syscall table get {ActionNames.Format(values[0])}, which is not one of the policy actions"));
            return;
        }
        defaults[a.Abi] = d;
    }

    // The highest number (table or not) that does not get ENOSYS unconditionally, when the ABI's last numbers do.
    private static uint? CutoffFor(AbiExplanation a)
    {
        uint enosysValue = PolicyEvaluator.Enosys.ReturnValue;
        if (a.OtherNumbers.IsEmpty || a.OtherNumbers[^1].Regions[0].Value != enosysValue) return null;
        uint cutoff = 0;
        foreach (var r in a.OtherNumbers) if (!(r.Regions.Length == 1 && r.Regions[0].Value == enosysValue && r.Regions[0].IsUnconditional)) cutoff = Math.Max(cutoff, r.Last);
        foreach (var s in a.Syscalls)
            if (!(s.Regions.Length == 1 && s.Regions[0].Value == enosysValue && s.Regions[0].IsUnconditional)) cutoff = Math.Max(cutoff, (uint)s.Number);
        bool s390 = a.Abi == Architecture.S390 || a.Abi == Architecture.S390X;
        return s390 && Outcome(a, 0) != enosysValue ? null : cutoff;
    }

    private static uint? Outcome(AbiExplanation a, uint nr)
    {
        var s = a.Syscalls.FirstOrDefault(x => (uint)x.Number == nr);
        if (s is not null) return s.Regions.Length == 1 ? s.Regions[0].Value : null;
        var r = a.OtherNumbers.FirstOrDefault(x => nr >= x.First && nr <= x.Last);
        return r is not null && r.Regions.Length == 1 ? r.Regions[0].Value : null;
    }

    /// <summary>
    /// The region as alternatives of condition lists (their OR is the region), or null with the reason when it has no
    /// such form: an instruction-pointer condition, a high-half condition on a 32-bit ABI, or too many alternatives.
    /// </summary>
    public static List<List<ArgCondition>>? Conditions(ExplainedRegion region, Architecture abi, out string? why)
    {
        why = null;
        uint ipLo = SeccompData.OffsetInstructionPointer / 4, ipHi = ipLo + 1;
        if (!region.Words[(int)ipLo].IsFull || !region.Words[(int)ipHi].IsFull)
        {
            why = $"decided by the instruction pointer ({region.Words[(int)ipLo].Describe("ip word 0")}, {region.Words[(int)ipHi].Describe("ip word 1")}); a policy has no instruction-pointer conditions";
            return null;
        }
        var all = new List<ArgCondition>();
        var disjunctions = new List<List<ArgCondition>>();
        for (int i = 0; i < 6; i++)
        {
            var lo = region.Words[(int)(SeccompData.ArgLowOffset(i, abi.AuditArch) / 4)];
            var hi = region.Words[(int)(SeccompData.ArgHighOffset(i, abi.AuditArch) / 4)];
            if (!hi.IsFull && !abi.Is64Bit)
            {
                why = $"compares the high half of argument {i} on the 32-bit ABI {abi.Name} ({hi.Describe($"arg{i}.hi")}); a policy compares only the low half there";
                return null;
            }
            if (lo.IsSingle && hi.IsSingle && lo.Exclusions.IsEmpty && hi.Exclusions.IsEmpty)
            {
                all.Add(new ArgCondition(i, ArgOperator.Equal, ((ulong)hi.Low << 32) | lo.Low));
                continue;
            }
            if (!lo.IsFull) Half(i, lo, high: false, all, disjunctions);
            if (!hi.IsFull) Half(i, hi, high: true, all, disjunctions);
        }
        // Stop multiplying at the bound: 16 exclusions of 16 mask bits each are 16^16 = 2^64 combinations, which a long
        // wraps to 0 (a fuzz finding: the product then passed the bound and every combination was built).
        long count = 1;
        foreach (var d in disjunctions)
        {
            count *= Math.Max(1, d.Count);
            if (count > MaxAlternatives) break;
        }
        if (count > MaxAlternatives)
        {
            why = $"needs more than {MaxAlternatives} rules (one per combination of excluded values and mask bits)";
            return null;
        }
        var result = new List<List<ArgCondition>> { all };
        foreach (var d in disjunctions)
        {
            if (d.Count == 0) return [];
            result = [.. result.SelectMany(r => d.Select(c => new List<ArgCondition>(r) { c }))];
        }
        return result;
    }

    // The syscall's regions as one 64-bit comparison `args[i]:64 op K` (and its opposite) when they constrain one argument,
    // its high half somewhere, and give two policy actions split by such a comparison: each region wholly on one side,
    // decided exactly from its smallest and largest 64-bit value (both sides of every candidate are intervals, or a point
    // and the rest). Null when there is no such form (the regions are then read as they are).
    /// <summary>
    /// Equalities and masked equalities of one argument (typically one per 32-bit half, as a filter tests them) become one
    /// 64-bit masked equality: <c>(a &amp; m1) == v1 &amp;&amp; (a &amp; m2) == v2</c> is <c>(a &amp; (m1|m2)) == (v1|v2)</c> when
    /// the two agree where the masks overlap. A rule that compares an argument twice is not one an OCI runtime reads as
    /// an AND (it reads repeated arguments as alternatives), and the compiler's bit-pattern sets test an argument so
    /// (Docker's personality: low half masked, high half zero).
    /// </summary>
    private static IReadOnlyList<ArgCondition> MergeMaskedHalves(IReadOnlyList<ArgCondition> conditions)
    {
        if (conditions.Count < 2) return conditions;
        var result = new List<ArgCondition>();
        foreach (var group in conditions.GroupBy(c => c.Index))
        {
            var eq = group.Where(c => c.Operator is ArgOperator.Equal or ArgOperator.MaskedEqual).ToList();
            ulong mask = 0, value = 0;
            bool consistent = eq.Count >= 2;
            foreach (var c in eq)
            {
                ulong m = (c.Operator == ArgOperator.Equal ? ulong.MaxValue : c.Mask) & (c.Width == ArgumentWidth.Bits32 ? uint.MaxValue : ulong.MaxValue);
                ulong v = c.Value & m;
                if (((value ^ v) & mask & m) != 0) { consistent = false; break; }
                mask |= m;
                value |= v;
            }
            if (!consistent) { result.AddRange(group); continue; }
            result.Add(mask == ulong.MaxValue ? new ArgCondition(group.Key, ArgOperator.Equal, value) : new ArgCondition(group.Key, ArgOperator.MaskedEqual, value, mask));
            result.AddRange(group.Where(c => c.Operator is not (ArgOperator.Equal or ArgOperator.MaskedEqual)));
        }
        return result;
    }

    private static List<SyscallRule>? SingleComparison(SyscallExplanation s, Architecture abi, PolicyAction defaultAction)
    {
        if (s.Regions.Length < 2 || s.Regions.Any(r => r.Value is null || !r.Opaque.IsEmpty || !PolicyAction.TryFromReturnValue(r.Value.Value, out _))) return null;
        var values = s.Regions.Select(r => r.Value!.Value).Distinct().ToList();
        if (values.Count != 2) return null;
        int arg = -1;
        bool highUsed = false;
        foreach (var r in s.Regions)
            foreach (int w in r.ConstrainedDataWords)
            {
                if (w < 4) return null; // the instruction pointer
                int i = (w - 4) / 2;
                if (arg >= 0 && arg != i) return null;
                arg = i;
                if (w * 4 == SeccompData.ArgHighOffset(i, abi.AuditArch)) highUsed = true;
            }
        if (arg < 0 || !highUsed) return null;
        if (SyscallSignatures.TryGet(s.Name, out var sig) && arg >= sig.Arguments.Length) return null;
        int loWord = (int)(SeccompData.ArgLowOffset(arg, abi.AuditArch) / 4), hiWord = (int)(SeccompData.ArgHighOffset(arg, abi.AuditArch) / 4);
        var bounds = new List<(ulong Min, ulong Max, bool Single, ExplainedRegion Region)>();
        foreach (var r in s.Regions)
        {
            var (lo, hi) = (r.Words[loWord], r.Words[hiWord]);
            if (!lo.TryGetWitness(out uint loMin) || !hi.TryGetWitness(out uint hiMin) || !lo.Contains(lo.High) || !hi.Contains(hi.High)) return null;
            bounds.Add((((ulong)hiMin << 32) | loMin, ((ulong)hi.High << 32) | lo.High, lo.IsSingle && hi.IsSingle, r));
        }
        var constants = bounds.SelectMany(b => new[] { b.Min, b.Max }).Distinct().OrderBy(k => k).ToList();
        foreach (ulong k in constants)
            foreach (var op in new[] { ArgOperator.Equal, ArgOperator.Greater, ArgOperator.GreaterOrEqual, ArgOperator.Less, ArgOperator.LessOrEqual })
            {
                // Which side each region is on; null when it straddles the comparison.
                bool? Side((ulong Min, ulong Max, bool Single, ExplainedRegion Region) b) => op switch
                {
                    ArgOperator.Equal => b.Single && b.Min == k ? true : !Contains64(b.Region, k) ? false : null,
                    _ => Holds(op, b.Min, k) == Holds(op, b.Max, k) ? Holds(op, b.Min, k) : null,
                };
                uint? inside = null, outside = null;
                bool fits = true;
                foreach (var b in bounds)
                {
                    if (Side(b) is not { } side) { fits = false; break; }
                    ref uint? slot = ref side ? ref inside : ref outside;
                    if (slot is { } v && v != b.Region.Value) { fits = false; break; }
                    slot = b.Region.Value;
                }
                if (!fits || inside is null || outside is null || inside == outside) continue;
                var rules = new List<SyscallRule>();
                var origin = (ExplainedRegion r) => $"filter {r.Decider.Filter} pc {r.Decider.Pc}";
                var inAction = Action(inside.Value);
                var outAction = Action(outside.Value);
                var inRegion = bounds.First(b => b.Region.Value == inside).Region;
                var outRegion = bounds.First(b => b.Region.Value == outside).Region;
                if (inAction != defaultAction)
                    rules.Add(new SyscallRule(s.Name, inAction, [new ArgCondition(arg, op, k, 0, ArgumentWidth.Bits64)]) { Origin = origin(inRegion) });
                if (outAction != defaultAction)
                    rules.Add(new SyscallRule(s.Name, outAction, [new ArgCondition(arg, Opposite(op), k, 0, ArgumentWidth.Bits64)]) { Origin = origin(outRegion) });
                return rules;
            }
        return null;

        bool Contains64(ExplainedRegion r, ulong v) => r.Words[loWord].Contains((uint)v) && r.Words[hiWord].Contains((uint)(v >> 32));
    }

    private static bool Holds(ArgOperator op, ulong v, ulong k) => op switch
    {
        ArgOperator.Greater => v > k,
        ArgOperator.GreaterOrEqual => v >= k,
        ArgOperator.Less => v < k,
        ArgOperator.LessOrEqual => v <= k,
        _ => v == k,
    };

    private static ArgOperator Opposite(ArgOperator op) => op switch
    {
        ArgOperator.Equal => ArgOperator.NotEqual,
        ArgOperator.Greater => ArgOperator.LessOrEqual,
        ArgOperator.GreaterOrEqual => ArgOperator.Less,
        ArgOperator.Less => ArgOperator.GreaterOrEqual,
        _ => ArgOperator.Greater,
    };

    // One half's constraints as conditions: the low half at 32 bits, the high half as 64-bit bounds and masks on (hi << 32).
    private static void Half(int index, WordSet w, bool high, List<ArgCondition> all, List<List<ArgCondition>> disjunctions)
    {
        var width = high ? ArgumentWidth.Bits64 : ArgumentWidth.Bits32;
        ulong Lift(uint v) => high ? (ulong)v << 32 : v;
        ulong Top(uint v) => high ? ((ulong)v << 32) | uint.MaxValue : v;
        if (w.Low == w.High) all.Add(high ? Range64(index, w.Low, w.Low) : new ArgCondition(index, ArgOperator.Equal, w.Low, 0, width));
        else
        {
            if (w.Low != 0) all.Add(new ArgCondition(index, ArgOperator.GreaterOrEqual, Lift(w.Low), 0, width));
            if (w.High != uint.MaxValue) all.Add(new ArgCondition(index, ArgOperator.LessOrEqual, Top(w.High), 0, width));
            if (w.FixedMask != 0) all.Add(new ArgCondition(index, ArgOperator.MaskedEqual, Lift(w.FixedValue), Lift(w.FixedMask), width));
        }
        foreach (var e in w.Exclusions)
        {
            var alt = new List<ArgCondition>();
            if (e.IsRange || e.A == uint.MaxValue)
            {
                uint a = e.IsRange ? e.A : e.B, b = e.B;
                if (!high && a == b) { all.Add(new ArgCondition(index, ArgOperator.NotEqual, a, 0, width)); continue; }
                if (a > 0) alt.Add(new ArgCondition(index, ArgOperator.Less, Lift(a), 0, width));
                if (b < uint.MaxValue) alt.Add(new ArgCondition(index, ArgOperator.Greater, Top(b), 0, width));
            }
            else
            {
                // (w & m) != v: some bit of m differs from v.
                for (int bit = 0; bit < 32; bit++)
                {
                    uint m = 1u << bit;
                    if ((e.A & m) == 0) continue;
                    alt.Add(new ArgCondition(index, ArgOperator.MaskedEqual, Lift(~e.B & m), Lift(m), width));
                }
            }
            disjunctions.Add(alt);
        }
    }

    private static ArgCondition Range64(int index, uint lo, uint hi) =>
        new(index, ArgOperator.MaskedEqual, (ulong)lo << 32, 0xffff_ffff_0000_0000UL, ArgumentWidth.Bits64);

    // ---- the check

    // Characters of a grouping key one work unit pays for (building and hashing a key costs about a nanosecond a character).
    private const int KeyCharactersPerUnit = 256;

    private static void Verify(SeccompPolicy policy, FilterExplanation e, List<RecoveryProblem> problems, AnalysisBudget budget)
    {
        int reported = 0;
        // Syscalls of one ABI with the same regions but for nr, the same rules in the same order and the same side of the
        // ENOSYS cutoff get the same answer from the policy and from the filter at every input but nr: each such class
        // is checked once, through its first syscall (a filter testing arguments before it dispatches on nr gives every
        // one of the ~10,000 numbers the same regions: 8 s and 18 million checks for a 98-instruction filter before).
        var checkedClasses = new HashSet<string>(StringComparer.Ordinal);
        var drawnClasses = new HashSet<string>(StringComparer.Ordinal);
        // A syscall's rules read the same on every ABI, and both loops below ask for the same keys: each text is built
        // once, and its length is paid for (a recovered rule set can be long).
        var rulesText = new Dictionary<string, string>(StringComparer.Ordinal);
        var classKeys = new Dictionary<(Architecture, int), string>();
        string ClassKey(AbiExplanation abi, SyscallExplanation s)
        {
            if (classKeys.TryGetValue((abi.Abi, s.Number), out var known)) return known;
            if (!rulesText.TryGetValue(s.Name, out var rules))
            {
                rulesText[s.Name] = rules = string.Join(" | ", policy.RulesFor(s.Name).Select(r => $"{string.Join(" && ", r.Conditions)} -> {r.Action}"));
                budget.Spend(1 + rules.Length / KeyCharactersPerUnit);
            }
            bool enosysSide = policy.IsAboveEnosysCutoff(abi.Abi, s.Number);
            string key = $"{abi.Abi.Name}#{enosysSide}#{rules}#{FilterExplainer.OutcomeKey(s.Regions)}";
            budget.Spend(1 + key.Length / KeyCharactersPerUnit);
            return classKeys[(abi.Abi, s.Number)] = key;
        }
        foreach (var abi in e.Abis)
        {
            foreach (var s in abi.Syscalls)
            {
                if (abi.Abi == Architecture.X86_64 && FilterStack.IsExemptFromFiltering(new SeccompData(s.Number, abi.Abi.AuditArch))) continue;
                if (!checkedClasses.Add(ClassKey(abi, s))) continue;
                Check(abi, s.Name, s.Regions);
                // The policy's own boundaries for this name: an input meeting each rule's conditions, checked against the
                // region of the explanation that holds it (a rule taken from another ABI may not fit this one).
                foreach (var rule in policy.RulesFor(s.Name))
                {
                    budget.Spend(1 + s.Regions.Length);
                    // An input the rule matches on this ABI: per argument, a value meeting all its conditions there (a
                    // 32-bit bound on the low half and a mask on the high half need both halves), taken from the
                    // conditions' constants, one off each, and their halves combined.
                    var args = new ulong[6];
                    foreach (var conds in rule.Conditions.GroupBy(c => c.Index))
                    {
                        var near = conds.SelectMany(c => new[] { c.Value, c.Value + 1, c.Value - 1 }).Distinct().ToList();
                        // The candidates are the near values and their halves crossed, each tried against every condition.
                        budget.Spend((long)near.Count * (near.Count + 1) * conds.Count() / 64);
                        var values = near.Concat(near.SelectMany(h => near.Select(l => (h & 0xffff_ffff_0000_0000UL) | (l & 0xffff_ffffUL))));
                        ulong chosen = values.Where(v => conds.All(c => c.Matches(v, abi.Abi))).Select(v => (ulong?)v).FirstOrDefault() ?? near[0];
                        // A 32-bit ABI's arguments reach seccomp zero-extended: the high half is 0 in every real call.
                        args[conds.Key] = abi.Abi.Is64Bit ? chosen : chosen & 0xffff_ffffUL;
                    }
                    var d = new SeccompData(s.Number, abi.Abi.AuditArch, 0, args);
                    var words = new uint[16];
                    for (int i = 0; i < 16; i++) words[i] = d.LoadWord((uint)(4 * i));
                    var region = s.Regions.FirstOrDefault(r => r.Contains(words));
                    if (region?.Value is not { } want || !PolicyAction.TryFromReturnValue(want, out _)) continue;
                    uint got = PolicyEvaluator.EvaluateValue(policy, d);
                    if (got != want && reported++ < 20)
                        problems.Add(new($"{abi.Abi.Name} {s.Name}", $"the recovered policy gives {ActionNames.Format(got)} where the filter gives {ActionNames.Format(want)} (input {d}); the difference cannot be expressed"));
                }
            }
            foreach (var r in abi.OtherNumbers) Check(abi, $"nr {r.First}..{r.Last}", r.Regions);
        }

        // Inputs that set several arguments at once, from the regions' own boundary values (a region's sample points move
        // one word at a time, and a rule on two arguments can differ only where both hold): 256 fixed draws per syscall
        // decided by its arguments; on a 32-bit ABI the high halves stay 0, as the kernel zero-extends its arguments.
        foreach (var abi in e.Abis)
            foreach (var s in abi.Syscalls)
            {
                if (s.Regions.Length < 2) continue;
                if (abi.Abi == Architecture.X86_64 && FilterStack.IsExemptFromFiltering(new SeccompData(s.Number, abi.Abi.AuditArch))) continue;
                if (!drawnClasses.Add(ClassKey(abi, s))) continue;
                var values = new List<uint>[16];
                for (int w = 0; w < 16; w++) values[w] = [0];
                foreach (var region in s.Regions)
                    foreach (int w in region.ConstrainedDataWords)
                        values[w].AddRange(region.Words[w].SamplePoints().Take(16));
                var rng = new Random(s.Number);
                for (int n = 0; n < 256; n++)
                {
                    budget.Spend(1 + s.Regions.Length);
                    var args = new ulong[6];
                    for (int i = 0; i < 6; i++)
                    {
                        var lo = values[(int)(SeccompData.ArgLowOffset(i, abi.Abi.AuditArch) / 4)];
                        var hi = values[(int)(SeccompData.ArgHighOffset(i, abi.Abi.AuditArch) / 4)];
                        args[i] = (abi.Abi.Is64Bit ? (ulong)hi[rng.Next(hi.Count)] << 32 : 0) | lo[rng.Next(lo.Count)];
                    }
                    var d = new SeccompData(s.Number, abi.Abi.AuditArch, 0, args);
                    var words = new uint[16];
                    for (int i = 0; i < 16; i++) words[i] = d.LoadWord((uint)(4 * i));
                    if (s.Regions.FirstOrDefault(r => r.Contains(words)) is not { Value: { } want } || !PolicyAction.TryFromReturnValue(want, out _)) continue;
                    uint got = PolicyEvaluator.EvaluateValue(policy, d);
                    if (got == want) continue;
                    if (reported++ < 20)
                        problems.Add(new($"{abi.Abi.Name} {s.Name}", $"the recovered policy gives {ActionNames.Format(got)} where the filter gives {ActionNames.Format(want)} (input {d}); the difference cannot be expressed"));
                    break;
                }
            }

        void Check(AbiExplanation abi, string what, ImmutableArray<ExplainedRegion> regions)
        {
            foreach (var region in regions)
            {
                budget.Spend(1);
                if (region.Value is null || !region.Opaque.IsEmpty) continue;
                foreach (var d in SamplePoints(region, abi.Abi.AuditArch))
                {
                    budget.Spend(1);
                    uint got = PolicyEvaluator.EvaluateValue(policy, d);
                    if (got == region.Value.Value) continue;
                    // Values the policy cannot carry were reported already.
                    if (!PolicyAction.TryFromReturnValue(region.Value.Value, out _)) break;
                    if (reported++ < 20)
                        problems.Add(new($"{abi.Abi.Name} {what}", $"the recovered policy gives {ActionNames.Format(got)} where the filter gives {ActionNames.Format(region.Value.Value)} (input {d}); the difference cannot be expressed"));
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Inputs inside <paramref name="region"/> at its boundaries: a witness of every word, then each constrained word moved
    /// to each of its boundary members in turn.
    /// </summary>
    public static IEnumerable<SeccompData> SamplePoints(ExplainedRegion region, uint arch)
    {
        var baseWords = new uint[16];
        for (int i = 0; i < 16; i++)
        {
            if (!region.Words[i].TryGetWitness(out baseWords[i])) yield break;
        }
        yield return ToData(baseWords);
        for (int i = 0; i < 16; i++)
        {
            if (region.Words[i].IsFull) continue;
            foreach (var v in region.Words[i].SamplePoints().Distinct().Take(64))
            {
                var w = (uint[])baseWords.Clone();
                w[i] = v;
                yield return ToData(w);
            }
        }
    }

    /// <summary>The <c>seccomp_data</c> whose words are <paramref name="words"/>, laid out as the kernel reporting <c>words[1]</c> as arch lays it out.</summary>
    public static SeccompData ToData(uint[] words)
    {
        bool le = SeccompData.IsLittleEndianArch(words[1]);
        ulong Pair(int first) => le ? words[first] | ((ulong)words[first + 1] << 32) : words[first + 1] | ((ulong)words[first] << 32);
        var args = new ulong[6];
        for (int i = 0; i < 6; i++) args[i] = Pair(4 + 2 * i);
        return new SeccompData(unchecked((int)words[0]), words[1], Pair(2), args);
    }
}
