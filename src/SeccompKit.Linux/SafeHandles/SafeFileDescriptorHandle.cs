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
}
