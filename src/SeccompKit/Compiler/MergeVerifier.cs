using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Compiler;

/// <summary>How <see cref="MergeVerifier"/> checks.</summary>
public sealed record MergeVerifyOptions
{
    /// <summary>How many mismatches to keep as examples (all are counted). Default 10.</summary>
    public int MaxExamples { get; init; } = 10;

    /// <summary>Also check that the compiled merge returns what <see cref="PolicyEvaluator"/> says the merged policy means (a compiler check). Default off.</summary>
    public bool CrossCheckEvaluator { get; init; }
}

/// <summary>One input on which the merge does not mean the union of its inputs.</summary>
/// <param name="Input">The call.</param>
/// <param name="Abi">The ABI the merged policy reads it as (null for an ABI it does not cover).</param>
/// <param name="Syscall">The syscall name on that ABI, if the number has one.</param>
/// <param name="Merged">What the compiled merge returned.</param>
/// <param name="Inputs">What each compiled input returned, or null where that input does not decide the call (ABI not covered, above its ENOSYS cutoff).</param>
/// <param name="Problem">What is wrong, in words.</param>
public sealed record MergeMismatch(SeccompData Input, Architecture? Abi, string? Syscall, uint Merged, ImmutableArray<uint?> Inputs, string Problem)
{
    /// <summary>
    /// <c>x86_64 openat (nr 257) args [0x0, 0x5, ...]: merge ALLOW; a.json ERRNO(EPERM), b.json -: the merge allows it but no
    /// input that decides it does</c>, with <paramref name="inputNames"/> (default <c>input 1</c>, <c>input 2</c>...); <c>-</c> marks an
    /// input that does not decide the call.
    /// </summary>
    public string Describe(IReadOnlyList<string>? inputNames)
    {
        string Name(int i) => inputNames is not null && i < inputNames.Count ? inputNames[i] : $"input {i + 1}";
        return $"{Abi?.Name ?? $"arch 0x{Input.Arch:x8}"} {Syscall ?? "nr"} (nr {Input.Nr}) args [{string.Join(", ", Input.Args.Select(a => $"0x{a:x}"))}]: " +
               $"merge {ActionNames.Format(Merged)}; {string.Join(", ", Inputs.Select((v, i) => $"{Name(i)} {(v is uint x ? ActionNames.Format(x) : "-")}"))}: {Problem}";
    }

    /// <summary>The mismatch with the inputs named <c>input 1</c>, <c>input 2</c>...; see <see cref="Describe"/>.</summary>
    public override string ToString() => Describe(null);
}

/// <summary>The verdict of <see cref="MergeVerifier.Verify(IReadOnlyList{SeccompPolicy}, SeccompPolicy, MergeVerifyOptions?)"/>.</summary>
public sealed class MergeVerification
{
    internal MergeVerification(long inputsChecked, long mismatches, ImmutableArray<MergeMismatch> examples, int architectures)
    {
        InputsChecked = inputsChecked;
        Mismatches = mismatches;
        Examples = examples;
        Architectures = architectures;
    }

    /// <summary>How many <see cref="SeccompData"/> inputs every compiled filter ran on.</summary>
    public long InputsChecked { get; }

    /// <summary>On how many of them the merge did not mean the union.</summary>
    public long Mismatches { get; }

    /// <summary>The first mismatches (at most <see cref="MergeVerifyOptions.MaxExamples"/>).</summary>
    public ImmutableArray<MergeMismatch> Examples { get; }

    /// <summary>How many ABIs were probed (the merge's, plus ones no input covers).</summary>
    public int Architectures { get; }

    /// <summary>True when there was no mismatch.</summary>
    public bool Verified => Mismatches == 0;
}

/// <summary>
/// Checks by emulation that a merged policy means the union of its inputs (<see cref="PolicyMerger"/>): every
/// input and the merge are compiled with <see cref="PolicyCompiler"/> and run in the <see cref="Interpreter"/>, the
/// oracle, on every syscall number of every ABI the merge covers (plus unknown numbers, x32-bit numbers and ABIs no
/// input covers), and, for syscalls with argument conditions, on argument vectors built from the boundary values of
/// every input's conditions. On each call it checks:
/// <list type="bullet">
/// <item>the merge lets the call run (ALLOW/LOG) exactly when an input that decides it (covers its ABI, number not
/// above its ENOSYS cutoff) lets it run;</item>
/// <item>otherwise the deciding inputs all return one value and the merge returns it; with no deciding input, the
/// merge returns ERRNO(ENOSYS) if an input covers the ABI (they all returned it), else what every input returns
/// (the common bad-architecture action).</item>
/// </list>
/// </summary>
public static class MergeVerifier
{
    private static readonly uint Enosys = PolicyEvaluator.Enosys.ReturnValue;

    /// <summary>Verifies a merge against its (restated) inputs.</summary>
    public static MergeVerification Verify(MergeResult merge, MergeVerifyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(merge);
        return Verify(merge.Inputs, merge.Policy, options);
    }

