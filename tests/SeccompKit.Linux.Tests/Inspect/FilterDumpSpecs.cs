using System.Diagnostics;
using SeccompKit.Bpf;
using SeccompKit.Linux.Inspect;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary>
/// <see cref="FilterDump"/> against processes holding known filters (native/seccomp-hold): the dump must equal
/// what was installed, newest first, and the process must run on as if nothing happened.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class FilterDumpSpecs
{
    private const uint X86_64 = 0xc000003e;

    public static TheoryData<int> StackSizes() => new(1, 2, 3);

    [Theory]
    [MemberData(nameof(StackSizes))]
    public void Dump_gives_exactly_the_installed_filters_newest_first_and_the_process_runs_on(int count)
    {
        var installed = KnownFilters.First(count);
        using var held = HeldProcess.Start(installed);

        var dumped = FilterDump.Read(held.Pid);

        Assert.Equal(count, dumped.Count);
        for (int i = 0; i < count; i++)
            Assert.Equal(installed[count - 1 - i], dumped[i].Instructions.ToArray());
        // Detached, not stopped, and every filter still in force.
        Assert.Equal(0, held.Status().TracerPid);
        Assert.Equal((-1L, 11), held.Call(KnownFilters.Getppid));
        Assert.Equal(count >= 2 ? (-1L, 12) : (0L, 0), held.Call(KnownFilters.Getuid));
        Assert.Equal(count >= 3 ? (-1L, 13) : (0L, 0), held.Call(KnownFilters.Getgid));
        Assert.Equal(30 + count, held.Exit(30 + count));
    }

    [Fact]
    public void The_interpreter_gives_the_same_answers_on_the_dumped_stack_as_on_the_installed_one()
    {
        var installed = KnownFilters.InstallationOrder;
        using var held = HeldProcess.Start(installed);
        var dumped = new FilterStack(FilterDump.Read(held.Pid));
        var original = new FilterStack(installed.Reverse().Select(p => BpfProgram.Create(p)));
        foreach (int nr in new[] { 0, 1, 39, KnownFilters.Getppid, KnownFilters.Getuid, KnownFilters.Getgid, 0x40000000 + 39 })
            foreach (uint arch in new[] { X86_64, 0x40000003u })
            {
                var data = new SeccompData(nr, arch);
                Assert.Equal(original.Evaluate(data), dumped.Evaluate(data));
            }
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void ReadInstructions_reports_filter_mode_and_the_raw_instructions()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        var dump = FilterDump.ReadInstructions(held.Pid);
        Assert.Equal(held.Pid, dump.Pid);
        Assert.Equal(SeccompMode.Filter, dump.Mode);
        Assert.Equal([KnownFilters.Newest, KnownFilters.Middle, KnownFilters.Oldest], dump.Filters.Select(f => f.ToArray()).ToArray());
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void A_process_without_filters_gives_an_empty_list_without_being_stopped()
    {
        using var held = HeldProcess.Start([]);
        var dump = FilterDump.ReadInstructions(held.Pid);
        Assert.Equal(SeccompMode.Disabled, dump.Mode);
        Assert.Empty(dump.Filters);
        Assert.Empty(FilterDump.Read(held.Pid));
        Assert.Equal(9, held.Exit(9));
    }

    [Fact]
    public void The_test_process_itself_has_no_filters_to_read()
    {
        Assert.Empty(FilterDump.Read(Environment.ProcessId));
    }

    [Fact]
    public void A_pid_that_does_not_exist_is_reported_as_ESRCH()
    {
        int pid = ExitedPid();
        var e = Assert.Throws<ErrnoException>(() => FilterDump.Read(pid));
        Assert.Equal(Errno.ESRCH, e.Errno);
        Assert.Contains($"no process {pid}", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_pid_below_one_is_refused(int pid)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FilterDump.Read(pid));
    }

    [Fact]
    public void A_stopped_process_stays_stopped_after_the_dump()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder, stopped: true);
        WaitFor(() => held.Status().State == 'T', "the held process to stop itself");

        var dumped = FilterDump.Read(held.Pid);

        Assert.Equal(3, dumped.Count);
        // Back in its group-stop: 'T' and untraced (during the dump it was 't', tracing stop).
        WaitFor(() => held.Status() == ('T', 0), "the held process to be back in its group-stop, untraced");
        Thread.Sleep(100);
        Assert.Equal(('T', 0), held.Status());
        held.Signal("CONT");
        Assert.Equal((-1L, 13), held.Call(KnownFilters.Getgid));
        Assert.Equal(3, held.Exit(3));
    }

    [Fact]
    public void Signals_that_arrive_during_dumps_are_all_delivered()
    {
        // Real-time signals queue, so every one sent must be handled exactly once. A signal that stops the
        // tracee while it is traced (a signal-delivery-stop) is lost unless the detach hands it back.
        const int sent = 2000;
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        Assert.Equal("storming", held.Ask($"storm {sent} 50"));
        int dumps = 0;
        var clock = Stopwatch.StartNew();
        int handled;
        do
        {
            for (int i = 0; i < 10; i++, dumps++)
                Assert.Equal(3, FilterDump.Read(held.Pid).Count);
            handled = held.Signals();
        }
        while (handled < sent && clock.Elapsed < TimeSpan.FromSeconds(30));
        Assert.Equal(sent, handled);
        Assert.True(dumps >= 10);
        Thread.Sleep(50);
        Assert.Equal(sent, held.Signals());
        Assert.Equal(4, held.Exit(4));
    }

    [Fact]
    public void A_process_that_cannot_stop_in_time_is_let_go_untouched()
    {
        // A vfork parent waits killably for its child: PTRACE_INTERRUPT cannot stop it before the child ends.
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        held.Send("vfork 3000000");
        Assert.Equal("vforking", held.ReadLine("vfork"));

        var e = Assert.Throws<SeccompException>(() => FilterDump.Read(held.Pid, TimeSpan.FromMilliseconds(300)));
        Assert.Contains("did not stop within 0.3 s", e.Message);
        Assert.Contains("state D", e.Message);

        // The tracer thread has ended, and the kernel detached the process and dropped the pending interrupt.
        WaitFor(() => held.Status().TracerPid == 0, "the kernel to detach the process when the tracer thread ended");
        Assert.Equal("vforked", held.ReadLine("vfork"));
        Assert.Equal((-1L, 13), held.Call(KnownFilters.Getgid));
        Assert.Equal(0, held.Status().TracerPid);
        Assert.Equal(6, held.Exit(6));
    }

    [Fact]
    public void A_process_with_another_tracer_is_refused_with_EPERM_naming_the_tracer()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        using var tracer = OtherTracer.Attach(held.Pid);

        var e = Assert.Throws<ErrnoException>(() => FilterDump.Read(held.Pid));

        Assert.Equal(Errno.EPERM, e.Errno);
        Assert.Contains($"already traced by process {tracer.Pid}", e.Message);
        tracer.Dispose();
        WaitFor(() => held.Status().TracerPid == 0, "the other tracer to let go");
        Assert.Equal(3, FilterDump.Read(held.Pid).Count);
        Assert.Equal(0, held.Exit(0));
    }

    /// <summary>The pid of a process that has exited and been reaped.</summary>
    internal static int ExitedPid()
    {
        int pid = ChildProcess.Run("true", []).Pid;
        Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} was reused at once");
        return pid;
    }

    internal static void WaitFor(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }
}

