using System.Collections.Immutable;
using System.Text.Json.Nodes;
using SeccompKit.Agent;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Tests.Launch;
using SeccompKit.Linux.Supervise;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// The learn and complain sessions on a host program (no runtime needed): the program runs under the filter
/// <see cref="AgentProfile.For"/> writes for crun, with the session's handler behind a <see cref="NotificationSupervisor"/>,
/// as the agent runs it for a container; <see cref="IContainerSession.Finish"/> then writes the result files.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class ContainerSessionSpecs : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("seccompkit-sessions-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    private static readonly OciTarget Crun = OciTarget.Get("crun", "1.8.1");

    private AgentContainer Container(string id, ContainerMode mode) => new()
    {
        Payload = new AgentPayload("1.0.2-dev", [AgentPayload.SeccompFdName], Environment.ProcessId, mode.ToString(),
            new ContainerState("1.0.2-dev", id, "creating", Environment.ProcessId, "/", ImmutableDictionary<string, string>.Empty)),
        Mode = mode,
        Peer = new PeerCredentials(Environment.ProcessId, 0, 0),
        Runtime = "crun",
        OutputDirectory = _out,
    };

    /// <summary>Runs <paramref name="script"/> under <paramref name="policy"/> with <paramref name="session"/> answering; returns its exit code.</summary>
    private static async Task<int> Serve(IContainerSession session, SeccompPolicy policy, string script)
    {
        using var pending = SandboxLauncher.Prepare("/bin/sh", ["-c", script], stage: new StageCommand(Victim.Path, []));
        var launch = pending.StartSupervised(SeccompKit.Compiler.PolicyCompiler.Compile(policy).Program);
        using var listener = launch.Listener;
        using var supervisor = new NotificationSupervisor(listener, session.Handler);
        var loop = supervisor.Start(TestContext.Current.CancellationToken);
        using var process = launch.WaitUntilRunning();
        int code = process.WaitForExit().ExitCode ?? -1;
        await loop.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return code;
    }

    [Theory]
    [InlineData(ContainerEnd.Exited, true)]
    [InlineData(ContainerEnd.AgentStopped, false)]
    public async Task Learn_writes_a_verified_profile_for_the_runtime_and_a_report_that_says_how_it_ended(ContainerEnd end, bool complete)
    {
        string dir = Path.Combine(_out, "made");
        using var session = ContainerLearnSession.Start(Container("learn-1", new ContainerMode.Learn()), new ContainerLearnOptions { Target = Crun });
        var learnPolicy = AgentProfile.For(new ContainerMode.Learn(), Crun, "/run/x.sock").Policy;
        Assert.Equal(0, await Serve(session, learnPolicy, $"mkdir '{dir}' && echo hi > '{dir}/f' && cat '{dir}/f' > /dev/null"));
        Assert.True(session.Calls > 0);

        var outcome = session.Finish(end);
        Assert.Equal([Path.Combine(_out, "learn-1.json"), Path.Combine(_out, "learn-1.spo.yaml"), Path.Combine(_out, "learn-1.report.json")], outcome.Files);
        // The same profile for security-profiles-operator: a SeccompProfile named after the container.
        string spo = File.ReadAllText(Path.Combine(_out, "learn-1.spo.yaml"));
        Assert.Contains("kind: SeccompProfile", spo, StringComparison.Ordinal);
        Assert.Contains("name: learn-1", spo, StringComparison.Ordinal);
        Assert.Equal(complete, !outcome.Summary.Contains("partial", StringComparison.Ordinal));
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(_out, "learn-1.report.json")))!;
        Assert.True(report["verified"]!.GetValue<bool>());
        Assert.Equal(complete, report["complete"]!.GetValue<bool>());
        Assert.Equal("crun 1.8.1", report["target"]!.GetValue<string>());
        Assert.Contains(report["syscalls"]!.AsArray(), s => s!["name"]!.GetValue<string>() == "mkdir");
        // The runtime's own post-filter syscalls are in, whether or not the program made them.
        var profile = OciImporter.Import(File.ReadAllText(Path.Combine(_out, "learn-1.json")), new OciImportOptions { Target = Crun }).Policy;
        Assert.Null(profile.ListenerPath);
        foreach (var s in new[] { "mkdir", "setresuid", "rt_sigaction", "execve" })
            Assert.True(PolicyEvaluator.Evaluate(profile, new SeccompKit.Bpf.SeccompData(Architecture.X86_64.Syscalls.GetNumber(s), Architecture.X86_64.AuditArch)).Action.LetsCallRun
                || profile.RulesFor(s).Any(r => r.Action.LetsCallRun), s);
        Assert.Throws<InvalidOperationException>(() => session.Finish(end));
    }

    [Fact]
    public async Task Complain_records_only_what_the_profile_refuses_with_its_count_and_writes_the_patch()
    {
        string a = Path.Combine(_out, "a"), b = Path.Combine(_out, "b");
        var noMkdir = new SeccompPolicy(PolicyAction.Allow, [new SyscallRule("mkdir", PolicyAction.Errno(1)), new SyscallRule("mkdirat", PolicyAction.Errno(1))],
            [Architecture.X86_64, Architecture.X86, Architecture.X32], PolicyAction.KillThread);
        using var session = ContainerComplainSession.Start(Container("complain-1", new ContainerMode.Complain("nomkdir")), noMkdir, Crun);
        var policy = AgentProfile.For(new ContainerMode.Complain("nomkdir"), Crun, "/run/x.sock", new AgentProfileOptions { Profile = noMkdir }).Policy;
        Assert.Equal(0, await Serve(session, policy, $"mkdir '{a}' && mkdir '{b}' && ls '{_out}' > /dev/null"));
        Assert.True(Directory.Exists(a) && Directory.Exists(b)); // let run

        var outcome = session.Finish(ContainerEnd.Exited);
        var report = JsonNode.Parse(File.ReadAllText(Assert.Single(outcome.Files)))!;
        var complaint = Assert.Single(report["complaints"]!.AsArray())!;
        Assert.Equal("mkdir", complaint["syscall"]!.GetValue<string>());
        Assert.Equal(2, complaint["recorded"]!["count"]!.GetValue<long>());
        Assert.Equal("SCMP_ACT_ALLOW", Assert.Single(report["patch"]!.AsArray())!["action"]!.GetValue<string>());
        Assert.Contains("would have refused 1 syscalls", outcome.Summary);
    }
}
