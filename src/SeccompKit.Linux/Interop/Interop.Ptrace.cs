using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>
/// ptrace(2) and waitpid(2), as much of them as reading another process's filters needs. Names and values are
/// the C ones (x86_64 glibc and <c>linux/ptrace.h</c>); <c>DumpInteropSpecs</c> compares them with the
/// headers by compiling a C program. A tracer is one thread, not a process: every request for a tracee must
/// come from the thread that attached, and the kernel detaches the tracees of a thread when it exits.
/// </summary>
internal static partial class Ptrace
{
    /// <summary>Resumes and detaches a stopped tracee; <c>data</c> is the signal to deliver (0: none).</summary>
    internal const int PTRACE_DETACH = 17;

    /// <summary>Copies the siginfo of the current stop into <c>data</c> (a <see cref="siginfo_t"/>).</summary>
    internal const int PTRACE_GETSIGINFO = 0x4202;

    /// <summary>Attaches without stopping the tracee or sending it a signal (3.4+); <c>data</c> = options (none here).</summary>
    internal const int PTRACE_SEIZE = 0x4206;

    /// <summary>Stops a seized tracee: it reports a PTRACE_EVENT_STOP, or an earlier pending stop.</summary>
    internal const int PTRACE_INTERRUPT = 0x4207;

    /// <summary>
    /// Copies filter <c>addr</c> of a stopped tracee into <c>data</c> (or, with <c>data</c> NULL, only returns its
    /// length in instructions) (4.4+, CONFIG_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, caller not under seccomp).
    /// The kernel counts <c>addr</c> from the <b>oldest</b> filter (index 0 = first installed), whatever
    /// ptrace(2) says; see docs/KERNEL-FINDINGS.md.
    /// </summary>
    internal const int PTRACE_SECCOMP_GET_FILTER = 0x420c;

    /// <summary>The event of a group-stop or PTRACE_INTERRUPT stop of a seized tracee: <c>status &gt;&gt; 16</c>.</summary>
    internal const int PTRACE_EVENT_STOP = 128;

    /// <summary>waitpid option: return 0 at once when nothing is to be reported.</summary>
    internal const int WNOHANG = 1;

    /// <summary>waitpid option: wait for every kind of child and tracee, whatever its exit signal.</summary>
    internal const int __WALL = 0x40000000;

    /// <summary>
    /// The head of <c>siginfo_t</c>, padded to the kernel's 128 bytes:
    /// <code>typedef struct { int si_signo; int si_errno; int si_code; union { ... } _sifields; } siginfo_t; /* 128 bytes */</code>
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Size = 128)]
    internal struct siginfo_t
    {
        internal int si_signo;
        internal int si_errno;
        internal int si_code;
    }

    /// <summary>
    /// <c>long ptrace(enum __ptrace_request request, pid_t pid, void *addr, void *data)</c>. glibc declares it
    /// variadic; on x86_64 integer and pointer arguments go in the same registers either way, and glibc's
    /// wrapper reads exactly these four. Returns -1 with errno set on failure.
    /// </summary>
    [LibraryImport("libc", SetLastError = true)]
    internal static partial long ptrace(int request, int pid, nint addr, nint data);

    /// <summary><c>pid_t waitpid(pid_t pid, int *wstatus, int options)</c>.</summary>
    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int waitpid(int pid, int* wstatus, int options);

    /// <summary><c>WIFSTOPPED(status)</c>.</summary>
    internal static bool WIFSTOPPED(int status) => (status & 0xff) == 0x7f;

    /// <summary><c>WSTOPSIG(status)</c>.</summary>
    internal static int WSTOPSIG(int status) => (status >> 8) & 0xff;

    /// <summary><c>WIFEXITED(status)</c>.</summary>
    internal static bool WIFEXITED(int status) => (status & 0x7f) == 0;

    /// <summary><c>WEXITSTATUS(status)</c>.</summary>
    internal static int WEXITSTATUS(int status) => (status >> 8) & 0xff;

    /// <summary><c>WIFSIGNALED(status)</c>.</summary>
    internal static bool WIFSIGNALED(int status) => (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;

    /// <summary><c>WTERMSIG(status)</c>.</summary>
    internal static int WTERMSIG(int status) => status & 0x7f;

    /// <summary><c>WCOREDUMP(status)</c>.</summary>
    internal static bool WCOREDUMP(int status) => (status & 0x80) != 0;

    /// <summary>The ptrace event of a stop: <c>status &gt;&gt; 16</c> (0 for a signal-delivery-stop).</summary>
    internal static int PtraceEvent(int status) => (status >> 16) & 0xff;
}
