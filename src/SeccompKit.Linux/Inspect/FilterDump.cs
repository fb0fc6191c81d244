using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Ptrace;

namespace SeccompKit.Linux.Inspect;

/// <summary>What <see cref="FilterDump.ReadInstructions"/> found in a process.</summary>
/// <param name="Pid">The process (or thread) that was read.</param>
/// <param name="Mode">Its seccomp mode.</param>
/// <param name="Filters">
/// Its filters <b>newest first</b> (index 0 = the last installed, the order <see cref="FilterStack"/> takes), exactly
/// as they were handed to seccomp(2); empty unless <paramref name="Mode"/> is <see cref="SeccompMode.Filter"/>.
/// </param>
public sealed record FilterDumpResult(int Pid, SeccompMode Mode, IReadOnlyList<ImmutableArray<Instruction>> Filters);

/// <summary>
/// Reads the seccomp filters of a live process with <c>ptrace(PTRACE_SECCOMP_GET_FILTER)</c>, the way CRIU does.
/// This needs root: CAP_SYS_PTRACE to attach and CAP_SYS_ADMIN to read, and the caller must not itself run
/// under seccomp.
/// <para>
/// The process is disturbed as little as ptrace allows: PTRACE_SEIZE (no signal is sent), PTRACE_INTERRUPT,
/// one wait for the stop, the reads, PTRACE_DETACH. A system call it was blocked in is restarted by the kernel
/// (for sleeps through <c>restart_syscall</c>, which its filters must allow; real profiles do). A signal that
/// arrives while it is stopped is handed back on detach, and a process that was stopped stays stopped.
/// </para>
/// <para>
/// The ptrace session runs on a thread of its own, because a tracer is a thread: every request must come
/// from the thread that attached, and when that thread exits the kernel detaches whatever it still traces.
/// So even a process that cannot stop in time (a vfork parent, uninterruptible I/O) is let go untouched.
/// </para>
/// <para>
/// Do not read a child that this .NET process started with <see cref="Process"/>: .NET's SIGCHLD handling
/// reaps its children with <c>waitpid(pid, WNOHANG)</c>, which also collects ptrace stop reports, and then
/// believes the child has exited. The read itself copes (it notices a stop reported to someone else), but
/// the <see cref="Process"/> object may be left wrong. Children of other processes are not affected.
/// </para>
/// </summary>
public static class FilterDump
{
    /// <summary>How long <see cref="Read"/> waits for the process to stop unless told otherwise.</summary>
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The filters of process <paramref name="pid"/> (a thread id reads that thread's filters), newest first,
    /// validated; an empty list when it has none (seccomp disabled or strict mode).
    /// </summary>
    /// <exception cref="ErrnoException">
    /// ESRCH: no such process, or it exited meanwhile. EPERM: ptrace was refused (the message says whether
    /// the process is already traced, a zombie, or privileges are missing). EACCES: CAP_SYS_ADMIN is missing
    /// or the caller runs under seccomp. EIO: the kernel lacks PTRACE_SECCOMP_GET_FILTER.
    /// </exception>
    /// <exception cref="SeccompException">The process did not stop within <paramref name="stopTimeout"/>.</exception>
    public static IReadOnlyList<BpfProgram> Read(int pid, TimeSpan? stopTimeout = null)
    {
        var dump = ReadInstructions(pid, stopTimeout);
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
    /// Like <see cref="Read"/>, but returns the instructions as the kernel gave them, unvalidated, with the mode.
    /// </summary>
    /// <inheritdoc cref="Read" path="/exception"/>
    public static FilterDumpResult ReadInstructions(int pid, TimeSpan? stopTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        var timeout = stopTimeout ?? DefaultStopTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero, nameof(stopTimeout));
        var status = ProcStatus.Read(pid) ?? throw NoSuchProcess(pid);
        var mode = (SeccompMode)status.Seccomp;
        // Strict mode has no filters and disabled has nothing: no need to stop the process for either.
        if (mode != SeccompMode.Filter) return new FilterDumpResult(pid, mode, []);
        return new FilterDumpResult(pid, mode, OnTracerThread(() => ReadStopped(pid, timeout)));
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

    /// <summary>Attach, stop, read every filter, detach: all on the calling thread (the tracer).</summary>
    private static ImmutableArray<Instruction>[] ReadStopped(int pid, TimeSpan timeout)
    {
        if (Retry(() => ptrace(PTRACE_SEIZE, pid, 0, 0)) < 0)
            throw SeizeFailed(pid, LastErrno());
        int signalToDeliver = 0;
        try
        {
            if (Retry(() => ptrace(PTRACE_INTERRUPT, pid, 0, 0)) < 0)
                throw Failed("ptrace(PTRACE_INTERRUPT)", LastErrno(), pid);
            signalToDeliver = WaitForStop(pid, timeout);

            // The kernel numbers filters from the oldest (index 0 = first installed), and a filter added
            // meanwhile (TSYNC from another thread) can only appear at the newest end: read up, then reverse.
            var oldestFirst = new List<ImmutableArray<Instruction>>();
            for (nint index = 0; ; index++)
            {
                long length = Retry(() => ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, 0));
                if (length < 0)
                {
                    var errno = LastErrno();
                    if (errno == Errno.ENOENT) break; // no filter at this index: every one has been read
                    throw GetFilterFailed(pid, (int)index, errno);
                }
                var bytes = new byte[checked((int)length * Instruction.Size)];
                long copied;
                unsafe
                {
                    fixed (byte* buffer = bytes)
                    {
                        nint address = (nint)buffer;
                        // SAFETY: `bytes` is pinned for the call and holds `length` struct sock_filter (8 bytes each),
                        // exactly what the kernel copies for this index: a filter never changes once installed.
                        copied = Retry(() => ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, address));
                    }
                }
                if (copied < 0) throw GetFilterFailed(pid, (int)index, LastErrno());
                if (copied != length)
                    throw new SeccompException($"ptrace(PTRACE_SECCOMP_GET_FILTER) gave filter {index} of process {pid} as {length} instructions, then as {copied}; try again");
                oldestFirst.Add(ImmutableArray.Create(BpfProgram.ParseRaw(bytes)));
            }
            oldestFirst.Reverse();
            return [.. oldestFirst];
        }
        finally
        {
            // Resumes the tracee, handing back a signal that stopped it. If it is not in a ptrace stop (it never
            // stopped in time, or it died) this fails with ESRCH; the kernel then detaches when this thread ends,
            // and drops the pending PTRACE_INTERRUPT with it.
            Retry(() => ptrace(PTRACE_DETACH, pid, 0, signalToDeliver));
        }
    }

