using System.Collections.Frozen;

namespace SeccompKit.Linux.Inspect;

/// <summary>
/// What stopping a thread with PTRACE_INTERRUPT and letting it go would do, judged from outside before touching it.
/// PTRACE_INTERRUPT wakes an interruptible sleep as a signal would (it sets TIF_SIGPENDING), so the system call
/// the thread sleeps in returns early with a code that decides what follows: docs/KERNEL-FINDINGS.md has the
/// measured table (<c>InterruptionKernelSpecs</c>).
/// </summary>
public enum InterruptionForecast
{
    /// <summary>
    /// Nothing the program or its filters can see: the thread runs in user space, is stopped by a signal, or sleeps
    /// in a call the kernel makes again with the same registers (-ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND),
    /// which its filters already allowed.
    /// </summary>
    Transparent,

    /// <summary>
    /// The thread sleeps uninterruptibly or killably (state D: disk I/O, a vfork parent, an answered seccomp
    /// notification): PTRACE_INTERRUPT does not wake it, and it stops only when the call ends by itself, which may
    /// take longer than the stop timeout. Harmless, but slow.
    /// </summary>
    SlowToStop,

    /// <summary>
    /// The call ends with -ERESTART_RESTARTBLOCK (nanosleep, relative clock_nanosleep, poll, futex waits with a
    /// timeout): the kernel continues it through the <c>restart_syscall</c> system call, which the thread's
    /// filters may refuse. <see cref="FilterDump"/> checks the filters it has just read and, if they refuse it,
    /// carries the thread through that one call with its filters suspended, so the program sees nothing either way.
    /// </summary>
    RestartSyscall,

    /// <summary>The call fails with EINTR in the program (epoll_wait, semop, sigtimedwait, io_getevents...).</summary>
    Eintr,

    /// <summary>
    /// The thread waits for a seccomp user-notification answer: the notification is withdrawn (its supervisor's
    /// answer fails with ENOENT) and sent again with a new id. The program sees nothing, its supervisor does.
    /// </summary>
    SupervisorVisible,

    /// <summary>
    /// Not known to be harmless: a call outside the measured table, or one whose outcome depends on state that
    /// cannot be read from outside (a socket's SO_RCVTIMEO/SO_SNDTIMEO makes socket calls fail with EINTR).
    /// </summary>
    Unknown,

    /// <summary>The thread has exited (zombie) and cannot be stopped.</summary>
    Exited,
}

/// <summary>The kinds of file a blocking call's descriptor can name, as its <c>/proc/PID/fd/N</c> link tells.</summary>
internal enum FileKind
{
    /// <summary>The link could not be read or the call has no descriptor.</summary>
    None,
    /// <summary><c>pipe:[...]</c> (also FIFOs opened by path show as paths, so they are <see cref="Other"/>).</summary>
    Pipe,
    /// <summary><c>socket:[...]</c>.</summary>
    Socket,
    /// <summary>eventfd, signalfd, timerfd or inotify (<c>anon_inode:...</c>).</summary>
    EventLike,
    /// <summary>A terminal: <c>/dev/pts/N</c>, <c>/dev/ptmx</c>, <c>/dev/tty*</c>, <c>/dev/console</c>.</summary>
    Terminal,
    /// <summary>Anything else (regular files, devices, FUSE...).</summary>
    Other,
}

/// <summary>
/// The measured tables behind <see cref="InterruptionForecast"/> (x86_64 names; the i386 calls of the same name share
/// the kernel code) and the reading of the registers after the stop. Pure: no kernel access.
/// </summary>
internal static class Interruption
{
    /// <summary>-ERESTARTSYS: the kernel restarts the call unless a handler without SA_RESTART runs.</summary>
    internal const long ERESTARTSYS = -512;
    /// <summary>-ERESTARTNOINTR: the kernel always restarts the call.</summary>
    internal const long ERESTARTNOINTR = -513;
    /// <summary>-ERESTARTNOHAND: the kernel restarts the call unless a signal handler runs (then EINTR).</summary>
    internal const long ERESTARTNOHAND = -514;
    /// <summary>-ERESTART_RESTARTBLOCK: without a handler the kernel makes the thread call <c>restart_syscall</c>.</summary>
    internal const long ERESTART_RESTARTBLOCK = -516;
    /// <summary>-EINTR as a system call returns it.</summary>
    internal const long EINTR = -4;

