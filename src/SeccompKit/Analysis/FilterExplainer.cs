using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis;

/// <summary>
/// Reads any valid filter or stack back to rules (<see cref="FilterExplanation"/>): explores each filter's paths
/// (<see cref="PathExplorer"/>), then, for every ABI and syscall number, intersects the paths the number can take in each
/// filter and keeps the result the kernel's precedence gives (<c>seccomp_run_filters</c>: the lowest action, newest filter
/// on ties; x86_64 uretprobe and uprobe are never filtered).
/// </summary>
public static class FilterExplainer
{
    /// <summary>Most ranges of other numbers per ABI (a mask test on low bits of nr could make billions).</summary>
    public const int MaxRanges = 100_000;

    /// <summary>Explains one filter.</summary>
    public static FilterExplanation Explain(BpfProgram program) => Explain(new FilterStack([program]));

    /// <summary>Explains a stack (filters newest first, as <see cref="FilterStack"/> holds them).</summary>
    /// <exception cref="AnalysisLimitException">A filter has more paths, or an ABI more ranges, than the explorer enumerates, or explaining it takes more than <see cref="AnalysisBudget.MaxWork"/> units.</exception>
    public static FilterExplanation Explain(FilterStack stack) => Explain(stack, new AnalysisBudget());

    /// <summary>Explains a stack, spending from <paramref name="budget"/> (diff shares one between its two sides).</summary>
    /// <exception cref="AnalysisLimitException">As <see cref="Explain(FilterStack)"/>, or the budget is spent.</exception>
    public static FilterExplanation Explain(FilterStack stack, AnalysisBudget budget)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(budget);
        var paths = stack.Filters.Select((f, i) => PathExplorer.Explore(f, i, budget)).ToImmutableArray();
        var inexpressible = new List<Inexpressible>();
        // One report per instruction, described once: the paths through it share its condition.
        var reported = new HashSet<(int Filter, int Pc)>();
        for (int f = 0; f < paths.Length; f++)
        {
            foreach (var p in paths[f])
            {
                foreach (var o in p.Opaque)
                    if (reported.Add((o.Filter, o.Pc)))
                        inexpressible.Add(new Inexpressible(o.Filter, o.Pc, $"comparison {(o with { Holds = true }).Describe(i => WordName(i, Architecture.X86_64.AuditArch))} is not a condition on one word"));
                if (p.Value is null && reported.Add((f, p.Pc)))
                    inexpressible.Add(new Inexpressible(f, p.Pc, $"returns a value computed from the data: {p.ValueExpression!.Describe(i => WordName(i, Architecture.X86_64.AuditArch))}"));
            }
        }
        var abis = Architecture.All.Select(a => ExplainAbi(a, paths, budget)).ToImmutableArray();
        var unknown = WordSet.Full;
        foreach (var a in Architecture.All) unknown = unknown.And(WordPredicate.Between(a.AuditArch, a.AuditArch).Not());
        var unknownRegions = Combine(paths, p => Narrow(p, 1, unknown), null, null, budget);
        return new FilterExplanation(stack, abis, unknownRegions, [.. inexpressible.OrderBy(i => i.Filter).ThenBy(i => i.Pc)], paths.Sum(p => p.Length));
    }


    /// <summary>The name of word <paramref name="index"/> (offset 4 × index) on an ABI reporting <paramref name="auditArch"/>: nr, arch, ip.lo, ip.hi, arg0.lo...</summary>
    public static string WordName(int index, uint auditArch)
    {
        if (index == 0) return "nr";
        if (index == 1) return "arch";
        bool le = SeccompData.IsLittleEndianArch(auditArch);
        bool firstHalf = index % 2 == 0;
        string half = firstHalf == le ? "lo" : "hi";
        return index < 4 ? $"ip.{half}" : $"arg{(index - 4) / 2}.{half}";
    }

    /// <summary>The numbers <c>seccomp_data.nr</c> takes for calls of <paramref name="abi"/>: x86_64 and x32 split AUDIT_ARCH_X86_64 at the x32 bit (nr -1 stays x86_64's, as libseccomp and <see cref="Policy.SeccompPolicy.ResolveAbi"/> treat it).</summary>
    public static ImmutableArray<(uint First, uint Last)> NumberDomain(Architecture abi) =>
        abi == Architecture.X86_64 ? [(0, Architecture.X32SyscallBit - 1), (uint.MaxValue, uint.MaxValue)]
        : abi == Architecture.X32 ? [(Architecture.X32SyscallBit, uint.MaxValue - 1)]
        : [(0, uint.MaxValue)];

    private static AbiExplanation ExplainAbi(Architecture abi, ImmutableArray<ImmutableArray<ProgramPath>> allPaths, AnalysisBudget budget)
    {
        uint arch = abi.AuditArch;
        var archSet = WordSet.Single(arch);
        // The paths each filter can take for this arch value.
        foreach (var ps in allPaths) budget.Spend(Weight(ps));
        var paths = allPaths.Select(ps => ps.Select(p => Narrow(p, 1, archSet)).Where(p => p is not null).Select(p => p!).ToImmutableArray()).ToImmutableArray();

        var syscalls = ImmutableArray.CreateBuilder<SyscallExplanation>();
        // Numbers that select the same paths in every filter get the same regions but for nr itself: combine once per
        // selection and copy (about 10,000 numbers over 23 ABIs fall into a few hundred selections for real filters).
        var bySelection = new Dictionary<PathSelection, ImmutableArray<ExplainedRegion>>();
        var sweep = new PathSweep(paths, arch, budget);
        foreach (var (name, number) in abi.Syscalls.All.OrderBy(e => (uint)e.Number))
        {
            uint nr = unchecked((uint)number);
            if (!InDomain(abi, nr)) continue;
            ImmutableArray<ExplainedRegion> regions;
            var nrSet = WordSet.Single(nr);
            if (FilterStack.IsExemptFromFiltering(new SeccompData(number, arch)))
                regions = [new ExplainedRegion(PathsWith(arch, nrSet), [], SeccompReturn.SECCOMP_RET_ALLOW, null, new Decider(-1, -1))];
            else
            {
                var (selection, selected) = sweep.Select(nr);
                if (bySelection.TryGetValue(selection, out var template))
                {
                    budget.Spend(Weight(template));
                    regions = [.. template.Select(r => r with { Words = r.Words.SetItem(0, nrSet) })];
                }
                else
                    bySelection[selection] = regions = Combine(selected, p => Narrow(p, 0, nrSet), arch, nrSet, budget);
            }
            syscalls.Add(new SyscallExplanation(number, name, regions));
        }
        return new AbiExplanation(abi, syscalls.ToImmutable(), OtherNumbers(abi, paths, budget));
    }

    // The paths of each filter whose nr bounds [Low, High] meet a number or range, for numbers and ranges given in
    // increasing order: a compiled filter's thousand paths (each pinned to a number or a range of its search tree) then
    // cost a few checks per number instead of a thousand.
    private sealed class PathSweep(ImmutableArray<ImmutableArray<ProgramPath>> paths, uint arch, AnalysisBudget budget)
    {
        private readonly int[][] _byLow = [.. paths.Select(ps => Enumerable.Range(0, ps.Length).OrderBy(j => ps[j].Words[0].Low).ToArray())];
        private readonly int[] _next = new int[paths.Length];
        private readonly List<int>[] _active = [.. paths.Select(_ => new List<int>())];
        private readonly List<int> _selected = [];
        private ulong _from;
        // Per filter and path, the opaque conditions on nr and arch alone: decided for each number the sweep visits.
        private readonly OpaqueCondition[][][] _onNrAndArch = [.. paths.Select(ps => ps.Select(p => p.Opaque.IsEmpty ? [] : p.Opaque.Where(o => o.ReadsOnlyNrAndArch).ToArray()).ToArray())];

        /// <summary>Moves to [first, last] (after every range asked before) and returns, per filter, the paths meeting it.</summary>
        public IEnumerable<ProgramPath>[] Meeting(uint first, uint last)
        {
            if (first < _from) throw new InvalidOperationException("PathSweep: ranges out of order");
            _from = (ulong)last + 1;
            var result = new IEnumerable<ProgramPath>[paths.Length];
            for (int f = 0; f < paths.Length; f++)
            {
                var ps = paths[f];
                var active = _active[f];
                while (_next[f] < _byLow[f].Length && ps[_byLow[f][_next[f]]].Words[0].Low <= last) active.Add(_byLow[f][_next[f]++]);
                budget.Spend(1 + active.Count);
                active.RemoveAll(j => ps[j].Words[0].High < first);
                result[f] = active.Select(j => ps[j]).ToArray();
            }
            return result;
        }

        /// <summary>
        /// Moves to number <paramref name="nr"/> and returns the paths Narrow(p, 0, {nr}) keeps, per filter in the stack's
        /// order, and their selection: nr in the path's nr set, and every opaque condition on nr and arch alone true. Two
        /// numbers with one selection narrow every path to the same words but word 0.
        /// </summary>
        public (PathSelection Selection, IEnumerable<ProgramPath>[] Paths) Select(uint nr)
        {
            var meeting = Meeting(nr, nr);
            _selected.Clear();
            Span<uint> concrete = stackalloc uint[16];
            concrete[0] = nr; concrete[1] = arch;
            var kept = new IEnumerable<ProgramPath>[paths.Length];
            for (int f = 0; f < paths.Length; f++)
            {
                _selected.Add(-1 - f);
                int start = _selected.Count;
                budget.Spend(_active[f].Count);
                foreach (int j in _active[f])
                {
                    var p = paths[f][j];
                    if (!p.Words[0].Contains(nr)) continue;
                    bool holds = true;
                    foreach (var o in _onNrAndArch[f][j])
                    {
                        budget.Spend(AnalysisBudget.UnitsFor(o.Size));
                        if (!o.Evaluate(concrete)) { holds = false; break; }
                    }
                    if (holds) _selected.Add(j);
                }
                // The stack's path order within a filter, so that two numbers with one selection combine alike.
                _selected.Sort(start, _selected.Count - start, null);
                var f0 = f;
                kept[f] = _selected.Skip(start).Select(j => paths[f0][j]).ToArray();
            }
            return (new PathSelection([.. _selected]), kept);
        }
    }

    private sealed class PathSelection(int[] items) : IEquatable<PathSelection>
    {
        private readonly int _hash = Hash(items);

        private static int Hash(int[] items)
        {
            var h = new HashCode();
            foreach (int i in items) h.Add(i);
            return h.ToHashCode();
        }

        public bool Equals(PathSelection? other) => other is not null && other._hash == _hash && items.AsSpan().SequenceEqual(other.Items);
        public override bool Equals(object? obj) => Equals(obj as PathSelection);
        public override int GetHashCode() => _hash;
        private int[] Items => items;
    }

    // The work of reading a path or region once: one unit, plus every operation of its opaque conditions and computed value.
    private static long Weight(ProgramPath p) =>
        p.Opaque.IsEmpty && p.ValueExpression is null ? 1 : 1 + AnalysisBudget.UnitsFor(OpaqueCondition.SizeOf(p.Opaque) + (p.ValueExpression?.Size ?? 0));
    private static long Weight(ExplainedRegion r) => r.Opaque.IsEmpty ? 1 : 1 + AnalysisBudget.UnitsFor(OpaqueCondition.SizeOf(r.Opaque));
    private static long Weight(ImmutableArray<ExplainedRegion> regions)
    {
        long n = 0;
        foreach (var r in regions) n += Weight(r);
        return n;
    }
    private static long Weight(ImmutableArray<ProgramPath> paths)
    {
        long n = 0;
        foreach (var p in paths) n += Weight(p);
        return n;
    }

    private static bool InDomain(Architecture abi, uint nr) => NumberDomain(abi).Any(d => nr >= d.First && nr <= d.Last);

    private static ImmutableArray<WordSet> PathsWith(uint arch, WordSet nr)
    {
        var w = PathExplorer.AllInputs.ToBuilder();
        w[0] = nr; w[1] = WordSet.Single(arch);
        return w.ToImmutable();
    }

    // The path restricted to word `index` in `set`, or null when it cannot be taken there. Opaque conditions that read
    // only nr and arch are decided once both are pinned.
    private static ProgramPath? Narrow(ProgramPath p, int index, WordSet set)
    {
        var narrowed = p.Words[index].Intersect(set);
        if (narrowed.IsEmpty) return null;
        var words = p.Words.SetItem(index, narrowed);
        var opaque = p.Opaque;
        if (!opaque.IsEmpty && words[0].IsSingle && words[1].IsSingle)
        {
            Span<uint> concrete = stackalloc uint[16];
            concrete[0] = words[0].Low; concrete[1] = words[1].Low;
            var kept = ImmutableArray.CreateBuilder<OpaqueCondition>();
            foreach (var o in opaque)
            {
                if (o.ReadsOnlyNrAndArch) { if (!o.Evaluate(concrete)) return null; }
                else kept.Add(o);
            }
            opaque = kept.ToImmutable();
        }
        return p with { Words = words, Opaque = opaque };
    }

    // The regions of the stack for the inputs `restrict` keeps, combined by the kernel's precedence. When arch and nr are
    // given, the regions carry them pinned.
    private static ImmutableArray<ExplainedRegion> Combine(ImmutableArray<ImmutableArray<ProgramPath>> paths, Func<ProgramPath, ProgramPath?> restrict, uint? arch, WordSet? nr, AnalysisBudget budget) =>
        Combine(paths.Select(ps => (IEnumerable<ProgramPath>)ps).ToArray(), restrict, arch, nr, budget);

    // As above, over the paths of each filter that may be taken at all (a superset of those restrict keeps).
    private static ImmutableArray<ExplainedRegion> Combine(IEnumerable<ProgramPath>[] paths, Func<ProgramPath, ProgramPath?> restrict, uint? arch, WordSet? nr, AnalysisBudget budget)
    {
        // Start from "every input, ALLOW, nobody decided", as seccomp_run_filters starts from SECCOMP_RET_ALLOW.
        var start = PathExplorer.AllInputs;
        if (arch is { } av) start = start.SetItem(1, WordSet.Single(av));
        if (nr is not null) start = start.SetItem(0, nr);
        var acc = new List<ExplainedRegion> { new(start, [], SeccompReturn.SECCOMP_RET_ALLOW, null, new Decider(-1, -1)) };
        for (int f = 0; f < paths.Length; f++)
        {
            var candidates = new List<ProgramPath>();
            foreach (var p in paths[f])
            {
                // Restricting decides the path's opaque conditions on nr and arch.
                budget.Spend(Weight(p));
                if (restrict(p) is { } r) candidates.Add(r);
            }
            var next = new List<ExplainedRegion>();
            // Each region meets each candidate word by word: the product is what a stack of filters multiplies. A region
            // carries the opaque conditions of both, and everything that reads it later (keys, text) visits them.
            long candidateOpaque = 0, accOpaque = 0;
            foreach (var c in candidates) candidateOpaque += OpaqueCondition.SizeOf(c.Opaque);
            foreach (var r in acc) accOpaque += OpaqueCondition.SizeOf(r.Opaque);
            budget.Spend((long)acc.Count * candidates.Count * SeccompData.Size / 4 + AnalysisBudget.UnitsFor(accOpaque * candidates.Count + acc.Count * candidateOpaque));
            foreach (var region in acc)
                foreach (var c in candidates)
                {
                    var words = region.Words.ToBuilder();
                    bool feasible = true;
                    for (int i = 0; i < words.Count && feasible; i++)
                    {
                        if (c.Words[i].IsFull) continue;
                        var w = words[i].Intersect(c.Words[i]);
                        if (!ReferenceEquals(w, words[i]) && w.IsEmptyWithin(budget)) feasible = false;
                        words[i] = w;
                    }
                    if (!feasible) continue;
                    var opaque = region.Opaque.AddRange(c.Opaque);
                    var (value, text, decider) = Precedence(region, c, f);
                    next.Add(new ExplainedRegion(words.ToImmutable(), opaque, value, text, decider));
                }
            acc = next;
        }
        return [.. acc];
    }

    private static (uint?, string?, Decider) Precedence(ExplainedRegion kept, ProgramPath candidate, int filter)
    {
        if (kept.Value is null || candidate.Value is null)
        {
            // A computed return: the kernel still compares, but which one wins depends on the data.
            string text = kept.Value is null
                ? $"{kept.ValueText}, or filter {filter}'s {Describe(candidate)} if lower"
                : $"{Describe(candidate)} (filter {filter}) unless {ActionNames.Format(kept.Value.Value)} is lower";
            return (null, text, new Decider(filter, candidate.Pc));
        }
        if (new SeccompResult(candidate.Value.Value).PrecedenceKey < new SeccompResult(kept.Value.Value).PrecedenceKey)
            return (candidate.Value, null, new Decider(filter, candidate.Pc));
        // Nobody decided yet (all ALLOW so far): the newest filter's ALLOW is the one that decided.
        return kept.Decider.Filter < 0 ? (kept.Value, null, new Decider(filter, candidate.Pc)) : (kept.Value, null, kept.Decider);
    }

    private static string Describe(ProgramPath p) =>
        p.Value is { } v ? ActionNames.Format(v) : "A = " + p.ValueExpression!.Describe(i => WordName(i, Architecture.X86_64.AuditArch));

    // The numbers outside the table, cut where any path's range or excluded value on nr starts or ends, merged where the
    // outcome is the same. Mask tests on nr are not cut along (a test of bit 0 would make billions of ranges): they stay
    // in the regions' nr constraint, exactly.
    private static ImmutableArray<NumberRange> OtherNumbers(Architecture abi, ImmutableArray<ImmutableArray<ProgramPath>> paths, AnalysisBudget budget)
    {
        var cuts = new SortedSet<ulong>();
        foreach (var d in NumberDomain(abi)) { cuts.Add(d.First); cuts.Add((ulong)d.Last + 1); }
        var table = new HashSet<uint>();
        foreach (var e in abi.Syscalls.All)
        {
            uint n = unchecked((uint)e.Number);
            table.Add(n); cuts.Add(n); cuts.Add((ulong)n + 1);
        }
        foreach (var ps in paths)
            foreach (var p in ps)
            {
                var w = p.Words[0];
                cuts.Add(w.Low); cuts.Add((ulong)w.High + 1);
                foreach (var e in w.Exclusions)
                {
                    if (e.IsRange) { cuts.Add(e.A); cuts.Add((ulong)e.B + 1); }
                    else if (e.A == uint.MaxValue) { cuts.Add(e.B); cuts.Add((ulong)e.B + 1); }
                }
            }
        var result = new List<NumberRange>();
        var sweep = new PathSweep(paths, abi.AuditArch, budget);
        var keys = new List<string>();
        var list = cuts.ToList();
        for (int i = 0; i + 1 < list.Count; i++)
        {
            ulong lo64 = list[i], hi64 = list[i + 1] - 1;
            if (lo64 > uint.MaxValue) break;
            uint lo = (uint)lo64, hi = (uint)hi64;
            if (!InDomain(abi, lo) || table.Contains(lo)) continue;
            var range = lo == hi ? WordSet.Single(lo) : WordSet.Full.And(WordPredicate.Between(lo, hi));
            var regions = Combine(sweep.Meeting(lo, hi), p => Narrow(p, 0, range), abi.AuditArch, range, budget);
            budget.Spend(Weight(regions));
            string key = OutcomeKey(regions, includeDecider: true) + "#" + string.Join(",", regions.Select(r => MaskPart(r.Words[0])));
            if (result.Count > 0 && keys[^1] == key && result[^1].Last + 1 == lo)
            {
                uint first = result[^1].First;
                result[^1] = new NumberRange(first, hi, [.. regions.Select(r => r with { Words = r.Words.SetItem(0, WithRange(r.Words[0], first, hi)) })]);
            }
            else { result.Add(new NumberRange(lo, hi, regions)); keys.Add(key); }
            if (result.Count > MaxRanges)
                throw new AnalysisLimitException($"{abi.Name}: the numbers outside the syscall table fall into more than {MaxRanges} ranges; explain gives up rather than guess");
        }
        return [.. result];
    }

    // The mask constraints of an nr set (what a range does not say).
    private static string MaskPart(WordSet w) =>
        (w.FixedMask == uint.MaxValue ? "" : $"{w.FixedMask:x}/{w.FixedValue:x}") + string.Concat(w.Exclusions.Where(e => !e.IsRange && e.A != uint.MaxValue).Select(e => $"!{e.A:x}/{e.B:x}"));

    private static WordSet WithRange(WordSet w, uint first, uint last)
    {
        var r = WordSet.Full.And(WordPredicate.Between(first, last));
        if (w.FixedMask != uint.MaxValue) r = r.And(WordPredicate.MaskEquals(w.FixedMask, w.FixedValue));
        foreach (var e in w.Exclusions.Where(e => !e.IsRange && e.A != uint.MaxValue)) r = r.And(new WordPredicate(PredicateKind.Masked, e.A, e.B, true));
        return r;
    }

    /// <summary>
    /// A key equal for two region lists exactly when they decide the same way on the same argument and instruction-pointer
    /// constraints (nr and arch ignored): syscalls with equal keys are grouped.
    /// </summary>
    public static string OutcomeKey(IEnumerable<ExplainedRegion> regions, bool includeDecider = false)
    {
        var parts = regions.Select(r =>
        {
            var sb = new StringBuilder();
            for (int i = 2; i < r.Words.Length; i++) if (!r.Words[i].IsFull) sb.Append(i).Append(':').Append(r.Words[i]).Append(';');
            foreach (var o in r.Opaque) sb.Append(o.Describe(x => x.ToString(CultureInfo.InvariantCulture))).Append(';');
            sb.Append("=>").Append(r.Value is { } v ? v.ToString("x", CultureInfo.InvariantCulture) : r.ValueText);
            if (includeDecider) sb.Append('@').Append(r.Decider.Filter).Append(':').Append(r.Decider.Pc);
            return sb.ToString();
        }).Order(StringComparer.Ordinal);
        return string.Join("|", parts);
    }
}
