using System.Collections.Immutable;
using SeccompKit.Agent;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// What a ruleset's handler gets for one container: the container, and <see cref="Record"/> to list its decisions in
/// <c>OUTPUT/&lt;id&gt;.supervise.json</c>. Made by <see cref="SupervisedContainerSession"/>, one per container.
/// </summary>
public sealed class RulesetContext
{
    private readonly object _lock = new();
    private readonly List<SupervisedCall> _calls = [];
    private long _dropped;

    internal RulesetContext(AgentContainer container, string ruleset)
    {
        Container = container;
        Ruleset = ruleset;
    }

    /// <summary>The container being supervised.</summary>
    public AgentContainer Container { get; }

    /// <summary>The ruleset's name.</summary>
    public string Ruleset { get; }

    /// <summary>Set by <see cref="Record"/>: whether the notification being handled was recorded (the session records the rest).</summary>
    internal bool RecordedCurrent { get; set; }

    /// <summary>Adds a decision to the container's report (thread-safe; beyond <see cref="SuperviseReport.MaxCalls"/> only counted).</summary>
    public void Record(SupervisedCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        lock (_lock)
        {
            RecordedCurrent = true;
            if (_calls.Count < SuperviseReport.MaxCalls) _calls.Add(call);
            else _dropped++;
        }
    }

    /// <summary>The decisions so far (a copy).</summary>
    public ImmutableArray<SupervisedCall> Calls
    {
        get { lock (_lock) return [.. _calls]; }
    }

    internal long Dropped
    {
        get { lock (_lock) return _dropped; }
    }
}
