using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>The socket calls for the audit netlink socket (.NET's Socket class has no AF_NETLINK).</summary>
internal static partial class Netlink
{
    internal const int AF_NETLINK = 16;
    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_RAW = 3;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const short POLLIN = 1;

    /// <summary><code>struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; };</code> (12 bytes)</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct sockaddr_nl
    {
        internal ushort nl_family;
        internal ushort nl_pad;
        internal uint nl_pid;
        internal uint nl_groups;
    }

    // C names verbatim (STYLE: man pages read straight against the code), though lower-case type names draw CS8981.
#pragma warning disable CS8981
    /// <summary><code>struct pollfd { int fd; short events; short revents; };</code> (8 bytes)</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct pollfd
    {
        internal int fd;
        internal short events;
        internal short revents;
    }
#pragma warning restore CS8981

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    internal static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    internal static unsafe partial int bind(int fd, sockaddr_nl* addr, uint addrlen);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    internal static unsafe partial nint send(int fd, void* buf, nuint len, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    internal static unsafe partial nint recv(int fd, void* buf, nuint len, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    internal static unsafe partial int poll(pollfd* fds, ulong nfds, int timeout);
}
