using System.Collections.Immutable;
using System.Globalization;

namespace SeccompKit.Agent;

/// <summary>The attributes of a mount the agent makes (fsmount(2) MOUNT_ATTR_*, plus <see cref="ReadOnly"/> for the superblock too).</summary>
[Flags]
public enum MountAttributes
{
    /// <summary>None: read-write, relatime.</summary>
    None = 0,
    /// <summary>Read-only superblock and mount (MS_RDONLY).</summary>
    ReadOnly = 1,
    /// <summary>MS_NOSUID.</summary>
    NoSuid = 2,
    /// <summary>MS_NODEV.</summary>
    NoDev = 4,
    /// <summary>MS_NOEXEC.</summary>
    NoExec = 8,
    /// <summary>MS_NOATIME.</summary>
    NoAtime = 16,
    /// <summary>MS_STRICTATIME.</summary>
    StrictAtime = 32,
    /// <summary>MS_NODIRATIME.</summary>
    NoDirAtime = 64,
    /// <summary>MS_NOSYMFOLLOW (Linux 5.10).</summary>
    NoSymFollow = 128,
}

/// <summary>A container's <c>mount(source, target, fstype, flags, data)</c>, with its strings read from its memory.</summary>
/// <param name="FsType">The filesystem type (null when the pointer was NULL).</param>
/// <param name="Source">The source (null when NULL).</param>
/// <param name="Target">The target path as the caller wrote it.</param>
/// <param name="Flags">The MS_* flags register.</param>
/// <param name="Data">The data string (null when NULL).</param>
public sealed record MountRequest(string? FsType, string? Source, string Target, ulong Flags, string? Data)
{
    // mount(2) flag bits (include/uapi/linux/mount.h).
    internal const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_NOSYMFOLLOW = 256, MS_NOATIME = 1024,
        MS_NODIRATIME = 2048, MS_SILENT = 32768, MS_RELATIME = 1 << 21, MS_STRICTATIME = 1 << 24;
    /// <summary>The magic number old programs put in the top 16 bits; the kernel drops it (do_mount).</summary>
    internal const ulong MS_MGC_MSK = 0xffff0000, MS_MGC_VAL = 0xC0ED0000;

    /// <summary>The flags a new mount may carry; anything else (MS_BIND, MS_MOVE, MS_REMOUNT, propagation, MS_REC, superblock
    /// flags such as MS_SYNCHRONOUS) is not a plain new mount and is refused.</summary>
    internal const ulong Accepted = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW | MS_NOATIME | MS_NODIRATIME | MS_SILENT | MS_RELATIME | MS_STRICTATIME;

    /// <summary>The flags register without the legacy magic number (do_mount strips it when the top half equals it).</summary>
    public ulong EffectiveFlags => (Flags & MS_MGC_MSK) == MS_MGC_VAL ? Flags & ~MS_MGC_MSK : Flags;
}

/// <summary>What the agent mounts for an allowed <see cref="MountRequest"/>.</summary>
/// <param name="Rule">The rule that allowed it.</param>
/// <param name="FsType">The filesystem type.</param>
/// <param name="Source">The source ("none" when the caller passed NULL).</param>
/// <param name="Target">The target: a canonical absolute path, resolved in the caller's root without following symlinks.</param>
/// <param name="Options">The data options in order: key and value (null for a flag option such as <c>noswap</c>).</param>
/// <param name="Attributes">The caller's flags plus the rule's forced ones.</param>
public sealed record MountPlan(MountRule Rule, string FsType, string Source, string Target, ImmutableArray<KeyValuePair<string, string?>> Options, MountAttributes Attributes);

/// <summary>A ruleset's answer to a mount: a <see cref="Plan"/>, or the reason it is refused.</summary>
/// <param name="Plan">What to mount, or null when refused.</param>
/// <param name="Refusal">Why it is refused, or null when allowed.</param>
public sealed record MountDecision(MountPlan? Plan, string? Refusal)
{
    internal static MountDecision Refuse(string why) => new(null, why);

