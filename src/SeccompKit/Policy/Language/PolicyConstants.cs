using System.Collections.Frozen;
using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Language;

/// <summary>
/// A named constant the policy language knows, e.g. <c>AF_INET</c> = 2.
/// </summary>
/// <param name="Name">The C name, verbatim (<c>O_CLOEXEC</c>).</param>
/// <param name="Value">
/// The value as the C header defines it on x86_64; negative for constants such as <c>AT_FDCWD</c> (-100),
/// which become their 32- or 64-bit two's complement depending on the compared argument's width.
/// </param>
/// <param name="Family">The group it belongs to (<c>AF</c>, <c>SOCK</c>, <c>O</c>, <c>CLONE</c>...), used by the printer to pick names for an argument.</param>
/// <param name="IsFlag">True for bit flags that may be OR-ed with others of the family (<c>O_CLOEXEC</c>); false for enumerated values (<c>O_RDONLY</c>, <c>AF_INET</c>).</param>
/// <param name="Header">The uapi header that defines it (cited so the value can be checked).</param>
public sealed record PolicyConstant(string Name, long Value, string Family, bool IsFlag, string Header);

/// <summary>
/// The constants the policy language knows: socket families and types, IPPROTO and NETLINK protocols,
/// open flags, AT_ values, clone flags, PROT and MAP bits, prctl options, fcntl commands, futex
/// operations, signal numbers, personality values, ioctl requests (terminal and file) and errno names. Values are those of <b>x86_64</b>
/// (most are the same on every Linux ABI; O_ and MAP_ bits differ on some, e.g. alpha, mips, parisc,
/// sparc, ppc). Hand-written from the uapi headers named in <see cref="PolicyConstant.Header"/>; the
/// values were checked against the headers of this machine with a small C program (see
/// docs/POLICY-LANGUAGE.md).
/// </summary>
public static class PolicyConstants
{
    private const string Socket = "include/linux/socket.h (glibc bits/socket.h)";
    private const string SocketType = "include/linux/net.h, include/linux/net.h SOCK_CLOEXEC = O_CLOEXEC, SOCK_NONBLOCK = O_NONBLOCK";
    private const string In = "include/uapi/linux/in.h, in6.h";
    private const string Netlink = "include/uapi/linux/netlink.h";
    private const string Fcntl = "include/uapi/asm-generic/fcntl.h (x86_64 uses the generic values)";
    private const string FcntlAt = "include/uapi/linux/fcntl.h";
    private const string Sched = "include/uapi/linux/sched.h";
    private const string Mman = "include/uapi/asm-generic/mman-common.h, mman.h, include/uapi/linux/mman.h";
    private const string Prctl = "include/uapi/linux/prctl.h";
    private const string Futex = "include/uapi/linux/futex.h";
    private const string Signal = "arch/x86/include/uapi/asm/signal.h";
    private const string Personality = "include/uapi/linux/personality.h";
    private const string Errno = "include/uapi/asm-generic/errno-base.h, errno.h";
    private const string Ioctls = "include/uapi/asm-generic/ioctls.h (x86_64's asm/ioctls.h includes it), include/uapi/asm-generic/termbits.h";
    private const string FsIoctls = "include/uapi/linux/fs.h";

