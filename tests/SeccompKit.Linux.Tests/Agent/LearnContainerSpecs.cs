using System.Text.Json;
using System.Text.Json.Nodes;
using SeccompKit.Agent;
using SeccompKit.Learning;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Runtimes;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// learn and complain through the agent under real runc 1.1.5 and crun 1.8.1: a busybox container runs with the profile
/// <c>agent profile</c> writes (<see cref="AgentProfile.For"/>), the agent's session (<see cref="ContainerLearnSession"/>,
/// <see cref="ContainerComplainSession"/>) writes its results, and the result is used with no agent at all.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LearnContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // echo, ls, mkdir, cat and a pipeline; no rm/rmdir (the refusal test uses rmdir as the call never made).
    private const string Workload =
        "echo hello; ls / > /dev/null; mkdir -p /tmp/learn/sub; echo data > /tmp/learn/f; cat /tmp/learn/f; ls /bin | grep -c busybox | cat";

    public static TheoryData<string, OciLaunchMode> Launches() => new()
    {
        { "runc", OciLaunchMode.Run }, { "runc", OciLaunchMode.CreateStart }, { "crun", OciLaunchMode.Run }, { "crun", OciLaunchMode.CreateStart },
    };

    [Theory]
    [MemberData(nameof(Launches))]
    public void A_profile_learned_through_the_agent_runs_the_same_workload_without_the_agent_and_refuses_a_call_it_never_made(string runtimeName, OciLaunchMode mode)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var target = InstalledRuntimes.Parse(runtimeName);
        var spec = new OciContainerSpec("/bin/sh", "-c", Workload);
        var plain = fixture.Bundle.Run(runtime, spec, Timeout, mode);
        output.WriteLine($"without seccomp: {plain}");
        Assert.Equal("hello\ndata\n1\n", plain.Stdout);

        // Learn.
        JsonNode learned;
        using (var host = AgentHost.Start(c => ContainerLearnSession.Start(c)))
        {
            var profile = AgentProfile.For(new ContainerMode.Learn(), target, host.SocketPath);
            var run = host.Run(fixture.Bundle, runtime, spec.WithSeccomp(JsonNode.Parse(profile.Oci.Json)), Timeout, mode);
            output.WriteLine($"learning: {run}");
            Assert.Equal(plain.Stdout, run.Stdout);
            if (mode == OciLaunchMode.Run) Assert.Equal(0, run.ExitCode);
            var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
            var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
            output.WriteLine($"agent: {finished.Message}");
            Assert.Equal(ContainerEnd.Exited, finished.End);
            string id = serving.ContainerId!;
            var report = JsonNode.Parse(File.ReadAllText(Path.Combine(host.OutputDirectory, id + ".report.json")))!;
            output.WriteLine($"report: {report["notifications"]} calls, {report["syscalls"]!.AsArray().Count} syscalls, runtimeAdded {report["runtimeAdded"]!.ToJsonString()}");
            Assert.True(report["verified"]!.GetValue<bool>());
            Assert.Equal("exited", report["end"]!.GetValue<string>());
            Assert.Equal(target.ToString(), report["target"]!.GetValue<string>());
            learned = JsonNode.Parse(File.ReadAllText(Path.Combine(host.OutputDirectory, id + ".json")))!;
        }
        Assert.Null(learned["listenerPath"]);
        Assert.Null(learned["listenerMetadata"]);

        // The same workload with the learned profile and no agent: same output, exit 0.
        var again = fixture.Bundle.Run(runtime, spec.WithSeccomp(learned), Timeout, mode);
        output.WriteLine($"learned profile: {again}");
        Assert.Equal(plain.Stdout, again.Stdout);
        Assert.Equal("", again.Stderr);
        if (mode == OciLaunchMode.Run) Assert.Equal(0, again.ExitCode);

        // Nothing refused: with every call the profile does not allow killing the process, the run is the same.
        var strict = learned.DeepClone().AsObject();
        strict["defaultAction"] = "SCMP_ACT_KILL_PROCESS";
        strict.Remove("defaultErrnoRet");
        var killing = fixture.Bundle.Run(runtime, spec.WithSeccomp(strict), Timeout, mode);
        output.WriteLine($"learned profile, default KILL_PROCESS: {killing}");
        Assert.Equal(plain.Stdout, killing.Stdout);
        if (mode == OciLaunchMode.Run) Assert.Equal(0, killing.ExitCode);

        // A call the workload never made (rmdir) is refused with EPERM.
        var other = fixture.Bundle.Run(runtime, new OciContainerSpec("/bin/sh", "-c", "mkdir -p /tmp/learn/sub; rmdir /tmp/learn/sub && echo removed || echo refused").WithSeccomp(learned), Timeout, mode);
        output.WriteLine($"rmdir under the learned profile: {other}");
        Assert.Equal("refused\n", other.Stdout);
        Assert.Contains("Operation not permitted", other.Stderr);
    }

    [Theory]
    [MemberData(nameof(Launches))]
    public void Complain_reports_what_the_profile_refuses_with_count_and_pid_and_its_patch_lets_the_container_run(string runtimeName, OciLaunchMode mode)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var target = InstalledRuntimes.Parse(runtimeName);
        var noMkdir = OciImporter.Import("""
            {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
             "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
            """).Policy;
        var spec = new OciContainerSpec("/bin/sh", "-c", "rmdir /tmp/c1 /tmp/c2 2>/dev/null; mkdir /tmp/c1 && mkdir /tmp/c2 && echo made");
        var refused = fixture.Bundle.Run(runtime, spec.WithSeccomp(JsonNode.Parse(OciExporter.Export(noMkdir, target).Json)), Timeout, mode);
        output.WriteLine($"under the profile: {refused}");
        Assert.Contains("Operation not permitted", refused.Stderr);

        JsonNode report;
        using (var host = AgentHost.Start(c => ContainerComplainSession.Start(c, noMkdir)))
        {
            var profile = AgentProfile.For(new ContainerMode.Complain("nomkdir"), target, host.SocketPath, new AgentProfileOptions { Profile = noMkdir });
            var run = host.Run(fixture.Bundle, runtime, spec.WithSeccomp(JsonNode.Parse(profile.Oci.Json)), Timeout, mode);
            output.WriteLine($"complaining: {run}");
            Assert.Equal("made\n", run.Stdout);
            var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
            var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
            output.WriteLine($"agent: {finished.Message}");
            report = JsonNode.Parse(File.ReadAllText(Path.Combine(host.OutputDirectory, serving.ContainerId! + ".complain.json")))!;
            output.WriteLine(report.ToJsonString());
            Assert.Equal(run.ContainerPid, serving.Pid);
        }
        var complaint = Assert.Single(report["complaints"]!.AsArray())!;
        Assert.Equal("mkdir", complaint["syscall"]!.GetValue<string>());
        Assert.Equal(["errno(eperm)"], complaint["actions"]!.AsArray().Select(a => a!.GetValue<string>().ToLowerInvariant()));
        Assert.Equal(2, complaint["recorded"]!["count"]!.GetValue<long>());
        Assert.True(complaint["recorded"]!["firstPid"]!.GetValue<int>() > 1);
        Assert.Equal(2, report["refused"]!.GetValue<long>());
        Assert.Equal("nomkdir", report["profile"]!.GetValue<string>());

        // The patch applied: the profile's rules for what was refused give way to the patch's (as learn --base combines).
        var patchEntries = report["patch"]!.AsArray();
        Assert.NotEmpty(patchEntries);
        var patch = OciImporter.Import(new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ERRNO", ["defaultErrnoRet"] = 1,
            ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["syscalls"] = patchEntries.DeepClone(),
        }.ToJsonString()).Policy;
        // The import models runc's ENOSYS stub for the ERRNO default; the patch's rules alone matter here.
        var patched = LearnedProfile.Combine(noMkdir, patch.WithEnosysAbove(new Dictionary<SeccompKit.Syscalls.Architecture, uint>()));
        var fixedRun = fixture.Bundle.Run(runtime, spec.WithSeccomp(JsonNode.Parse(OciExporter.Export(patched, target).Json)), Timeout, mode);
        output.WriteLine($"patched profile: {fixedRun}");
        Assert.Equal("made\n", fixedRun.Stdout);
        Assert.Equal("", fixedRun.Stderr);
    }

    public static TheoryData<string> PodmanRuntimes() => new("runc", "crun");

    [Theory]
    [MemberData(nameof(PodmanRuntimes))]
    public void Under_podman_a_profile_learned_through_the_agent_runs_the_workload_without_the_agent_and_refuses_a_call_it_never_made(string runtimeName)
    {
        string? podman = new[] { "/usr/bin/podman", "/usr/local/bin/podman" }.FirstOrDefault(File.Exists);
        Assert.SkipWhen(podman is null, "podman is not installed (apt-get install -y podman; .ci/run installs it)");
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var target = InstalledRuntimes.Parse(runtimeName);
        string dir = Directory.CreateTempSubdirectory("seccompkit-podman-").FullName;
        try
        {
            ProcessResult Podman(string profile, string script) => ChildProcess.Run(
                // OCI-RUNTIMES.md, "Podman": both ulimits (no CAP_SYS_RESOURCE here), no network, the rootfs last with an
                // overlay (the bundle's rootfs stays clean); crun through the hybrid-cgroup workaround when the host needs it.
                runtime.NeedsHybridWrapper ? "unshare" : podman!,
                [.. runtime.NeedsHybridWrapper ? new[] { "-m", "sh", "-c", "umount /sys/fs/cgroup/unified && exec \"$@\"", "sh", podman! } : [],
                 "--runtime", runtimeName, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                 "--security-opt", "seccomp=" + profile, "--rootfs", fixture.Bundle.Rootfs + ":O", "/bin/sh", "-c", script],
                new ProcessOptions { Timeout = Timeout });

            string learnedPath = Path.Combine(dir, "learned.json");
            using (var host = AgentHost.Start(c => ContainerLearnSession.Start(c)))
            {
                string learnProfile = Path.Combine(dir, "learn.json");
                File.WriteAllText(learnProfile, AgentProfile.For(new ContainerMode.Learn(), target, host.SocketPath).Oci.Json);
                var run = Podman(learnProfile, Workload);
                output.WriteLine($"podman learning: exit {run.Exit} [{run.Out}] [{run.Err}]");
                Assert.Equal("hello\ndata\n1\n", run.Out);
                Assert.Equal(0, run.Exit);
                var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
                var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
                output.WriteLine($"agent: {finished.Message}");
                var report = JsonNode.Parse(File.ReadAllText(Path.Combine(host.OutputDirectory, serving.ContainerId + ".report.json")))!;
                Assert.Equal(runtimeName, report["runtime"]!.GetValue<string>());
                Assert.True(report["verified"]!.GetValue<bool>());
                File.Copy(Path.Combine(host.OutputDirectory, serving.ContainerId + ".json"), learnedPath);
            }
            var again = Podman(learnedPath, Workload);
            output.WriteLine($"podman, learned profile: exit {again.Exit} [{again.Out}] [{again.Err}]");
            Assert.Equal("hello\ndata\n1\n", again.Out);
            Assert.Equal(0, again.Exit);
            var other = Podman(learnedPath, "mkdir -p /tmp/learn/sub; rmdir /tmp/learn/sub && echo removed || echo refused");
            output.WriteLine($"podman, rmdir under the learned profile: exit {other.Exit} [{other.Out}] [{other.Err}]");
            Assert.Equal("refused\n", other.Out);
            Assert.Contains("Operation not permitted", other.Err);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
