namespace SeccompKit.Linux.Agent;

/// <summary>A connection or container the agent refuses, and why (logged as an <see cref="AgentEventKind.Refused"/> event).</summary>
public sealed class ConnectionRefusedException : SeccompException
{
    /// <summary>Creates the refusal.</summary>
    public ConnectionRefusedException(RefusalReason reason, string message) : base(message) => Reason = reason;

    /// <summary>Why.</summary>
    public RefusalReason Reason { get; }
}
