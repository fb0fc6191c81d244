using System.Collections.Immutable;

namespace SeccompKit.Agent;

/// <summary>Per-mount attributes a rule forces on every mount it allows (mount(2) flags, fsmount(2) MOUNT_ATTR_*).</summary>
[Flags]
public enum ForcedMountFlags
{
    /// <summary>Nothing forced.</summary>
    None = 0,
    /// <summary><c>ro</c>: the superblock and the mount are read-only.</summary>
    ReadOnly = 1,
    /// <summary><c>nosuid</c>.</summary>
    NoSuid = 2,
    /// <summary><c>nodev</c>.</summary>
    NoDev = 4,
    /// <summary><c>noexec</c>.</summary>
    NoExec = 8,
}

/// <summary>
/// One entry of a ruleset's <c>mounts</c>: a new mount of <see cref="FsType"/> whose source matches <see cref="Source"/>
/// (any when null) on a target matching <see cref="Target"/>, with only the data options named in
/// <see cref="Options"/>, and <see cref="Force"/> added to the caller's flags.
/// </summary>
/// <param name="FsType">The filesystem type, exactly (e.g. <c>tmpfs</c>).</param>
/// <param name="Source">The allowed sources, or null for any (a tmpfs' source is only a label).</param>
/// <param name="Target">The allowed targets: canonical absolute paths in the container's root.</param>
/// <param name="Options">The data option keys the caller may pass (<c>size</c>, <c>mode</c>...); any other refuses the mount.</param>
/// <param name="Force">Flags added to every mount this rule allows.</param>
public sealed record MountRule(string FsType, PathPattern? Source, PathPattern Target, ImmutableArray<string> Options, ForcedMountFlags Force);
