using System.Runtime.InteropServices;
using SeccompKit.Linux.Launch;

namespace SeccompKit.Cli.Io;

/// <summary>
/// What `run`, `run --complain` and `learn` do with SIGINT, SIGQUIT, SIGTERM and SIGHUP, from the moment the command
/// starts until its output is written. No signal ever ends seccompkit before that, so a learned profile or a complain
/// report is never lost: `timeout`, systemd and `docker stop` send SIGTERM to seccompkit or to its whole process group,
/// a terminal sends SIGINT to the group, a closed terminal SIGHUP.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Before the program runs: the signal is remembered and the program is not started (<see cref="Interrupted"/>);
/// if it arrives while the program is being started, it counts as one that came while the program ran (below). A group signal may end the
/// launcher's stage two first (it has no handlers): the command then says the program did not run, with 128 + that
/// signal (<see cref="LaunchFailed"/>, <see cref="EndedBeforeExec"/>), and writes nothing.</item>
/// <item>While the program runs: SIGTERM and SIGHUP are passed on to it after a quarter of a second unless it has ended
/// by then (a signal sent to seccompkit alone, as systemd's KillMode=mixed and `kill PID` do, must still reach the
/// program; one sent to the group has reached it already, see <see cref="RelayLater"/>). SIGINT and SIGQUIT are not: the terminal sends
/// them to the whole foreground process group, the program included, and a second copy would count twice in programs
/// that treat a repeated Ctrl-C as "force".</item>
/// <item>After the program ended: a signal stops waiting for descendants that outlive it (<see cref="StopWaiting"/>),
/// and seccompkit writes what it has. So does a signal that came earlier: seccompkit was asked to stop, and a sender
/// that signalled seccompkit alone (`timeout --foreground`, systemd's KillMode=mixed, `kill PID`) reached only the
/// program, so a descendant that outlives it (a daemon, a background job) may run for ever, and the sender's next step
/// is SIGKILL, which would lose everything.</item>
/// <item>learn and complain only (<see cref="ProgramRunning"/>'s stopOnSecond): a second signal while the program runs
/// kills it (SIGKILL), so a program that ignores or survives the first (a `trap '' INT`, a wait for a child in another
/// session) cannot keep seccompkit from writing what it recorded (issue 17).</item>
/// </list>
/// A signal that arrives before seccompkit has read its command line (a few milliseconds after it starts) still ends
/// it, with the program not started.
/// </remarks>
internal sealed class ProgramSignals : IDisposable
{
    private enum Phase { Starting, Running, Ended }

    private readonly object _gate = new();
    private readonly PosixSignalRegistration[] _registrations;
    private readonly CancellationTokenSource _stopWaiting = new();
    private SandboxedProcess? _program;
    private Phase _phase = Phase.Starting;
    private int _first;
    private int _count;
    private bool _stopOnSecond;
    private Action<int>? _runsOn;
    private int _forced;

