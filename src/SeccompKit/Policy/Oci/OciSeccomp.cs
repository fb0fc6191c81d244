namespace SeccompKit.Policy.Oci;

/// <summary>
/// The OCI runtime-spec <c>linux.seccomp</c> object (config-linux.md, "Seccomp"), as written: nothing is
/// interpreted yet (see <see cref="OciImporter"/> for that). Absent fields are null, so that "absent" and
/// "empty" stay apart where runc treats them differently (an absent <see cref="Flags"/> means
/// SECCOMP_FILTER_FLAG_SPEC_ALLOW to runc, an empty list means no flags).
/// </summary>
public sealed record OciSeccomp
{
    /// <summary><c>defaultAction</c>, e.g. <c>SCMP_ACT_ERRNO</c>.</summary>
    public string? DefaultAction { get; init; }

    /// <summary><c>defaultErrnoRet</c>: errno (ERRNO) or tracer data (TRACE) of the default action.</summary>
    public ulong? DefaultErrnoRet { get; init; }

    /// <summary><c>architectures</c>, e.g. <c>SCMP_ARCH_X86_64</c>.</summary>
    public IReadOnlyList<string>? Architectures { get; init; }

    /// <summary><c>flags</c>, e.g. <c>SECCOMP_FILTER_FLAG_LOG</c>.</summary>
    public IReadOnlyList<string>? Flags { get; init; }

    /// <summary><c>listenerPath</c>: the UNIX socket the runtime sends the notification fd to.</summary>
    public string? ListenerPath { get; init; }

    /// <summary><c>listenerMetadata</c>: opaque text passed to the seccomp agent.</summary>
    public string? ListenerMetadata { get; init; }

    /// <summary><c>syscalls</c>: the rules.</summary>
    public IReadOnlyList<OciSyscall>? Syscalls { get; init; }
}

/// <summary>One entry of <c>linux.seccomp.syscalls</c>: several names sharing an action and conditions.</summary>
public sealed record OciSyscall
{
    /// <summary><c>names</c>.</summary>
    public IReadOnlyList<string> Names { get; init; } = [];

    /// <summary><c>action</c>, e.g. <c>SCMP_ACT_ALLOW</c>.</summary>
    public string Action { get; init; } = "";

    /// <summary><c>errnoRet</c>: errno (ERRNO) or tracer data (TRACE).</summary>
    public ulong? ErrnoRet { get; init; }

    /// <summary><c>args</c>: the conditions.</summary>
    public IReadOnlyList<OciArg> Args { get; init; } = [];

    /// <summary>
    /// Where this entry came from, used as the prefix of diagnostics and error locations
    /// (<c>$.syscalls[3]</c> by default; a Docker profile's resolver points at the profile's own entry).
    /// </summary>
    public string? Origin { get; init; }
}

/// <summary>One condition of an <see cref="OciSyscall"/> (<c>index</c>, <c>value</c>, <c>valueTwo</c>, <c>op</c>).</summary>
public sealed record OciArg
{
    /// <summary><c>index</c>: the argument position, 0..5.</summary>
    public ulong Index { get; init; }

    /// <summary><c>value</c>: the constant, or the mask for <c>SCMP_CMP_MASKED_EQ</c>.</summary>
    public ulong Value { get; init; }

    /// <summary><c>valueTwo</c>: the expected masked value for <c>SCMP_CMP_MASKED_EQ</c>; unused otherwise.</summary>
    public ulong ValueTwo { get; init; }

    /// <summary><c>op</c>, e.g. <c>SCMP_CMP_EQ</c>.</summary>
    public string Op { get; init; } = "";
}
