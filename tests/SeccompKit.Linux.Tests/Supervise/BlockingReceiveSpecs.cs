using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Supervise;
using SeccompKit.Linux.Tests.Launch;
using SeccompKit.Syscalls;
using H = SeccompKit.Linux.Tests.Supervise.Supervised.Handler;

namespace SeccompKit.Linux.Tests.Supervise;

/// <summary>
/// The supervisor waits in NOTIF_RECV itself (no poll before each receive), and the kernel behaviours that makes
/// complete (docs/KERNEL-FINDINGS.md, issue 16): the hang-up wakes a thread asleep in NOTIF_RECV, the supervisor's wake-up
/// signal (no SA_RESTART) makes it return EINTR, and with MaxConcurrency above 1 a slow handler does not hold up other
/// targets. Nothing here is timed beyond generous bounds that only a hang would exceed.
/// </summary>
public sealed class BlockingReceiveSpecs
{
    private static readonly SyscallTable X64 = Architecture.X86_64.Syscalls;

    /// <summary>What the supervisor thread is doing, from /proc/self/task/TID/syscall: "16 0x5 0xc0502100 ..." is ioctl(5, NOTIF_RECV, ...).</summary>
    private static string SyscallOf(int tid) => File.ReadAllText($"/proc/self/task/{tid}/syscall").Trim();

    private static bool InNotifRecv(int tid)
    {
        var f = SyscallOf(tid).Split(' ');
        return f.Length > 2 && f[0] == "16" && Convert.ToUInt64(f[2], 16) == Interop.Notify.SECCOMP_IOCTL_NOTIF_RECV;
    }

