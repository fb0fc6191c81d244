using System.Diagnostics;
using System.Text.Json;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// Issue 17, defect 8: Ctrl-C (a second one at the latest) ends `learn` with the profile written, whatever the program and
/// its descendants do. learn runs as a terminal's foreground job (jobctl: its own process group, default dispositions);
/// SIGINT goes to the whole group, as a terminal's Ctrl-C does.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LearnInterruptSpecs : IDisposable
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli");
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-learn-interrupt-").FullName;

    public void Dispose()
    {
        KillLeftovers();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Whatever the programs left running (they carry the directory in their command lines).</summary>
    private void KillLeftovers()
    {
        foreach (var d in Directory.GetDirectories("/proc").Select(Path.GetFileName))
            if (int.TryParse(d, out int pid) && pid != Environment.ProcessId && Procfs.CommandLine(pid).Contains(_dir, StringComparison.Ordinal))
                Procfs.TryKill(pid, 9);
    }

    private sealed record Interrupted(int Exit, string Err, double SecondsAfterLast, string Profile);

    /// <summary>Starts learn on <paramref name="script"/>, waits for its marker, sends SIGINT to the group <paramref name="times"/> times.</summary>
    private Interrupted Learn(string script, int times, bool complain = false, bool json = false)
    {
        string profile = Path.Combine(_dir, "p.json");
        // run --complain under a profile that refuses everything: every call is reported, the program runs as under learn.
        string refuseAll = Path.Combine(_dir, "refuse-all.json");
        if (complain) File.WriteAllText(refuseAll, "{\"defaultAction\": \"SCMP_ACT_ERRNO\"}\n");
        string[] command = complain ? [Cli, "run", "--complain", "--profile", refuseAll] : [Cli, "learn", .. json ? new[] { "--format", "json" } : [], "-o", profile];
        string started = Path.Combine(_dir, "started");
        // The programs' sleeps run as DIR/sleep, so that Dispose finds whatever outlived the test.
        string sleep = Path.Combine(_dir, "sleep");
        if (!File.Exists(sleep)) File.CreateSymbolicLink(sleep, "/bin/sleep");
        using var job = ChildProcess.Start(SignalHelpers.JobControl, [.. command, "--", "sh", "-c", script.Replace("STARTED", started, StringComparison.Ordinal).Replace("SLEEP", sleep, StringComparison.Ordinal)],
            new ProcessOptions { Timeout = TimeSpan.FromSeconds(90) });
        Assert.True(Procfs.WaitFor(() => File.Exists(started) || job.Process.HasExited, TimeSpan.FromSeconds(60)), "the program did not start");
        Assert.False(job.Process.HasExited, "learn ended before the signal");
        int group = Procfs.Children(job.Pid).Single();
        Thread.Sleep(300); // the program is in its loop (or has exited, leaving its child)
        var clock = new Stopwatch();
        for (int i = 0; i < times; i++)
        {
            if (i > 0) Thread.Sleep(500);
            Procfs.TryKill(-group, 2);
            clock.Restart();
        }
        bool ended = job.Process.WaitForExit(TimeSpan.FromSeconds(15));
        double after = clock.Elapsed.TotalSeconds;
        if (!ended)
        {
            job.Kill();
            Assert.Fail($"learn still ran 15 s after the last of {times} SIGINT(s): nothing is written");
        }
        KillLeftovers(); // a descendant that outlives learn holds the output pipes open
        var r = job.Wait();
        return new Interrupted(r.Exit, r.Err, after, File.Exists(profile) ? File.ReadAllText(profile) : "");
    }

    private static void AssertProfile(string text, string err)
    {
        Assert.True(text.Length > 0, "no profile written: " + err);
        try { Assert.Contains("execve", OciImporter.Import(text).Policy.SyscallNames); }
        catch (JsonException e) { Assert.Fail($"the profile is not JSON ({e.Message}): {err}"); }
    }

    [Fact]
    public void A_second_Ctrl_C_ends_learning_a_program_that_ignores_SIGINT_and_writes_the_profile()
    {
        // The shell ignores SIGINT (and so does every child it starts), and loops for ever.
        var r = Learn("trap '' INT; : > STARTED; while :; do SLEEP 0.2; done", times: 2);

        Assert.True(r.SecondsAfterLast < 10, $"{r.SecondsAfterLast:0.0} s after the second SIGINT");
        AssertProfile(r.Profile, r.Err);
        Assert.Contains("a second SIGINT: stopped the program (SIGKILL)", r.Err);
        Assert.Equal(128 + 9, r.Exit); // the program's status: killed
    }

    [Fact]
    public void A_second_Ctrl_C_ends_run_complain_with_a_message_saying_it_killed_the_program()
    {
        var r = Learn("trap '' INT; : > STARTED; while :; do SLEEP 0.2; done", times: 2, complain: true);

        Assert.True(r.SecondsAfterLast < 10, $"{r.SecondsAfterLast:0.0} s after the second SIGINT");
        Assert.Contains("seccompkit: complain: a second SIGINT: stopped the program (SIGKILL)", r.Err);
        Assert.Contains("would have refused", r.Err); // and the report follows
        Assert.Equal(128 + 9, r.Exit);
    }

    [Fact]
    public void One_Ctrl_C_ends_learning_when_the_program_exited_and_a_descendant_ignores_SIGINT()
    {
        // The example: a non-interactive shell starts `&` jobs with SIGINT ignored; the program exits at once.
        var r = Learn("SLEEP 1000 & : > STARTED; exit 0", times: 1);

        Assert.True(r.SecondsAfterLast < 10, $"{r.SecondsAfterLast:0.0} s after the SIGINT");
        AssertProfile(r.Profile, r.Err);
        Assert.Contains("stopped learning on SIGINT", r.Err);
        Assert.Equal(0, r.Exit);
    }

    [Fact]
    public void A_second_Ctrl_C_ends_learning_while_the_program_waits_for_a_child_that_left_the_session()
    {
        // The child is in a session of its own (no terminal signal reaches it); the program ignores SIGINT and waits for it.
        var r = Learn("trap '' INT; setsid SLEEP 1000 & : > STARTED; wait", times: 2);

        Assert.True(r.SecondsAfterLast < 10, $"{r.SecondsAfterLast:0.0} s after the second SIGINT");
        AssertProfile(r.Profile, r.Err);
        Assert.Contains("a second SIGINT: stopped the program (SIGKILL)", r.Err);
    }

    [Fact]
    public void The_json_report_says_partial_when_a_second_Ctrl_C_killed_the_program()
    {
        var r = Learn("trap '' INT; : > STARTED; while :; do SLEEP 0.2; done", times: 2, json: true);

        using var report = JsonDocument.Parse(r.Profile);
        Assert.True(report.RootElement.GetProperty("partial").GetBoolean(), r.Err);
        Assert.Equal(9, report.RootElement.GetProperty("exit").GetProperty("signal").GetInt32());
    }

    [Fact]
    public void The_json_report_says_partial_when_learning_stopped_waiting_for_a_descendant()
    {
        var r = Learn("SLEEP 1000 & : > STARTED; exit 0", times: 1, json: true);

        using var report = JsonDocument.Parse(r.Profile);
        Assert.True(report.RootElement.GetProperty("partial").GetBoolean(), r.Err);
    }
}
