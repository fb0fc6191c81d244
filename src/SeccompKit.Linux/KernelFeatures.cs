using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Seccomp;

namespace SeccompKit.Linux;

/// <summary>Sizes of the user-notification structures as the running kernel defines them.</summary>
/// <param name="Notif"><c>sizeof(struct seccomp_notif)</c> (80 on 5.0+).</param>
/// <param name="Response"><c>sizeof(struct seccomp_notif_resp)</c> (24).</param>
/// <param name="Data"><c>sizeof(struct seccomp_data)</c> (64).</param>
public readonly record struct NotifSizes(int Notif, int Response, int Data);

/// <summary>What the running kernel's seccomp supports, asked of the kernel itself.</summary>
public static class KernelFeatures
{
    /// <summary>
    /// <c>seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &amp;action)</c>: 0 when the kernel knows the action, EOPNOTSUPP when not.
    /// </summary>
    public static bool IsActionAvailable(uint actionBits)
    {
        HostSupport.EnsureSupported();
        uint action = actionBits & SeccompReturn.SECCOMP_RET_ACTION_FULL;
        long r;
        unsafe
        {
            // SAFETY: `action` is a local that lives across the call; the kernel reads 4 bytes from it.
            r = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
        }
        if (r == 0) return true;
        var errno = (Errno)System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno == Errno.EOPNOTSUPP) return false;
        throw new ErrnoException("seccomp(SECCOMP_GET_ACTION_AVAIL)", errno, errno == Errno.EINVAL ? "this kernel predates 4.14" : "");
    }

    /// <summary><c>seccomp(SECCOMP_GET_NOTIF_SIZES)</c> (5.0+): check these before using the notification structures.</summary>
    public static NotifSizes GetNotifSizes()
    {
        HostSupport.EnsureSupported();
        seccomp_notif_sizes sizes = default;
        long r;
        unsafe
        {
            // SAFETY: `sizes` is a local of exactly the kernel's struct layout (3 × u16); it outlives the call.
            r = syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes);
        }
        if (r != 0)
        {
            var errno = (Errno)System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new ErrnoException("seccomp(SECCOMP_GET_NOTIF_SIZES)", errno, errno == Errno.EINVAL ? "user notification needs Linux 5.0 or later" : "");
        }
        return new NotifSizes(sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data);
    }

    /// <summary>
    /// Does this kernel know filter flag <paramref name="flag"/>? Asked the way libseccomp asks:
    /// <c>seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL)</c> checks the flags before it reads the program, so a
    /// known flag fails with EFAULT and an unknown one with EINVAL. Nothing is installed either way.
    /// WAIT_KILLABLE_RECV is only valid with NEW_LISTENER, so it is asked together with it.
    /// </summary>
    public static bool IsFlagSupported(SeccompFilterFlags flag)
    {
        HostSupport.EnsureSupported();
        if (flag == SeccompFilterFlags.None || (flag & (flag - 1)) != 0)
            throw new ArgumentException("ask about one flag at a time", nameof(flag));
        var asked = flag == SeccompFilterFlags.WaitKillableRecv ? flag | SeccompFilterFlags.NewListener : flag;
        long r;
        unsafe
        {
            // SAFETY: a NULL program pointer is the point of the probe: the kernel validates the flags, then fails
            // to copy the program (EFAULT) without touching any of our memory.
            r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (ulong)asked, null);
        }
        if (r >= 0) throw new SeccompException("seccomp(SET_MODE_FILTER, flag, NULL) succeeded; this kernel does not behave as seccomp(2) says");
        var errno = Errors.Last();
        return errno switch
        {
            Errno.EFAULT => true,
            Errno.EINVAL => false,
            _ => throw new ErrnoException($"seccomp(SECCOMP_SET_MODE_FILTER, {flag}, NULL)", errno, "unexpected answer to the flag probe"),
        };
    }

    /// <summary>Everything <see cref="Detect"/> reports, asked of the running kernel.</summary>
    public static SeccompFeatureSet Detect()
    {
        HostSupport.EnsureSupported();
        var actions = new List<(string Name, uint Value, bool Available)>();
        foreach (var (name, value) in ActionValues)
            actions.Add((name, value, IsActionAvailable(value)));
        var flags = Enum.GetValues<SeccompFilterFlags>().Where(f => f != SeccompFilterFlags.None)
            .Select(f => (f, IsFlagSupported(f))).ToList();
        NotifSizes? sizes = null;
        try { sizes = GetNotifSizes(); }
        catch (ErrnoException e) when (e.Errno == Errno.EINVAL) { }
        string[] logged;
        try { logged = File.ReadAllText("/proc/sys/kernel/seccomp/actions_logged").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); }
        catch (IOException) { logged = []; }
        return new SeccompFeatureSet(Environment.OSVersion.Version.ToString(), ReadKernelRelease(), actions, flags, sizes, logged);
    }

    /// <summary>The eight actions by name (seccomp(2)), in precedence order.</summary>
    public static IReadOnlyList<(string Name, uint Value)> ActionValues { get; } =
    [
        ("kill_process", SeccompReturn.SECCOMP_RET_KILL_PROCESS),
        ("kill_thread", SeccompReturn.SECCOMP_RET_KILL_THREAD),
        ("trap", SeccompReturn.SECCOMP_RET_TRAP),
        ("errno", SeccompReturn.SECCOMP_RET_ERRNO),
        ("user_notif", SeccompReturn.SECCOMP_RET_USER_NOTIF),
        ("trace", SeccompReturn.SECCOMP_RET_TRACE),
        ("log", SeccompReturn.SECCOMP_RET_LOG),
        ("allow", SeccompReturn.SECCOMP_RET_ALLOW),
    ];

    private static string ReadKernelRelease()
    {
        try { return File.ReadAllText("/proc/sys/kernel/osrelease").Trim(); }
        catch (IOException) { return "unknown"; }
    }

    /// <summary>The action names in <c>/proc/sys/kernel/seccomp/actions_avail</c> (e.g. <c>kill_process</c> ... <c>allow</c>).</summary>
    public static IReadOnlyList<string> ActionsAvailFromProc()
    {
        const string path = "/proc/sys/kernel/seccomp/actions_avail";
        try { return File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); }
        catch (IOException e) { throw new SeccompException($"cannot read {path}: {e.Message}; is this a Linux kernel with CONFIG_SECCOMP_FILTER?", e); }
    }

    /// <summary>The <c>Seccomp:</c> mode (0 off, 1 strict, 2 filter) and <c>Seccomp_filters:</c> count of a process, from <c>/proc/PID/status</c>.</summary>
    public static (int Mode, int Filters) StatusOf(int pid)
    {
        var status = Inspect.ProcStatus.Read(pid)
            ?? throw new SeccompException($"cannot read /proc/{pid}/status: no such process; is process {pid} alive and visible?");
        return (status.Seccomp, status.SeccompFilters);
    }
}

/// <summary>What <see cref="KernelFeatures.Detect"/> found.</summary>
/// <param name="OsVersion">.NET's view of the kernel version.</param>
/// <param name="KernelRelease"><c>/proc/sys/kernel/osrelease</c>.</param>
/// <param name="Actions">Each action and whether GET_ACTION_AVAIL accepts it.</param>
/// <param name="Flags">Each SET_MODE_FILTER flag and whether the kernel knows it.</param>
/// <param name="NotifSizes">The notification struct sizes, or null before 5.0.</param>
/// <param name="ActionsLogged">The names in <c>actions_logged</c>.</param>
public sealed record SeccompFeatureSet(
    string OsVersion,
    string KernelRelease,
    IReadOnlyList<(string Name, uint Value, bool Available)> Actions,
    IReadOnlyList<(SeccompFilterFlags Flag, bool Supported)> Flags,
    NotifSizes? NotifSizes,
    IReadOnlyList<string> ActionsLogged);
