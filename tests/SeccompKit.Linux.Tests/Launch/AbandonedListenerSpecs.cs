using System.Diagnostics;
using System.Globalization;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>
/// Issue 17, defect 5: a supervisor that dies after the listener hand-over, before it answered stage two's notified
/// execve. Stage two kept its own copy of the listener, so the listener never lost its last reference, the kernel never
/// failed the waiting execve (ENOSYS), and stage two waited for ever. TestVictim plays the dying supervisor.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class AbandonedListenerSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-abandoned-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Stage_two_ends_without_running_the_program_when_its_supervisor_dies_holding_the_listener()
    {
        string marker = Path.Combine(_dir, "ran");
        // Stage two inherits the victim's standard output: read the pid line, not to the end (a hung stage two holds it open).
        using var victim = ChildProcess.Start(Victim.Path, ["abandon-listener", marker], new ProcessOptions { Timeout = TimeSpan.FromSeconds(60), Interactive = true });
        string line = victim.Process.StandardOutput.ReadLine() ?? "";
        Assert.True(victim.Process.WaitForExit(TimeSpan.FromSeconds(30)), "the victim did not exit");
        Assert.True(victim.Process.ExitCode == 0 && line.StartsWith("pid=", StringComparison.Ordinal), $"exit {victim.Process.ExitCode}: {line}");
        int pid = int.Parse(line[4..], CultureInfo.InvariantCulture);
        try
        {
            // Its execve now fails (ENOSYS: nobody can answer it) and stage two exits; reparented, it is reaped by init,
            // or stays a zombie where init does not reap: either way it runs no more.
            var clock = Stopwatch.StartNew();
            while (!Ended(pid) && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
            Assert.True(Ended(pid), $"stage two (pid {pid}) still runs {clock.Elapsed.TotalSeconds:0.0} s after its supervisor died: state {State(pid)}, in syscall {Syscall(pid)}");
            Assert.False(File.Exists(marker), "the program ran although nobody answered its execve");
        }
        finally
        {
            if (!Ended(pid)) try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { }
        }
    }

    private static string? State(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][..1];
        }
        catch (IOException) { return null; }
    }

    private static string Syscall(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/syscall").Split(' ')[0].Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "?"; }
    }

    private static bool Ended(int pid) => State(pid) is null or "Z" or "X";
}
