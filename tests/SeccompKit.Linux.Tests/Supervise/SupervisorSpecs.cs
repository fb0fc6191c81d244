using System.Runtime.CompilerServices;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Tests.Launch;
using SeccompKit.Linux.SafeHandles;
using SeccompKit.Linux.Supervise;
using SeccompKit.Syscalls;
using H = SeccompKit.Linux.Tests.Supervise.Supervised.Handler;

namespace SeccompKit.Linux.Tests.Supervise;

/// <summary>The notification API against the running kernel: real programs, supervised from this process.</summary>
public sealed class SupervisorSpecs
{
    private static readonly SyscallTable X64 = Architecture.X86_64.Syscalls;

    private static int Nr(string name) => X64.GetNumber(name);

    [Fact]
    public void Notify_structs_have_the_kernel_sizes()
    {
        Assert.Equal(80, Unsafe.SizeOf<Interop.Notify.seccomp_notif>());
        Assert.Equal(24, Unsafe.SizeOf<Interop.Notify.seccomp_notif_resp>());
        Assert.Equal(24, Unsafe.SizeOf<Interop.Notify.seccomp_notif_addfd>());
        Assert.Equal(56, Unsafe.SizeOf<Interop.Notify.msghdr>());
        Assert.Equal(16, Unsafe.SizeOf<Interop.Notify.cmsghdr>());
    }

    [Fact]
    public void Continue_on_every_syscall_runs_a_shell_pipeline_unchanged()
    {
        var seen = new HashSet<int>();
        var r = Supervised.Run(Supervised.Notify(null), new H((n, _) => { lock (seen) seen.Add(n.Nr); return NotificationResponse.Continue; }),
            "/bin/sh", "-c", "echo hello | tr a-z A-Z; ls / | grep -c etc");
        Assert.Equal(0, r.Status.ExitCode);
        Assert.Equal("HELLO\n1\n", r.Out);
        Assert.Equal(SupervisorExit.TargetsGone, r.Exit);
        Assert.True(r.Stats.Received > 100, $"only {r.Stats.Received} notifications");
        // Each received notification was answered or found its target gone (a notification may also vanish before it is
        // received, when a signal interrupts the call: counted gone, not received).
        Assert.True(r.Stats.Answered <= r.Stats.Received && r.Stats.Answered + r.Stats.TargetsGone >= r.Stats.Received, r.Stats.ToString());
        Assert.Empty(r.Faults);
        // Every process of the pipeline was supervised: their execve, pipe, clone/fork and wait calls came through.
        Assert.Contains(Nr("execve"), seen);
        Assert.Contains(Nr("wait4"), seen);
        Assert.True(seen.Contains(Nr("pipe2")) || seen.Contains(Nr("pipe")));
    }

    [Fact]
    public void Fail_makes_the_syscall_fail_with_the_errno_without_running_it()
    {
        string dir = Path.Combine(Path.GetTempPath(), "skit-nomkdir-" + Guid.NewGuid().ToString("N"));
        var r = Supervised.Run(Supervised.Notify("mkdir", "mkdirat"), new H((_, _) => NotificationResponse.Fail(Errno.EACCES)),
            "/bin/mkdir", dir);
        Assert.Equal(1, r.Status.ExitCode);
        Assert.Contains("Permission denied", r.Err);
        Assert.False(Directory.Exists(dir));
        Assert.Equal(1, r.Stats.Answered);
    }

    [Fact]
    public void Return_fakes_a_result()
    {
        var r = Supervised.Run(Supervised.Notify("getppid"), new H((_, _) => NotificationResponse.Return(4242)),
            "/bin/busybox", "sh", "-c", "echo $PPID");
        Assert.Equal(0, r.Status.ExitCode);
        Assert.Equal("4242\n", r.Out);
    }

    [Fact]
    public void InjectFd_answers_an_open_with_a_descriptor_of_the_supervisor()
    {
        string secret = Path.GetTempFileName();
        File.WriteAllText(secret, "from the supervisor\n");
        try
        {
            // busybox is static: the only openat is the one of `cat`. The handler reads the path (so it must not Continue)
            // and performs the open itself.
            var r = Supervised.Run(Supervised.Notify("openat", "open"), new H((n, ctx) =>
            {
                string? path = ctx.ReadString(n.Nr == Nr("openat") ? n.Arg(1) : n.Arg(0));
                if (path != "/virtual/file") return Supervised.OpenOnBehalf(n, ctx, Nr("openat")); // the wrapper's redirections
                int fd = Interop.Proc.open(secret, 0);
                return NotificationResponse.InjectFd(new SafeFileDescriptorHandle(fd));
            }), "/bin/busybox", "cat", "/virtual/file");
            Assert.Equal(0, r.Status.ExitCode);
            Assert.Equal("from the supervisor\n", r.Out);
            Assert.Empty(r.Faults);
        }
        finally { File.Delete(secret); }
    }

