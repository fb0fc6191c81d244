using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Inspect;

/// <summary>
/// Reads the seccomp filters of a live process with <c>ptrace(PTRACE_SECCOMP_GET_FILTER)</c>, the way CRIU does,
/// <b>without changing what the process does</b>. This needs root: CAP_SYS_PTRACE to attach and CAP_SYS_ADMIN to
/// read, and the caller must not itself run under seccomp.
/// <para>
/// The kernel gives filters only of a thread in a ptrace stop, and PTRACE_INTERRUPT wakes the system call the thread
/// sleeps in as a signal would. Depending on the call, that is invisible (the kernel makes the call again), or the
/// call fails with EINTR in the program, or the kernel continues it through the <c>restart_syscall</c> system call,
/// which a filter learned while nothing interrupted the program may refuse (killing it or failing the call). So the
/// dump, per thread and before touching anything, reads what the thread is doing (<c>/proc/PID/task/TID/syscall</c>,
/// <c>status</c>, <c>wchan</c>) and forecasts the stop (<see cref="InterruptionForecast"/>, from the table measured on
/// the kernel in docs/KERNEL-FINDINGS.md); it stops one thread whose stop is harmless (PTRACE_SEIZE and
/// PTRACE_INTERRUPT act on one thread: the others run on), waits up to <see cref="FilterDumpOptions.SafeThreadWait"/>
/// for one if there is none, and otherwise refuses with <see cref="DumpRefusedException"/> having touched nothing.
/// </para>
/// <para>
/// Between the look and the stop the thread may enter another call. At the stop its registers tell exactly what the
/// kernel will do next (<see cref="StopOutcome"/>): a <c>restart_syscall</c> is checked against the filters just read
/// with SeccompKit's interpreter and, if they do not allow it, the thread is carried through that one call with its
/// filters suspended (PTRACE_O_SUSPEND_SECCOMP, never while user code runs); an EINTR from a call that did nothing
/// is turned back into a restart. The result (<see cref="FilterDumpResult.Thread"/>) says which thread was read, what
/// it was doing and how it was let go. A signal that arrives meanwhile is handed back, unless the process ignores it:
/// a traced thread receives even those (<c>sig_ignored()</c>), so they are dropped, as they would have been. For the
/// same reason the thread group leader, which signals sent to the process are checked against, is stopped only when no
/// other thread will do while a sibling sleeps in a call a signal would disturb. A stopped process stays stopped.
/// One window remains (docs/KERNEL-FINDINGS.md): a signal the process ignores, sent to a thread carried through
/// <c>restart_syscall</c> in the fraction of a millisecond between the end of <see cref="FilterDumpOptions.RestartWatch"/>
/// and the detach.
/// </para>
/// <para>
/// Each ptrace session runs on a thread of its own, because a tracer is a thread: every request must come from the
/// thread that attached, and when that thread exits the kernel detaches whatever it still traces. So even a process
/// that cannot stop in time (a vfork parent, uninterruptible I/O) is let go untouched.
/// </para>
/// <para>
/// Do not read a child that this .NET process started with <see cref="Process"/>: .NET's SIGCHLD handling reaps its
/// children with <c>waitpid(pid, WNOHANG)</c>, which also collects ptrace stop reports, and then believes the child
/// has exited. The read itself copes (it asks the kernel about a stop reported to someone else), but the
/// <see cref="Process"/> object may be left wrong. Children of other processes are not affected.
/// </para>
/// </summary>
public static class FilterDump
{
    /// <summary>How long <see cref="Read(int, TimeSpan?)"/> waits for the chosen thread to stop unless told otherwise.</summary>
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long a dump waits for a thread that can be stopped unnoticed unless told otherwise.</summary>
    public static readonly TimeSpan DefaultSafeThreadWait = TimeSpan.FromSeconds(3);

    /// <summary>How long a thread carried through <c>restart_syscall</c> is watched in the restarted call unless told otherwise.</summary>
    public static readonly TimeSpan DefaultRestartWatch = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// The filters of process <paramref name="pid"/> (a thread id reads that thread's filters), newest first,
    /// validated; an empty list when it has none (seccomp disabled or strict mode).
    /// </summary>
    /// <exception cref="DumpRefusedException">
    /// No thread could be stopped without the program, its filters or its supervisor noticing; nothing was done.
    /// </exception>
    /// <exception cref="ErrnoException">
    /// ESRCH: no such process, or it exited meanwhile. EPERM: ptrace was refused (the message says whether
    /// the process is already traced, a zombie, or privileges are missing). EACCES: CAP_SYS_ADMIN is missing
    /// or the caller runs under seccomp (checked before anything is done). EIO: the kernel lacks
    /// PTRACE_SECCOMP_GET_FILTER.
    /// </exception>
    /// <exception cref="SeccompException">The chosen thread did not stop within the stop timeout (it was let go as it was).</exception>
    public static IReadOnlyList<BpfProgram> Read(int pid, TimeSpan? stopTimeout = null) =>
        Read(pid, new FilterDumpOptions { StopTimeout = stopTimeout ?? DefaultStopTimeout });

