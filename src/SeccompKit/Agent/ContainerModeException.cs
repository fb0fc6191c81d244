namespace SeccompKit.Agent;

/// <summary>
/// A container's <c>listenerMetadata</c> that names no mode the agent has: not in the grammar
/// (<see cref="ContainerMode.Grammar"/>), or absent while the agent has no default mode.
/// </summary>
public sealed class ContainerModeException : SeccompException
{
    /// <summary>Creates the exception; the message says what was given and the grammar.</summary>
    public ContainerModeException(string message) : base(message) { }
}
