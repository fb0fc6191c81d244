namespace SeccompKit.Agent;

/// <summary>
/// A seccomp-agent payload (what a runtime sent with a listener) the agent refuses: too large, not JSON, a field
/// missing or of the wrong type, a duplicate key, an unsafe container id, or a state the agent does not serve.
/// <see cref="JsonPath"/> says where (<c>$.state.pid</c>), <see cref="Problem"/> what is wrong.
/// </summary>
public sealed class AgentPayloadException : SeccompException
{
    /// <summary>Creates the exception for the value at <paramref name="jsonPath"/>.</summary>
    public AgentPayloadException(string jsonPath, string problem)
        : base($"payload {jsonPath}: {problem}")
    {
        JsonPath = jsonPath;
        Problem = problem;
    }

    /// <summary>Where in the payload the problem is (<c>$</c> for the payload as a whole).</summary>
    public string JsonPath { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }
}
