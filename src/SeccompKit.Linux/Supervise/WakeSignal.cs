using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Notify;
using static SeccompKit.Linux.Interop.Proc;

namespace SeccompKit.Linux.Supervise;

/// <summary>
/// The signal that wakes a supervisor thread blocked in NOTIF_RECV, so that <see cref="NotificationSupervisor.Stop"/>
/// can end a loop that waits in the kernel without a poll(2) before every receive.
/// </summary>
/// <remarks>
/// NOTIF_RECV sleeps interruptibly (kernel/seccomp.c, recv_wait_event: prepare_to_wait_event with TASK_INTERRUPTIBLE)
/// and returns -ERESTARTSYS when a signal is pending: with a handler installed without SA_RESTART the thread gets EINTR,
/// with SA_RESTART the ioctl is made again and the wake-up is lost, and an ignored signal (SIG_IGN, or SIG_DFL of
/// SIGCHLD/SIGWINCH/SIGURG/SIGCONT) is dropped when sent and never wakes it. Every handler .NET installs (System.Native's
/// and the runtime's own) has SA_RESTART, so the supervisor has a signal of its own: real-time signal 62 (glibc keeps
/// 32-34 for itself and the runtime injects activations with SIGRTMIN), whose handler returns at once and is installed
/// without SA_RESTART. A handler must be machine code, and a managed [UnmanagedCallersOnly] method may not run on a
/// thread the signal interrupts in managed code, so the handler is three instructions written once to a page of their
/// own: <c>ret</c> for the handler and <c>mov eax, 15; syscall</c> (rt_sigreturn) as its restorer, which the raw
/// rt_sigaction needs (SA_RESTORER, as glibc passes its __restore_rt). x86_64 only, like the rest of this assembly.
/// The signal is sent only to a thread that is (about to be) in NOTIF_RECV, by tgkill with this process's id.
/// Installed once per process, and only while signal 62 has the default disposition: if the application uses it,
/// <see cref="Available"/> is false and supervisors poll before each receive instead (reported by
/// <see cref="NotificationSupervisor.BlockingReceive"/>).
/// </remarks>
internal static unsafe class WakeSignal
{
    /// <summary>The signal number (SIGRTMIN + 28 with glibc's SIGRTMIN of 34; SIGRTMAX is 64).</summary>
    internal const int Number = 62;

    private static readonly Lazy<string?> Installed = new(Install);

    /// <summary>Whether the no-op handler is installed (installs it at the first use).</summary>
    internal static bool Available => Installed.Value is null;

    /// <summary>Why it is not (null when it is).</summary>
    internal static string? WhyNot => Installed.Value;

    /// <summary>Sends the wake-up to thread <paramref name="tid"/> of this process.</summary>
    internal static void Send(int tid) => tgkill(Environment.ProcessId, tid, Number);

    private static string? Install()
    {
        if (!HostSupport.IsSupported) return "not an x86_64 Linux host";
        kernel_sigaction old;
        // SAFETY: `old` is a local of the kernel's sigaction layout (32 bytes), written by the kernel; sigsetsize 8 as the kernel wants.
        if (rt_sigaction(SYS_rt_sigaction, Number, null, &old, 8) != 0) return $"rt_sigaction({Number}) failed: {Errors.Last()}";
        if (old.handler != SIG_DFL) return $"signal {Number} already has a handler in this process";
        // ret; then the restorer: mov eax, 15 (rt_sigreturn); syscall
        ReadOnlySpan<byte> code = [0xC3, 0x90, 0x90, 0x90, 0xB8, 0x0F, 0x00, 0x00, 0x00, 0x0F, 0x05];
        const nuint Page = 4096;
        // SAFETY: a fresh private anonymous page, written while writable, then made read+execute (never both writable and
        // executable); it stays mapped for the life of the process, as the handler must.
        byte* page = (byte*)mmap(null, Page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == (byte*)-1) return $"mmap failed: {Errors.Last()}";
        code.CopyTo(new Span<byte>(page, code.Length));
        if (mprotect(page, Page, PROT_READ | PROT_EXEC) != 0)
        {
            var e = Errors.Last();
            munmap(page, Page);
            return $"mprotect(PROT_EXEC) refused ({e}): this process may not create executable memory (e.g. MemoryDenyWriteExecute)";
        }
        var act = new kernel_sigaction { handler = (nint)page, flags = SA_RESTORER, restorer = (nint)(page + 4), mask = 0 };
        // SAFETY: `act` is a local of the kernel's layout; the handler and restorer addresses point into the page above.
        if (rt_sigaction(SYS_rt_sigaction, Number, &act, null, 8) != 0)
        {
            var e = Errors.Last();
            munmap(page, Page);
            return $"rt_sigaction({Number}) failed: {e}";
        }
        return null;
    }
}
