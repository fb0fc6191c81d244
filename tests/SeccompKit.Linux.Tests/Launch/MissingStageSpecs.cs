namespace SeccompKit.Linux.Tests.Launch;

/// <summary>
/// An application that uses the launcher but whose Main does not call <c>StageTwo.RunIfRequested</c> first: the copy of
/// itself started as stage two runs the application instead. It must not launch again (a fork bomb when the application
/// ignores its arguments), and both it and its launcher must say what to add to Main. TestVictim plays the application.
/// </summary>
public sealed class MissingStageSpecs : IDisposable
{
    private const string Advice = "`if (StageTwo.RunIfRequested(args)) return 0;`";
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-missing-stage-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void An_application_that_launches_again_as_stage_two_is_stopped_at_the_second_process_with_what_to_add_to_main()
    {
        string pids = Path.Combine(_dir, "pids");
        var (exit, output, err) = Victim.Run("forgetful-launch", pids);

        // Exactly two processes ran the application: the launcher and the copy started as its stage two, which refused.
        var started = File.ReadAllLines(pids);
        Assert.True(started.Length == 2, $"{started.Length} copies of the application ran (pids {string.Join(' ', started)}); output:\n{output}{err}");
        Assert.Equal(0, exit);
        Assert.DoesNotContain("the program must not run", output, StringComparison.Ordinal);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"pid={started[0]}", lines);
        var failures = lines.Where(l => l.StartsWith("failure=", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(failures);
        Assert.All(failures, f => Assert.StartsWith("failure=StageNotHandled ", f, StringComparison.Ordinal));
        var messages = lines.Where(l => l.StartsWith("message=", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(messages);
        Assert.All(messages, m => Assert.Contains(Advice, m, StringComparison.Ordinal));
        // The launcher stops its stage two (the application's copy) rather than leave it running.
        // (Killed and reaped by the launcher: its pid is gone, short of a reuse within milliseconds.)
        Assert.False(Directory.Exists($"/proc/{started[1]}"), $"the copy started as stage two (pid {started[1]}) still exists");
    }

    [Fact]
    public void An_application_that_ignores_the_stage_arguments_and_exits_fails_the_launch_with_what_to_add_to_main()
    {
        var (_, output, err) = Victim.Run("forgetful-exit");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("failure=StageFailed errno=0", lines);
        var message = Assert.Single(lines, l => l.StartsWith("message=", StringComparison.Ordinal));
        Assert.Contains("ended before installing the filter (exit status 0) without saying why", message, StringComparison.Ordinal);
        Assert.Contains(Advice, message, StringComparison.Ordinal);
        Assert.True(err.Length == 0, err);
    }
}
