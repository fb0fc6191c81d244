using SeccompKit.Bpf;
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
        string path = $"/proc/{pid}/status";
        int mode = -1, filters = 0;
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeccompException($"cannot read {path}: {e.Message}; is process {pid} alive and visible?", e);
        }
        foreach (var line in lines)
        {
            if (line.StartsWith("Seccomp:", StringComparison.Ordinal)) mode = int.Parse(line[8..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            else if (line.StartsWith("Seccomp_filters:", StringComparison.Ordinal)) filters = int.Parse(line[16..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        if (mode < 0) throw new SeccompException($"{path} has no 'Seccomp:' line; this kernel lacks CONFIG_SECCOMP");
        return (mode, filters);
    }
}
