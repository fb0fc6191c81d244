using CsCheck;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using PolicyGenerator = SeccompKit.TestKit.PolicyGenerator;

namespace SeccompKit.Tests.Compiler;

/// <summary>
/// The floor on the optimised length that lets the compiler refuse a hostile policy before the BPF optimiser
/// runs: it never exceeds the length the optimiser reaches (else a policy that fits would be refused), and a
/// policy of 20,000 rules is refused by it.
/// </summary>
public class LengthFloorSpecs
{
    private static void AssertFloorAtMostLength(SeccompPolicy policy)
    {
        var lowered = PolicyCompiler.Compile(PolicyOptimizer.Optimize(policy), new CompileOptions { Optimize = false }).Program.Instructions;
        int floor = PolicyCompiler.OptimizedLengthFloor(lowered);
        int length = PolicyCompiler.Compile(policy).Program.Instructions.Length;
        if (floor > length)
            Assert.Fail($"floor {floor} > optimised length {length}\npolicy: default {policy.DefaultAction}, arches {string.Join(",", policy.EffectiveArchitectures)}\n" + string.Join("\n", policy.Rules));
    }

    [Fact]
    public void The_floor_never_exceeds_the_optimised_length_on_random_policies()
    {
        PolicyGenerator.Policies.Sample(AssertFloorAtMostLength, iter: 1500, threads: 1);
        ArgumentLoweringSpecs.Overlapping.Sample(AssertFloorAtMostLength, iter: 1500, threads: 1);
        ArgumentLoweringSpecs.ValueSets.Sample(AssertFloorAtMostLength, iter: 1500, threads: 1);
    }

    [Theory]
    [InlineData("docker-default")]
    [InlineData("podman-default")]
    public void The_floor_is_at_most_and_near_the_length_of_real_profiles(string name)
    {
        var policy = SeccompKit.TestKit.ProfilePolicies.Load(name);
        var lowered = PolicyCompiler.Compile(PolicyOptimizer.Optimize(policy), new CompileOptions { Optimize = false }).Program.Instructions;
        int floor = PolicyCompiler.OptimizedLengthFloor(lowered), length = PolicyCompiler.Compile(policy).Program.Instructions.Length;
        Assert.True(floor <= length && floor * 2 >= length, $"floor {floor}, length {length}");
    }

    [Fact]
    public void Twenty_thousand_rules_are_refused_by_the_floor_naming_the_syscall_that_costs_most()
    {
        // ioctl(fd, request) for 20,000 requests: a binary search of tens of thousands of compares.
        var rules = Enumerable.Range(0, 20_000).Select(i => new SyscallRule("ioctl", PolicyAction.Allow, [new ArgCondition(1, ArgOperator.Equal, (ulong)i * 7 + 3)]));
        var policy = new SeccompPolicy(PolicyAction.Errno(1), rules, [Architecture.X86_64]);
        var e = Assert.Throws<CompileException>(() => PolicyCompiler.Compile(policy));
        // "at least": the floor refused it, before the optimiser (which took 13 s on this program) ran.
        Assert.Contains("the filter needs at least ", e.Message);
        Assert.Contains("more than the kernel's limit of 4096", e.Message);
        Assert.Contains("ioctl (", e.Message);
    }
}
