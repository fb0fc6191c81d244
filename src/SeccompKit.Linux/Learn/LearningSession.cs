using SeccompKit.Compiler;
using SeccompKit.Learning;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Supervise;
using SeccompKit.Policy;

namespace SeccompKit.Linux.Learn;

/// <summary>How to run a program while learning.</summary>
public sealed record LearnOptions
{
    /// <summary>Calls this profile lets run are not notified (nor recorded): only what is new is learned.</summary>
    public SeccompPolicy? Base { get; init; }

    /// <summary>Also record the flags of open/openat.</summary>
    public bool OpenFlags { get; init; }

    /// <summary>Ask for SYNC_WAKE_UP (Linux 6.6) when the kernel has it: lower latency per notification. Default true.</summary>
    public bool SyncWakeUp { get; init; } = true;

    /// <summary>How to start stage two; default <see cref="StageCommand.Default"/>.</summary>
    public StageCommand? Stage { get; init; }

    /// <summary>
    /// Let clone3 run (true) or answer it ENOSYS (false, the default): learned profiles answer clone3 ENOSYS
    /// (<see cref="Clone3Rule.Enosys"/>), so the program is learned as it will run, with glibc falling back to clone.
    /// </summary>
    public bool AllowClone3 { get; init; }

    /// <summary>
    /// Set no_new_privs before installing the filter (default true). Without it, set-user-ID, set-group-ID and
    /// file-capability programs keep their privileges; only a caller with CAP_SYS_ADMIN (root) may install a filter
    /// without it (seccomp(2)).
    /// </summary>
    public bool NoNewPrivileges { get; init; } = true;
}

/// <summary>A privileged executable the program ran while it was learned (set-id bits or file capabilities).</summary>
/// <param name="Path">The path as the program passed it to execve.</param>
/// <param name="Pid">The caller.</param>
/// <param name="Privileges">What executing it would have given the caller without no_new_privs.</param>
public sealed record PrivilegedExec(string Path, int Pid, ExecPrivileges Privileges)
{
    /// <summary>"set-user-ID (owner 0)", "set-group-ID (group 42)", "file capabilities".</summary>
    public string Describe() => Privileges.Describe();
}

/// <summary>Live counters of a learning run, readable from any thread.</summary>
/// <param name="Calls">Notified calls recorded.</param>
/// <param name="Distinct">Distinct (ABI, syscall) pairs.</param>
public readonly record struct LearnProgress(long Calls, int Distinct);

/// <summary>
/// Runs a program with all its threads, children and execs under a filter that notifies every syscall the base profile
/// (if any) does not allow, answers each with Continue (the call runs unchanged: learning decides nothing, so the TOCTOU
/// rule is not at stake) and records it (<see cref="SyscallRecorder"/>). Needs no privilege: seccomp needs only
/// no_new_privs, and the supervisor is the program's parent.
/// </summary>
public sealed class LearningSession : IDisposable
{
    private readonly LearningRecorder _recorder;
    private readonly NotificationSupervisor _supervisor;
    private readonly NotificationListener _listener;
    private readonly Task<SupervisorExit> _loop;

    private LearningSession(SandboxedProcess process, NotificationListener listener, NotificationSupervisor supervisor, LearningRecorder recorder, Task<SupervisorExit> loop)
    {
        Process = process;
        _listener = listener;
        _supervisor = supervisor;
        _recorder = recorder;
        _loop = loop;
    }

    /// <summary>The program.</summary>
    public SandboxedProcess Process { get; }

    /// <summary>Whether the listener runs with SYNC_WAKE_UP.</summary>
    public bool SyncWakeUp => _listener.SyncWakeUp;

    /// <summary>The counters so far.</summary>
    public LearnProgress Progress => new(Volatile.Read(ref _recorder.Calls), Volatile.Read(ref _recorder.DistinctCount));

    /// <summary>The supervisor's counters.</summary>
    public SupervisorStatistics Statistics => _supervisor.Statistics;

    /// <summary>How many clone3 calls were answered ENOSYS (<see cref="LearnOptions.AllowClone3"/> off).</summary>
    public long Clone3Refused => Volatile.Read(ref _recorder.Clone3Refused);

    /// <summary>
    /// Whether the program was executed: stage two's execve was notified (learning always notifies execve) and let run.
    /// False when stage two ended before it, e.g. killed by a SIGTERM or SIGINT sent to the process group while it was
    /// becoming the program: then the program never ran, and anything recorded was stage two's own (the .NET runtime's
    /// signal handling: rt_sigaction, kill), not the program's. Call after the program's exit.
    /// </summary>
    public bool ProgramExecuted => Volatile.Read(ref _recorder.ExecutedByLaunched) != 0;

    /// <summary>
    /// Set-id and file-capability programs the program executed (execve and execveat are watched). Under no_new_privs
    /// they ran without their privileges, so what was learned is their unprivileged behaviour. Call after
    /// <see cref="WaitForExit"/>.
    /// </summary>
    public IReadOnlyList<PrivilegedExec> PrivilegedExecs
    {
        get { lock (_recorder.Execs) return [.. _recorder.Execs]; }
    }

    /// <summary>Whether no_new_privs was set for the program.</summary>
    public bool NoNewPrivileges { get; private init; } = true;

