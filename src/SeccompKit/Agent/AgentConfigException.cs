namespace SeccompKit.Agent;

/// <summary>An agent configuration file that cannot be used: unreadable, not JSON, or a value at <see cref="JsonPath"/> that is wrong.</summary>
public sealed class AgentConfigException : SeccompException
{
    /// <summary>Creates the exception for <paramref name="file"/> at <paramref name="jsonPath"/>.</summary>
    public AgentConfigException(string file, string jsonPath, string problem, Exception? inner = null)
        : base($"{file}: {jsonPath}: {problem}", inner!)
    {
        File = file;
        JsonPath = jsonPath;
        Problem = problem;
    }

    /// <summary>The configuration file.</summary>
    public string File { get; }

    /// <summary>Where in it the problem is (<c>$</c> for the whole file).</summary>
    public string JsonPath { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}
