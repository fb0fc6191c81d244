using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Linux.Audit;
using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Proc;

namespace SeccompKit.Linux.Launch;

/// <summary>The command that starts stage two: an executable that calls <see cref="StageTwo.RunIfRequested"/> first, and the arguments before the marker.</summary>
/// <param name="Executable">The path to execute.</param>
/// <param name="PrefixArguments">Arguments before <see cref="StageTwo.Marker"/> (for <c>dotnet app.dll</c>: the dll path).</param>
public sealed record StageCommand(string Executable, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>
    /// This very program: the NativeAOT binary or apphost itself, or <c>dotnet</c> plus the entry assembly when
    /// run as <c>dotnet app.dll</c>. Its Main must call <see cref="StageTwo.RunIfRequested"/> first.
    /// </summary>
    public static StageCommand ForCurrentProcess()
    {
        string exe = Environment.ProcessPath ?? throw new LaunchException(LaunchFailure.StageFailed, "cannot find this program's own executable (Environment.ProcessPath is null)");
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            string dll = Environment.GetCommandLineArgs()[0];
            return new StageCommand(exe, [dll]);
        }
        return new StageCommand(exe, []);
    }
}

/// <summary>What to start and under which filter.</summary>
public sealed record LaunchRequest
{
    /// <summary>Creates a request for <paramref name="program"/> (a path, or a name searched on PATH) with its arguments.</summary>
    public LaunchRequest(string program, IReadOnlyList<string> arguments, BpfProgram filter)
    {
        Program = program;
        Arguments = arguments;
        Filter = filter ?? throw new ArgumentNullException(nameof(filter));
    }

    /// <summary>The program: a path, or a name searched on PATH like execvp(3).</summary>
    public string Program { get; }

    /// <summary>Its arguments (not including argv[0], which is <see cref="Program"/> as given).</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The filter, installed on the new process just before execve.</summary>
    public BpfProgram Filter { get; }

    /// <summary>Filter flags; <see cref="SeccompFilterFlags.Log"/> logs every action but ALLOW.</summary>
    public SeccompFilterFlags Flags { get; init; }

    /// <summary>Set no_new_privs first (required unless the caller has CAP_SYS_ADMIN). Default true.</summary>
    public bool SetNoNewPrivileges { get; init; } = true;

    /// <summary>Collect the kernel's audit records of the run, so that a kill can be explained. Default true.</summary>
    public bool CollectAuditRecords { get; init; } = true;

