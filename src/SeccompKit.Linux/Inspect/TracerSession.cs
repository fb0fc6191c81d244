using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Ptrace;
using Architecture = SeccompKit.Syscalls.Architecture;

namespace SeccompKit.Linux.Inspect;

/// <summary>
/// One ptrace session on one thread: PTRACE_SEIZE, PTRACE_INTERRUPT, the stop, the registers, every filter, and
/// then letting the thread go so that neither the program nor its filters notice (see <see cref="StopOutcome"/>).
/// Every call must come from the thread that attached (a tracer is a thread), so <see cref="FilterDump"/> runs a
/// session on a thread of its own that ends with it; when it ends, the kernel detaches whatever it still traces
/// (<c>exit_ptrace</c>: <c>__ptrace_unlink</c> clears every ptrace option, PT_SUSPEND_SECCOMP included, and wakes
/// the tracee only if it is in a ptrace stop), which <see cref="Carry"/> relies on.
/// </summary>
internal sealed class TracerSession
{
    private const uint AuditArchI386 = 0x40000003;
    private const uint AuditArchX86_64 = 0xc000003e;

    private readonly int _tid;
    private readonly TimeSpan _timeout;
    private readonly Architecture _abi;
    private readonly TimeSpan _restartWatch;

    private TracerSession(int tid, TimeSpan timeout, TimeSpan restartWatch, Architecture abi)
    {
        _tid = tid;
        _timeout = timeout;
        _restartWatch = restartWatch;
        _abi = abi;
    }

    /// <summary>What a session read and how it left the thread.</summary>
    internal sealed record Result(ImmutableArray<Instruction>[] OldestFirst, StopOutcome Outcome, string Detail, string? Syscall, TimeSpan CheckToStop)
    {
        /// <summary>
        /// True when the session ended with the thread still attached, asleep in a carried <c>restart_syscall</c>: the
        /// kernel detaches it when the session's thread exits.
        /// </summary>
        internal bool LeftAttached { get; init; }
    }

    /// <summary>The kinds of stop (or end) a wait can report.</summary>
    private enum StopKind { Interrupt, GroupStop, Signal, SyscallEntry, SyscallExit, Exited, Sleeping, TimedOut }

    private readonly record struct Stop(StopKind Kind, int Signal = 0);

    /// <summary>
    /// Runs a whole session on the calling thread, which must be a thread of its own that ends afterwards.
    /// <paramref name="checkedAt"/> is when the thread was last looked at (a <see cref="Stopwatch.GetTimestamp"/>), for
    /// <see cref="DumpedThread.CheckToStop"/>.
    /// </summary>
    internal static Result Run(int tid, TimeSpan timeout, TimeSpan restartWatch, Architecture abi, long checkedAt) =>
        new TracerSession(tid, timeout, restartWatch, abi).Run(checkedAt);

    private Result Run(long checkedAt)
    {
        if (Errors.RetryEintr(() => ptrace(PTRACE_SEIZE, _tid, 0, 0)).Result < 0)
            throw SeizeFailed(_tid, LastErrno());
        bool attached = true;
        try
        {
            if (Errors.RetryEintr(() => ptrace(PTRACE_INTERRUPT, _tid, 0, 0)).Result < 0)
                throw Failed("ptrace(PTRACE_INTERRUPT)", LastErrno(), _tid);
            var stop = NextStop(sleepingEnds: false);
            var checkToStop = Stopwatch.GetElapsedTime(checkedAt);
            if (stop.Kind == StopKind.Exited)
                throw new ErrnoException("waitpid", Errno.ESRCH, $"process {_tid} exited before its filters could be read");
            if (stop.Kind == StopKind.TimedOut)
                throw new SeccompException(
                    $"process {_tid} did not stop within {_timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s of PTRACE_INTERRUPT " +
                    $"(state {ProcStatus.Read(_tid)?.State ?? '?'}); a thread in uninterruptible sleep (D) or waiting for a vfork child cannot stop until that ends. " +
                    "It was left as it was (detached, running); try again later.");

            // At the stop the thread sits in get_signal() on its way back to user space, so its system call (if any)
            // has already returned; what the kernel does next is decided by orig_rax and rax alone.
            var regs = GetRegs();
            bool compat = SyscallArch() == AuditArchI386;
            ImmutableArray<Instruction>[]? filters = null;
            ExceptionDispatchInfo? readFailure = null;
            try { filters = ReadFilters(); }
            catch (ErrnoException e) { readFailure = ExceptionDispatchInfo.Capture(e); }
            // Settled even when the filters could not be read: the thread must be let go unharmed either way (without
            // the filters, a restart_syscall is carried through, or replaced by the original call).
            var (outcome, detail, syscall) = Settle(stop, regs, compat, filters, out bool leftAttached);
            attached = false;
            readFailure?.Throw();
            return new Result(filters!, outcome, detail, syscall, checkToStop) { LeftAttached = leftAttached };
        }
        finally
        {
            // Only reached attached when something above threw: let the thread go as it was. If it is not in a
            // ptrace stop (it never stopped in time, or died) this fails with ESRCH, and the kernel detaches it when
            // this thread ends, dropping the pending PTRACE_INTERRUPT with it.
            if (attached) _ = Errors.RetryEintr(() => ptrace(PTRACE_DETACH, _tid, 0, 0));
        }
    }

