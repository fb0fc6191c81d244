using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Compiler.Lowering;

/// <summary>A run of syscall numbers <c>[Start, End]</c> with one outcome, and how many known syscalls it holds.</summary>
internal sealed record NumberRange(uint Start, uint End, Outcome Outcome, int KnownSyscalls);

/// <summary>
/// Splits the 32-bit number space of one AUDIT_ARCH value into maximal runs of equal outcome. Known
/// syscall numbers, ENOSYS cutoffs, the x32 bit and nr -1 are the only places the outcome can change,
/// so only those points are examined; adjacent runs with the same outcome merge.
/// </summary>
internal static class SyscallPartition
{
    public static List<NumberRange> Build(SeccompPolicy policy, uint auditArch, IReadOnlyList<Architecture> abis)
    {
        var points = new SortedSet<uint> { 0 };
        var known = new HashSet<uint>();
        foreach (var abi in abis)
        {
            foreach (var e in abi.Syscalls.All)
            {
                uint nr = unchecked((uint)e.Number);
                known.Add(nr);
                points.Add(nr);
                if (nr != uint.MaxValue) points.Add(nr + 1);
            }
            if (policy.EnosysAbove.TryGetValue(abi, out var cutoff) && cutoff != uint.MaxValue) points.Add(cutoff + 1);
            if (abi == Architecture.S390 || abi == Architecture.S390X) points.Add(1);
        }
        if (abis.Any(a => a == Architecture.X86_64 || a == Architecture.X32))
        {
            points.Add((uint)Architecture.X32SyscallBit);
            points.Add(uint.MaxValue);
        }

        var list = points.ToList();
        var ranges = new List<NumberRange>();
        var cache = new Dictionary<(Architecture, string), Outcome>();
        for (int i = 0; i < list.Count; i++)
        {
            uint start = list[i];
            uint end = i + 1 < list.Count ? list[i + 1] - 1 : uint.MaxValue;
            var outcome = Outcomes.At(policy, auditArch, start, cache);
            int count = known.Contains(start) ? 1 : 0;
            if (ranges.Count > 0 && ranges[^1].Outcome.Equals(outcome))
                ranges[^1] = ranges[^1] with { End = end, KnownSyscalls = ranges[^1].KnownSyscalls + count };
            else
                ranges.Add(new NumberRange(start, end, outcome, count));
        }
        return ranges;
    }
}