    /// <summary>How to start stage two; default <see cref="StageCommand.ForCurrentProcess"/>.</summary>
    public StageCommand? Stage { get; init; }
}

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
        using var pending = Prepare(request.Program, request.Arguments, request.CollectAuditRecords, request.Stage);
        return pending.Start(request.Filter, request.Flags, request.SetNoNewPrivileges);
    }

    /// <summary>
    /// Resolves the program and starts stage two, which waits for the filter: the caller can compile the filter
    /// meanwhile (stage two's start-up overlaps it), then call <see cref="PendingLaunch.Start"/>. Disposing the
    /// pending launch without starting it stops stage two; the program never runs without its filter.
    /// </summary>
    public static unsafe PendingLaunch Prepare(string program, IReadOnlyList<string> arguments, bool collectAuditRecords = true, StageCommand? stage = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(arguments);
        HostSupport.EnsureSupported();
        string path = ProgramResolver.Resolve(program);
        stage ??= StageCommand.ForCurrentProcess();

        string whyNoAudit = "not requested";
        var audit = collectAuditRecords ? SeccompAuditLog.TryOpen(out whyNoAudit) : null;
        var tree = audit is not null ? ProcessTree.TryOpen(out _) : null;

        int* filterPipe = stackalloc int[2];
        int* statusPipe = stackalloc int[2];
        // SAFETY: each pointer is 2 ints of stack memory for the kernel to fill.
        if (pipe2(filterPipe, O_CLOEXEC) != 0)
        {
            var e = Errors.Last();
            audit?.Dispose(); tree?.Dispose();
            throw new ErrnoException("pipe2", e, "");
        }
        // The status channel is a unix stream socket rather than a pipe so that a supervised launch can pass the listener
        // descriptor back on it (SCM_RIGHTS); like a pipe, it reads as end-of-file once execve closes stage two's end.
        if (Interop.Notify.socketpair(Interop.Notify.AF_UNIX, Interop.Notify.SOCK_STREAM | Interop.Notify.SOCK_CLOEXEC, 0, statusPipe) != 0)
        {
            var e = Errors.Last();
            close(filterPipe[0]); close(filterPipe[1]);
            audit?.Dispose(); tree?.Dispose();
            throw new ErrnoException("socketpair", e, "");
        }
        int pid;
        try
        {
            var argv = new List<string> { stage.Executable };
            argv.AddRange(stage.PrefixArguments);
            argv.Add(StageTwo.Marker);
            argv.Add(filterPipe[0].ToString(CultureInfo.InvariantCulture));
            argv.Add(statusPipe[1].ToString(CultureInfo.InvariantCulture));
            argv.Add(InheritedIgnoredSignals().ToString("x", CultureInfo.InvariantCulture));
            // Stage two runs with the runtime's diagnostics off, so that it leaves no files behind; the program gets the
            // caller's environment back (StageEnvironment).
            var (environment, restore) = StageEnvironment.ForStage(StageEnvironment.Read(*EnvironAddress()));
            argv.Add(restore);
            argv.Add(path);
            argv.Add(program);
            argv.AddRange(arguments);
            pid = Spawn(stage.Executable, argv, environment, filterPipe[0], statusPipe[1]);
        }
        catch
        {
            close(filterPipe[1]);
            close(statusPipe[0]);
            audit?.Dispose();
            tree?.Dispose();
            throw;
        }
        finally
        {
            close(filterPipe[0]);
            close(statusPipe[1]);
        }
        return new PendingLaunch(new SandboxedProcess(pid, path, audit, whyNoAudit, tree), filterPipe[1], statusPipe[0]);
    }

    /// <summary>
    /// Writes the filter message stage two waits for: a 16-byte header (magic, flags, no_new_privs, instruction count)
    /// and the program. Stage two accepts it only whole and followed by end of file, so a parent that dies half-way
    /// can never leave it with a shorter program that happens to be valid.
    /// </summary>
    internal static unsafe void SendFilter(int fd, BpfProgram filter, SeccompFilterFlags flags, bool setNoNewPrivileges, SandboxedProcess process)
    {
        byte[] raw = filter.ToRaw();
        byte[] message = new byte[StageTwo.FilterHeaderSize + raw.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, StageTwo.FilterMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), (uint)flags);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), setNoNewPrivileges ? 1u : 0u);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(12), (uint)filter.Length);
        raw.CopyTo(message, StageTwo.FilterHeaderSize);
        // The whole message fits in the pipe (16 + 4096 × 8 bytes < 64 KiB): the write does not wait for stage two.
        try { WriteAll(fd, message); }
        catch (ErrnoException e) when (e.Errno == Errno.EPIPE)
        {
            // Stage two is gone before it read the filter (killed, e.g. by a SIGINT or SIGTERM sent to the process group).
            var status = process.WaitForExit();
            throw new LaunchException(LaunchFailure.StageFailed,
                $"the launcher's stage two ended before it read the filter ({status.Describe()}); the program did not run", Errno.EPIPE, status.Signal);
        }
    }

    private static unsafe int Spawn(string executable, List<string> argv, List<byte[]> environment, int filterFd, int statusFd)
    {
        byte* actions = stackalloc byte[FileActionsSize];
        var strings = new List<nint>();
        byte** cArgv = (byte**)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        byte** envp = StageEnvironment.ToNative(environment);
        try
        {
            for (int i = 0; i < argv.Count; i++)
            {
                cArgv[i] = Utf8(argv[i]);
                strings.Add((nint)cArgv[i]);
            }
            byte* cPath = Utf8(executable);
            strings.Add((nint)cPath);
            // SAFETY: `actions` is FileActionsSize bytes of stack, more than glibc's posix_spawn_file_actions_t; it is
            // initialised before use and destroyed after. dup2(fd, fd) clears FD_CLOEXEC in the child only, so the two
            // pipe ends reach stage two and nothing else of ours does.
            posix_spawn_file_actions_init(actions);
            try
            {
                posix_spawn_file_actions_adddup2(actions, filterFd, filterFd);
                posix_spawn_file_actions_adddup2(actions, statusFd, statusFd);
                int pid;
                // SAFETY: path, argv and envp (both NULL-terminated) are valid native memory for the call; posix_spawn copies
                // nothing it needs after it returns.
                int err = posix_spawn(&pid, cPath, actions, null, cArgv, envp);
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
            foreach (var s in strings) System.Runtime.InteropServices.NativeMemory.Free((void*)s);
            System.Runtime.InteropServices.NativeMemory.Free(cArgv);
            System.Runtime.InteropServices.NativeMemory.Free(envp);
        }
    }

    /// <summary>One status record, or end of file (<paramref name="step"/> 0).</summary>
    private static unsafe void ReadRecord(int fd, SandboxedProcess process, out StageTwo.Step step, out Errno errno, out int passedFd)
    {
        byte* record = stackalloc byte[12];
        byte* control = stackalloc byte[Interop.Notify.CmsgSpaceOneFd];
        int got = 0;
        passedFd = -1;
        while (got < 12)
        {
            var iov = new Interop.Notify.iovec { iov_base = record + got, iov_len = (nuint)(12 - got) };
            var msg = new Interop.Notify.msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = Interop.Notify.CmsgSpaceOneFd };
            // SAFETY: the record, iovec, msghdr and control buffer are stack memory alive for the call; MSG_CMSG_CLOEXEC makes
            // a received descriptor close-on-exec at once, so no program we start later inherits it.
            nint n = Interop.Notify.recvmsg(fd, &msg, Interop.Notify.MSG_CMSG_CLOEXEC);
            if (n < 0 && Errors.Last() == Errno.EINTR) continue;
            if (msg.msg_controllen >= (nuint)Interop.Notify.CmsgLenOneFd)
            {
                var cmsg = (Interop.Notify.cmsghdr*)control;
                if (cmsg->cmsg_level == Interop.Notify.SOL_SOCKET && cmsg->cmsg_type == Interop.Notify.SCM_RIGHTS)
                {
                    if (passedFd >= 0) close(passedFd);
                    passedFd = *(int*)(control + sizeof(Interop.Notify.cmsghdr));
                }
            }
            if (n <= 0) break;
            got += (int)n;
        }
        if (got == 0)
        {
            step = 0;
            errno = 0;
            return;
        }
        if (got != 12 || *(uint*)record != StageTwo.StatusMagic)
        {
            if (passedFd >= 0) close(passedFd);
            process.Kill();
            process.WaitForExit();
            throw new LaunchException(LaunchFailure.StageFailed, "the launcher's stage two sent a malformed status record; the program was stopped before it ran");
        }
        step = (StageTwo.Step)(*(uint*)(record + 4));
        errno = (Errno)(*(int*)(record + 8));
        if (passedFd >= 0 && step != StageTwo.Step.Listener)
        {
            close(passedFd);
            passedFd = -1;
        }
    }

    /// <summary>Reads stage two's status records until the socket closes (execve succeeded) or a failure is reported.</summary>
    internal static void AwaitExec(int fd, SandboxedProcess process, SeccompFilterFlags flags, int filterLength, bool ready = false)
    {
        while (true)
        {
            ReadRecord(fd, process, out var step, out var errno, out int passedFd);
            if (step == 0)
            {
                if (ready) return; // closed by a successful execve
                var status = process.WaitForExit();
                throw new LaunchException(LaunchFailure.StageFailed,
                    $"the launcher's stage two ended before installing the filter ({status.Describe()}); the program did not run. Run with SECCOMPKIT_DEBUG=1 or report this",
                    stageSignal: status.Signal);
            }
            if (step == StageTwo.Step.Ready)
            {
                ready = true;
                continue;
            }
            if (passedFd >= 0) close(passedFd);
            throw Failure(step, errno, process, flags, filterLength);
        }
    }

    /// <summary>Reads stage two's records until the listener arrives (the filter is on, execve has not run yet).</summary>
    internal static int AwaitListener(int fd, SandboxedProcess process, SeccompFilterFlags flags, int filterLength)
    {
        while (true)
        {
            ReadRecord(fd, process, out var step, out var errno, out int passedFd);
            if (step == StageTwo.Step.Ready) continue;
            if (step == StageTwo.Step.Listener)
            {
                if (passedFd >= 0) return passedFd;
                process.Kill();
                process.WaitForExit();
                throw new LaunchException(LaunchFailure.StageFailed, "the launcher's stage two announced the listener but no descriptor came with it; the program was stopped before it ran");
            }
            if (step == 0)
            {
                var status = process.WaitForExit();
                throw new LaunchException(LaunchFailure.StageFailed,
                    $"the launcher's stage two ended before handing over the listener ({status.Describe()}); the program did not run",
                    stageSignal: status.Signal);
            }
            throw Failure(step, errno, process, flags, filterLength);
        }
    }

    private static LaunchException Failure(StageTwo.Step step, Errno errno, SandboxedProcess process, SeccompFilterFlags flags, int filterLength)
    {
        process.WaitForExit();
        return step switch
        {
            StageTwo.Step.NoNewPrivs => new LaunchException(LaunchFailure.NoNewPrivilegesDenied,
                $"prctl(PR_SET_NO_NEW_PRIVS) failed: {errno}; the program did not run. A security module (LSM) may forbid it here", errno),
            StageTwo.Step.Install => new LaunchException(LaunchFailure.FilterRefused,
                SeccompKernel.InstallError(errno, flags, filterLength).Message + "; the program did not run", errno),
            StageTwo.Step.Exec => new LaunchException(errno == Errno.ENOENT ? LaunchFailure.ProgramNotFound : LaunchFailure.ProgramNotExecutable,
                $"execve({process.Path}) failed under the filter: {errno}" + (errno == Errno.EPERM || errno == Errno.EACCES
                    ? "; the policy may refuse execve (or a syscall the kernel makes for it): allow execve in the policy" : "") + "; the program did not run", errno),
            StageTwo.Step.Filter => new LaunchException(LaunchFailure.StageFailed, "the launcher's stage two did not receive a whole, valid filter; the program did not run"),
            StageTwo.Step.Handover => new LaunchException(LaunchFailure.StageFailed,
                $"the launcher's stage two could not hand the listener over: {errno}; the program did not run", errno),
            _ => new LaunchException(LaunchFailure.StageFailed, $"the launcher's stage two failed at step {step}: {errno}; the program did not run", errno),
        };
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

    internal static unsafe void WriteAll(int fd, byte[] data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                // SAFETY: `p` is pinned; we pass the remaining length only.
                nint n = write(fd, p + done, (nuint)(data.Length - done));
                if (n < 0)
                {
                    var e = Errors.Last();
                    if (e == Errno.EINTR) continue;
                    throw new ErrnoException("write(filter pipe)", e, "");
                }
                done += (int)n;
            }
        }
    }
}

