namespace SeccompKit.Linux.Agent;

/// <summary>Why <see cref="SeccompAgent.Start"/> refused to listen.</summary>
public enum AgentStartProblem
{
    /// <summary>Another process accepts connections on the socket path.</summary>
    SocketInUse,
    /// <summary>The socket path exists and is not a socket, is too long, or cannot be bound.</summary>
    SocketPath,
    /// <summary>The output directory does not exist, is not a directory, or is not writable.</summary>
    OutputDirectory,
    /// <summary>The configured socket group does not exist.</summary>
    SocketGroup,
}

/// <summary>The agent could not start listening; nothing was left behind (no socket file).</summary>
public sealed class AgentStartException : SeccompException
{
    /// <summary>Creates the exception.</summary>
    public AgentStartException(AgentStartProblem problem, string message, Exception? inner = null) : base(message, inner!) => Problem = problem;

    /// <summary>Which check failed.</summary>
    public AgentStartProblem Problem { get; }
}
