namespace SeccompKit.Linux.Tests.Diagnostics;

/// <summary>The description a container test's timeout carries must name where a hung tree sleeps.</summary>
public sealed class HungProcessesSpecs
{
    [Fact]
    public void A_sleeping_tree_is_described_with_each_process_its_wait_channel_and_its_syscall()
    {
        using var shell = ChildProcess.Start("/bin/sh", ["-c", "sleep 30; exit 0"], new ProcessOptions { Timeout = TimeSpan.FromSeconds(30) });
        string text = "";
        for (int i = 0; i < 100 && !text.Contains("sleep"); i++)
        {
            Thread.Sleep(20);
            text = HungProcesses.Describe(shell.Process.Id);
        }
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{shell.Process.Id} sh S", lines[0]);
        Assert.Contains(" syscall 61 ", lines[0]);                   // sh in wait4
        Assert.Matches(@"^  \d+ sleep S \(sleeping\) seccomp 0 ", lines[1]);    // indented below its parent
        Assert.Contains(" syscall 230 ", lines[1]);                  // clock_nanosleep
        shell.Kill();
        Assert.Equal("", HungProcesses.Describe(int.MaxValue));
    }
}
