using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// Issue 17, defect 7, as the CLI shows it: `learn --from BASE` ran the whole program and then wrote nothing (124) when an
/// OCI base listed the native ABI (its runc ENOSYS cutoff refused every learned call above the base's highest syscall),
/// or when a policy base's bad-architecture action cannot be written as OCI (found only at the export).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LearnFromBaseCommandSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-learn-from-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void An_OCI_base_listing_the_native_ABI_gives_a_profile_the_program_runs_under()
    {
        File.WriteAllText(Path.Combine(_dir, "base.json"), """
            {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
             "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}
            """);

        var learned = CliProcess.Run(_dir, "learn", "-q", "--from", "base.json", "-o", "p.json", "--", "/bin/echo", "hello");
        Assert.True(learned.Exit == 0, learned.Err);
        var profile = OciImporter.Import(File.ReadAllText(Path.Combine(_dir, "p.json"))).Policy;
        Assert.Contains("execve", profile.SyscallNames);

        var run = CliProcess.Run(_dir, "run", "--profile", "p.json", "--", "/bin/echo", "hello");
        Assert.True(run.Exit == 0, run.Err);
        Assert.Equal("hello\n", run.Out);
    }

    [Fact]
    public void A_policy_base_whose_bad_architecture_action_OCI_cannot_express_is_refused_before_the_program_runs()
    {
        File.WriteAllText(Path.Combine(_dir, "base.policy"), "default errno(EPERM)\non-bad-arch kill-process\nallow { read, write }\n");

        var r = CliProcess.Run(_dir, "learn", "--from", "base.policy", "-o", "p.json", "--", "sh", "-c", ": > ran");

        Assert.True(r.Exit == 121, $"exit {r.Exit}: {r.Err}");
        Assert.False(File.Exists(Path.Combine(_dir, "ran")), "the program ran");
        Assert.False(File.Exists(Path.Combine(_dir, "p.json")));
        Assert.Contains("--from base.policy: no profile learned on it can be written as OCI for runc", r.Err);
        Assert.Contains("the program was not run", r.Err);
        Assert.Contains("write `on-bad-arch kill-thread`", r.Err); // the statement to fix
    }

    [Fact]
    public void The_same_base_is_learned_on_when_the_profile_is_written_in_the_policy_language()
    {
        File.WriteAllText(Path.Combine(_dir, "base.policy"), "default errno(EPERM)\non-bad-arch kill-process\nallow { read, write }\n");

        var r = CliProcess.Run(_dir, "learn", "-q", "--format", "policy", "--from", "base.policy", "-o", "p.policy", "--", "sh", "-c", ": > ran");

        Assert.True(r.Exit == 0, r.Err);
        Assert.True(File.Exists(Path.Combine(_dir, "ran")));
        Assert.Contains("on-bad-arch kill-process", File.ReadAllText(Path.Combine(_dir, "p.policy")));
    }
}
