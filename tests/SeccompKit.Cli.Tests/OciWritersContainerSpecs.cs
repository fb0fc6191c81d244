using System.Text.Json.Nodes;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// Every command that writes OCI JSON, run as a user runs it with <c>--for RUNTIME</c> (the installed version), writes a
/// profile the installed runc and crun accept: each starts a busybox container that prints what it should. Covered:
/// <c>convert --to oci</c> of Docker's profile and of a .policy with 32-bit conditions (==, &gt;), <c>learn --for</c>,
/// <c>merge</c>, and the entries of <c>run --complain</c>'s suggested patch added to a learned profile.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class OciWritersContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-writers-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Runtimes() => InstalledRuntime.Names();

    private static OciRuntime Runtime(string name) => InstalledRuntime.Require(name);

    private ProcessResult Seccompkit(params string[] args)
    {
        var result = CliProcess.Run(_dir, TimeSpan.FromSeconds(120), args);
        output.WriteLine($"$ seccompkit {string.Join(' ', args)}\n  exit {result.Exit}; stderr: {result.Err.Trim()}");
        return result;
    }

    private string Written(params string[] args)
    {
        var (exit, _, err) = Seccompkit(args);
        Assert.True(exit == 0, err);
        string file = args[Array.IndexOf(args, "-o") + 1];
        return Path.Combine(_dir, file);
    }

    /// <summary>Runs <c>sh -c SCRIPT</c> in a busybox container under the profile; returns its standard output.</summary>
    private string Container(OciRuntime runtime, string profile, string script)
    {
        var json = File.ReadAllText(profile);
        var run = fixture.Bundle.Run(runtime, new OciContainerSpec("/bin/sh", "-c", script).WithSeccomp(JsonNode.Parse(json)), Timeout);
        output.WriteLine($"{runtime.Name} {runtime.Version} `{script}` under {Path.GetFileName(profile)}: {run}");
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Stdout;
    }

    private string Busybox => Path.Combine(fixture.Bundle.Rootfs, "bin", "busybox");

    [Theory, MemberData(nameof(Runtimes))]
    public void Dockers_profile_converted_for_the_runtime_runs_a_shell(string name)
    {
        var runtime = Runtime(name);
        var profile = Written("convert", CompileSpecs.Repo("data/profiles/docker-default.json"), "--to", "oci", "--for", name, "-o", "docker.json");
        Assert.Equal("hi\n", Container(runtime, profile, "echo hi; ls / >/dev/null"));
    }

    [Theory, MemberData(nameof(Runtimes))]
    public void A_policy_with_32_bit_conditions_converted_for_the_runtime_refuses_exactly_what_it_says(string name)
    {
        var runtime = Runtime(name);
        // busybox's mkdir -m MODE makes the directory 0777, then chmods it to MODE: chmod's mode (umode_t) is a 32-bit
        // argument, so these conditions are written as SCMP_CMP_MASKED_EQ comparisons with 32-bit masks.
        File.WriteAllText(Path.Combine(_dir, "modes.policy"), """
            default allow
            architectures x86_64, x86, x32
            errno(EACCES) { chmod(mode == 0o700) }
            errno(EPERM) { chmod(mode > 0o777) }
            """);
        var profile = Written("convert", "modes.policy", "--to", "oci", "--for", name, "-o", "modes.json");
        Assert.Contains("SCMP_CMP_MASKED_EQ", File.ReadAllText(profile));
        Assert.Equal("private refused\nsetuid refused\nmade\n",
            Container(runtime, profile, "rm -rf /a /b /c; mkdir -m 700 /a 2>/dev/null || echo private refused; mkdir -m 4755 /c 2>/dev/null || echo setuid refused; mkdir -m 755 /b && echo made"));
    }

    [Theory, MemberData(nameof(Runtimes))]
    public void A_profile_learned_for_the_runtime_runs_the_learned_script(string name)
    {
        var runtime = Runtime(name);
        const string script = "echo hi; ls / >/dev/null";
        var profile = Written("learn", "-q", "--for", name, "-o", "learned.json", "--", Busybox, "sh", "-c", script);
        Assert.Equal("hi\n", Container(runtime, profile, script));
    }

    [Theory, MemberData(nameof(Runtimes))]
    public void A_merge_of_two_learned_profiles_runs_both_scripts(string name)
    {
        var runtime = Runtime(name);
        const string one = "echo hi", two = "cat /etc/passwd | wc -l";
        Written("learn", "-q", "--for", name, "-o", "one.json", "--", Busybox, "sh", "-c", one);
        Written("learn", "-q", "--for", name, "-o", "two.json", "--", Busybox, "sh", "-c", two);
        var merged = Written("merge", "one.json", "two.json", "--for", name, "-o", "merged.json");
        Assert.Equal("hi\n", Container(runtime, merged, one));
        Assert.Equal(File.ReadAllLines(Path.Combine(fixture.Bundle.Rootfs, "etc", "passwd")).Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n",
            Container(runtime, merged, two).TrimStart());
    }

    [Theory, MemberData(nameof(Runtimes))]
    public void The_entries_of_a_complain_patch_added_to_the_profile_let_the_new_script_run(string name)
    {
        var runtime = Runtime(name);
        var profile = Written("learn", "-q", "--for", name, "-o", "base.json", "--", Busybox, "sh", "-c", "echo hi");
        var (exit, _, err) = Seccompkit("run", "--complain", "--for", name, "--profile", "base.json", "--", Busybox, "sh", "-c", "echo hi; mkdir d && rmdir d");
        Assert.Equal(0, exit);
        var entries = err.Split('\n').SkipWhile(l => !l.Contains("suggested patch", StringComparison.Ordinal))
            .Where(l => l.StartsWith("  {", StringComparison.Ordinal)).Select(l => JsonNode.Parse(l.Trim().TrimEnd(','))!).ToList();
        Assert.Contains(entries, e => e["names"]!.AsArray().Any(n => (string)n! == "mkdir"));

        const string script = "echo hi; mkdir /d && rmdir /d && echo done"; // (rmdir: the shared rootfs stays clean)
        var before = fixture.Bundle.Run(runtime, new OciContainerSpec("/bin/sh", "-c", script).WithSeccomp(JsonNode.Parse(File.ReadAllText(profile))), Timeout);
        Assert.DoesNotContain("done", before.Stdout); // the base profile refuses mkdir

        var patched = JsonNode.Parse(File.ReadAllText(profile))!;
        foreach (var e in entries) patched["syscalls"]!.AsArray().Add(e.DeepClone());
        string patchedFile = Path.Combine(_dir, "patched.json");
        File.WriteAllText(patchedFile, patched.ToJsonString());
        Assert.Equal("hi\ndone\n", Container(runtime, patchedFile, script));
    }
}
