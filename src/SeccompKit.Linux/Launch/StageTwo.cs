using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using Step = SeccompKit.Linux.Launch.StageWire.Step;
using static SeccompKit.Linux.Interop.Proc;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// The launcher's second stage. The parent never forks managed code: it posix_spawns a fresh copy of its own
/// executable with <see cref="Marker"/> as the first argument; that process reads the compiled filter from a
/// pipe, sets no_new_privs, installs the filter on its one calling thread and execve's the program. Every step
/// reports failure on a close-on-exec status pipe, so the parent learns whether the program started (the pipe
/// closes with no failure record) or exactly which step failed.
/// </summary>
/// <remarks>
/// Between installing the filter and execve nothing may make a syscall the filter could refuse: all memory is
/// prepared first, and the three calls after the install (seccomp's return, execve, and on failure write and
/// _exit) skip the GC transition, which could otherwise wait on a futex. Other runtime threads are not
/// filtered (no TSYNC) and disappear at execve; the program inherits the calling thread's filter (seccomp(2)).
/// </remarks>
public static class StageTwo
{
    /// <summary>The first argument that selects stage two. Applications that use <see cref="SandboxLauncher"/>
    /// with their own executable must call <see cref="RunIfRequested"/> first thing in Main; one that does not gets
    /// <see cref="LaunchFailure.StageNotHandled"/> (the copy started as stage two refuses to launch again and tells
    /// its launcher), never a chain of copies of itself.</summary>
    public const string Marker = "__seccompkit-stage2";

    /// <summary>
    /// What a process started as stage two must do, said when it did not (<see cref="LaunchFailure.StageNotHandled"/>):
    /// the launcher and the program's Main are the same executable, so Main decides.
    /// </summary>
    internal const string NotHandledMessage =
        "the launcher started this program's own executable as its stage two, but Main did not hand the arguments to it, " +
        "so the application ran instead (and would have launched another copy of itself, and so on); the program did not run. " +
        "Make this the first statement of Main: `if (StageTwo.RunIfRequested(args)) return 0;` (namespace SeccompKit.Linux.Launch), " +
        "or start stage two with another executable that does (LaunchRequest.Stage)";

    /// <summary>The exit status of stage two when it fails before execve (the parent reports the real cause).</summary>
    internal const int FailureExit = 125;

    /// <summary>
    /// If <paramref name="args"/> starts with <see cref="Marker"/>, runs stage two, which never returns:
    /// it becomes the program or exits. Otherwise returns false at once.
    /// </summary>
    public static bool RunIfRequested(string[] args)
    {
        if (args.Length == 0 || args[0] != Marker) return false;
        Environment.Exit(Run(args));
        return true;
    }

    /// <summary>
    /// Throws <see cref="LaunchFailure.StageNotHandled"/> when this process was started as stage two (its command line
    /// holds <see cref="Marker"/> and the two channel numbers) but is about to launch instead: its Main did not call
    /// <see cref="RunIfRequested"/>. First it tells the launcher that started it (a NotHandled record on the status socket,
    /// which it inherited), so that that launch fails with the same advice instead of waiting, and no copy of the
    /// application starts another. Reads the command line only: no syscall.
    /// </summary>
    internal static void RefuseUnhandledStage()
    {
        string[] args = Environment.GetCommandLineArgs();
        int at = Array.IndexOf(args, Marker, 1);
        if (at < 0) return;
        if (at + 2 < args.Length && int.TryParse(args[at + 2], NumberStyles.None, CultureInfo.InvariantCulture, out int statusFd)
            && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            // Still the inherited socket? The application may have closed it and opened a file under that number since.
            && FileStatus.Of(string.Create(CultureInfo.InvariantCulture, $"/proc/self/fd/{statusFd}"))?.Kind == FileKind.Socket)
            Report(statusFd, Step.NotHandled, 0);
        throw new LaunchException(LaunchFailure.StageNotHandled, NotHandledMessage);
    }