    /// <inheritdoc cref="Read(int, TimeSpan?)"/>
    public static IReadOnlyList<BpfProgram> Read(int pid, FilterDumpOptions options)
    {
        var dump = ReadInstructions(pid, options);
        var programs = new BpfProgram[dump.Filters.Count];
        for (int i = 0; i < programs.Length; i++)
        {
            if (!BpfProgram.TryCreate(dump.Filters[i].AsSpan(), out var program, out var error))
                throw new SeccompException(
                    $"filter {i} (newest first) of process {pid} fails SeccompKit's validator although the kernel accepted it: {error}. " +
                    $"This is a SeccompKit bug; please report it with the files of 'seccompkit dump -o DIR {pid}'.");
            programs[i] = program!;
        }
        return programs;
    }

    /// <summary>
    /// Like <see cref="Read(int, TimeSpan?)"/>, but returns the instructions as the kernel gave them, unvalidated, with
    /// the mode, the thread that was read and how it was let go.
    /// </summary>
    /// <inheritdoc cref="Read(int, TimeSpan?)" path="/exception"/>
    public static FilterDumpResult ReadInstructions(int pid, TimeSpan? stopTimeout = null) =>
        ReadInstructions(pid, new FilterDumpOptions { StopTimeout = stopTimeout ?? DefaultStopTimeout });

