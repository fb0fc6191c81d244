using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>Raw seccomp(2) calls. glibc has no wrapper for seccomp, so these go through syscall(2).</summary>
internal static partial class Seccomp
{
    /// <summary><c>__NR_seccomp</c> on x86_64.</summary>
    internal const long SYS_seccomp = 317;

    internal const uint SECCOMP_SET_MODE_STRICT = 0;
    internal const uint SECCOMP_SET_MODE_FILTER = 1;
    internal const uint SECCOMP_GET_ACTION_AVAIL = 2;
    internal const uint SECCOMP_GET_NOTIF_SIZES = 3;

    /// <summary>
    /// <code>struct seccomp_notif_sizes { __u16 seccomp_notif; __u16 seccomp_notif_resp; __u16 seccomp_data; };</code>
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct seccomp_notif_sizes
    {
        internal ushort seccomp_notif;
        internal ushort seccomp_notif_resp;
        internal ushort seccomp_data;
    }

    /// <summary>
    /// <code>struct sock_fprog { unsigned short len; struct sock_filter *filter; };</code> (16 bytes on 64-bit:
    /// the pointer is 8-aligned, so 6 bytes of padding follow <c>len</c>).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct sock_fprog
    {
        internal ushort len;
        internal void* filter;
    }

    /// <summary><c>long syscall(long number, ...)</c>: integer arguments pass in registers as for a fixed-arity call on x86_64.</summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    internal static unsafe partial long syscall(long number, ulong a1, ulong a2, void* a3);

    /// <summary>
    /// The same call without the GC transition. The launcher's stage two uses it between installing a
    /// filter and execve: a normal P/Invoke return may wait for a running GC on a futex, and the new
    /// filter might refuse futex. Only for calls that return at once.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    [SuppressGCTransition]
    internal static unsafe partial long syscall_nogc(long number, ulong a1, ulong a2, void* a3);
}
