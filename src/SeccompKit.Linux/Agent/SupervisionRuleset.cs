using System.Collections.Immutable;
using SeccompKit.Agent;
using SeccompKit.Linux.Supervise;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// A ruleset the agent can supervise containers with: its name, the syscalls its handler decides (what
/// <c>agent profile --metadata supervise:NAME</c> makes the container notify), and how to make the handler for one
/// container. Built from a <see cref="RulesetSpec"/> (<see cref="From"/>: the built-in mknod and mount handlers) or
/// registered by a library user with any <see cref="INotificationHandler"/> (<see cref="RulesetRegistry.Register"/>).
/// </summary>
/// <param name="Name">The name <c>supervise:NAME</c> selects.</param>
/// <param name="Syscalls">The syscalls the handler decides, by x86_64 name.</param>
/// <param name="CreateHandler">Makes the handler for one container; called once per container. A handler that is
/// <see cref="IDisposable"/> is disposed when the container's session ends.</param>
public sealed record SupervisionRuleset(string Name, ImmutableArray<string> Syscalls, Func<RulesetContext, INotificationHandler> CreateHandler)
{
    /// <summary>The ruleset of <paramref name="spec"/>, handled by the agent's mknod and mount handlers.</summary>
    public static SupervisionRuleset From(RulesetSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new(spec.Name, spec.Syscalls, context => new RulesetHandler(spec, context));
    }
}
