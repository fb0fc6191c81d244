using System.Text.Json.Nodes;
using SeccompKit.Linux.Agent;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// podman 4.3.1 with runc and with crun (the hybrid-cgroup wrapper around podman itself, as ../shared/docs/OCI-RUNTIMES.md
/// does it) sends the listener of <c>--security-opt seccomp=PROFILE</c> to the agent: podman's payload (with its
/// state.annotations, from conmon's runtime child) is accepted and the container served until it exits, though the
/// runtime closes the socket at once.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class AgentPodmanContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static TheoryData<string> Runtimes() => ["runc", "crun"];

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_podman_container_is_served_until_it_exits(string runtimeName)
    {
        string? podman = PodmanPath();
        Assert.SkipUnless(podman is not null, "podman is not installed (apt-get install -y podman; .ci/run installs it)");
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        using var host = AgentHost.Start(c => new CountingSession(c));
        string profile = Path.Combine(host.Directory, "profile.json");
        File.WriteAllText(profile, host.Seccomp("learn", "mkdir", "mkdirat").ToJsonString());

        string[] podmanArgs =
        [
            "--runtime", runtime.Path!, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
            "--security-opt", "seccomp=" + profile, "--rootfs", fixture.Bundle.Rootfs + ":O",
            "/bin/sh", "-c", "mkdir /tmp/p1 /tmp/p2 && echo podman-ok",
        ];
        var r = runtime.NeedsHybridWrapper
            ? ChildProcess.Run("unshare", ["--mount", "--propagation", "private", "sh", "-c", "umount /sys/fs/cgroup/unified && exec \"$0\" \"$@\"", podman!, .. podmanArgs], new ProcessOptions { Timeout = Timeout })
            : ChildProcess.Run(podman!, podmanArgs, new ProcessOptions { Timeout = Timeout });
        output.WriteLine($"podman --runtime {runtimeName}: exit {r.Exit}, stdout [{r.Out.Trim()}], stderr [{r.Err.Trim()}]");
        foreach (var e in host.Events) output.WriteLine($"  {e.Kind}: {e.Message}");

        Assert.Equal(0, r.Exit);
        Assert.Equal("podman-ok\n", r.Out);
        var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
        var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
        Assert.Equal(ContainerEnd.Exited, finished.End);
        var (_, counts, recordedRuntime) = CountingSession.Read(host.OutputDirectory, serving.ContainerId!);
        Assert.Equal(2, counts.Values.Sum());
        Assert.Equal(runtimeName, recordedRuntime);
        Assert.Matches("^[0-9a-f]{64}$", serving.ContainerId);
        Assert.DoesNotContain(host.Events, e => e.Kind is AgentEventKind.Refused or AgentEventKind.SessionFault);
    }

    private static string? PodmanPath() => new[] { "/usr/bin/podman", "/usr/local/bin/podman" }.FirstOrDefault(File.Exists);
}
