using System.Collections.Immutable;
using System.Diagnostics;
using System.Text.Json;
using SeccompKit.Learning;
using SeccompKit.Linux.Launch;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;

namespace SeccompKit.Linux.Learn;

/// <summary>What <see cref="Learner.Learn"/> runs and how it turns the run into a profile.</summary>
public sealed record LearnRequest
{
    /// <summary>The program: a path, or a name looked up in PATH.</summary>
    public required string Program { get; init; }

    /// <summary>Its arguments (after the program name).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>
    /// A profile whose allowed calls are not notified: the result is that profile plus what is new
    /// (<see cref="LearnedProfile.Combine"/>), with its default action and architectures.
    /// </summary>
    public SeccompPolicy? Base { get; init; }

    /// <summary>The action for everything not learned (without <see cref="Base"/>). Default ERRNO(EPERM), as Docker.</summary>
    public PolicyAction DefaultAction { get; init; } = PolicyAction.Errno(1);

    /// <summary>Argument conditions from the values seen (default) or syscalls only.</summary>
    public ArgumentMode ArgumentConditions { get; init; } = ArgumentMode.Auto;

    /// <summary>Also record the flags of open/openat (and write them as conditions).</summary>
    public bool OpenFlags { get; init; }

    /// <summary>Also allow what this runtime calls after installing a container's filter (<see cref="RuntimeSyscalls.For(OciTarget)"/>).</summary>
    public RuntimeSyscallSet? Runtime { get; init; }

    /// <summary>The runtime the profile is written for (its ENOSYS stub); default <see cref="OciTarget.Default"/>.</summary>
    public OciTarget? Target { get; init; }

    /// <summary>Allow <see cref="LearnedBaseline"/> although the run did not make it (default true).</summary>
    public bool Baseline { get; init; } = true;

    /// <summary>Let clone3 run while learning and allow it (its flags cannot be checked); default: answered ENOSYS, as Docker does.</summary>
    public bool AllowClone3 { get; init; }

    /// <summary>Set no_new_privs (default true); only root may install a filter without it (seccomp(2)).</summary>
    public bool NoNewPrivileges { get; init; } = true;

    /// <summary>How to start stage two; default <see cref="StageCommand.Default"/>.</summary>
    public StageCommand? Stage { get; init; }

    /// <summary>
    /// The profile will be written as OCI for <see cref="Target"/> (<see cref="LearnResult.ExportOci"/>), as it is by
    /// default: with a <see cref="Base"/>, <see cref="Learner.Learn"/> then checks before it runs the program that a profile
    /// learned on that base can be written for the target, whatever the program does (e.g. a bad-architecture action OCI
    /// cannot express). False when only <see cref="LearnResult.Profile"/> is used (e.g. written in the policy language).
    /// </summary>
    public bool ExportsOci { get; init; } = true;
}

/// <summary>
/// Hooks into a learning or complain run, for a caller that shows progress or handles signals. Every method has a
/// default that does nothing; they are called on the calling thread, in this order.
/// </summary>
public class LearnObserver
{
    /// <summary>Asked just before the filter is installed: false stops the launch (the program never runs; <see cref="LearnOutcome.NotStarted"/>).</summary>
    public virtual bool ShouldStart() => true;

    /// <summary>The program runs (its live counters are <see cref="LearningSession.Progress"/>).</summary>
    public virtual void Started(LearningSession session) { }

    /// <summary>The program exited; learning goes on while descendants that outlive it run under the filter.</summary>
    public virtual void ProgramExited(ExitStatus status) { }

    /// <summary>Called once when descendants still run half a second after the program exited.</summary>
    public virtual void DescendantsOutlive() { }

    /// <summary>Cancelled to stop waiting for descendants (their notified calls then fail with ENOSYS).</summary>
    public virtual CancellationToken StopWaiting => default;

    /// <summary>Recording is over (nothing runs under the supervisor any more).</summary>
    public virtual void Stopped() { }
}

/// <summary>How a learning or complain run ended.</summary>
public enum LearnOutcome
{
    /// <summary>The program ran and what it did was recorded.</summary>
    Recorded,
    /// <summary><see cref="LearnObserver.ShouldStart"/> said no: the program never ran.</summary>
    NotStarted,
    /// <summary>Stage two ended (e.g. by a signal to the process group) before it executed the program: nothing recorded is the program's.</summary>
    EndedBeforeExec,
}

/// <summary>What a learning run recorded, before any profile is made of it (shared by learn and complain).</summary>
public class LearningRun
{
    internal LearningRun(LearningRun other)
    {
        Outcome = other.Outcome; ProgramPath = other.ProgramPath; Command = other.Command; Status = other.Status; Elapsed = other.Elapsed;
        Complete = other.Complete; Calls = other.Calls; SyncWakeUp = other.SyncWakeUp; Clone3Refused = other.Clone3Refused;
        NoNewPrivileges = other.NoNewPrivileges; PrivilegedExecs = other.PrivilegedExecs; VanishedNotifications = other.VanishedNotifications;
    }

