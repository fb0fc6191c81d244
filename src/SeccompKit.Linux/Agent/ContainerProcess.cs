using System.Globalization;
using SeccompKit.Linux.Inspect;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.Notify;
using Sock = SeccompKit.Linux.Interop.Socket;

namespace SeccompKit.Linux.Agent;

/// <summary>What the agent learned about the connecting runtime at accept, while it was pinned by a pidfd (so the values
/// describe that process, not a reuser of its pid).</summary>
/// <param name="Credentials">SO_PEERCRED.</param>
/// <param name="Runtime">"runc" or "crun" (its command name), or null.</param>
/// <param name="StartTime">/proc/PID/stat starttime (clock ticks since boot), or 0 when it exited before being read.</param>
/// <param name="Ancestors">Its parent chain, nearest first, up to 1.</param>
internal sealed record PinnedPeer(PeerCredentials Credentials, string? Runtime, ulong StartTime, IReadOnlyList<int> Ancestors);

/// <summary>
/// A container init pinned by a pidfd (pidfd_open(2)) at receipt, and checked: it exists, is a process (not a thread),
/// runs under a seccomp filter (<c>Seccomp: 2</c>), and is related to the runtime that connected in one of the ways the
/// runtimes were measured to relate (AgentServerContainerSpecs, AgentPodmanContainerSpecs):
/// <list type="bullet">
/// <item>it descends from the connecting runtime (SO_PEERCRED pid): runc run and create (runc's init stays its child until
/// the listener is sent), crun run;</item>
/// <item>it sent the listener itself (SCM_CREDENTIALS pid);</item>
/// <item>it is an orphan of the runtime: crun create forks an intermediate process that exits, so the init is adopted
/// by the nearest subreaper above the runtime (podman's conmon) or by 1 before crun's helper (a child of the init,
/// which has often exited and been reaped by then) sends the listener. The init's parent is then an ancestor of the
/// runtime, and the init started no earlier than the runtime.</item>
/// </list>
/// The pidfd is opened first and checked again last: if the process had died in between, its pid could have been
/// reused and the /proc reads would have described another process; a pidfd that is still not readable (no exit)
/// proves they did not. The check ties the payload's pid to the runtime, not to the listener (the kernel offers no
/// way to ask which process installed a filter): sessions act on the pids of notifications (with ID_VALID), never on
/// <see cref="AgentContainer.InitPid"/> alone.
/// </summary>
internal static class ContainerProcess
{
    /// <summary>How many parents are walked (a container init is a few levels below its runtime at most).</summary>
    private const int MaxDepth = 32;

    /// <summary>Reads what is needed of the connecting runtime now, while it certainly lives (it is sending).</summary>
    public static PinnedPeer PinPeer(PeerCredentials peer)
    {
        long fd = Sock.pidfd_open(Sock.SYS_pidfd_open, peer.Pid, 0);
        if (fd < 0) return new PinnedPeer(peer, null, 0, []);
        using var pidfd = new SafeFileDescriptorHandle((int)fd);
        string? runtime = RuntimeOf(peer.Pid);
        ulong start = StartTimeOf(peer.Pid);
        var ancestors = Ancestors(peer.Pid);
        return HasExited(pidfd) ? new PinnedPeer(peer, null, 0, []) : new PinnedPeer(peer, runtime, start, ancestors);
    }