    /// <summary>Decides from the registers at the stop how to let the thread go, and does it (detaching, unless carried into a sleep).</summary>
    private (StopOutcome, string, string?) Settle(Stop stop, user_regs_struct regs, bool compat, ImmutableArray<Instruction>[]? filters, out bool leftAttached)
    {
        leftAttached = false;
        switch (stop.Kind)
        {
            case StopKind.Signal when !Ignored(stop.Signal):
                // A signal arrived before the interrupt was taken: the stop is its delivery. Handed back, it does to the
                // thread what it would have done anyway (a handler sees EINTR), and the pending interrupt is dropped at
                // detach.
                Detach(stop.Signal);
                return (StopOutcome.SignalHandedBack, $"signal {stop.Signal} arrived first and was handed back on detach", null);
            case StopKind.Signal:
                // A signal the process ignores reached the thread only because it is traced (sig_ignored() keeps them
                // for traced tasks; sent to an untraced thread it would have been dropped). It interrupted the call like
                // the interrupt did: drop it (every later resume passes 0) and settle from the registers.
                break;
            case StopKind.GroupStop:
                Detach(0);
                return (StopOutcome.AlreadyStopped, $"the thread is stopped by signal {stop.Signal} and stays stopped", null);
        }

        int nr = unchecked((int)regs.orig_rax); // syscall_get_nr() is an int on x86
        if (nr < 0)
        {
            Detach(0);
            return (StopOutcome.NotInSyscall, "stopped outside a system call", null);
        }
        string name = ThreadActivityReader.NameOf(compat ? Architecture.X86 : _abi == Architecture.X86 ? Architecture.X86_64 : _abi, nr);
        long error = Interruption.ErrorOf(regs.rax, compat);
        switch (error)
        {
            case Interruption.ERESTARTSYS or Interruption.ERESTARTNOINTR or Interruption.ERESTARTNOHAND:
                Detach(0);
                return (StopOutcome.CallRestarted, $"{name} returned {CodeName(error)}: the kernel makes it again with the same registers", name);

            case Interruption.ERESTART_RESTARTBLOCK:
            {
                int restartNr = Interruption.RestartSyscallNumber(compat, regs.orig_rax);
                var data = compat
                    ? new SeccompData(restartNr, AuditArchI386, regs.rip, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp)
                    : new SeccompData(restartNr, AuditArchX86_64, regs.rip, regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9);
                var verdict = Verdict(filters, data);
                if (verdict == SeccompReturn.SECCOMP_RET_ALLOW)
                {
                    Detach(0);
                    return (StopOutcome.RestartSyscallAllowed, $"{name} returned -ERESTART_RESTARTBLOCK and the thread's filters allow restart_syscall", name);
                }
                var (outcome, detail) = Carry(name, restartNr, compat, regs.rip, verdict, out leftAttached);
                return (outcome, detail, name);
            }

            case Interruption.EINTR:
            {
                var file = Interruption.NeedsFileKind(name)
                    ? Interruption.KindOfLink(ThreadActivityReader.ReadLink($"/proc/{_tid.ToString(CultureInfo.InvariantCulture)}/fd/{(compat ? regs.rbx : regs.rdi).ToString(CultureInfo.InvariantCulture)}"))
                    : FileKind.None;
                if (!Interruption.IsRestartableAfterEintr(name, file))
                {
                    Detach(0);
                    return (StopOutcome.EintrNotPrevented, $"{name} returned EINTR (it was entered after the last look, or a signal interrupted it) and is not known to be safe to make again: the program sees EINTR", name);
                }
                regs.rax = unchecked((ulong)Interruption.ERESTARTNOHAND);
                SetRegs(regs);
                Detach(0);
                return (StopOutcome.EintrPrevented, $"{name} returned EINTR; it did nothing, so its return code was made -ERESTARTNOHAND and the kernel makes it again", name);
            }

            default:
                Detach(0);
                return (StopOutcome.CallCompleted, $"{name} had returned {error.ToString(CultureInfo.InvariantCulture)} on its own", name);
        }
    }

