using SeccompKit.Agent;

namespace SeccompKit.Linux.Agent;

/// <summary>How a <see cref="SeccompAgent"/> listens and whom it serves.</summary>
public sealed record AgentOptions
{
    /// <summary>The socket path runtimes connect to (the containers' <c>linux.seccomp.listenerPath</c>); at most 107 bytes.</summary>
    public required string SocketPath { get; init; }

    /// <summary>The existing, writable directory the sessions write their result files to.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Allowed uids, socket group, default mode, profiles and rulesets (default: root only, 0600, no default mode).</summary>
    public AgentConfig Config { get; init; } = new();

    /// <summary>
    /// Makes the session that serves an accepted container (its handler answers the container's notifications; its
    /// Finish writes the results). Called on the container's own supervision thread; an exception refuses the
    /// container (its listener is closed, so its notified calls fail with ENOSYS) and is logged.
    /// </summary>
    public required Func<AgentContainer, IContainerSession> Sessions { get; init; }

    /// <summary>Receives every event (listening, served, refused, finished, stopped); called from any agent thread, so it must be thread-safe and quick.</summary>
    public Action<AgentEvent>? Log { get; init; }

    /// <summary>
    /// How long a connected peer may take to send its payload and descriptors. runc and crun send at once, right after
    /// connecting (measured: well under 100 ms), so a peer still silent after this is refused and its connection closed.
    /// </summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How many connections may be in the middle of being received at once; more are refused at once (a flood of silent peers cannot exhaust threads).</summary>
    public int MaxPendingConnections { get; init; } = 64;
}
