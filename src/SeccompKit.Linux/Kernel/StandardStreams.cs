using SeccompKit.Linux.Interop;

namespace SeccompKit.Linux.Kernel;

/// <summary>
/// Makes a process safe to run with a closed standard input, output or error (<c>2&gt;&amp;-</c>). open(2) returns the
/// lowest free descriptor, so with descriptor 2 closed the next file or pipe the process opens becomes "standard
/// error": diagnostics would go into it (a profile being written, the launcher's filter pipe), and .NET's console
/// throws on the closed descriptor instead. The classic fix (daemon(3), and what glibc does for set-user-ID programs
/// at exec) is to open <c>/dev/null</c> onto every closed one of 0, 1 and 2 before anything else opens files:
/// <see cref="Repair"/>, first thing in Main.
/// </summary>
/// <remarks>
/// The .NET runtime opens files before Main (the JIT host's synchronisation pipe, the NativeAOT runtime's
/// <c>/dev/urandom</c>), and those take a closed 0, 1 or 2 too. They are close-on-exec, which an inherited standard
/// stream never is (execve(2) closes those), so they are told apart by FD_CLOEXEC: such a descriptor belongs to the
/// runtime and is left alone (replacing it would break the runtime); the stream counts as closed
/// (<see cref="IsUsable"/> is false: writes to it are dropped, reads see end of file), and a program the launcher
/// starts gets <c>/dev/null</c> there (<see cref="RuntimeOwned"/>).
/// </remarks>
public static class StandardStreams
{
    private static int _runtimeOwned; // bit n: descriptor n was the runtime's at Repair
    private static int _reopened;     // bit n: descriptor n was closed and now reads and writes /dev/null

    /// <summary>
    /// Opens <c>/dev/null</c> onto each of descriptors 0, 1 and 2 that is closed, and notes the ones the runtime took
    /// before Main. Call it first thing in Main, before anything opens a file. Idempotent; never throws (a
    /// descriptor that cannot be repaired, e.g. no <c>/dev/null</c>, is reported by <see cref="IsUsable"/>).
    /// </summary>
    public static void Repair()
    {
        for (int fd = 0; fd <= 2; fd++)
        {
            var (flags, errno) = Errors.RetryEintr(() => Proc.fcntl(fd, Proc.F_GETFD, 0));
            if (flags >= 0)
            {
                if ((flags & Proc.FD_CLOEXEC) != 0 && (_reopened & (1 << fd)) == 0) _runtimeOwned |= 1 << fd;
                continue;
            }
            if (errno != Errno.EBADF) continue;
            // The lowest free descriptor is this one: every lower one is open (checked first, or the runtime's).
            // Not close-on-exec, and never closed: it is this process's standard stream from now on, as an inherited
            // one would be, so it is deliberately not wrapped in an owning SafeHandle.
            var (opened, _) = Errors.RetryEintr(() => Proc.open("/dev/null", Proc.O_RDWR));
            if (opened == fd) _reopened |= 1 << fd;
            else if (opened >= 0) Proc.close(opened); // cannot happen (see above); never leave a stray descriptor
            else _runtimeOwned |= 1 << fd; // no /dev/null (a bare chroot): the stream stays unusable
        }
    }

    /// <summary>
    /// Whether descriptor <paramref name="fd"/> (0, 1 or 2) is a real standard stream after <see cref="Repair"/>:
    /// false when the runtime took it because it was closed at start (writing to it would write into the runtime's
    /// own file).
    /// </summary>
    public static bool IsUsable(int fd) => (_runtimeOwned & (1 << fd)) == 0;

    /// <summary>Whether descriptor <paramref name="fd"/> (0, 1 or 2) was closed at start and now is <c>/dev/null</c>.</summary>
    public static bool WasClosed(int fd) => ((_runtimeOwned | _reopened) & (1 << fd)) != 0;

    /// <summary>
    /// Writes <paramref name="text"/> (UTF-8) to descriptor 2 with write(2) directly, for when .NET's console cannot be
    /// used (it could not start: no descriptor or thread left) or must not be (a limit refusal before anything loads).
    /// Drops what cannot be written.
    /// </summary>
    public static unsafe void WriteError(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!IsUsable(2)) return;
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
        {
            for (int done = 0; done < bytes.Length;)
            {
                // SAFETY: `p` pins `bytes` for the loop; [done, Length) is inside it.
                var (n, _) = Errors.RetryEintr(((nint)(p + done), (nuint)(bytes.Length - done)), static a => Proc.write(2, (void*)a.Item1, a.Item2));
                if (n <= 0) return;
                done += (int)n;
            }
        }
    }

    /// <summary>The standard descriptors that are the runtime's (see <see cref="IsUsable"/>): a child gets <c>/dev/null</c> there.</summary>
    internal static IEnumerable<int> RuntimeOwned => Enumerable.Range(0, 3).Where(fd => !IsUsable(fd));
}
