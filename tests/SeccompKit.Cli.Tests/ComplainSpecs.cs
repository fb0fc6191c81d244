
namespace SeccompKit.Cli.Tests;

/// <summary><c>seccompkit run --complain</c>: what the policy would refuse runs, and is reported with a patch.</summary>
public sealed class ComplainSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-complain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProcessResult Exec(params string[] args) => CliProcess.Run(_dir, TimeSpan.FromSeconds(60), args);

    private string LearnTrue(string defaultAction)
    {
        string profile = Path.Combine(_dir, "true.json");
        var learned = Exec("learn", "-q", "--default-action", defaultAction, "-o", profile, "--", "/bin/true");
        Assert.True(learned.Exit == 0, learned.Err);
        return profile;
    }

    [Fact]
    public void What_the_profile_would_kill_runs_and_is_reported_with_a_patch()
    {
        // A profile learned from /bin/true kills anything else; in complain mode mkdir and the shell's calls still run.
        string profile = LearnTrue("kill");
        var r = Exec("run", "--complain", "--profile", profile, "--", "/bin/sh", "-c", "mkdir made && echo ok; exit 3");
        Assert.Equal(3, r.Exit);
        Assert.Equal("ok\n", r.Out);
        Assert.True(Directory.Exists(Path.Combine(_dir, "made")));
        Assert.Contains("would have refused", r.Err);
        var mkdirLine = r.Err.Split('\n').Single(l => l.Contains(" mkdir ", StringComparison.Ordinal));
        Assert.Contains("KILL_PROCESS", mkdirLine);
        Assert.Contains("suggested patch", r.Err);
        Assert.Contains("\"mkdir\"", r.Err);
        Assert.Contains("seccompkit learn --from", r.Err);
    }

    [Fact]
    public void A_policy_without_this_machines_architecture_is_refused_as_run_refuses_it_before_anything_runs()
    {
        // Complain and run share one check (PolicyRunner.CheckArchitecture): same exit code, same advice.
        string policy = Path.Combine(_dir, "arm.policy");
        File.WriteAllText(policy, "architectures aarch64\ndefault allow\n");
        var complain = Exec("run", "--complain", "--policy", policy, "--", "/bin/mkdir", "complained");
        var run = Exec("run", "--policy", policy, "--", "/bin/mkdir", "ran");

        Assert.Equal((ExitCodes.RunArchMissing, ExitCodes.RunArchMissing), (complain.Exit, run.Exit));
        Assert.False(Directory.Exists(Path.Combine(_dir, "complained")), "the program ran in complain mode");
        Assert.False(Directory.Exists(Path.Combine(_dir, "ran")), "the program ran");
        Assert.Contains("but this machine is x86_64: every syscall would get the bad-arch action. Add x86_64 to the policy's architectures", complain.Err);
        Assert.Equal(run.Err, complain.Err);
    }

    [Fact]
    public void The_suggested_patch_makes_the_profile_complete()
    {
        string profile = LearnTrue("errno");
        string[] command = ["/bin/sh", "-c", "mkdir -p made; ls > /dev/null; echo done"];
        var complain = Exec(["run", "--complain", "--profile", profile, "--", .. command]);
        Assert.Equal(0, complain.Exit);
        // Apply the patch: the profile's own entries plus the suggested ones.
        var patchLines = complain.Err.Split('\n').SkipWhile(l => !l.Contains("suggested patch", StringComparison.Ordinal)).Skip(2)
            .TakeWhile(l => l.StartsWith("  {", StringComparison.Ordinal)).Select(l => l.Trim().TrimEnd(','));
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(profile))!;
        foreach (var entry in patchLines) doc["syscalls"]!.AsArray().Add(System.Text.Json.Nodes.JsonNode.Parse(entry));
        string patched = Path.Combine(_dir, "patched.json");
        File.WriteAllText(patched, doc.ToJsonString());
        var again = Exec(["run", "--complain", "--profile", patched, "--", .. command]);
        Assert.Equal(0, again.Exit);
        Assert.Equal("done\n", again.Out);
        Assert.Contains("refused nothing", again.Err);
    }

    [Fact]
    public void The_patch_is_written_for_the_named_runtime_and_for_needs_complain()
    {
        string profile = LearnTrue("errno");
        var r = Exec("run", "--complain", "--for", "crun@1.8.1", "--profile", profile, "--", "/bin/sh", "-c", "mkdir -p made");
        Assert.Equal(0, r.Exit);
        Assert.Contains("suggested patch for crun 1.8.1", r.Err);
        var usage = Exec("run", "--for", "crun", "--profile", profile, "--", "/bin/true");
        Assert.Equal(2, usage.Exit);
        Assert.Contains("--for names the runtime of --complain's suggested patch", usage.Err);
    }

    [Fact]
    public void Complain_and_log_do_not_mix()
    {
        string profile = LearnTrue("errno");
        var r = Exec("run", "--complain", "--log", "--profile", profile, "--", "/bin/true");
        Assert.Equal(2, r.Exit);
        Assert.Contains("--complain and --log", r.Err);
    }
}
