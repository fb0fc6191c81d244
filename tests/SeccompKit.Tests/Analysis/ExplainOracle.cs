using SeccompKit.Analysis;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Tests.Analysis;

/// <summary>
/// The proofs of explain, with the interpreter (<see cref="FilterStack.Evaluate"/>) as the oracle: every region's sample
/// points get the region's action, and the recovered policy, compiled, acts as the original on every syscall number of
/// every ABI at every argument boundary the original compares (each constant ±1, in either half).
/// </summary>
internal static class ExplainOracle
{
    /// <summary>An arch value no ABI uses.</summary>
    public const uint UnknownArch = 0x1234_5678;

    /// <summary>Checks each region at its sample points; returns the number of points checked.</summary>
    public static long CheckRegions(FilterStack stack, FilterExplanation e)
    {
        long n = 0;
        foreach (var abi in e.Abis)
        {
            foreach (var s in abi.Syscalls) n += CheckRegionList(stack, s.Regions, $"{abi.Abi.Name} {s.Name} ({s.Number})");
            foreach (var r in abi.OtherNumbers) n += CheckRegionList(stack, r.Regions, $"{abi.Abi.Name} nr {r.First}..{r.Last}");
        }
        n += CheckRegionList(stack, e.UnknownArch, "unknown arch");
        return n;
    }

    private static long CheckRegionList(FilterStack stack, IReadOnlyList<ExplainedRegion> regions, string what)
    {
        long n = 0;
        foreach (var region in regions)
        {
            if (region.Value is null) continue;
            foreach (var d in PolicyRecovery.SamplePoints(region, 0))
            {
                var words = Words(d);
                if (!region.Contains(words)) continue;
                for (int j = 0; j < regions.Count; j++)
                    if (!ReferenceEquals(regions[j], region) && regions[j].Contains(words))
                        Assert.Fail($"{what}: regions overlap at {d}");
                uint got = stack.Evaluate(d);
                if (got != region.Value.Value)
                    Assert.Fail($"{what}: region says {ActionNames.Format(region.Value.Value)} (pc {region.Decider.Pc}) but the filter returns {ActionNames.Format(got)} at {d}\nregion: {string.Join(" && ", Enumerable.Range(0, 16).Where(i => !region.Words[i].IsFull).Select(i => region.Words[i].Describe(FilterExplainer.WordName(i, d.Arch))))}");
                n++;
            }
        }
        return n;
    }

    /// <summary>The 16 words of <paramref name="d"/> as LD W ABS reads them.</summary>
    public static uint[] Words(SeccompData d)
    {
        var w = new uint[16];
        for (int i = 0; i < 16; i++) w[i] = d.LoadWord((uint)(4 * i));
        return w;
    }

    /// <summary>Every constant the programs compare or compute with, ±1.</summary>
    public static List<uint> Boundaries(FilterStack stack, int max = 96)
    {
        var set = new SortedSet<uint> { 0, 1, uint.MaxValue, 0x8000_0000 };
        foreach (var f in stack.Filters)
            foreach (var i in f.Instructions)
                if ((BPF_CLASS(i.Code) == BPF_JMP && BPF_OP(i.Code) != BPF_JA) || BPF_CLASS(i.Code) == BPF_ALU || (BPF_CLASS(i.Code) is BPF_LD or BPF_LDX && BPF_MODE(i.Code) == BPF_IMM))
                {
                    set.Add(unchecked(i.K - 1)); set.Add(i.K); set.Add(unchecked(i.K + 1));
                    if (BPF_OP(i.Code) == BPF_JSET || BPF_OP(i.Code) == BPF_AND) set.Add(~i.K);
                }
        var list = set.ToList();
        if (list.Count <= max) return list;
        var rng = new Random(list.Count);
        return [.. list.OrderBy(_ => rng.Next()).Take(max)];
    }

    /// <summary>The argument vectors tried for a syscall whose outcome depends on its arguments.</summary>
    public static IEnumerable<ulong[]> ArgVectors(List<uint> boundaries)
    {
        yield return new ulong[6];
        for (int i = 0; i < 6; i++)
            foreach (var v in boundaries)
                foreach (var a in new[] { (ulong)v, v | 0xffff_ffff_0000_0000UL, (ulong)v << 32, ((ulong)v << 32) | v })
                {
                    var args = new ulong[6];
                    args[i] = a;
                    yield return args;
                }
    }

