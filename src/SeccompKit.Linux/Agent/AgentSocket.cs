using System.Globalization;
using System.Text;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.Socket;
using Notify = SeccompKit.Linux.Interop.Notify;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// The agent's listening socket: AF_UNIX SOCK_STREAM, created 0600 (or 0660 for a configured group) with no window in
/// which it is wider, removed on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// The mode: unix_bind() creates the socket file with the socket inode's mode masked by the umask
/// (net/unix/af_unix.c: <c>S_IFSOCK | (SOCK_INODE(sock)->i_mode &amp; ~current_umask())</c>), and fchmod(2) on the
/// socket before bind sets that inode's mode. So fchmod(0600) then bind creates the file 0600 at once, without
/// touching the process-wide umask (which would race with every other thread creating files). The mode is checked
/// after bind (fail closed). For a group, the file is then chowned to it and only then widened to 0660: each step
/// only grants what is intended. docs/KERNEL-FINDINGS.md has the experiment (AgentSocketSpecs).
/// </remarks>
internal sealed unsafe class AgentSocket : IDisposable
{
    private readonly SafeFileDescriptorHandle _fd;
    private bool _unlinked;

    private AgentSocket(string path, SafeFileDescriptorHandle fd)
    {
        Path = path;
        _fd = fd;
    }

    /// <summary>The socket file.</summary>
    public string Path { get; }

    /// <summary>The listening descriptor.</summary>
    public SafeFileDescriptorHandle Handle => _fd;

