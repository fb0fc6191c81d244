using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>
/// ptrace(2) and waitpid(2), as much of them as reading another process's filters (and leaving it as it was) needs. Names and values are
/// the C ones (x86_64 glibc and <c>linux/ptrace.h</c>); <c>DumpInteropSpecs</c> compares them with the
/// headers by compiling a C program. A tracer is one thread, not a process: every request for a tracee must
/// come from the thread that attached, and the kernel detaches the tracees of a thread when it exits.
/// </summary>
internal static partial class Ptrace
{
    /// <summary>Resumes and detaches a stopped tracee; <c>data</c> is the signal to deliver (0: none).</summary>
    internal const int PTRACE_DETACH = 17;

    /// <summary>Resumes a stopped tracee until its next system-call entry or exit (a syscall-stop); <c>data</c> = signal.</summary>
    internal const int PTRACE_SYSCALL = 24;

    /// <summary>Sets the PTRACE_O_* options of a stopped tracee (<c>data</c>); replaces all earlier options.</summary>
    internal const int PTRACE_SETOPTIONS = 0x4200;

    /// <summary>Reads a register set (<c>addr</c> = NT_*) of a stopped tracee into the <see cref="iovec"/> at <c>data</c>.</summary>
    internal const int PTRACE_GETREGSET = 0x4204;

    /// <summary>Writes a register set (<c>addr</c> = NT_*) of a stopped tracee from the <see cref="iovec"/> at <c>data</c>.</summary>
    internal const int PTRACE_SETREGSET = 0x4205;

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

    /// <summary>
    /// Describes the current stop of a tracee into a <see cref="ptrace_syscall_info"/> at <c>data</c> (<c>addr</c> = its
    /// size) (5.3+): whether it is a syscall-entry or -exit stop, and the ABI (<c>arch</c>) of the system call the
    /// thread is in. The arch follows the thread's TS_COMPAT status, so it is AUDIT_ARCH_I386 for a call made with
    /// <c>int 0x80</c>, also at a PTRACE_EVENT_STOP (docs/KERNEL-FINDINGS.md).
    /// </summary>
    internal const int PTRACE_GET_SYSCALL_INFO = 0x420e;

    /// <summary>The event of a group-stop or PTRACE_INTERRUPT stop of a seized tracee: <c>status &gt;&gt; 16</c>.</summary>
    internal const int PTRACE_EVENT_STOP = 128;

    /// <summary>Option: report syscall-stops as <c>SIGTRAP | 0x80</c>, so they cannot be mistaken for a real SIGTRAP.</summary>
    internal const int PTRACE_O_TRACESYSGOOD = 1;

    /// <summary>
    /// Option: the tracee's seccomp filters are not run while this option is set (<c>__secure_computing</c> returns at
    /// once for a task with PT_SUSPEND_SECCOMP). Needs CAP_SYS_ADMIN and a tracer that is not itself under seccomp —
    /// exactly what PTRACE_SECCOMP_GET_FILTER needs — and CONFIG_CHECKPOINT_RESTORE. Made for CRIU; the kernel drops it
    /// (with every other option) when the tracer detaches or its thread exits.
    /// </summary>
    internal const int PTRACE_O_SUSPEND_SECCOMP = 1 << 21;

    /// <summary>The general-purpose register set (<c>struct user_regs_struct</c>) for PTRACE_GETREGSET.</summary>
    internal const int NT_PRSTATUS = 1;

    /// <summary><see cref="ptrace_syscall_info.op"/> of a stop that is neither a syscall-stop nor a seccomp stop.</summary>
    internal const byte PTRACE_SYSCALL_INFO_NONE = 0;

    /// <summary><see cref="ptrace_syscall_info.op"/> of a syscall-entry stop.</summary>
    internal const byte PTRACE_SYSCALL_INFO_ENTRY = 1;

    /// <summary><see cref="ptrace_syscall_info.op"/> of a syscall-exit stop.</summary>
    internal const byte PTRACE_SYSCALL_INFO_EXIT = 2;

