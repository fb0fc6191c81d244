using System.Text.Json.Nodes;

namespace SeccompKit.Cli.Tests;

/// <summary><c>seccompkit learn --for runc|crun</c>: the runtime's measured syscalls join the learned profile.</summary>
public sealed class LearnForSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-learnfor-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProcessResult Exec(params string[] args) => CliProcess.Run(_dir, TimeSpan.FromSeconds(60), args);

    private static HashSet<string> Names(string profile) =>
        JsonNode.Parse(File.ReadAllText(profile))!["syscalls"]!.AsArray().SelectMany(e => e!["names"]!.AsArray().Select(n => (string)n!)).ToHashSet();

    [Theory]
    [InlineData("runc", "setgroups")]   // runc without no_new_privs drops groups after the install
    [InlineData("crun", "setresuid")]
    public void The_runtime_set_is_added_and_reported(string runtime, string runtimeOnly)
    {
        string plain = Path.Combine(_dir, "plain.json"), boxed = Path.Combine(_dir, "boxed.json");
        Assert.Equal(0, Exec("learn", "-q", "-o", plain, "--", "/bin/busybox", "true").Exit);
        var r = Exec("learn", "--for", runtime, "-o", boxed, "--", "/bin/busybox", "true");
        Assert.True(r.Exit == 0, r.Err);
        Assert.DoesNotContain(runtimeOnly, Names(plain));
        Assert.Contains(runtimeOnly, Names(boxed));
        Assert.Subset(Names(boxed), Names(plain));
        Assert.Contains($"--for {runtime}:", r.Err);
        Assert.Contains(runtimeOnly, r.Err); // named among those added
    }

    [Fact]
    public void Learning_from_dockers_profile_adds_only_what_it_refused()
    {
        // Docker's profile refuses unshare (CLONE_NEWUSER needs CAP_SYS_ADMIN there); learning `unshare -U true` from it
        // notifies only that, and the result (Docker's rules, its ENOSYS cutoffs for x86/x32, plus unshare) runs it.
        string docker = CompileSpecs.Repo("data/profiles/docker-default.json"), learned = Path.Combine(_dir, "d.json");
        var r = Exec("learn", "--from", docker, "-o", learned, "--", "unshare", "-U", "true");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("replayed 1 distinct recorded call(s)", r.Err);
        Assert.Contains("unshare", Names(learned));
        Assert.Equal(1, Exec("run", "-q", "--profile", docker, "--", "unshare", "-U", "true").Exit);
        var again = Exec("run", "-q", "--profile", learned, "--", "unshare", "-U", "true");
        Assert.True(again.Exit == 0, again.Err);
    }

    [Fact]
    public void A_named_version_writes_for_that_version_and_warns_that_the_set_was_measured_for_another()
    {
        string profile = Path.Combine(_dir, "v12.json");
        var r = Exec("learn", "--for", "runc@1.2.0", "-o", profile, "--", "/bin/busybox", "true");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("measured for runc 1.1.5+ds1, not runc 1.2.0", r.Err);
        var json = JsonNode.Parse(File.ReadAllText(profile))!;
        Assert.Empty(json["flags"]!.AsArray());                                     // explicit: absent would mean SPEC_ALLOW to runc 1.2
        Assert.Contains("SCMP_ARCH_X86_64", json["architectures"]!.AsArray().Select(a => (string)a!)); // runc 1.2 stubs the native arch anyway
    }

    [Fact]
    public void An_unknown_runtime_is_a_usage_error_listing_the_known_ones()
    {
        var r = Exec("learn", "--for", "docker", "-o", Path.Combine(_dir, "x.json"), "--", "/bin/true");
        Assert.Equal(2, r.Exit);
        Assert.Contains("no model of the OCI runtime 'docker'; known: crun 1.0.0-1.29.1, runc 1.1.0-1.5.1", r.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "x.json")));
    }
}
