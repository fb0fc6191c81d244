using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using PolicyGenerator = SeccompKit.TestKit.PolicyGenerator;

namespace SeccompKit.Tests.Compiler;

/// <summary>Each policy-level pass alone keeps the policy's meaning, and does what it says on small tables.</summary>
public class PolicyPassSpecs
{
    private static SeccompPolicy P(PolicyAction def, params SyscallRule[] rules) => new(def, rules, [Architecture.X86_64]);
    private static ArgCondition C(int i, ArgOperator op, ulong v, ulong m = 0) => new(i, op, v, m);

    public static TheoryData<string, IPolicyPass, SeccompPolicy, int> Cases() => new()
    {
        { "x >= 0 holds always, so the rule becomes unconditional", new DropTautologies(),
            P(PolicyAction.Errno(1), new SyscallRule("read", PolicyAction.Allow, [C(0, ArgOperator.GreaterOrEqual, 0)])), 1 },
        { "x < 0 never holds, so the rule goes", new DropContradictions(),
            P(PolicyAction.Errno(1), new SyscallRule("read", PolicyAction.Allow, [C(0, ArgOperator.Less, 0)]), new SyscallRule("write", PolicyAction.Allow)), 1 },
        { "(x & 0xf0) == 0x1 never holds", new DropContradictions(),
            P(PolicyAction.Errno(1), new SyscallRule("read", PolicyAction.Allow, [C(0, ArgOperator.MaskedEqual, 1, 0xf0)])), 0 },
        { "an unconditional KILL shadows a conditional ALLOW of the same syscall", new DropShadowedRules(),
            P(PolicyAction.Errno(1), new SyscallRule("read", PolicyAction.KillProcess), new SyscallRule("read", PolicyAction.Allow, [C(0, ArgOperator.Equal, 3)])), 1 },
        { "a conditional KILL is not shadowed by an unconditional ALLOW", new DropShadowedRules(),
            P(PolicyAction.Errno(1), new SyscallRule("read", PolicyAction.Allow), new SyscallRule("read", PolicyAction.KillProcess, [C(0, ArgOperator.Equal, 3)])), 2 },
        { "a syscall whose rules all give the default needs none", new DropDefaultOnlyRules(),
            P(PolicyAction.Errno(1), new SyscallRule("read", PolicyAction.Errno(1), [C(0, ArgOperator.Equal, 3)]), new SyscallRule("write", PolicyAction.Allow)), 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_policy_pass_rewrites_as_described(string desc, IPolicyPass pass, SeccompPolicy policy, int rulesAfter)
    {
        var result = pass.Run(policy, out bool changed);
        Assert.True(rulesAfter == result.Rules.Length, $"{desc}: {string.Join("; ", result.Rules)}");
        Assert.True(changed || result.Rules.SequenceEqual(policy.Rules), desc);
    }

    public static TheoryData<string> PassNames() => new(PolicyOptimizer.DefaultPasses.Select(p => p.Name));

    [Theory]
    [MemberData(nameof(PassNames))]
    public void A_policy_pass_alone_keeps_the_meaning(string name)
    {
        var pass = PolicyOptimizer.DefaultPasses.Single(p => p.Name == name);
        PolicyGenerator.Policies.Sample(policy =>
        {
            var after = pass.Run(policy, out _);
            foreach (var d in PolicyGenerator.Vectors(policy, new Random(policy.Rules.Length)))
                Assert.Equal(PolicyEvaluator.EvaluateValue(policy, d), PolicyEvaluator.EvaluateValue(after, d));
        }, iter: 300);
    }
}
