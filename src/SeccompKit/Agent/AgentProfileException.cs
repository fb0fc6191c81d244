using SeccompKit.Policy;

namespace SeccompKit.Agent;

/// <summary>No agent profile can be written for the mode and runtime asked for; the message says why and what to change.</summary>
public sealed class AgentProfileException : PolicyException
{
    /// <summary>Creates the exception.</summary>
    public AgentProfileException(string message, PolicyLocation? location = null) : base(message, location) { }
}
