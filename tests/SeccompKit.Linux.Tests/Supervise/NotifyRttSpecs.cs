using System.Text.Json;

namespace SeccompKit.Linux.Tests.Supervise;

/// <summary>
/// The round-trip benchmark of bench/learn does what it claims: native/notify-rtt's target makes its notified getppid
/// calls, and each supervisor — notify-rtt's libseccomp loop (the C anchor, with and without its poll) and
/// bench/learn/SeccompKit.LearnBench's NotificationSupervisor — answers every one of them, with the value or CONTINUE,
/// SYNC_WAKE_UP off or on. Nothing here is timed.
/// </summary>
public sealed class NotifyRttSpecs
{
    private const int Batches = 3, Calls = 50;

    // The target's warm-up batch, its timed batches and its first call.
    private const long Notified = (Batches + 1) * Calls + 1;

    public static TheoryData<string, string, string[]> Supervisors => new()
    {
        { "C, CONTINUE", "c", ["--respond", "continue"] },
        { "C, a value, SYNC_WAKE_UP", "c", ["--respond", "return", "--sync"] },
        { "C with poll, a value", "c", ["--poll", "--respond", "return"] },
        { "C with poll, CONTINUE, SYNC_WAKE_UP", "c", ["--poll", "--sync", "--respond", "continue"] },
        { "C raw ioctls, CONTINUE, SYNC_WAKE_UP", "c", ["--raw", "--sync", "--respond", "continue"] },
        { "C raw ioctls on two threads, a value", "c", ["--raw", "--threads", "2", "--respond", "return"] },
        { "SeccompKit, CONTINUE", "seccompkit", ["--respond", "continue"] },
        { "SeccompKit with spare threads allowed, CONTINUE, SYNC_WAKE_UP", "seccompkit", ["--concurrency", "4", "--sync", "--respond", "continue"] },
        { "SeccompKit, a value, SYNC_WAKE_UP", "seccompkit", ["--sync", "--respond", "return"] },
    };

    [Theory]
    [MemberData(nameof(Supervisors))]
    public void Every_notified_call_of_the_target_is_answered(string desc, string impl, string[] flags)
    {
        string[] target = [NotifyRtt.Path, "target", "--label", "spec", "--batches", $"{Batches}", "--calls", $"{Calls}"];
        var (code, lines, err) = impl == "c"
            ? NotifyRtt.Exec(NotifyRtt.Path, ["supervise", "--label", "spec", .. flags, "--", .. target])
            : NotifyRtt.Exec(NotifyRtt.LearnBench, ["rtt", "--label", "spec", .. flags, "--", .. target]);
        Assert.True(code == 0, $"{desc}: exit {code}\n{err}");
        Assert.Equal(2, lines.Count);
        var (t, s) = (lines[0].RootElement, lines[1].RootElement);
        Assert.Equal("target", t.GetProperty("role").GetString());
        Assert.Equal("supervisor", s.GetProperty("role").GetString());
        Assert.Equal(Batches, t.GetProperty("nsPerCall").GetArrayLength());
        Assert.Equal(Notified, s.GetProperty("notifications").GetInt64());
        Assert.Equal(flags.Contains("--sync"), s.GetProperty("sync").GetBoolean());
        Assert.Equal(flags.Contains("--poll") ? "c-libseccomp+poll" : flags.Contains("--raw") ? "c-raw" : impl == "c" ? "c-libseccomp" : "seccompkit", s.GetProperty("impl").GetString());
        // A value answers the call without running it; after CONTINUE it runs and names the real parent, the supervisor.
        long expected = flags.Contains("return") ? 4242 : s.GetProperty("pid").GetInt64();
        Assert.Equal(expected, t.GetProperty("result").GetInt64());
    }

    [Fact]
    public void The_many_target_workload_counts_the_survivors_calls_and_reports_latency()
    {
        var (code, lines, err) = NotifyRtt.Exec(NotifyRtt.Path, ["supervise", "--label", "spec", "--raw", "--", NotifyRtt.Path, "many", "--label", "spec", "--workers", "3", "--kill", "2", "--ms", "200"]);
        Assert.True(code == 0, err);
        Assert.Equal(2, lines.Count);
        var (m, s) = (lines[0].RootElement, lines[1].RootElement);
        Assert.Equal("many", m.GetProperty("role").GetString());
        Assert.Equal(0, m.GetProperty("failed").GetInt32());
        Assert.Equal(2, m.GetProperty("killed").GetInt32());
        // Every counted call was notified; the killed workers' calls were notified too but are not counted.
        Assert.True(m.GetProperty("calls").GetInt64() > 0 && m.GetProperty("calls").GetInt64() <= s.GetProperty("notifications").GetInt64());
        Assert.True(m.GetProperty("p50Us").GetDouble() <= m.GetProperty("p99Us").GetDouble());
    }

    [Fact]
    public void Without_a_filter_the_target_reports_its_batches_and_its_real_parent()
    {
        var (code, lines, err) = NotifyRtt.Exec(NotifyRtt.Path, ["target", "--label", "bare", "--batches", "4", "--calls", "10"]);
        Assert.True(code == 0, err);
        var t = Assert.Single(lines).RootElement;
        Assert.Equal(4, t.GetProperty("nsPerCall").GetArrayLength());
        Assert.All(t.GetProperty("nsPerCall").EnumerateArray(), v => Assert.True(v.GetDouble() > 0));
        Assert.Equal(Environment.ProcessId, t.GetProperty("result").GetInt64());
    }

    public static TheoryData<string, string[]> Misuses => new()
    {
        { "no mode", [] },
        { "no label", ["target"] },
        { "a supervisor without a program", ["supervise", "--label", "x", "--"] },
        { "an unknown answer", ["supervise", "--label", "x", "--respond", "kill", "--", "/bin/true"] },
        { "threads without the raw loop", ["supervise", "--label", "x", "--threads", "2", "--", "/bin/true"] },
        { "poll with the raw loop", ["supervise", "--label", "x", "--raw", "--poll", "--", "/bin/true"] },
        { "many without workers", ["many", "--label", "x"] },
    };

    [Theory]
    [MemberData(nameof(Misuses))]
    public void A_bad_command_line_exits_2_with_the_usage(string desc, string[] args)
    {
        var (code, _, err) = NotifyRtt.Exec(NotifyRtt.Path, args);
        Assert.True(code == 2, $"{desc}: exit {code}");
        Assert.Contains("usage: notify-rtt", err);
    }
}

/// <summary>native/build/notify-rtt (built by native/build.sh; built here when missing or stale) and the LearnBench program.</summary>
internal static class NotifyRtt
{
    private static readonly Lazy<string> Helper = new(() => NativeHelper.Build("notify-rtt", ["-Wextra"], ["-lseccomp", "-lpthread"], "libseccomp-dev"));
    private static readonly Lazy<string> Bench = new(() => DotnetProgram.Locate("bench/learn/SeccompKit.LearnBench"));

    public static string Path => Helper.Value;

    /// <summary>bench/learn/SeccompKit.LearnBench, JIT-built in its own bin/ (not the benchmark's NativeAOT build; no project reference).</summary>
    public static string LearnBench => Bench.Value;

    /// <summary>Runs a program: exit code, its standard output as JSON lines (empty for other output), standard error.</summary>
    public static (int Code, List<JsonDocument> Lines, string Stderr) Exec(string file, string[] args)
    {
        var r = ChildProcess.Run(file, args, new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) });
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l)).ToList();
        return (r.Exit, lines, r.Err);
    }
}
