using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Compiler.Lowering;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using PolicyGenerator = SeccompKit.TestKit.PolicyGenerator;

namespace SeccompKit.Tests.Compiler;

/// <summary>
/// The argument checks of one syscall: how long their worst path is (a table of small policies), and that
/// they mean the policy on random policies built to exercise what the lowering exploits (compare results
/// that decide later compares, sets of values, bit patterns).
/// </summary>
public class ArgumentLoweringSpecs
{
    private static ArgCondition Eq(int index, ulong value) => new(index, ArgOperator.Equal, value);
    private static ArgCondition Ne(int index, ulong value) => new(index, ArgOperator.NotEqual, value);

    private static SyscallRule[] Personality(PolicyAction action) =>
        [.. new ulong[] { 0, 8, 0x20000, 0x20008, 0xffffffff }.Select(v => new SyscallRule("personality", action, [Eq(0, v)]))];

    public static TheoryData<string, string, SyscallRule[], int> Cases() => new()
    {
        // ld hi; jne; ld lo; jset 0xfffdfff7 (the four flag combinations); jeq 0xffffffff; ret (a chain was 9).
        { "Docker's personality values: one bit-pattern test and one compare after the high half", "x86_64", Personality(PolicyAction.Allow), 6 },
        { "on a 32-bit ABI there is no high half", "x86", Personality(PolicyAction.Allow), 4 },
        // ld arg0.hi; jne; ld arg0.lo; jne; ld arg2.hi; jne; ld arg2.lo; jeq; ret: once the first rule fails,
        // arg2 != 9 || arg0 != 16 holds, so the ALLOW rules need no compare (a chain was 17).
        { "podman's socket rules: the failed EINVAL rule decides the ALLOW rules", "x86_64",
            [new("socket", PolicyAction.Errno(22), [Eq(0, 16), Eq(2, 9)]),
             new("socket", PolicyAction.Allow, [Ne(2, 9)]),
             new("socket", PolicyAction.Allow, [Ne(0, 16)])], 9 },
        // ld lo; a binary search over 7 values (jge 9, then a chain of 3, or jge 0xf and chains of 2); ret (a chain was 9).
        { "seven values with different actions: a binary search", "x86",
            [.. Enumerable.Range(0, 7).Select(i => new SyscallRule("ioctl", PolicyAction.Errno(i + 1), [Eq(1, (ulong)i * 3)]))], 6 },
        // ld hi; jgt 0; ld lo; jgt 5; jeq 3; ret: arg0 > 5 failing proves the high half 0 (a chain reloaded and compared it: 9).
        { "a failed range check decides the next equality's high half", "x86_64",
            [new("read", PolicyAction.Errno(1), [new ArgCondition(0, ArgOperator.Greater, 5)]),
             new("read", PolicyAction.Allow, [Eq(0, 3)])], 6 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_worst_path_through_a_syscalls_checks_is_as_short_as_listed(string desc, string abiName, SyscallRule[] rules, int worst)
    {
        var abi = Architecture.Get(abiName);
        var policy = new SeccompPolicy(PolicyAction.KillProcess, rules, [abi]);
        var checks = Assert.IsType<Outcome.Checks>(Outcomes.ForSyscall(policy, abi, rules[0].Syscall));
        var b = new ProgramBuilder();
        ArgumentLowering.EmitChecks(b, checks);
        var program = BpfProgram.Create(b.Build().AsSpan());
        // A holds neither nr nor arch at the start of the block, so every compare counts both ways.
        Assert.True(worst == CompileReport.LongestPath(program, abi.AuditArch, 0), $"{desc}: worst path {CompileReport.LongestPath(program, abi.AuditArch, 0)}, expected {worst}\n" +
            Disassembler.Disassemble(program.Instructions.AsSpan()));
    }

    private static Gen<T> Pick<T>(params T[] items) => Gen.Int[0, items.Length - 1].Select(i => items[i]);

    private static readonly ulong[] Pool = [0, 1, 9, 16, 0xffffffff, 0x1_0000_0000, 0x1_0000_0009, ulong.MaxValue];

    private static readonly Gen<PolicyAction> FewActions = Pick(PolicyAction.Allow, PolicyAction.Errno(1), PolicyAction.Errno(22), PolicyAction.KillProcess);

    /// <summary>Conditions on two arguments with values from a small pool, so the compares of one rule often decide another's.</summary>
    internal static readonly Gen<SeccompPolicy> Overlapping =
        Gen.Select(Pick(Architecture.X86_64, Architecture.X86, Architecture.S390X),
            Gen.Select(FewActions, Gen.Select(Gen.Int[0, 1], Gen.Enum<ArgOperator>(), Gen.Int[0, Pool.Length - 1], Gen.Int[0, Pool.Length - 1], Gen.Bool).Array[1, 3]).Array[1, 7],
            FewActions)
        .Select(t =>
        {
            var (abi, rules, def) = t;
            var built = rules.Select(r => new SyscallRule("socket", r.Item1, r.Item2.Select(c =>
            {
                var (index, op, vi, mi, narrow) = c;
                ulong v = Pool[vi], m = op == ArgOperator.MaskedEqual ? Pool[mi] : 0;
                if (narrow) { v &= uint.MaxValue; m &= uint.MaxValue; }
                return new ArgCondition(index, op, v, m, narrow ? ArgumentWidth.Bits32 : ArgumentWidth.Bits64);
            })));
            // A policy cannot give one set of conditions two actions: the first rule with those conditions stays.
            return new SeccompPolicy(def, built.DistinctBy(r => string.Join(" && ", r.Conditions.Select(c => c.ToString()).Distinct().Order(StringComparer.Ordinal))), [abi]);
        });

    /// <summary>
    /// Runs of <c>arg0 == v</c>: bit-pattern sets (all combinations of 1-3 bits over a base), one value more or
    /// less, or any values; one action or several; then maybe a rule on another argument.
    /// </summary>
    internal static readonly Gen<SeccompPolicy> ValueSets =
        Gen.Select(Pick(Architecture.X86_64, Architecture.X86), PolicyGenerator.Value, Gen.Int[0, 31].Array[1, 3], Gen.Int[0, 3],
                Gen.ULong, Gen.Bool, Gen.Int[0, 2], Gen.ULong.Array[2, 9])
            .Select(t =>
            {
                var (abi, baseValue, bits, mode, extra, oneAction, tail, any) = t;
                ulong free = bits.Aggregate(0UL, (m, bit) => m | 1UL << bit);
                ulong basis = baseValue & ~free;
                var values = new List<ulong>();
                for (ulong sub = free; ; sub = (sub - 1) & free) { values.Add(basis | sub); if (sub == 0) break; }
                if (mode == 1) values.Add((basis & 0xffffffff_00000000) | (uint)extra);
                if (mode == 2 && values.Count > 2) values.RemoveAt((int)(extra % (ulong)values.Count));
                if (mode == 3) values = [.. any.Select(v => (basis & 0xffffffff_00000000) | (v % 4 == 0 ? v % 64 : (uint)v))];
                // A policy cannot give one value two actions; with one action a repeated value is kept (the first decides).
                if (!oneAction) values = [.. values.Distinct()];
                var rules = values.Select((v, i) => new SyscallRule("ioctl", oneAction ? PolicyAction.Allow : PolicyAction.Errno(i % 3 + 1), [Eq(0, v)])).ToList();
                if (tail == 1) rules.Add(new SyscallRule("ioctl", PolicyAction.Errno(7), [Eq(1, values[0])]));
                if (tail == 2) rules.Insert(0, new SyscallRule("ioctl", PolicyAction.KillProcess, [new ArgCondition(0, ArgOperator.Greater, values[^1])]));
                return new SeccompPolicy(PolicyAction.Errno(1), rules, [abi]);
            });

    private static void AssertMeansPolicy(SeccompPolicy policy, IEnumerable<SeccompData> vectors)
    {
        var optimised = PolicyCompiler.Compile(policy).Program;
        var plain = PolicyCompiler.Compile(policy, new CompileOptions { Optimize = false }).Program;
        foreach (var d in vectors)
        {
            uint expected = PolicyEvaluator.EvaluateValue(policy, d);
            foreach (var program in new[] { optimised, plain })
                if (Interpreter.Evaluate(program, d) != expected)
                    Assert.Fail($"mismatch on {d}: policy says {ActionNames.Format(expected)}, filter returns {ActionNames.Format(Interpreter.Evaluate(program, d))}\n" +
                                string.Join("\n", policy.Rules) + "\n" + Disassembler.Disassemble(program.Instructions.AsSpan()));
        }
    }

    [Fact]
    public void Checks_whose_compares_decide_each_other_mean_the_policy()
    {
        Overlapping.Sample(policy => AssertMeansPolicy(policy, PolicyGenerator.Vectors(policy, new Random(policy.Rules.Length))), iter: 1500, threads: 1);
    }

    [Fact]
    public void Sets_of_values_and_bit_patterns_mean_the_policy()
    {
        ValueSets.Sample(policy =>
        {
            var abi = policy.EffectiveArchitectures[0];
            int nr = abi.Syscalls.TryGetNumber("ioctl", out var n) ? n : throw new InvalidOperationException("ioctl has no number");
            var values = policy.Rules.SelectMany(r => r.Conditions).Select(c => c.Value).Distinct().ToList();
            var inputs = new List<SeccompData>();
            foreach (var v in values)
            {
                // The value, each one-bit neighbour, the other high half, and its neighbours by one.
                foreach (var arg in Enumerable.Range(0, 32).Select(bit => v ^ (1UL << bit)).Concat([v, v + 1, v - 1, v ^ 0x1_0000_0000, v & 0xffffffff]))
                    inputs.Add(new SeccompData(nr, abi.AuditArch, 0, [arg, v, 0, 0, 0, 0]));
            }
            AssertMeansPolicy(policy, inputs.Concat(PolicyGenerator.Vectors(policy, new Random(values.Count))));
        }, iter: 1500, threads: 1);
    }
}