    private ProgramSignals()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Handle(c, 2)),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => Handle(c, 3)),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Handle(c, 15)),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => Handle(c, 1)),
        ];
    }

    /// <summary>Starts catching the four signals; call first thing in the command, dispose after the output is written.</summary>
    public static ProgramSignals Catch() => new();

    /// <summary>The first of the four signals that arrived, or null.</summary>
    public int? Received
    {
        get { lock (_gate) return _first == 0 ? null : _first; }
    }

    /// <summary>
    /// The signal that made seccompkit kill the program (a second one while it ran, see <see cref="ProgramRunning"/>), or null.
    /// </summary>
    public int? Forced
    {
        get { lock (_gate) return _forced == 0 ? null : _forced; }
    }

    /// <summary>A signal arrived before the program ran: do not start it.</summary>
    public bool Interrupted => Received is not null;

    /// <summary>Cancelled when a signal arrives after the program ended (stop waiting for its descendants).</summary>
    public CancellationToken StopWaiting => _stopWaiting.Token;

    /// <summary>
    /// The program runs: from now on SIGTERM and SIGHUP go to it. A SIGTERM or SIGHUP that came while it was being started
    /// goes to it now, as it would have had it come a moment later; SIGINT and SIGQUIT are not passed on, as while it runs.
    /// </summary>
    /// <param name="program">The program.</param>
    /// <param name="stopOnSecond">
    /// learn and complain (issue 17): a second signal while the program runs kills it (SIGKILL), so that a program that
    /// ignores or survives Ctrl-C (a `trap '' INT`, a wait for a child in another session) cannot keep seccompkit from
    /// writing what it recorded. A plain `run` stays transparent: the program decides what a signal does.
    /// </param>
    /// <param name="runsOn">With <paramref name="stopOnSecond"/>: called with the signal when the program still runs a second
    /// after the first one (to say that a second one stops it).</param>
    public void ProgramRunning(SandboxedProcess program, bool stopOnSecond = false, Action<int>? runsOn = null)
    {
        lock (_gate)
        {
            _program = program;
            _phase = Phase.Running;
            _stopOnSecond = stopOnSecond;
            _runsOn = runsOn;
            // The launch returns a little after the execve, so a signal seen "while starting" may have been sent to the
            // group when the program already ran and got its own copy (a group signal before the execve ends stage two,
            // and the launch fails instead). Treat it as one that came while the program ran: relaying Ctrl-C's SIGINT
            // would deliver it twice (seen: a shell's INT trap, then a second SIGINT that killed it).
            if (_first is 15 or 1) RelayLater(program, _first);
        }
    }

    /// <summary>How long a relayed SIGTERM/SIGHUP waits: a group's copy has reached the program and been acted on by then.</summary>
    internal static readonly TimeSpan RelayGrace = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Passes <paramref name="signal"/> on after <see cref="RelayGrace"/>, unless the program has ended by then. .NET's
    /// signal API gives no siginfo, so seccompkit cannot tell a signal sent to it alone (which must be relayed, or the
    /// program never hears it) from one sent to its whole process group (which reached the program directly). Relaying at
    /// once would give most programs of a group kill (timeout, a shell's hangup) a second copy while their handler still
    /// runs (a shell's TERM trap ending in `exit 3` was killed by it); waiting lets every program that ends on its copy end
    /// first, and a signal to seccompkit alone reaches the program a quarter of a second later. A program that handles the
    /// signal for longer than that (a graceful shutdown) can still get it twice from a group kill.
    /// </summary>
    private static void RelayLater(SandboxedProcess program, int signal) =>
        _ = Task.Delay(RelayGrace).ContinueWith(_ => program.Signal(signal), TaskScheduler.Default);

    /// <summary>
    /// The program exited: a signal now only stops waiting for its descendants. If one already came while it ran, stop
    /// waiting now (after the short grace <see cref="Linux.Learn.LearningSession.WaitForDescendants"/> gives them).
    /// </summary>
    public void ProgramEnded()
    {
        lock (_gate)
        {
            _phase = Phase.Ended;
            if (_first != 0) _stopWaiting.Cancel();
        }
    }

    private void Handle(PosixSignalContext context, int signal)
    {
        context.Cancel = true;
        lock (_gate)
        {
            if (_first == 0) _first = signal;
            switch (_phase)
            {
                case Phase.Running when _stopOnSecond && ++_count >= 2:
                    // Asked twice: stop the program rather than wait for it (its descendants are then stopped waiting for
                    // by ProgramEnded, as after any signal).
                    if (_forced == 0)
                    {
                        _forced = signal;
                        _program!.Kill();
                    }
                    break;
                case Phase.Running:
                    if (signal is 15 or 1) RelayLater(_program!, signal);
                    if (_stopOnSecond && _runsOn is { } runsOn)
                        _ = Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ =>
                        {
                            lock (_gate)
                                if (_phase != Phase.Running || _forced != 0) return;
                            runsOn(signal);
                        }, TaskScheduler.Default);
                    break;
                case Phase.Ended:
                    _stopWaiting.Cancel();
                    break;
            }
        }
    }

    /// <summary>
    /// Prints a launch failure (the program did not run) and returns its exit code (120-127); when a signal had arrived,
    /// that is the cause (stage two died of it too, or seccompkit stopped the launch), and the code is 128 + the signal.
    /// </summary>
    public int LaunchFailed(string command, LaunchException e, ICliConsole console) =>
        (Received ?? Caught(e.StageSignal)) is { } signal ? NotStarted(command, signal, console) : LaunchFailure(command, e, console);

    /// <summary>
    /// One of the four signals, if it is one. Stage two has no handlers: the copy of a group signal that reaches it ends it
    /// at once, and the launch fails while seccompkit's own copy may still wait for .NET's signal thread to run its
    /// handler (seen in ShutdownSpecs: exit 125, "stage two ended ... killed by signal 1"). It is the same signal.
    /// </summary>
    private static int? Caught(int? signal) => signal is 1 or 2 or 3 or 15 ? signal : null;

    /// <summary>
    /// The launched process ended before it executed the program (learn and complain see its execve): a signal while
    /// stage two was becoming the program. Says so (see <see cref="NotStarted"/>) and returns 128 + the signal; without
    /// one of the four signals, reports the launch as failed (125).
    /// </summary>
    public int EndedBeforeExec(string command, ExitStatus status, ICliConsole console)
    {
        if ((Received ?? Caught(status.Signal)) is { } signal) return NotStarted(command, signal, console);
        console.Error.WriteLine($"seccompkit: {command}: the launcher's stage two ended ({status.Describe()}) before it executed the program: it did not run, and nothing was written");
        return ExitCodes.RunLaunchFailed;
    }

    /// <summary>Says that a signal stopped the command before the program ran, and returns 128 + the signal.</summary>
    public static int NotStarted(string command, int signal, ICliConsole console)
    {
        console.Error.WriteLine($"seccompkit: {command}: interrupted by {ExitStatus.SignalName(signal)} before the program started: it did not run, and nothing was written");
        return 128 + signal;
    }

    /// <summary>Prints a launch failure (the program did not run) and returns its exit code (120-127).</summary>
    public static int LaunchFailure(string command, LaunchException e, ICliConsole console)
    {
        // Stage two that died early under a tight RLIMIT_NPROC (its runtime could not start its threads): say which limit.
        string hint = e.Failure == Linux.Launch.LaunchFailure.StageFailed && !e.Message.Contains("RLIMIT_NPROC", StringComparison.Ordinal)
            && Linux.Kernel.ResourceLimits.ProcessLimitProblem(needed: Linux.Kernel.ResourceLimits.NeededTasks) is { } limit ? $" ({limit})" : "";
        console.Error.WriteLine($"seccompkit: {command}: {e.Message}{hint}");
        return e.Failure switch
        {
            Linux.Launch.LaunchFailure.ProgramNotFound => ExitCodes.RunNotFound,
            Linux.Launch.LaunchFailure.ProgramNotExecutable => ExitCodes.RunCannotExecute,
            Linux.Launch.LaunchFailure.NoNewPrivilegesDenied => ExitCodes.RunNoNewPrivsDenied,
            Linux.Launch.LaunchFailure.FilterRefused => ExitCodes.RunFilterRefused,
            _ => ExitCodes.RunLaunchFailed,
        };
    }

    /// <summary>Stops catching: the default actions apply again.</summary>
    public void Dispose()
    {
        // The token source is left to the GC: a handler running on the runtime's signal thread may still cancel it.
        foreach (var r in _registrations) r.Dispose();
    }
}
