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
    /// The sessions <c>seccompkit agent</c> serves with for <paramref name="config"/>. Issue 14 wires the learn and
    /// complain sessions and the supervise rulesets here when they are merged; a mode not wired yet is refused by
    /// <see cref="Create"/> with that reason.
    /// </summary>
    public static AgentModeSessions Default(AgentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new AgentModeSessions();
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