    [Fact]
    public void AddFd_with_a_chosen_number_then_Return_answers_dup2_on_the_targets_behalf()
    {
        // The shell's `exec 7</dev/null` opens /dev/null then dup2's it to 7; the supervisor answers dup2 by placing its
        // own descriptor at 7 (ADDFD with SETFD) and returning 7. Reading fd 7 then gives the supervisor's file.
        string secret = Path.GetTempFileName();
        File.WriteAllText(secret, "placed at 7\n");
        try
        {
            var r = Supervised.Run(Supervised.Notify("dup2", "dup3"), new H((n, ctx) =>
            {
                if ((int)n.Arg(1) != 7) return NotificationResponse.Continue; // the wrapper's own redirections
                int fd = Interop.Proc.open(secret, 0);
                using var handle = new SafeFileDescriptorHandle(fd);
                int placed = ctx.AddFd(handle, targetFd: 7, closeOnExec: false);
                return NotificationResponse.Return(placed);
            }), "/bin/busybox", "sh", "-c", "exec 7</dev/null; cat <&7");
            Assert.Equal(0, r.Status.ExitCode);
            Assert.Equal("placed at 7\n", r.Out);
            Assert.Empty(r.Faults);
        }
        finally { File.Delete(secret); }
    }

    [Fact]
    public void Continue_after_reading_target_memory_is_refused_with_EPERM()
    {
        var r = Supervised.Run(Supervised.Notify("openat", "open"), new H((n, ctx) =>
        {
            if (ctx.ReadString(n.Arg(1)) != "/etc/hostname") return Supervised.OpenOnBehalf(n, ctx, Nr("openat"));
            return NotificationResponse.Continue;
        }), "/bin/busybox", "cat", "/etc/hostname");
        Assert.Equal(1, r.Status.ExitCode);
        Assert.Contains("Operation not permitted", r.Err);
        var fault = Assert.Single(r.Faults);
        Assert.Contains("TOCTOU", fault.Message);
        Assert.Equal(1, r.Stats.Faults);
    }

    [Fact]
    public void ReadForRecord_does_not_forbid_Continue()
    {
        string? seen = null;
        var r = Supervised.Run(Supervised.Notify("openat", "open"), new H((n, ctx) =>
        {
            Span<byte> buffer = stackalloc byte[64];
            int got = ctx.ReadForRecord(n.Arg(1), buffer);
            int nul = buffer[..got].IndexOf((byte)0);
            seen = System.Text.Encoding.UTF8.GetString(buffer[..nul]);
            return NotificationResponse.Continue;
        }), "/bin/busybox", "cat", "/etc/hostname");
        Assert.Equal(0, r.Status.ExitCode);
        Assert.Equal("/etc/hostname", seen);
        Assert.Equal(File.ReadAllText("/etc/hostname"), r.Out);
    }

    [Fact]
    public void A_handler_exception_fails_closed_with_EPERM()
    {
        string dir = Path.Combine(Path.GetTempPath(), "skit-throw-" + Guid.NewGuid().ToString("N"));
        var r = Supervised.Run(Supervised.Notify("mkdir", "mkdirat"), new H((_, _) => throw new InvalidOperationException("handler bug")),
            "/bin/mkdir", dir);
        Assert.Equal(1, r.Status.ExitCode);
        Assert.Contains("Operation not permitted", r.Err);
        Assert.False(Directory.Exists(dir));
        Assert.Equal("handler bug", Assert.Single(r.Faults).Message);
    }

    [Fact]
    public void A_target_killed_while_its_syscall_waits_is_counted_gone_and_the_loop_ends_on_hangup()
    {
        using var entered = new ManualResetEventSlim();
        using var killed = new ManualResetEventSlim();
        bool validBefore = false, validAfter = true;
        NotificationContext? seenContext = null;
        var r = Supervised.Run(Supervised.Notify("mkdir", "mkdirat"), new H((n, ctx) =>
        {
            validBefore = ctx.IsValid();
            seenContext = ctx;
            entered.Set();
            killed.Wait(TimeSpan.FromSeconds(20));
            Thread.Sleep(100); // the kernel removes the notification as the SIGKILL lands
            validAfter = ctx.IsValid();
            return NotificationResponse.Continue;
        }), p =>
        {
            Assert.True(entered.Wait(TimeSpan.FromSeconds(20)));
            p.Kill();
            killed.Set();
        }, "/bin/mkdir", "/tmp/skit-never");
        Assert.Equal(9, r.Status.Signal);
        Assert.True(validBefore);
        Assert.False(validAfter);
        Assert.Equal(1, r.Stats.TargetsGone);
        Assert.Equal(0, r.Stats.Answered);
        Assert.Equal(SupervisorExit.TargetsGone, r.Exit);
    }

