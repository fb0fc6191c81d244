using SeccompKit.Linux.Interop;

namespace SeccompKit.Linux.Kernel;

/// <summary>The type of a file, from <c>st_mode &amp; S_IFMT</c> (inode(7)).</summary>
public enum FileKind
{
    /// <summary>A regular file.</summary>
    Regular,
    /// <summary>A directory.</summary>
    Directory,
    /// <summary>A symbolic link (only when links are not followed).</summary>
    SymbolicLink,
    /// <summary>A character device (<c>/dev/null</c>, a terminal).</summary>
    CharacterDevice,
    /// <summary>A block device.</summary>
    BlockDevice,
    /// <summary>A named pipe.</summary>
    Fifo,
    /// <summary>A unix domain socket.</summary>
    Socket,
}

/// <summary>What statx(2) says about a file: its type, permission bits and owner, and whether it carries file capabilities.</summary>
/// <param name="Kind">The file type.</param>
/// <param name="Mode">The permission bits with set-user-ID (04000), set-group-ID (02000) and sticky (01000).</param>
/// <param name="Uid">The owner.</param>
/// <param name="Gid">The group.</param>
public sealed record FileStatus(FileKind Kind, int Mode, uint Uid, uint Gid)
{
    /// <summary>Group or others may write it (S_IWGRP or S_IWOTH).</summary>
    public bool OthersCanWrite => (Mode & 0x12) != 0;

    /// <summary>It belongs to root or to <paramref name="uid"/> (the caller's effective uid: nobody else could have made or changed it).</summary>
    public bool BelongsToRootOr(uint uid) => Uid == 0 || Uid == uid;

    /// <summary>The permission bits in octal, four digits (<c>0755</c>), for messages.</summary>
    public string OctalMode => Convert.ToString(Mode & 0xfff, 8).PadLeft(4, '0');

    /// <summary>S_ISUID: executing the file runs it with the owner's user id.</summary>
    public bool IsSetUid => (Mode & 0x800) != 0;

    /// <summary>
    /// S_ISGID with group execute: executing the file runs it with the file's group id. (Set-group-ID without group
    /// execute means mandatory locking, not privilege; inode(7).)
    /// </summary>
    public bool IsSetGid => (Mode & 0x400) != 0 && (Mode & 0x8) != 0;

    /// <summary>
    /// The status of <paramref name="path"/>, following symbolic links unless <paramref name="followLinks"/> is false;
    /// null when it does not exist (or a directory on the way is missing or not searchable).
    /// </summary>
    /// <exception cref="ErrnoException">Another failure (e.g. EIO, ELOOP).</exception>
    public static unsafe FileStatus? Of(string path, bool followLinks = true)
    {
        ArgumentNullException.ThrowIfNull(path);
        var buf = new Stat.statx_buf();
        // SAFETY: `p` points at a local of the kernel's 256-byte layout, alive (and not moved: a local) for the call.
        Stat.statx_buf* p = &buf;
        var (r, errno) = Errors.RetryEintr(() =>
            Stat.statx(Stat.AT_FDCWD, path, followLinks ? 0 : Stat.AT_SYMLINK_NOFOLLOW, Stat.STATX_TYPE | Stat.STATX_MODE | Stat.STATX_UID | Stat.STATX_GID, p));
        if (r != 0)
        {
            if (errno is Errno.ENOENT or Errno.ENOTDIR or Errno.EACCES) return null;
            throw new ErrnoException("statx", errno, path);
        }
        return From(buf);
    }

    /// <summary>The status statx(2) filled in.</summary>
    internal static FileStatus From(in Stat.statx_buf buf)
    {
        var kind = (buf.stx_mode & Stat.S_IFMT) switch
        {
            Stat.S_IFREG => FileKind.Regular,
            Stat.S_IFDIR => FileKind.Directory,
            Stat.S_IFLNK => FileKind.SymbolicLink,
            Stat.S_IFCHR => FileKind.CharacterDevice,
            Stat.S_IFBLK => FileKind.BlockDevice,
            Stat.S_IFIFO => FileKind.Fifo,
            _ => FileKind.Socket,
        };
        return new FileStatus(kind, buf.stx_mode & 0xfff, buf.stx_uid, buf.stx_gid);
    }

    /// <summary>
    /// Whether <paramref name="path"/> carries file capabilities (the <c>security.capability</c> extended attribute,
    /// capabilities(7)): executing it raises the process's permitted set, as set-user-ID raises its user id.
    /// </summary>
    public static unsafe bool HasFileCapabilities(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        // SAFETY: a NULL buffer with size 0 asks only for the attribute's length; nothing is written.
        var (r, _) = Errors.RetryEintr(() => Stat.getxattr(path, "security.capability", null, 0));
        return r > 0;
    }
}

/// <summary>
/// What executing a file would give the caller that no_new_privs takes away (prctl(2) PR_SET_NO_NEW_PRIVS, execve(2)):
/// the owner's user id (set-user-ID), the file's group id (set-group-ID), or file capabilities.
/// </summary>
/// <param name="SetUid">Set-user-ID, owned by another user than the caller's effective one.</param>
/// <param name="SetGid">Set-group-ID (with group execute), of another group than the caller's effective one.</param>
/// <param name="FileCapabilities">Carries file capabilities, and the caller is not root (root has them all anyway).</param>
/// <param name="Uid">The file's owner.</param>
/// <param name="Gid">The file's group.</param>
public sealed record ExecPrivileges(bool SetUid, bool SetGid, bool FileCapabilities, uint Uid, uint Gid)
{
    /// <summary>
    /// The privileges executing <paramref name="path"/> would raise for this process, or null when it would raise none (not
    /// set-id, or set-id to ids the caller already has) or the path is not a regular file.
    /// </summary>
    public static ExecPrivileges? Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (FileStatus.Of(path) is not { Kind: FileKind.Regular } st) return null;
        uint euid = Interop.Proc.geteuid();
        bool setuid = st.IsSetUid && st.Uid != euid;
        bool setgid = st.IsSetGid && st.Gid != Interop.Proc.getegid();
        bool caps = euid != 0 && FileStatus.HasFileCapabilities(path);
        return setuid || setgid || caps ? new ExecPrivileges(setuid, setgid, caps, st.Uid, st.Gid) : null;
    }

    /// <summary>"set-user-ID (owner 0)", "set-group-ID (group 42)", "file capabilities", joined by commas.</summary>
    public string Describe() => string.Join(", ", new[]
    {
        SetUid ? $"set-user-ID (owner {Uid})" : null,
        SetGid ? $"set-group-ID (group {Gid})" : null,
        FileCapabilities ? "file capabilities" : null,
    }.Where(x => x is not null));
}
