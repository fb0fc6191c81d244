using System.Collections.Immutable;
using SeccompKit.Learning;
using SeccompKit.Linux.Learn;
using SeccompKit.Linux.Supervise;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// <c>complain:PROFILE</c> for a container: its filter notifies what PROFILE would refuse (<c>seccompkit agent profile
/// --metadata complain:PROFILE</c>); each such call is recorded and answered Continue, so the container runs as if the
/// profile allowed everything. A call PROFILE lets run (execve, which the filter may notify) is let run unrecorded; clone3
/// is answered ENOSYS, as learned profiles and the patch answer it. <see cref="Finish"/> writes
/// <c>OUTPUT/ID.complain.json</c>: each would-be refusal (syscall, PROFILE's action, count, first pid, the arguments that
/// matter) and the patch that lets the container run.
/// </summary>
public sealed class ContainerComplainSession : IContainerSession
{
    private readonly AgentContainer _container;
    private readonly SeccompPolicy _profile;
    private readonly string _profileName;
    private readonly OciTarget? _target;
    private readonly LearningRecorder _recorder;
    private int _finished;

    private ContainerComplainSession(AgentContainer container, SeccompPolicy profile, string profileName, OciTarget? target)
    {
        _container = container;
        _profile = profile;
        _profileName = profileName;
        _target = target;
        // The base decides what is recorded: only calls the profile refuses are (the filter should notify nothing else).
        _recorder = new LearningRecorder(new SyscallRecorder(), profile, allowClone3: false, launched: 0);
    }

    /// <summary>
    /// A session for <paramref name="container"/>, complaining about <paramref name="profile"/> (the profile named by its
    /// <c>complain:PROFILE</c> mode). The patch is written for <paramref name="target"/> (default: the installed version of
    /// the runtime that sent the listener).
    /// </summary>
    public static ContainerComplainSession Start(AgentContainer container, SeccompPolicy profile, OciTarget? target = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(profile);
        string name = container.Mode is SeccompKit.Agent.ContainerMode.Complain c ? c.Profile : "profile";
        return new ContainerComplainSession(container, profile, name, target);
    }

    /// <inheritdoc/>
    public INotificationHandler Handler => _recorder;

    /// <summary>Refused calls recorded so far (readable from any thread).</summary>
    public long Refused => Volatile.Read(ref _recorder.Calls);

    /// <summary>Writes <c>OUTPUT/ID.complain.json</c> (also when nothing was refused: it then says so).</summary>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    /// <exception cref="IOException">The result file cannot be written.</exception>
    public ContainerOutcome Finish(ContainerEnd end)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0) throw new InvalidOperationException("the session was already finished");
        var finished = DateTimeOffset.UtcNow;
        var (target, targetNote) = ContainerResults.Target(_container, _target);
        var refused = _recorder.Inner.Snapshot();
        long clone3 = Volatile.Read(ref _recorder.Clone3Refused);
        var report = ComplainReport.For(refused, _profile, clone3, target);
        var notes = new List<string>();
        if (targetNote is not null) notes.Add(targetNote);
        notes.AddRange(report.Patch.Notes);
        bool complete = end == ContainerEnd.Exited;
        var data = new ContainerComplainReport(
            _container.Id, _profileName, _container.Runtime, target.ToString(), complete ? "exited" : "agentStopped", complete,
            _container.Received, finished, report.Total,
            [.. report.Complaints.Select(c => new ContainerComplaint(c.Syscall.Display, [.. c.Actions.Select(a => a.ToString())], LearnReportSyscall.From(c.Syscall)))],
            clone3, report.PatchEntries, report.PatchProblem, [.. report.Patch.Baseline.Select(b => b.Syscall)], [.. notes]);
        string file = ContainerResults.PathFor(_container, ".complain.json");
        ContainerResults.Write(file, data, AgentResultsJson.Files.ContainerComplainReport);
        string partial = complete ? "" : " (partial: the agent stopped while the container ran)";
        string summary = report.RefusedNothing
            ? $"complain:{_profileName}: the profile refused nothing{partial}: {file}"
            : $"complain:{_profileName}: the profile would have refused {report.Complaints.Length} syscalls ({report.Total} calls: {string.Join(", ", report.Complaints.Take(5).Select(c => c.Syscall.Display))}{(report.Complaints.Length > 5 ? ", ..." : "")}){partial}: {file}";
        return new ContainerOutcome(summary, [file]);
    }

    /// <summary>Nothing to release: the agent owns the listener.</summary>
    public void Dispose() { }
}
