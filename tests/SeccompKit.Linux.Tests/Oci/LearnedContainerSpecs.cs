using System.Text.Json.Nodes;
using SeccompKit.Learning;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Learn;
using SeccompKit.Linux.Tests.Launch;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;

namespace SeccompKit.Linux.Tests.Oci;

/// <summary>
/// The proof for <c>learn --for</c>: a profile learned by <see cref="LearningSession"/> for busybox's shell (run on
/// the host, from the bundle's rootfs) plus the runtime's measured set starts and runs the container under the real runc
/// and crun; the learned profile alone does not (the runtime's own calls are missing).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LearnedContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private const string Script = "echo hi; ls / >/dev/null; cat /etc/passwd | wc -l >/dev/null";

    public static TheoryData<string, bool, int> Configurations() => new()
    {
        { "runc", true, 0 }, { "runc", false, 1000 }, { "crun", true, 0 }, { "crun", false, 1000 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void A_profile_learned_for_busybox_with_the_runtime_set_starts_and_runs_the_container(string runtimeName, bool noNewPrivileges, int uid)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var calls = LearnBusybox();
        var target = OciTarget.Get(runtimeName, runtime.Version);
        var set = RuntimeSyscalls.For(target);
        var learned = ProfileSynthesizer.Synthesize(calls, new SynthesisOptions
        {
            DefaultAction = PolicyAction.Errno(1),
            Extra = [.. set.Syscalls.Select(n => (n, runtimeName))],
            Target = target,
        }).Policy;
        Assert.True(ReplayCheck.Run(learned, calls).AllAllowed);
        var spec = new OciContainerSpec("/bin/sh", "-c", Script) { NoNewPrivileges = noNewPrivileges, Uid = uid };

        var run = fixture.Bundle.Run(runtime, spec.WithSeccomp(JsonNode.Parse(OciExporter.Export(learned, target).Json)), Timeout);
        output.WriteLine($"{runtimeName} {runtime.Version} {spec.Describe()}: {learned.SyscallNames.Count()} syscalls learned+runtime: {run}");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("hi\n", run.Stdout);

        // Without the runtime's set the same learned profile does not start the container: runc's Go runtime always needs
        // more than busybox does; crun needs more only without no_new_privs (capset, setresuid/gid follow the install;
        // with it, crun only closes descriptors and execs after the install, as busybox itself does).
        var alone = ProfileSynthesizer.Synthesize(calls, new SynthesisOptions { DefaultAction = PolicyAction.Errno(1), Target = target }).Policy;
        var missing = set.Syscalls.Except(alone.SyscallNames).ToList();
        var without = fixture.Bundle.Run(runtime, spec.WithSeccomp(JsonNode.Parse(OciExporter.Export(alone, target).Json)), Timeout);
        output.WriteLine($"without the {runtimeName} set ({string.Join(' ', missing)} missing): {without}");
        if (runtimeName == "runc" || !noNewPrivileges)
        {
            Assert.NotEqual(0, without.ExitCode);
            Assert.DoesNotContain("hi", without.Stdout);
        }
        else Assert.Equal(0, without.ExitCode);
    }

    /// <summary>Learns the script run by the rootfs's busybox on the host (the same static binary the container runs).</summary>
    private LearnedCalls LearnBusybox()
    {
        string sh = Path.Combine(fixture.Bundle.Rootfs, "bin", "busybox");
        using var pending = LearningSession.Prepare(sh, ["sh", "-c", Script + " >/dev/null"], new LearnOptions { Stage = new StageCommand(Victim.Path, []) });
        using var session = pending.Start();
        var status = session.WaitForExit();
        Assert.Equal(0, status.ExitCode);
        return session.Snapshot();
    }
}
