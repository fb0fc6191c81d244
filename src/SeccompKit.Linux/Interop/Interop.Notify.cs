using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>
/// The user-notification ioctls of seccomp_unotify(2), target memory access (process_vm_readv(2)) and the unix
/// socket calls that carry a listener descriptor (SCM_RIGHTS, unix(7)).
/// </summary>
internal static partial class Notify
{
    // _IOWR('!', 0, struct seccomp_notif) etc.; values from <linux/seccomp.h> for the 80/24/24-byte structs.
    internal const ulong SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
    internal const ulong SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;
    internal const ulong SECCOMP_IOCTL_NOTIF_ID_VALID = 0x40082102;
    internal const ulong SECCOMP_IOCTL_NOTIF_ADDFD = 0x40182103;
    internal const ulong SECCOMP_IOCTL_NOTIF_SET_FLAGS = 0x40082104;

    internal const uint SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
    internal const uint SECCOMP_ADDFD_FLAG_SETFD = 1;
    internal const uint SECCOMP_ADDFD_FLAG_SEND = 2;
    internal const ulong SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1;

    internal const int AF_UNIX = 1;
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int SOL_SOCKET = 1;
    internal const int SCM_RIGHTS = 1;
    internal const int MSG_CMSG_CLOEXEC = 0x40000000;
    internal const int MSG_NOSIGNAL = 0x4000;

    internal const short POLLIN = 0x001;
    internal const short POLLERR = 0x008;
    internal const short POLLHUP = 0x010;
    internal const short POLLNVAL = 0x020;

    internal const int EFD_CLOEXEC = 0x80000;

#pragma warning disable CS8981 // C names verbatim (STYLE)
    /// <summary><code>struct seccomp_notif { __u64 id; __u32 pid; __u32 flags; struct seccomp_data data; };</code> (80 bytes)</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct seccomp_notif
    {
        internal ulong id;
        internal uint pid;
        internal uint flags;
        internal int nr;
        internal uint arch;
        internal ulong instruction_pointer;
        internal fixed ulong args[6];
    }

    /// <summary><code>struct seccomp_notif_resp { __u64 id; __s64 val; __s32 error; __u32 flags; };</code> (24 bytes)</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct seccomp_notif_resp
    {
        internal ulong id;
        internal long val;
        internal int error;
        internal uint flags;
    }

    /// <summary><code>struct seccomp_notif_addfd { __u64 id; __u32 flags; __u32 srcfd; __u32 newfd; __u32 newfd_flags; };</code> (24 bytes)</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct seccomp_notif_addfd
    {
        internal ulong id;
        internal uint flags;
        internal uint srcfd;
        internal uint newfd;
        internal uint newfd_flags;
    }

    /// <summary><code>struct iovec { void *iov_base; size_t iov_len; };</code> (16 bytes)</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct iovec
    {
        internal void* iov_base;
        internal nuint iov_len;
    }

    /// <summary><code>struct msghdr</code> (56 bytes on x86_64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct msghdr
    {
        internal void* msg_name;
        internal uint msg_namelen;
        internal iovec* msg_iov;
        internal nuint msg_iovlen;
        internal void* msg_control;
        internal nuint msg_controllen;
        internal int msg_flags;
    }

    /// <summary><code>struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }</code> (16 bytes; data follows, 8-aligned).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct cmsghdr
    {
        internal nuint cmsg_len;
        internal int cmsg_level;
        internal int cmsg_type;
    }
#pragma warning restore CS8981

    /// <summary>CMSG_SPACE(sizeof(int)) on x86_64: a 16-byte header plus the int rounded up to 8.</summary>
    internal const int CmsgSpaceOneFd = 24;

    /// <summary>CMSG_LEN(sizeof(int)): 16 + 4.</summary>
    internal const int CmsgLenOneFd = 20;

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    internal static unsafe partial int ioctl(int fd, ulong request, void* arg);

    /// <summary>
    /// ioctl(2) without the SetLastError stub: on failure the caller reads errno itself at once
    /// (<c>Marshal.GetLastSystemError</c>). For the supervisor's hot path, where success is the rule.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "ioctl")]
    internal static unsafe partial int ioctl_nolasterror(int fd, ulong request, void* arg);

    [LibraryImport("libc", EntryPoint = "process_vm_readv", SetLastError = true)]
    internal static unsafe partial nint process_vm_readv(int pid, iovec* local, ulong liovcnt, iovec* remote, ulong riovcnt, ulong flags);

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    internal static unsafe partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    internal static unsafe partial nint sendmsg(int fd, msghdr* msg, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    internal static unsafe partial nint recvmsg(int fd, msghdr* msg, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    internal static unsafe partial int poll(Netlink.pollfd* fds, ulong nfds, int timeout);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", EntryPoint = "sched_yield")]
    internal static partial int sched_yield();

    /// <summary><c>tgkill(tgid, tid, sig)</c> (glibc 2.30): a signal to one thread of a thread group.</summary>
    [LibraryImport("libc", EntryPoint = "tgkill", SetLastError = true)]
    internal static partial int tgkill(int tgid, int tid, int sig);

    internal const int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    internal const int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20;
    internal const ulong SA_RESTORER = 0x04000000;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    internal static unsafe partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    internal static unsafe partial int mprotect(void* addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    internal static unsafe partial int munmap(void* addr, nuint length);
}
