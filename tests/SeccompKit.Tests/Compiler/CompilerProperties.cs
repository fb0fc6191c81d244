using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using PolicyGenerator = SeccompKit.TestKit.PolicyGenerator;

namespace SeccompKit.Tests.Compiler;

/// <summary>The interpreter is the oracle: every compiled policy returns what the policy means, with and without optimisation.</summary>
public class CompilerProperties
{
    private static void AssertAgrees(SeccompPolicy policy, CompiledPolicy compiled, List<SeccompData> vectors, ref long count)
    {
        foreach (var d in vectors)
        {
            uint expected = PolicyEvaluator.EvaluateValue(policy, d);
            uint actual = Interpreter.Evaluate(compiled.Program, d);
            if (expected != actual)
                Assert.Fail($"mismatch on {d}: policy says {ActionNames.Format(expected)}, filter returns {ActionNames.Format(actual)}\n" +
                            $"policy: default {policy.DefaultAction}, arches {string.Join(",", policy.EffectiveArchitectures)}, bad-arch {policy.BadArchAction}, enosys {string.Join(",", policy.EnosysAbove)}\n" +
                            string.Join("\n", policy.Rules) + "\n" + Disassembler.Disassemble(compiled.Program.Instructions.AsSpan(), new SeccompKit.Syscalls.SyscallSymbols()));
            count++;
        }
    }

    [Fact]
    public void Compiled_filters_agree_with_the_policy_on_random_policies_optimised_or_not()
    {
        long vectors = 0, policies = 0;
        PolicyGenerator.Policies.Sample(policy =>
        {
            var random = new Random(policy.Rules.Length * 7919 + policy.EffectiveArchitectures.Length);
            var inputs = PolicyGenerator.Vectors(policy, random);
            long n = 0;
            AssertAgrees(policy, PolicyCompiler.Compile(policy), inputs, ref n);
            AssertAgrees(policy, PolicyCompiler.Compile(policy, new CompileOptions { Optimize = false }), inputs, ref n);
            Interlocked.Add(ref vectors, n);
            Interlocked.Increment(ref policies);
        }, iter: 2000, threads: 1);
        TestContext.Current.SendDiagnosticMessage($"compiler property: {policies} policies, {vectors} vectors, 0 mismatches");
        Assert.True(vectors > 100_000, $"only {vectors} vectors");
    }
}
