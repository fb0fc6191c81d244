using System.Collections.Immutable;

namespace SeccompKit.Agent;

/// <summary>
/// What an OCI runtime sends a seccomp agent in its one <c>sendmsg</c> (runtime-spec "containerProcessState"): the
/// payload JSON, whose <see cref="Fds"/> name the SCM_RIGHTS descriptors in order (runc 1.1.5 and crun 1.8.1 send exactly
/// one, "seccompFd").
/// </summary>
/// <param name="OciVersion">The payload's ociVersion.</param>
/// <param name="Fds">Names of the SCM_RIGHTS descriptors, in the order they were sent.</param>
/// <param name="Pid">The container process whose filter the listener belongs to (equals <see cref="ContainerState.Pid"/>).</param>
/// <param name="Metadata">listenerMetadata from the config, or null when the runtime left it out (it was not set).</param>
/// <param name="State">The container's state.</param>
public sealed partial record AgentPayload(string OciVersion, ImmutableArray<string> Fds, int Pid, string? Metadata, ContainerState State)
{
    /// <summary>The name runc and crun give the seccomp notify descriptor in <see cref="Fds"/>.</summary>
    public const string SeccompFdName = "seccompFd";
}