    /// <summary>Decides <paramref name="request"/> against <paramref name="rules"/>: the first rule whose type, source and target match decides.</summary>
    public static MountDecision For(MountRequest request, IReadOnlyList<MountRule> rules)
    {
        ArgumentNullException.ThrowIfNull(request);
        ulong flags = request.EffectiveFlags;
        if ((flags & ~MountRequest.Accepted) != 0)
            return Refuse(string.Create(CultureInfo.InvariantCulture, $"flags 0x{flags & ~MountRequest.Accepted:x} are not those of a new mount (bind, move, remount, propagation and superblock flags are never performed)"));
        if (string.IsNullOrEmpty(request.FsType)) return Refuse("no filesystem type");
        if (!IsCanonicalAbsolute(request.Target))
            return Refuse($"target '{request.Target}' is not a canonical absolute path (no '.', '..', empty components or trailing '/')");
        string source = request.Source ?? "none";
        var rule = rules.FirstOrDefault(r => r.FsType == request.FsType && (r.Source is null || r.Source.Matches(source)) && r.Target.Matches(request.Target));
        if (rule is null) return Refuse($"no mount rule allows {request.FsType} from '{source}' on {request.Target}");
        var options = ImmutableArray.CreateBuilder<KeyValuePair<string, string?>>();
        if (!string.IsNullOrEmpty(request.Data))
        {
            foreach (var item in request.Data.Split(','))
            {
                if (item.Length == 0) continue;
                int eq = item.IndexOf('=');
                string key = eq < 0 ? item : item[..eq];
                if (key == "source" || !rule.Options.Contains(key))
                    return Refuse($"mount option '{key}' is not allowed for {rule.FsType} on {rule.Target} (allowed: {(rule.Options.IsEmpty ? "none" : string.Join(", ", rule.Options))})");
                options.Add(new(key, eq < 0 ? null : item[(eq + 1)..]));
            }
        }
        var attrs = MountAttributes.None;
        if ((flags & MountRequest.MS_RDONLY) != 0 || rule.Force.HasFlag(ForcedMountFlags.ReadOnly)) attrs |= MountAttributes.ReadOnly;
        if ((flags & MountRequest.MS_NOSUID) != 0 || rule.Force.HasFlag(ForcedMountFlags.NoSuid)) attrs |= MountAttributes.NoSuid;
        if ((flags & MountRequest.MS_NODEV) != 0 || rule.Force.HasFlag(ForcedMountFlags.NoDev)) attrs |= MountAttributes.NoDev;
        if ((flags & MountRequest.MS_NOEXEC) != 0 || rule.Force.HasFlag(ForcedMountFlags.NoExec)) attrs |= MountAttributes.NoExec;
        if ((flags & MountRequest.MS_NOATIME) != 0) attrs |= MountAttributes.NoAtime;
        else if ((flags & MountRequest.MS_STRICTATIME) != 0) attrs |= MountAttributes.StrictAtime;
        if ((flags & MountRequest.MS_NODIRATIME) != 0) attrs |= MountAttributes.NoDirAtime;
        if ((flags & MountRequest.MS_NOSYMFOLLOW) != 0) attrs |= MountAttributes.NoSymFollow;
        return new(new MountPlan(rule, request.FsType, source, request.Target, options.ToImmutable(), attrs), null);
    }

    /// <summary>Absolute, no empty, "." or ".." component, no trailing '/' (except "/" itself): what mount(8) passes after canonicalizing.</summary>
    internal static bool IsCanonicalAbsolute(string path)
    {
        if (path == "/") return true;
        if (path.Length < 2 || path[0] != '/' || path[^1] == '/') return false;
        foreach (var part in path[1..].Split('/'))
            if (part.Length == 0 || part == "." || part == "..") return false;
        return true;
    }
}
