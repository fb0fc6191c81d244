using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Compiler;

/// <summary>Random policies and the inputs that probe them (each constant ±1, both 32-bit halves, every ABI).</summary>
internal static class PolicyGenerators
{
    public static readonly Architecture[][] ArchSets =
    [
        [Architecture.X86_64],
        [Architecture.X86_64, Architecture.X86, Architecture.X32],
        [Architecture.X86],
        [Architecture.Aarch64],
        [Architecture.X86_64, Architecture.Aarch64],
        [Architecture.X32],
        [Architecture.X32, Architecture.X86],
        [Architecture.S390X, Architecture.S390],
        [Architecture.Mips64N32, Architecture.Mipsel],
    ];

    public static readonly ulong[] Interesting =
    [
        0, 1, 2, 3, 0xff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x1_0000_0000, 0x1_0000_0001,
        0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0xffff_ffff_0000_0000, 0xffff_ffff_ffff_fffe, ulong.MaxValue,
    ];

    public static readonly Gen<ulong> Value = Gen.Frequency((3, Gen.Int[0, Interesting.Length - 1].Select(i => Interesting[i])), (1, Gen.ULong), (1, Gen.ULong[0, 64]));

    public static readonly Gen<PolicyAction> Action = Gen.Frequency(
        (4, Gen.Const(PolicyAction.Allow)),
        (2, Gen.Int[0, 4095].Select(PolicyAction.Errno)),
        (1, Gen.Const(PolicyAction.KillProcess)),
        (1, Gen.Const(PolicyAction.KillThread)),
        (1, Gen.Int[0, 65535].Select(d => PolicyAction.Trap(d))),
        (1, Gen.Int[0, 65535].Select(d => PolicyAction.Trace(d))),
        (1, Gen.Const(PolicyAction.Log)),
        (1, Gen.Const(PolicyAction.UserNotif)));

    public static Gen<ArgCondition> Condition(int maxIndex) =>
        Gen.Select(Gen.Int[0, maxIndex], Gen.Enum<ArgOperator>(), Value, Value, Gen.Bool)
            .Select(t =>
            {
                var (index, op, v, m, narrow) = t;
                var width = narrow ? ArgumentWidth.Bits32 : ArgumentWidth.Bits64;
                if (narrow) { v &= uint.MaxValue; m &= uint.MaxValue; }
                if (op == ArgOperator.MaskedEqual && t.Item4 % 3 == 0) v &= m; // mostly satisfiable masks
                return new ArgCondition(index, op, v, op == ArgOperator.MaskedEqual ? m : 0, width);
            });

    public static Gen<SyscallRule> Rule(Architecture[] arches) =>
        Gen.Select(Gen.Int[0, arches.Length - 1], Gen.Int[0, 10000], Action, Gen.Int[0, 3], Gen.Int[0, 1000])
            .SelectMany(t =>
            {
                var table = arches[t.Item1].Syscalls.All;
                // Favour a small pool of names so rules for one syscall collide and overlap.
                var name = table[(t.Item5 < 700 ? t.Item2 % Math.Min(12, table.Length) : t.Item2 % table.Length)].Name;
                int maxIndex = SyscallSignatures.TryGet(name, out var sig) && arches.Contains(Architecture.X86_64) ? sig.Arguments.Length - 1 : 5;
                if (maxIndex < 0) return Gen.Const(new SyscallRule(name, t.Item3));
                return Condition(maxIndex).Array[0, t.Item4].Select(cs => new SyscallRule(name, t.Item3, cs));
            });

    public static readonly Gen<SeccompPolicy> Policies =
        Gen.Int[0, ArchSets.Length - 1].SelectMany(ai =>
        {
            var arches = ArchSets[ai];
            return Gen.Select(Action, Action, Rule(arches).Array[0, 24], Gen.Int[0, 5], Gen.UInt[0, 600])
                .Select(t =>
                {
                    var (def, bad, rules, enosys, cutoff) = t;
                    var enosysAbove = enosys == 0 ? new Dictionary<Architecture, uint> { [arches[0]] = arches[0] == Architecture.X32 ? cutoff | 0x4000_0000u : cutoff } : null;
                    try { return new SeccompPolicy(def, rules, arches, bad, enosysAbove: enosysAbove); }
                    catch (PolicyException) { return new SeccompPolicy(def, rules.DistinctBy(r => r.Syscall), arches, bad, enosysAbove: enosysAbove); }
                });
        });

    /// <summary>Inputs that reach every decision of <paramref name="policy"/>.</summary>
    public static List<SeccompData> Vectors(SeccompPolicy policy, Random random)
    {
        var values = new HashSet<ulong> { 0, ulong.MaxValue, 0xffffffff, 0x1_0000_0000 };
        foreach (var c in policy.Rules.SelectMany(r => r.Conditions))
            foreach (var v in new[] { c.Value, c.Mask, c.Value | c.Mask })
            {
                values.Add(v); values.Add(v + 1); values.Add(v - 1);
                values.Add((v << 32) | (v >> 32));             // halves swapped
                values.Add(v & 0xffffffff); values.Add(v | 0xffffffff_00000000);
            }
        var valueList = values.ToArray();
        var result = new List<SeccompData>();
        var audits = policy.EffectiveArchitectures.Select(a => a.AuditArch).Append(Architecture.Aarch64.AuditArch).Append(Architecture.X86.AuditArch).Append(0x12345678u).Distinct().ToArray();
        foreach (var abi in policy.EffectiveArchitectures.Concat([Architecture.X86_64, Architecture.X86]).Distinct())
        {
            var numbers = new HashSet<int> { -1, 0, 1, abi.Syscalls.MaxNumber + 1, 0x3fffffff, 0x40000000, 0x40000000 | 1, int.MaxValue, int.MinValue };
            foreach (var n in policy.SyscallNames) if (abi.Syscalls.TryGetNumber(n, out var nr)) numbers.Add(nr);
            foreach (var (_, cutoff) in policy.EnosysAbove) { numbers.Add(unchecked((int)cutoff)); numbers.Add(unchecked((int)cutoff + 1)); }
            for (int i = 0; i < 8; i++) numbers.Add(abi.Syscalls.All[random.Next(abi.Syscalls.All.Length)].Number);
            foreach (var nr in numbers)
                for (int k = 0; k < 6; k++)
                {
                    var args = new ulong[6];
                    for (int a = 0; a < 6; a++) args[a] = valueList[random.Next(valueList.Length)];
                    result.Add(new SeccompData(nr, k == 5 ? audits[random.Next(audits.Length)] : abi.AuditArch, 0, args));
                }
        }
        return result;
    }
}
