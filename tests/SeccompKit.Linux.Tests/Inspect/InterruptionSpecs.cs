using SeccompKit.Linux.Inspect;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary>
/// The forecast <see cref="FilterDump"/> makes from <c>/proc</c> before touching a thread, as a table (no kernel): the
/// rows follow <see cref="InterruptionKernelSpecs"/>' measurements, plus what /proc alone decides (state, wchan, the
/// descriptor's kind, the arguments that choose between restart codes).
/// </summary>
public sealed class InterruptionSpecs
{
    private const ulong TimerAbstime = 1, FutexWaitPrivate = 128, FutexWaitBitsetPrivate = 9 | 128, FSetlkw = 7, FOfdSetlkw = 38, FGetfl = 3;

    /// <summary>desc, state, running, syscall (null: none), args, descriptor kind, wchan, expected forecast.</summary>
    public static TheoryData<string, char, bool, string?, ulong[], string, string, InterruptionForecast> Rows() => new()
    {
        { "a running thread", 'R', true, null, [], "", "0", InterruptionForecast.Transparent },
        { "blocked outside a system call", 'S', false, null, [], "", "0", InterruptionForecast.Transparent },
        { "stopped by a signal, whatever its call", 'T', false, "nanosleep", [], "", "do_signal_stop", InterruptionForecast.Transparent },
        { "a zombie thread", 'Z', false, null, [], "", "0", InterruptionForecast.Exited },
        { "nanosleep", 'S', false, "nanosleep", [], "", "hrtimer_nanosleep", InterruptionForecast.RestartSyscall },
        { "a relative clock_nanosleep", 'S', false, "clock_nanosleep", [1, 0], "", "hrtimer_nanosleep", InterruptionForecast.RestartSyscall },
        { "an absolute clock_nanosleep", 'S', false, "clock_nanosleep", [1, TimerAbstime], "", "hrtimer_nanosleep", InterruptionForecast.Transparent },
        { "futex wait with a timeout", 'S', false, "futex", [0x1000, FutexWaitPrivate, 0, 0x7ffd0000], "", "futex_wait_queue", InterruptionForecast.RestartSyscall },
        { "futex wait-bitset with a timeout", 'S', false, "futex", [0x1000, FutexWaitBitsetPrivate, 0, 0x7ffd0000], "", "futex_wait_queue", InterruptionForecast.RestartSyscall },
        { "futex wait without a timeout", 'S', false, "futex", [0x1000, FutexWaitPrivate, 0, 0], "", "futex_wait_queue", InterruptionForecast.Transparent },
        { "futex lock-pi (not measured)", 'S', false, "futex", [0x1000, 6 | 128, 0, 0], "", "futex_lock_pi", InterruptionForecast.Unknown },
        { "poll, even without a timeout", 'S', false, "poll", [0x1000, 1, ulong.MaxValue], "", "do_sys_poll", InterruptionForecast.RestartSyscall },
        { "a thread already in restart_syscall", 'S', false, "restart_syscall", [], "", "hrtimer_nanosleep", InterruptionForecast.RestartSyscall },
        { "ppoll", 'S', false, "ppoll", [], "", "do_sys_poll", InterruptionForecast.Transparent },
        { "pselect6", 'S', false, "pselect6", [], "", "do_select", InterruptionForecast.Transparent },
        { "epoll_wait", 'S', false, "epoll_wait", [], "", "ep_poll", InterruptionForecast.Eintr },
        { "epoll_pwait2", 'S', false, "epoll_pwait2", [], "", "ep_poll", InterruptionForecast.Eintr },
        { "semtimedop", 'S', false, "semtimedop", [], "", "do_semtimedop", InterruptionForecast.Eintr },
        { "rt_sigtimedwait", 'S', false, "rt_sigtimedwait", [], "", "do_sigtimedwait", InterruptionForecast.Eintr },
        { "io_getevents", 'S', false, "io_getevents", [], "", "read_events", InterruptionForecast.Eintr },
        { "read on a pipe", 'S', false, "read", [3], "pipe:[123]", "pipe_read", InterruptionForecast.Transparent },
        { "read on a terminal", 'S', false, "read", [0], "/dev/pts/3", "wait_woken", InterruptionForecast.Transparent },
        { "read on an eventfd", 'S', false, "read", [5], "anon_inode:[eventfd]", "eventfd_read", InterruptionForecast.Transparent },
        { "read on inotify", 'S', false, "read", [5], "anon_inode:inotify", "inotify_read", InterruptionForecast.Transparent },
        { "read on a socket (SO_RCVTIMEO unknown)", 'S', false, "read", [4], "socket:[99]", "wait_woken", InterruptionForecast.Unknown },
        { "recvfrom on a socket", 'S', false, "recvfrom", [4], "socket:[99]", "wait_woken", InterruptionForecast.Unknown },
        { "accept on a socket", 'S', false, "accept", [4], "socket:[99]", "inet_csk_accept", InterruptionForecast.Unknown },
        { "read on a regular file or FUSE", 'S', false, "read", [4], "/mnt/fuse/file", "request_wait_answer", InterruptionForecast.Unknown },
        { "write on a full pipe", 'S', false, "write", [4], "pipe:[5]", "pipe_write", InterruptionForecast.Transparent },
        { "wait4", 'S', false, "wait4", [], "", "do_wait", InterruptionForecast.Transparent },
        { "pause", 'S', false, "pause", [], "", "sys_pause", InterruptionForecast.Transparent },
        { "msgrcv", 'S', false, "msgrcv", [], "", "do_msgrcv", InterruptionForecast.Transparent },
        { "flock", 'S', false, "flock", [], "", "locks_lock_inode_wait", InterruptionForecast.Transparent },
        { "fcntl F_SETLKW", 'S', false, "fcntl", [3, FSetlkw], "", "fcntl_setlk", InterruptionForecast.Transparent },
        { "fcntl F_OFD_SETLKW", 'S', false, "fcntl", [3, FOfdSetlkw], "", "fcntl_setlk", InterruptionForecast.Transparent },
        { "fcntl F_GETFL asleep (not measured)", 'S', false, "fcntl", [3, FGetfl], "", "x", InterruptionForecast.Unknown },
        { "a vfork parent", 'D', false, "vfork", [], "", "wait_for_vfork_done", InterruptionForecast.SlowToStop },
        { "waiting for a seccomp supervisor", 'S', false, "getppid", [], "", "seccomp_do_user_notification.isra.0", InterruptionForecast.SupervisorVisible },
        { "waiting killably for an answered notification", 'D', false, "openat", [], "", "seccomp_do_user_notification", InterruptionForecast.SlowToStop },
        { "a call outside the table", 'S', false, "ioctl", [3, 0x5401], "", "tty_ioctl", InterruptionForecast.Unknown },
        { "an unnamed number", 'S', false, "syscall 1000", [], "", "x", InterruptionForecast.Unknown },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void The_forecast_follows_the_measured_table(string desc, char state, bool running, string? syscall, ulong[] args, string link, string wchan, InterruptionForecast expected)
    {
        var (forecast, reason) = Interruption.Forecast(state, running, syscall, args, Interruption.KindOfLink(link.Length == 0 ? null : link), wchan);
        Assert.True(expected == forecast, $"{desc}: {forecast} ({reason})");
        Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    [Theory]
    [InlineData("epoll_wait", "", true)]
    [InlineData("semop", "", true)]
    [InlineData("rt_sigtimedwait", "", true)]
    [InlineData("recvfrom", "socket:[1]", true)]
    [InlineData("read", "socket:[1]", true)]
    [InlineData("read", "/dev/ttyS0", false)]   // a device: its EINTR may follow side effects
    [InlineData("connect", "socket:[1]", false)] // a restarted connect can answer EALREADY
    [InlineData("close", "", false)]             // the descriptor is gone even when close says EINTR
    [InlineData("ioctl", "", false)]
    public void Only_calls_that_did_nothing_when_they_say_EINTR_are_made_again(string syscall, string link, bool restartable)
    {
        Assert.Equal(restartable, Interruption.IsRestartableAfterEintr(syscall, Interruption.KindOfLink(link.Length == 0 ? null : link)));
    }

    [Theory]
    [InlineData(false, 0xe6UL, 219)]                  // x86_64 clock_nanosleep -> restart_syscall 219
    [InlineData(true, 0xa2UL, 0)]                     // i386 nanosleep -> i386 restart_syscall 0
    [InlineData(false, 0x4000_00e6UL, 0x4000_00db)]   // x32 keeps the x32 bit
    public void The_restart_number_follows_get_nr_restart_syscall(bool compat, ulong origRax, int expected)
    {
        Assert.Equal(expected, Interruption.RestartSyscallNumber(compat, origRax));
    }

    [Theory]
    [InlineData(0xffff_ffff_ffff_fdfcUL, false, -516)]
    [InlineData(0x0000_0000_ffff_fdfcUL, true, -516)]   // compat: syscall_get_error sign-extends the low half
    [InlineData(0x0000_0000_ffff_fdfcUL, false, 0xffff_fdfcL)]
    public void The_return_code_is_read_as_the_kernel_reads_it(ulong rax, bool compat, long expected)
    {
        Assert.Equal(expected, Interruption.ErrorOf(rax, compat));
    }

    [Theory]
    [InlineData("x86_64", 230, "clock_nanosleep")]
    [InlineData("x86_64", 0x4000_0000 + 230, "clock_nanosleep")] // an x32 number in a 64-bit process
    [InlineData("x86", 162, "nanosleep")]
    [InlineData("x86_64", 100000, "syscall 100000")]
    public void Numbers_from_proc_are_named_with_the_process_abi(string abi, int nr, string name)
    {
        Assert.Equal(name, ThreadActivityReader.NameOf(Architecture.Get(abi), nr));
    }
}