    /// <summary>Verifies that <paramref name="merged"/> means the union of <paramref name="inputs"/>.</summary>
    /// <exception cref="CompileException">A policy does not compile (e.g. it exceeds the kernel's instruction limit).</exception>
    public static MergeVerification Verify(IReadOnlyList<SeccompPolicy> inputs, SeccompPolicy merged, MergeVerifyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(merged);
        options ??= new MergeVerifyOptions();
        var programs = inputs.Select(p => PolicyCompiler.Compile(p).Program).ToArray();
        var mergedProgram = PolicyCompiler.Compile(merged).Program;
        var examples = ImmutableArray.CreateBuilder<MergeMismatch>();
        long count = 0, mismatches = 0;
        var values = new uint?[inputs.Count];
        var abis = ProbedAbis(inputs, merged);

        foreach (var d in Vectors(inputs, merged, abis))
        {
            count++;
            uint m = Interpreter.Evaluate(mergedProgram, d);
            bool anyRuns = false, anyCovers = false;
            uint? refusal = null;
            bool refusalsAgree = true;
            for (int i = 0; i < inputs.Count; i++)
            {
                uint v = Interpreter.Evaluate(programs[i], d);
                var abi = inputs[i].ResolveAbi(d.Arch, d.Nr);
                anyCovers |= abi is not null;
                bool decides = abi is not null && !inputs[i].IsAboveEnosysCutoff(abi, d.Nr);
                values[i] = decides ? v : null;
                if (!decides) continue;
                if (Runs(v)) anyRuns = true;
                else if (refusal is null) refusal = v;
                else if (refusal != v) refusalsAgree = false;
            }

            string? problem = null;
            if (Runs(m) != anyRuns)
                problem = anyRuns ? "an input allows it but the merge does not" : "the merge allows it but no input that decides it does";
            else if (!anyRuns)
            {
                uint expected;
                if (refusal is uint r)
                {
                    if (!refusalsAgree) problem = "the inputs that decide it disagree, so the merge should have been refused";
                    expected = r;
                }
                else if (anyCovers) expected = Enosys;
                else
                {
                    expected = Interpreter.Evaluate(programs[0], d);
                    for (int i = 1; i < inputs.Count && problem is null; i++)
                        if (Interpreter.Evaluate(programs[i], d) != expected) problem = "the inputs' bad-architecture actions disagree, so the merge should have been refused";
                }
                if (problem is null && m != expected)
                    problem = $"the merge returns {ActionNames.Format(m)} where the inputs return {ActionNames.Format(expected)}";
            }
            if (problem is null && options.CrossCheckEvaluator && PolicyEvaluator.EvaluateValue(merged, d) is var meant && meant != m)
                problem = $"the compiled merge returns {ActionNames.Format(m)} but the merged policy means {ActionNames.Format(meant)}";

            if (problem is null) continue;
            mismatches++;
            if (examples.Count < options.MaxExamples)
            {
                var abi = merged.ResolveAbi(d.Arch, d.Nr);
                string? name = null;
                abi?.Syscalls.TryGetName(d.Nr, out name);
                examples.Add(new MergeMismatch(d, abi, name, m, [.. values], problem));
            }
        }
        return new MergeVerification(count, mismatches, examples.ToImmutable(), abis.Count);
    }

    private static bool Runs(uint value) => new SeccompResult(value) is { IsKnownAction: true, Action: SeccompAction.Allow or SeccompAction.Log };

    /// <summary>Every ABI the merge covers, then up to two ABIs with an AUDIT_ARCH value none of them has.</summary>
    private static List<Architecture> ProbedAbis(IReadOnlyList<SeccompPolicy> inputs, SeccompPolicy merged)
    {
        var covered = merged.EffectiveArchitectures.Concat(inputs.SelectMany(p => p.EffectiveArchitectures)).Distinct().ToList();
        var audits = covered.Select(a => a.AuditArch).ToHashSet();
        var result = Architecture.All.Where(covered.Contains).ToList();
        result.AddRange(Architecture.All.Where(a => !audits.Contains(a.AuditArch)).DistinctBy(a => a.AuditArch).Take(2));
        return result;
    }

    /// <summary>The calls the verifier runs: see <see cref="MergeVerifier"/>. Each is produced once.</summary>
    internal static IEnumerable<SeccompData> Vectors(IReadOnlyList<SeccompPolicy> inputs, SeccompPolicy merged) =>
        Vectors(inputs, merged, ProbedAbis(inputs, merged));