    private const string RestartReason =
        "the kernel continues it through the restart_syscall system call, which the thread's filters may refuse; seccompkit then carries the thread through that one call with its filters suspended";

    /// <summary>Calls that always end in -ERESTART_RESTARTBLOCK when interrupted (measured).</summary>
    private static readonly FrozenSet<string> AlwaysRestartBlock = new[] { "nanosleep", "poll", "restart_syscall" }.ToFrozenSet();

    /// <summary>Calls that end in -ERESTARTSYS or -ERESTARTNOHAND whatever their arguments (measured).</summary>
    private static readonly FrozenDictionary<string, string> AlwaysRestarted = new Dictionary<string, string>
    {
        ["ppoll"] = "ppoll is restarted with the remaining time (-ERESTARTNOHAND)",
        ["ppoll_time64"] = "ppoll is restarted with the remaining time (-ERESTARTNOHAND)",
        ["select"] = "select is restarted with the remaining time (-ERESTARTNOHAND)",
        ["_newselect"] = "select is restarted with the remaining time (-ERESTARTNOHAND)",
        ["pselect6"] = "pselect6 is restarted with the remaining time (-ERESTARTNOHAND)",
        ["pselect6_time64"] = "pselect6 is restarted with the remaining time (-ERESTARTNOHAND)",
        ["futex_waitv"] = "futex_waitv is restarted with its absolute timeout (-ERESTARTSYS)",
        ["pause"] = "pause is restarted (-ERESTARTNOHAND)",
        ["rt_sigsuspend"] = "rt_sigsuspend is restarted (-ERESTARTNOHAND)",
        ["sigsuspend"] = "sigsuspend is restarted (-ERESTARTNOHAND)",
        ["msgrcv"] = "msgrcv is restarted (-ERESTARTNOHAND)",
        ["wait4"] = "wait4 is restarted (-ERESTARTSYS)",
        ["waitid"] = "waitid is restarted (-ERESTARTSYS)",
        ["waitpid"] = "waitpid is restarted (-ERESTARTSYS)",
        ["flock"] = "flock is restarted (-ERESTARTSYS)",
    }.ToFrozenDictionary();

    /// <summary>Calls that fail with EINTR when interrupted, whatever their timeout (measured; signal(7) lists them too).</summary>
    private static readonly FrozenSet<string> AlwaysEintr = new[]
    {
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "semop", "semtimedop", "semtimedop_time64", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    }.ToFrozenSet();

    /// <summary>Calls on a descriptor whose outcome depends on what the descriptor is.</summary>
    private static readonly FrozenSet<string> FileCalls = new[]
    {
        "read", "readv", "write", "writev", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "recv",
        "accept", "accept4", "sendto", "sendmsg", "sendmmsg", "send", "connect",
    }.ToFrozenSet();

    /// <summary>
    /// Calls that return EINTR only when they did nothing (no byte read or sent, no event or signal taken, no
    /// semaphore changed), so that making them again is what the program would have seen had the stop not
    /// happened. For read, readv, write and writev this holds for sockets (a socket timeout is their only EINTR
    /// here); other descriptors (devices, FUSE) are left alone.
    /// </summary>
    private static readonly FrozenSet<string> RestartableAfterEintr = new[]
    {
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "semop", "semtimedop", "semtimedop_time64", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64", "accept", "accept4", "sendto", "sendmsg", "sendmmsg",
    }.ToFrozenSet();

    private static readonly FrozenSet<string> SocketOnlyRestartableAfterEintr = new[] { "read", "readv", "write", "writev" }.ToFrozenSet();

    /// <summary>The calls whose first argument is a file descriptor whose kind matters (<see cref="Forecast"/>).</summary>
    internal static bool NeedsFileKind(string? syscall) => syscall is not null && FileCalls.Contains(syscall);

