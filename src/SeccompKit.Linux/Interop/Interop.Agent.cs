using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>
/// The calls the agent's handlers make on a container's behalf (x86_64 syscall numbers): path resolution confined to a
/// root (openat2), per-thread credentials (setfsuid, setfsgid, setgroups, capset: raw syscalls, because glibc's setgroups
/// changes every thread of the process), the thread's own filesystem context (unshare CLONE_FS, chroot, fchdir, umask),
/// mount namespaces (setns) and the new mount API (fsopen, fsconfig, fsmount, move_mount). Raw <c>syscall(2)</c> is used
/// where glibc 2.36 has no wrapper or a wrapper that does more than the syscall.
/// </summary>
internal static partial class AgentSys
{
    internal const long SYS_getcwd = 79, SYS_fchdir = 81, SYS_umask = 95, SYS_getgroups = 115, SYS_setgroups = 116, SYS_setfsuid = 122, SYS_setfsgid = 123,
        SYS_capget = 125, SYS_capset = 126, SYS_chroot = 161, SYS_mknodat = 259, SYS_unshare = 272, SYS_setns = 308,
        SYS_move_mount = 429, SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432, SYS_openat2 = 437;

    internal const int O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_PATH = 0x200000, O_CLOEXEC = 0x80000;
    internal const int CLONE_FS = 0x200, CLONE_NEWNS = 0x20000, AT_FDCWD = -100;

    // openat2(2) resolve flags (include/uapi/linux/openat2.h).
    internal const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10;

    // The new mount API (include/uapi/linux/mount.h).
    internal const uint FSOPEN_CLOEXEC = 1, FSMOUNT_CLOEXEC = 1;
    internal const uint FSCONFIG_SET_FLAG = 0, FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;
    internal const uint MOUNT_ATTR_RDONLY = 0x1, MOUNT_ATTR_NOSUID = 0x2, MOUNT_ATTR_NODEV = 0x4, MOUNT_ATTR_NOEXEC = 0x8,
        MOUNT_ATTR_NOATIME = 0x10, MOUNT_ATTR_STRICTATIME = 0x20, MOUNT_ATTR_NODIRATIME = 0x80, MOUNT_ATTR_NOSYMFOLLOW = 0x200000;
    internal const uint MOVE_MOUNT_F_EMPTY_PATH = 0x4, MOVE_MOUNT_T_EMPTY_PATH = 0x40;

    /// <summary>capget/capset header version 3 (64-bit capability sets in two u32 halves).</summary>
    internal const uint _LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    internal const int CAP_MKNOD = 27;

    /// <summary><code>struct open_how { __u64 flags; __u64 mode; __u64 resolve; };</code> (24 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct open_how
    {
        internal ulong flags;
        internal ulong mode;
        internal ulong resolve;
    }

    /// <summary><code>struct __user_cap_header_struct { __u32 version; int pid; };</code></summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct cap_header
    {
        internal uint version;
        internal int pid;
    }

    /// <summary><code>struct __user_cap_data_struct { __u32 effective, permitted, inheritable; };</code> (two of them for version 3).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct cap_data
    {
        internal uint effective;
        internal uint permitted;
        internal uint inheritable;
    }

    /// <summary>
    /// <c>long syscall(long number, ...)</c> with up to five integer or pointer arguments (x86_64 passes variadic integers
    /// in the same registers as fixed ones); pointers are passed as their address.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall(long number, long a0, long a1, long a2, long a3, long a4);

    /// <summary><c>int openat2(int dirfd, const char *path, struct open_how *how, size_t size)</c> (Linux 5.6).</summary>
    internal static unsafe int openat2(int dirfd, byte* path, open_how* how) =>
        (int)syscall(SYS_openat2, dirfd, (long)path, (long)how, sizeof(open_how), 0);

    /// <summary><c>int mknodat(int dirfd, const char *path, mode_t mode, unsigned int dev)</c>: the kernel's 32-bit dev, unchanged.</summary>
    internal static unsafe int mknodat(int dirfd, byte* path, uint mode, uint dev) =>
        (int)syscall(SYS_mknodat, dirfd, (long)path, mode, dev, 0);

    /// <summary>One syscall with no pointer argument.</summary>
    internal static long call(long number, long a0 = 0, long a1 = 0, long a2 = 0) => syscall(number, a0, a1, a2, 0, 0);
}