    /// <summary>
    /// Carries the thread through the <c>restart_syscall</c> its filters would refuse: with PTRACE_O_SUSPEND_SECCOMP
    /// set, PTRACE_SYSCALL to the call's entry (nothing runs in user space before it: arch_do_signal_or_restart points
    /// the thread back at its <c>syscall</c> instruction), check that it is the expected call (number, ABI, and the
    /// address after that instruction, which the filters would have seen), PTRACE_SYSCALL again — the
    /// filters are skipped for this one entry, because __secure_computing runs after the entry stop and sees
    /// PT_SUSPEND_SECCOMP — then either the exit stop comes (detach: the options go with it) or the thread sleeps in
    /// the restarted call, past the filter check (end the session: the kernel detaches it when this thread exits,
    /// without waking it, and it returns to user space under its filters). A signal that comes first is handed back
    /// before any user code runs, with the filters restored by the detach.
    /// </summary>
    private (StopOutcome, string) Carry(string name, int restartNr, bool compat, ulong ip, uint verdict, out bool leftAttached)
    {
        leftAttached = false;
        string refused = verdict == uint.MaxValue
            ? "its filters could not be checked"
            : $"its filters give restart_syscall {new SeccompResult(verdict)}";
        // Checking the restart_syscall entry needs PTRACE_GET_SYSCALL_INFO (5.3); suspending the filters needs what
        // PTRACE_SECCOMP_GET_FILTER needs, so it fails only if reading them failed too. Without either, the harmless
        // fallback: make the thread repeat its original call (-ERESTARTNOINTR), which its filters allowed; only its
        // timeout starts afresh.
        if (Interop.Ptrace.GetSyscallInfo(_tid, out _) < 0
            || Errors.RetryEintr(() => ptrace(PTRACE_SETOPTIONS, _tid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP)).Result < 0)
        {
            var errno = LastErrno();
            var regs = GetRegs();
            regs.rax = unchecked((ulong)Interruption.ERESTARTNOINTR);
            SetRegs(regs);
            Detach(0);
            return (StopOutcome.CallRestarted,
                $"{name} returned -ERESTART_RESTARTBLOCK and {refused}; it could not be carried through restart_syscall ({errno}), so the thread repeats {name} instead (its timeout starts afresh)");
        }
        string carried = $"{name} returned -ERESTART_RESTARTBLOCK and {refused}; ";
        Resume(PTRACE_SYSCALL, 0);
        uint arch = compat ? AuditArchI386 : AuditArchX86_64;
        bool insideRestart = false;
        int dropped = 0;
        Stop? known = null;
        var watching = Stopwatch.StartNew();
        while (true)
        {
            // While attached, a signal the process ignores is queued rather than dropped (sig_ignored() keeps them for
            // traced tasks) and can interrupt the restarted sleep; the loop below deals with it, but only while this
            // session watches. So the restarted call is watched until it returns, for up to _restartWatch; a longer
            // sleep is left once asleep (see docs/KERNEL-FINDINGS.md for the remaining window).
            var next = known ?? NextStop(sleepingEnds: insideRestart, sleepingAfter: _restartWatch - watching.Elapsed);
            known = null;
            switch (next.Kind)
            {
                case StopKind.Signal when Ignored(next.Signal):
                    // Kept only because the thread is traced: drop it and go on (a handler-less ignored signal would
                    // otherwise leave the restart to the filters).
                    dropped++;
                    Resume(PTRACE_SYSCALL, 0);
                    continue;
                case StopKind.Signal or StopKind.GroupStop:
                    // A signal came first. Detaching hands it back and drops the suspension together: a handler runs
                    // filtered and sees EINTR, a stop signal stops the thread, exactly as the signal alone would have.
                    Detach(next.Kind == StopKind.Signal ? next.Signal : 0);
                    return (StopOutcome.RestartSyscallCarried, carried + $"signal {next.Signal} arrived first and was handed back (it ends the sleep as it would have without the stop)");
                case StopKind.Interrupt:
                    // The interrupt asked for was still pending (a signal's stop came first), or this is a late report of the
                    // first stop. Ask the kernel which stop the thread is in now, if any, and go on from that one.
                    if (Interop.Ptrace.GetSyscallInfo(_tid, out _) < 0) continue; // not in a stop: a late report
                    var actual = QueryCurrentStop();
                    if (actual.Kind != StopKind.Interrupt) { known = actual; continue; }
                    Resume(PTRACE_SYSCALL, 0);
                    continue;
                case StopKind.Exited:
                    return (StopOutcome.RestartSyscallCarried, carried + "the thread exited before restart_syscall returned");
                case StopKind.TimedOut when !insideRestart:
                    // Not at the entry after the whole timeout (starved of CPU, or frozen): put the filters back; the
                    // thread is detached when this session's thread exits.
                    ClearOptionsOrLeave();
                    throw new SeccompException($"thread {_tid} did not reach restart_syscall within {_timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s; it was left with its filters in force");
                case StopKind.TimedOut or StopKind.Sleeping:
                    // Asleep (or running, starved of CPU) inside restart_syscall, past the filter check, which follows the
                    // entry stop without any sleep: end the session; the kernel detaches it (filters back) without waking it.
                    leftAttached = true;
                    return (StopOutcome.RestartSyscallCarried, carried + "restart_syscall was run with the filters suspended for that call only and " +
                        (next.Kind == StopKind.Sleeping
                            ? $"still slept after {FilterDump.Seconds(watching.Elapsed)} s; the kernel detached the thread (filters back) without waking it"
                            : "was detached inside it") + Dropped(dropped));
                case StopKind.SyscallEntry:
                {
                    var info = GetSyscallInfo();
                    if (unchecked((int)info.nr_or_rval) != restartNr || info.arch != arch || info.instruction_pointer != ip)
                    {
                        // Cannot happen (the thread was pointed at its syscall instruction with restart_syscall's number);
                        // if it does, put the filters back before the call is checked: seccomp runs after this entry stop.
                        ClearOptionsOrLeave();
                        Detach(0);
                        return (StopOutcome.RestartSyscallCarried, carried +
                            $"the next call was {unchecked((long)info.nr_or_rval).ToString(CultureInfo.InvariantCulture)} (arch 0x{info.arch:x8}), not restart_syscall, and was left to its filters");
                    }
                    insideRestart = true;
                    Resume(PTRACE_SYSCALL, 0);
                    continue;
                }
                case StopKind.SyscallExit:
                {
                    var regs = GetRegs();
                    if (Interruption.ErrorOf(regs.rax, compat) == Interruption.ERESTART_RESTARTBLOCK)
                    {
                        // Interrupted again (by a signal that arrived meanwhile): round again, through the signal's stop.
                        insideRestart = false;
                        Resume(PTRACE_SYSCALL, 0);
                        continue;
                    }
                    Detach(0);
                    return (StopOutcome.RestartSyscallCarried, carried + "restart_syscall was run with the filters suspended for that call only, and returned before the detach" + Dropped(dropped));
                }
                default:
                    Detach(0);
                    return (StopOutcome.RestartSyscallCarried, carried + "restart_syscall was run with the filters suspended for that call only");
            }
        }
    }

