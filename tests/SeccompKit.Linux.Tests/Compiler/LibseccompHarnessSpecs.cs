using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>The flat-policy writer and native/libseccomp-compile on their own: mapping, refusals, error messages.</summary>
public sealed class LibseccompHarnessSpecs(LibseccompFixture lib) : IClassFixture<LibseccompFixture>
{
    [Fact]
    public void The_writer_puts_the_mask_in_datum_a_and_the_value_in_datum_b()
    {
        var policy = new SeccompPolicy(PolicyAction.Errno(1),
            [new SyscallRule("mmap", PolicyAction.Allow, [new ArgCondition(2, ArgOperator.MaskedEqual, 0x4, 0x6), new ArgCondition(0, ArgOperator.LessOrEqual, 0x1_0000_0000)])],
            [Architecture.X86_64], PolicyAction.KillThread);
        Assert.Equal("default 0x50001\nbadarch 0x0\narch x86_64\nrule mmap 0x7fff0000 2 2 masked_eq 0x6 0x4 0 le 0x100000000 0\n", LibseccompPolicyWriter.Write(policy));
    }

    public static TheoryData<string, SeccompPolicy> Inexpressible => new()
    {
        { "32-bit width on a 64-bit ABI", new SeccompPolicy(PolicyAction.Allow, [new SyscallRule("read", PolicyAction.Errno(1), [new ArgCondition(0, ArgOperator.Equal, 1, 0, ArgumentWidth.Bits32)])], [Architecture.X86_64]) },
        { "mixed conditional actions", new SeccompPolicy(PolicyAction.Allow, [new SyscallRule("read", PolicyAction.Errno(1), [new ArgCondition(0, ArgOperator.Equal, 1)]), new SyscallRule("read", PolicyAction.Errno(2), [new ArgCondition(1, ArgOperator.Equal, 1)])], [Architecture.X86_64]) },
        { "two conditions on one argument", new SeccompPolicy(PolicyAction.Allow, [new SyscallRule("read", PolicyAction.Errno(1), [new ArgCondition(0, ArgOperator.Greater, 1), new ArgCondition(0, ArgOperator.Less, 9)])], [Architecture.X86_64]) },
        { "ENOSYS cutoff", new SeccompPolicy(PolicyAction.Allow, [], [Architecture.X86_64], enosysAbove: new Dictionary<Architecture, uint> { [Architecture.X86_64] = 400 }) },
    };

    [Theory]
    [MemberData(nameof(Inexpressible))]
    public void The_writer_refuses_what_libseccomp_cannot_express(string desc, SeccompPolicy policy)
    {
        Assert.NotEmpty(desc);
        Assert.Throws<NotExpressibleException>(() => LibseccompPolicyWriter.Write(policy));
    }

    [Theory]
    [InlineData("default 0x7fff0000\nrule nosuchcall 0x50001 0\n", ":2: libseccomp does not know the system call 'nosuchcall'")]
    [InlineData("default 0x7fff0000\narch x86_64\nrule read 0x50001 1 0 between 1 0\n", ":3: unknown operator 'between'")]
    [InlineData("default 0x7fff0000\nrule read 0x50001 1 7 eq 1 0\n", ":2: argument index '7' is not 0..5")]
    [InlineData("default 0x7fff0000\nrule read 0x50001 1 0 eq 1 2\n", ":2: datum_b '2' must be 0 for operator 'eq'")]
    [InlineData("default 0x7fff0000\nrule read 0x7fff0000 0\n", ":2: seccomp_rule_add_array(read) failed: Permission denied")]
    [InlineData("arch x86_64\n", "no 'default <action>' line")]
    public void The_helper_names_the_line_of_a_bad_policy(string text, string message)
    {
        var e = Assert.Throws<InvalidOperationException>(() => lib.Compiler.Compile(text, 1));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_helper_compiles_what_the_policy_means_at_both_optimisation_levels()
    {
        var policy = new SeccompPolicy(PolicyAction.Errno(1),
            [new SyscallRule("read", PolicyAction.Allow), new SyscallRule("write", PolicyAction.Log, [new ArgCondition(0, ArgOperator.Equal, 2)])],
            [Architecture.X86_64, Architecture.X86]);
        foreach (int level in new[] { 1, 2 })
        {
            var program = lib.Compiler.Compile(LibseccompPolicyWriter.Write(policy), level);
            foreach (var d in VectorGenerator.For(policy, sweepArgsEverywhere: true))
                Assert.Equal(PolicyEvaluator.EvaluateValue(policy, d), Interpreter.Evaluate(program, d));
        }
        Assert.Equal("2.5.4", lib.Version);
    }
}