    // Boundaries of several arguments at once, and halves of one argument from different constants (a rule on two
    // arguments, or a low-half bound with a high-half mask, differs only where both hold): 256 fixed random draws. On a
    // 32-bit ABI the high halves stay 0, as the kernel zero-extends its arguments (SeccompData for compat calls).
    private static IEnumerable<ulong[]> MultiArgDraws(List<uint> boundaries, bool is64Bit)
    {
        var rng = new Random(boundaries.Count);
        for (int n = 0; n < 256; n++)
        {
            var args = new ulong[6];
            for (int i = 0; i < 6; i++)
                if (rng.Next(3) != 0)
                    args[i] = (is64Bit ? ((ulong)boundaries[rng.Next(boundaries.Count)] << 32) * (ulong)rng.Next(2) : 0) | boundaries[rng.Next(boundaries.Count)];
            yield return args;
        }
    }

    /// <summary>
    /// The original and <paramref name="other"/> give the same value on every syscall number of every ABI (and at each
    /// range of other numbers' ends), with all-zero arguments, and at every boundary for syscalls that depend on arguments.
    /// Returns the number of inputs compared.
    /// </summary>
    public static long CheckSameBehaviour(FilterStack original, FilterExplanation e, FilterStack other, string what)
    {
        var boundaries = Boundaries(original);
        long n = 0;
        foreach (var abi in e.Abis)
        {
            var numbers = abi.Syscalls.Select(s => (Nr: (uint)s.Number, Conditional: s.Regions.Length > 1 || !s.Regions[0].IsUnconditional))
                .Concat(abi.OtherNumbers.SelectMany(r => new[] { (r.First, r.Regions.Length > 1), (r.Last, r.Regions.Length > 1) }));
            foreach (var (nr, conditional) in numbers)
            {
                var vectors = conditional ? ArgVectors(boundaries).Concat(MultiArgDraws(boundaries, abi.Abi.Is64Bit)) : [new ulong[6], [1, 2, 3, 4, 5, 6]];
                foreach (var args in vectors)
                {
                    var d = new SeccompData(unchecked((int)nr), abi.Abi.AuditArch, 0, args);
                    uint want = original.Evaluate(d), got = other.Evaluate(d);
                    if (want != got)
                        Assert.Fail($"{what}: {abi.Abi.Name} nr {nr}: original {ActionNames.Format(want)}, recovered {ActionNames.Format(got)} at {d}");
                    n++;
                }
            }
        }
        foreach (var nr in new uint[] { 0, 1, 59, 0x4000_0000, uint.MaxValue })
        {
            var d = new SeccompData(unchecked((int)nr), UnknownArch);
            Assert.Equal(original.Evaluate(d), other.Evaluate(d));
            n++;
        }
        return n;
    }

    /// <summary>
    /// Explains, checks the regions, recovers the policy and, when it is exact, checks it compiled (optimised and not)
    /// against the original. Returns whether the recovery was exact (problems are the caller's to assert on).
    /// </summary>
    public static (bool Exact, long Points, RecoveredPolicy Recovered) Prove(FilterStack stack, string what)
    {
        var e = FilterExplainer.Explain(stack);
        long n = CheckRegions(stack, e);
        var recovered = PolicyRecovery.Recover(e);
        if (!recovered.IsExact) return (false, n, recovered);
        foreach (var optimize in new[] { true, false })
        {
            var compiled = PolicyCompiler.Compile(recovered.Policy!, new CompileOptions { Optimize = optimize });
            n += CheckSameBehaviour(stack, e, new FilterStack([compiled.Program]), $"{what} (recovered, {(optimize ? "optimised" : "unoptimised")})");
        }
        return (true, n, recovered);
    }

    /// <summary>Any architecture's AUDIT value, by name, for tables.</summary>
    public static uint Audit(string name) => Architecture.Get(name).AuditArch;
}