    private static string Dropped(int count) => count == 0 ? "" : $"; {count} signal{(count == 1 ? "" : "s")} the process ignores, kept only because the thread was traced, {(count == 1 ? "was" : "were")} dropped";

    /// <summary>
    /// True when the process ignores <paramref name="signal"/> (SIG_IGN, or no handler and an ignoring default). Such a
    /// signal sent to an untraced thread is dropped when sent; to a traced one it is queued and interrupts its sleep.
    /// </summary>
    private bool Ignored(int signal) => ProcStatus.Read(_tid)?.Ignores(signal) ?? false;

    /// <summary>Clears the options (PT_SUSPEND_SECCOMP with them) while the thread is stopped; on failure it is detached by the caller or at thread exit.</summary>
    private void ClearOptionsOrLeave() => _ = Errors.RetryEintr(() => ptrace(PTRACE_SETOPTIONS, _tid, 0, 0));

    /// <summary>
    /// The stack's verdict on <paramref name="data"/> by SeccompKit's interpreter, or <see cref="uint.MaxValue"/> when the
    /// filters cannot be evaluated (they could not be read, or fail the validator): the caller then carries the thread
    /// through, which is safe whatever the verdict.
    /// </summary>
    private static uint Verdict(ImmutableArray<Instruction>[]? oldestFirst, SeccompData data)
    {
        if (oldestFirst is null) return uint.MaxValue;
        var programs = new List<BpfProgram>(oldestFirst.Length);
        foreach (var f in oldestFirst)
        {
            if (!BpfProgram.TryCreate(f.AsSpan(), out var p, out _)) return uint.MaxValue;
            programs.Add(p!);
        }
        try { return FilterStack.FromInstallOrder(programs).Evaluate(data); }
        catch (SeccompException) { return uint.MaxValue; }
    }

