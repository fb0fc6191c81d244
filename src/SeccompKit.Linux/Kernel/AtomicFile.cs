using SeccompKit.Linux.Interop;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.FileCalls;

namespace SeccompKit.Linux.Kernel;

/// <summary>
/// Writes a file so that a reader, a crash, a full disk or a signal never leaves a partial one, and so that nobody else
/// can redirect the write: the directory is opened once, by a walk from <c>/</c> that checks every directory on the way,
/// and every step is relative to that descriptor; the bytes go to
/// a new temporary file with a random name created there with O_CREAT|O_EXCL|O_NOFOLLOW (open(2): never an existing
/// file, never through a symbolic link), are flushed to disk (fsync), and the temporary file is renamed over the target
/// (rename(2) replaces a symbolic link itself; it never follows one). A failed write leaves the old file as it was and
/// removes the temporary.
/// </summary>
/// <remarks>
/// The directory and every directory above it must not be controlled by another user (<see cref="DirectoryProblem"/>):
/// one who can rename entries there could swap names under the writer. A symbolic link on the way is followed only
/// where no other user could have planted it. An existing target must be a regular file: a symbolic link or anything else there is
/// refused (<see cref="UnsafeOutputException"/>), whoever planted it.
/// </remarks>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to <paramref name="path"/> atomically. An existing regular file is replaced only when
    /// <paramref name="overwrite"/> (without it, a file that appeared meanwhile makes the rename fail: RENAME_NOREPLACE,
    /// EEXIST); the replaced file's permission bits are kept.
    /// </summary>
    /// <exception cref="UnsafeOutputException">The directory is controlled by another user, or the target is a symbolic link or not a regular file; nothing was written.</exception>
    /// <exception cref="IOException">The write or the rename failed (nothing was changed).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static unsafe void Write(string path, ReadOnlySpan<byte> bytes, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new IOException($"{path}: not a file name");
        string name = Path.GetFileName(full);
        if (name.Length == 0) throw new IOException($"{path}: not a file name");
        using var dirFd = OpenDirectory(dir);
        var existing = StatusOf(dirFd, name);
        if (TargetProblem(existing) is { } bad) throw new UnsafeOutputException($"{full} {bad}");
        if (existing is not null && !overwrite) throw new IOException($"{full}: File exists");
        // Random (Guid v4 is from the system's CSPRNG) and short enough for NAME_MAX with any target name.
        string temp = $".{(name.Length > 100 ? name[..100] : name)}.seccompkit-{Guid.NewGuid():N}.tmp";
        var (raw, errno) = Errors.RetryEintr(() => openat(dirFd.Fd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0x1b6 /* 0666, less the umask */));
        if (raw < 0) throw Failure("create a temporary file in " + dir, errno);
        bool renamed = false;
        try
        {
            using (var fd = new SafeFileDescriptorHandle(raw))
            {
                // Keep the permissions of the file being replaced (a profile made read-only for others stays so).
                if (existing is not null && fchmod(fd.Fd, (uint)(existing.Mode & 0x1ff)) != 0) throw Failure("keep the permissions of " + full, Errors.Last());
                fixed (byte* start = bytes)
                {
                    int length = bytes.Length;
                    for (int done = 0; done < length;)
                    {
                        // SAFETY: `start` pins `bytes` for the loop; [done, length) is inside it.
                        var (n, e) = Errors.RetryEintr((Fd: fd.Fd, At: (nint)(start + done), Count: (nuint)(length - done)),
                            static a => write(a.Fd, (byte*)a.At, a.Count));
                        if (n < 0) throw Failure("write " + full, e);
                        done += (int)n;
                    }
                }
                var (s, se) = Errors.RetryEintr(() => fsync(fd.Fd));
                if (s != 0) throw Failure("write " + full, se);
            }
            Rename(dirFd, temp, name, overwrite, full);
            renamed = true;
            Errors.RetryEintr(() => fsync(dirFd.Fd)); // the new name on disk too; a failure here changes nothing written
        }
        finally
        {
            if (!renamed) unlinkat(dirFd.Fd, temp, 0);
        }
    }

    /// <summary>The caller's effective user id (geteuid(2)), whose directories and links count as the caller's own.</summary>
    public static uint CallerUid => Proc.geteuid();

    /// <summary>
    /// Why seccompkit must not write into a directory with status <paramref name="directory"/>, or null when it may: the
    /// directory belongs to another user than the caller (effective uid) and root, or group or others can write it
    /// without the sticky bit (anyone who can write there can rename and replace entries). A sticky directory such as
    /// <c>/tmp</c> is accepted: others cannot rename or remove what the caller creates there, and what they planted
    /// beforehand is never followed (see <see cref="TargetProblem"/>).
    /// </summary>
    public static string? DirectoryProblem(FileStatus directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        uint euid = CallerUid;
        if (!directory.BelongsToRootOr(euid))
            return $"the directory belongs to another user (uid {directory.Uid}), who could replace what seccompkit writes there; write to a directory of yours or root's";
        if (directory.OthersCanWrite && (directory.Mode & 0x200) == 0)
            return $"{((directory.Mode & 0x2) != 0 ? "anyone" : "its group")} can write the directory (mode {directory.OctalMode}, not sticky) and could replace what seccompkit writes there; write to a directory only you can write (or chmod o-w,g-w, or +t)";
        return null;
    }

    /// <summary>
    /// Why an existing entry with status <paramref name="target"/> (not following links) must not be replaced, or null:
    /// a symbolic link (whoever planted it, it would redirect a write) or anything but a regular file.
    /// </summary>
    public static string? TargetProblem(FileStatus? target) => target?.Kind switch
    {
        null or FileKind.Regular => null,
        FileKind.SymbolicLink => "is a symbolic link; seccompkit does not write through links it did not resolve itself: remove it, or give the file it points to",
        var kind => $"exists and is not a regular file (a {Describe(kind.Value)}); remove it or choose another name",
    };

    private static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "directory",
        FileKind.CharacterDevice => "character device",
        FileKind.BlockDevice => "block device",
        FileKind.Fifo => "named pipe",
        FileKind.Socket => "socket",
        _ => kind.ToString(),
    };

    /// <summary>
    /// Why seccompkit must not write into the directory <paramref name="dir"/>, or null when it may (or when it does not
    /// exist or cannot be searched: the write then fails with its own error). Every directory on its path counts, not
    /// only the last, and a symbolic link on the way is followed only where nobody else could have planted it: see
    /// <see cref="Write"/>.
    /// </summary>
    public static string? DirectoryPathProblem(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        try
        {
            using var fd = OpenDirectory(dir);
            return null;
        }
        catch (UnsafeOutputException e) { return e.Problem; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Linux follows at most 40 symbolic links while resolving one path (path_resolution(7): ELOOP).</summary>
    private const int MaxLinks = 40;

    /// <summary>
    /// Opens the directory <paramref name="dir"/> by walking its absolute path from <c>/</c> one name at a time, each
    /// directory opened relative to the one before with O_NOFOLLOW, so that no name on the way is looked up twice.
    /// Every directory on the way must be one no other user controls (<see cref="DirectoryProblem"/>): whoever can
    /// rename entries of an ancestor — its owner, or anyone who can write it without the sticky bit — can move the
    /// rest of the path aside and put a link to any directory in its place, and a process running as root would
    /// then write there. A symbolic link on the way sits in such a directory, so only the caller, root or (in a sticky
    /// directory others can write, such as <c>/tmp</c>) its own owner could have made it; in a sticky directory it is
    /// followed only when it is the caller's or root's, as the kernel's <c>fs.protected_symlinks</c> does for links
    /// in sticky world-writable directories.
    /// </summary>
    /// <exception cref="UnsafeOutputException">A directory on the way is controlled by another user, or a link there is another user's.</exception>
    /// <exception cref="IOException">A name on the way is missing, not a directory, or a loop of links.</exception>
    private static SafeFileDescriptorHandle OpenDirectory(string dir)
    {
        string full = Path.GetFullPath(dir);
        var pending = new Stack<string>();
        PushNames(pending, full);
        // The directories from / to the current one; ".." in a link's target steps back along it.
        var chain = new List<(SafeFileDescriptorHandle Fd, string Path, FileStatus Status)>();
        int links = 0;
        try
        {
            chain.Add(Enter(null, "/", "/", full));
            while (pending.TryPop(out var name))
            {
                var (cur, curPath, curStatus) = chain[^1];
                if (name is "." or "") continue;
                if (name == "..")
                {
                    if (chain.Count > 1) { chain[^1].Fd.Dispose(); chain.RemoveAt(chain.Count - 1); }
                    continue;
                }
                string path = curPath == "/" ? "/" + name : curPath + "/" + name;
                var status = StatusOf(cur, name) ?? throw Failure("open the directory " + full, Errno.ENOENT);
                if (status.Kind == FileKind.SymbolicLink)
                {
                    // Writable by others: DirectoryProblem let it pass only as sticky.
                    if (curStatus.OthersCanWrite && !status.BelongsToRootOr(CallerUid))
                        throw new UnsafeOutputException(full, $"{path} is a symbolic link of another user (uid {status.Uid}) in a directory others can write, who could point it anywhere; seccompkit does not follow it: give the directory it should lead to");
                    if (++links > MaxLinks) throw new IOException($"cannot open the directory {full}: too many symbolic links on its path (a loop?)");
                    string target = ReadLink(cur, name, path);
                    if (target.StartsWith('/'))
                        while (chain.Count > 1) { chain[^1].Fd.Dispose(); chain.RemoveAt(chain.Count - 1); }
                    PushNames(pending, target);
                    continue;
                }
                if (status.Kind != FileKind.Directory) throw Failure("open the directory " + full, Errno.ENOTDIR);
                chain.Add(Enter(cur, name, path, full));
            }
            // O_PATH descriptors cannot be fsync'ed: the directory written into is reopened for reading through its own.
            var (fd, errno) = Errors.RetryEintr(() => openat(chain[^1].Fd.Fd, ".", Proc.O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
            if (fd < 0) throw Failure("open the directory " + full, errno);
            return new SafeFileDescriptorHandle(fd);
        }
        finally
        {
            foreach (var step in chain) step.Fd.Dispose();
        }
    }

    /// <summary>Pushes the names of <paramref name="path"/> so that the first pops first.</summary>
    private static void PushNames(Stack<string> pending, string path)
    {
        var names = path.Split('/');
        for (int i = names.Length - 1; i >= 0; i--) pending.Push(names[i]);
    }

    /// <summary>
    /// Opens the directory <paramref name="name"/> of <paramref name="parent"/> (O_PATH: search permission suffices,
    /// as for the kernel's own walk) without following a link swapped in since its status was read, and checks the
    /// status of what was opened.
    /// </summary>
    private static (SafeFileDescriptorHandle Fd, string Path, FileStatus Status) Enter(SafeFileDescriptorHandle? parent, string name, string path, string full)
    {
        int at = parent?.Fd ?? Stat.AT_FDCWD;
        var (raw, errno) = Errors.RetryEintr(() => openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0));
        if (raw < 0) throw Failure("open the directory " + full, errno);
        var fd = new SafeFileDescriptorHandle(raw);
        try
        {
            var status = StatusOf(fd, "")!;
            if (DirectoryProblem(status) is { } problem)
                throw new UnsafeOutputException(full, path == full ? problem : $"{path}, a directory on its path: {AncestorProblem(problem)}");
            return (fd, path, status);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>The text of <see cref="DirectoryProblem"/> said of a directory above the one written into.</summary>
    private static string AncestorProblem(string problem) =>
        problem.Replace("could replace what seccompkit writes there", "could move what is below it aside and put a link to any directory in its place", StringComparison.Ordinal)
            .Replace("write to a directory of yours or root's", "write below directories that are all yours or root's", StringComparison.Ordinal)
            .Replace("write to a directory only you can write", "write below directories only you or root can write", StringComparison.Ordinal);

    private static unsafe string ReadLink(SafeFileDescriptorHandle dirFd, string name, string path)
    {
        var buffer = new byte[4096]; // PATH_MAX: a link's target is at most that long
        fixed (byte* p = buffer)
        {
            // SAFETY: `p` pins `buffer` for the call; the kernel writes at most its length.
            var (n, errno) = Errors.RetryEintr((Fd: dirFd.Fd, Name: name, At: (nint)p, Size: (nuint)buffer.Length),
                static a => readlinkat(a.Fd, a.Name, (byte*)a.At, a.Size));
            if (n < 0) throw Failure("read the symbolic link " + path, errno);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n);
        }
    }

    /// <summary>statx of <paramref name="name"/> in the directory (not following a link), or of the directory itself for "".</summary>
    private static unsafe FileStatus? StatusOf(SafeFileDescriptorHandle dirFd, string name)
    {
        var buf = new Stat.statx_buf();
        // SAFETY: `p` points at a local of the kernel's 256-byte layout, alive (and not moved: a local) for the call.
        Stat.statx_buf* p = &buf;
        int flags = Stat.AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? AT_EMPTY_PATH : 0);
        var (r, errno) = Errors.RetryEintr(() => statx(dirFd.Fd, name, flags, Stat.STATX_TYPE | Stat.STATX_MODE | Stat.STATX_UID | Stat.STATX_GID, p));
        if (r != 0)
        {
            if (errno == Errno.ENOENT) return null;
            throw Failure("read the status of " + name, errno);
        }
        return FileStatus.From(buf);
    }

    private static void Rename(SafeFileDescriptorHandle dirFd, string temp, string name, bool overwrite, string full)
    {
        var (r, errno) = Errors.RetryEintr(() => renameat2(SYS_renameat2, dirFd.Fd, temp, dirFd.Fd, name, overwrite ? 0 : RENAME_NOREPLACE));
        if (r == 0) return;
        if (errno == Errno.EINVAL && !overwrite)
        {
            // A file system without RENAME_NOREPLACE: link(2) never replaces an existing name either.
            var (l, le) = Errors.RetryEintr(() => (long)linkat(dirFd.Fd, temp, dirFd.Fd, name, 0));
            if (l != 0) throw Failure("rename the temporary file to " + full, le);
            unlinkat(dirFd.Fd, temp, 0);
            return;
        }
        throw Failure("rename the temporary file to " + full, errno);
    }

    private static Exception Failure(string what, Errno errno) => errno switch
    {
        Errno.EACCES or Errno.EPERM or Errno.EROFS => new UnauthorizedAccessException($"cannot {what}: {Message(errno)}"),
        Errno.EEXIST => new IOException($"cannot {what}: it exists"),
        _ => new IOException($"cannot {what}: {Message(errno)}"),
    };

    private static string Message(Errno errno) => errno switch
    {
        Errno.EACCES or Errno.EPERM => "permission denied",
        Errno.EROFS => "read-only file system",
        Errno.ENOSPC => "no space left on device",
        Errno.EDQUOT => "disk quota exceeded",
        Errno.EMFILE => "too many open files (RLIMIT_NOFILE)",
        Errno.ENOENT => "no such file or directory",
        Errno.ENOTDIR => "not a directory",
        Errno.ELOOP => "a symbolic link where none may be",
        _ => $"{errno} ({(int)errno})",
    };
}

/// <summary>An output place another user controls (the directory), or a target that is a link or not a regular file; nothing was written.</summary>
public sealed class UnsafeOutputException : IOException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeOutputException(string message) : base(message) => Problem = message;

    /// <summary>Creates the exception for the place <paramref name="path"/> and what is wrong with it.</summary>
    public UnsafeOutputException(string path, string problem) : base($"{path}: {problem}") => Problem = problem;

    /// <summary>What is wrong, without the path written to.</summary>
    public string Problem { get; }
}