    internal LearningRun() { }

    /// <summary>How the run ended; only <see cref="LearnOutcome.Recorded"/> has calls worth using.</summary>
    public LearnOutcome Outcome { get; internal init; }

    /// <summary>The program as resolved (an absolute path).</summary>
    public string ProgramPath { get; internal init; } = "";

    /// <summary>The program and its arguments as requested.</summary>
    public ImmutableArray<string> Command { get; internal init; } = [];

    /// <summary>How the program ended (default when it did not start).</summary>
    public ExitStatus Status { get; internal init; }

    /// <summary>From the start of the program to the end of recording.</summary>
    public TimeSpan Elapsed { get; internal init; }

    /// <summary>False when <see cref="LearnObserver.StopWaiting"/> ended recording while descendants still ran.</summary>
    public bool Complete { get; internal init; } = true;

    /// <summary>What was recorded (empty when nothing ran).</summary>
    public LearnedCalls Calls { get; internal init; } = new([], 0);

    /// <summary>Whether the listener ran with SYNC_WAKE_UP.</summary>
    public bool SyncWakeUp { get; internal init; }

    /// <summary>How many clone3 calls were answered ENOSYS.</summary>
    public long Clone3Refused { get; internal init; }

    /// <summary>Whether no_new_privs was set.</summary>
    public bool NoNewPrivileges { get; internal init; } = true;

    /// <summary>Set-id and file-capability programs the program executed.</summary>
    public IReadOnlyList<PrivilegedExec> PrivilegedExecs { get; internal init; } = [];

    /// <summary>
    /// Notified calls that ended before they were answered: their thread was killed, or a signal interrupted the call
    /// before the supervisor received it. The kernel makes such a call fail with EINTR when the program's handler lacks
    /// SA_RESTART, even a call that never fails so natively (fork, close); WAIT_KILLABLE_RECV protects a call only once it
    /// was received (docs/KERNEL-FINDINGS.md). When the program failed and this is not 0, that may be why.
    /// </summary>
    public long VanishedNotifications { get; internal init; }

    /// <summary>
    /// Runs <paramref name="program"/> under the learning filter of <paramref name="options"/> and records until it and
    /// every descendant under the filter have exited (or <see cref="LearnObserver.StopWaiting"/>).
    /// </summary>
    /// <exception cref="LaunchException">The program could not be started (not found, not executable, filter refused...).</exception>
    internal static LearningRun Record(string program, IReadOnlyList<string> arguments, LearnOptions options, LearnObserver observer)
    {
        ImmutableArray<string> command = [program, .. arguments];
        LearningSession session;
        string path;
        using (var pending = LearningSession.Prepare(program, arguments, options))
        {
            path = pending.Path;
            if (!observer.ShouldStart()) return new LearningRun { Outcome = LearnOutcome.NotStarted, ProgramPath = path, Command = command, NoNewPrivileges = options.NoNewPrivileges };
            session = pending.Start();
        }
        using (session)
        {
            observer.Started(session);
            var clock = Stopwatch.StartNew();
            var status = session.Process.WaitForExit();
            observer.ProgramExited(status);
            bool complete = session.WaitForDescendants(observer.DescendantsOutlive, observer.StopWaiting);
            clock.Stop();
            observer.Stopped();
            return new LearningRun
            {
                Outcome = session.ProgramExecuted ? LearnOutcome.Recorded : LearnOutcome.EndedBeforeExec,
                ProgramPath = path,
                Command = command,
                Status = status,
                Elapsed = clock.Elapsed,
                Complete = complete,
                Calls = session.ProgramExecuted ? session.Snapshot() : new([], 0),
                SyncWakeUp = session.SyncWakeUp,
                Clone3Refused = session.Clone3Refused,
                NoNewPrivileges = session.NoNewPrivileges,
                PrivilegedExecs = session.PrivilegedExecs,
                VanishedNotifications = session.Statistics.TargetsGone,
            };
        }
    }
}

/// <summary>A learning run and the profile learned from it.</summary>
public sealed class LearnResult : LearningRun
{
    internal LearnResult(LearningRun run, LearnedProfile? learned, OciTarget target) : base(run)
    {
        Learned = learned;
        Target = target;
    }

    /// <summary>The profile and its proof; null unless <see cref="LearningRun.Outcome"/> is <see cref="LearnOutcome.Recorded"/>.</summary>
    public LearnedProfile? Learned { get; }

    /// <summary>The learned profile (null when nothing was recorded). Check <see cref="Verified"/> before using it.</summary>
    public SeccompPolicy? Profile => Learned?.Profile;

    /// <summary>Every recorded call is allowed by <see cref="Profile"/> (replayed through it in the BPF interpreter).</summary>
    public bool Verified => Learned?.Verified ?? false;

    /// <summary>The runtime the profile is written for.</summary>
    public OciTarget Target { get; }

