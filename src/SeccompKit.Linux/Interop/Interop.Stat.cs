using System.Runtime.InteropServices;

namespace SeccompKit.Linux.Interop;

/// <summary>File status: statx(2) and getxattr(2) (glibc, x86_64).</summary>
internal static partial class Stat
{
    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const uint STATX_TYPE = 0x1;
    internal const uint STATX_MODE = 0x2;
    internal const uint STATX_UID = 0x8;
    internal const uint STATX_GID = 0x10;
    internal const uint STATX_MTIME = 0x40;
    internal const uint STATX_CTIME = 0x80;
    internal const uint STATX_INO = 0x100;
    internal const uint STATX_SIZE = 0x200;

    internal const int S_IFMT = 0xf000;
    internal const int S_IFSOCK = 0xc000;
    internal const int S_IFLNK = 0xa000;
    internal const int S_IFREG = 0x8000;
    internal const int S_IFBLK = 0x6000;
    internal const int S_IFDIR = 0x4000;
    internal const int S_IFCHR = 0x2000;
    internal const int S_IFIFO = 0x1000;

    /// <summary><c>struct statx_timestamp { __s64 tv_sec; __u32 tv_nsec; __s32 __reserved; }</c> (include/uapi/linux/stat.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct statx_timestamp
    {
        public long tv_sec;
        public uint tv_nsec;
        public int __reserved;
    }

    /// <summary>
    /// <c>struct statx</c> (include/uapi/linux/stat.h), 256 bytes: the fields up to the device numbers are named, the rest
    /// (mount id, direct I/O alignment...) is reserved space the kernel fills.
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    internal struct statx_buf
    {
        public uint stx_mask;
        public uint stx_blksize;
        public ulong stx_attributes;
        public uint stx_nlink;
        public uint stx_uid;
        public uint stx_gid;
        public ushort stx_mode;
        public ushort __spare0;
        public ulong stx_ino;
        public ulong stx_size;
        public ulong stx_blocks;
        public ulong stx_attributes_mask;
        public statx_timestamp stx_atime;
        public statx_timestamp stx_btime;
        public statx_timestamp stx_ctime;
        public statx_timestamp stx_mtime;
        public uint stx_rdev_major;
        public uint stx_rdev_minor;
        public uint stx_dev_major;
        public uint stx_dev_minor;
    }

    /// <summary><c>int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)</c> (glibc 2.28).</summary>
    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static unsafe partial int statx(int dirfd, string path, int flags, uint mask, statx_buf* buf);

    /// <summary><c>ssize_t getxattr(const char *path, const char *name, void *value, size_t size)</c>; size 0 asks for the length.</summary>
    [LibraryImport("libc", EntryPoint = "getxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static unsafe partial nint getxattr(string path, string name, void* value, nuint size);
}