    /// <summary>
    /// Waits until the tracee is in a ptrace stop and returns the signal to hand back on detach: 0 for the
    /// PTRACE_EVENT_STOP of PTRACE_INTERRUPT or of a group-stop, the signal for a signal-delivery-stop.
    /// </summary>
    private static int WaitForStop(int pid, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        for (int attempt = 0; ; attempt++)
        {
            int status = 0;
            int r;
            unsafe
            {
                // SAFETY: `status` is a local that outlives the call; waitpid writes one int to it.
                r = waitpid(pid, &status, __WALL | WNOHANG);
            }
            if (r == pid)
            {
                if (WIFSTOPPED(status))
                    return PtraceEvent(status) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(status);
                if (WIFEXITED(status) || WIFSIGNALED(status))
                    throw new ErrnoException("waitpid", Errno.ESRCH, WIFEXITED(status)
                        ? $"process {pid} exited (status {WEXITSTATUS(status)}) before its filters could be read"
                        : $"process {pid} was killed by signal {WTERMSIG(status)} before its filters could be read");
                continue; // a continued report (WIFCONTINUED) or the like: keep waiting for the stop
            }
            if (r < 0)
            {
                var errno = LastErrno();
                if (errno == Errno.EINTR) continue;
                // ECHILD: another waiter of this process took the report and reaped an exited tracee, or the
                // tracee stopped and someone else collected that report (handled below like r == 0).
                if (errno != Errno.ECHILD) throw Failed("waitpid", errno, pid);
            }
            // No report for us. Another thread of this process may have taken it (see the class remarks):
            // the stop itself is what PTRACE_SECCOMP_GET_FILTER needs, and /proc shows it as state 't'.
            var now = ProcStatus.Read(pid) ?? throw new ErrnoException("waitpid", Errno.ESRCH, $"process {pid} exited before its filters could be read");
            if (now.State == 't')
            {
                // The report may simply not have been posted yet when waitpid looked: take it if it is there now.
                int late = 0;
                int r2;
                unsafe
                {
                    // SAFETY: as above.
                    r2 = waitpid(pid, &late, __WALL | WNOHANG);
                }
                if (r2 == pid && WIFSTOPPED(late)) return PtraceEvent(late) == PTRACE_EVENT_STOP ? 0 : WSTOPSIG(late);
                return SignalOfCurrentStop(pid);
            }
            if (r < 0) throw new ErrnoException("waitpid", Errno.ECHILD, $"process {pid} is traced by this thread but cannot be waited for; is another part of this program waiting for it?");
            if (clock.Elapsed > timeout)
                throw new SeccompException(
                    $"process {pid} did not stop within {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s of PTRACE_INTERRUPT " +
                    $"(state {now.State}); a process in uninterruptible sleep (D) or waiting for a vfork child cannot stop until that ends. " +
                    "It was left as it was (detached, running); try again later.");
            // A stop usually takes microseconds: yield a few times before sleeping.
            if (attempt < 20) Thread.Yield(); else Thread.Sleep(1);
        }
    }

