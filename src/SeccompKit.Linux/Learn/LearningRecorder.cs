using SeccompKit.Learning;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Supervise;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Learn;

/// <summary>
/// The handler of a learning run (a program under <see cref="LearningSession"/>, or a container under the agent): records
/// every notified call (<see cref="SyscallRecorder"/>) and answers Continue, since recording decides nothing; answers
/// clone3 ENOSYS as learned profiles do (unless allowed); notes set-id and file-capability programs executed. Live counters
/// are readable from any thread.
/// </summary>
internal sealed class LearningRecorder : INotificationHandler
{
    public readonly SyscallRecorder Inner;
    public long Calls;
    public int DistinctCount;
    public long Clone3Refused;
    public int ExecutedByLaunched;
    public readonly List<PrivilegedExec> Execs = [];
    private readonly SeccompPolicy? _base;
    private readonly bool _allowClone3;
    private readonly int _launched;
    // The numbers Handle looks for, per host ABI (-1: the ABI has no such call). A few compares instead of two hash
    // lookups on every notification: learn's own cost per call is in bench/results/notify.md.
    private readonly (uint Arch, int Clone3, int Execve, int Execveat)[] _watched;
    private readonly HashSet<string> _execPathsSeen = new(StringComparer.Ordinal);

    /// <param name="inner">Where calls are recorded.</param>
    /// <param name="baseProfile">Calls it lets run are not learned (execve is notified anyway, to watch it).</param>
    /// <param name="allowClone3">Let clone3 run instead of answering ENOSYS.</param>
    /// <param name="launched">The launched stage two, whose execve means the program started; 0 for none (a container).</param>
    public LearningRecorder(SyscallRecorder inner, SeccompPolicy? baseProfile, bool allowClone3, int launched)
    {
        Inner = inner;
        _base = baseProfile;
        _allowClone3 = allowClone3;
        _launched = launched;
        _watched = [.. LearningFilter.HostAbis.Select(abi => (abi.AuditArch, Number(abi, "clone3"), Number(abi, "execve"), Number(abi, "execveat")))];
    }

    public NotificationResponse Handle(in SeccompNotification n, NotificationContext context)
    {
        int clone3 = -1, execve = -1, execveat = -1;
        foreach (var w in _watched)
            if (w.Arch == n.Arch) { (clone3, execve, execveat) = (w.Clone3, w.Execve, w.Execveat); break; }
        if (!_allowClone3 && n.Nr == clone3)
        {
            // As the learned profile will (Clone3Rule.Enosys): glibc then retries with clone, which is what gets learned.
            Interlocked.Increment(ref Clone3Refused);
            return NotificationResponse.Fail(Errno.ENOSYS);
        }
        if (n.Nr == execve || n.Nr == execveat)
        {
            bool at = n.Nr == execveat;
            // Stage two's execve of the program (it made no other notified call before: it spins until the hand-over).
            if (_launched != 0 && n.Pid == _launched) Volatile.Write(ref ExecutedByLaunched, 1);
            WatchExec(n, context, at);
            // execve is notified even where the base profile allows it (to see what is executed); only what the base
            // refuses is learned.
            if (_base is { } b && PolicyEvaluator.Evaluate(b, n.ToSeccompData()).Action.LetsCallRun)
                return NotificationResponse.Continue;
        }
        var args = n.Arguments;
        if (Inner.Record(n.Arch, n.Nr, n.Pid, n.InstructionPointer, args)) Volatile.Write(ref DistinctCount, Inner.Distinct);
        Volatile.Write(ref Calls, Inner.Total);
        // Learning only records: the call runs as the program made it, and nothing read decides anything.
        return NotificationResponse.Continue;
    }

    private static int Number(Architecture abi, string name) => abi.Syscalls.TryGetNumber(name, out int nr) ? nr : -1;

    /// <summary>
    /// Notes a set-id or file-capability executable. The path is read for the record only (it decides nothing: the call
    /// runs either way), resolved through the caller's own root and working directory in /proc, and kept only if the
    /// notification is still pending afterwards, so a pid that died meanwhile is never attributed.
    /// </summary>
    private void WatchExec(in SeccompNotification n, NotificationContext context, bool execveat)
    {
        try
        {
            Span<byte> buffer = stackalloc byte[4096];
            int read = context.ReadForRecord(execveat ? n.Arg(1) : n.Arg(0), buffer);
            int nul = buffer[..read].IndexOf((byte)0);
            if (nul < 0) return;
            string path = System.Text.Encoding.UTF8.GetString(buffer[..nul]);
            string where;
            if (path.StartsWith('/')) where = $"/proc/{n.Pid}/root{path}";
            else if (!execveat || (int)n.Arg(0) == -100) where = $"/proc/{n.Pid}/cwd/{path}";
            else if (path.Length == 0) where = $"/proc/{n.Pid}/fd/{(int)n.Arg(0)}"; // AT_EMPTY_PATH: fexecve
            else where = $"/proc/{n.Pid}/fd/{(int)n.Arg(0)}/{path}";
            if (ExecPrivileges.Of(where) is not { } privileges || !context.IsValid()) return;
            lock (Execs)
                if (_execPathsSeen.Add(path)) Execs.Add(new PrivilegedExec(path, n.Pid, privileges));
        }
        catch (SeccompException)
        {
            // The caller died or was interrupted (TargetGoneException), or the file vanished: nothing to warn about.
        }
    }
}
