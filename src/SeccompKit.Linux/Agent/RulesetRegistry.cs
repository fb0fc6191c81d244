using System.Collections.Immutable;
using SeccompKit.Agent;
using SeccompKit.Linux.Supervise;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Agent;

/// <summary>A <c>supervise:NAME</c> names no ruleset the agent knows.</summary>
public sealed class UnknownRulesetException : SeccompException
{
    /// <summary>Creates the exception for <paramref name="name"/>, listing the known names.</summary>
    public UnknownRulesetException(string name, IEnumerable<string> known)
        : base($"unknown ruleset '{name}' in supervise:{name}; the agent knows {string.Join(", ", known.Order(StringComparer.Ordinal))}. Define it under \"rulesets\" in the agent's configuration, or register it in the library") { }
}

/// <summary>
/// The rulesets an agent supervises with, by name: the built-in <c>devices</c> (<see cref="RulesetSpec.BuiltinDevices"/>),
/// those of the configuration (<see cref="Add(RulesetSpec)"/>), and those library users register with their own handlers
/// (<see cref="Register"/>: the extension point). Thread-safe; a name is registered once.
/// </summary>
public sealed class RulesetRegistry
{
    private ImmutableDictionary<string, SupervisionRuleset> _rulesets = ImmutableDictionary<string, SupervisionRuleset>.Empty
        .Add(RulesetSpec.BuiltinDevicesName, SupervisionRuleset.From(RulesetSpec.BuiltinDevices));

    /// <summary>A registry with the built-in ruleset and <paramref name="configured"/> (e.g. from <see cref="RulesetSpec.ParseAll"/>).</summary>
    public static RulesetRegistry WithConfigured(IEnumerable<RulesetSpec> configured)
    {
        var r = new RulesetRegistry();
        foreach (var spec in configured) r.Add(spec);
        return r;
    }

    /// <summary>A registry with the built-in ruleset and every ruleset of <paramref name="config"/> (<see cref="RulesetSpec.FromConfig"/>).</summary>
    public static RulesetRegistry FromConfig(AgentConfig config) => WithConfigured(RulesetSpec.FromConfig(config).Values);

    /// <summary>The registered names.</summary>
    public ImmutableArray<string> Names => [.. _rulesets.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Adds a configured ruleset (the agent's own mknod and mount handlers decide by it).</summary>
    public void Add(RulesetSpec spec) => Add(SupervisionRuleset.From(spec));

    /// <summary>
    /// Registers <paramref name="name"/> with a handler of the library user's: <paramref name="createHandler"/> makes one
    /// per container (it receives the container and a <see cref="RulesetContext.Record"/> for the container's report);
    /// <paramref name="syscalls"/> are the syscalls it decides (x86_64 names). The handler runs on the container's supervision
    /// thread and must follow <see cref="NotificationResponse"/>'s TOCTOU rule (the supervisor enforces it).
    /// </summary>
    public void Register(string name, IEnumerable<string> syscalls, Func<RulesetContext, INotificationHandler> createHandler)
    {
        ArgumentNullException.ThrowIfNull(syscalls);
        ArgumentNullException.ThrowIfNull(createHandler);
        Add(new SupervisionRuleset(name, [.. syscalls], createHandler));
    }

    /// <summary>Adds <paramref name="ruleset"/>; its name must be valid and new, its syscalls known x86_64 names.</summary>
    public void Add(SupervisionRuleset ruleset)
    {
        ArgumentNullException.ThrowIfNull(ruleset);
        if (!RulesetSpec.IsValidName(ruleset.Name))
            throw new ArgumentException($"ruleset name '{ruleset.Name}' is not valid; use letters, digits, '_', '.' and '-' (first a letter or digit, at most 64)", nameof(ruleset));
        if (ruleset.Syscalls.IsDefaultOrEmpty)
            throw new ArgumentException($"ruleset '{ruleset.Name}' decides no syscalls; name the syscalls its handler answers", nameof(ruleset));
        foreach (var s in ruleset.Syscalls)
            if (!Architecture.X86_64.Syscalls.Contains(s))
                throw new ArgumentException($"ruleset '{ruleset.Name}' names '{s}', which is not an x86_64 syscall", nameof(ruleset));
        if (!ImmutableInterlocked.TryAdd(ref _rulesets, ruleset.Name, ruleset))
            throw new ArgumentException($"ruleset '{ruleset.Name}' is already registered; choose another name", nameof(ruleset));
    }

    /// <summary>Finds a ruleset by name.</summary>
    public bool TryGet(string name, out SupervisionRuleset ruleset) => _rulesets.TryGetValue(name, out ruleset!);

    /// <summary>The ruleset named <paramref name="name"/>; throws <see cref="UnknownRulesetException"/> naming the known ones.</summary>
    public SupervisionRuleset Get(string name) =>
        _rulesets.TryGetValue(name, out var r) ? r : throw new UnknownRulesetException(name, _rulesets.Keys);
}
