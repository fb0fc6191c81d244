using System.Collections.Immutable;
using SeccompKit.Syscalls;

namespace SeccompKit.Learning;

/// <summary>One syscall of <see cref="LearnedBaseline"/> and why a learned profile needs it.</summary>
/// <param name="Syscall">The syscall name.</param>
/// <param name="Group">The reason in a word: signals, restart, exit, vdso, contention.</param>
/// <param name="Reason">Why a program may need it without having made it while it was learned.</param>
public sealed record BaselineSyscall(string Syscall, string Group, string Reason);

/// <summary>
/// The syscalls every learned profile allows although the learning run may not have made them: those the kernel makes
/// a program call on its behalf, and those whose need depends on the machine, on timing or on how the run ended rather
/// than on what the program does. Without them a profile learned from a quiet run breaks the first time something
/// ordinary happens: a signal handler returns (SIGWINCH, SIGCHLD, SIGINT handled), the program is stopped and
/// continued (SIGSTOP/SIGCONT, Ctrl-Z, a debugger, <c>seccompkit dump</c>), it runs on a machine whose clock source
/// has no vDSO, two of its threads contend for a lock, or it exits normally after a learning run that ended by a signal.
/// </summary>
/// <remarks>
/// Compared with systemd's <c>@default</c> group (src/shared/seccomp-util.c), which lists what "any program" may call,
/// this is narrower: calls that depend on the program's own logic (mmap, brk, rt_sigaction, kill...) are left to
/// learning, because a run that did not make them did not need them. In particular self-signalling (abort(3),
/// <c>raise</c>, a shell or Python re-raising SIGINT after cleanup) is left out: kill, tgkill and tkill can signal other
/// processes of the same user too. Only the ids those calls ask for are in (getpid, gettid, getppid, getpgrp), because
/// they cannot fail, so nobody checks them: a refused one returns a negative id that turns a learned kill(2) into a
/// broadcast. With an errno default (the
/// default of learn), Python then ends a KeyboardInterrupt with exit status 130 instead of dying of SIGINT (a shell
/// sees 130 either way); with a kill default it dies of SIGSYS at kill (159), and if the traceback quotes a library's
/// source (an interrupt inside threading.py), already at the fcntl calls that open it. abort(3) ends in SIGSEGV
/// instead of SIGABRT. Learn with the program being interrupted, or add those calls, when that matters
/// (the CLI tests' Signals/LearnedSignalSpecs.cs show each case).
/// </remarks>
public static class LearnedBaseline
{
    /// <summary>Every member, for every ABI; <see cref="For(Architecture)"/> picks those an ABI has.</summary>
    public static ImmutableArray<BaselineSyscall> All { get; } =
    [
        // Signal delivery: the kernel builds a frame whose return address is the restorer glibc registered
        // (SA_RESTORER), which calls rt_sigreturn (sigreturn(2)); refused, the handler's return corrupts the program
        // (Python's Ctrl-C ends in SIGSEGV).
        new("rt_sigreturn", "signals", "every signal handler returns through it (sigreturn(2)); a run that caught no signal never made it"),
        // i386's non-RT frames (sa_flags without SA_SIGINFO on the x86 ABI) return through sigreturn.
        new("sigreturn", "signals", "i386 signal handlers without SA_SIGINFO return through it (sigreturn(2))"),
        // kernel/signal.c and arch/x86/kernel/signal.c: a call that returned -ERESTART_RESTARTBLOCK (nanosleep,
        // clock_nanosleep, poll with a timeout, futex waits with a timeout) and is interrupted without a handler
        // running (a stop and SIGCONT, a ptrace attach or interrupt, a freezer) resumes as restart_syscall.
        new("restart_syscall", "restart", "the kernel resumes interrupted sleeps (nanosleep, poll, futex waits) through it after a stop and SIGCONT, a debugger attach or `seccompkit dump` (restart_syscall(2))"),
        // A learning run ended by a signal (timeout, Ctrl-C) never exits by itself; refused with an errno, glibc's
        // _exit loops on exit_group for ever, and with a kill default the program dies of SIGSYS instead of exiting.
        new("exit_group", "exit", "a run that ended by a signal never called it; every normal exit does"),
        new("exit", "exit", "threads end with it; a run that ended by a signal may never have ended one"),
        // Ending by a signal asks for the caller's own pid: glibc's raise(3) and abort(3) call gettid and getpid before
        // tgkill (nptl/pthread_kill.c), Python re-raises SIGINT after a KeyboardInterrupt with kill(getpid(), SIGINT)
        // (Modules/main.c, exit_sigint). These cannot fail (getpid(2): "always successful"), so callers never check:
        // refused with errno(E) they return -E, and kill(-1, sig) signals every process the caller may signal. Seen:
        // Python learned with kill (but not getpid) and interrupted sent SIGINT to every process of its pid namespace.
        new("getpid", "identity", "raise(3), abort(3) and Python's re-raised SIGINT ask for it when the run ends by a signal; refused with errno(E) it returns the pid -E, and kill(-1) signals every process"),
        new("gettid", "identity", "raise(3) and abort(3) ask for it before tgkill; refused with errno(E) it returns the tid -E"),
        // The same hazard for the parent and the process group: getppid(2) and getpgrp(2) "are always successful", so
        // callers hand the result to kill(2) unchecked (a daemon telling its parent it is ready, a job killing its own
        // group with kill(-getpgrp(), sig)); refused with errno(E) they return -E, and kill(-1, sig) or kill(1, sig)
        // reaches every process, or init.
        new("getppid", "identity", "cannot fail (getppid(2)), so its result goes to kill(2) unchecked; refused with errno(E) it returns -E and kill(-1) signals every process"),
        new("getpgrp", "identity", "cannot fail (getpgrp(2)), so kill(-getpgrp(), sig) is written unchecked; refused with errno(E) it returns -E and that kill reaches pid E (init for EPERM)"),
        // vdso(7): these are answered in user space only while the clock source supports it (tsc, kvm-clock); with
        // hpet or acpi_pm, or once the TSC is marked unstable, the vDSO falls back to the real syscall.
        new("clock_gettime", "vdso", "answered by the vDSO on this machine, a real syscall where the clock source has no vDSO support (vdso(7))"),
        new("clock_gettime64", "vdso", "i386's 64-bit-time clock_gettime, a vDSO call that may fall back to the syscall (vdso(7))"),
        new("clock_getres", "vdso", "a vDSO call that falls back to the syscall on some clock sources (vdso(7))"),
        new("clock_getres_time64", "vdso", "i386's 64-bit-time clock_getres, a vDSO call that may fall back to the syscall (vdso(7))"),
        new("gettimeofday", "vdso", "a vDSO call that falls back to the syscall on some clock sources (vdso(7))"),
        new("time", "vdso", "a vDSO call that falls back to the syscall on some clock sources (vdso(7))"),
        new("getcpu", "vdso", "a vDSO call that falls back to the syscall where the vDSO cannot answer it (vdso(7))"),
        // Lock contention is timing: a thread waits (FUTEX_WAIT) and is woken (FUTEX_WAKE) only when another holds
        // the lock, and pthread_join waits on the thread id only if the thread has not ended yet.
        new("futex", "contention", "threads wait for each other only when a lock is contended or a joined thread still runs: timing, not logic"),
        new("futex_time64", "contention", "i386's 64-bit-time futex: waits depend on timing"),
        new("sched_yield", "contention", "spin locks (libstdc++, Rust, Go) yield only when contended"),
    ];

    /// <summary>The members that are syscalls of <paramref name="abi"/>.</summary>
    public static ImmutableArray<BaselineSyscall> For(Architecture abi)
    {
        ArgumentNullException.ThrowIfNull(abi);
        return [.. All.Where(b => abi.Syscalls.Contains(b.Syscall))];
    }

    /// <summary>The members that are syscalls of at least one of <paramref name="abis"/>.</summary>
    public static ImmutableArray<BaselineSyscall> For(IEnumerable<Architecture> abis)
    {
        ArgumentNullException.ThrowIfNull(abis);
        var list = abis.ToList();
        return [.. All.Where(b => list.Any(a => a.Syscalls.Contains(b.Syscall)))];
    }
}
