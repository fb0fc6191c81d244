using System.Globalization;
using System.Runtime.InteropServices;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.Proc;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// Starts programs under a seccomp filter without running managed code after fork: posix_spawn starts stage two
/// (<see cref="StageTwo"/>), which installs the filter and execve's the program. Fails closed: if any step fails,
/// the program does not run and <see cref="LaunchException"/> says which step and why.
/// </summary>
public static class SandboxLauncher
{
    /// <summary>Starts the program; returns once it runs (stage two has execve'd) or throws if it could not.</summary>
    public static SandboxedProcess Start(LaunchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var pending = Prepare(request.Program, request.Arguments, request.Observer, request.Stage);
        return pending.Start(request.Filter, request.Flags, request.SetNoNewPrivileges);
    }

    /// <summary>
    /// Resolves the program and starts stage two, which waits for the filter: the caller can compile the filter
    /// meanwhile (stage two's start-up overlaps it), then call <see cref="PendingLaunch.Start"/>. Disposing the
    /// pending launch without starting it stops stage two; the program never runs without its filter.
    /// </summary>
    /// <param name="program">A path, or a name searched on PATH like execvp(3).</param>
    /// <param name="arguments">Its arguments (argv[0] is <paramref name="program"/> as given).</param>
    /// <param name="observer">Told the pid as soon as stage two exists (e.g. a <see cref="KillObserver"/>), or null.</param>
    /// <param name="stage">How to start stage two; default <see cref="StageCommand.Default"/>.</param>
    /// <exception cref="LaunchException">The program cannot be found, stage two cannot start, or this process is itself a
    /// stage two whose Main did not call <see cref="StageTwo.RunIfRequested"/> (<see cref="LaunchFailure.StageNotHandled"/>).</exception>
    public static unsafe PendingLaunch Prepare(string program, IReadOnlyList<string> arguments, ILaunchObserver? observer = null, StageCommand? stage = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(arguments);
        HostSupport.EnsureSupported();
        // First: a process started as stage two that got here runs the application instead of stage two; launching again
        // would start another copy of it, and so on.
        StageTwo.RefuseUnhandledStage();
        string path = ProgramResolver.Resolve(program);
        stage ??= StageCommand.Default();

        // The status channel is a unix stream socket rather than a pipe so that a supervised launch can pass the listener
        // descriptor back on it (SCM_RIGHTS); like a pipe, it reads as end-of-file once execve closes stage two's end.
        var (filterRead, filterWrite) = SafeFileDescriptorHandle.CreatePipe();
        SafeFileDescriptorHandle statusParent, statusChild;
        try { (statusParent, statusChild) = SafeFileDescriptorHandle.CreateSocketPair(); }
        catch
        {
            filterRead.Dispose();
            filterWrite.Dispose();
            throw;
        }
        int pid;
        // Stage two's ends are closed here once it has them (or could not start): only the parent's ends live on.
        using (filterRead)
        using (statusChild)
        {
            try
            {
                var argv = new List<string> { stage.Executable };
                argv.AddRange(stage.PrefixArguments);
                argv.Add(StageTwo.Marker);
                argv.Add(filterRead.Fd.ToString(CultureInfo.InvariantCulture));
                argv.Add(statusChild.Fd.ToString(CultureInfo.InvariantCulture));
                argv.Add(InheritedIgnoredSignals().ToString("x", CultureInfo.InvariantCulture));
                // Stage two runs with the runtime's diagnostics off, so that it leaves no files behind; the program gets the
                // caller's environment back (StageEnvironment).
                // SAFETY: EnvironAddress is glibc's `environ` variable: reading it gives the process's environ(7) array.
                var (environment, restore) = StageEnvironment.ForStage(StageEnvironment.Read(*EnvironAddress()));
                argv.Add(restore);
                argv.Add(path);
                argv.Add(program);
                argv.AddRange(arguments);
                pid = Spawn(stage.Executable, argv, environment, filterRead.Fd, statusChild.Fd);
            }
            catch
            {
                filterWrite.Dispose();
                statusParent.Dispose();
                throw;
            }
        }
        var pending = new PendingLaunch(new SandboxedProcess(pid, path), filterWrite, statusParent);
        try
        {
            // Stage two cannot run the program, nor fork, before it has its filter: the observer misses nothing.
            observer?.Started(pid);
        }
        catch
        {
            pending.Dispose(); // stops stage two
            throw;
        }
        return pending;
    }

