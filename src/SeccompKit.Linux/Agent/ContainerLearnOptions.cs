using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Agent;

/// <summary>How <see cref="ContainerLearnSession"/> turns what a container did into its profile.</summary>
public sealed record ContainerLearnOptions
{
    /// <summary>The runtime the profile is written for; default: the installed version of the runtime that sent the listener.</summary>
    public OciTarget? Target { get; init; }

    /// <summary>The action for everything not learned. Default ERRNO(EPERM), as Docker.</summary>
    public PolicyAction DefaultAction { get; init; } = PolicyAction.Errno(1);

    /// <summary>Argument conditions from the values seen (default) or syscalls only.</summary>
    public ArgumentMode Arguments { get; init; } = ArgumentMode.Auto;

    /// <summary>Also record the flags of open/openat (and write them as conditions).</summary>
    public bool OpenFlags { get; init; }

    /// <summary>Allow <see cref="LearnedBaseline"/> although the container did not make it (default true).</summary>
    public bool Baseline { get; init; } = true;
}
