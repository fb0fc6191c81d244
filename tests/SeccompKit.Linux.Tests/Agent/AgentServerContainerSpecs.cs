using SeccompKit.Linux.Agent;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// The agent's server under the real runtimes: runc 1.1.5 and crun 1.8.1 send their listener to an in-process agent
/// (<see cref="AgentHost"/>), the agent validates and serves the container until it exits, under <c>run</c> and under
/// <c>create</c>+<c>start</c> (where the runtime closes the socket at once: only POLLHUP on the notify fd ends it).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class AgentServerContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const int Mkdir = 83, Mkdirat = 258;

    public static TheoryData<string, OciLaunchMode> Launches() => new()
    {
        { "runc", OciLaunchMode.Run }, { "runc", OciLaunchMode.CreateStart }, { "crun", OciLaunchMode.Run }, { "crun", OciLaunchMode.CreateStart },
    };

    [Theory]
    [MemberData(nameof(Launches))]
    public void A_container_is_served_until_it_exits_and_its_session_finishes_with_Exited(string runtimeName, OciLaunchMode mode)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        using var host = AgentHost.Start(c => new CountingSession(c));
        var spec = new OciContainerSpec("/bin/sh", "-c", "rm -rf /tmp/a /tmp/b; mkdir /tmp/a /tmp/b && echo made").WithSeccomp(host.Seccomp("learn", "mkdir", "mkdirat"));

        var run = host.Run(fixture.Bundle, runtime, spec, Timeout, mode);
        output.WriteLine($"{runtimeName} {mode}: {run}");
        foreach (var e in host.Events) output.WriteLine($"  {e.Kind}: {e.Message}");

        Assert.Equal("made\n", run.Stdout);
        if (mode == OciLaunchMode.Run) Assert.Equal(0, run.ExitCode);
        var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
        var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
        Assert.Equal(ContainerEnd.Exited, finished.End);
        Assert.Equal(run.ContainerPid, serving.Pid);
        var (end, counts, recordedRuntime) = CountingSession.Read(host.OutputDirectory, serving.ContainerId!);
        Assert.Equal("Exited", end);
        Assert.Equal(runtimeName, recordedRuntime);
        Assert.Equal(2, counts.GetValueOrDefault(Mkdir) + counts.GetValueOrDefault(Mkdirat));
        Assert.DoesNotContain(host.Events, e => e.Kind is AgentEventKind.Refused or AgentEventKind.SessionFault);
    }
}