    /// <summary>The profile as OCI <c>linux.seccomp</c> for <see cref="Target"/>.</summary>
    /// <exception cref="InvalidOperationException">Nothing was recorded.</exception>
    /// <exception cref="OciExportException">The target cannot run the profile (the message lists every problem).</exception>
    public OciExport ExportOci() => OciExporter.Export(Profile ?? throw new InvalidOperationException("the program did not run: there is no profile"), Target);

    /// <summary>Everything the run found, with <paramref name="profile"/> (from <see cref="ExportOci"/>) inside, as data.</summary>
    /// <param name="profile">The exported profile.</param>
    /// <param name="programKilled">
    /// The caller killed the program before it ended on its own (e.g. on a second Ctrl-C): the report says the
    /// profile is partial. A run that stopped waiting for descendants (<see cref="LearningRun.Complete"/> false) is partial anyway.
    /// </param>
    public LearnReport Report(OciExport profile, bool programKilled = false)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var learned = Learned ?? throw new InvalidOperationException("the program did not run: there is nothing to report");
        using var doc = JsonDocument.Parse(profile.Json);
        return new LearnReport(Command, new LearnReportExit(Status.ExitCode, Status.Signal), programKilled || !Complete, Math.Round(Elapsed.TotalSeconds, 3), Calls.Total, SyncWakeUp,
            [.. Calls.Syscalls.Select(LearnReportSyscall.From)], new LearnReportReplay(learned.Replay.Replayed, learned.Replay.Refused.Length),
            learned.Synthesis.Notes, learned.Synthesis.Baseline, Clone3Refused, NoNewPrivileges,
            [.. PrivilegedExecs.Select(p => new LearnReportPrivilegedExec(p.Path, p.Pid, p.Privileges.SetUid, p.Privileges.SetGid, p.Privileges.FileCapabilities, p.Privileges.Uid, p.Privileges.Gid))],
            doc.RootElement.Clone()) { VanishedNotifications = VanishedNotifications };
    }
}

/// <summary>
/// Learns a program's seccomp profile in one call: runs it with every syscall notified and let run
/// (<see cref="LearningSession"/>), synthesizes the minimal profile (<see cref="ProfileSynthesizer"/>), adds it to the
/// base profile if any (<see cref="LearnedProfile.Combine"/>) and replays every recorded call through the result.
/// </summary>
/// <example>
/// <code>
/// // Main must start with StageTwo.RunIfRequested(args): the launcher re-executes the current program.
/// var result = Learner.Learn(new LearnRequest { Program = "/bin/ls", Arguments = ["-l", "/"] });
/// if (result.Verified) File.WriteAllText("ls.json", result.ExportOci().Json);
/// </code>
/// </example>
public static class Learner
{
    /// <summary>Runs and learns <see cref="LearnRequest.Program"/>; <paramref name="observer"/> sees the run's steps.</summary>
    /// <exception cref="LaunchException">The program could not be started (not found, not executable, filter refused...).</exception>
    /// <exception cref="OciExportException">Before the program ran (<see cref="LearnRequest.ExportsOci"/>): no profile
    /// learned on <see cref="LearnRequest.Base"/> can be written as OCI for <see cref="LearnRequest.Target"/>; the message
    /// lists every problem.</exception>
    public static LearnResult Learn(LearnRequest request, LearnObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = new LearnOptions
        {
            Base = request.Base,
            OpenFlags = request.OpenFlags,
            AllowClone3 = request.AllowClone3,
            NoNewPrivileges = request.NoNewPrivileges,
            Stage = request.Stage,
        };
        var target = request.Target ?? OciTarget.Default;
        var profileOptions = new LearnedProfileOptions
        {
            Base = request.Base,
            DefaultAction = request.DefaultAction,
            Arguments = request.ArgumentConditions,
            Runtime = request.Runtime,
            Baseline = request.Baseline,
            Clone3 = request.AllowClone3 ? Clone3Rule.Allow : Clone3Rule.Enosys,
            Target = target,
        };
        if (request.Base is not null && request.ExportsOci) CheckBase(profileOptions, target);
        var run = LearningRun.Record(request.Program, request.Arguments, options, observer ?? new LearnObserver());
        var learned = run.Outcome != LearnOutcome.Recorded ? null : LearnedProfile.Build(run.Calls, profileOptions);
        return new LearnResult(run, learned, target);
    }

    /// <summary>
    /// What the base alone decides about the OCI export, checked before the run rather than after it (issue 17: the whole
    /// program ran, then nothing could be written): the profile learned from a run that made no notified call is the base
    /// plus the baseline and the runtime's calls; what the run adds are ALLOW rules the exporter always writes. So if that
    /// profile cannot be written for <paramref name="target"/> (a bad-architecture action OCI has no field for, notify as
    /// the default on runc...), no run's profile can.
    /// </summary>
    private static void CheckBase(LearnedProfileOptions options, OciTarget target) =>
        OciExporter.Export(LearnedProfile.Build(new LearnedCalls([], 0), options).Profile, target);
}
