using System.Diagnostics;
using SeccompKit.Bpf;
using SeccompKit.Linux.Inspect;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary>
/// <see cref="FilterDump"/> never changes what the process does: it reads a thread whose stop is harmless, carries a
/// thread through a <c>restart_syscall</c> its filters refuse, refuses (touching nothing) when only threads the program
/// would see stopped are left, and deals with a thread that entered another call between the look and the stop. The
/// victims are threads of native/seccomp-hold blocked in one call (the kinds of <see cref="InterruptionKernelSpecs"/>)
/// under a filter refusing <c>restart_syscall</c> with ERRNO(EPERM) or KILL_PROCESS: a mistake fails the call or
/// kills the process.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class FilterDumpThreadSpecs(ITestOutputHelper output)
{
    // Long enough that a test thread scheduled late (the full suite runs three assemblies at once on two CPUs) still
    // finds the call under way, and that a call restarted from zero (+InterruptAfter) stands out from scheduling delay.
    private const int TimedMs = 1500;
    private const int InterruptAfter = 400;
    private const int Slack = 350;
    private const uint ErrnoEperm = SeccompReturn.SECCOMP_RET_ERRNO | 1;
    private const uint KillProcess = SeccompReturn.SECCOMP_RET_KILL_PROCESS;

    /// <summary>kind, ms (0: woken), x86_64 nr, normal return, normal errno, refusing action.</summary>
    public static TheoryData<string, int, int, long, int, uint> RestartSleepers()
    {
        var rows = new TheoryData<string, int, int, long, int, uint>();
        foreach (uint action in new[] { ErrnoEperm, KillProcess })
        {
            rows.Add("nanosleep", TimedMs, 35, 0, 0, action);
            rows.Add("clock_nanosleep", TimedMs, 230, 0, 0, action);
            rows.Add("futex", TimedMs, 202, -1, 110, action);
            rows.Add("futex_bitset_abs", TimedMs, 202, -1, 110, action);
            rows.Add("poll", TimedMs, 7, 0, 0, action);
            rows.Add("poll_inf", 0, 7, 1, 0, action);
            rows.Add("int80_nanosleep", TimedMs, 162, 0, 0, action);
        }
        return rows;
    }

    [Theory]
    [MemberData(nameof(RestartSleepers))]
    public void A_thread_asleep_in_a_call_that_restarts_through_restart_syscall_is_carried_through_it_when_its_filters_refuse_it(
        string kind, int ms, int nr, long normalReturn, int normalErrno, uint action)
    {
        var filter = KnownFilters.RefusingRestartSyscall(action);
        using var held = HeldProcess.Start([filter]);
        int tid = held.Block(kind, ms);
        held.WaitUntilBlocked(tid, nr);
        if (ms > 0) Thread.Sleep(InterruptAfter);

        var dump = FilterDump.ReadInstructions(tid, new FilterDumpOptions());

        Assert.Equal([filter], dump.Filters.Select(f => f.ToArray()));
        var thread = Assert.IsType<DumpedThread>(dump.Thread);
        output.WriteLine($"{kind}: {thread.Before.Doing} ({thread.Before.Forecast}) -> {thread.Outcome}: {thread.Detail}");
        Assert.Equal(InterruptionForecast.RestartSyscall, thread.Before.Forecast);
        Assert.Equal(StopOutcome.RestartSyscallCarried, thread.Outcome);
        Assert.Contains(action == KillProcess ? "restart_syscall KILL_PROCESS" : "restart_syscall ERRNO(EPERM)", thread.Detail);
        Assert.Contains("restart_syscall was run with the filters suspended for that call only", thread.Detail);
        Assert.Equal(0, held.Status().TracerPid);
        if (ms == 0)
        {
            Thread.Sleep(100);
            Assert.Equal(KnownFilters.RestartSyscall, held.ThreadState(tid).Syscall); // still waiting, in the call restarted
            held.Wake();
        }
        var (ret, errno, took) = held.Returned();
        Assert.Equal((normalReturn, normalErrno), (ret, errno));
        if (ms > 0) Assert.InRange(took, ms - 5, ms + Slack);
        Assert.Equal(7, held.Exit(7)); // alive, and its exit status its own
    }

    [Fact]
    public void When_the_filters_allow_restart_syscall_the_thread_is_simply_let_go()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        int tid = held.Block("clock_nanosleep", TimedMs);
        held.WaitUntilBlocked(tid, 230);
        Thread.Sleep(InterruptAfter);

        var dump = FilterDump.ReadInstructions(tid, new FilterDumpOptions());

        Assert.Equal(3, dump.Filters.Count);
        Assert.Equal(StopOutcome.RestartSyscallAllowed, dump.Thread!.Outcome);
        var (ret, errno, took) = held.Returned();
        Assert.Equal((0L, 0), (ret, errno));
        Assert.InRange(took, TimedMs - 5, TimedMs + Slack);
        Assert.Equal(0, held.Exit(0));
    }

    /// <summary>kind, ms (0: woken), x86_64 nr, normal return, normal errno, the forecast that refuses it.</summary>
    public static TheoryData<string, int, int, long, int, InterruptionForecast> NoticedThreads() => new()
    {
        { "epoll_wait", TimedMs, 232, 0, 0, InterruptionForecast.Eintr },
        { "epoll_wait_inf", 0, 232, 1, 0, InterruptionForecast.Eintr },
        { "semtimedop", TimedMs, 220, -1, 11, InterruptionForecast.Eintr },
        { "rt_sigtimedwait", TimedMs, 128, -1, 11, InterruptionForecast.Eintr },
        { "io_getevents", TimedMs, 208, 0, 0, InterruptionForecast.Eintr },
        { "recvfrom_rcvtimeo", TimedMs, 45, -1, 11, InterruptionForecast.Unknown },
        { "recvfrom", 0, 45, 1, 0, InterruptionForecast.Unknown },
    };

    [Theory]
    [MemberData(nameof(NoticedThreads))]
    public void A_thread_whose_stop_the_program_could_see_is_refused_without_being_touched(string kind, int ms, int nr, long normalReturn, int normalErrno, InterruptionForecast forecast)
    {
        for (int attempt = 1; ; attempt++)
        {
            using var held = HeldProcess.Start([KnownFilters.RefusingRestartSyscall(KillProcess)]);
            int tid = held.Block(kind, ms);
            try
            {
                held.WaitUntilBlocked(tid, nr);
            }
            catch (NotSeenBlockedException e) when (attempt < 3)
            {
                // The timed call ended before it was seen blocked: this test was not scheduled for the call's whole timeout
                // (seen once in CI under load). A precondition missed, not the dump's answer: try again.
                output.WriteLine($"attempt {attempt}: {e.Message}; again");
                continue;
            }
            RefusedUntouched(held, tid, kind, ms, nr, normalReturn, normalErrno, forecast);
            return;
        }
    }

    private void RefusedUntouched(HeldProcess held, int tid, string kind, int ms, int nr, long normalReturn, int normalErrno, InterruptionForecast forecast)
    {
        var e = Assert.Throws<DumpRefusedException>(() => FilterDump.ReadInstructions(tid, new FilterDumpOptions { SafeThreadWait = TimeSpan.FromMilliseconds(200) }));

        output.WriteLine(e.Message);
        var seen = Assert.Single(e.Threads);
        Assert.Equal((tid, forecast), (seen.Tid, seen.Forecast));
        Assert.Contains($"thread {tid} (seccomp-hold) is sleeping in {ThreadActivityReader.NameOf(Syscalls.Architecture.X86_64, nr)}", e.Message);
        Assert.Contains("(waited 0.2 s)", e.Message);
        if (ms == 0) held.Wake();
        var (ret, errno, took) = held.Returned();
        Assert.Equal((normalReturn, normalErrno), (ret, errno));
        if (ms > 0) Assert.InRange(took, ms - 5, ms + Slack);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void A_thread_waiting_for_its_seccomp_supervisor_is_refused_and_its_notification_stays_valid()
    {
        using var held = HeldProcess.Start([]);
        int tid = held.Block("notify", 0);
        held.WaitUntilBlocked(tid, 110);

        var e = Assert.Throws<DumpRefusedException>(() => FilterDump.ReadInstructions(tid, new FilterDumpOptions { SafeThreadWait = TimeSpan.FromMilliseconds(100) }));

        Assert.Equal(InterruptionForecast.SupervisorVisible, Assert.Single(e.Threads).Forecast);
        Assert.Contains("seccomp supervisor", e.Message);
        held.Wake();
        Assert.Equal("answering after 0 withdrawn", held.ReadLine("answering"));
        Assert.Equal(42L, held.Returned().Return);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void With_AvoidRestartSyscall_a_sleeping_thread_is_refused_instead_of_carried()
    {
        using var held = HeldProcess.Start([KnownFilters.RefusingRestartSyscall(KillProcess)]);
        int tid = held.Block("clock_nanosleep", TimedMs);
        held.WaitUntilBlocked(tid, 230);

        var e = Assert.Throws<DumpRefusedException>(() => FilterDump.ReadInstructions(tid, new FilterDumpOptions { SafeThreadWait = TimeSpan.Zero, AvoidRestartSyscall = true }));

        Assert.Equal(InterruptionForecast.RestartSyscall, Assert.Single(e.Threads).Forecast);
        Assert.Contains("restart_syscall", e.Message);
        var (ret, errno, _) = held.Returned();
        Assert.Equal((0L, 0), (ret, errno));
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void A_process_with_a_sleeping_thread_and_a_harmless_one_is_read_through_the_harmless_one()
    {
        // The main thread of the held process sleeps in read(2) on its stdin pipe, and so does a second thread on
        // another pipe: calls the kernel makes again. The second is read (not the leader: see the test above).
        var filter = KnownFilters.RefusingRestartSyscall(KillProcess);
        using var held = HeldProcess.Start([filter]);
        int reader = held.Block("read_pipe", 0);
        held.WaitUntilBlocked(reader, 0);
        int sleeper = held.Block("nanosleep", TimedMs);
        held.WaitUntilBlocked(sleeper, 35);
        held.WaitUntilBlocked(held.Pid, 0);

        var dump = FilterDump.ReadInstructions(held.Pid, new FilterDumpOptions());

        var thread = dump.Thread!;
        output.WriteLine($"read {thread.Before} ({thread.Before.Doing}): {thread.Outcome}, {thread.Detail}");
        Assert.Equal(reader, thread.Before.Tid);
        Assert.Equal(InterruptionForecast.Transparent, thread.Before.Forecast);
        Assert.Equal(StopOutcome.CallRestarted, thread.Outcome);
        Assert.Contains("read returned -ERESTARTSYS", thread.Detail);
        Assert.Equal([filter], dump.Filters.Select(f => f.ToArray()));
        Assert.Empty(dump.ThreadsWithOtherFilterCounts);
        var (ret, errno, took, tid) = held.ReturnedWithTid();
        Assert.Equal((sleeper, 0L, 0), (tid, ret, errno));
        Assert.InRange(took, TimedMs - 5, TimedMs + Slack);
        held.Wake(reader);
        Assert.Equal(reader, held.ReturnedWithTid().Tid);
        Assert.Equal(5, held.Exit(5));
    }

    [Fact]
    public void Threads_under_another_number_of_filters_are_reported_and_can_be_read_by_their_id()
    {
        using var held = HeldProcess.Start([KnownFilters.Oldest]);
        int other = held.Block("read_pipe", 0, threadFilter: KnownFilters.Middle);
        held.WaitUntilBlocked(other, 0);

        var process = FilterDump.ReadInstructions(held.Pid, new FilterDumpOptions());
        var thread = FilterDump.ReadInstructions(other, new FilterDumpOptions());

        output.WriteLine($"process dump: read {process.Thread?.Before} ({process.Thread?.Before.SeccompFilters} filters); others: {string.Join(", ", process.ThreadsWithOtherFilterCounts)}");
        Assert.Equal([KnownFilters.Oldest], process.Filters.Select(f => f.ToArray()));
        var differs = Assert.Single(process.ThreadsWithOtherFilterCounts);
        Assert.Equal((other, 2), (differs.Tid, differs.SeccompFilters));
        Assert.Equal([KnownFilters.Middle, KnownFilters.Oldest], thread.Filters.Select(f => f.ToArray()));
        Assert.Equal(other, thread.Thread!.Before.Tid);
        Assert.Equal(held.Pid, Assert.Single(thread.ThreadsWithOtherFilterCounts).Tid);
        held.Wake();
        var (ret, errno, _) = held.Returned();
        Assert.Equal((1L, 0), (ret, errno));
        Assert.Equal(0, held.Exit(0));
    }

    /// <summary>
    /// A signal the process ignores (SIGWINCH and SIGCHLD by default) is dropped when sent to an untraced thread, but kept
    /// for a traced one (<c>sig_ignored()</c>), where it interrupts a sleep like PTRACE_INTERRUPT does: handed back it
    /// would be ignored and the call would go on through restart_syscall, refused here with KILL_PROCESS. A storm of them
    /// at a thread alternating short work with 1 ms sleeps, during 100 dumps that each read it (asleep or caught
    /// entering its sleep): each must be dropped, the sleep carried again, and every sleep end in its timeout.
    /// </summary>
    [Theory]
    [InlineData(28)] // SIGWINCH
    [InlineData(17)] // SIGCHLD
    public void Ignored_signals_kept_because_the_thread_is_traced_are_dropped_and_never_make_it_restart_under_its_filters(int signal)
    {
        using var held = HeldProcess.Start([KnownFilters.RefusingRestartSyscall(KillProcess)]);
        int tid = held.Loop("clock_nanosleep", 3000, spinMicroseconds: 30, ms: 1);
        Assert.Equal("storming", held.Ask(FormattableString.Invariant($"storm 200000 10 {signal} {tid}")));

        var outcomes = new Dictionary<StopOutcome, int>();
        int withDropped = 0;
        for (int i = 0; i < 100; i++)
        {
            var dump = FilterDump.ReadInstructions(tid, new FilterDumpOptions());
            outcomes[dump.Thread!.Outcome] = outcomes.GetValueOrDefault(dump.Thread.Outcome) + 1;
            if (dump.Thread.Detail.Contains("dropped", StringComparison.Ordinal)) withDropped++;
        }

        var (n, bad, took) = held.Looped();
        output.WriteLine($"signal {signal}: {string.Join(", ", outcomes.Select(kv => $"{kv.Key} {kv.Value}"))}; {withDropped} dumps dropped ignored signals; {n} sleeps, {bad} not ending in their timeout, {took} ms");
        Assert.Equal(0, bad);
        Assert.True(withDropped > 0, "no dump met an ignored signal: the storm did not test anything");
        Assert.Equal(0, held.Exit(0));
    }

    /// <summary>
    /// A signal sent to the process (kill) is checked against the thread group leader: while the leader is traced, one
    /// the process ignores is queued instead of dropped, and wakes another thread (complete_signal picks one that wants
    /// it) — here one asleep in clock_nanosleep under a filter that kills on restart_syscall. So a dump does not stop
    /// the leader while another thread could read it; with only the leader and the sleeper, the sleeper is carried.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ignored_signals_sent_to_the_process_during_dumps_do_not_reach_a_sleeping_sibling(bool withHarmlessSibling)
    {
        using var held = HeldProcess.Start([KnownFilters.RefusingRestartSyscall(KillProcess)]);
        int reader = withHarmlessSibling ? held.Block("read_pipe", 0) : 0;
        if (withHarmlessSibling) held.WaitUntilBlocked(reader, 0);
        int sleeper = held.Block("clock_nanosleep", 2500);
        held.WaitUntilBlocked(sleeper, 230);
        Assert.Equal("storming", held.Ask("storm 200000 10 28")); // SIGWINCH to the process, every 10 µs

        var read = new Dictionary<int, int>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 100 && clock.Elapsed < TimeSpan.FromSeconds(2); i++)
        {
            var dump = FilterDump.ReadInstructions(held.Pid, new FilterDumpOptions());
            read[dump.Thread!.Before.Tid] = read.GetValueOrDefault(dump.Thread.Before.Tid) + 1;
        }

        output.WriteLine($"threads read: {string.Join(", ", read.Select(kv => $"{kv.Key}{(kv.Key == held.Pid ? " (leader)" : kv.Key == sleeper ? " (sleeper)" : " (reader)")} x{kv.Value}"))}");
        Assert.Equal(withHarmlessSibling ? reader : sleeper, Assert.Single(read).Key);
        var (ret, errno, took, tid) = held.ReturnedWithTid();
        Assert.Equal((sleeper, 0L, 0), (tid, ret, errno));
        Assert.InRange(took, 2495, 2500 + Slack);
        if (withHarmlessSibling)
        {
            held.Wake(reader);
            Assert.Equal((1L, reader), (held.ReturnedWithTid() is var r ? (r.Return, r.Tid) : default));
        }
        Assert.Equal(0, held.Exit(0));
    }

    /// <summary>
    /// The race between the look and the stop: a thread that spins a few microseconds (seen running, so chosen) and
    /// then sleeps again is often caught just inside its next call. Every dump must leave it unharmed: its filter
    /// kills the process on restart_syscall, and every one of its calls must end in its timeout.
    /// </summary>
    [Theory]
    [InlineData("clock_nanosleep", StopOutcome.RestartSyscallCarried)]
    [InlineData("nanosleep", StopOutcome.RestartSyscallCarried)]
    [InlineData("poll", StopOutcome.RestartSyscallCarried)]
    [InlineData("epoll_wait", StopOutcome.EintrPrevented)]
    public void A_thread_caught_entering_a_call_after_the_look_is_let_go_unharmed(string kind, StopOutcome raced)
    {
        const int calls = 1500;
        using var held = HeldProcess.Start([KnownFilters.RefusingRestartSyscall(KillProcess)]);
        int tid = held.Loop(kind, calls, spinMicroseconds: 30, ms: 1);
        var outcomes = new Dictionary<StopOutcome, int>();
        int refused = 0, dumps = 0;
        var clock = Stopwatch.StartNew();
        // Only running looks are acceptable (its calls are avoided), so every stop that finds it in a call is a race.
        var options = new FilterDumpOptions { SafeThreadWait = TimeSpan.FromMilliseconds(50), AvoidRestartSyscall = true };
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                if (held.ThreadState(tid).State == 'Z') break;
                var dump = FilterDump.ReadInstructions(tid, options);
                dumps++;
                var o = dump.Thread!.Outcome;
                outcomes[o] = outcomes.GetValueOrDefault(o) + 1;
                Assert.False(dump.Thread.ProgramSawIt, dump.Thread.Detail);
            }
            catch (DumpRefusedException) { refused++; }
            catch (ErrnoException e) when (e.Errno == Errno.ESRCH) { break; } // the loop ended and its thread with it
            catch (IOException) { break; }
            if (outcomes.GetValueOrDefault(raced) >= 20 && dumps >= 100) break;
        }
        var (n, bad, took) = held.Looped();
        output.WriteLine($"{kind}: {dumps} dumps, {refused} refused; outcomes {string.Join(", ", outcomes.Select(kv => $"{kv.Key} {kv.Value}"))}; {n} calls, {bad} not ending in their timeout, {took} ms");
        Assert.Equal(0, bad);
        Assert.True(outcomes.GetValueOrDefault(raced) > 0, $"no dump caught the thread inside {kind}; outcomes: {string.Join(", ", outcomes)}");
        Assert.Equal(3, held.Exit(3));
    }
}