    /// <summary>
    /// The forecast for a thread in state <paramref name="state"/> (a <c>/proc</c> state letter) in system call
    /// <paramref name="syscall"/> (null: not in a system call; a number as text when the table has no name for it)
    /// with arguments <paramref name="args"/>, its first argument naming a file of kind <paramref name="file"/>, and
    /// <paramref name="waitChannel"/> the kernel function it sleeps in.
    /// </summary>
    internal static (InterruptionForecast Forecast, string Reason) Forecast(char state, bool running, string? syscall, ReadOnlySpan<ulong> args, FileKind file, string waitChannel)
    {
        switch (state)
        {
            case 'Z' or 'X': return (InterruptionForecast.Exited, "it has exited");
            case 'T': return (InterruptionForecast.Transparent, "it is stopped by a signal and stays stopped");
        }
        if (running) return (InterruptionForecast.Transparent, "it is running; the stop comes on its way back to user space");
        if (waitChannel.StartsWith("seccomp_do_user_notification", StringComparison.Ordinal))
            return state == 'D'
                ? (InterruptionForecast.SlowToStop, "it waits killably for its seccomp supervisor's answer (already received), and stops only once answered")
                : (InterruptionForecast.SupervisorVisible, "it waits for its seccomp supervisor's answer: the notification would be withdrawn (the supervisor's answer fails with ENOENT) and sent again");
        if (syscall is null) return (InterruptionForecast.Transparent, "it is not in a system call");
        // A thread in D now may still sleep interruptibly later in the same call, so the call decides in every state.
        return BySyscall(syscall, args, file);
    }

    private static (InterruptionForecast, string) BySyscall(string name, ReadOnlySpan<ulong> args, FileKind file)
    {
        if (AlwaysRestartBlock.Contains(name)) return (InterruptionForecast.RestartSyscall, RestartReason);
        if (AlwaysRestarted.TryGetValue(name, out var restarted)) return (InterruptionForecast.Transparent, restarted);
        if (AlwaysEintr.Contains(name)) return (InterruptionForecast.Eintr, $"{name} fails with EINTR when interrupted, even without a signal handler (signal(7))");
        switch (name)
        {
            case "clock_nanosleep" or "clock_nanosleep_time64":
                // hrtimer_nanosleep: an absolute sleep returns -ERESTARTNOHAND (made again with the same end), a relative
                // one sets a restart block so that the time already slept is not slept again.
                return (Arg(args, 1) & TIMER_ABSTIME) != 0
                    ? (InterruptionForecast.Transparent, "an absolute clock_nanosleep (TIMER_ABSTIME) is restarted with the same end (-ERESTARTNOHAND)")
                    : (InterruptionForecast.RestartSyscall, RestartReason);
            case "futex" or "futex_time64":
                int op = (int)(Arg(args, 1) & FUTEX_CMD_MASK);
                if (op is FUTEX_WAIT or FUTEX_WAIT_BITSET)
                    return Arg(args, 3) == 0
                        ? (InterruptionForecast.Transparent, "a futex wait without a timeout is restarted (-ERESTARTSYS)")
                        : (InterruptionForecast.RestartSyscall, RestartReason);
                return (InterruptionForecast.Unknown, $"futex operation {op} was not measured");
            case "fcntl" or "fcntl64":
                return Arg(args, 1) is F_SETLKW or F_OFD_SETLKW
                    ? (InterruptionForecast.Transparent, "a lock wait (F_SETLKW, F_OFD_SETLKW) is restarted (-ERESTARTSYS)")
                    : (InterruptionForecast.Unknown, $"fcntl command {Arg(args, 1)} was not measured");
            case "vfork" or "clone" or "clone3":
                return (InterruptionForecast.SlowToStop, $"it waits killably in {name} until its vfork child execs or exits, and stops only then");
        }
        if (FileCalls.Contains(name))
        {
            return file switch
            {
                FileKind.Socket => (InterruptionForecast.Unknown, $"{name} on a socket fails with EINTR if the socket has a {(name.StartsWith("send", StringComparison.Ordinal) || name.StartsWith("write", StringComparison.Ordinal) || name == "connect" ? "send" : "receive")} timeout (SO_RCVTIMEO/SO_SNDTIMEO), which cannot be read from outside the process"),
                FileKind.Pipe or FileKind.EventLike or FileKind.Terminal when name is "read" or "readv" =>
                    (InterruptionForecast.Transparent, $"{name} on a {Describe(file)} is restarted (-ERESTARTSYS)"),
                FileKind.Pipe when name is "write" or "writev" => (InterruptionForecast.Transparent, $"{name} on a pipe is restarted (-ERESTARTSYS)"),
                _ => (InterruptionForecast.Unknown, $"{name} on a {Describe(file)} was not measured (FUSE and some devices fail with EINTR)"),
            };
        }
        return (InterruptionForecast.Unknown, $"{name} is not in the measured table (docs/KERNEL-FINDINGS.md)");
    }