    /// <summary>SIGTRAP: the signal of the stops PTRACE_INTERRUPT causes (and, with 0x80, of syscall-stops).</summary>
    internal const int SIGTRAP = 5;

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
    /// x86_64 <c>struct user_regs_struct</c> (<c>sys/user.h</c>), the NT_PRSTATUS register set: 27 unsigned longs, 216 bytes.
    /// <c>orig_rax</c> is the number of the system call the thread is in (-1: none), <c>rax</c> its return value.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct user_regs_struct
    {
        internal ulong r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
        internal ulong rax, rcx, rdx, rsi, rdi, orig_rax;
        internal ulong rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
    }

#pragma warning disable CS8981 // C names verbatim (STYLE)
    /// <summary><c>struct iovec { void *iov_base; size_t iov_len; }</c>, as PTRACE_GETREGSET takes it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct iovec
    {
        internal nint iov_base;
        internal nuint iov_len;
    }
#pragma warning restore CS8981

    /// <summary>
    /// The head of <c>struct ptrace_syscall_info</c> (<c>linux/ptrace.h</c>), 88 bytes:
    /// <code>struct ptrace_syscall_info { __u8 op; __u8 reserved; __u16 flags; __u32 arch; __u64 instruction_pointer;
    ///   __u64 stack_pointer; union { struct { __u64 nr; __u64 args[6]; } entry; struct { __s64 rval; __u8 is_error; } exit; ... }; };</code>
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Size = 88)]
    internal struct ptrace_syscall_info
    {
        internal byte op;
        internal byte reserved;
        internal ushort flags;
        internal uint arch;
        internal ulong instruction_pointer;
        internal ulong stack_pointer;
        /// <summary><c>entry.nr</c> at a syscall-entry stop, <c>exit.rval</c> at an exit stop.</summary>
        internal ulong nr_or_rval;
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

    /// <summary><c>waitpid(pid, &amp;status, options)</c> into an out parameter; -1 with errno set on failure.</summary>
    internal static int waitpid(int pid, out int status, int options)
    {
        int s = 0;
        int r;
        unsafe
        {
            // SAFETY: `s` is a local that outlives the call; waitpid writes one int to it.
            r = waitpid(pid, &s, options);
        }
        status = s;
        return r;
    }

    /// <summary>
    /// PTRACE_GETREGSET NT_PRSTATUS of a stopped tracee; -1 with errno set on failure. <paramref name="length"/> is the
    /// size the kernel filled: 216 for a thread in 64-bit mode, 68 (the i386 <c>struct user_regs_struct</c>, which
    /// <paramref name="regs"/> does not describe) for one running 32-bit code.
    /// </summary>
    internal static long GetRegs(int tid, out user_regs_struct regs, out int length)
    {
        user_regs_struct r = default;
        long result;
        nuint filled;
        unsafe
        {
            // SAFETY: `r` and `iov` are locals that outlive the call; the kernel writes at most iov_len bytes
            // (sizeof(struct user_regs_struct), 216) to iov_base and updates iov_len.
            var iov = new iovec { iov_base = (nint)(&r), iov_len = (nuint)sizeof(user_regs_struct) };
            result = ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, (nint)(&iov));
            filled = iov.iov_len;
        }
        regs = r;
        length = (int)filled;
        return result;
    }

    /// <summary>PTRACE_SETREGSET NT_PRSTATUS of a stopped tracee; -1 with errno set on failure.</summary>
    internal static long SetRegs(int tid, user_regs_struct regs)
    {
        unsafe
        {
            // SAFETY: as in GetRegs; the kernel reads iov_len bytes from iov_base (the parameter's copy `regs`).
            var iov = new iovec { iov_base = (nint)(&regs), iov_len = (nuint)sizeof(user_regs_struct) };
            return ptrace(PTRACE_SETREGSET, tid, NT_PRSTATUS, (nint)(&iov));
        }
    }

    /// <summary>PTRACE_GET_SYSCALL_INFO of a stopped tracee; the bytes written, or -1 with errno set.</summary>
    internal static long GetSyscallInfo(int tid, out ptrace_syscall_info info)
    {
        ptrace_syscall_info i = default;
        long result;
        unsafe
        {
            // SAFETY: `i` is a local of 88 bytes, the size passed in addr; the kernel copies at most that much.
            result = ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(ptrace_syscall_info), (nint)(&i));
        }
        info = i;
        return result;
    }

    /// <summary>PTRACE_GETSIGINFO of a stopped tracee; -1 with errno set on failure (EINVAL in a group stop of a non-seized tracee).</summary>
    internal static long GetSigInfo(int tid, out siginfo_t info)
    {
        siginfo_t i = default;
        long result;
        unsafe
        {
            // SAFETY: `i` is a local of the kernel's 128-byte siginfo_t size; it outlives the call.
            result = ptrace(PTRACE_GETSIGINFO, tid, 0, (nint)(&i));
        }
        info = i;
        return result;
    }

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
