namespace SeccompKit.Linux.Kernel;

/// <summary>Flags of <c>seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)</c> (<c>linux/seccomp.h</c>, seccomp(2)).</summary>
[Flags]
public enum SeccompFilterFlags : uint
{
    /// <summary>No flag: the filter applies to the calling thread (and what it later creates).</summary>
    None = 0,
    /// <summary>SECCOMP_FILTER_FLAG_TSYNC (3.17): apply to every thread of the process, or fail naming one that cannot be synchronised.</summary>
    Tsync = 1,
    /// <summary>SECCOMP_FILTER_FLAG_LOG (4.14): log every action but ALLOW to the audit log.</summary>
    Log = 2,
    /// <summary>SECCOMP_FILTER_FLAG_SPEC_ALLOW (4.17): keep speculative store bypass mitigation off.</summary>
    SpecAllow = 4,
    /// <summary>SECCOMP_FILTER_FLAG_NEW_LISTENER (5.0): return a user-notification fd (close-on-exec).</summary>
    NewListener = 8,
    /// <summary>SECCOMP_FILTER_FLAG_TSYNC_ESRCH (5.7): a TSYNC failure returns ESRCH, not a thread id (needed with NEW_LISTENER).</summary>
    TsyncEsrch = 16,
    /// <summary>SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19): once received, a notified syscall only waits killably.</summary>
    WaitKillableRecv = 32,
}
