using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Learning;
using SeccompKit.Linux.Learn;
using SeccompKit.Linux.Supervise;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// <c>learn</c> for a container: records every notified call of the container's whole life (every process, every exec:
/// the filter is inherited) and answers Continue, since recording decides nothing (the TOCTOU rule is not at stake: the
/// only memory read is an execve path, for the report, with <see cref="NotificationContext.ReadForRecord"/>); clone3 is
/// answered ENOSYS as the learned profile will answer it. <see cref="Finish"/> writes <c>OUTPUT/ID.json</c>, the profile
/// for the container's runtime (argument conditions, the baseline, the runtime's own post-filter syscalls; no listener
/// fields; also a kubelet Localhost profile), only when every recorded call replays as allowed through it, the same profile as a
/// security-profiles-operator SeccompProfile in <c>OUTPUT/ID.spo.yaml</c>, and <c>OUTPUT/ID.report.json</c> always.
/// </summary>
/// <example>
/// <code>
/// var agent = SeccompAgent.Start(new AgentOptions { ..., Sessions = c => ContainerLearnSession.Start(c) });
/// // the container runs with the profile of AgentProfile.For(new ContainerMode.Learn(), target, socket)
/// </code>
/// </example>
public sealed class ContainerLearnSession : IContainerSession
{
    private readonly AgentContainer _container;
    private readonly ContainerLearnOptions _options;
    private readonly LearningRecorder _recorder;
    private int _finished;

    private ContainerLearnSession(AgentContainer container, ContainerLearnOptions options)
    {
        _container = container;
        _options = options;
        _recorder = new LearningRecorder(new SyscallRecorder(options.OpenFlags), baseProfile: null, allowClone3: false, launched: 0);
    }

    /// <summary>A session for <paramref name="container"/> (whose mode is <c>learn</c>).</summary>
    public static ContainerLearnSession Start(AgentContainer container, ContainerLearnOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        return new ContainerLearnSession(container, options ?? new ContainerLearnOptions());
    }

    /// <inheritdoc/>
    public INotificationHandler Handler => _recorder;

    /// <summary>Calls recorded so far (readable from any thread).</summary>
    public long Calls => Volatile.Read(ref _recorder.Calls);

    /// <summary>
    /// Builds the profile from what was recorded and writes <c>OUTPUT/ID.json</c> (when verified) and
    /// <c>OUTPUT/ID.report.json</c>. <see cref="ContainerEnd.AgentStopped"/> means the container still ran: the profile is
    /// written but marked partial in the report and the summary.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    /// <exception cref="IOException">A result file cannot be written.</exception>
    public ContainerOutcome Finish(ContainerEnd end)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0) throw new InvalidOperationException("the session was already finished");
        var finished = DateTimeOffset.UtcNow;
        var (target, targetNote) = ContainerResults.Target(_container, _options.Target);
        var notes = new List<string>();
        if (targetNote is not null) notes.Add(targetNote);
        var calls = _recorder.Inner.Snapshot();
        var runtime = RuntimeSyscalls.For(target);
        if (runtime.Mismatch(target) is { } mismatch) notes.Add(mismatch);
        bool complete = end == ContainerEnd.Exited;

        LearnedProfile? learned = null;
        OciExport? export = null;
        string? notWritten = null;
        if (calls.Total == 0)
            notWritten = "nothing was notified: the container's profile did not notify its calls (was it written by `seccompkit agent profile --metadata learn`?)";
        else
        {
            learned = LearnedProfile.Build(calls, new LearnedProfileOptions
            {
                DefaultAction = _options.DefaultAction,
                Arguments = _options.Arguments,
                Runtime = runtime,
                Baseline = _options.Baseline,
                Clone3 = Clone3Rule.Enosys,
                Target = target,
            });
            notes.AddRange(learned.Synthesis.Notes);
            if (!learned.Verified)
                notWritten = $"the learned profile refuses {learned.Replay.Refused.Length} of the {learned.Replay.Replayed} recorded calls when they are replayed through it (a bug in seccompkit; please report it with this report)";
            else
            {
                try
                {
                    export = OciExporter.Export(learned.Profile, target);
                    notes.AddRange(export.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).Select(d => $"for {target}: {d.Location}: {d.Message}"));
                }
                catch (OciExportException e) { notWritten = $"{target} cannot run the learned profile: {e.Message}"; }
            }
        }

        var files = ImmutableArray.CreateBuilder<string>();
        string? profileFile = null;
        if (export is not null)
        {
            profileFile = ContainerResults.PathFor(_container, ".json");
            ContainerResults.Write(profileFile, export.Json);
            files.Add(profileFile);
            // The same profile for Kubernetes: the OCI file above is already a kubelet Localhost profile (kubelet hands it
            // to the node's runtime as is); security-profiles-operator wants a SeccompProfile object.
            try
            {
                var spo = SpoProfile.Export(learned!.Profile, SpoProfile.NameFor(_container.Id), target);
                string spoFile = ContainerResults.PathFor(_container, ".spo.yaml");
                ContainerResults.Write(spoFile, spo.Yaml);
                files.Add(spoFile);
            }
            catch (PolicyException e) { notes.Add("no SeccompProfile (security-profiles-operator) written: " + e.Message); }
        }
        JsonElement? profileJson = null;
        if (export is not null) using (var doc = JsonDocument.Parse(export.Json)) profileJson = doc.RootElement.Clone();
        var report = new ContainerLearnReport(
            _container.Id, _container.Runtime, target.ToString(), end == ContainerEnd.Exited ? "exited" : "agentStopped", complete,
            _container.Received, finished, calls.Total, [.. calls.Syscalls.Select(LearnReportSyscall.From)], Volatile.Read(ref _recorder.Clone3Refused),
            learned?.Verified ?? false, learned is null ? null : new LearnReportReplay(learned.Replay.Replayed, learned.Replay.Refused.Length),
            learned?.RuntimeAdded ?? [], learned?.Synthesis.Baseline ?? [], [.. notes],
            [.. PrivilegedExecs().Select(p => new LearnReportPrivilegedExec(p.Path, p.Pid, p.Privileges.SetUid, p.Privileges.SetGid, p.Privileges.FileCapabilities, p.Privileges.Uid, p.Privileges.Gid))],
            profileFile, notWritten, profileJson);
        string reportFile = ContainerResults.PathFor(_container, ".report.json");
        ContainerResults.Write(reportFile, report, AgentResultsJson.Files.ContainerLearnReport);
        files.Add(reportFile);

        string partial = complete ? "" : " (partial: the agent stopped while the container ran)";
        string summary = export is not null
            ? $"learned {calls.Syscalls.Length} syscalls from {calls.Total} calls{partial}: {profileFile}"
            : $"no profile written{partial}: {notWritten}; see {reportFile}";
        return new ContainerOutcome(summary, files.ToImmutable());
    }

    private List<PrivilegedExec> PrivilegedExecs()
    {
        lock (_recorder.Execs) return [.. _recorder.Execs];
    }

    /// <summary>Nothing to release: the agent owns the listener.</summary>
    public void Dispose() { }
}