    /// <summary>Binds and listens on <paramref name="path"/>; a stale socket file (nobody accepts on it) is replaced.</summary>
    /// <exception cref="AgentStartException">The path is in use, not a socket, too long, or the group is unknown.</exception>
    public static AgentSocket Listen(string path, uint? groupId)
    {
        path = System.IO.Path.GetFullPath(path);
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= SunPathSize)
            throw new AgentStartException(AgentStartProblem.SocketPath, $"--socket {path}: the path has {bytes.Length} bytes; a unix socket path has at most {SunPathSize - 1} (unix(7)). Use a shorter path, e.g. /run/seccompkit/agent.sock");
        RemoveIfStale(path, bytes);
        // Non-blocking: the accept loop polls, and a connection that vanishes between poll and accept4 must not block it.
        int fd = socket(Notify.AF_UNIX, Notify.SOCK_STREAM | Notify.SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) throw new ErrnoException("socket(AF_UNIX)", Errors.Last(), "");
        var handle = new SafeFileDescriptorHandle(fd);
        try
        {
            // SO_PASSCRED: every message then carries its sender's credentials (SCM_CREDENTIALS, unix(7)); accepted
            // connections inherit it. crun sends the listener from the container process itself, runc from the runtime.
            int one = 1;
            // SAFETY: `one` is a local int, alive for the call; its size is passed.
            if (setsockopt(fd, Notify.SOL_SOCKET, SO_PASSCRED, &one, sizeof(int)) != 0) throw new ErrnoException("setsockopt(SO_PASSCRED)", Errors.Last(), "");
            if (fchmod(fd, 0x180 /* 0600 */) != 0) throw new ErrnoException("fchmod(socket, 0600)", Errors.Last(), "");
            var addr = Address(bytes);
            // SAFETY: `addr` is a local sockaddr_un, alive for the call; its size is passed.
            if (bind(fd, &addr, (uint)sizeof(sockaddr_un)) != 0)
            {
                var e = Errors.Last();
                throw new AgentStartException((int)e == EADDRINUSE ? AgentStartProblem.SocketInUse : AgentStartProblem.SocketPath,
                    $"--socket {path}: bind failed: {Describe(e)}{((int)e == EADDRINUSE ? ": another agent created it just now" : e == Errno.ENOENT ? ": its directory does not exist" : "")}");
            }
            var sock = new AgentSocket(path, handle);
            try
            {
                var status = FileStatus.Of(path, followLinks: false);
                if (status is null || status.Kind != FileKind.Socket || (status.Mode & 0x3f) != 0)
                    throw new AgentStartException(AgentStartProblem.SocketPath, $"--socket {path}: the socket file was created with mode {(status is null ? "?" : Convert.ToString(status.Mode, 8))}, not 0600; refusing to listen on it");
                if (groupId is { } gid)
                {
                    if (chown(path, uint.MaxValue, gid) != 0) throw new ErrnoException($"chown({path}, -1, {gid})", Errors.Last(), "");
                    if (chmod(path, 0x1b0 /* 0660 */) != 0) throw new ErrnoException($"chmod({path}, 0660)", Errors.Last(), "");
                }
                if (listen(fd, SOMAXCONN) != 0) throw new ErrnoException("listen", Errors.Last(), "");
                return sock;
            }
            catch
            {
                sock.Dispose();
                throw;
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A socket file nobody accepts on (its agent died: connect fails with ECONNREFUSED) is removed; anything else at the path stops the start.</summary>
    private static void RemoveIfStale(string path, byte[] bytes)
    {
        var status = FileStatus.Of(path, followLinks: false);
        if (status is null) return;
        if (status.Kind != FileKind.Socket)
            throw new AgentStartException(AgentStartProblem.SocketPath, $"--socket {path}: the path exists and is {KindName(status.Kind)}, not a socket; the agent replaces only a stale socket. Remove it or choose another path");
        int fd = socket(Notify.AF_UNIX, Notify.SOCK_STREAM | Notify.SOCK_CLOEXEC, 0);
        if (fd < 0) throw new ErrnoException("socket(AF_UNIX)", Errors.Last(), "");
        using var probe = new SafeFileDescriptorHandle(fd);
        var addr = Address(bytes);
        // SAFETY: `addr` is a local sockaddr_un, alive for the call.
        var (r, e) = Errors.RetryEintr((fd, (nint)(&addr)), static a => connect(a.fd, (sockaddr_un*)a.Item2, (uint)sizeof(sockaddr_un)));
        if (r == 0)
            throw new AgentStartException(AgentStartProblem.SocketInUse, $"--socket {path}: another process accepts connections on it (another agent?); stop it or choose another path");
        if ((int)e != ECONNREFUSED)
            throw new AgentStartException(AgentStartProblem.SocketPath, $"--socket {path}: the existing socket cannot be probed: connect failed with {Describe(e)}");
        // ECONNREFUSED: a socket file with no listener behind it, left by an agent that was killed.
        File.Delete(path);
    }

    private static sockaddr_un Address(byte[] path)
    {
        var addr = new sockaddr_un { sun_family = (ushort)Notify.AF_UNIX };
        for (int i = 0; i < path.Length; i++) addr.sun_path[i] = path[i];
        return addr;
    }

    private static string KindName(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Fifo => "a named pipe",
        _ => "a socket",
    };

    private static string Describe(Errno e) => SeccompKit.Bpf.ErrnoNames.TryGetName((int)e, out var n) ? $"{n} ({(int)e})" : $"errno {(int)e}";

    /// <summary>Resolves a group name or numeric gid (from /etc/group for a name).</summary>
    /// <exception cref="AgentStartException">No such group.</exception>
    public static uint ResolveGroup(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out uint gid)) return gid;
        try
        {
            foreach (var line in File.ReadLines("/etc/group"))
            {
                var f = line.Split(':');
                if (f.Length >= 3 && f[0] == group && uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out gid)) return gid;
            }
        }
        catch (IOException e)
        {
            throw new AgentStartException(AgentStartProblem.SocketGroup, $"socketGroup \"{group}\": /etc/group cannot be read ({e.Message}); give the gid as a number", e);
        }
        throw new AgentStartException(AgentStartProblem.SocketGroup, $"socketGroup \"{group}\": no such group in /etc/group; give an existing group name or a gid");
    }

    /// <summary>Closes the socket and removes its file (if it is still a socket: never someone else's file).</summary>
    public void Dispose()
    {
        _fd.Dispose();
        if (_unlinked) return;
        _unlinked = true;
        try
        {
            if (FileStatus.Of(Path, followLinks: false)?.Kind == FileKind.Socket) File.Delete(Path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
