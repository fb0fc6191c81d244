using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>
/// The listening unix socket of the seccomp agent (unix(7), socket(7)): bind/listen/accept4, SO_PEERCRED, connect (to
/// tell a stale socket file from a live one), and the pidfd calls that pin a container's init (pidfd_open(2)).
/// </summary>
internal static partial class Socket
{
    internal const int SOMAXCONN = 4096;
    internal const int SOCK_NONBLOCK = 0x800;
    internal const int SO_PEERCRED = 17;
    internal const int SO_PASSCRED = 16;
    internal const int SCM_CREDENTIALS = 2;
    internal const int MSG_CTRUNC = 0x8;
    internal const int MSG_TRUNC = 0x20;
    internal const int MSG_DONTWAIT = 0x40;
    internal const int SHUT_RDWR = 2;

    /// <summary>errno values not in <see cref="Errno"/>'s named set (the enum keeps raw values).</summary>
    internal const int ECONNREFUSED = 111;
    internal const int EADDRINUSE = 98;

    /// <summary>sun_path's size: a path of at most 107 bytes and its NUL.</summary>
    internal const int SunPathSize = 108;

    internal const long SYS_pidfd_open = 434;

#pragma warning disable CS8981 // C names verbatim (STYLE)
    /// <summary><code>struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }</code> (110 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct sockaddr_un
    {
        internal ushort sun_family;
        internal fixed byte sun_path[SunPathSize];
    }

    /// <summary><code>struct ucred { pid_t pid; uid_t uid; gid_t gid; }</code> (12 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct ucred
    {
        internal int pid;
        internal uint uid;
        internal uint gid;
    }
#pragma warning restore CS8981

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    internal static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    internal static unsafe partial int bind(int fd, sockaddr_un* addr, uint addrlen);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    internal static unsafe partial int connect(int fd, sockaddr_un* addr, uint addrlen);

    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)]
    internal static partial int listen(int fd, int backlog);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    internal static unsafe partial int accept4(int fd, void* addr, uint* addrlen, int flags);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    internal static unsafe partial int getsockopt(int fd, int level, int name, void* value, uint* len);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    internal static unsafe partial int setsockopt(int fd, int level, int name, void* value, uint len);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    internal static partial int fchmod(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int chmod(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int access(string path, int mode);

    /// <summary><c>pidfd_open(pid, 0)</c> through syscall(2): glibc 2.36 (Debian 12) has no wrapper.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    internal static partial long pidfd_open(long number, long pid, long flags);
}
