using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>
/// Process creation, waiting and the fd calls of the launcher (glibc, x86_64). posix_spawn runs the
/// child natively (clone(CLONE_VM|CLONE_VFORK) + execve inside glibc), so no managed code ever runs in
/// a forked child.
/// </summary>
internal static partial class Proc
{
    internal const int O_RDONLY = 0;
    internal const int O_RDWR = 2;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;
    internal const int F_GETFD = 1;
    internal const int F_SETFD = 2;
    internal const int FD_CLOEXEC = 1;
    internal const int SEEK_END = 2;
    internal const int SIGKILL = 9;
    internal const int SIGPIPE = 13;
    internal const int SIGSYS = 31;

    /// <summary>glibc's <c>posix_spawn_file_actions_t</c> is 80 bytes on x86_64; we reserve more and never read it.</summary>
    internal const int FileActionsSize = 256;

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    internal static unsafe partial int posix_spawn_file_actions_init(void* actions);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    internal static unsafe partial int posix_spawn_file_actions_destroy(void* actions);

    /// <summary>With <c>fd == newfd</c> glibc (2.35+) clears FD_CLOEXEC in the child only (POSIX.1-2024).</summary>
    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    internal static unsafe partial int posix_spawn_file_actions_adddup2(void* actions, int fd, int newfd);

    /// <summary><c>int posix_spawn_file_actions_addopen(actions, int fd, const char *path, int oflag, mode_t mode)</c>: the child opens <c>path</c> onto <c>fd</c>.</summary>
    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addopen")]
    internal static unsafe partial int posix_spawn_file_actions_addopen(void* actions, int fd, byte* path, int oflag, uint mode);

    /// <summary><c>int posix_spawn(pid_t *pid, const char *path, actions, attrp, char *const argv[], char *const envp[])</c>: returns an errno, not -1.</summary>
    [LibraryImport("libc", EntryPoint = "posix_spawn")]
    internal static unsafe partial int posix_spawn(int* pid, byte* path, void* actions, void* attrp, byte** argv, byte** envp);

    /// <summary>execve with the GC transition: for a stage-two thread that may wait in a notified execve (a GC can run meanwhile).</summary>
    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    internal static unsafe partial int execve(byte* path, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    [SuppressGCTransition]
    internal static unsafe partial int execve_nogc(byte* path, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int kill(int pid, int sig);

    /// <summary>waitid idtype: the process whose pid is <c>id</c>.</summary>
    internal const int P_PID = 1;
    /// <summary>waitid option: report children that exited or were killed.</summary>
    internal const int WEXITED = 4;
    /// <summary>waitid option: leave the child waitable (a zombie), so a later wait reaps it.</summary>
    internal const int WNOWAIT = 0x01000000;

    /// <summary><c>int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options)</c>.</summary>
    [LibraryImport("libc", EntryPoint = "waitid", SetLastError = true)]
    internal static unsafe partial int waitid(int idtype, int id, Ptrace.siginfo_t* infop, int options);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    internal static unsafe partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int access(string path, int mode);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    internal static unsafe partial nint read(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    internal static unsafe partial nint write(int fd, void* buf, nuint count);

    /// <summary>write without the GC transition: stage two's last word after a failed execve, with the filter already on.</summary>
    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    [SuppressGCTransition]
    internal static unsafe partial nint write_nogc(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    internal static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd, int arg);

    internal const long SYS_rt_sigaction = 13;
    internal const nint SIG_DFL = 0;
    internal const nint SIG_IGN = 1;

    /// <summary>
    /// <code>struct kernel_sigaction { void *handler; unsigned long flags; void *restorer; sigset_t mask; };</code>
    /// (32 bytes, the kernel's layout, not glibc's).
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct kernel_sigaction
    {
        internal nint handler;
        internal ulong flags;
        internal nint restorer;
        internal ulong mask;
    }

    /// <summary>
    /// Raw <c>rt_sigaction(sig, act, oact, 8)</c>: glibc's sigaction refuses its internal signals 32 and 33, whose
    /// dispositions the launcher must still be able to reset.
    /// </summary>
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    internal static unsafe partial long rt_sigaction(long number, long sig, kernel_sigaction* act, kernel_sigaction* oact, long sigsetsize);

    [LibraryImport("libc", EntryPoint = "_exit")]
    [SuppressGCTransition]
    internal static partial void _exit_nogc(int status);

    /// <summary><c>uid_t geteuid(void)</c>: never fails.</summary>
    [LibraryImport("libc", EntryPoint = "geteuid")]
    internal static partial uint geteuid();

    /// <summary><c>gid_t getegid(void)</c>: never fails.</summary>
    [LibraryImport("libc", EntryPoint = "getegid")]
    internal static partial uint getegid();

    [LibraryImport("libc", EntryPoint = "gettid")]
    internal static partial int gettid();

    /// <summary>The address of glibc's <c>char **environ</c>: the environment exactly as this process received it
    /// (.NET's Environment.SetEnvironmentVariable keeps a managed copy and never changes it).</summary>
    internal static unsafe byte*** EnvironAddress()
    {
        nint libc = NativeLibrary.Load("libc.so.6");
        return (byte***)NativeLibrary.GetExport(libc, "environ");
    }

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="s"/> in native memory; free it with NativeMemory.Free.</summary>
    internal static unsafe byte* Utf8(string s)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        fixed (char* c = s) System.Text.Encoding.UTF8.GetBytes(c, s.Length, p, n);
        p[n] = 0;
        return p;
    }
}
