using SeccompKit.Agent;

namespace SeccompKit.Linux.Agent;

/// <summary>Who sent a listener to the agent, as the kernel vouches for it (SO_PEERCRED at connect time).</summary>
/// <param name="Pid">The sending process (the runtime: <c>runc</c>, <c>crun</c>), in the agent's pid namespace.</param>
/// <param name="Uid">Its effective uid.</param>
/// <param name="Gid">Its effective gid.</param>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid);

/// <summary>
/// A container whose seccomp listener the agent accepted: the validated payload, the mode its metadata chose, who sent
/// it and where its results go. A session (<see cref="IContainerSession"/>) serves it until it exits.
/// </summary>
public sealed class AgentContainer
{
    /// <summary>The validated payload.</summary>
    public required AgentPayload Payload { get; init; }

    /// <summary>The mode from the payload's metadata (or the agent's default).</summary>
    public required ContainerMode Mode { get; init; }

    /// <summary>The runtime process that sent the listener.</summary>
    public required PeerCredentials Peer { get; init; }

    /// <summary>"runc" or "crun" (the sender's executable name), or null when it is neither.</summary>
    public string? Runtime { get; init; }

    /// <summary>The directory this container's result files are written to (the agent's <c>--output</c>).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>When the listener was received.</summary>
    public DateTimeOffset Received { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The container id (<see cref="ContainerState.Id"/>).</summary>
    public string Id => Payload.State.Id;

    /// <summary>The container init's pid in the agent's pid namespace.</summary>
    public int InitPid => Payload.Pid;
}
