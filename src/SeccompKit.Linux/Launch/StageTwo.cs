using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
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
    /// with their own executable must call <see cref="RunIfRequested"/> first thing in Main.</summary>
    public const string Marker = "__seccompkit-stage2";

    internal const uint StatusMagic = 0x32534b53; // "SKS2"
    internal const uint FilterMagic = 0x31464b53; // "SKF1"
    internal const int FilterHeaderSize = 16;

    /// <summary>The steps stage two reports on its status pipe.</summary>
    internal enum Step : uint
    {
        /// <summary>Started and read the filter; about to set no_new_privs and install.</summary>
        Ready = 1,
        /// <summary>Its arguments were malformed (a SeccompKit bug).</summary>
        Arguments = 2,
        /// <summary>Reading or validating the filter failed.</summary>
        Filter = 3,
        /// <summary>prctl(PR_SET_NO_NEW_PRIVS) failed.</summary>
        NoNewPrivs = 4,
        /// <summary>seccomp(SET_MODE_FILTER) failed.</summary>
        Install = 5,
        /// <summary>execve failed (the filter is on; this report may itself be refused by it).</summary>
        Exec = 6,
    }

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

    // Arguments: Marker FILTER_FD STATUS_FD IGNORED_SIGNALS(hex) PATH ARGV0 [ARGS...]; the filter message (flags,
    // no_new_privs, program) arrives on FILTER_FD, possibly while this process is still starting.
    private static unsafe int Run(string[] args)
    {
        if (args.Length < 6
            || !int.TryParse(args[1], CultureInfo.InvariantCulture, out int filterFd)
            || !int.TryParse(args[2], CultureInfo.InvariantCulture, out int statusFd)
            || !ulong.TryParse(args[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong ignored))
        {
            Console.Error.WriteLine("seccompkit: the launcher's stage two was started with bad arguments; it is not meant to be run by hand");
            return FailureExit;
        }
        // The status pipe must close when execve succeeds: mark it close-on-exec here (the parent cleared the flag
        // so that the descriptor would survive the spawn).
        fcntl(statusFd, F_SETFD, FD_CLOEXEC);

        byte[] raw;
        BpfProgram program;
        uint flags;
        bool noNewPrivs;
        try
        {
            byte[] message = ReadAll(filterFd);
            close(filterFd);
            // Only a whole message counts: header, exactly `count` instructions, then end of file.
            if (message.Length < FilterHeaderSize || BitConverter.ToUInt32(message, 0) != FilterMagic
                || message.Length != FilterHeaderSize + 8L * BitConverter.ToUInt32(message, 12))
                throw new IOException("incomplete filter message");
            flags = BitConverter.ToUInt32(message, 4);
            noNewPrivs = BitConverter.ToUInt32(message, 8) != 0;
            raw = message[FilterHeaderSize..];
            program = BpfProgram.FromRaw(raw);
        }
        catch (Exception e) when (e is SeccompException or IOException)
        {
            Report(statusFd, Step.Filter, (int)Errno.EINVAL);
            return FailureExit;
        }

        // Everything execve needs, in native memory, before the filter goes on.
        string path = args[4];
        string[] argv = args[5..];
        byte* cPath = Utf8(path);
        byte** cArgv = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Length + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < argv.Length; i++) cArgv[i] = Utf8(argv[i]);
        byte** envp = *EnvironAddress();
        var fprog = new Interop.Seccomp.sock_fprog { len = (ushort)program.Length, filter = NativeMemory.Alloc((nuint)raw.Length) };
        raw.AsSpan().CopyTo(new Span<byte>(fprog.filter, raw.Length));

        RestoreIgnoredSignals(ignored);

        Report(statusFd, Step.Ready, 0);
        if (noNewPrivs && Interop.Prctl.prctl_nogc(Interop.Prctl.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        {
            Report(statusFd, Step.NoNewPrivs, Marshal.GetLastPInvokeError());
            return FailureExit;
        }
        // SAFETY: `fprog` points at native memory holding the whole program; the kernel copies it during the call.
        long r = Interop.Seccomp.syscall_nogc(Interop.Seccomp.SYS_seccomp, Interop.Seccomp.SECCOMP_SET_MODE_FILTER, flags, &fprog);
        if (r < 0)
        {
            Report(statusFd, Step.Install, Marshal.GetLastPInvokeError());
            return FailureExit;
        }
        // SAFETY: path, argv (NULL-terminated) and environ are valid native memory; on success execve does not return.
        execve_nogc(cPath, cArgv, envp);
        int errno = Marshal.GetLastPInvokeError();
        // The filter is on now: no allocation, no GC transition; the filter may refuse even this write.
        int* record = stackalloc int[3];
        record[0] = unchecked((int)StatusMagic);
        record[1] = (int)Step.Exec;
        record[2] = errno;
        write_nogc(statusFd, record, 12);
        _exit_nogc(errno == (int)Errno.ENOENT ? 127 : 126);
        return 126;
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
        int* record = stackalloc int[3];
        record[0] = unchecked((int)StatusMagic);
        record[1] = (int)step;
        record[2] = errno;
        // SAFETY: 12 bytes of stack memory, alive for the call.
        write(fd, record, 12);
    }

    private static unsafe byte[] ReadAll(int fd)
    {
        var ms = new MemoryStream();
        byte[] buffer = new byte[8192];
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
            {
                // SAFETY: `p` is pinned for the call; the kernel writes at most buffer.Length bytes.
                n = read(fd, p, (nuint)buffer.Length);
            }
            if (n == 0) return ms.ToArray();
            if (n < 0)
            {
                if ((Errno)Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                throw new IOException($"reading the filter pipe: {(Errno)Marshal.GetLastPInvokeError()}");
            }
            ms.Write(buffer, 0, (int)n);
        }
    }
}
