using SeccompKit.Bpf;
using SeccompKit.Linux.Audit;
using SeccompKit.Policy;

namespace SeccompKit.Linux.Launch;

/// <summary>A program running under a policy (<see cref="PendingPolicyRun.Start"/>). <see cref="Wait"/> waits for it and explains how it ended.</summary>
public sealed class PolicyRun : IDisposable
{
    private readonly SeccompPolicy _policy;
    private readonly KillObserver _observer;
    private readonly bool _ownsObserver;
    private readonly RunOptions _options;

    internal PolicyRun(SandboxedProcess process, SeccompPolicy policy, KillObserver observer, bool ownsObserver, RunOptions options)
    {
        Process = process;
        _policy = policy;
        _observer = observer;
        _ownsObserver = ownsObserver;
        _options = options;
    }

    /// <summary>The program (to relay signals to it, or wait for it before <see cref="Wait"/> explains).</summary>
    public SandboxedProcess Process { get; }

    /// <summary>
    /// Waits for the program to end (unless <see cref="SandboxedProcess.WaitForExit"/> already saw it), then explains each
    /// seccomp kill: the program's own (waiting up to <see cref="RunOptions.AuditWait"/> for its audit record) and its
    /// descendants' (known exactly from the process-events connector as root; else those whose kill records arrived).
    /// </summary>
    public RunResult Wait()
    {
        var status = Process.WaitForExit();
        var kills = new List<SeccompKill>();
        if (status.KilledBySigsys) kills.Add(Kill(Process.Pid, isProgram: true, _observer.FindKillRecord(Process.Pid, _options.AuditWait)));
        // Children killed by SIGSYS are known exactly from the process-events connector; wait for their records only
        // then (records trail the kill by a few ms). Without the connector, wait only when the program failed.
        var killedChildren = _observer.DescendantsKilledBySigsys();
        var deadline = DateTime.UtcNow + _options.AuditWait;
        foreach (var pid in killedChildren ?? [])
        {
            var left = deadline - DateTime.UtcNow;
            kills.Add(Kill(pid, isProgram: false, _observer.FindKillRecord(pid, left > TimeSpan.Zero ? left : TimeSpan.Zero)));
        }
        var records = _observer.AuditRecords(settle: _options.Log || (killedChildren is null && status.ShellCode != 0));
        if (killedChildren is null)
            foreach (var r in records.Where(r => r.IsKill && r.Pid != Process.Pid))
                kills.Add(Kill(r.Pid, isProgram: false, r));
        var logged = _options.Log ? records.Where(r => !r.IsKill).ToList() : [];
        return new RunResult(Process.Path, Process.Pid, status, kills, logged, _observer.AuditUnavailableReason);
    }

    private SeccompKill Kill(int pid, bool isProgram, SeccompAuditRecord? record) =>
        new(pid, isProgram, record, record is null ? null : PolicyEvaluator.Evaluate(_policy, new SeccompData(record.Syscall, record.AuditArch)));

    /// <summary>Closes the observer the run opened (does not stop the program).</summary>
    public void Dispose()
    {
        if (_ownsObserver) _observer.Dispose();
    }
}