    /// <summary>For a stop whose report someone else collected: the siginfo tells a PTRACE_EVENT_STOP from a signal.</summary>
    private static int SignalOfCurrentStop(int pid)
    {
        siginfo_t info = default;
        long r;
        unsafe
        {
            // SAFETY: `info` is a local of the kernel's 128-byte siginfo_t size; it outlives the call.
            r = ptrace(PTRACE_GETSIGINFO, pid, 0, (nint)(&info));
        }
        if (r < 0) return 0;
        // ptrace_do_notify sets si_code = signal | PTRACE_EVENT_STOP << 8 for the stops PTRACE_INTERRUPT causes.
        return (info.si_code >> 8) == PTRACE_EVENT_STOP ? 0 : info.si_signo;
    }

    /// <summary>Calls <paramref name="call"/> again while it fails with EINTR.</summary>
    private static long Retry(Func<long> call)
    {
        long r;
        do r = call();
        while (r == -1 && LastErrno() == Errno.EINTR);
        return r;
    }

    private static Errno LastErrno() => (Errno)Marshal.GetLastPInvokeError();

    private static ErrnoException NoSuchProcess(int pid) =>
        new("ptrace(PTRACE_SEIZE)", Errno.ESRCH, $"there is no process {pid} (it exited, or lives in another PID namespace); check the PID with ps");

    private static ErrnoException Failed(string call, Errno errno, int pid) => errno == Errno.ESRCH
        ? new(call, errno, $"process {pid} exited while its filters were being read")
        : new(call, errno, "");

    private static ErrnoException SeizeFailed(int pid, Errno errno)
    {
        if (errno == Errno.ESRCH) return NoSuchProcess(pid);
        if (errno != Errno.EPERM) return new("ptrace(PTRACE_SEIZE)", errno, $"cannot attach to process {pid}");
        var target = ProcStatus.Read(pid);
        var self = ProcStatus.Read(Environment.ProcessId);
        string advice =
            target is null ? $"process {pid} exited meanwhile" :
            target.Tgid == Environment.ProcessId ? "a process cannot trace itself (or its own threads); run seccompkit as a separate process" :
            target.TracerPid != 0 ? $"process {pid} is already traced by process {target.TracerPid}{CommandOf(target.TracerPid)}, and a process has only one tracer: detach that debugger or strace first" :
            target.State == 'Z' ? $"process {pid} is a zombie: it has exited and only waits for its parent to collect it" :
            self is not null && !self.HasCapability(ProcStatus.CAP_SYS_PTRACE) ? "this process lacks CAP_SYS_PTRACE, which attaching needs unless the target runs as the same user with no capabilities this process lacks: run as root (sudo)" :
            YamaScope() is 3 ? "kernel.yama.ptrace_scope is 3, which forbids every ptrace attach until reboot" :
            $"the kernel refused ptrace on process {pid} although this process has CAP_SYS_PTRACE; it may be a kernel thread, or a security module (Yama, SELinux, AppArmor) forbids it";
        return new("ptrace(PTRACE_SEIZE)", errno, advice);
    }

    private static ErrnoException GetFilterFailed(int pid, int index, Errno errno)
    {
        const string call = "ptrace(PTRACE_SECCOMP_GET_FILTER)";
        string advice;
        switch (errno)
        {
            case Errno.EACCES:
                var self = ProcStatus.Read(Environment.ProcessId);
                advice = self is { Seccomp: not 0 }
                    ? $"this process itself runs under seccomp (Seccomp: {self.Seccomp}), and the kernel shows filters only to an unconfined tracer: run seccompkit outside the sandbox or container"
                    : "reading filters needs CAP_SYS_ADMIN in the initial user namespace: run as root (sudo), not in a user namespace";
                break;
            case Errno.EIO:
                advice = "this kernel lacks PTRACE_SECCOMP_GET_FILTER (it needs Linux 4.4 or later built with CONFIG_CHECKPOINT_RESTORE)";
                break;
            case Errno.EINVAL:
                advice = $"process {pid} is not in seccomp filter mode (see Seccomp: in /proc/{pid}/status)";
                break;
            case Errno.EMEDIUMTYPE:
                advice = $"filter {index} (counting from the oldest) of process {pid} is not classic BPF, so the kernel kept no copy of its instructions";
                break;
            case Errno.ESRCH:
                advice = $"process {pid} exited (or left its ptrace stop) while its filters were being read";
                break;
            default:
                advice = $"reading filter {index} (counting from the oldest) of process {pid}";
                break;
        }
        return new(call, errno, advice);
    }

    private static string CommandOf(int pid) => ProcStatus.Read(pid) is { } s ? $" ({s.Name})" : "";

    private static int? YamaScope()
    {
        try { return int.Parse(File.ReadAllText("/proc/sys/kernel/yama/ptrace_scope").Trim(), CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return null; }
    }
}
