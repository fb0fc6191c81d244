using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Files;

/// <summary>How <see cref="PolicyFile"/> reads a policy file.</summary>
public sealed record PolicyFileOptions
{
    /// <summary>The format; <see cref="PolicyFormat.Auto"/> (the default) detects it (<see cref="PolicyFile.Detect"/>).</summary>
    public PolicyFormat Format { get; init; } = PolicyFormat.Auto;

    /// <summary>
    /// Docker profiles: at most one, the host arch whose <c>archMap</c> entry is used (none: x86_64, this host).
    /// Other formats: the architectures the filter covers, replacing the policy's own (none: keep them).
    /// </summary>
    public IReadOnlyList<Architecture> Architectures { get; init; } = [];

    /// <summary>Docker profiles only: the container's capabilities (<c>CAP_SYS_ADMIN</c>...); null for the engine's default set.</summary>
    public IReadOnlyCollection<string>? Capabilities { get; init; }

    /// <summary>Docker profiles only: the kernel release their <c>minKernel</c> conditions are decided for; null for the running kernel.</summary>
    public string? Kernel { get; init; }
}
