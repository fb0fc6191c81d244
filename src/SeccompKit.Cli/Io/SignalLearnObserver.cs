using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Learn;

namespace SeccompKit.Cli.Io;

/// <summary>
/// Ties a learning or complain run to <see cref="ProgramSignals"/>: a signal before the start stops the launch, SIGTERM
/// and SIGHUP reach the program while it runs, and after it ended a signal stops waiting for its descendants.
/// </summary>
/// <remarks>A second signal while the program runs kills it (<see cref="ProgramSignals.ProgramRunning"/>): recording ends
/// with what was recorded, whatever the program does with the first one; <paramref name="runsOn"/> is told when the
/// program still runs a second after the first.</remarks>
internal class SignalLearnObserver(ProgramSignals signals, Action descendantsOutlive, Action<int>? runsOn = null) : LearnObserver
{
    public override bool ShouldStart() => signals.Received is null;

    public override void Started(LearningSession session) => signals.ProgramRunning(session.Process, stopOnSecond: true, runsOn);

    public override void ProgramExited(ExitStatus status) => signals.ProgramEnded();

    public override void DescendantsOutlive() => descendantsOutlive();

    public override CancellationToken StopWaiting => signals.StopWaiting;

    /// <summary>
    /// The command's answer when the run did not record the program: interrupted before the start (128 + the signal), or
    /// stage two ended before it executed the program; null when it did.
    /// </summary>
    public int? NotRecorded(LearningRun run, string command, ICliConsole console) => run.Outcome switch
    {
        LearnOutcome.NotStarted => ProgramSignals.NotStarted(command, signals.Received ?? 0, console),
        LearnOutcome.EndedBeforeExec => signals.EndedBeforeExec(command, run.Status, console),
        _ => null,
    };
}
