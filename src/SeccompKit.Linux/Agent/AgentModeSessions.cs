using SeccompKit.Agent;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// The session factory an agent uses by mode (<see cref="AgentOptions.Sessions"/> = <see cref="Create"/>): one factory
/// per mode. A container whose mode has no factory is refused with a message saying so (its listener is closed, so its
/// notified calls fail with ENOSYS): an agent never serves a container in a mode it cannot carry out.
/// </summary>
public sealed record AgentModeSessions
{
    /// <summary>Makes the session of a <c>learn</c> container, or null when this agent does not learn.</summary>
    public Func<AgentContainer, IContainerSession>? Learn { get; init; }

    /// <summary>Makes the session of a <c>complain:PROFILE</c> container, or null when this agent does not complain.</summary>
    public Func<AgentContainer, ContainerMode.Complain, IContainerSession>? Complain { get; init; }

    /// <summary>Makes the session of a <c>supervise:RULESET</c> container, or null when this agent does not supervise.</summary>
    public Func<AgentContainer, ContainerMode.Supervise, IContainerSession>? Supervise { get; init; }

    /// <summary>
    /// The sessions <c>seccompkit agent</c> serves with for <paramref name="config"/>: <c>learn</c> with
    /// <see cref="ContainerLearnSession"/> (<paramref name="learn"/>, default options), <c>complain:NAME</c> with
    /// <see cref="ContainerComplainSession"/> against the configuration's profile NAME, <c>supervise:NAME</c> with
    /// <see cref="SupervisedContainerSession"/> and the ruleset NAME of <paramref name="rulesets"/> (default: the built-in
    /// ones and the configuration's, <see cref="RulesetRegistry.FromConfig"/>; pass your own registry to add handlers).
    /// A name the configuration does not define refuses the container with the names it does define.
    /// </summary>
    public static AgentModeSessions Default(AgentConfig config, RulesetRegistry? rulesets = null, ContainerLearnOptions? learn = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        rulesets ??= RulesetRegistry.FromConfig(config);
        return new AgentModeSessions
        {
            Learn = c => ContainerLearnSession.Start(c, learn),
            Complain = (c, m) => ContainerComplainSession.Start(c, config.Profiles.TryGetValue(m.Profile, out var profile) ? profile
                : throw new SeccompException(config.Profiles.IsEmpty
                    ? $"complain:{m.Profile}: the agent's configuration names no profiles; add \"profiles\": {{\"{m.Profile}\": \"/path/to/profile.json\"}} to it{(config.Source is null ? " (pass --config FILE)" : $" ({config.Source})")}"
                    : $"complain:{m.Profile}: no profile of that name in the agent's configuration{(config.Source is null ? "" : $" ({config.Source})")}; it names {string.Join(", ", config.Profiles.Keys.Order(StringComparer.Ordinal))}")),
            Supervise = SupervisedContainerSession.For(rulesets),
        };
    }

    /// <summary>The session for <paramref name="container"/>'s mode.</summary>
    /// <exception cref="SeccompException">This agent has no session for the mode.</exception>
    public IContainerSession Create(AgentContainer container)
    {
        ArgumentNullException.ThrowIfNull(container);
        return container.Mode switch
        {
            ContainerMode.Learn when Learn is not null => Learn(container),
            ContainerMode.Complain c when Complain is not null => Complain(container, c),
            ContainerMode.Supervise s when Supervise is not null => Supervise(container, s),
            var m => throw new SeccompException($"this agent has no {Kind(m)} sessions; run the container with a mode it serves"),
        };
    }

    private static string Kind(ContainerMode m) => m switch
    {
        ContainerMode.Learn => "learn",
        ContainerMode.Complain => "complain",
        _ => "supervise",
    };
}