    /// <summary>
    /// Resolves the program and starts stage two, which waits for the filter; <see cref="PendingLearning.Start"/> installs
    /// it. Throws <see cref="LaunchException"/> when the program cannot be found or stage two cannot start.
    /// </summary>
    public static PendingLearning Prepare(string program, IReadOnlyList<string> arguments, LearnOptions? options = null)
    {
        options ??= new LearnOptions();
        var pending = SandboxLauncher.Prepare(program, arguments, observer: null, options.Stage);
        return new PendingLearning(pending, options);
    }

    /// <summary>A learning run whose stage two waits for its filter.</summary>
    public sealed class PendingLearning : IDisposable
    {
        private readonly PendingLaunch _pending;
        private readonly LearnOptions _options;

        internal PendingLearning(PendingLaunch pending, LearnOptions options)
        {
            _pending = pending;
            _options = options;
        }

        /// <summary>The resolved program path.</summary>
        public string Path => _pending.Path;

        /// <summary>Installs the learning filter, starts supervising, and returns once the program runs.</summary>
        public LearningSession Start()
        {
            var filter = PolicyCompiler.Compile(LearningFilter.NotifyUnless(_options.Base, watchExecs: true)).Program;
            var launch = _pending.StartSupervised(filter, LearningFilterFlags, setNoNewPrivileges: _options.NoNewPrivileges);
            var listener = launch.Listener;
            try
            {
                if (_options.SyncWakeUp) listener.TryEnableSyncWakeUp();
                var recorder = new LearningRecorder(new SyscallRecorder(_options.OpenFlags), _options.Base, _options.AllowClone3, launch.Process.Pid);
                var supervisor = new NotificationSupervisor(listener, recorder);
                var loop = supervisor.Start();
                var process = launch.WaitUntilRunning();
                return new LearningSession(process, listener, supervisor, recorder, loop) { NoNewPrivileges = _options.NoNewPrivileges };
            }
            catch
            {
                launch.Process.Kill();
                listener.Dispose();
                throw;
            }
        }

        /// <summary>Stops stage two if <see cref="Start"/> was not called.</summary>
        public void Dispose() => _pending.Dispose();
    }

    /// <summary>
    /// WAIT_KILLABLE_RECV (Linux 5.19) where the kernel has it: once the supervisor has received a notification, the caller
    /// waits only killably for the answer. A notified call waits interruptibly otherwise, and a signal whose handler lacks
    /// SA_RESTART then fails it with EINTR (-ERESTARTSYS, seccomp_unotify(2)), also a call that never fails so natively:
    /// dash catches SIGCHLD without SA_RESTART, so a child's exit during a notified fork printed "Cannot fork", and during
    /// a notified close left the pipe's write end open (the pipeline hung). With the flag the signal waits until the call
    /// ends, as it does natively. A signal that arrives before the supervisor received the notification still interrupts
    /// it (the kernel has no way to hold it back then); that window is the supervisor's wake-up latency.
    /// </summary>
    internal static SeccompFilterFlags LearningFilterFlags => s_waitKillable.Value ? SeccompFilterFlags.WaitKillableRecv : SeccompFilterFlags.None;

    private static readonly Lazy<bool> s_waitKillable = new(() => KernelFeatures.IsFlagSupported(SeccompFilterFlags.WaitKillableRecv));

    /// <summary>Waits for the program to exit, then for every descendant that still uses the filter (they are learned too).</summary>
    public ExitStatus WaitForExit(Action? stillRunning = null)
    {
        var status = Process.WaitForExit();
        WaitForDescendants(stillRunning);
        return status;
    }

    /// <summary>
    /// After the program exited: waits until every descendant that still runs under the filter has exited too (they
    /// are learned as well). <paramref name="stillRunning"/> is called once when some are still running after half a
    /// second. When <paramref name="stop"/> is cancelled first, learning stops: the descendants keep running, but their
    /// calls that the filter notifies fail with ENOSYS from then on (no supervisor answers them); returns false then.
    /// </summary>
    public bool WaitForDescendants(Action? stillRunning = null, CancellationToken stop = default)
    {
        bool all = true;
        if (!_loop.Wait(TimeSpan.FromMilliseconds(500)))
        {
            stillRunning?.Invoke();
            try { _loop.Wait(stop); }
            catch (OperationCanceledException)
            {
                all = _loop.IsCompleted;
                _supervisor.Stop();
                _loop.Wait();
            }
        }
        if (_loop.IsFaulted) throw new SeccompException("the learning supervisor failed: " + _loop.Exception!.GetBaseException().Message, _loop.Exception.GetBaseException());
        return all;
    }

    /// <summary>What was recorded (call after <see cref="WaitForExit"/>).</summary>
    public LearnedCalls Snapshot()
    {
        if (!_loop.IsCompleted) throw new InvalidOperationException("the program's tasks are still running; call WaitForExit first");
        return _recorder.Inner.Snapshot();
    }

    /// <summary>Stops supervising (pending notified calls then fail with ENOSYS) and releases the listener.</summary>
    public void Dispose()
    {
        _supervisor.Stop();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _supervisor.Dispose();
        _listener.Dispose();
        Process.Dispose();
    }
}
