using SeccompKit.Bpf;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.Prctl;
using static SeccompKit.Linux.Interop.Seccomp;

namespace SeccompKit.Linux.Kernel;

/// <summary>The seccomp mode of a thread, as <c>prctl(PR_GET_SECCOMP)</c> and <c>/proc/PID/status</c> report it.</summary>
public enum SeccompMode
{
    /// <summary>SECCOMP_MODE_DISABLED: no filter.</summary>
    Disabled = 0,
    /// <summary>SECCOMP_MODE_STRICT: only read, write, _exit and sigreturn.</summary>
    Strict = 1,
    /// <summary>SECCOMP_MODE_FILTER: at least one BPF filter.</summary>
    Filter = 2,
}

/// <summary>A thread of this process could not take the new filter (TSYNC), so no thread got it.</summary>
public sealed class ThreadSynchronizationException : SeccompException
{
    /// <summary>Creates the exception for the thread <paramref name="threadId"/>.</summary>
    public ThreadSynchronizationException(int threadId, string? threadName)
        : base(threadId > 0
            ? $"seccomp(TSYNC): thread {threadId}{(threadName is null ? "" : $" ({threadName})")} cannot be synchronised: its filter stack is not an ancestor of the caller's " +
              "(it installed a filter of its own) or it is in strict mode; no thread was filtered. Install the filter before that thread adds its own, or from that thread"
            : "seccomp(TSYNC): some thread cannot be synchronised (the kernel did not say which: TSYNC_ESRCH); no thread was filtered")
    {
        ThreadId = threadId;
        ThreadName = threadName;
    }

    /// <summary>The thread id the kernel named (0 when it returned ESRCH instead).</summary>
    public int ThreadId { get; }

    /// <summary>Its name from <c>/proc/self/task/TID/comm</c>, when it could be read.</summary>
    public string? ThreadName { get; }
}

/// <summary>How <see cref="SeccompKernel.ApplyToCurrentProcess"/> installs a filter.</summary>
public sealed record ProcessFilterOptions
{
    /// <summary>Also set <c>FLAG_LOG</c>: every action but ALLOW goes to the audit log.</summary>
    public bool Log { get; init; }

    /// <summary>Set <c>FLAG_SPEC_ALLOW</c>.</summary>
    public bool SpecAllow { get; init; }
}

/// <summary>
/// seccomp(2) and the prctl(2) calls around it, for the calling thread or the whole process. Errors are
/// <see cref="ErrnoException"/>s whose message says what to do; EINTR never escapes.
/// </summary>
public static class SeccompKernel
{
    /// <summary><c>prctl(PR_GET_NO_NEW_PRIVS)</c>: is no_new_privs set on the calling thread?</summary>
    public static bool NoNewPrivileges
    {
        get
        {
            HostSupport.EnsureSupported();
            return Errors.Check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), "prctl(PR_GET_NO_NEW_PRIVS)") == 1;
        }
    }

    /// <summary>
    /// <c>prctl(PR_SET_NO_NEW_PRIVS, 1)</c>: execve can no longer grant privileges (setuid, file capabilities).
    /// Required before installing a filter without CAP_SYS_ADMIN; inherited and never unset.
    /// </summary>
    public static void SetNoNewPrivileges()
    {
        HostSupport.EnsureSupported();
        Errors.Check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)",
            e => e == Errno.EINVAL ? "this kernel predates 3.5" : "a security module refused it");
    }

    /// <summary><c>prctl(PR_GET_SECCOMP)</c>: the calling thread's mode.</summary>
    public static SeccompMode Mode
    {
        get
        {
            HostSupport.EnsureSupported();
            return (SeccompMode)Errors.Check(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), "prctl(PR_GET_SECCOMP)",
                e => e == Errno.EINVAL ? "this kernel has no CONFIG_SECCOMP" : "");
        }
    }

    /// <summary>
    /// <c>seccomp(SECCOMP_SET_MODE_FILTER, flags, &amp;prog)</c>. Returns the listener fd with
    /// <see cref="SeccompFilterFlags.NewListener"/>, else null. Throws <see cref="ThreadSynchronizationException"/>
    /// when TSYNC names a thread, and <see cref="ErrnoException"/> for every other refusal.
    /// </summary>
    public static SafeFileDescriptorHandle? InstallFilter(BpfProgram program, SeccompFilterFlags flags = SeccompFilterFlags.None)
    {
        ArgumentNullException.ThrowIfNull(program);
        HostSupport.EnsureSupported();
        byte[] raw = program.ToRaw();
        long r;
        unsafe
        {
            fixed (byte* p = raw)
            {
                var fprog = new sock_fprog { len = (ushort)program.Length, filter = p };
                // SAFETY: `fprog` and the pinned `raw` it points at live until the call returns; the kernel copies
                // the program (len × 8 bytes) before returning and keeps no pointer to our memory.
                r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (ulong)flags, &fprog);
            }
        }
        if (r < 0) throw InstallError(Errors.Last(), flags, program.Length);
        if ((flags & SeccompFilterFlags.Tsync) != 0 && (flags & SeccompFilterFlags.NewListener) == 0 && r > 0)
            throw new ThreadSynchronizationException((int)r, ThreadName((int)r));
        return (flags & SeccompFilterFlags.NewListener) != 0 ? new SafeFileDescriptorHandle((int)r) : null;
    }

    /// <summary>
    /// Filters every thread of this .NET process, now and later (threads created afterwards inherit it):
    /// sets no_new_privs, then installs <paramref name="program"/> with TSYNC. If a thread cannot be
    /// synchronised, no thread is filtered and <see cref="ThreadSynchronizationException"/> names it.
    /// There is no way back: filters stay until the process ends.
    /// </summary>
    public static void ApplyToCurrentProcess(BpfProgram program, ProcessFilterOptions? options = null)
    {
        options ??= new ProcessFilterOptions();
        HostSupport.EnsureSupported();
        if (!NoNewPrivileges) SetNoNewPrivileges();
        var flags = SeccompFilterFlags.Tsync
            | (options.Log ? SeccompFilterFlags.Log : 0)
            | (options.SpecAllow ? SeccompFilterFlags.SpecAllow : 0);
        InstallFilter(program, flags);
    }

    /// <summary>The advice for a refused install, by errno (seccomp(2) ERRORS).</summary>
    internal static ErrnoException InstallError(Errno errno, SeccompFilterFlags flags, int length) =>
        new("seccomp(SECCOMP_SET_MODE_FILTER)", errno, errno switch
        {
            Errno.EACCES => "no_new_privs is not set and the caller lacks CAP_SYS_ADMIN: set no_new_privs first (prctl(PR_SET_NO_NEW_PRIVS))",
            Errno.EINVAL => $"the kernel refused the program or the flags ({flags}): check the flags with `seccompkit features` and the program with `seccompkit check`",
            Errno.ENOMEM => $"the filters already installed plus this one ({length} instructions) exceed the kernel's limit of 32768 instructions per task (each filter costs its converted eBPF length + 4; see BpfProgram.KernelLength)",
            Errno.EBUSY => "another filter in this stack already has a notification listener (only one is allowed)",
            Errno.ESRCH => "a thread could not be synchronised (TSYNC_ESRCH)",
            Errno.EFAULT => "the program was not readable (a SeccompKit bug)",
            _ => "",
        });

    private static string? ThreadName(int tid)
    {
        try { return File.ReadAllText($"/proc/self/task/{tid}/comm").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
