using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Learning;

/// <summary>
/// The pid and tid a program asks for when its run ends by a signal (raise(3), abort(3), Python's re-raised SIGINT) are in
/// every learned profile, so that a refused getpid never turns kill(getpid(), sig) into kill(-errno, sig).
/// tests/SeccompKit.Cli.Tests/Signals/LearnedSignalSpecs.cs shows the broadcast it prevents on the real kernel.
/// </summary>
public class LearnedBaselineSpecs
{
    private static readonly uint Allow = SeccompReturn.SECCOMP_RET_ALLOW;

    private static uint Run(SeccompPolicy policy, Architecture abi, string name, params ulong[] args) =>
        Interpreter.Evaluate(PolicyCompiler.Compile(policy).Program, new SeccompData(abi.Syscalls.GetNumber(name), abi.AuditArch, 0, args));

    private static LearnedCalls Record(Architecture abi, params string[] names)
    {
        var r = new SyscallRecorder();
        foreach (var name in names) r.Record(abi.AuditArch, abi.Syscalls.GetNumber(name), 1, 0x1000, [0, 2]);
        return r.Snapshot();
    }

    [Theory]
    [InlineData("x86_64")]
    [InlineData("x86")]
    public void A_profile_that_learned_kill_but_not_getpid_still_answers_getpid_and_gettid(string abiName)
    {
        var abi = Architecture.All.Single(a => a.Name == abiName);
        // A quiet run that signalled a child (kill) but never itself, under learn's default errno(EPERM).
        var result = ProfileSynthesizer.Synthesize(Record(abi, "read", "kill", "exit_group"));
        Assert.Equal(Allow, Run(result.Policy, abi, "getpid"));
        Assert.Equal(Allow, Run(result.Policy, abi, "gettid"));
        Assert.Equal(Allow, Run(result.Policy, abi, "getppid")); // kill(getppid(), sig)
        Assert.Equal(Allow, Run(result.Policy, abi, "getpgrp")); // kill(-getpgrp(), sig)
        Assert.Equal(Allow, Run(result.Policy, abi, "kill"));
        // tgkill and tkill stay with learning: they can signal other processes of the same user.
        Assert.Equal(PolicyAction.Errno(1).ReturnValue, Run(result.Policy, abi, "tgkill"));
        Assert.Equal(PolicyAction.Errno(1).ReturnValue, Run(result.Policy, abi, "tkill"));
        Assert.Contains(result.Baseline, b => b.Syscall == "getpid" && b.Reason.Contains("kill(-1)", StringComparison.Ordinal));
        Assert.Contains(result.Baseline, b => b.Syscall == "gettid");
    }

    [Fact]
    public void Without_the_baseline_a_refused_getpid_returns_minus_the_errno()
    {
        // What the baseline prevents: ERRNO(EPERM) makes getpid return -1, the pid kill(2) reads as "every process".
        var bare = ProfileSynthesizer.Synthesize(Record(Architecture.X86_64, "read", "kill"), new SynthesisOptions { Baseline = false, Clone3 = Clone3Rule.Omit });
        Assert.Equal(PolicyAction.Errno(1).ReturnValue, Run(bare.Policy, Architecture.X86_64, "getpid"));
        Assert.Equal(1u, PolicyAction.Errno(1).ReturnValue & SeccompReturn.SECCOMP_RET_DATA);
    }
}