/// <summary>
/// A program whose stage two is running and waiting for its filter (<see cref="SandboxLauncher.Prepare"/>).
/// <see cref="Start"/> hands the filter over; <see cref="Dispose"/> without <see cref="Start"/> stops stage two.
/// </summary>
public sealed class PendingLaunch : IDisposable
{
    private readonly SandboxedProcess _process;
    private int _filterFd;
    private int _statusFd;
    private bool _started;

    internal PendingLaunch(SandboxedProcess process, int filterFd, int statusFd)
    {
        _process = process;
        _filterFd = filterFd;
        _statusFd = statusFd;
    }

    /// <summary>The resolved path of the program.</summary>
    public string Path => _process.Path;

    /// <summary>
    /// Sends the filter; returns once the program runs under it, or throws <see cref="LaunchException"/> if any step
    /// failed (the program did not run). Call once.
    /// </summary>
    public SandboxedProcess Start(BpfProgram filter, SeccompFilterFlags flags = SeccompFilterFlags.None, bool setNoNewPrivileges = true)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (_started) throw new InvalidOperationException("this launch has already been started");
        if ((flags & SeccompFilterFlags.NewListener) != 0)
            throw new ArgumentException("use StartSupervised for a filter with a listener: it hands the listener to the caller before the program runs", nameof(flags));
        _started = true;
        try
        {
            SandboxLauncher.SendFilter(_filterFd, filter, flags, setNoNewPrivileges, _process);
            Interop.Proc.close(_filterFd);
            _filterFd = -1;
            SandboxLauncher.AwaitExec(_statusFd, _process, flags, filter.Length);
        }
        catch
        {
            Abort();
            throw;
        }
        finally
        {
            if (_statusFd >= 0) Interop.Proc.close(_statusFd);
            _statusFd = -1;
        }
        return _process;
    }

    /// <summary>
    /// Installs <paramref name="filter"/> with a listener (NEW_LISTENER is added to <paramref name="flags"/>) and returns as
    /// soon as the listener is in the caller's hands, before the program runs: stage two is then waiting to execve, and
    /// execve itself may be notified. Start serving the listener (<see cref="Supervise.NotificationSupervisor"/>), then call
    /// <see cref="SupervisedLaunch.WaitUntilRunning"/>. Throws <see cref="LaunchException"/> if any step failed (the program
    /// did not run).
    /// </summary>
    /// <remarks>
    /// The hand-over cannot deadlock on notified syscalls: the filter goes on one thread of stage two only (no TSYNC), which
    /// then makes no syscall until the listener has left the process. An unfiltered thread of stage two sends the
    /// descriptor on the status socket (SCM_RIGHTS) and only then does the filtered thread call execve.
    /// </remarks>
    public SupervisedLaunch StartSupervised(BpfProgram filter, SeccompFilterFlags flags = SeccompFilterFlags.None, bool setNoNewPrivileges = true)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (_started) throw new InvalidOperationException("this launch has already been started");
        if ((flags & SeccompFilterFlags.Tsync) != 0)
            throw new ArgumentException("TSYNC would filter the thread that hands the listener over; it is meaningless across execve anyway", nameof(flags));
        _started = true;
        flags |= SeccompFilterFlags.NewListener;
        int listenerFd;
        try
        {
            SandboxLauncher.SendFilter(_filterFd, filter, flags, setNoNewPrivileges, _process);
            Interop.Proc.close(_filterFd);
            _filterFd = -1;
            listenerFd = SandboxLauncher.AwaitListener(_statusFd, _process, flags, filter.Length);
        }
        catch
        {
            Abort();
            throw;
        }
        int statusFd = _statusFd;
        _statusFd = -1;
        try
        {
            var listener = new Supervise.NotificationListener(new SafeHandles.SafeFileDescriptorHandle(listenerFd));
            return new SupervisedLaunch(_process, listener, statusFd, flags, filter.Length);
        }
        catch
        {
            Interop.Proc.close(statusFd);
            _process.Kill();
            try { _process.WaitForExit(); } catch (ErrnoException) { }
            throw;
        }
    }

    /// <summary>Stops stage two if <see cref="Start"/> was not called (it has not run the program: it waits for the filter).</summary>
    public void Dispose()
    {
        if (_started) return;
        _started = true;
        Abort();
    }

    private void Abort()
    {
        if (_filterFd >= 0) { Interop.Proc.close(_filterFd); _filterFd = -1; }
        if (_statusFd >= 0) { Interop.Proc.close(_statusFd); _statusFd = -1; }
        _process.Kill();
        try { _process.WaitForExit(); }
        catch (ErrnoException) { }
        _process.Dispose();
    }
}