    // Order matters: when several names share a value in a family, the printer uses the first.
    private static readonly (string Name, long Value, string Family, bool Flag, string Header)[] Table =
    [
        ("AF_UNSPEC", 0, "AF", false, Socket), ("AF_UNIX", 1, "AF", false, Socket), ("AF_LOCAL", 1, "AF", false, Socket),
        ("AF_INET", 2, "AF", false, Socket), ("AF_AX25", 3, "AF", false, Socket), ("AF_IPX", 4, "AF", false, Socket),
        ("AF_APPLETALK", 5, "AF", false, Socket), ("AF_NETROM", 6, "AF", false, Socket), ("AF_BRIDGE", 7, "AF", false, Socket),
        ("AF_ATMPVC", 8, "AF", false, Socket), ("AF_X25", 9, "AF", false, Socket), ("AF_INET6", 10, "AF", false, Socket),
        ("AF_ROSE", 11, "AF", false, Socket), ("AF_DECnet", 12, "AF", false, Socket), ("AF_NETBEUI", 13, "AF", false, Socket),
        ("AF_SECURITY", 14, "AF", false, Socket), ("AF_KEY", 15, "AF", false, Socket), ("AF_NETLINK", 16, "AF", false, Socket),
        ("AF_ROUTE", 16, "AF", false, Socket), ("AF_PACKET", 17, "AF", false, Socket), ("AF_ASH", 18, "AF", false, Socket),
        ("AF_ECONET", 19, "AF", false, Socket), ("AF_ATMSVC", 20, "AF", false, Socket), ("AF_RDS", 21, "AF", false, Socket),
        ("AF_SNA", 22, "AF", false, Socket), ("AF_IRDA", 23, "AF", false, Socket), ("AF_PPPOX", 24, "AF", false, Socket),
        ("AF_WANPIPE", 25, "AF", false, Socket), ("AF_LLC", 26, "AF", false, Socket), ("AF_IB", 27, "AF", false, Socket),
        ("AF_MPLS", 28, "AF", false, Socket), ("AF_CAN", 29, "AF", false, Socket), ("AF_TIPC", 30, "AF", false, Socket),
        ("AF_BLUETOOTH", 31, "AF", false, Socket), ("AF_IUCV", 32, "AF", false, Socket), ("AF_RXRPC", 33, "AF", false, Socket),
        ("AF_ISDN", 34, "AF", false, Socket), ("AF_PHONET", 35, "AF", false, Socket), ("AF_IEEE802154", 36, "AF", false, Socket),
        ("AF_CAIF", 37, "AF", false, Socket), ("AF_ALG", 38, "AF", false, Socket), ("AF_NFC", 39, "AF", false, Socket),
        ("AF_VSOCK", 40, "AF", false, Socket), ("AF_KCM", 41, "AF", false, Socket), ("AF_QIPCRTR", 42, "AF", false, Socket),
        ("AF_SMC", 43, "AF", false, Socket), ("AF_XDP", 44, "AF", false, Socket), ("AF_MCTP", 45, "AF", false, Socket),

        ("SOCK_STREAM", 1, "SOCK", false, SocketType), ("SOCK_DGRAM", 2, "SOCK", false, SocketType), ("SOCK_RAW", 3, "SOCK", false, SocketType),
        ("SOCK_RDM", 4, "SOCK", false, SocketType), ("SOCK_SEQPACKET", 5, "SOCK", false, SocketType), ("SOCK_DCCP", 6, "SOCK", false, SocketType),
        ("SOCK_PACKET", 10, "SOCK", false, SocketType), ("SOCK_NONBLOCK", 0x800, "SOCK", true, SocketType), ("SOCK_CLOEXEC", 0x80000, "SOCK", true, SocketType),

        ("IPPROTO_IP", 0, "IPPROTO", false, In), ("IPPROTO_ICMP", 1, "IPPROTO", false, In), ("IPPROTO_IGMP", 2, "IPPROTO", false, In),
        ("IPPROTO_IPIP", 4, "IPPROTO", false, In), ("IPPROTO_TCP", 6, "IPPROTO", false, In), ("IPPROTO_EGP", 8, "IPPROTO", false, In),
        ("IPPROTO_PUP", 12, "IPPROTO", false, In), ("IPPROTO_UDP", 17, "IPPROTO", false, In), ("IPPROTO_IDP", 22, "IPPROTO", false, In),
        ("IPPROTO_TP", 29, "IPPROTO", false, In), ("IPPROTO_DCCP", 33, "IPPROTO", false, In), ("IPPROTO_IPV6", 41, "IPPROTO", false, In),
        ("IPPROTO_RSVP", 46, "IPPROTO", false, In), ("IPPROTO_GRE", 47, "IPPROTO", false, In), ("IPPROTO_ESP", 50, "IPPROTO", false, In),
        ("IPPROTO_AH", 51, "IPPROTO", false, In), ("IPPROTO_ICMPV6", 58, "IPPROTO", false, In), ("IPPROTO_MTP", 92, "IPPROTO", false, In),
        ("IPPROTO_BEETPH", 94, "IPPROTO", false, In), ("IPPROTO_ENCAP", 98, "IPPROTO", false, In), ("IPPROTO_PIM", 103, "IPPROTO", false, In),
        ("IPPROTO_COMP", 108, "IPPROTO", false, In), ("IPPROTO_L2TP", 115, "IPPROTO", false, In), ("IPPROTO_SCTP", 132, "IPPROTO", false, In),
        ("IPPROTO_UDPLITE", 136, "IPPROTO", false, In), ("IPPROTO_MPLS", 137, "IPPROTO", false, In), ("IPPROTO_ETHERNET", 143, "IPPROTO", false, In),
        ("IPPROTO_RAW", 255, "IPPROTO", false, In), ("IPPROTO_MPTCP", 262, "IPPROTO", false, In),

        ("NETLINK_ROUTE", 0, "NETLINK", false, Netlink), ("NETLINK_UNUSED", 1, "NETLINK", false, Netlink), ("NETLINK_USERSOCK", 2, "NETLINK", false, Netlink),
        ("NETLINK_FIREWALL", 3, "NETLINK", false, Netlink), ("NETLINK_SOCK_DIAG", 4, "NETLINK", false, Netlink), ("NETLINK_INET_DIAG", 4, "NETLINK", false, Netlink),
        ("NETLINK_NFLOG", 5, "NETLINK", false, Netlink), ("NETLINK_XFRM", 6, "NETLINK", false, Netlink), ("NETLINK_SELINUX", 7, "NETLINK", false, Netlink),
        ("NETLINK_ISCSI", 8, "NETLINK", false, Netlink), ("NETLINK_AUDIT", 9, "NETLINK", false, Netlink), ("NETLINK_FIB_LOOKUP", 10, "NETLINK", false, Netlink),
        ("NETLINK_CONNECTOR", 11, "NETLINK", false, Netlink), ("NETLINK_NETFILTER", 12, "NETLINK", false, Netlink), ("NETLINK_IP6_FW", 13, "NETLINK", false, Netlink),
        ("NETLINK_DNRTMSG", 14, "NETLINK", false, Netlink), ("NETLINK_KOBJECT_UEVENT", 15, "NETLINK", false, Netlink), ("NETLINK_GENERIC", 16, "NETLINK", false, Netlink),
        ("NETLINK_SCSITRANSPORT", 18, "NETLINK", false, Netlink), ("NETLINK_ECRYPTFS", 19, "NETLINK", false, Netlink), ("NETLINK_RDMA", 20, "NETLINK", false, Netlink),
        ("NETLINK_CRYPTO", 21, "NETLINK", false, Netlink), ("NETLINK_SMC", 22, "NETLINK", false, Netlink),

        ("O_RDONLY", 0, "O", false, Fcntl), ("O_WRONLY", 1, "O", false, Fcntl), ("O_RDWR", 2, "O", false, Fcntl), ("O_ACCMODE", 3, "O", false, Fcntl),
        ("O_CREAT", 0x40, "O", true, Fcntl), ("O_EXCL", 0x80, "O", true, Fcntl), ("O_NOCTTY", 0x100, "O", true, Fcntl), ("O_TRUNC", 0x200, "O", true, Fcntl),
        ("O_APPEND", 0x400, "O", true, Fcntl), ("O_NONBLOCK", 0x800, "O", true, Fcntl), ("O_NDELAY", 0x800, "O", true, Fcntl), ("O_DSYNC", 0x1000, "O", true, Fcntl),
        ("O_ASYNC", 0x2000, "O", true, Fcntl), ("O_DIRECT", 0x4000, "O", true, Fcntl), ("O_LARGEFILE", 0x8000, "O", true, Fcntl),
        ("O_DIRECTORY", 0x10000, "O", true, Fcntl), ("O_NOFOLLOW", 0x20000, "O", true, Fcntl), ("O_NOATIME", 0x40000, "O", true, Fcntl),
        ("O_CLOEXEC", 0x80000, "O", true, Fcntl), ("O_SYNC", 0x101000, "O", true, Fcntl), ("O_PATH", 0x200000, "O", true, Fcntl),
        ("O_TMPFILE", 0x410000, "O", true, Fcntl),

        ("AT_FDCWD", -100, "AT_FDCWD", false, FcntlAt),
        ("AT_SYMLINK_NOFOLLOW", 0x100, "AT", true, FcntlAt), ("AT_REMOVEDIR", 0x200, "AT", true, FcntlAt), ("AT_EACCESS", 0x200, "AT", true, FcntlAt),
        ("AT_SYMLINK_FOLLOW", 0x400, "AT", true, FcntlAt), ("AT_NO_AUTOMOUNT", 0x800, "AT", true, FcntlAt), ("AT_EMPTY_PATH", 0x1000, "AT", true, FcntlAt),
        ("AT_STATX_FORCE_SYNC", 0x2000, "AT", true, FcntlAt), ("AT_STATX_DONT_SYNC", 0x4000, "AT", true, FcntlAt), ("AT_STATX_SYNC_TYPE", 0x6000, "AT", false, FcntlAt),
        ("AT_RECURSIVE", 0x8000, "AT", true, FcntlAt),

        ("CSIGNAL", 0xff, "CLONE", false, Sched), ("CLONE_NEWTIME", 0x80, "CLONE", true, Sched),
        ("CLONE_VM", 0x100, "CLONE", true, Sched), ("CLONE_FS", 0x200, "CLONE", true, Sched), ("CLONE_FILES", 0x400, "CLONE", true, Sched),
        ("CLONE_SIGHAND", 0x800, "CLONE", true, Sched), ("CLONE_PIDFD", 0x1000, "CLONE", true, Sched), ("CLONE_PTRACE", 0x2000, "CLONE", true, Sched),
        ("CLONE_VFORK", 0x4000, "CLONE", true, Sched), ("CLONE_PARENT", 0x8000, "CLONE", true, Sched), ("CLONE_THREAD", 0x10000, "CLONE", true, Sched),
        ("CLONE_NEWNS", 0x20000, "CLONE", true, Sched), ("CLONE_SYSVSEM", 0x40000, "CLONE", true, Sched), ("CLONE_SETTLS", 0x80000, "CLONE", true, Sched),
        ("CLONE_PARENT_SETTID", 0x100000, "CLONE", true, Sched), ("CLONE_CHILD_CLEARTID", 0x200000, "CLONE", true, Sched), ("CLONE_DETACHED", 0x400000, "CLONE", true, Sched),
        ("CLONE_UNTRACED", 0x800000, "CLONE", true, Sched), ("CLONE_CHILD_SETTID", 0x1000000, "CLONE", true, Sched), ("CLONE_NEWCGROUP", 0x2000000, "CLONE", true, Sched),
        ("CLONE_NEWUTS", 0x4000000, "CLONE", true, Sched), ("CLONE_NEWIPC", 0x8000000, "CLONE", true, Sched), ("CLONE_NEWUSER", 0x10000000, "CLONE", true, Sched),
        ("CLONE_NEWPID", 0x20000000, "CLONE", true, Sched), ("CLONE_NEWNET", 0x40000000, "CLONE", true, Sched), ("CLONE_IO", 0x80000000, "CLONE", true, Sched),

        ("PROT_NONE", 0, "PROT", false, Mman), ("PROT_READ", 1, "PROT", true, Mman), ("PROT_WRITE", 2, "PROT", true, Mman), ("PROT_EXEC", 4, "PROT", true, Mman),
        ("PROT_SEM", 8, "PROT", true, Mman), ("PROT_GROWSDOWN", 0x1000000, "PROT", true, Mman), ("PROT_GROWSUP", 0x2000000, "PROT", true, Mman),

        ("MAP_SHARED", 1, "MAP", false, Mman), ("MAP_PRIVATE", 2, "MAP", false, Mman), ("MAP_SHARED_VALIDATE", 3, "MAP", false, Mman), ("MAP_TYPE", 0xf, "MAP", false, Mman),
        ("MAP_FIXED", 0x10, "MAP", true, Mman), ("MAP_ANONYMOUS", 0x20, "MAP", true, Mman), ("MAP_ANON", 0x20, "MAP", true, Mman), ("MAP_32BIT", 0x40, "MAP", true, Mman),
        ("MAP_GROWSDOWN", 0x100, "MAP", true, Mman), ("MAP_DENYWRITE", 0x800, "MAP", true, Mman), ("MAP_EXECUTABLE", 0x1000, "MAP", true, Mman),
        ("MAP_LOCKED", 0x2000, "MAP", true, Mman), ("MAP_NORESERVE", 0x4000, "MAP", true, Mman), ("MAP_POPULATE", 0x8000, "MAP", true, Mman),
        ("MAP_NONBLOCK", 0x10000, "MAP", true, Mman), ("MAP_STACK", 0x20000, "MAP", true, Mman), ("MAP_HUGETLB", 0x40000, "MAP", true, Mman),
        ("MAP_SYNC", 0x80000, "MAP", true, Mman), ("MAP_FIXED_NOREPLACE", 0x100000, "MAP", true, Mman), ("MAP_UNINITIALIZED", 0x4000000, "MAP", true, Mman),

        ("PR_SET_PDEATHSIG", 1, "PR", false, Prctl), ("PR_GET_PDEATHSIG", 2, "PR", false, Prctl), ("PR_GET_DUMPABLE", 3, "PR", false, Prctl),
        ("PR_SET_DUMPABLE", 4, "PR", false, Prctl), ("PR_GET_UNALIGN", 5, "PR", false, Prctl), ("PR_SET_UNALIGN", 6, "PR", false, Prctl),
        ("PR_GET_KEEPCAPS", 7, "PR", false, Prctl), ("PR_SET_KEEPCAPS", 8, "PR", false, Prctl), ("PR_GET_FPEMU", 9, "PR", false, Prctl),
        ("PR_SET_FPEMU", 10, "PR", false, Prctl), ("PR_GET_FPEXC", 11, "PR", false, Prctl), ("PR_SET_FPEXC", 12, "PR", false, Prctl),
        ("PR_GET_TIMING", 13, "PR", false, Prctl), ("PR_SET_TIMING", 14, "PR", false, Prctl), ("PR_SET_NAME", 15, "PR", false, Prctl),
        ("PR_GET_NAME", 16, "PR", false, Prctl), ("PR_GET_ENDIAN", 19, "PR", false, Prctl), ("PR_SET_ENDIAN", 20, "PR", false, Prctl),
        ("PR_GET_SECCOMP", 21, "PR", false, Prctl), ("PR_SET_SECCOMP", 22, "PR", false, Prctl), ("PR_CAPBSET_READ", 23, "PR", false, Prctl),
        ("PR_CAPBSET_DROP", 24, "PR", false, Prctl), ("PR_GET_TSC", 25, "PR", false, Prctl), ("PR_SET_TSC", 26, "PR", false, Prctl),
        ("PR_GET_SECUREBITS", 27, "PR", false, Prctl), ("PR_SET_SECUREBITS", 28, "PR", false, Prctl), ("PR_SET_TIMERSLACK", 29, "PR", false, Prctl),
        ("PR_GET_TIMERSLACK", 30, "PR", false, Prctl), ("PR_TASK_PERF_EVENTS_DISABLE", 31, "PR", false, Prctl), ("PR_TASK_PERF_EVENTS_ENABLE", 32, "PR", false, Prctl),
        ("PR_MCE_KILL", 33, "PR", false, Prctl), ("PR_MCE_KILL_GET", 34, "PR", false, Prctl), ("PR_SET_MM", 35, "PR", false, Prctl),
        ("PR_SET_CHILD_SUBREAPER", 36, "PR", false, Prctl), ("PR_GET_CHILD_SUBREAPER", 37, "PR", false, Prctl), ("PR_SET_NO_NEW_PRIVS", 38, "PR", false, Prctl),
        ("PR_GET_NO_NEW_PRIVS", 39, "PR", false, Prctl), ("PR_GET_TID_ADDRESS", 40, "PR", false, Prctl), ("PR_SET_THP_DISABLE", 41, "PR", false, Prctl),
        ("PR_GET_THP_DISABLE", 42, "PR", false, Prctl), ("PR_SET_FP_MODE", 45, "PR", false, Prctl), ("PR_GET_FP_MODE", 46, "PR", false, Prctl),
        ("PR_CAP_AMBIENT", 47, "PR", false, Prctl), ("PR_GET_SPECULATION_CTRL", 52, "PR", false, Prctl), ("PR_SET_SPECULATION_CTRL", 53, "PR", false, Prctl),
        ("PR_SET_TAGGED_ADDR_CTRL", 55, "PR", false, Prctl), ("PR_GET_TAGGED_ADDR_CTRL", 56, "PR", false, Prctl), ("PR_SET_IO_FLUSHER", 57, "PR", false, Prctl),
        ("PR_GET_IO_FLUSHER", 58, "PR", false, Prctl), ("PR_SET_SYSCALL_USER_DISPATCH", 59, "PR", false, Prctl), ("PR_SCHED_CORE", 62, "PR", false, Prctl),
        ("PR_SET_PTRACER", 0x59616d61, "PR", false, Prctl), ("PR_SET_VMA", 0x53564d41, "PR", false, Prctl),

        ("F_DUPFD", 0, "F", false, Fcntl), ("F_GETFD", 1, "F", false, Fcntl), ("F_SETFD", 2, "F", false, Fcntl), ("F_GETFL", 3, "F", false, Fcntl),
        ("F_SETFL", 4, "F", false, Fcntl), ("F_GETLK", 5, "F", false, Fcntl), ("F_SETLK", 6, "F", false, Fcntl), ("F_SETLKW", 7, "F", false, Fcntl),
        ("F_SETOWN", 8, "F", false, Fcntl), ("F_GETOWN", 9, "F", false, Fcntl), ("F_SETSIG", 10, "F", false, Fcntl), ("F_GETSIG", 11, "F", false, Fcntl),
        ("F_SETOWN_EX", 15, "F", false, Fcntl), ("F_GETOWN_EX", 16, "F", false, Fcntl), ("F_OFD_GETLK", 36, "F", false, Fcntl),
        ("F_OFD_SETLK", 37, "F", false, Fcntl), ("F_OFD_SETLKW", 38, "F", false, Fcntl), ("F_SETLEASE", 1024, "F", false, FcntlAt),
        ("F_GETLEASE", 1025, "F", false, FcntlAt), ("F_NOTIFY", 1026, "F", false, FcntlAt), ("F_DUPFD_CLOEXEC", 1030, "F", false, FcntlAt),
        ("F_SETPIPE_SZ", 1031, "F", false, FcntlAt), ("F_GETPIPE_SZ", 1032, "F", false, FcntlAt), ("F_ADD_SEALS", 1033, "F", false, FcntlAt),
        ("F_GET_SEALS", 1034, "F", false, FcntlAt), ("FD_CLOEXEC", 1, "FD", true, Fcntl),

        ("FUTEX_WAIT", 0, "FUTEX", false, Futex), ("FUTEX_WAKE", 1, "FUTEX", false, Futex), ("FUTEX_FD", 2, "FUTEX", false, Futex),
        ("FUTEX_REQUEUE", 3, "FUTEX", false, Futex), ("FUTEX_CMP_REQUEUE", 4, "FUTEX", false, Futex), ("FUTEX_WAKE_OP", 5, "FUTEX", false, Futex),
        ("FUTEX_LOCK_PI", 6, "FUTEX", false, Futex), ("FUTEX_UNLOCK_PI", 7, "FUTEX", false, Futex), ("FUTEX_TRYLOCK_PI", 8, "FUTEX", false, Futex),
        ("FUTEX_WAIT_BITSET", 9, "FUTEX", false, Futex), ("FUTEX_WAKE_BITSET", 10, "FUTEX", false, Futex), ("FUTEX_WAIT_REQUEUE_PI", 11, "FUTEX", false, Futex),
        ("FUTEX_CMP_REQUEUE_PI", 12, "FUTEX", false, Futex), ("FUTEX_LOCK_PI2", 13, "FUTEX", false, Futex),
        ("FUTEX_PRIVATE_FLAG", 128, "FUTEX", true, Futex), ("FUTEX_CLOCK_REALTIME", 256, "FUTEX", true, Futex), ("FUTEX_CMD_MASK", -385, "FUTEX", false, Futex),

        ("SIGHUP", 1, "SIG", false, Signal), ("SIGINT", 2, "SIG", false, Signal), ("SIGQUIT", 3, "SIG", false, Signal), ("SIGILL", 4, "SIG", false, Signal),
        ("SIGTRAP", 5, "SIG", false, Signal), ("SIGABRT", 6, "SIG", false, Signal), ("SIGIOT", 6, "SIG", false, Signal), ("SIGBUS", 7, "SIG", false, Signal),
        ("SIGFPE", 8, "SIG", false, Signal), ("SIGKILL", 9, "SIG", false, Signal), ("SIGUSR1", 10, "SIG", false, Signal), ("SIGSEGV", 11, "SIG", false, Signal),
        ("SIGUSR2", 12, "SIG", false, Signal), ("SIGPIPE", 13, "SIG", false, Signal), ("SIGALRM", 14, "SIG", false, Signal), ("SIGTERM", 15, "SIG", false, Signal),
        ("SIGSTKFLT", 16, "SIG", false, Signal), ("SIGCHLD", 17, "SIG", false, Signal), ("SIGCONT", 18, "SIG", false, Signal), ("SIGSTOP", 19, "SIG", false, Signal),
        ("SIGTSTP", 20, "SIG", false, Signal), ("SIGTTIN", 21, "SIG", false, Signal), ("SIGTTOU", 22, "SIG", false, Signal), ("SIGURG", 23, "SIG", false, Signal),
        ("SIGXCPU", 24, "SIG", false, Signal), ("SIGXFSZ", 25, "SIG", false, Signal), ("SIGVTALRM", 26, "SIG", false, Signal), ("SIGPROF", 27, "SIG", false, Signal),
        ("SIGWINCH", 28, "SIG", false, Signal), ("SIGIO", 29, "SIG", false, Signal), ("SIGPOLL", 29, "SIG", false, Signal), ("SIGPWR", 30, "SIG", false, Signal),
        ("SIGSYS", 31, "SIG", false, Signal),

        ("PER_LINUX", 0, "PER", false, Personality), ("PER_LINUX32", 8, "PER", false, Personality), ("PER_LINUX_32BIT", 0x800000, "PER", false, Personality),
        ("PER_MASK", 0xff, "PER", false, Personality), ("UNAME26", 0x20000, "PER", true, Personality), ("ADDR_NO_RANDOMIZE", 0x40000, "PER", true, Personality),
        ("FDPIC_FUNCPTRS", 0x80000, "PER", true, Personality), ("MMAP_PAGE_ZERO", 0x100000, "PER", true, Personality),
        ("ADDR_COMPAT_LAYOUT", 0x200000, "PER", true, Personality), ("READ_IMPLIES_EXEC", 0x400000, "PER", true, Personality),
        ("ADDR_LIMIT_32BIT", 0x800000, "PER", true, Personality), ("SHORT_INODE", 0x1000000, "PER", true, Personality),
        ("WHOLE_SECONDS", 0x2000000, "PER", true, Personality), ("STICKY_TIMEOUTS", 0x4000000, "PER", true, Personality),
        ("ADDR_LIMIT_3GB", 0x8000000, "PER", true, Personality),

        // ioctl requests (values printed by a C program against this machine's headers, Debian 12 linux-libc-dev, x86_64;
        // alpha, mips, parisc, ppc and sparc number the terminal ioctls differently).
        ("TCGETS", 0x5401, "IOCTL", false, Ioctls), ("TCSETS", 0x5402, "IOCTL", false, Ioctls), ("TCSETSW", 0x5403, "IOCTL", false, Ioctls),
        ("TCSETSF", 0x5404, "IOCTL", false, Ioctls), ("TCGETA", 0x5405, "IOCTL", false, Ioctls), ("TCSETA", 0x5406, "IOCTL", false, Ioctls),
        ("TCSETAW", 0x5407, "IOCTL", false, Ioctls), ("TCSETAF", 0x5408, "IOCTL", false, Ioctls), ("TCSBRK", 0x5409, "IOCTL", false, Ioctls),
        ("TCXONC", 0x540a, "IOCTL", false, Ioctls), ("TCFLSH", 0x540b, "IOCTL", false, Ioctls), ("TIOCEXCL", 0x540c, "IOCTL", false, Ioctls),
        ("TIOCNXCL", 0x540d, "IOCTL", false, Ioctls), ("TIOCSCTTY", 0x540e, "IOCTL", false, Ioctls), ("TIOCGPGRP", 0x540f, "IOCTL", false, Ioctls),
        ("TIOCSPGRP", 0x5410, "IOCTL", false, Ioctls), ("TIOCOUTQ", 0x5411, "IOCTL", false, Ioctls), ("TIOCSTI", 0x5412, "IOCTL", false, Ioctls),
        ("TIOCGWINSZ", 0x5413, "IOCTL", false, Ioctls), ("TIOCSWINSZ", 0x5414, "IOCTL", false, Ioctls), ("TIOCMGET", 0x5415, "IOCTL", false, Ioctls),
        ("TIOCMBIS", 0x5416, "IOCTL", false, Ioctls), ("TIOCMBIC", 0x5417, "IOCTL", false, Ioctls), ("TIOCMSET", 0x5418, "IOCTL", false, Ioctls),
        ("FIONREAD", 0x541b, "IOCTL", false, Ioctls), ("TIOCLINUX", 0x541c, "IOCTL", false, Ioctls), ("TIOCCONS", 0x541d, "IOCTL", false, Ioctls),
        ("TIOCPKT", 0x5420, "IOCTL", false, Ioctls), ("FIONBIO", 0x5421, "IOCTL", false, Ioctls), ("TIOCNOTTY", 0x5422, "IOCTL", false, Ioctls),
        ("TIOCSETD", 0x5423, "IOCTL", false, Ioctls), ("TIOCGETD", 0x5424, "IOCTL", false, Ioctls), ("TCSBRKP", 0x5425, "IOCTL", false, Ioctls),
        ("TIOCSBRK", 0x5427, "IOCTL", false, Ioctls), ("TIOCCBRK", 0x5428, "IOCTL", false, Ioctls), ("TIOCGSID", 0x5429, "IOCTL", false, Ioctls),
        ("TCGETS2", 0x802c542a, "IOCTL", false, Ioctls), ("TCSETS2", 0x402c542b, "IOCTL", false, Ioctls), ("TCSETSW2", 0x402c542c, "IOCTL", false, Ioctls),
        ("TCSETSF2", 0x402c542d, "IOCTL", false, Ioctls), ("TIOCGPTN", 0x80045430, "IOCTL", false, Ioctls), ("TIOCSPTLCK", 0x40045431, "IOCTL", false, Ioctls),
        ("TIOCVHANGUP", 0x5437, "IOCTL", false, Ioctls), ("TIOCGPTPEER", 0x5441, "IOCTL", false, Ioctls), ("FIONCLEX", 0x5450, "IOCTL", false, Ioctls),
        ("FIOCLEX", 0x5451, "IOCTL", false, Ioctls), ("FIOASYNC", 0x5452, "IOCTL", false, Ioctls), ("FIOQSIZE", 0x5460, "IOCTL", false, Ioctls),
        ("FICLONE", 0x40049409, "IOCTL", false, FsIoctls), ("FS_IOC_GETFLAGS", 0x80086601, "IOCTL", false, FsIoctls), ("FS_IOC_SETFLAGS", 0x40086602, "IOCTL", false, FsIoctls),
    ];

