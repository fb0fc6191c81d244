using SeccompKit.Bpf;
using SeccompKit.Learning;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Learn;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;
using SeccompKit.Linux.Tests.Launch;

namespace SeccompKit.Linux.Tests.Learn;

/// <summary>
/// <see cref="Learner.Learn"/> and <see cref="Complainer.Complain"/>: each workflow in one call, on real programs (the
/// filters go on the launched processes, never on the test's).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LearnerSpecs : IDisposable
{
    private static readonly StageCommand Stage = new(Victim.Path, []);
    private readonly string _dir = Directory.CreateTempSubdirectory("learner-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PolicyAction Action(SeccompPolicy p, string name) =>
        PolicyEvaluator.Evaluate(p, new SeccompData(Architecture.X86_64.Syscalls.GetNumber(name), Architecture.X86_64.AuditArch)).Action;

    /// <summary>Records the order of the observer's calls.</summary>
    private sealed class Recording(bool start = true) : LearnObserver
    {
        public List<string> Steps { get; } = [];
        public override bool ShouldStart() { Steps.Add("should-start"); return start; }
        public override void Started(LearningSession session) => Steps.Add("started");
        public override void ProgramExited(ExitStatus status) => Steps.Add($"exited {status.ExitCode}");
        public override void Stopped() => Steps.Add("stopped");
    }

    [Fact]
    public void Learn_runs_the_program_and_returns_a_verified_profile_of_what_it_did()
    {
        var observer = new Recording();

        var result = Learner.Learn(new LearnRequest { Program = "/bin/mkdir", Arguments = [Path.Combine(_dir, "made")], Stage = Stage }, observer);

        Assert.Equal(LearnOutcome.Recorded, result.Outcome);
        Assert.Equal(0, result.Status.ExitCode);
        Assert.True(Directory.Exists(Path.Combine(_dir, "made")));
        Assert.True(result.Verified);
        Assert.Contains(result.Calls.Syscalls, s => s.Name == "mkdir");
        Assert.Equal(PolicyAction.Allow, Action(result.Profile!, "mkdir"));
        Assert.Equal(PolicyAction.Errno(1), Action(result.Profile!, "rmdir"));
        Assert.Equal(["should-start", "started", "exited 0", "stopped"], observer.Steps);
    }

    [Fact]
    public void The_report_carries_the_command_exit_calls_replay_and_the_oci_profile()
    {
        var result = Learner.Learn(new LearnRequest { Program = "/bin/true", Stage = Stage });

        var export = result.ExportOci();
        var report = result.Report(export);

        Assert.Equal(["/bin/true"], report.Command);
        Assert.Equal(new LearnReportExit(0, null), report.Exit);
        Assert.Equal(result.Calls.Total, report.Notifications);
        Assert.Equal(new LearnReportReplay(result.Learned!.Replay.Replayed, 0), report.Replay);
        Assert.Equal(result.Calls.Syscalls.Length, report.Syscalls.Length);
        Assert.Equal(export.Seccomp.DefaultAction, report.Profile.GetProperty("defaultAction").GetString());
    }

    [Fact]
    public void A_learn_the_observer_stops_before_the_start_never_runs_the_program()
    {
        var result = Learner.Learn(new LearnRequest { Program = "/bin/mkdir", Arguments = [Path.Combine(_dir, "never")], Stage = Stage }, new Recording(start: false));

        Assert.Equal(LearnOutcome.NotStarted, result.Outcome);
        Assert.Null(result.Profile);
        Assert.False(result.Verified);
        Thread.Sleep(200);
        Assert.False(Directory.Exists(Path.Combine(_dir, "never")));
    }

    [Fact]
    public void A_program_that_is_not_found_is_a_launch_exception()
    {
        var e = Assert.Throws<LaunchException>(() => Learner.Learn(new LearnRequest { Program = Path.Combine(_dir, "absent"), Stage = Stage }));

        Assert.Equal(LaunchFailure.ProgramNotFound, e.Failure);
    }

    [Fact]
    public void Complain_lets_the_refused_calls_run_and_reports_them_with_the_patch()
    {
        var policy = PolicyLanguage.Parse("default allow\nkill-process { mkdir }\n");

        var result = Complainer.Complain(new ComplainRequest { Program = "/bin/mkdir", Arguments = [Path.Combine(_dir, "complained")], Policy = policy, Stage = Stage });

        Assert.Equal(LearnOutcome.Recorded, result.Outcome);
        Assert.Equal(0, result.Status.ExitCode);
        Assert.True(Directory.Exists(Path.Combine(_dir, "complained")));
        var complaint = Assert.Single(result.Report!.Complaints);
        Assert.Equal(("mkdir", PolicyAction.KillProcess), (complaint.Syscall.Name, Assert.Single(complaint.Actions)));
        Assert.Contains(result.Report.PatchEntries, e => e.Names.Contains("mkdir") && e.Action == "SCMP_ACT_ALLOW");
    }

    [Fact]
    public void Complain_refuses_a_policy_without_this_machines_architecture_before_anything_runs()
    {
        var policy = PolicyLanguage.Parse("architectures aarch64\ndefault allow\n");

        var e = Assert.Throws<PolicyRunException>(() =>
            Complainer.Complain(new ComplainRequest { Program = "/bin/mkdir", Arguments = [Path.Combine(_dir, "no")], Policy = policy, Stage = Stage }));

        Assert.Equal(PolicyRunProblem.ArchitectureMissing, e.Problem);
        Assert.Contains("but this machine is x86_64: every syscall would get the bad-arch action. Add x86_64", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "no")));
    }
}
