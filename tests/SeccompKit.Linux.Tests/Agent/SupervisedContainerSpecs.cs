using System.Text.Json;
using SeccompKit.Agent;
using SeccompKit.Linux.Agent;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// <c>supervise:RULESET</c> under the real runtimes: runc 1.1.5 and crun 1.8.1 hand their listener to an in-process
/// agent whose sessions are <see cref="SupervisedContainerSession"/>s. The containers have runc's default capabilities
/// (no CAP_MKNOD, no CAP_SYS_ADMIN), so every node and mount that appears was made by the agent.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class SupervisedContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Runtimes() => new() { "runc", "crun" };

    private static readonly RulesetSpec Lab = RulesetSpec.Parse("lab", JsonDocument.Parse("""
        { "devices": ["safe"],
          "mounts": [ { "fstype": "tmpfs", "target": "/mnt/**", "options": ["size", "mode"], "force": ["nosuid", "nodev", "noexec"] } ],
          "errno": "EPERM" }
        """).RootElement, "$.rulesets.lab");

    /// <summary>Runs <paramref name="script"/> as <paramref name="uid"/> in a container supervised with <paramref name="ruleset"/>; returns the run and the report.</summary>
    private (OciRunResult Run, JsonElement Report, List<AgentEvent> Events) Supervise(string runtimeName, SupervisionRuleset ruleset, string script, int uid = 0)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var registry = new RulesetRegistry();
        if (!registry.TryGet(ruleset.Name, out _)) registry.Add(ruleset);
        // The agent's own per-mode factory, as `seccompkit agent` wires it: only supervise sessions here.
        using var host = AgentHost.Start(new AgentModeSessions { Supervise = SupervisedContainerSession.For(registry) }.Create);
        var spec = new OciContainerSpec("/bin/sh", "-c", script) { Uid = uid }
            .WithSeccomp(host.Seccomp("supervise:" + ruleset.Name, [.. ruleset.Syscalls]));
        var run = host.Run(fixture.Bundle, runtime, spec, Timeout);
        var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
        var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
        output.WriteLine($"{runtimeName}: {run}");
        foreach (var e in host.Events) output.WriteLine($"  {e.Kind}: {e.Message}");
        Assert.Equal(ContainerEnd.Exited, finished.End);
        string report = File.ReadAllText(Path.Combine(host.OutputDirectory, serving.ContainerId + ".supervise.json"));
        output.WriteLine(report);
        return (run, JsonDocument.Parse(report).RootElement.Clone(), [.. host.Events]);
    }

    private static IEnumerable<JsonElement> Calls(JsonElement report) => report.GetProperty("calls").EnumerateArray();

    private static string Result(JsonElement call) => call.GetProperty("result").GetString()!;

    private string Rootfs => fixture.Bundle.Rootfs;

    private void Clean(params string[] paths)
    {
        foreach (var p in paths)
        {
            string full = Path.Combine(Rootfs, p);
            if (File.Exists(full) || Directory.Exists(full) || new FileInfo(full).LinkTarget is not null)
                ChildProcess.Run("rm", ["-rf", full]);
        }
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void Mknod_dev_null_in_a_container_is_created_by_the_agent_with_the_right_number_and_the_callers_owner(string runtime)
    {
        Clean("tmp/null", "tmp/sda");
        var (run, report, _) = Supervise(runtime, SupervisionRuleset.From(RulesetSpec.BuiltinDevices),
            "mknod /dev/null2 c 1 3 && stat -c '%t:%T %u:%g %F' /dev/null2 && mknod /tmp/null c 1 3 && echo x > /tmp/null && echo ok; mknod /tmp/sda b 8 0 || echo refused");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("1:3 0:0 character special file\nok\nrefused\n", run.Stdout);
        Assert.Contains("Operation not permitted", run.Stderr);
        // /tmp is the bundle's rootfs on the host: the node is there, and /tmp/sda is not.
        var host = ChildProcess.Run("stat", ["-c", "%t:%T %u:%g %F", Path.Combine(Rootfs, "tmp/null")]);
        Assert.Equal("1:3 0:0 character special file\n", host.Out);
        Assert.False(File.Exists(Path.Combine(Rootfs, "tmp/sda")));
        Assert.Equal(["performed", "performed", "refused"], Calls(report).Select(Result));
        Assert.Equal("b 8:0", Calls(report).Last().GetProperty("device").GetString());
        Assert.Equal("EPERM", Calls(report).Last().GetProperty("errno").GetString());
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_non_root_container_user_gets_a_node_it_owns_with_its_umask(string runtime)
    {
        Clean("tmp/mine");
        var (run, report, _) = Supervise(runtime, SupervisionRuleset.From(RulesetSpec.BuiltinDevices),
            "umask 027; cd /tmp && mknod mine c 1 5 && stat -c '%t:%T %u:%g %a' mine", uid: 1000);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal("1:5 1000:1000 640\n", run.Stdout);
        Assert.Equal("1:5 1000:1000 640\n", ChildProcess.Run("stat", ["-c", "%t:%T %u:%g %a", Path.Combine(Rootfs, "tmp/mine")]).Out);
        Assert.Equal("mine", Assert.Single(Calls(report)).GetProperty("path").GetString());
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_tmpfs_mount_is_performed_in_the_containers_namespace_and_other_mounts_are_refused(string runtime)
    {
        var (run, report, _) = Supervise(runtime, SupervisionRuleset.From(Lab),
            "mkdir -p /mnt/t && mount -t tmpfs -o size=2m scratch /mnt/t && grep ' /mnt/t ' /proc/self/mountinfo && touch /mnt/t/f && echo mounted; " +
            "mount -t proc p /mnt/t 2>/dev/null || echo proc-refused; mount -t tmpfs t /tmp 2>/dev/null || echo tmp-refused; " +
            "mount --bind /bin /mnt/t 2>/dev/null || echo bind-refused; mount -t tmpfs -o uid=0 t /mnt/t 2>/dev/null || echo option-refused");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("tmpfs scratch rw,size=2048k", run.Stdout);
        Assert.Contains("nosuid,nodev,noexec", run.Stdout);
        Assert.EndsWith("mounted\nproc-refused\ntmp-refused\nbind-refused\noption-refused\n", run.Stdout);
        Assert.Equal(["performed", "refused", "refused", "refused", "refused"], Calls(report).Select(Result));
        // The host saw no mount: the tmpfs lived in the container's mount namespace only.
        Assert.DoesNotContain(Path.Combine(Rootfs, "mnt/t"), File.ReadAllText("/proc/self/mountinfo"));
    }

    /// <summary>Recursive, without following symlinks (a link to / left in the root would lead the count into the host).</summary>
    private static readonly EnumerationOptions NoLinks = new() { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_symlink_swapping_container_cannot_make_the_agent_create_a_node_outside_its_root(string runtime)
    {
        string tag = "skitswap" + Guid.NewGuid().ToString("N")[..8];
        Clean("d", "d.x");
        Directory.CreateDirectory(Path.Combine(Rootfs, "d"));
        var (run, report, _) = Supervise(runtime, SupervisionRuleset.From(RulesetSpec.BuiltinDevices),
            "cd /; (while :; do mv d d.x; ln -s / d; rm d; ln -s ../../../../../../.. d; rm d; mv d.x d; done) & " +
            $"i=0; while [ $i -lt 200 ]; do mknod /d/{tag}$i c 1 3 2>/dev/null; i=$((i+1)); done; kill $!; wait; [ -L d ] && rm d; [ -d d.x ] && mv d.x d; echo done");
        Assert.Equal("done\n", run.Stdout);
        var calls = Calls(report).ToList();
        Assert.Equal(200, calls.Count);
        // Outside the container's root on the host: nothing, at / (the link's target seen with the agent's root), at the
        // bundle, or above it.
        Assert.Empty(Directory.GetFileSystemEntries("/", tag + "*"));
        Assert.Empty(Directory.GetFileSystemEntries(fixture.Bundle.Dir.FullName, tag + "*"));
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(fixture.Bundle.Dir.FullName)!, tag + "*"));
        int inside = Directory.GetFileSystemEntries(Rootfs, tag + "*", NoLinks).Length;
        Assert.Equal(calls.Count(c => Result(c) == "performed"), inside);
        Assert.True(inside > 0, "no mknod succeeded");
        ChildProcess.Run("sh", ["-c", $"rm -f {Rootfs}/{tag}* {Rootfs}/d/{tag}*"]);
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_container_killed_mid_call_is_never_acted_on(string runtime)
    {
        Clean("tmp/late");
        var (run, report, _) = Supervise(runtime, Hostile.KillingTheCallerBeforeActing(RulesetSpec.BuiltinDevices), "mknod /tmp/late c 1 3; echo \"shell goes on after $?\"");
        Assert.Equal("shell goes on after 137\n", run.Stdout); // mknod died of SIGKILL (128 + 9)
        Assert.False(File.Exists(Path.Combine(Rootfs, "tmp/late")));
        Assert.Equal("target-gone", Result(Assert.Single(Calls(report))));
    }

    [Fact]
    public void Under_podman_with_runc_mknod_dev_null_is_created_by_the_agent_and_a_block_device_refused()
    {
        string? podman = new[] { "/usr/bin/podman", "/usr/local/bin/podman" }.FirstOrDefault(File.Exists);
        Assert.SkipWhen(podman is null, "podman is not installed (apt-get install -y podman; .ci/run installs it)");
        Assert.SkipUnless(OciRuntime.Runc.IsInstalled, OciRuntime.Runc.WhyMissing);
        var registry = new RulesetRegistry();
        using var host = AgentHost.Start(new AgentModeSessions { Supervise = SupervisedContainerSession.For(registry) }.Create);
        string profile = Path.Combine(host.Directory, "profile.json");
        File.WriteAllText(profile, host.Seccomp("supervise:devices", "mknod", "mknodat").ToJsonString());
        // OCI-RUNTIMES.md, "Podman": both ulimits (no CAP_SYS_RESOURCE here), no network, the rootfs last with an overlay.
        var run = ChildProcess.Run(podman!, ["--runtime", "runc", "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
            "--security-opt", "seccomp=" + profile, "--rootfs", Rootfs + ":O",
            "/bin/sh", "-c", "mknod /tmp/pnull c 1 3 && stat -c '%t:%T %u:%g %F' /tmp/pnull; mknod /tmp/psda b 8 0 || echo refused"],
            new ProcessOptions { Timeout = Timeout });
        var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
        var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
        output.WriteLine($"podman: exit {run.Exit}\n{run.Out}\n{run.Err}");
        Assert.Equal("1:3 0:0 character special file\nrefused\n", run.Out);
        Assert.Equal(ContainerEnd.Exited, finished.End);
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(host.OutputDirectory, serving.ContainerId + ".supervise.json"))).RootElement;
        Assert.Equal(["performed", "refused"], Calls(report).Select(Result));
        Assert.False(File.Exists(Path.Combine(Rootfs, "tmp/pnull"))); // the overlay kept the bundle's rootfs clean
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_container_naming_an_unknown_ruleset_is_refused_and_its_mknod_fails(string runtimeName)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        using var host = AgentHost.Start(new AgentModeSessions { Supervise = SupervisedContainerSession.For(new RulesetRegistry()) }.Create);
        var spec = new OciContainerSpec("/bin/sh", "-c", "mknod /tmp/nope c 1 3 || echo failed")
            .WithSeccomp(host.Seccomp("supervise:nosuch", "mknod", "mknodat"));
        Clean("tmp/nope");
        var run = host.Run(fixture.Bundle, runtime, spec, Timeout);
        var refusal = host.WaitFor(e => e.Message.Contains("unknown ruleset 'nosuch'"), Timeout);
        output.WriteLine($"{runtimeName}: {run}\n  {refusal.Kind}: {refusal.Message}");
        Assert.Contains("the agent knows devices", refusal.Message);
        Assert.Equal("failed\n", run.Stdout);
        Assert.Contains("Function not implemented", run.Stderr); // the refused container's listener is closed: ENOSYS
        Assert.False(File.Exists(Path.Combine(Rootfs, "tmp/nope")));
    }
}
