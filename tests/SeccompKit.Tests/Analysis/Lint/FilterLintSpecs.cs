using SeccompKit.Analysis.Lint;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy.Files;
using SeccompKit.Syscalls;
using SeccompKit.TestKit;

namespace SeccompKit.Tests.Analysis.Lint;

/// <summary>
/// Lint of BPF (PolicyLinter.LintFilter): through the recovered policy when explain reads it back exactly, and the arch
/// checks on the explanation itself when it cannot (the filters where those holes live).
/// </summary>
public sealed class FilterLintSpecs
{
    private static FilterStack Asm(string text) => new([BpfProgram.Create(Assembler.Assemble(text, new SyscallSymbols()))]);

    [Fact]
    public void A_filter_without_an_arch_check_gets_SK101_and_SK102_at_the_return_that_lets_calls_through()
    {
        // seccomp-tools audit's arch-unchecked shape: numbers compared without loading arch.
        var result = PolicyLinter.LintFilter(Asm("""
            A = sys_number
            if (A == 59) goto deny
            if (A == 322) goto deny
            return ALLOW
            deny:
            return ERRNO(1)
            """), "f.bpf");
        Assert.False(result.Complete);
        Assert.NotEmpty(result.Recovery.Problems);
        var sk101 = Assert.Single(result.Report.Findings, f => f.Id == "SK101");
        Assert.Equal("filter 0 pc 3", sk101.Location.Instruction);
        Assert.Equal("f.bpf (filter 0 pc 3)", sk101.Location.ToString());
        // i386 and x32 both run what x86_64 refuses (numbers 59 and 322 are other calls there).
        var sk102 = result.Report.Findings.Where(f => f.Id == "SK102").ToList();
        Assert.Equal(2, sk102.Count);
        Assert.All(sk102, f => Assert.Equal(["execve", "execveat"], f.Syscalls));
        Assert.Contains(sk102, f => f.Why.Contains("on x32", StringComparison.Ordinal));
        Assert.Contains(sk102, f => f.Why.Contains("on x86", StringComparison.Ordinal));
    }

    [Fact]
    public void An_x32_hole_in_a_checked_filter_is_SK102_naming_the_calls()
    {
        // seccomp-tools audit's x32-guard: x86_64 checked, execve/execveat/ptrace refused by number, no x32 guard.
        var result = PolicyLinter.LintFilter(Asm("""
            A = arch
            if (A != AUDIT_ARCH_X86_64) goto kill
            A = sys_number
            if (A == execve) goto deny
            if (A == execveat) goto deny
            if (A == ptrace) goto deny
            return ALLOW
            deny:
            return ERRNO(1)
            kill:
            return KILL_PROCESS
            """), "x32.bpf");
        Assert.False(result.Complete);
        Assert.DoesNotContain(result.Report.Findings, f => f.Id == "SK101"); // other arches are killed
        var f = Assert.Single(result.Report.Findings, f => f.Id == "SK102");
        Assert.Equal(["execve", "execveat", "ptrace"], f.Syscalls);
        Assert.Equal("filter 0 pc 6", f.Location.Instruction);
        Assert.Contains("an x32 (nr | 0x40000000) call", f.Why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_filter_read_back_exactly_is_linted_by_every_check_and_suppressions_apply_to_the_partial_form_too()
    {
        var docker = PolicyFile.Load(Repo.Path("data", "profiles", "docker-default.json")).Policy;
        var compiled = new FilterStack([PolicyCompiler.Compile(docker).Program]);
        var full = PolicyLinter.LintFilter(compiled, "docker.bpf");
        Assert.True(full.Complete);
        Assert.Contains(full.Report.Findings, f => f.Id == "SK301"); // ptrace allowed: a policy-level check

        var partial = PolicyLinter.LintFilter(Asm("""
            A = sys_number
            if (A == 59) goto deny
            return ALLOW
            deny:
            return ERRNO(1)
            """), "f.bpf", new LintOptions { Ignore = [LintIgnore.Parse("SK102")] });
        Assert.DoesNotContain(partial.Report.Findings, f => f.Id == "SK102");
        Assert.Equal(2, partial.Report.Suppressed.Count(f => f.Id == "SK102"));
    }
}