/// <summary>A python3 process that PTRACE_SEIZEs a pid and holds it until disposed.</summary>
internal sealed class OtherTracer : IDisposable
{
    private const string Script = """
        import ctypes, sys
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:
            print("seize failed", ctypes.get_errno(), flush=True)
            sys.exit(1)
        print("attached", flush=True)
        sys.stdin.readline()
        """;

    private readonly ChildProcess _child;

    private bool _disposed;

    private OtherTracer(ChildProcess child) => _child = child;

    public int Pid => _child.Pid;

    public static OtherTracer Attach(int pid)
    {
        var child = ChildProcess.Start("python3", ["-c", Script, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], new ProcessOptions { Interactive = true });
        var line = child.Process.StandardOutput.ReadLine();
        if (line != "attached")
        {
            child.Dispose();
            throw new InvalidOperationException($"the python3 tracer said '{line}'");
        }
        return new OtherTracer(child);
    }

    public void Dispose()
    {
        // A line on stdin makes it detach and exit; killed (by Dispose) if it has not within 10 s. Disposed once.
        if (_disposed) return;
        _disposed = true;
        if (!_child.Process.HasExited)
        {
            _child.Process.StandardInput.WriteLine();
            _child.Process.WaitForExit(10_000);
        }
        _child.Dispose();
    }
}
