namespace SeccompKit.Linux.Launch;

/// <summary>A policy cannot run a program (<see cref="PolicyRunner"/>); found before anything ran. The message says what to change in the policy.</summary>
public sealed class PolicyRunException : SeccompException
{
    /// <summary>Creates the exception.</summary>
    public PolicyRunException(PolicyRunProblem problem, string message) : base(message) => Problem = problem;

    /// <summary>What is wrong.</summary>
    public PolicyRunProblem Problem { get; }
}
