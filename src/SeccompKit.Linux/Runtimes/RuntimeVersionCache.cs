using System.Globalization;
using System.Text;
using SeccompKit.Linux.Interop;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;

namespace SeccompKit.Linux.Runtimes;

/// <summary>
/// What an installed runtime's <c>--version</c> said, remembered per binary so that <c>learn</c> and the other OCI writers
/// do not start runc on every run to learn which version they write for (a Go program's start: 10-20 ms, most of
/// <c>learn --from</c>'s fixed cost before this cache; bench/results/learn.md).
/// </summary>
/// <remarks>
/// <para>An entry counts only for the very same file: the resolved path, and statx(2)'s device, inode, size, modification
/// and status-change times (nanoseconds) all equal. Replacing the binary (a package upgrade renames a new inode in), editing
/// it or changing its mode or owner (ctime) makes the entry stale, and the runtime is asked again.</para>
/// <para>The file is <c>$XDG_CACHE_HOME/seccompkit/runtime-versions</c> (else <c>$HOME/.cache/...</c>). It is read only when it
/// is a regular file owned by the caller's effective user that group and others cannot write, and written with
/// <see cref="AtomicFile"/> (never through a link, never into another user's directory). When it cannot be used the runtime
/// is simply asked each time: the cache only saves time, it never changes an answer.</para>
/// </remarks>
internal static class RuntimeVersionCache
{
    private const string Header = "# seccompkit runtime versions v1: path, device, inode, size, mtime, ctime, first line of --version";
    private const int MaxEntries = 32;
    private const int MaxBytes = 64 * 1024;

    /// <summary>The cache file, or null when neither XDG_CACHE_HOME nor HOME gives an absolute directory.</summary>
    internal static string? FilePath()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "seccompkit", "runtime-versions");
        string? home = Environment.GetEnvironmentVariable("HOME");
        if (!string.IsNullOrEmpty(home) && Path.IsPathRooted(home)) return Path.Combine(home, ".cache", "seccompkit", "runtime-versions");
        return null;
    }

    /// <summary>The identity of <paramref name="binary"/> an entry is keyed by, or null when statx fails or it is not a regular file.</summary>
    internal static unsafe string? Identity(string binary)
    {
        var buf = new Stat.statx_buf();
        // SAFETY: `p` points at a local of the kernel's 256-byte layout, alive (and not moved: a local) for the call.
        Stat.statx_buf* p = &buf;
        const uint mask = Stat.STATX_TYPE | Stat.STATX_INO | Stat.STATX_SIZE | Stat.STATX_MTIME | Stat.STATX_CTIME;
        var (r, _) = Errors.RetryEintr(() => Stat.statx(Stat.AT_FDCWD, binary, 0, mask, p));
        if (r != 0 || (buf.stx_mask & mask) != mask || (buf.stx_mode & Stat.S_IFMT) != Stat.S_IFREG) return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"{buf.stx_dev_major}:{buf.stx_dev_minor}\t{buf.stx_ino}\t{buf.stx_size}\t{buf.stx_mtime.tv_sec}.{buf.stx_mtime.tv_nsec:D9}\t{buf.stx_ctime.tv_sec}.{buf.stx_ctime.tv_nsec:D9}");
    }

    /// <summary>The version line <paramref name="file"/> remembers for the binary at <paramref name="binary"/> with <paramref name="identity"/>, or null.</summary>
    internal static string? Lookup(string file, string binary, string identity)
    {
        string prefix = binary + "\t" + identity + "\t";
        foreach (var line in Entries(file))
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return line[prefix.Length..];
        return null;
    }

    /// <summary>Remembers <paramref name="versionLine"/> for the binary in <paramref name="file"/>; any failure leaves the cache as it was.</summary>
    internal static void Store(string file, string binary, string identity, string versionLine)
    {
        if (!Storable(binary) || !Storable(versionLine)) return;
        string prefix = binary + "\t";
        var kept = Entries(file).Where(l => !l.StartsWith(prefix, StringComparison.Ordinal)).TakeLast(MaxEntries - 1);
        var text = new StringBuilder(Header).Append('\n');
        foreach (var line in kept) text.Append(line).Append('\n');
        text.Append(prefix).Append(identity).Append('\t').Append(versionLine).Append('\n');
        try
        {
            string dir = Path.GetDirectoryName(file)!;
            // 0700: the cache says nothing secret, but nobody else needs to read it either. (This assembly runs on Linux
            // only: HostSupport.)
            if (OperatingSystem.IsLinux()) Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            AtomicFile.Write(file, Encoding.UTF8.GetBytes(text.ToString()), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or UnsafeOutputException or ErrnoException) { }
    }

    // A tab or a line break would break the line format; such names are not cached (they are asked each time).
    private static bool Storable(string s) => s.Length is > 0 and < 4096 && s.IndexOfAny(['\t', '\n', '\r']) < 0;

    /// <summary>The cache's entries, or none when it is missing, too large, or not the caller's own unshared file.</summary>
    private static IEnumerable<string> Entries(string file)
    {
        var (fd, _) = Errors.RetryEintr(() => FileCalls.openat(Stat.AT_FDCWD, file, Proc.O_RDONLY | FileCalls.O_NOFOLLOW | FileCalls.O_CLOEXEC, 0));
        if (fd < 0) return [];
        using var handle = new SafeFileDescriptorHandle(fd);
        if (!Trusted(handle)) return [];
        try
        {
            using var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(handle.DangerousGetHandle(), ownsHandle: false), FileAccess.Read, 1);
            var buffer = new byte[MaxBytes + 1];
            int total = 0, n;
            while (total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0) total += n;
            if (total > MaxBytes) return [];
            var lines = Encoding.UTF8.GetString(buffer, 0, total).Split('\n');
            if (lines.Length == 0 || lines[0] != Header) return [];
            return lines.Skip(1).Where(l => l.Length > 0).ToArray();
        }
        catch (IOException) { return []; }
    }

    private static unsafe bool Trusted(SafeFileDescriptorHandle handle)
    {
        var buf = new Stat.statx_buf();
        // SAFETY: as in Identity; AT_EMPTY_PATH with "" asks about the open descriptor itself.
        Stat.statx_buf* p = &buf;
        var (r, _) = Errors.RetryEintr(() => Stat.statx(handle.Fd, "", FileCalls.AT_EMPTY_PATH, Stat.STATX_TYPE | Stat.STATX_MODE | Stat.STATX_UID, p));
        return r == 0 && (buf.stx_mode & Stat.S_IFMT) == Stat.S_IFREG && buf.stx_uid == AtomicFile.CallerUid && (buf.stx_mode & 0x12) == 0;
    }
}