    private static readonly ImmutableArray<PolicyConstant> AllConstants =
    [
        .. Table.Select(t => new PolicyConstant(t.Name, t.Value, t.Family, t.Flag, t.Header)),
        .. ErrnoNames.All.Select(p => new PolicyConstant(p.Value, p.Key, "E", false, Errno)),
    ];

    private static readonly FrozenDictionary<string, PolicyConstant> ByName =
        AllConstants.GroupBy(c => c.Name, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, ImmutableArray<PolicyConstant>> ByFamily =
        AllConstants.GroupBy(c => c.Family, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.ToImmutableArray(), StringComparer.Ordinal);

    /// <summary>Every constant, in table order (errno names last).</summary>
    public static ImmutableArray<PolicyConstant> All => AllConstants;

    /// <summary>Looks a constant up by its exact (case-sensitive) C name.</summary>
    public static bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PolicyConstant? constant) =>
        ByName.TryGetValue(name, out constant);

    /// <summary>The constants of one family (<c>AF</c>, <c>O</c>...), in table order; empty for an unknown family.</summary>
    public static ImmutableArray<PolicyConstant> Family(string family) => ByFamily.TryGetValue(family, out var f) ? f : [];

    /// <summary>Up to three known names closest to <paramref name="name"/>, for "did you mean" hints.</summary>
    public static IReadOnlyList<string> Closest(string name) => Suggestions.Closest(name, AllConstants.Select(c => c.Name));
}
