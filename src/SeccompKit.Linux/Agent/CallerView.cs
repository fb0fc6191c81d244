using System.Globalization;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.AgentSys;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// What the agent holds of a calling thread while it acts for it: descriptors of its root, of the directory a relative
/// path starts from, of its mount namespace, and its credentials, all taken from <c>/proc/TID</c>. They are trusted only
/// once the notification was found still pending after they were all opened (the caller was alive and in its call the
/// whole time, so its tid could not name another process: seccomp_unotify(2), "Caveats").
/// </summary>
internal sealed class CallerView : IDisposable
{
    private CallerView(SafeFileDescriptorHandle root) => Root = root;

    /// <summary>The caller's root directory (<c>/proc/TID/root</c>, opened O_PATH).</summary>
    internal SafeFileDescriptorHandle Root { get; }

    /// <summary>The directory a relative path starts from (cwd or dirfd), or the root again for an absolute path.</summary>
    internal SafeFileDescriptorHandle? Base { get; private set; }

    /// <summary>The caller's mount namespace (<c>/proc/TID/ns/mnt</c>), when asked for.</summary>
    internal SafeFileDescriptorHandle? MountNamespace { get; private set; }

    /// <summary>The caller's credentials, when asked for.</summary>
    internal CallerCredentials? Credentials { get; private set; }

    /// <summary>
    /// Opens <c>/proc/<paramref name="tid"/></c>'s root and, as asked, the base directory of a relative path
    /// (<paramref name="dirfd"/>: AT_FDCWD for the cwd, else one of the caller's descriptors; null for an absolute path), the
    /// mount namespace and the credentials. Returns null with an errno when the caller's /proc entries cannot be opened
    /// (it is gone, or the dirfd is not an open directory: EBADF/ENOTDIR as the kernel would say).
    /// </summary>
    internal static CallerView? Open(int tid, int? dirfd, bool mountNamespace, bool credentials, out Errno errno)
    {
        errno = 0;
        string proc = "/proc/" + tid.ToString(CultureInfo.InvariantCulture);
        int root = Interop.Proc.open(proc + "/root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) { errno = Errors.Last(); return null; }
        var view = new CallerView(new SafeFileDescriptorHandle(root));
        try
        {
            if (dirfd is int d)
            {
                string at = d == AT_FDCWD ? proc + "/cwd" : proc + "/fd/" + d.ToString(CultureInfo.InvariantCulture);
                int b = d is < 0 and not AT_FDCWD ? -1 : Interop.Proc.open(at, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (b < 0)
                {
                    var e = d is < 0 and not AT_FDCWD ? Errno.EBADF : Errors.Last();
                    errno = e == Errno.ENOENT && d != AT_FDCWD ? Errno.EBADF : e;
                    view.Dispose();
                    return null;
                }
                view.Base = new SafeFileDescriptorHandle(b);
            }
            if (mountNamespace)
            {
                int ns = Interop.Proc.open(proc + "/ns/mnt", O_CLOEXEC);
                if (ns < 0) { errno = Errors.Last(); view.Dispose(); return null; }
                view.MountNamespace = new SafeFileDescriptorHandle(ns);
            }
            if (credentials)
            {
                view.Credentials = ReadCredentials(proc);
                if (view.Credentials is null) { errno = Errno.ESRCH; view.Dispose(); return null; }
            }
            return view;
        }
        catch
        {
            view.Dispose();
            throw;
        }
    }

    /// <summary>Parses Uid, Gid, Groups, Umask and CapEff of <c>/proc/TID/status</c> (proc(5)); null when it cannot be read.</summary>
    internal static CallerCredentials? ReadCredentials(string proc)
    {
        string text;
        string? userNs;
        try
        {
            text = File.ReadAllText(proc + "/status");
            userNs = new FileInfo(proc + "/ns/user").LinkTarget;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        uint? fsuid = null, fsgid = null, umask = null;
        ulong? capEff = null;
        uint[] groups = [];
        foreach (var line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            string key = line[..colon];
            var fields = line[(colon + 1)..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            switch (key)
            {
                // "Uid: real effective saved filesystem" (proc(5)).
                case "Uid" when fields.Length == 4: fsuid = uint.Parse(fields[3], CultureInfo.InvariantCulture); break;
                case "Gid" when fields.Length == 4: fsgid = uint.Parse(fields[3], CultureInfo.InvariantCulture); break;
                case "Groups": groups = [.. fields.Select(f => uint.Parse(f, CultureInfo.InvariantCulture))]; break;
                case "Umask" when fields.Length == 1: umask = Convert.ToUInt32(fields[0], 8); break;
                case "CapEff" when fields.Length == 1: capEff = ulong.Parse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture); break;
            }
        }
        if (fsuid is null || fsgid is null || umask is null || capEff is null) return null;
        string? ownNs = new FileInfo("/proc/self/ns/user").LinkTarget;
        return new CallerCredentials(fsuid.Value, fsgid.Value, groups, umask.Value, capEff.Value, userNs is not null && userNs == ownNs);
    }

    /// <summary>Closes the descriptors.</summary>
    public void Dispose()
    {
        Root.Dispose();
        Base?.Dispose();
        MountNamespace?.Dispose();
    }
}
