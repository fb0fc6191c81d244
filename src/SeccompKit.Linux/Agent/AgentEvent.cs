namespace SeccompKit.Linux.Agent;

/// <summary>What happened in a <see cref="SeccompAgent"/>.</summary>
public enum AgentEventKind
{
    /// <summary>The socket is bound and the agent accepts connections.</summary>
    Listening,
    /// <summary>A container's listener was accepted; its supervision started.</summary>
    Serving,
    /// <summary>A connection or a container was refused (<see cref="AgentEvent.Reason"/>); nothing else was affected.</summary>
    Refused,
    /// <summary>A container's supervision ended and its session wrote its results (<see cref="AgentEvent.Files"/>).</summary>
    Finished,
    /// <summary>A session's handler failed on a notification (answered EPERM), or its Finish failed.</summary>
    SessionFault,
    /// <summary>The agent stopped: every container was finished and the socket removed.</summary>
    Stopped,
}

/// <summary>Why a connection or container was refused.</summary>
public enum RefusalReason
{
    /// <summary>Not a refusal.</summary>
    None,
    /// <summary>The peer's uid (SO_PEERCRED) is not among the allowed uids.</summary>
    PeerUid,
    /// <summary>The peer sent nothing complete within the receive timeout.</summary>
    Timeout,
    /// <summary>The peer closed the connection before sending a whole payload.</summary>
    Closed,
    /// <summary>The payload is not valid (shape, size, types, id, status).</summary>
    Payload,
    /// <summary>The descriptors do not match <c>fds</c>, or the seccomp one is not a seccomp notify descriptor.</summary>
    Descriptors,
    /// <summary>The payload's pid is not a live process under a seccomp filter descending from the peer.</summary>
    Pid,
    /// <summary>The metadata names no mode (or the agent has no default).</summary>
    Mode,
    /// <summary>A container with the same id is being served.</summary>
    DuplicateId,
    /// <summary>The session factory refused the container (an unknown profile or ruleset, ...).</summary>
    Session,
    /// <summary>Too many connections are being received at once.</summary>
    Busy,
    /// <summary>The agent is stopping.</summary>
    Stopping,
    /// <summary>A system call failed while receiving (out of descriptors, ...): the connection is refused, the agent goes on.</summary>
    Error,
}

/// <summary>One event of the agent's log.</summary>
/// <param name="Time">When it happened.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Message">One line for people.</param>
public sealed record AgentEvent(DateTimeOffset Time, AgentEventKind Kind, string Message)
{
    /// <summary>For <see cref="AgentEventKind.Refused"/>: why.</summary>
    public RefusalReason Reason { get; init; }

    /// <summary>The container id, when known.</summary>
    public string? ContainerId { get; init; }

    /// <summary>The container's mode, when known ("learn", "complain:web").</summary>
    public string? Mode { get; init; }

    /// <summary>The connecting process, when known.</summary>
    public PeerCredentials? Peer { get; init; }

    /// <summary>The container init's pid, when known.</summary>
    public int? Pid { get; init; }

    /// <summary>For <see cref="AgentEventKind.Finished"/>: whether the container exited or the agent stopped.</summary>
    public ContainerEnd? End { get; init; }

    /// <summary>For <see cref="AgentEventKind.Finished"/>: the files the session wrote.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>"refused container c1 (peer pid 12 uid 0): payload $.state.id: ...".</summary>
    public override string ToString() => Message;
}
