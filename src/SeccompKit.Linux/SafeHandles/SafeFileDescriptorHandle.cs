using System.Runtime.InteropServices;

namespace SeccompKit.Linux.SafeHandles;

/// <summary>
/// An owned Linux file descriptor (a notification listener, a pipe end, a netlink socket): closed exactly
/// once, when disposed or finalised. Any value below 0 is invalid.
/// </summary>
public sealed class SafeFileDescriptorHandle : SafeHandle
{
    /// <summary>Creates an invalid handle (for marshalling).</summary>
    public SafeFileDescriptorHandle() : base(-1, ownsHandle: true) { }

    /// <summary>Takes ownership of <paramref name="fd"/> (or not, when <paramref name="ownsHandle"/> is false).</summary>
    public SafeFileDescriptorHandle(int fd, bool ownsHandle = true) : base(-1, ownsHandle) => SetHandle(fd);

    /// <summary>The descriptor number.</summary>
    public int Fd => (int)DangerousGetHandle();

    /// <inheritdoc/>
    public override bool IsInvalid => (long)handle < 0;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Interop.Proc.close((int)handle) == 0;

    /// <summary>A pipe whose two ends are close-on-exec (pipe2(2) with O_CLOEXEC): read end, write end.</summary>
    /// <exception cref="ErrnoException">The kernel refused (EMFILE, ENFILE).</exception>
    internal static unsafe (SafeFileDescriptorHandle Read, SafeFileDescriptorHandle Write) CreatePipe()
    {
        int* fds = stackalloc int[2];
        // SAFETY: `fds` is 2 ints of stack memory for the kernel to fill.
        if (Interop.Proc.pipe2(fds, Interop.Proc.O_CLOEXEC) != 0) throw new ErrnoException("pipe2", (Errno)Marshal.GetLastPInvokeError(), "");
        return (new SafeFileDescriptorHandle(fds[0]), new SafeFileDescriptorHandle(fds[1]));
    }

    /// <summary>A connected pair of close-on-exec unix stream sockets (socketpair(2) with SOCK_CLOEXEC).</summary>
    /// <exception cref="ErrnoException">The kernel refused (EMFILE, ENFILE).</exception>
    internal static unsafe (SafeFileDescriptorHandle First, SafeFileDescriptorHandle Second) CreateSocketPair()
    {
        int* fds = stackalloc int[2];
        // SAFETY: `fds` is 2 ints of stack memory for the kernel to fill.
        if (Interop.Notify.socketpair(Interop.Notify.AF_UNIX, Interop.Notify.SOCK_STREAM | Interop.Notify.SOCK_CLOEXEC, 0, fds) != 0)
            throw new ErrnoException("socketpair", (Errno)Marshal.GetLastPInvokeError(), "");
        return (new SafeFileDescriptorHandle(fds[0]), new SafeFileDescriptorHandle(fds[1]));
    }
}