    /// <inheritdoc cref="ReadInstructions(int, TimeSpan?)"/>
    public static FilterDumpResult ReadInstructions(int pid, FilterDumpOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.StopTimeout, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SafeThreadWait, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RestartWatch, TimeSpan.Zero, nameof(options));
        HostSupport.EnsureSupported();
        var status = ProcStatus.Read(pid) ?? throw TracerSession.NoSuchProcess(pid);
        var abi = ThreadActivityReader.AbiOf(status.Tgid);
        // A thread id (not a thread group leader) asks for that thread; a process id for any of its threads.
        bool oneThread = status.Tgid != pid;
        var clock = Stopwatch.StartNew();
        bool checkedPrivileges = false;
        for (int look = 0; ; look++)
        {
            var all = Look(status.Tgid, ThreadActivityReader.Threads(status.Tgid), abi);
            var threads = oneThread ? all.Where(t => t.Tid == pid).ToList() : all;
            if (threads.Count == 0) throw TracerSession.NoSuchProcess(pid);
            var reference = threads.FirstOrDefault(t => t.Tid == pid && t.Forecast != InterruptionForecast.Exited)
                ?? threads.FirstOrDefault(t => t.Forecast != InterruptionForecast.Exited) ?? threads[0];
            var mode = (SeccompMode)reference.SeccompMode;
            var others = all.Where(t => t.SeccompFilters != reference.SeccompFilters && t.Forecast != InterruptionForecast.Exited).ToArray();
            // Strict mode has no filters and disabled has nothing: no need to stop anything for either.
            if (mode != SeccompMode.Filter)
                return new FilterDumpResult(pid, mode, []) { ThreadsWithOtherFilterCounts = others };
            if (!checkedPrivileges)
            {
                RequireReadPrivileges(pid);
                checkedPrivileges = true;
            }
            // A 32-bit (i386) program's threads have the i386 register set, which the check after the stop does not
            // read (untested here: this machine builds no i386 programs): refuse rather than stop one unchecked.
            if (abi == Architecture.X86)
                throw new DumpRefusedException(pid, [.. threads.Select(t => t with
                {
                    Forecast = InterruptionForecast.Unknown,
                    Reason = "it is a 32-bit (i386) program, whose registers seccompkit does not read to make sure a stop is harmless",
                })], TimeSpan.Zero);

            var sameStack = threads.Where(t => t.SeccompFilters == reference.SeccompFilters).ToArray();
            bool siblingsAtRisk = all.Any(t => t.Tid != status.Tgid && AtRisk(t));
            var chosen = sameStack.Where(t => Acceptable(t, options)).OrderBy(t => Rank(t, status.Tgid, siblingsAtRisk)).FirstOrDefault();
            if (chosen is null)
            {
                if (clock.Elapsed >= options.SafeThreadWait)
                    throw new DumpRefusedException(pid, sameStack, options.SafeThreadWait);
                // A thread is often harmless a moment later (it runs, or moves on to another call): look again soon.
                if (look < 50) Thread.Yield(); else Thread.Sleep(2);
                continue;
            }

            TracerSession.Result session;
            try
            {
                session = OnTracerThread(() => TracerSession.Run(chosen.Tid, options.StopTimeout, options.RestartWatch, abi, chosen.ReadAt));
            }
            catch (ErrnoException e) when (e.Errno == Errno.ESRCH && !oneThread && chosen.Tid != pid && ProcStatus.Read(pid) is not null)
            {
                continue; // that thread exited before it could be seized; the process lives on: choose again
            }
            if (session.LeftAttached) WaitUntilDetached(chosen.Tid);
            var filters = session.OldestFirst.Reverse().ToArray();
            return new FilterDumpResult(pid, (SeccompMode)chosen.SeccompMode, filters)
            {
                Thread = new DumpedThread(chosen, session.Outcome, session.Detail)
                {
                    CheckToStop = session.CheckToStop,
                    InterruptedSyscall = session.Syscall,
                },
                ThreadsWithOtherFilterCounts = all.Where(t => t.SeccompFilters != chosen.SeccompFilters && t.Forecast != InterruptionForecast.Exited).ToArray(),
            };
        }
    }

    /// <summary>What every thread in <paramref name="tids"/> is doing now (threads gone meanwhile are left out).</summary>
    private static List<ThreadActivity> Look(int tgid, IReadOnlyList<int> tids, Architecture abi)
    {
        var list = new List<ThreadActivity>(tids.Count);
        foreach (int tid in tids)
            if (ThreadActivityReader.Read(tgid, tid, abi) is { } activity) list.Add(activity);
        return list;
    }

    private static bool Acceptable(ThreadActivity t, FilterDumpOptions options) => t.Forecast switch
    {
        InterruptionForecast.Transparent or InterruptionForecast.SlowToStop => true,
        InterruptionForecast.RestartSyscall => !options.AvoidRestartSyscall,
        _ => false,
    };

    /// <summary>
    /// Lower is better: a thread asleep in a call the kernel makes again (it is unlikely to move before the stop), a
    /// stopped or otherwise blocked thread, a running one, one that needs <c>restart_syscall</c> carried, then one that
    /// stops only when its call ends. Untraced before traced (seizing a traced thread fails). The thread group leader
    /// comes last while another thread sleeps in a call an interruption would disturb: a signal sent to the process is
    /// checked against the leader, and while the leader is traced even one the process ignores is not dropped but
    /// queued, and wakes another thread (complete_signal) whose call then fails or restarts through restart_syscall
    /// (measured: <c>FilterDumpThreadSpecs</c>). Stopping any other thread leaves such signals dropped.
    /// </summary>
    private static (int, int, int, int) Rank(ThreadActivity t, int tgid, bool siblingsAtRisk)
    {
        int kind = t.Forecast switch
        {
            InterruptionForecast.Transparent when t.State is 'S' or 'T' => 0,
            InterruptionForecast.Transparent when t.State != 'R' => 1,
            InterruptionForecast.Transparent => 2,
            InterruptionForecast.RestartSyscall => 3,
            _ => 4,
        };
        return (t.TracerPid == 0 ? 0 : 1, t.Tid == tgid && siblingsAtRisk ? 1 : 0, kind, t.Tid);
    }

    /// <summary>True for a thread whose interruptible sleep a signal would disturb (it fails, restarts through restart_syscall, or is not known).</summary>
    private static bool AtRisk(ThreadActivity t) =>
        t.Forecast is not (InterruptionForecast.Transparent or InterruptionForecast.SlowToStop or InterruptionForecast.Exited);

    /// <summary>
    /// PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN and an unconfined caller. Checked before anything is done to the
    /// process, so that a dump that cannot read never stops a thread it then could not let go as carefully.
    /// </summary>
    private static void RequireReadPrivileges(int pid)
    {
        var self = ProcStatus.Read(Environment.ProcessId);
        if (self is null) return;
        const string call = "ptrace(PTRACE_SECCOMP_GET_FILTER)";
        if (self.Seccomp != 0)
            throw new ErrnoException(call, Errno.EACCES,
                $"this process itself runs under seccomp (Seccomp: {self.Seccomp}), and the kernel shows filters only to an unconfined tracer: run seccompkit outside the sandbox or container (checked before attaching: process {pid} was not touched)");
        if (!self.HasCapability(ProcStatus.CAP_SYS_ADMIN))
            throw new ErrnoException(call, Errno.EACCES,
                $"reading filters needs CAP_SYS_ADMIN in the initial user namespace: run as root (sudo), not in a user namespace (checked before attaching: process {pid} was not touched)");
    }

    /// <summary>
    /// After a session that left its thread attached (asleep in a carried restart_syscall), waits until the kernel has
    /// detached it, which it does when the session's thread exits; another dump could not attach before that.
    /// </summary>
    private static void WaitUntilDetached(int tid)
    {
        var clock = Stopwatch.StartNew();
        while (ProcStatus.Read(tid) is { TracerPid: not 0 } && clock.Elapsed < TimeSpan.FromSeconds(5))
            Thread.Sleep(1);
    }

    /// <summary>Runs <paramref name="session"/> on a new thread that ends with it, so the kernel detaches anything it left traced.</summary>
    private static T OnTracerThread<T>(Func<T> session)
    {
        T? result = default;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try { result = session(); }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "seccompkit ptrace",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result!;
    }

    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
