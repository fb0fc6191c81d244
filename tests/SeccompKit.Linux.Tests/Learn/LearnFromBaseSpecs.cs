using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Learn;
using SeccompKit.Linux.Tests.Launch;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Learn;

/// <summary>
/// Issue 17, defect 7: <see cref="Learner.Learn"/> with a base ran the whole program and then had nothing to write when
/// (a) an OCI base listed the native ABI, whose runc ENOSYS cutoff stayed at the base's highest syscall, so every learned
/// call above it failed the replay; (b) the base's bad-architecture action cannot be written as OCI, found only at the
/// export after the run.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LearnFromBaseSpecs : IDisposable
{
    private static readonly StageCommand Stage = new(Victim.Path, []);
    private readonly string _dir = Directory.CreateTempSubdirectory("learn-from-base-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Counts whether the launch was asked for.</summary>
    private sealed class Watch : LearnObserver
    {
        public bool Asked { get; private set; }
        public override bool ShouldStart() => Asked = true;
    }

    [Fact]
    public void An_OCI_base_that_lists_the_native_ABI_lets_the_learned_calls_above_its_highest_syscall_run()
    {
        // read and write only (numbers 0 and 1): runc answers ENOSYS above write on each listed ABI, x86_64 included.
        var basePolicy = OciImporter.Import("""
            {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
             "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}
            """).Policy;
        Assert.True(basePolicy.EnosysAbove.ContainsKey(Architecture.X86_64));

        var result = Learner.Learn(new LearnRequest { Program = "/bin/true", Base = basePolicy, Stage = Stage });

        Assert.Equal(LearnOutcome.Recorded, result.Outcome);
        Assert.True(result.Verified, "replay refused: " + string.Join("; ", result.Learned!.Replay.Refused.Take(5).Select(r => $"{r.Syscall.Display} -> {r.Action}")));
        // The cutoff moved up to the learned calls, as runc derives it from the written profile's highest syscall.
        int highest = result.Calls.Syscalls.Where(s => s.Abi == Architecture.X86_64).Max(s => s.Nr);
        Assert.True(result.Profile!.EnosysAbove[Architecture.X86_64] >= (uint)highest);
        // And it can be written for runc, and reads back as the same cutoff.
        var export = result.ExportOci();
        Assert.Equal(result.Profile.EnosysAbove[Architecture.X86_64], OciImporter.Import(export.Json).Policy.EnosysAbove[Architecture.X86_64]);
    }

    [Fact]
    public void A_base_whose_bad_architecture_action_OCI_cannot_express_is_refused_before_the_program_runs()
    {
        string marker = Path.Combine(_dir, "ran");
        var basePolicy = PolicyLanguage.Parse("default errno(EPERM)\non-bad-arch kill-process\nallow { read, write }\n", "base.policy");
        var watch = new Watch();

        var e = Assert.Throws<OciExportException>(() => Learner.Learn(
            new LearnRequest { Program = "/bin/sh", Arguments = ["-c", $": > {marker}"], Base = basePolicy, Stage = Stage }, watch));

        Assert.False(watch.Asked, "the launch was asked for: the check came after the start");
        Assert.False(File.Exists(marker), "the program ran");
        Assert.Contains("on-bad-arch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_base_is_learned_on_when_the_profile_is_not_written_as_OCI()
    {
        var basePolicy = PolicyLanguage.Parse("default errno(EPERM)\non-bad-arch kill-process\nallow { read, write }\n", "base.policy");

        var result = Learner.Learn(new LearnRequest { Program = "/bin/true", Base = basePolicy, Stage = Stage, ExportsOci = false });

        Assert.True(result.Verified);
        Assert.Equal(PolicyAction.KillProcess, result.Profile!.DeclaredBadArchAction);
    }
}