    private static string Describe(FileKind file) => file switch
    {
        FileKind.Pipe => "pipe",
        FileKind.Socket => "socket",
        FileKind.EventLike => "eventfd, signalfd, timerfd or inotify descriptor",
        FileKind.Terminal => "terminal",
        FileKind.None => "descriptor that could not be identified",
        _ => "file or device",
    };

    /// <summary>The kind of file a <c>/proc/PID/fd/N</c> link names.</summary>
    internal static FileKind KindOfLink(string? link) => link switch
    {
        null => FileKind.None,
        _ when link.StartsWith("pipe:", StringComparison.Ordinal) => FileKind.Pipe,
        _ when link.StartsWith("socket:", StringComparison.Ordinal) => FileKind.Socket,
        "anon_inode:[eventfd]" or "anon_inode:[signalfd]" or "anon_inode:[timerfd]" or "anon_inode:inotify" => FileKind.EventLike,
        _ when link.StartsWith("/dev/pts/", StringComparison.Ordinal) || link.StartsWith("/dev/tty", StringComparison.Ordinal)
            || link is "/dev/ptmx" or "/dev/console" => FileKind.Terminal,
        _ => FileKind.Other,
    };

    /// <summary>
    /// True if a call that returned EINTR can be made again as if it had not been interrupted: it did nothing, and
    /// making it again with the same registers is what -ERESTARTNOHAND asks of the kernel (again unless a signal
    /// handler runs, which then sees EINTR as before).
    /// </summary>
    internal static bool IsRestartableAfterEintr(string? syscall, FileKind file) =>
        syscall is not null && (RestartableAfterEintr.Contains(syscall) || (SocketOnlyRestartableAfterEintr.Contains(syscall) && file == FileKind.Socket));

    /// <summary>
    /// The return value of a system call as the kernel reads it in <c>arch_do_signal_or_restart</c>:
    /// <c>syscall_get_error</c> sign-extends the low 32 bits for a compat (i386) call.
    /// </summary>
    internal static long ErrorOf(ulong rax, bool compat) => compat ? (int)(uint)rax : (long)rax;

    /// <summary>The number <c>get_nr_restart_syscall</c> gives the restarted call: i386 0, x86_64 219, x32 219 | the x32 bit.</summary>
    internal static int RestartSyscallNumber(bool compat, ulong origRax) =>
        compat ? 0 : X86_64RestartSyscall | (int)(origRax & X32SyscallBit);

    internal const int X86_64RestartSyscall = 219;
    private const ulong X32SyscallBit = 0x4000_0000;
    private const ulong TIMER_ABSTIME = 1;
    private const ulong FUTEX_CMD_MASK = 0x7f; // ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    private const int FUTEX_WAIT = 0;
    private const int FUTEX_WAIT_BITSET = 9;
    private const ulong F_SETLKW = 7;
    private const ulong F_OFD_SETLKW = 38;

    private static ulong Arg(ReadOnlySpan<ulong> args, int i) => i < args.Length ? args[i] : 0;
}