    private static unsafe int Spawn(string executable, List<string> argv, List<byte[]> environment, int filterFd, int statusFd)
    {
        byte* actions = stackalloc byte[FileActionsSize];
        var strings = new List<nint>();
        byte** cArgv = (byte**)NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        byte** envp = StageEnvironment.ToNative(environment);
        try
        {
            for (int i = 0; i < argv.Count; i++)
            {
                // SAFETY: `cArgv` has argv.Count + 1 slots (the last stays NULL); i < argv.Count.
                cArgv[i] = Utf8(argv[i]);
                strings.Add((nint)cArgv[i]);
            }
            byte* cPath = Utf8(executable);
            strings.Add((nint)cPath);
            // SAFETY: `actions` is FileActionsSize bytes of stack, more than glibc's posix_spawn_file_actions_t; it is
            // initialised before use and destroyed after. dup2(fd, fd) clears FD_CLOEXEC in the child only, so the two
            // channel ends reach stage two and nothing else of ours does. The caller holds both handles open meanwhile.
            posix_spawn_file_actions_init(actions);
            try
            {
                posix_spawn_file_actions_adddup2(actions, filterFd, filterFd);
                posix_spawn_file_actions_adddup2(actions, statusFd, statusFd);
                // A standard stream that was closed when this process started and that the runtime took meanwhile
                // (StandardStreams): the descriptor is the runtime's, close-on-exec, so stage two and the program would
                // start with it closed and their next open would land there. They get /dev/null, as a stream closed
                // at our start reads and writes here.
                foreach (int fd in StandardStreams.RuntimeOwned)
                {
                    byte* devNull = Utf8("/dev/null");
                    strings.Add((nint)devNull);
                    posix_spawn_file_actions_addopen(actions, fd, devNull, O_RDWR, 0);
                }
                int pid;
                // SAFETY: path, argv and envp (both NULL-terminated) are valid native memory for the call; posix_spawn copies
                // nothing it needs after it returns.
                int err = posix_spawn(&pid, cPath, actions, null, cArgv, envp);
                if (err == (int)Errno.EAGAIN)
                    throw new LaunchException(LaunchFailure.StageFailed,
                        $"cannot start the program: {ResourceLimits.ProcessLimitProblem() ?? "no process could be created (EAGAIN: the process limit RLIMIT_NPROC, ulimit -u, or memory is exhausted); try again"}", Errno.EAGAIN);
                if (err != 0)
                    throw new LaunchException(LaunchFailure.StageFailed,
                        $"cannot start the launcher's stage two ({executable}): {(Errno)err}; is the seccompkit binary still there?", (Errno)err);
                return pid;
            }
            finally
            {
                posix_spawn_file_actions_destroy(actions);
            }
        }
        finally
        {
            foreach (var s in strings) NativeMemory.Free((void*)s);
            NativeMemory.Free(cArgv);
            NativeMemory.Free(envp);
        }
    }

    /// <summary>
    /// The signals this process ignores (<c>SigIgn</c> of /proc/self/status) as its caller left them, which the
    /// program should get too. .NET always ignores SIGPIPE and no process can tell whether its caller did, so
    /// SIGPIPE is given back its default, as a shell does for the commands it starts.
    /// </summary>
    private static ulong InheritedIgnoredSignals()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                return ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & ~(1UL << (SIGPIPE - 1));
        throw new SeccompException("/proc/self/status has no SigIgn line; is /proc mounted?");
    }
}
