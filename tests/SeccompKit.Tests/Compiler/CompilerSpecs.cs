using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using PolicyGenerator = SeccompKit.TestKit.PolicyGenerator;

namespace SeccompKit.Tests.Compiler;

/// <summary>The compiler's promises beyond equivalence: cache eligibility, far jumps, limits, shape.</summary>
public class CompilerSpecs
{
    private static readonly Architecture[] Runc = [Architecture.X86_64, Architecture.X86, Architecture.X32];

    private static SeccompPolicy AllowMostWithSomeChecks()
    {
        var rules = new List<SyscallRule>();
        foreach (var e in Architecture.X86_64.Syscalls.All.Where(e => e.Number % 3 != 0))
            rules.Add(new SyscallRule(e.Name, PolicyAction.Allow));
        rules.Add(new SyscallRule("personality", PolicyAction.Allow, [new ArgCondition(0, ArgOperator.Equal, 0)]));
        rules.Add(new SyscallRule("personality", PolicyAction.Allow, [new ArgCondition(0, ArgOperator.Equal, 8)]));
        rules.Add(new SyscallRule("socket", PolicyAction.Errno(22), [new ArgCondition(0, ArgOperator.Equal, 16)]));
        return new SeccompPolicy(PolicyAction.Errno(1), rules, Runc, PolicyAction.KillThread);
    }

    [Fact]
    public void Every_syscall_allowed_whatever_its_arguments_stays_in_the_kernels_action_cache()
    {
        var compiled = PolicyCompiler.Compile(AllowMostWithSomeChecks());
        var report = compiled.Report;
        foreach (var abi in report.Abis.Where(a => a.KernelCaches))
        {
            Assert.NotEmpty(abi.CacheableByPolicy);
            Assert.Equal(abi.CacheableByPolicy.Order(), abi.Cached.Order());
        }
        Assert.Contains(report.Abis, a => a.Abi == Architecture.X86_64 && a.KernelCaches);
        Assert.DoesNotContain("socket", report.Abis.Single(a => a.Abi == Architecture.X86_64).Cached);
    }

    [Fact]
    public void Far_targets_get_trampolines_and_the_filter_still_means_the_policy()
    {
        // 200 conditional rules on one syscall put the other syscalls' code far beyond 255 instructions.
        var rules = Enumerable.Range(0, 200).Select(i => new SyscallRule("ioctl", PolicyAction.Allow, [new ArgCondition(1, ArgOperator.Equal, (ulong)i * 0x1_0000_0001)]))
            .Append(new SyscallRule("read", PolicyAction.Allow)).Append(new SyscallRule("write", PolicyAction.Allow));
        var policy = new SeccompPolicy(PolicyAction.KillProcess, rules, Runc);
        var compiled = PolicyCompiler.Compile(policy);
        Assert.True(compiled.Program.Length > 255);
        var random = new Random(1);
        foreach (var d in PolicyGenerator.Vectors(policy, random))
            Assert.Equal(PolicyEvaluator.EvaluateValue(policy, d), Interpreter.Evaluate(compiled.Program, d));
        for (ulong i = 0; i < 200; i++)
            Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Interpreter.Evaluate(compiled.Program, new SeccompData(16, Architecture.X86_64.AuditArch, 0, 0, i * 0x1_0000_0001)));
    }

    [Fact]
    public void A_filter_over_the_kernel_limit_is_refused_naming_the_rules_that_cost_most()
    {
        // Each value has its own high and low half, so each rule costs a compare of both (about 3 instructions).
        var rules = Enumerable.Range(0, 2000).Select(i => new SyscallRule("ioctl", PolicyAction.Allow, [new ArgCondition(1, ArgOperator.Equal, (ulong)i << 33 | (uint)(2 * i + 1))]));
        var policy = new SeccompPolicy(PolicyAction.KillProcess, rules);
        var e = Assert.Throws<CompileException>(() => PolicyCompiler.Compile(policy));
        Assert.Contains("4096", e.Message);
        Assert.Contains("ioctl", e.Message);
    }

    [Fact]
    public void The_native_arch_is_checked_first_and_a_syscall_costs_a_handful_of_instructions()
    {
        var report = PolicyCompiler.Compile(AllowMostWithSomeChecks()).Report;
        var x64 = report.Abis.Single(a => a.Abi == Architecture.X86_64);
        // ld arch, jeq, ld nr, about log2(ranges) compares, ret.
        Assert.True(x64.MeanPath < 14, $"mean {x64.MeanPath}");
        Assert.True(report.Length < 1200, $"length {report.Length}");
    }

    [Fact]
    public void Pseudo_code_lists_actions_and_argument_checks_by_name()
    {
        var text = PseudoCode.Render(PolicyCompiler.Compile(AllowMostWithSomeChecks()));
        Assert.Contains("if (arch == AUDIT_ARCH_X86_64)", text);
        Assert.Contains("if (nr == personality", text);
        Assert.True(text.Contains("personality == 0x8) return ALLOW"), text);
        Assert.Contains("return KILL_THREAD;  /* any other arch */", text);
    }
}