    /// <summary>Pins and checks <paramref name="pid"/>; returns its pidfd (owned by the caller) and how it relates to the runtime (for the log).</summary>
    /// <exception cref="ConnectionRefusedException">It is gone, not under a filter, or not related to the runtime.</exception>
    public static (SafeFileDescriptorHandle Pidfd, string Relation) Pin(int pid, PinnedPeer peer, PeerCredentials? sender)
    {
        long fd = Sock.pidfd_open(Sock.SYS_pidfd_open, pid, 0);
        if (fd < 0)
        {
            var e = Errors.Last();
            throw new ConnectionRefusedException(RefusalReason.Pid, e == Errno.ESRCH
                ? $"process {pid} named by $.pid does not exist"
                : $"process {pid} cannot be pinned: {new ErrnoException("pidfd_open", e, "").Message}");
        }
        var pidfd = new SafeFileDescriptorHandle((int)fd);
        try
        {
            var status = ProcStatus.Read(pid) ?? throw new ConnectionRefusedException(RefusalReason.Pid, $"process {pid} exited before it could be checked");
            if (status.Seccomp != 2)
                throw new ConnectionRefusedException(RefusalReason.Pid, $"process {pid} runs {(status.Seccomp == 0 ? "without seccomp" : "in seccomp strict mode")} (Seccomp: {status.Seccomp}); a container's listener comes from a process under a filter");
            if (status.Tgid != pid)
                throw new ConnectionRefusedException(RefusalReason.Pid, $"{pid} is a thread of process {status.Tgid}, not a container init");
            var ancestors = Ancestors(pid);
            int peerPid = peer.Credentials.Pid;
            string? relation =
                ancestors.Contains(peerPid) ? "a descendant of the runtime"
                : sender?.Pid == pid ? "the sender of the listener"
                : ancestors.Count > 0 && peer.StartTime > 0 && (ancestors[0] == 1 || peer.Ancestors.Contains(ancestors[0])) && StartTimeOf(pid) >= peer.StartTime
                    ? $"an orphan of the runtime adopted by {ancestors[0]}"
                : null;
            if (relation is null)
                throw new ConnectionRefusedException(RefusalReason.Pid,
                    $"process {pid} is not the runtime's container: it neither descends from the runtime that connected (pid {peerPid}), nor sent the listener " +
                    $"(the sender was pid {(sender is { } s ? s.Pid.ToString(CultureInfo.InvariantCulture) : "unknown")}), nor is an orphan adopted by one of the runtime's ancestors " +
                    $"({(peer.Ancestors.Count == 0 ? "unknown: the runtime exited before it could be read" : string.Join(", ", peer.Ancestors))}); its ancestors are {(ancestors.Count == 0 ? "unknown" : string.Join(", ", ancestors))}");
            if (HasExited(pidfd))
                throw new ConnectionRefusedException(RefusalReason.Pid, $"process {pid} exited while it was being checked");
            return (pidfd, relation);
        }
        catch
        {
            pidfd.Dispose();
            throw;
        }
    }

    /// <summary>The parent chain of <paramref name="pid"/>, nearest first, ending at 1 (or where a parent could not be read).</summary>
    private static List<int> Ancestors(int pid)
    {
        var chain = new List<int>();
        int current = pid;
        for (int i = 0; i < MaxDepth && current > 1; i++)
        {
            int parent = ParentOf(current);
            if (parent <= 0) break;
            chain.Add(parent);
            current = parent;
        }
        return chain;
    }

    /// <summary>The fields of /proc/PID/stat after the command name (from field 3, "state"), or null when it is gone.</summary>
    private static string[]? StatFields(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        // After the last ')': the command name may hold spaces and parentheses (proc(5)).
        int close = text.LastIndexOf(')');
        return close < 0 ? null : text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The parent pid (/proc/PID/stat field 4), or -1.</summary>
    internal static int ParentOf(int pid) =>
        StatFields(pid) is { Length: > 1 } f && int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int ppid) ? ppid : -1;

    /// <summary>The start time (/proc/PID/stat field 22, clock ticks after boot), or 0.</summary>
    private static ulong StartTimeOf(int pid) =>
        StatFields(pid) is { Length: > 19 } f && ulong.TryParse(f[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong t) ? t : 0;

    /// <summary>A pidfd polls readable once its process has exited (pidfd_open(2)).</summary>
    internal static unsafe bool HasExited(SafeFileDescriptorHandle pidfd)
    {
        var p = new Interop.Netlink.pollfd { fd = pidfd.Fd, events = POLLIN };
        // SAFETY: one pollfd local, alive for the call.
        var (n, e) = Errors.RetryEintr((nint)(&p), static a => poll((Interop.Netlink.pollfd*)a, 1, 0));
        if (n < 0) throw new ErrnoException("poll(pidfd)", e, "");
        return n > 0;
    }

    /// <summary>
    /// "runc" or "crun" when that is the peer's command name (/proc/PID/comm), else null. Not /proc/PID/exe: crun 1.8.1
    /// runs from a sealed copy of itself (cloned_binary.c), whose exe link does not name crun (measured: it reads "/"
    /// under the hybrid-cgroup wrapper). The name is informational (the log, a session's choice of runtime syscall set);
    /// nothing is trusted because of it.
    /// </summary>
    private static string? RuntimeOf(int pid)
    {
        try
        {
            string name = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm").TrimEnd('\n');
            return name is "runc" or "crun" ? name : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