    /// <summary>Starts a program under a filter that notifies <paramref name="notified"/>, and a supervisor on a thread whose tid is returned.</summary>
    private static (SandboxedProcess Process, NotificationListener Listener, NotificationSupervisor Supervisor, Task<SupervisorExit> Loop, int Tid) Start(
        string[] notified, string program, params string[] args)
    {
        var compiled = SeccompKit.Compiler.PolicyCompiler.Compile(Supervised.Notify(notified));
        var pending = SandboxLauncher.Prepare(program, args, stage: new StageCommand(Victim.Path, []));
        var launch = pending.StartSupervised(compiled.Program);
        var listener = launch.Listener;
        var supervisor = new NotificationSupervisor(listener, new H((_, _) => NotificationResponse.Continue));
        Assert.True(supervisor.BlockingReceive, supervisor.PollingReason);
        int tid = 0;
        var started = new ManualResetEventSlim();
        var done = new TaskCompletionSource<SupervisorExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            tid = Interop.Proc.gettid();
            started.Set();
            try { done.SetResult(supervisor.Run()); }
            catch (Exception e) { done.SetException(e); }
        }) { IsBackground = true }.Start();
        started.Wait();
        return (launch.WaitUntilRunning(), listener, supervisor, done.Task, tid);
    }

    private static void WaitUntil(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException(what);
            Thread.Sleep(10);
        }
    }

    [Fact]
    public async Task The_supervisor_sleeps_in_NOTIF_RECV_and_the_last_targets_exit_wakes_it()
    {
        // The target makes no notified call: the supervisor sleeps in NOTIF_RECV until the kernel's hang-up (Linux 6.11:
        // NOTIF_RECV returns ENOENT once the filter has no task, also to a thread already asleep in it).
        var (process, listener, supervisor, loop, tid) = Start(["mkdir", "mkdirat"], "/bin/sleep", "0.5");
        WaitUntil(() => InNotifRecv(tid), "the supervisor thread never slept in ioctl(NOTIF_RECV): " + SyscallOf(tid));
        Assert.Equal(0, process.WaitForExit().ExitCode);
        Assert.Equal(SupervisorExit.TargetsGone, await loop.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        supervisor.Dispose();
        listener.Dispose();
        process.Dispose();
    }

    [Fact]
    public async Task Stop_wakes_a_supervisor_asleep_in_NOTIF_RECV_and_the_target_goes_on()
    {
        var (process, listener, supervisor, loop, tid) = Start(["mkdir", "mkdirat"], "/bin/sleep", "2");
        WaitUntil(() => InNotifRecv(tid), "the supervisor thread never slept in ioctl(NOTIF_RECV): " + SyscallOf(tid));
        supervisor.Stop();
        // Bound: only a lost wake-up (the thread asleep in NOTIF_RECV until the target exits in 2 s) exceeds it.
        var first = await Task.WhenAny(loop, Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken));
        Assert.True(first == loop, "Stop did not wake the thread asleep in NOTIF_RECV");
        Assert.Equal(SupervisorExit.Stopped, await loop);
        Assert.Equal(0, supervisor.Statistics.Received);
        Assert.Equal(0, process.WaitForExit().ExitCode);
        supervisor.Dispose();
        listener.Dispose();
        process.Dispose();
    }

    [Fact]
    public async Task Stop_before_the_first_notification_ends_the_loop()
    {
        var (process, listener, supervisor, loop, _) = Start(["mkdir", "mkdirat"], "/bin/true");
        supervisor.Stop();
        var exit = await loop.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.True(exit is SupervisorExit.Stopped or SupervisorExit.TargetsGone);
        Assert.Equal(0, process.WaitForExit().ExitCode);
        supervisor.Dispose();
        listener.Dispose();
        process.Dispose();
    }

    // Thread A's mkdir is held by its handler until the handler has seen a call of thread B's that was notified after
    // A's began: the supervisor must take B's calls while A's handler waits. With one receiving thread it cannot.
    private const string TwoThreads =
        "import os, threading\n" +
        "done = threading.Event()\n" +
        "def b():\n    while not done.is_set(): os.getppid()\n" +
        "t = threading.Thread(target=b); t.start()\n" +
        "try: os.mkdir('/nonexistent-skit/x')\nexcept OSError: pass\n" +
        "done.set(); t.join(); print('done')";

    [Theory]
    [InlineData(4, true)]
    [InlineData(1, false)]
    public void A_slow_handler_for_one_target_does_not_hold_up_another_targets_calls_when_concurrency_allows(int concurrency, bool served)
    {
        int mkdirNr = X64.GetNumber("mkdir"), mkdiratNr = X64.GetNumber("mkdirat");
        using var entered = new ManualResetEventSlim();
        using var otherServed = new ManualResetEventSlim();
        bool sawOther = false;
        int aPid = 0;
        var r = Supervised.Run(Supervised.Notify("getppid", "mkdir", "mkdirat"), new H((n, _) =>
        {
            if (n.Nr == mkdirNr || n.Nr == mkdiratNr)
            {
                aPid = n.Pid;
                entered.Set();
                // A slow handler: it waits (up to 1 s, or 20 s when the other thread should be served) for thread B's calls.
                sawOther = otherServed.Wait(served ? TimeSpan.FromSeconds(20) : TimeSpan.FromSeconds(1));
                return NotificationResponse.Fail(Errno.EACCES);
            }
            if (entered.IsSet && n.Pid != Volatile.Read(ref aPid)) otherServed.Set();
            return NotificationResponse.Continue;
        }), concurrency, null, "/usr/bin/python3", "-c", TwoThreads);
        Assert.Equal(0, r.Status.ExitCode);
        Assert.Equal("done\n", r.Out);
        Assert.True(entered.IsSet);
        Assert.Equal(served, sawOther);
        Assert.Empty(r.Faults);
        Assert.Equal(SupervisorExit.TargetsGone, r.Exit);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Targets_killed_in_the_middle_of_notified_calls_leave_the_others_served(int concurrency)
    {
        // native/notify-rtt many: 4 worker processes make getppid calls for 400 ms, and 4 more are SIGKILLed halfway,
        // almost surely inside a notified call. The survivors finish; the loop ends on the hang-up.
        var r = Supervised.Run(Supervised.Notify("getppid"), new H((_, _) => NotificationResponse.Continue), concurrency, null,
            NotifyRtt.Path, "many", "--label", "spec", "--workers", "4", "--kill", "4", "--ms", "400");
        Assert.True(r.Status.ExitCode == 0, r.Err);
        Assert.Contains("\"failed\": 0", r.Out);
        Assert.Equal(SupervisorExit.TargetsGone, r.Exit);
        Assert.True(r.Stats.Answered > 1000, r.Stats.ToString());
        Assert.True(r.Stats.Answered <= r.Stats.Received && r.Stats.Answered + r.Stats.TargetsGone >= r.Stats.Received, r.Stats.ToString());
    }

    [Fact]
    public void The_hot_path_allocates_nothing_per_notification_with_spare_threads_allowed()
    {
        // Bytes allocated by each supervisor thread between its 1000th and 9000th notification (a thread that handles
        // fewer is not counted); a spare thread, if the machine's load starts one, is measured the same way.
        var measured = new System.Collections.Concurrent.ConcurrentBag<long>();
        var r = Supervised.Run(Supervised.Notify("getppid"), new H((_, _) =>
        {
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            PerThread.Count++;
            if (PerThread.Count == 1000) PerThread.At1000 = bytes;
            if (PerThread.Count == 9000) measured.Add(bytes - PerThread.At1000); // the only allocation, after the measurement
            return NotificationResponse.Continue;
        }), 4, null, "/usr/bin/python3", "-c", "import os\nfor _ in range(20000): os.getppid()");
        Assert.Equal(0, r.Status.ExitCode);
        Assert.NotEmpty(measured);
        Assert.All(measured, d => Assert.Equal(0, d));
    }

    private static class PerThread
    {
        [ThreadStatic] public static long Count;
        [ThreadStatic] public static long At1000;
    }
}