    /// <summary>Every filter of the stopped thread, oldest first (the kernel's index order).</summary>
    private ImmutableArray<Instruction>[] ReadFilters()
    {
        // The kernel numbers filters from the oldest (index 0 = first installed), and a filter added meanwhile (TSYNC
        // from another thread) can only appear at the newest end: read up to ENOENT.
        var oldestFirst = new List<ImmutableArray<Instruction>>();
        for (nint index = 0; ; index++)
        {
            long length = Errors.RetryEintr(() => ptrace(PTRACE_SECCOMP_GET_FILTER, _tid, index, 0)).Result;
            if (length < 0)
            {
                var errno = LastErrno();
                if (errno == Errno.ENOENT) break; // no filter at this index: every one has been read
                throw GetFilterFailed(_tid, (int)index, errno);
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
                    copied = Errors.RetryEintr(() => ptrace(PTRACE_SECCOMP_GET_FILTER, _tid, index, address)).Result;
                }
            }
            if (copied < 0) throw GetFilterFailed(_tid, (int)index, LastErrno());
            if (copied != length)
                throw new SeccompException($"ptrace(PTRACE_SECCOMP_GET_FILTER) gave filter {index} of process {_tid} as {length} instructions, then as {copied}; try again");
            oldestFirst.Add(ImmutableArray.Create(BpfProgram.ParseRaw(bytes)));
        }
        return [.. oldestFirst];
    }

    private user_regs_struct GetRegs()
    {
        if (Interop.Ptrace.GetRegs(_tid, out var regs, out int length) < 0) throw Failed("ptrace(PTRACE_GETREGSET)", LastErrno(), _tid);
        // The kernel gives a thread running 32-bit code the i386 register set (68 bytes); FilterDump refuses 32-bit
        // programs before touching them, so only a 64-bit program that switched to 32-bit code gets here.
        if (length != Marshal.SizeOf<user_regs_struct>())
            throw new SeccompException($"thread {_tid} runs 32-bit code ({length}-byte register set), whose stop seccompkit cannot check; it was let go as it was");
        return regs;
    }

    private void SetRegs(user_regs_struct regs)
    {
        if (Interop.Ptrace.SetRegs(_tid, regs) < 0) throw Failed("ptrace(PTRACE_SETREGSET)", LastErrno(), _tid);
    }

    private ptrace_syscall_info GetSyscallInfo()
    {
        if (Interop.Ptrace.GetSyscallInfo(_tid, out var info) < 0) throw Failed("ptrace(PTRACE_GET_SYSCALL_INFO)", LastErrno(), _tid);
        return info;
    }

    /// <summary>
    /// The ABI of the system call the stopped thread is in: AUDIT_ARCH_I386 for a call made with <c>int 0x80</c> or from
    /// a 32-bit process (the kernel's TS_COMPAT, which also decides which <c>restart_syscall</c> it makes). On kernels
    /// without PTRACE_GET_SYSCALL_INFO (before 5.3): from the executable's ABI.
    /// </summary>
    private uint SyscallArch()
    {
        if (Interop.Ptrace.GetSyscallInfo(_tid, out var info) >= 0) return info.arch;
        return _abi == Architecture.X86 ? AuditArchI386 : AuditArchX86_64;
    }

    private void Resume(int request, int signal)
    {
        if (Errors.RetryEintr(() => ptrace(request, _tid, 0, signal)).Result < 0)
            throw Failed(request == PTRACE_SYSCALL ? "ptrace(PTRACE_SYSCALL)" : "ptrace", LastErrno(), _tid);
    }

    /// <summary>Resumes and detaches the stopped thread, handing back <paramref name="signal"/> (0: none).</summary>
    private void Detach(int signal) => _ = Errors.RetryEintr(() => ptrace(PTRACE_DETACH, _tid, 0, signal));

    /// <summary>
    /// Waits for the thread's next ptrace stop (or its end) and says what it is. With <paramref name="sleepingEnds"/>,
    /// a thread seen asleep (S or D) once <paramref name="sleepingAfter"/> has passed ends the wait too: resumed from a
    /// syscall-entry stop, it can only sleep inside the call, past its filter check. Gives
    /// <see cref="StopKind.TimedOut"/> after the stop timeout.
    /// </summary>
    private Stop NextStop(bool sleepingEnds, TimeSpan sleepingAfter = default)
    {
        var clock = Stopwatch.StartNew();
        for (int attempt = 0; ; attempt++)
        {
            int status = 0;
            var (r, errno) = Errors.RetryEintr(() => waitpid(_tid, out status, __WALL | WNOHANG));
            if (r == _tid)
            {
                if (WIFEXITED(status) || WIFSIGNALED(status)) return new Stop(StopKind.Exited);
                if (WIFSTOPPED(status)) return Decode(status);
                continue; // a continued report (WIFCONTINUED) or the like: keep waiting for the stop
            }
            if (r < 0)
            {
                // ECHILD: another waiter of this process took the report (and may have reaped an exited tracee).
                if (errno != Errno.ECHILD) throw Failed("waitpid", errno, _tid);
            }
            // No report for us. Another thread of this process may have taken it (see FilterDump's remarks): the stop
            // itself is what the next request needs, and /proc shows it as state 't'.
            var now = ProcStatus.Read(_tid);
            if (now is null || now.State is 'Z' or 'X') return new Stop(StopKind.Exited);
            if (now.State == 't')
            {
                // The report may simply not have been posted yet when waitpid looked: take it if it is there now.
                int r2 = waitpid(_tid, out int late, __WALL | WNOHANG);
                if (r2 == _tid && WIFSTOPPED(late)) return Decode(late);
                if (r2 == _tid) continue;
                return QueryCurrentStop();
            }
            if (sleepingEnds && now.State is 'S' or 'D' && clock.Elapsed >= sleepingAfter) return new Stop(StopKind.Sleeping);
            if (r < 0) throw new ErrnoException("waitpid", Errno.ECHILD, $"process {_tid} is traced by this thread but cannot be waited for; is another part of this program waiting for it?");
            if (clock.Elapsed > _timeout) return new Stop(StopKind.TimedOut);
            // A stop usually takes microseconds: yield a few times before sleeping.
            if (attempt < 50) Thread.Yield(); else Thread.Sleep(1);
        }
    }

    private Stop Decode(int status)
    {
        int signal = WSTOPSIG(status);
        if (signal == (SIGTRAP | 0x80)) return SyscallStop();
        if (PtraceEvent(status) == PTRACE_EVENT_STOP)
            // do_jobctl_trap reports the stop PTRACE_INTERRUPT asked for with SIGTRAP, a group stop with its stop signal.
            return signal == SIGTRAP ? new Stop(StopKind.Interrupt) : new Stop(StopKind.GroupStop, signal);
        return new Stop(StopKind.Signal, signal);
    }

    private Stop SyscallStop() => GetSyscallInfo().op == PTRACE_SYSCALL_INFO_EXIT ? new Stop(StopKind.SyscallExit) : new Stop(StopKind.SyscallEntry);

    /// <summary>For a stop whose report someone else collected: the kernel's own description of it.</summary>
    private Stop QueryCurrentStop()
    {
        long r = Interop.Ptrace.GetSyscallInfo(_tid, out var info);
        if (r >= 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY) return new Stop(StopKind.SyscallEntry);
        if (r >= 0 && info.op == PTRACE_SYSCALL_INFO_EXIT) return new Stop(StopKind.SyscallExit);
        if (GetSigInfo(_tid, out var si) < 0) return new Stop(StopKind.GroupStop);
        // ptrace_do_notify sets si_code = signal | PTRACE_EVENT_STOP << 8 for the stops PTRACE_INTERRUPT and group stops cause.
        if ((si.si_code >> 8) == PTRACE_EVENT_STOP)
            return si.si_signo == SIGTRAP ? new Stop(StopKind.Interrupt) : new Stop(StopKind.GroupStop, si.si_signo);
        return new Stop(StopKind.Signal, si.si_signo);
    }

    private static string CodeName(long error) => error switch
    {
        Interruption.ERESTARTSYS => "-ERESTARTSYS",
        Interruption.ERESTARTNOINTR => "-ERESTARTNOINTR",
        Interruption.ERESTARTNOHAND => "-ERESTARTNOHAND",
        Interruption.ERESTART_RESTARTBLOCK => "-ERESTART_RESTARTBLOCK",
        _ => error.ToString(CultureInfo.InvariantCulture),
    };

    internal static Errno LastErrno() => (Errno)Marshal.GetLastPInvokeError();

    internal static ErrnoException NoSuchProcess(int pid) =>
        new("ptrace(PTRACE_SEIZE)", Errno.ESRCH, $"there is no process {pid} (it exited, or lives in another PID namespace); check the PID with ps");

    private static ErrnoException Failed(string call, Errno errno, int pid) => errno == Errno.ESRCH
        ? new(call, errno, $"process {pid} exited while its filters were being read")
        : new(call, errno, "");

    internal static ErrnoException SeizeFailed(int pid, Errno errno, string call = "ptrace(PTRACE_SEIZE)")
    {
        if (errno == Errno.ESRCH) return NoSuchProcess(pid);
        if (errno != Errno.EPERM) return new(call, errno, $"cannot attach to process {pid}");
        var target = ProcStatus.Read(pid);
        // ptrace_attach refuses an exited task with EPERM; it has no filters left to read: say it is gone.
        if (target is null || target.State is 'Z' or 'X')
            return new(call, Errno.ESRCH, $"process {pid} has exited{(target is null ? "" : " (a zombie waiting for its parent)")}");
        var self = ProcStatus.Read(Environment.ProcessId);
        string advice =
            target.Tgid == Environment.ProcessId ? "a process cannot trace itself (or its own threads); run seccompkit as a separate process" :
            target.TracerPid != 0 ? $"process {pid} is already traced by process {target.TracerPid}{CommandOf(target.TracerPid)}, and a process has only one tracer: detach that debugger or strace first" :
            self is not null && !self.HasCapability(ProcStatus.CAP_SYS_PTRACE) ? "this process lacks CAP_SYS_PTRACE, which attaching needs unless the target runs as the same user with no capabilities this process lacks: run as root (sudo)" :
            YamaScope() is 3 ? "kernel.yama.ptrace_scope is 3, which forbids every ptrace attach until reboot" :
            $"the kernel refused ptrace on process {pid} although this process has CAP_SYS_PTRACE; it may be a kernel thread, or a security module (Yama, SELinux, AppArmor) forbids it";
        return new(call, errno, advice);
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
