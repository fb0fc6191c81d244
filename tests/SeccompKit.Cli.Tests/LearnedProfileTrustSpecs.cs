using System.Text.Json;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// What makes a learned profile trustworthy beyond the calls of one run: the baseline it always carries, namespaces that
/// stay closed unless learned (unshare, setns, clone3), and no_new_privs made visible for set-id programs.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LearnedProfileTrustSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-trust-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonElement Profile(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    private static IEnumerable<(string Name, string Action)> Entries(JsonElement oci) =>
        oci.GetProperty("syscalls").EnumerateArray().SelectMany(e => e.GetProperty("names").EnumerateArray().Select(n => (n.GetString()!, e.GetProperty("action").GetString()!)));

    [Fact]
    public void A_learned_profile_carries_the_baseline_names_it_and_leaves_it_out_when_asked()
    {
        var r = CliProcess.Run(_dir, "learn", "-o", "true.json", "--", "true");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("baseline: also allowed though the program did not make them", r.Err);
        Assert.Contains("restart_syscall", r.Err);
        var names = Entries(Profile(Path.Combine(_dir, "true.json"))).Where(e => e.Action == "SCMP_ACT_ALLOW").Select(e => e.Name).ToHashSet();
        foreach (var n in new[] { "rt_sigreturn", "restart_syscall", "exit_group", "exit", "clock_gettime", "futex" }) Assert.Contains(n, names);

        var bare = CliProcess.Run(_dir, "learn", "-o", "bare.json", "--no-baseline", "--", "true");
        Assert.True(bare.Exit == 0, bare.Err);
        Assert.DoesNotContain("baseline:", bare.Err);
        var bareNames = Entries(Profile(Path.Combine(_dir, "bare.json"))).Select(e => e.Name).ToHashSet();
        Assert.DoesNotContain("restart_syscall", bareNames);

        // The JSON report lists the members with their reasons.
        var json = CliProcess.Run(_dir, "learn", "--format", "json", "-o", "r.json", "--", "true");
        Assert.True(json.Exit == 0, json.Err);
        var baseline = Profile(Path.Combine(_dir, "r.json")).GetProperty("baseline").EnumerateArray().ToList();
        Assert.Contains(baseline, b => b.GetProperty("syscall").GetString() == "restart_syscall" && b.GetProperty("reason").GetString()!.Contains("restart_syscall(2)"));
    }

    [Fact]
    public void A_profile_learned_from_unshare_m_refuses_unshare_U()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "unshare -m needs root (CI runs as root)");
        var learned = CliProcess.Run(_dir, "learn", "-q", "-o", "un.json", "--", "unshare", "-m", "true");
        Assert.True(learned.Exit == 0, learned.Err);
        var same = CliProcess.Run(_dir, "run", "--profile", "un.json", "--", "unshare", "-m", "true");
        Assert.True(same.Exit == 0, same.Err);
        var user = CliProcess.Run(_dir, "run", "--profile", "un.json", "--", "unshare", "-U", "true");
        // unshare(CLONE_NEWUSER) fails with EPERM and unshare exits 1; its error message is refused too: a run of
        // `unshare -m true` never wrote to standard error, so write is not in the profile.
        Assert.Equal(1, user.Exit);
        var net = CliProcess.Run(_dir, "run", "--profile", "un.json", "--", "unshare", "-n", "true");
        Assert.Equal(1, net.Exit);
        // The rule is conditional on exactly CLONE_NEWNS among the namespace flags.
        var unshare = Profile(Path.Combine(_dir, "un.json")).GetProperty("syscalls").EnumerateArray()
            .Single(e => e.GetProperty("names").EnumerateArray().Any(n => n.GetString() == "unshare"));
        var arg = Assert.Single(unshare.GetProperty("args").EnumerateArray());
        Assert.Equal("SCMP_CMP_MASKED_EQ", arg.GetProperty("op").GetString());
        Assert.Equal(0x20000UL, arg.GetProperty("valueTwo").GetUInt64());
    }

    [Fact]
    public void Clone3_is_answered_ENOSYS_while_learning_and_in_the_profile_and_threads_still_run()
    {
        string[] threads = ["python3", "-c", "import threading; t = threading.Thread(target=print, args=('from a thread',)); t.start(); t.join(); print('joined')"];
        var learned = CliProcess.Run(_dir, ["learn", "--default-action", "kill-process", "-o", "t.json", "--", .. threads]);
        Assert.True(learned.Exit == 0, learned.Err);
        Assert.Equal("from a thread\njoined\n", learned.Out);
        Assert.Contains("clone3 was answered ENOSYS", learned.Err);
        var entries = Entries(Profile(Path.Combine(_dir, "t.json"))).ToList();
        Assert.Contains(("clone3", "SCMP_ACT_ERRNO"), entries);
        Assert.Contains(("clone", "SCMP_ACT_ALLOW"), entries); // glibc's fallback, learned with its flags
        var under = CliProcess.Run(_dir, ["run", "--profile", "t.json", "--", .. threads]);
        Assert.True(under.Exit == 0, under.Err);
        Assert.Equal("from a thread\njoined\n", under.Out);

        var allowed = CliProcess.Run(_dir, ["learn", "--allow-clone3", "-o", "t3.json", "--", .. threads]);
        Assert.True(allowed.Exit == 0, allowed.Err);
        Assert.Contains("clone3 is allowed without conditions", allowed.Err);
        Assert.Contains(("clone3", "SCMP_ACT_ALLOW"), Entries(Profile(Path.Combine(_dir, "t3.json"))));
    }

    [Fact]
    public void Learning_a_set_id_program_without_root_warns_that_no_new_privs_took_its_privileges()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "switching to uid 65534 with setpriv needs root (CI runs as root)");
        Assert.SkipUnless(File.Exists("/usr/bin/chage"), "chage (set-group-ID shadow, from Debian's passwd package) is not installed");
        var work = Directory.CreateDirectory($"/tmp/seccompkit-nnp-{Guid.NewGuid():N}").FullName;
        try
        {
            File.SetUnixFileMode(work, (UnixFileMode)0b1_111_111_111); // 1777: sticky, or seccompkit refuses to write there (anyone could swap its files)
            var (cli, env) = LearnSpecs.CliForNobody(work);
            // chage is set-group-ID shadow: under no_new_privs it cannot read /etc/shadow, so what is learned is its failure.
            var direct = LearnSpecs.Exec(cli, ["learn", "-q", "-o", "c.json", "--", "chage", "-l", "nobody"], work, env: env, asUid: LearnSpecs.Nobody);
            Assert.Contains("warning: /usr/bin/chage is set-group-ID (group", direct.Err);
            Assert.Contains("it ran without those privileges", direct.Err);
            Assert.Contains("As root, learn with --no-nnp", direct.Err);
            Assert.True(File.Exists(Path.Combine(work, "c.json")), direct.Err);
            // Executed by a child: seen too (every execve is watched).
            var child = LearnSpecs.Exec(cli, ["learn", "-q", "-o", "s.json", "--", "sh", "-c", "chage -l nobody; true"], work, env: env, asUid: LearnSpecs.Nobody);
            Assert.Equal(0, child.Exit);
            Assert.Contains("warning: /usr/bin/chage is set-group-ID", child.Err); // sh passes execve the path it found on PATH
            // A plain program: no warning.
            var plain = LearnSpecs.Exec(cli, ["learn", "-q", "-o", "t.json", "--", "true"], work, env: env, asUid: LearnSpecs.Nobody);
            Assert.DoesNotContain("warning", plain.Err);
            // --no-nnp needs root.
            var refused = LearnSpecs.Exec(cli, ["learn", "--no-nnp", "-o", "n.json", "--", "true"], work, env: env, asUid: LearnSpecs.Nobody);
            Assert.Equal(2, refused.Exit);
            Assert.Contains("--no-nnp needs root", refused.Err);
            // run warns about the program itself.
            var run = LearnSpecs.Exec(cli, ["run", "--profile", "c.json", "--", "chage", "-l", "nobody"], work, env: env, asUid: LearnSpecs.Nobody);
            Assert.Contains("warning: /usr/bin/chage is set-group-ID", run.Err);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void As_root_no_nnp_runs_a_set_uid_program_with_its_privileges_and_says_so()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "--no-nnp is for root (CI runs as root)");
        // As root nothing is raised by set-id (root already has every id and capability), so there is nothing to warn about.
        var r = CliProcess.Run(_dir, "learn", "-o", "p.json", "--no-nnp", "--", "/usr/bin/passwd", "-S", "root");
        Assert.True(r.Exit == 0, r.Err);
        Assert.DoesNotContain("warning", r.Err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "p.json")));
        var report = CliProcess.Run(_dir, "learn", "--format", "json", "-o", "r.json", "--no-nnp", "--", "true");
        Assert.True(report.Exit == 0, report.Err);
        Assert.False(Profile(Path.Combine(_dir, "r.json")).GetProperty("noNewPrivileges").GetBoolean());
    }
}