/// <summary>
/// A program whose filter is installed with a listener that the caller now holds (<see cref="PendingLaunch.StartSupervised"/>).
/// Serve <see cref="Listener"/> first, then <see cref="WaitUntilRunning"/>: execve may itself wait for an answer.
/// </summary>
public sealed class SupervisedLaunch : IDisposable
{
    private readonly SandboxedProcess _process;
    private readonly SeccompFilterFlags _flags;
    private readonly int _filterLength;
    private int _statusFd;

    internal SupervisedLaunch(SandboxedProcess process, Supervise.NotificationListener listener, int statusFd, SeccompFilterFlags flags, int filterLength)
    {
        _process = process;
        Listener = listener;
        _statusFd = statusFd;
        _flags = flags;
        _filterLength = filterLength;
    }

    /// <summary>The listener of the program's filter. Owned by the caller: dispose it when the supervision ends.</summary>
    public Supervise.NotificationListener Listener { get; }

    /// <summary>The process (stage two until execve, then the program).</summary>
    public SandboxedProcess Process => _process;

    /// <summary>
    /// Waits until execve has succeeded (the program runs) or throws <see cref="LaunchException"/> if it failed. The
    /// listener must be served meanwhile when the filter notifies execve.
    /// </summary>
    public SandboxedProcess WaitUntilRunning()
    {
        if (_statusFd < 0) return _process;
        try
        {
            SandboxLauncher.AwaitExec(_statusFd, _process, _flags, _filterLength, ready: true);
        }
        finally
        {
            Interop.Proc.close(_statusFd);
            _statusFd = -1;
        }
        return _process;
    }

    /// <summary>Closes the status channel if <see cref="WaitUntilRunning"/> was not called (does not stop the program or close the listener).</summary>
    public void Dispose()
    {
        if (_statusFd >= 0) { Interop.Proc.close(_statusFd); _statusFd = -1; }
    }
}