    // Arguments: Marker FILTER_FD STATUS_FD IGNORED_SIGNALS(hex) ENVIRONMENT PATH ARGV0 [ARGS...], ENVIRONMENT being what
    // StageEnvironment.ForStage returned; the filter message (flags, no_new_privs, program) arrives on FILTER_FD,
    // possibly while this process is still starting.
    private static unsafe int Run(string[] args)
    {
        List<byte[]>? environment = null;
        // SAFETY (the `*EnvironAddress()` below): it is glibc's `environ` variable; reading it gives the environ(7) array.
        if (args.Length < 7
            || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int filterFd)
            || !int.TryParse(args[2], CultureInfo.InvariantCulture, out int statusFd)
            || !ulong.TryParse(args[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong ignored)
            || (environment = StageEnvironment.ForProgram(StageEnvironment.Read(*EnvironAddress()), args[4])) is null)
        {
            Console.Error.WriteLine("seccompkit: the launcher's stage two was started with bad arguments; it is not meant to be run by hand");
            return FailureExit;
        }
        // The status socket must close when execve succeeds: mark it close-on-exec here (the parent cleared the flag
        // so that the descriptor would survive the spawn). It stays a plain number, not a SafeHandle: it must stay open
        // until execve closes it, and the calls after the install (write_nogc) may touch no managed object.
        fcntl(statusFd, F_SETFD, FD_CLOEXEC);

        byte[] raw;
        BpfProgram program;
        uint flags;
        bool noNewPrivs;
        try
        {
            byte[] message;
            using (var filterPipe = new SafeFileDescriptorHandle(filterFd)) message = ReadAll(filterPipe);
            // Only a whole message counts: header, exactly `count` instructions, then end of file.
            var decoded = StageWire.DecodeFilter(message);
            flags = (uint)decoded.Flags;
            noNewPrivs = decoded.NoNewPrivileges;
            raw = decoded.Program;
            program = BpfProgram.FromRaw(raw);
        }
        catch (Exception e) when (e is SeccompException or IOException or StageProtocolException)
        {
            Report(statusFd, Step.Filter, (int)Errno.EINVAL);
            return FailureExit;
        }

        // Everything execve needs, in native memory, before the filter goes on.
        string path = args[5];
        string[] argv = args[6..];
        byte* cPath = Utf8(path);
        byte** cArgv = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Length + 1), (nuint)sizeof(byte*));
        // SAFETY: `cArgv` has argv.Length + 1 slots (the last stays NULL); i < argv.Length.
        for (int i = 0; i < argv.Length; i++) cArgv[i] = Utf8(argv[i]);
        byte** envp = StageEnvironment.ToNative(environment); // the caller's environment, not stage two's
        var fprog = new Interop.Seccomp.sock_fprog { len = (ushort)program.Length, filter = NativeMemory.Alloc((nuint)raw.Length) };
        // SAFETY: `fprog.filter` was just allocated with raw.Length bytes.
        raw.AsSpan().CopyTo(new Span<byte>(fprog.filter, raw.Length));
        // The record a failed execve reports, written now: with the filter on, only its errno is filled in (by
        // WriteStatus, which the Ready report below runs - and so compiles - before the install).
        byte* execFailure = stackalloc byte[StageWire.StatusSize];

        RestoreIgnoredSignals(ignored);

        Report(statusFd, Step.Ready, 0);
        if (noNewPrivs && Interop.Prctl.prctl_nogc(Interop.Prctl.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        {
            Report(statusFd, Step.NoNewPrivs, Marshal.GetLastPInvokeError());
            return FailureExit;
        }
        bool listener = (flags & (uint)SeccompFilterFlags.NewListener) != 0;
        // Decided (and so compiled) before the install: see ExecveWaitsForSupervisor.
        bool execveWaits = listener && ExecveWaitsForSupervisor(program, (ulong)cPath, (ulong)cArgv, (ulong)envp);
        if (listener)
        {
            // s_listenerFd has an initializer, so StageTwo has a static constructor. Run it here: left to the first access,
            // it raced between the courier (reading s_listenerFd) and this thread (writing it after the install), and the
            // class-init lock this thread then waited for is a futex the filter notifies before the hand-over: a deadlock.
            RuntimeHelpers.RunClassConstructor(typeof(StageTwo).TypeHandle);
            StartCourier(statusFd);
            // Everything the filtered thread runs between the install and execve must already be compiled: in a JIT
            // runtime a first call (or an on-stack replacement of a hot loop) compiles code, which takes locks and makes
            // syscalls (futex, mmap) that the filter may notify before anybody can answer. So: the spin loop is a separate
            // fully optimised method (no tiering, no OSR), run once here, and the execve stub is bound by a call that fails.
            int one = 1;
            SpinUntilSet(ref one);
            execve(null, null, null); // EFAULT
            _ = Marshal.GetLastPInvokeError();
        }
        // SAFETY: `fprog` points at native memory holding the whole program; the kernel copies it during the call.
        long r = Interop.Seccomp.syscall_nogc(Interop.Seccomp.SYS_seccomp, Interop.Seccomp.SECCOMP_SET_MODE_FILTER, flags, &fprog);
        if (r < 0)
        {
            int installErrno = Marshal.GetLastPInvokeError();
            if (listener) Volatile.Write(ref s_listenerFd, -1);
            Report(statusFd, Step.Install, installErrno);
            return FailureExit;
        }
        if (listener)
        {
            // Hand-over without a syscall on this (filtered) thread: publish the descriptor number in memory, and spin
            // until the courier thread - not filtered, since the filter was installed without TSYNC - has sent it to the
            // supervisor. Only then execve: were execve allowed by the filter, it would otherwise kill the courier and
            // close the (close-on-exec) listener before the supervisor had it. Any syscall here could be notified, and
            // nobody could answer it before the hand-over: that is the deadlock this ordering avoids.
            Volatile.Write(ref s_listenerFd, (int)r);
            // When the filter notifies this very execve, the call itself waits (asleep, not spinning) until the supervisor
            // has the listener and answers: no spin is needed, and none takes a CPU the courier and the supervisor need.
            if (!execveWaits) SpinUntilSet(ref s_courierDone);
            // A normal P/Invoke (not _nogc): if execve is notified, this thread waits in the kernel for the supervisor, and
            // in preemptive mode a GC started meanwhile by another runtime thread need not wait for it. The courier closed
            // this process's copy of the listener before it set s_courierDone: if the supervisor dies before it answers,
            // the listener's last reference goes with it and the kernel fails this execve with ENOSYS.
            execve(cPath, cArgv, envp);
            int execErrno = Marshal.GetLastPInvokeError();
            // SAFETY: `execFailure` is StatusSize bytes of this frame's stack.
            StageWire.WriteStatus(execFailure, Step.Exec, execErrno);
            write_nogc(statusFd, execFailure, StageWire.StatusSize);
            _exit_nogc(execErrno == (int)Errno.ENOENT ? 127 : 126);
        }
        // SAFETY: path, argv and envp (both NULL-terminated) are valid native memory; on success execve does not return.
        execve_nogc(cPath, cArgv, envp);
        int errno = Marshal.GetLastPInvokeError();
        // The filter is on now: no allocation, no GC transition, no compilation (WriteStatus already ran); the filter may
        // refuse even this write.
        // SAFETY: `execFailure` is StatusSize bytes of this frame's stack.
        StageWire.WriteStatus(execFailure, Step.Exec, errno);
        write_nogc(statusFd, execFailure, StageWire.StatusSize);
        _exit_nogc(errno == (int)Errno.ENOENT ? 127 : 126);
        return 126;
    }

    /// <summary>
    /// Whether <paramref name="program"/> answers this stage's own execve (x86_64, path, argv and envp at these addresses)
    /// with USER_NOTIF whatever the parts of <c>seccomp_data</c> this process cannot know before the call: the instruction
    /// pointer (inside libc's execve) and arguments 3 to 5 (registers execve leaves as they are). A program whose path for
    /// this call reads any of those is not predicted (false). When true, the filtered thread need not wait for the courier's hand-over: the
    /// notified execve sleeps in the kernel until the supervisor, which gets the listener from the courier, answers; and
    /// the listener outlives the exec only in the supervisor, since the courier closes this process's copy after sending
    /// it and the exec closes it anyway (close-on-exec). A filter stacked earlier (seccompkit itself filtered) can only
    /// make the call fail or be killed instead (a stricter action takes precedence, seccomp(2)): then the program does
    /// not run, as before. When false, the thread spins until the courier is done, since an allowed execve would close
    /// the listener before the supervisor had it.
    /// </summary>
    internal static bool ExecveWaitsForSupervisor(BpfProgram program, ulong path, ulong argv, ulong envp)
    {
        // The program is deterministic, so if the path it takes never loads an unknown field, every value of those fields
        // gives the same path and the same action.
        const ushort loadWordAbsolute = BpfOpcodes.BPF_LD | BpfOpcodes.BPF_W | BpfOpcodes.BPF_ABS;
        var data = new SeccompData(SyscallExecve, SeccompKit.Syscalls.Architecture.X86_64.AuditArch, 0, path, argv, envp, 0, 0, 0);
        var run = Interpreter.Run(program, data, trace: true);
        foreach (int pc in run.Path)
        {
            var i = program.Instructions[pc];
            if (i.Code == loadWordAbsolute && i.K is (>= 8 and < 16) or >= 40) return false; // instruction_pointer, args[3..5]
        }
        return (run.Value & SeccompReturn.SECCOMP_RET_ACTION_FULL) == SeccompReturn.SECCOMP_RET_USER_NOTIF;
    }

    /// <summary>execve on x86_64 (arch/x86/entry/syscalls/syscall_64.tbl), the only host the launcher supports.</summary>
    private const int SyscallExecve = 59;

    private static int s_listenerFd = int.MinValue;
    private static int s_courierDone;

    /// <summary>
    /// Starts the thread that sends the listener descriptor to the supervisor (SCM_RIGHTS on the status socket), then closes
    /// this process's own copy of it. It is not filtered, so its own syscalls cannot be notified; the filtered thread only
    /// writes the number to memory. If the hand-over fails it ends the whole process from its unfiltered thread
    /// (exit_group): the filtered thread cannot exit by itself once its syscalls are notified to a listener nobody reads.
    /// </summary>
    /// <remarks>
    /// A supervisor that dies after the hand-over, before it answered the notified execve, must not leave stage two behind
    /// (issue 17: it waited in execve for ever). Two guards:
    /// <list type="bullet">
    /// <item>The courier closes stage two's own copy of the listener right after sending it, before the filtered thread
    /// may call execve. The kernel fails pending and later notified calls with ENOSYS when the listener's last reference
    /// is released (seccomp_notify_detach, kernel/seccomp.c); while stage two kept a copy, that never happened. The
    /// descriptor in flight holds its own reference (unix(7), SCM_RIGHTS), so the supervisor gets the listener whatever
    /// happens here, and one that dies before receiving it drops that reference with its socket. So the supervisor's
    /// death fails the execve: the program never runs, with or without the filter.</item>
    /// <item>The courier sets PR_SET_PDEATHSIG(SIGKILL) on itself before the hand-over: when the launcher dies, the kernel
    /// sends SIGKILL to the whole of stage two (the signal goes to the process, prctl(2)). A failed execve alone is not
    /// enough: the filtered thread then goes back to the runtime, which may be suspending threads for a GC or the JIT's
    /// tiering, and its waits there are notified calls that now fail (seen with the closed copy alone: 2 of 200 SIGKILLs of
    /// `run --complain` left stage two spinning). The sendmsg that hands the listener over proves the launcher still lived after the prctl (its
    /// end of the socket closes when it dies: EPIPE, and stage two exits), so no death is missed. The setting is this
    /// thread's only, and the thread ends at execve, so the program does not inherit it (pdeath_signal is per thread).
    /// It fires when the launcher's thread that started stage two exits (prctl(2): the parent is a thread): the launch
    /// then fails, killed by SIGKILL, if that thread ended before it finished (launch and wait on one thread, as
    /// <see cref="Learn.LearningSession"/> and the CLI do).</item>
    /// </list>
    /// </remarks>
    private static void StartCourier(int statusFd)
    {
        using var started = new ManualResetEventSlim();
        var courier = new Thread(() => Courier(statusFd, started)) { IsBackground = true, Name = "listener courier" };
        courier.Start();
        // The courier's own code is compiled and running before the filter goes on (it is not filtered, but compiling
        // takes runtime locks the filtered thread must never wait for).
        started.Wait();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Courier(int statusFd, ManualResetEventSlim started)
    {
        SendListener(-1, -1); // binds the sendmsg stub (EBADF)
        close(-1); // binds the close stub (EBADF)
        // See the remarks: the launcher's death kills stage two from now until execve ends this thread. Best effort: it
        // cannot fail for SIGKILL, and the listener copy closed below is the guard that does not depend on it.
        Interop.Prctl.prctl(Interop.Prctl.PR_SET_PDEATHSIG, 9, 0, 0, 0);
        Interop.Notify.sched_yield();
        started.Set();
        int fd;
        while ((fd = Volatile.Read(ref s_listenerFd)) == int.MinValue) Interop.Notify.sched_yield();
        if (fd < 0) return; // the install failed; the filtered thread reports it
        int errno = SendListener(statusFd, fd);
        if (errno != 0)
        {
            Report(statusFd, Step.Handover, errno);
            _exit_nogc(FailureExit);
        }
        // The supervisor's reference is the only one from now on (see the remarks). Not retried on EINTR: the descriptor is
        // released even then (close(2)).
        close(fd);
        Volatile.Write(ref s_courierDone, 1);
        Thread.Sleep(Timeout.Infinite); // execve ends this thread
    }

    /// <summary>Busy-waits, without any syscall, until <paramref name="flag"/> is non-zero. Fully optimised at once: no tiering, no OSR.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void SpinUntilSet(ref int flag)
    {
        while (Volatile.Read(ref flag) == 0)
            if (System.Runtime.Intrinsics.X86.X86Base.IsSupported) System.Runtime.Intrinsics.X86.X86Base.Pause();
    }

    private static unsafe int SendListener(int socketFd, int listenerFd)
    {
        byte* record = stackalloc byte[StageWire.StatusSize];
        StageWire.WriteStatus(record, Step.Listener, listenerFd);
        byte* control = stackalloc byte[Interop.Notify.CmsgSpaceOneFd];
        new Span<byte>(control, Interop.Notify.CmsgSpaceOneFd).Clear();
        // SAFETY: `control` is CmsgSpaceOneFd zeroed bytes of stack: room for one cmsghdr and the int after it.
        var cmsg = (Interop.Notify.cmsghdr*)control;
        cmsg->cmsg_len = Interop.Notify.CmsgLenOneFd;
        cmsg->cmsg_level = Interop.Notify.SOL_SOCKET;
        cmsg->cmsg_type = Interop.Notify.SCM_RIGHTS;
        // SAFETY: CmsgSpaceOneFd bytes hold the cmsghdr and one int right after it (CMSG_DATA).
        *(int*)(control + sizeof(Interop.Notify.cmsghdr)) = listenerFd;
        var iov = new Interop.Notify.iovec { iov_base = record, iov_len = StageWire.StatusSize };
        var msg = new Interop.Notify.msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = Interop.Notify.CmsgSpaceOneFd };
        // SAFETY: the record, iovec and control buffer are stack memory alive for the call; the kernel takes its own
        // reference to the listener's file, so the descriptor can close at execve afterwards. A static lambda with its
        // arguments as state: no allocation (the courier runs this once before the install, which caches the delegate).
        var (n, e) = Errors.RetryEintr((socketFd, (nint)(&msg)), static a =>
            Interop.Notify.sendmsg(a.socketFd, (Interop.Notify.msghdr*)a.Item2, Interop.Notify.MSG_NOSIGNAL));
        if (n == StageWire.StatusSize) return 0;
        return n < 0 ? (int)e : (int)Errno.EIO;
    }

    /// <summary>
    /// Ignored signals stay ignored across execve (signal(7)), and this process ignores some it did not inherit:
    /// .NET ignores SIGPIPE, and glibc's posix_spawn sets its internal signal 32 to SIG_IGN in the child. So the
    /// program gets exactly the ignored set the caller of seccompkit had (<paramref name="wanted"/>, bit n-1 =
    /// signal n); handled signals go back to SIG_DFL at execve by themselves.
    /// </summary>
    private static unsafe void RestoreIgnoredSignals(ulong wanted)
    {
        for (int sig = 1; sig <= 64; sig++)
        {
            if (sig is 9 or 19) continue; // SIGKILL and SIGSTOP cannot be changed
            kernel_sigaction old;
            // SAFETY: `old` is a local the kernel fills; no new action is set by this call.
            if (rt_sigaction(SYS_rt_sigaction, sig, null, &old, 8) != 0) continue;
            bool want = (wanted & (1UL << (sig - 1))) != 0;
            bool isIgnored = old.handler == SIG_IGN;
            if (want == isIgnored || (!want && old.handler != SIG_IGN)) continue;
            var act = new kernel_sigaction { handler = want ? SIG_IGN : SIG_DFL };
            // SAFETY: `act` is a local in the kernel's layout; SIG_IGN and SIG_DFL need no restorer.
            rt_sigaction(SYS_rt_sigaction, sig, &act, null, 8);
        }
    }

    private static unsafe void Report(int fd, Step step, int errno)
    {
        byte* record = stackalloc byte[StageWire.StatusSize];
        StageWire.WriteStatus(record, step, errno);
        // SAFETY: StatusSize bytes of stack memory, alive for the call.
        write(fd, record, StageWire.StatusSize);
    }

    private static unsafe byte[] ReadAll(SafeFileDescriptorHandle fd)
    {
        var ms = new MemoryStream();
        byte[] buffer = new byte[8192];
        while (true)
        {
            nint n;
            Errno e;
            fixed (byte* p = buffer)
            {
                // SAFETY: `p` is pinned for the call; the kernel writes at most buffer.Length bytes.
                (n, e) = Errors.RetryEintr((fd, (nint)p, (nuint)buffer.Length), static a => read(a.fd.Fd, (byte*)a.Item2, a.Item3));
            }
            if (n == 0) return ms.ToArray();
            if (n < 0) throw new IOException($"reading the filter pipe: {e}");
            ms.Write(buffer, 0, (int)n);
        }
    }
}