    private static IEnumerable<SeccompData> Vectors(IReadOnlyList<SeccompPolicy> inputs, SeccompPolicy merged, List<Architecture> abis)
    {
        var seen = new HashSet<SeccompData>();
        var all = inputs.Append(merged).ToList();
        // Every rule of every input and of the merge, by syscall: their conditions give the interesting arguments.
        var rulesByName = all.SelectMany(p => p.Rules).Where(r => !r.IsUnconditional)
            .GroupBy(r => r.Syscall, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Distinct().ToList(), StringComparer.Ordinal);
        var argumentVectors = new Dictionary<string, List<ulong[]>>(StringComparer.Ordinal);

        foreach (var abi in abis)
        {
            // An ABI nobody covers gets the bad-architecture action whatever the number: a few numbers do.
            bool covered = all.Any(p => p.EffectiveArchitectures.Contains(abi));
            var numbers = new SortedSet<int>(covered ? abi.Syscalls.All.Select(e => e.Number) : abi.Syscalls.All.Take(3).Select(e => e.Number))
            {
                -1, abi.Syscalls.MaxNumber + 1, abi.Syscalls.MaxNumber + 2, abi.SyscallNumberOffset + abi.Syscalls.BitmapSize,
                int.MaxValue, Architecture.X32SyscallBit + 1, Architecture.X32SyscallBit + 0x200,
            };
            foreach (var p in all)
                foreach (var (a, cutoff) in p.EnosysAbove)
                    if (a.AuditArch == abi.AuditArch) { numbers.Add(unchecked((int)cutoff)); numbers.Add(unchecked((int)cutoff + 1)); }
            foreach (int nr in numbers)
            {
                List<ulong[]>? vectors = null;
                if (abi.Syscalls.TryGetName(nr, out var name) && rulesByName.TryGetValue(name, out var rules) &&
                    !argumentVectors.TryGetValue(name, out vectors))
                    argumentVectors[name] = vectors = ArgumentVectors(rules);
                foreach (var args in vectors ?? [Zero])
                {
                    var d = new SeccompData(nr, abi.AuditArch, 0, args);
                    if (seen.Add(d)) yield return d;
                }
            }
        }
        // Two AUDIT_ARCH values that are no ABI at all.
        foreach (uint arch in new uint[] { 0, 0xdeadbeef })
            foreach (int nr in new[] { 0, 1, 59 })
            {
                var d = new SeccompData(nr, arch);
                if (seen.Add(d)) yield return d;
            }
    }

    private static readonly ulong[] Zero = new ulong[6];

    /// <summary>
    /// Arguments that probe every condition's boundaries: per argument the values of every condition on it (value, ±1,
    /// mask, value with the bits outside the mask set, value with one mask bit flipped, each with the upper 32 bits
    /// cleared, set, or 1) and 0 and all-ones; these are tried one argument at a time on top of all-zero arguments and
    /// of arguments that satisfy each rule, and in every combination when there are few.
    /// </summary>
    private static List<ulong[]> ArgumentVectors(List<SyscallRule> rules)
    {
        var perArg = new SortedSet<ulong>?[6];
        foreach (var c in rules.SelectMany(r => r.Conditions))
        {
            var set = perArg[c.Index] ??= [0, ulong.MaxValue, 0xffff_ffff, 0xffff_ffff_0000_0000];
            var seeds = new List<ulong> { c.Value, c.Value + 1, c.Value - 1 };
            if (c.Operator == ArgOperator.MaskedEqual)
            {
                seeds.Add(c.Mask);
                seeds.Add(c.Value | ~c.Mask);
                seeds.Add(c.Value ^ (c.Mask & (~c.Mask + 1))); // the lowest mask bit flipped
                seeds.Add(c.Value ^ c.Mask);
            }
            foreach (var s in seeds)
            {
                set.Add(s);
                set.Add(s & 0xffff_ffff);
                set.Add(s | 0xffff_ffff_0000_0000);
                set.Add((s & 0xffff_ffff) | 0x1_0000_0000);
            }
        }

        var bases = new List<ulong[]> { Zero };
        foreach (var r in rules)
        {
            var args = new ulong[6];
            foreach (var c in r.Conditions) args[c.Index] = Satisfying(c);
            bases.Add(args);
        }

        var result = new List<ulong[]>();
        foreach (var b in bases)
        {
            result.Add(b);
            for (int i = 0; i < 6; i++)
                foreach (var v in perArg[i] ?? [])
                {
                    var args = (ulong[])b.Clone();
                    args[i] = v;
                    result.Add(args);
                }
        }

        // Every combination of the per-argument values, when that stays small.
        var used = Enumerable.Range(0, 6).Where(i => perArg[i] is not null).ToList();
        long product = used.Aggregate(1L, (p, i) => p * perArg[i]!.Count);
        if (used.Count > 1 && product <= 4096)
        {
            IEnumerable<ulong[]> combos = [new ulong[6]];
            foreach (int i in used)
                combos = combos.SelectMany(a => perArg[i]!.Select(v => { var n = (ulong[])a.Clone(); n[i] = v; return n; })).ToList();
            result.AddRange(combos);
        }
        return result;
    }

    /// <summary>An argument value for which the condition holds (at 64 bits), when the condition allows one.</summary>
    private static ulong Satisfying(ArgCondition c) => c.Operator switch
    {
        ArgOperator.Equal or ArgOperator.LessOrEqual or ArgOperator.GreaterOrEqual => c.Value,
        ArgOperator.NotEqual or ArgOperator.Greater => c.Value + 1,
        ArgOperator.Less => c.Value == 0 ? 0 : c.Value - 1,
        ArgOperator.MaskedEqual => c.Value & c.Mask,
        _ => 0,
    };
}
