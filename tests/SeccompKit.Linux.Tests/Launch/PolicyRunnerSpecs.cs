using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Launch;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>
/// The <c>run</c> workflow as one library call (<see cref="PolicyRunner"/>): the program runs under the policy in a child
/// process (stage two is TestVictim's), its exit status comes back, and a seccomp kill comes back explained as data.
/// </summary>
public sealed class PolicyRunnerSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-policy-run-").FullName;
    private static readonly RunOptions Options = new() { Stage = new StageCommand(Victim.Path, []) };

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SeccompPolicy AllowBut(params SyscallRule[] rules) => new(PolicyAction.Allow, rules);

    [Fact]
    public void The_exit_status_of_the_program_comes_back_and_nothing_is_blamed()
    {
        var result = PolicyRunner.Run(AllowBut(), "/bin/sh", ["-c", "exit 7"], Options);
        Assert.Equal(7, result.Status.ExitCode);
        Assert.Empty(result.Kills);
        Assert.Empty(result.Logged);
        Assert.Equal("/bin/sh", result.ProgramPath);
    }

    [Fact]
    public void A_kill_of_the_program_names_its_syscall_pid_and_the_rule_that_gave_it()
    {
        var rule = new SyscallRule("personality", PolicyAction.KillProcess);
        var result = PolicyRunner.Run(AllowBut(rule), "/usr/bin/python3", ["-c", "import ctypes; ctypes.CDLL(None).personality(0xffffffff)"], Options);
        Assert.True(result.Status.KilledBySigsys, result.Status.Describe());
        var kill = Assert.Single(result.Kills);
        Assert.True(kill.IsProgram);
        Assert.Equal(result.Pid, kill.Pid);
        Assert.True(kill.Record is not null, $"no audit record: {result.AuditUnavailableReason}");
        Assert.Equal("personality", kill.Syscall);
        Assert.Equal(result.Pid, kill.Record.Pid);
        Assert.Equal(DecisionReason.Rule, kill.Decision!.Reason);
        Assert.Equal(SeccompAction.KillProcess, kill.Decision.Action.Kind);
        Assert.False(kill.ByAnotherFilter);
        Assert.Contains("personality (x86_64 syscall 135)", kill.Explanation, StringComparison.Ordinal);
        Assert.Contains("the rule `personality -> KILL_PROCESS`", kill.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kill_of_a_child_process_is_explained_as_a_child()
    {
        var rule = new SyscallRule("personality", PolicyAction.KillThread);
        var result = PolicyRunner.Run(AllowBut(rule), "/bin/sh", ["-c", "python3 -c 'import ctypes; ctypes.CDLL(None).personality(0xffffffff)'; exit 0"], Options);
        Assert.Equal(0, result.Status.ExitCode);
        var kill = Assert.Single(result.Kills);
        Assert.False(kill.IsProgram);
        Assert.NotEqual(result.Pid, kill.Pid);
        Assert.Equal("personality", kill.Syscall);
        Assert.Equal("KILL_THREAD", kill.Record!.ActionName);
    }

    [Fact]
    public void With_log_the_refused_syscalls_of_the_program_come_back()
    {
        var result = PolicyRunner.Run(AllowBut(new SyscallRule("mkdir", PolicyAction.Errno(1)), new SyscallRule("mkdirat", PolicyAction.Errno(1))),
            "/bin/sh", ["-c", $"mkdir {_dir}/x; mkdir {_dir}/y; true"], Options with { Log = true });
        Assert.Equal(0, result.Status.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
        Assert.Equal(2, result.Logged.Count(r => r.SyscallName is "mkdir" or "mkdirat" && r.ActionName == "ERRNO"));
    }

    public static TheoryData<string, PolicyRunProblem, string> Refusals => new()
    {
        { "arch", PolicyRunProblem.ArchitectureMissing, "Add x86_64 to the policy's architectures (OCI: SCMP_ARCH_X86_64)" },
        { "notify", PolicyRunProblem.NeedsSupervisor, "Give those rules another action" },
        { "execve", PolicyRunProblem.ExecveRefused, "the policy does not allow execve (the rule `execve" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_policy_that_cannot_run_a_program_is_refused_before_anything_runs(string kind, PolicyRunProblem problem, string advice)
    {
        var policy = kind switch
        {
            "arch" => AllowBut().WithArchitectures([Architecture.Aarch64]),
            "notify" => AllowBut(new SyscallRule("mkdir", PolicyAction.UserNotif)),
            _ => AllowBut(new SyscallRule("execve", PolicyAction.Errno(1))),
        };
        string marker = Path.Combine(_dir, "ran");
        var e = Assert.Throws<PolicyRunException>(() => PolicyRunner.Run(policy, "/bin/touch", [marker], Options));
        Assert.Equal(problem, e.Problem);
        Assert.Contains(advice, e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker), "the program ran");
    }

    [Fact]
    public void An_observer_the_caller_gives_is_told_the_pid_and_left_open()
    {
        using var observer = KillObserver.Open();
        var result = PolicyRunner.Run(AllowBut(), "/bin/true", [], Options with { Observer = observer });
        Assert.Equal(result.Pid, observer.Pid);
        Assert.Empty(observer.AuditRecords(settle: false)); // still usable: not disposed by the run
    }

    [Fact]
    public void The_filter_flags_are_the_policys_log_and_spec_allow()
    {
        Assert.Equal(SeccompFilterFlags.None, PolicyRunner.FilterFlags(AllowBut(), log: false));
        Assert.Equal(SeccompFilterFlags.Log, PolicyRunner.FilterFlags(AllowBut(), log: true));
        Assert.Equal(SeccompFilterFlags.Log | SeccompFilterFlags.SpecAllow,
            PolicyRunner.FilterFlags(AllowBut().WithFlags(PolicyFlags.Log | PolicyFlags.SpecAllow), log: false));
    }
}
