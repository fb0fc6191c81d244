using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>Resource limits: getrlimit(2) and setrlimit(2) (glibc, x86_64: 64-bit rlim_t).</summary>
internal static partial class Limits
{
    internal const int RLIMIT_STACK = 3;
    internal const int RLIMIT_NPROC = 6;
    internal const int RLIMIT_NOFILE = 7;
    internal const ulong RLIM_INFINITY = ulong.MaxValue;

    // C names verbatim (STYLE: man pages read straight against the code), though lower-case type names draw CS8981.
#pragma warning disable CS8981
    [StructLayout(LayoutKind.Sequential)]
    internal struct rlimit
    {
        public ulong rlim_cur;
        public ulong rlim_max;
    }
#pragma warning restore CS8981

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    internal static unsafe partial int getrlimit(int resource, rlimit* rlim);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    internal static unsafe partial int setrlimit(int resource, rlimit* rlim);

    /// <summary><c>uid_t getuid(void)</c>: the real user id, which RLIMIT_NPROC counts against; never fails.</summary>
    [LibraryImport("libc", EntryPoint = "getuid")]
    internal static partial uint getuid();
}
