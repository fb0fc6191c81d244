using System.Globalization;
using SeccompKit.Linux.Audit;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// Watches one launched program for what only the kernel can tell: the seccomp audit records (which syscall a kill
/// was for; <see cref="SeccompAuditLog"/>) and, as root, every fork below it and which descendants died of SIGSYS
/// (<see cref="ProcessTree"/>). Open it before the launch (records arrive from the moment it is open) and give it to
/// the launcher (<see cref="LaunchRequest.Observer"/>), which tells it the program's pid before the program can run.
/// </summary>
public sealed class KillObserver : ILaunchObserver, IDisposable
{
    private readonly SeccompAuditLog? _audit;
    private readonly ProcessTree? _tree;
    private int _pid;

    private KillObserver(SeccompAuditLog? audit, string? whyNoAudit, ProcessTree? tree)
    {
        _audit = audit;
        _tree = tree;
        AuditUnavailableReason = whyNoAudit;
    }

    /// <summary>
    /// Starts collecting: the audit netlink multicast group or else /dev/kmsg, and the process-events connector when
    /// the audit log is readable (both need root). Never fails: what cannot be opened is said by
    /// <see cref="AuditUnavailableReason"/> (and descendants are then followed through /proc instead).
    /// </summary>
    public static KillObserver Open()
    {
        var audit = SeccompAuditLog.TryOpen(out string whyNoAudit);
        var tree = audit is not null ? ProcessTree.TryOpen(out _) : null;
        return new KillObserver(audit, audit is null ? whyNoAudit : null, tree);
    }

    /// <summary>Why no audit records are collected (not root, no audit), or null when they are.</summary>
    public string? AuditUnavailableReason { get; }

    /// <summary>Where audit records come from, when they are collected.</summary>
    public AuditSource? AuditSource => _audit?.Source;

    /// <summary>The watched process, once the launcher has started it (0 before).</summary>
    public int Pid => Volatile.Read(ref _pid);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">A second process: one observer watches one launch.</exception>
    public void Started(int pid)
    {
        if (Interlocked.CompareExchange(ref _pid, pid, 0) != 0)
            throw new InvalidOperationException("this KillObserver already watches a launch; open one per launch");
        _tree?.SetRoot(pid);
        // With the process-events connector, descendants are known exactly and records are matched at the end;
        // without it, a record is kept if its process is still visible below the program when the record arrives.
        if (_audit is not null) _audit.Keep = _tree is not null ? null : r => r.Pid == pid || IsDescendant(r.Pid, pid);
    }

    /// <summary>
    /// After a kill by SIGSYS of process <paramref name="pid"/> (the program or a descendant): the kernel's audit record
    /// that names the syscall, or null when it did not come within <paramref name="timeout"/> (no audit access, TRAP
    /// without FLAG_LOG, or a SIGSYS sent by someone else). Records reach user space a little after the event.
    /// </summary>
    public SeccompAuditRecord? FindKillRecord(int pid, TimeSpan timeout) =>
        _audit?.WaitFor(r => r.Pid == pid && (r.IsKill || r.Signal == ExitStatus.SIGSYS), timeout);

    /// <summary>
    /// The descendants (thread group ids) with a thread that ended by SIGSYS, from the process-events connector
    /// (complete up to the program's exit), or null when descendants cannot be followed (not root).
    /// </summary>
    public IReadOnlyList<int>? DescendantsKilledBySigsys()
    {
        if (_tree is null) return null;
        _tree.Sync();
        return _tree.SigsysExits().Select(e => e.Tgid).Where(p => p != Pid).Distinct().ToList();
    }

    /// <summary>
    /// Every seccomp audit record of the program and its descendants. Descendants are followed exactly with the
    /// process-events connector (root); without it, only those still visible when their record arrived count.
    /// </summary>
    /// <param name="settle">Records trail the events by a little: wait until none has come for 100 ms (at most 1 s)
    /// before answering. Without it, the answer is what has arrived so far.</param>
    public IReadOnlyList<SeccompAuditRecord> AuditRecords(bool settle = true)
    {
        if (_audit is null) return [];
        if (settle) _audit.Settle(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        var all = _audit.Drain();
        int pid = Pid;
        return _tree is null ? all : all.Where(r => r.Pid == pid || _tree.Contains(r.Pid)).ToList();
    }

    /// <summary>Stops collecting and closes the sockets.</summary>
    public void Dispose()
    {
        _audit?.Dispose();
        _tree?.Dispose();
    }

    /// <summary>Walks the parent chain of <paramref name="pid"/> in <c>/proc</c> (zombies still show theirs).</summary>
    private static bool IsDescendant(int pid, int ancestor)
    {
        for (int depth = 0; depth < 64 && pid > 1; depth++)
        {
            string stat;
            try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
            int close = stat.LastIndexOf(')');
            var rest = stat[(close + 2)..].Split(' ');
            if (rest.Length < 2 || !int.TryParse(rest[1], CultureInfo.InvariantCulture, out int ppid)) return false;
            if (ppid == ancestor) return true;
            pid = ppid;
        }
        return false;
    }
}
