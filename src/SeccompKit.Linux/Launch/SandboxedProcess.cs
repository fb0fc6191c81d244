using System.Globalization;
using SeccompKit.Linux.Audit;
using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Proc;
using static SeccompKit.Linux.Interop.Ptrace;

namespace SeccompKit.Linux.Launch;

/// <summary>How a process ended.</summary>
/// <param name="ExitCode">Its exit status, when it exited.</param>
/// <param name="Signal">The signal that killed it, when it was killed.</param>
/// <param name="CoreDumped">Whether a core was dumped.</param>
public readonly record struct ExitStatus(int? ExitCode, int? Signal, bool CoreDumped)
{
    /// <summary>SIGSYS, the signal of a seccomp kill (and of an unhandled TRAP).</summary>
    public const int SIGSYS = 31;

    /// <summary>What a shell would report: the exit code, or 128 + the signal.</summary>
    public int ShellCode => ExitCode ?? 128 + (Signal ?? 0);

    /// <summary>Killed by SIGSYS?</summary>
    public bool KilledBySigsys => Signal == SIGSYS;

    /// <summary>"exit status 3" or "killed by signal 31 (SIGSYS)".</summary>
    public string Describe() => ExitCode is { } c
        ? string.Create(CultureInfo.InvariantCulture, $"exit status {c}")
        : string.Create(CultureInfo.InvariantCulture, $"killed by signal {Signal} ({SignalName(Signal ?? 0)}){(CoreDumped ? ", core dumped" : "")}");

    /// <summary>The conventional name of a Linux x86_64 signal number.</summary>
    public static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 5 => "SIGTRAP", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE",
        9 => "SIGKILL", 10 => "SIGUSR1", 11 => "SIGSEGV", 12 => "SIGUSR2", 13 => "SIGPIPE", 14 => "SIGALRM", 15 => "SIGTERM",
        24 => "SIGXCPU", 25 => "SIGXFSZ", 31 => "SIGSYS",
        _ => "signal " + signal.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>A program started by <see cref="SandboxLauncher"/>, running under its filter.</summary>
public sealed class SandboxedProcess : IDisposable
{
    private readonly SeccompAuditLog? _audit;
    private readonly object _gate = new();
    private ExitStatus? _status;

    private readonly ProcessTree? _tree;

    internal SandboxedProcess(int pid, string path, SeccompAuditLog? audit, string whyNoAudit, ProcessTree? tree)
    {
        Pid = pid;
        Path = path;
        _audit = audit;
        _tree = tree;
        AuditUnavailableReason = audit is null ? whyNoAudit : null;
        tree?.SetRoot(pid);
        // With the process-events connector, descendants are known exactly and records are matched at the end;
        // without it, a record is kept if its process is still visible below the program when the record arrives.
        if (audit is not null) audit.Keep = tree is not null ? null : r => r.Pid == pid || IsDescendant(r.Pid, pid);
    }

    /// <summary>The process id (the same process runs stage two, then the program).</summary>
    public int Pid { get; }

    /// <summary>The resolved path of the program.</summary>
    public string Path { get; }

    /// <summary>Why no audit records are collected (not root, no audit), or null when they are.</summary>
    public string? AuditUnavailableReason { get; }

    /// <summary>Where audit records come from, when they are collected.</summary>
    public AuditSource? AuditSource => _audit?.Source;

    /// <summary>Sends <paramref name="signal"/> to the program, unless it has already been reaped.</summary>
    public void Signal(int signal)
    {
        lock (_gate)
        {
            if (_status is null) kill(Pid, signal);
        }
    }

    /// <summary>Kills the program (SIGKILL).</summary>
    public void Kill() => Signal(SIGKILL);

    /// <summary>Waits for the program to end (EINTR is retried) and reaps it.</summary>
    public unsafe ExitStatus WaitForExit()
    {
        if (_status is { } done) return done;
        // Wait without reaping (WNOWAIT), then reap and record the status under the lock Signal takes. Reaped outside it,
        // the pid was free for the kernel to reuse while _status still said "running", and a concurrent Signal (a SIGTERM
        // relayed by the CLI) could kill(2) whatever process got it next.
        siginfo_t info;
        while (true)
        {
            // SAFETY: `info` is a local siginfo_t (128 bytes, as the kernel writes it).
            if (waitid(P_PID, Pid, &info, WEXITED | WNOWAIT) == 0) break;
            var e = Errors.Last();
            if (e == Errno.EINTR) continue;
            throw new ErrnoException($"waitid({Pid})", e, e == Errno.ECHILD ? "someone else reaped the program (is SIGCHLD ignored?)" : "");
        }
        lock (_gate)
        {
            if (_status is { } reaped) return reaped;
            int status;
            int r;
            do
            {
                // SAFETY: `status` is a local int the kernel fills. The program has exited (above): this returns at once.
                r = waitpid(Pid, &status, 0);
            }
            while (r < 0 && Errors.Last() == Errno.EINTR);
            if (r != Pid)
            {
                var e = Errors.Last();
                throw new ErrnoException($"waitpid({Pid})", e, e == Errno.ECHILD ? "someone else reaped the program (is SIGCHLD ignored?)" : "");
            }
            var result = WIFEXITED(status) ? new ExitStatus(WEXITSTATUS(status), null, false) : new ExitStatus(null, WTERMSIG(status), WCOREDUMP(status));
            _status = result;
            return result;
        }
    }

    /// <summary>
    /// After a kill by SIGSYS: the kernel's audit record that names the syscall, or null when the record did
    /// not come within <paramref name="timeout"/> (no audit access, TRAP without FLAG_LOG, or a kill signal sent
    /// by someone else). Records reach user space a little after the event.
    /// </summary>
    public SeccompAuditRecord? FindKillRecord(TimeSpan timeout) =>
        _audit?.WaitFor(r => r.Pid == Pid && (r.IsKill || r.Signal == ExitStatus.SIGSYS), timeout);

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

    /// <summary>Waits up to <paramref name="timeout"/> for the kill record of process <paramref name="pid"/>.</summary>
    public SeccompAuditRecord? FindKillRecord(int pid, TimeSpan timeout) =>
        _audit?.WaitFor(r => r.Pid == pid && (r.IsKill || r.Signal == ExitStatus.SIGSYS), timeout);

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
        return _tree is null ? all : all.Where(r => r.Pid == Pid || _tree.Contains(r.Pid)).ToList();
    }

    /// <inheritdoc/>
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