    [Fact]
    public void Many_processes_and_threads_are_served_by_one_loop()
    {
        var pids = new HashSet<int>();
        var r = Supervised.Run(Supervised.Notify("getppid", "getpid", "uname"), new H((n, _) => { lock (pids) pids.Add(n.Pid); return NotificationResponse.Continue; }),
            "/usr/bin/python3", "-c",
            "import os, threading\n" +
            "def work():\n    for _ in range(200): os.getppid(); os.uname()\n" +
            "ts = [threading.Thread(target=work) for _ in range(8)]\n[t.start() for t in ts]\n[t.join() for t in ts]\n" +
            "kids = [os.fork() for _ in range(4)]\n" +
            "if 0 in kids:\n    [os.getppid() for _ in range(100)]; os._exit(0)\n" +
            "[os.waitpid(k, 0) for k in kids]\nprint('done')");
        Assert.Equal(0, r.Status.ExitCode);
        Assert.Equal("done\n", r.Out);
        Assert.True(pids.Count >= 1 + 8 + 4, $"{pids.Count} distinct threads notified");
        Assert.True(r.Stats.Answered >= 8 * 400 + 4 * 100, $"{r.Stats.Answered} answered");
    }

    [Fact]
    public void The_hot_path_allocates_nothing_per_notification()
    {
        long at1000 = -1, at9000 = -1, count = 0;
        var r = Supervised.Run(Supervised.Notify("getppid"), new H((_, _) =>
        {
            count++;
            if (count == 1000) at1000 = GC.GetAllocatedBytesForCurrentThread();
            if (count == 9000) at9000 = GC.GetAllocatedBytesForCurrentThread();
            return NotificationResponse.Continue;
        }), "/usr/bin/python3", "-c", "import os\nfor _ in range(10000): os.getppid()");
        Assert.Equal(0, r.Status.ExitCode);
        Assert.True(count >= 10000);
        Assert.Equal(0, at9000 - at1000);
    }

    [Fact]
    public async Task Sync_wake_up_is_available_here_and_supervision_still_works_with_it()
    {
        var policy = Supervised.Notify("getppid");
        var compiled = SeccompKit.Compiler.PolicyCompiler.Compile(policy);
        using var pending = SandboxLauncher.Prepare("/usr/bin/python3", ["-c", "import os\nfor _ in range(1000): os.getppid()"],
            stage: new StageCommand(Victim.Path, []));
        var launch = pending.StartSupervised(compiled.Program);
        using var listener = launch.Listener;
        Assert.True(listener.TryEnableSyncWakeUp()); // kernel 6.18 > 6.6
        Assert.True(listener.SyncWakeUp);
        using var supervisor = new NotificationSupervisor(listener, new H((_, _) => NotificationResponse.Continue));
        var loop = supervisor.Start(TestContext.Current.CancellationToken);
        using var process = launch.WaitUntilRunning();
        Assert.Equal(0, process.WaitForExit().ExitCode);
        await loop.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.True(supervisor.Statistics.Answered >= 1000);
    }

    [Fact]
    public async Task Stop_ends_the_loop_and_closing_the_listener_fails_pending_calls_with_ENOSYS()
    {
        var compiled = SeccompKit.Compiler.PolicyCompiler.Compile(Supervised.Notify("mkdir", "mkdirat"));
        string dir = Path.Combine(Path.GetTempPath(), "skit-enosys-" + Guid.NewGuid().ToString("N"));
        string err = Path.GetTempFileName();
        string go = Path.Combine(Path.GetTempPath(), "skit-go-" + Guid.NewGuid().ToString("N"));
        // The script waits for `go`, which the test creates only after the supervisor stopped and the listener closed.
        using var pending = SandboxLauncher.Prepare("/bin/sh", ["-c", $"while [ ! -e '{go}' ]; do sleep 0.05; done; mkdir '{dir}' 2>'{err}'"],
            stage: new StageCommand(Victim.Path, []));
        var launch = pending.StartSupervised(compiled.Program);
        var listener = launch.Listener;
        var supervisor = new NotificationSupervisor(listener, new H((_, _) => NotificationResponse.Continue));
        var loop = supervisor.Start(TestContext.Current.CancellationToken);
        using var process = launch.WaitUntilRunning();
        supervisor.Stop();
        Assert.Equal(SupervisorExit.Stopped, await loop.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        supervisor.Dispose();
        listener.Dispose();
        File.WriteAllText(go, "");
        Assert.Equal(1, process.WaitForExit().ExitCode);
        File.Delete(go);
        Assert.Contains("Function not implemented", File.ReadAllText(err));
        Assert.False(Directory.Exists(dir));
        File.Delete(err);
    }
}
