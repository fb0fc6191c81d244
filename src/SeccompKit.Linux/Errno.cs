namespace SeccompKit.Linux;

/// <summary>
/// Linux errno values (x86_64, <c>include/uapi/asm-generic/errno-base.h</c> and <c>errno.h</c>) that the
/// seccomp calls document. Any other value is kept as its number: cast it to <see cref="Errno"/>.
/// </summary>
public enum Errno
{
    /// <summary>Operation not permitted.</summary>
    EPERM = 1,
    /// <summary>No such file or directory; for NOTIF_SEND: the target was interrupted.</summary>
    ENOENT = 2,
    /// <summary>No such process.</summary>
    ESRCH = 3,
    /// <summary>Interrupted system call (retried inside SeccompKit, never surfaced).</summary>
    EINTR = 4,
    /// <summary>I/O error; for ptrace: a request this kernel does not know (PTRACE_SECCOMP_GET_FILTER without CONFIG_CHECKPOINT_RESTORE).</summary>
    EIO = 5,
    /// <summary>Exec format error.</summary>
    ENOEXEC = 8,
    /// <summary>Bad file descriptor.</summary>
    EBADF = 9,
    /// <summary>No child processes; for waitpid: the process is no longer waitable by the caller.</summary>
    ECHILD = 10,
    /// <summary>Try again.</summary>
    EAGAIN = 11,
    /// <summary>Out of memory; for seccomp: the stack exceeds MAX_INSNS_PER_PATH.</summary>
    ENOMEM = 12,
    /// <summary>Permission denied; for seccomp: no_new_privs unset without CAP_SYS_ADMIN.</summary>
    EACCES = 13,
    /// <summary>Bad address.</summary>
    EFAULT = 14,
    /// <summary>Not a directory (a path component is a file).</summary>
    ENOTDIR = 20,
    /// <summary>File exists.</summary>
    EEXIST = 17,
    /// <summary>No space left on device.</summary>
    ENOSPC = 28,
    /// <summary>Read-only file system.</summary>
    EROFS = 30,
    /// <summary>Too many levels of symbolic links; for open with O_NOFOLLOW: the last component is a link.</summary>
    ELOOP = 40,
    /// <summary>Disk quota exceeded.</summary>
    EDQUOT = 122,
    /// <summary>Busy; for NEW_LISTENER: a listener already exists in the stack.</summary>
    EBUSY = 16,
    /// <summary>Invalid argument; for seccomp: the filter was refused by the validator.</summary>
    EINVAL = 22,
    /// <summary>Too many open files (RLIMIT_NOFILE); for NOTIF_ADDFD: the target has no free descriptor.</summary>
    EMFILE = 24,
    /// <summary>Inappropriate ioctl for device; for the notification ioctls: a request this kernel does not know.</summary>
    ENOTTY = 25,
    /// <summary>Broken pipe: the reading end is closed.</summary>
    EPIPE = 32,
    /// <summary>Function not implemented.</summary>
    ENOSYS = 38,
    /// <summary>Operation not supported; for GET_ACTION_AVAIL: the action is unknown to this kernel.</summary>
    EOPNOTSUPP = 95,
    /// <summary>Operation in progress; for NOTIF_SEND: the notification was already answered, or an ADDFD is under way.</summary>
    EINPROGRESS = 115,
    /// <summary>Wrong medium type; for PTRACE_SECCOMP_GET_FILTER: the filter is not classic BPF, so the kernel kept no copy of its instructions.</summary>
    EMEDIUMTYPE = 124,
}

/// <summary>A system call failed; <see cref="Errno"/> keeps the raw value.</summary>
public sealed class ErrnoException : SeccompException
{
    /// <summary>Creates the exception for a failed call.</summary>
    public ErrnoException(string call, Errno errno, string advice)
        : base($"{call} failed: {Name(errno)} ({(int)errno}){(advice.Length > 0 ? ": " + advice : "")}")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>The call that failed, e.g. <c>seccomp(SECCOMP_GET_NOTIF_SIZES)</c>.</summary>
    public string Call { get; }

    /// <summary>The error.</summary>
    public Errno Errno { get; }

    private static string Name(Errno e) => SeccompKit.Bpf.ErrnoNames.TryGetName((int)e, out var n) ? n : "errno";
}
