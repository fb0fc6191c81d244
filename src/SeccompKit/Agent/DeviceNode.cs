using System.Globalization;

namespace SeccompKit.Agent;

/// <summary>The kind of device node a <c>mknod</c> makes (the S_IFMT bits of its mode).</summary>
public enum DeviceKind
{
    /// <summary>A character device (S_IFCHR), written <c>c</c>.</summary>
    Character,
    /// <summary>A block device (S_IFBLK), written <c>b</c>.</summary>
    Block,
}

/// <summary>
/// A device node a ruleset may let a container create: its kind and device number, written <c>c 1:3</c> (mknod(1)'s
/// order). Character device 0:0 is overlayfs' whiteout (Documentation/filesystems/overlayfs.rst).
/// </summary>
/// <param name="Kind">Character or block.</param>
/// <param name="Major">The major number (12 bits in the syscall's encoding).</param>
/// <param name="Minor">The minor number (20 bits).</param>
public readonly record struct DeviceNode(DeviceKind Kind, uint Major, uint Minor)
{
    /// <summary>S_IFMT: the file-type bits of a mode (inode(7)).</summary>
    public const uint TypeMask = 0xf000;
    /// <summary>S_IFCHR.</summary>
    public const uint CharacterType = 0x2000;
    /// <summary>S_IFBLK.</summary>
    public const uint BlockType = 0x6000;

    /// <summary>Is this the whiteout (character 0:0), which the kernel lets anybody create since Linux 5.8 (vfs_mknod)?</summary>
    public bool IsWhiteout => Kind == DeviceKind.Character && Major == 0 && Minor == 0;

    /// <summary>
    /// The device node a <c>mknod(path, mode, dev)</c> asks for, from its register arguments only; null when the mode is
    /// not a character or block device (a FIFO, socket or regular file, which need no privilege). The <c>dev</c> argument is
    /// the kernel's 32-bit encoding (<c>new_decode_dev</c> in include/linux/kdev_t.h): major in bits 8-19, minor in bits 0-7
    /// and 20-31; glibc's makedev agrees for every number that fits.
    /// </summary>
    public static DeviceNode? FromSyscall(ulong mode, ulong dev)
    {
        uint type = (uint)mode & TypeMask;
        if (type != CharacterType && type != BlockType) return null;
        uint d = (uint)dev;
        uint major = (d & 0xfff00) >> 8;
        uint minor = (d & 0xff) | ((d >> 12) & 0xfff00);
        return new DeviceNode(type == CharacterType ? DeviceKind.Character : DeviceKind.Block, major, minor);
    }

    /// <summary>The kernel's 32-bit encoding of the device number (<c>new_encode_dev</c>).</summary>
    public uint Encoded => (Minor & 0xff) | (Major << 8) | ((Minor & ~0xffu) << 12);

    /// <summary>The S_IFMT bits of this kind.</summary>
    public uint TypeBits => Kind == DeviceKind.Character ? CharacterType : BlockType;

    /// <summary>
    /// Parses <c>c MAJOR:MINOR</c> or <c>b MAJOR:MINOR</c> (decimal; major below 4096, minor below 1048576, the
    /// kernel's limits for a 32-bit device number). Returns null and a reason when the text is not one.
    /// </summary>
    public static DeviceNode? TryParse(string text, out string? problem)
    {
        problem = null;
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || parts[0] is not ("c" or "b"))
        {
            problem = "write a device as 'c MAJOR:MINOR' (character) or 'b MAJOR:MINOR' (block), e.g. 'c 1:3' for /dev/null";
            return null;
        }
        var nums = parts[1].Split(':');
        if (nums.Length != 2 || !uint.TryParse(nums[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint major)
            || !uint.TryParse(nums[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint minor))
        {
            problem = $"'{parts[1]}' is not MAJOR:MINOR in decimal (e.g. 1:3)";
            return null;
        }
        if (major > 0xfff || minor > 0xfffff)
        {
            problem = $"{major}:{minor} does not fit a device number (major 0-4095, minor 0-1048575)";
            return null;
        }
        return new DeviceNode(parts[0] == "c" ? DeviceKind.Character : DeviceKind.Block, major, minor);
    }

    /// <summary><c>c 1:3</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{(Kind == DeviceKind.Character ? 'c' : 'b')} {Major}:{Minor}");
}
