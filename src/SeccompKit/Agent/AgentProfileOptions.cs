using SeccompKit.Policy;

namespace SeccompKit.Agent;

/// <summary>What <see cref="AgentProfile.For"/> needs besides the mode, the runtime and the socket.</summary>
public sealed record AgentProfileOptions
{
    /// <summary>
    /// <c>complain:PROFILE</c>: the profile whose refusals are notified instead (required). <c>supervise:RULESET</c>: the
    /// base the notified syscalls are added to (null: allow everything else). Ignored for <c>learn</c>.
    /// </summary>
    public SeccompPolicy? Profile { get; init; }

    /// <summary><c>supervise:RULESET</c>: the syscalls the ruleset's handlers decide (required, at least one). Ignored otherwise.</summary>
    public IReadOnlyList<string> Notify { get; init; } = [];
}
