using SeccompKit.Compiler;
using SeccompKit.Learning;
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

    /// <summary>How to start stage two; default <see cref="StageCommand.ForCurrentProcess"/>.</summary>
    public StageCommand? Stage { get; init; }
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
    private readonly Recorder _recorder;
    private readonly NotificationSupervisor _supervisor;
    private readonly NotificationListener _listener;
    private readonly Task<SupervisorExit> _loop;

    private LearningSession(SandboxedProcess process, NotificationListener listener, NotificationSupervisor supervisor, Recorder recorder, Task<SupervisorExit> loop)
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

    /// <summary>
    /// Resolves the program and starts stage two, which waits for the filter; <see cref="PendingLearning.Start"/> installs
    /// it. Throws <see cref="LaunchException"/> when the program cannot be found or stage two cannot start.
    /// </summary>
    public static PendingLearning Prepare(string program, IReadOnlyList<string> arguments, LearnOptions? options = null)
    {
        options ??= new LearnOptions();
        var pending = SandboxLauncher.Prepare(program, arguments, collectAuditRecords: false, options.Stage);
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
            var filter = PolicyCompiler.Compile(LearningFilter.NotifyUnless(_options.Base)).Program;
            var launch = _pending.StartSupervised(filter);
            var listener = launch.Listener;
            try
            {
                if (_options.SyncWakeUp) listener.TryEnableSyncWakeUp();
                var recorder = new Recorder(new SyscallRecorder(_options.OpenFlags));
                var supervisor = new NotificationSupervisor(listener, recorder);
                var loop = supervisor.Start();
                var process = launch.WaitUntilRunning();
                return new LearningSession(process, listener, supervisor, recorder, loop);
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

    /// <summary>Waits for the program to exit, then for every descendant that still uses the filter (they are learned too).</summary>
    public ExitStatus WaitForExit(Action? stillRunning = null)
    {
        var status = Process.WaitForExit();
        if (!_loop.Wait(TimeSpan.FromMilliseconds(500)))
        {
            stillRunning?.Invoke();
            _loop.Wait();
        }
        if (_loop.IsFaulted) throw new SeccompException("the learning supervisor failed: " + _loop.Exception!.GetBaseException().Message, _loop.Exception.GetBaseException());
        return status;
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

    private sealed class Recorder(SyscallRecorder inner) : INotificationHandler
    {
        public readonly SyscallRecorder Inner = inner;
        public long Calls;
        public int DistinctCount;

        public NotificationResponse Handle(in SeccompNotification n, NotificationContext context)
        {
            var args = n.Arguments;
            if (Inner.Record(n.Arch, n.Nr, n.Pid, n.InstructionPointer, args)) Volatile.Write(ref DistinctCount, Inner.Distinct);
            Volatile.Write(ref Calls, Inner.Total);
            // Learning only records: the call runs as the program made it, and nothing read decides anything.
            return NotificationResponse.Continue;
        }
    }
}
