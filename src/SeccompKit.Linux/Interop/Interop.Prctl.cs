using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>prctl(2) operations SeccompKit needs (values from <c>linux/prctl.h</c>).</summary>
internal static partial class Prctl
{
    internal const int PR_SET_PDEATHSIG = 1;
    internal const int PR_GET_SECCOMP = 21;
    internal const int PR_SET_SECCOMP = 22;
    internal const int PR_SET_NO_NEW_PRIVS = 38;
    internal const int PR_GET_NO_NEW_PRIVS = 39;

    /// <summary><c>int prctl(int option, unsigned long arg2, arg3, arg4, arg5)</c>.</summary>
    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    internal static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    /// <summary>prctl without the GC transition, for the launcher's stage two (see <see cref="Seccomp.syscall_nogc"/>).</summary>
    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    [SuppressGCTransition]
    internal static partial int prctl_nogc(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);
}
