using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Learn;
using SeccompKit.Linux.Supervise;
using SeccompKit.Syscalls;
using H = SeccompKit.Linux.Tests.Supervise.Supervised.Handler;
using Supervised = SeccompKit.Linux.Tests.Supervise.Supervised;

namespace SeccompKit.Linux.Tests.Learn;

/// <summary>
/// A signal that reaches a program while the learning supervisor holds one of its calls. dash catches SIGCHLD without
/// SA_RESTART, so a notified call interrupted by a child's exit fails with EINTR - also fork, which natively never does
/// (copy_process restarts itself: ERESTARTNOINTR) - and dash gives up with "Cannot fork" (issue: `learn -- sh -c 'a | b'`
/// failed now and then, exit 2 instead of the program's; an interrupted close left a pipe open and hung the pipeline).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class LearningSignalSpecs
{
    private static readonly int ExitGroup = Architecture.X86_64.Syscalls.GetNumber("exit_group");

    /// <summary>Is <paramref name="signal"/> pending for process <paramref name="pid"/> (ShdPnd in /proc/PID/status)?</summary>
    private static bool Pending(int pid, int signal)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("ShdPnd:", StringComparison.Ordinal));
            return line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (signal - 1))) != 0;
        }
        catch (IOException) { return false; }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_fork_held_by_the_supervisor_is_not_failed_by_a_childs_exit_with_the_learning_filters_flags(bool learningFlags)
    {
        var flags = learningFlags ? LearningSession.LearningFilterFlags : SeccompFilterFlags.None;
        Assert.True(!learningFlags || flags.HasFlag(SeccompFilterFlags.WaitKillableRecv), "this kernel has no WAIT_KILLABLE_RECV (Linux 5.19)");
        if (learningFlags)
        {
            // The signal waited for the fork to end, as it does without a filter.
            var (ok, what) = HeldFork(flags);
            Assert.True(ok.ExitCode == 0 && ok.Out == "forked twice\n" && ok.Forks >= 2, what);
            return;
        }
        // Without the flag the kernel fails the held fork with EINTR: what learning did before. Whether dash's SIGCHLD
        // handler is in place when the first child exits depends on scheduling (seen in CI: the fork was interrupted and
        // restarted, 3 forks, "forked twice"), so the control only has to show the failure within five tries.
        var seen = new List<string>();
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var (r, what) = HeldFork(flags);
            seen.Add(what);
            if (r.ExitCode == 2 && r.Err.Contains("Cannot fork", StringComparison.Ordinal) && r.Forks == 2) return;
        }
        Assert.Fail("without WAIT_KILLABLE_RECV no held fork failed with \"Cannot fork\" in five tries:\n" + string.Join("\n", seen));
    }

    private sealed record HeldForkRun(int? ExitCode, string Out, string Err, int Forks);

    private static (HeldForkRun Run, string What) HeldFork(SeccompFilterFlags flags)
    {
        // dash forks twice; the first child runs the builtin `true` and exits. Two supervisor threads order the race: the
        // first child's exit_group is held until dash's second fork has been received, and that fork is held until the
        // child's SIGCHLD is pending for dash (or has already interrupted the fork: the notification is no longer valid).
        int forks = 0, secondForkReceived = 0;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var handler = new H((n, context) =>
        {
            if (n.Nr == ExitGroup)
            {
                while (Volatile.Read(ref secondForkReceived) == 0 && DateTime.UtcNow < deadline) Thread.Sleep(1);
                return NotificationResponse.Continue;
            }
            if (Interlocked.Increment(ref forks) != 2) return NotificationResponse.Continue;
            Volatile.Write(ref secondForkReceived, 1);
            while (context.IsValid() && !Pending(n.Pid, 17) && DateTime.UtcNow < deadline) Thread.Sleep(1);
            return NotificationResponse.Continue;
        });
        var r = Supervised.Run(Supervised.Notify("clone", "exit_group"), handler, 2, flags, null, "/bin/sh", "-c", "true & true & wait; echo forked twice");
        string what = $"exit {r.Status.ExitCode}, {forks} forks, out: {r.Out}, err: {r.Err}";
        Assert.True(DateTime.UtcNow < deadline, "a held call was let go by the deadline: " + what);
        Assert.Empty(r.Faults);
        return (new HeldForkRun(r.Status.ExitCode, r.Out, r.Err, forks), what);
    }
}
