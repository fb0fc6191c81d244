using SeccompKit.Linux.Kernel;
using System.Collections.Immutable;
using SeccompKit.Agent;
using SeccompKit.Linux.Supervise;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// A container in <c>supervise:RULESET</c> mode: the ruleset's handler answers its notifications (the built-in mknod and
/// mount handlers, or a library user's), every decision is recorded, and <see cref="Finish"/> writes them to
/// <c>OUTPUT/&lt;id&gt;.supervise.json</c>.
/// </summary>
public sealed class SupervisedContainerSession : IContainerSession
{
    private readonly RulesetContext _context;
    private readonly INotificationHandler _inner;
    private readonly AgentContainer _container;
    private int _finished;

    private SupervisedContainerSession(AgentContainer container, SupervisionRuleset ruleset)
    {
        _container = container;
        _context = new RulesetContext(container, ruleset.Name);
        _inner = ruleset.CreateHandler(_context) ?? throw new InvalidOperationException($"ruleset '{ruleset.Name}' made no handler");
        Handler = new Recording(_inner, _context);
    }

    /// <summary>Starts supervising <paramref name="container"/> with <paramref name="ruleset"/> (from a <see cref="RulesetRegistry"/>).</summary>
    public static SupervisedContainerSession Start(AgentContainer container, SupervisionRuleset ruleset)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(ruleset);
        return new SupervisedContainerSession(container, ruleset);
    }

    /// <summary>
    /// The supervise factory of an agent (<see cref="AgentModeSessions.Supervise"/>): each container gets a session of the
    /// ruleset its <c>supervise:NAME</c> names in <paramref name="rulesets"/>; an unknown name throws
    /// <see cref="UnknownRulesetException"/>, so the agent refuses that container (and says which rulesets it knows).
    /// </summary>
    public static Func<AgentContainer, ContainerMode.Supervise, IContainerSession> For(RulesetRegistry rulesets)
    {
        ArgumentNullException.ThrowIfNull(rulesets);
        return (container, mode) => Start(container, rulesets.Get(mode.Ruleset));
    }

    /// <summary>Starts supervising <paramref name="container"/> with the agent's handlers for <paramref name="spec"/>.</summary>
    public static SupervisedContainerSession Start(AgentContainer container, RulesetSpec spec) => Start(container, SupervisionRuleset.From(spec));

    /// <inheritdoc/>
    public INotificationHandler Handler { get; }

    /// <summary>The decisions so far.</summary>
    public ImmutableArray<SupervisedCall> Calls => _context.Calls;

    /// <summary>Writes <c>OUTPUT/&lt;id&gt;.supervise.json</c> atomically (once; a second call writes nothing).</summary>
    public ContainerOutcome Finish(ContainerEnd end)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0) return new ContainerOutcome("supervise results already written", []);
        var calls = _context.Calls;
        var report = new SuperviseReport(_container.Id, _context.Ruleset, end == ContainerEnd.Exited ? "exited" : "agentStopped", calls, _context.Dropped);
        string path = ContainerResults.PathFor(_container, ".supervise.json");
        AtomicFile.Write(path, report.ToJson(), overwrite: true);
        int performed = calls.Count(c => c.Result == SupervisedResult.Performed), refused = calls.Count(c => c.Result is SupervisedResult.Refused or SupervisedResult.Failed);
        return new ContainerOutcome($"supervised with {_context.Ruleset}: {performed} performed, {refused} refused or failed: {path}", [path]);
    }

    /// <summary>Ends the ruleset handler (its acting thread).</summary>
    public void Dispose()
    {
        if (_inner is IDisposable d) d.Dispose();
    }

    /// <summary>Records what the ruleset's handler did not: a handler fault (answered EPERM by the supervisor) or a vanished target.</summary>
    private sealed class Recording(INotificationHandler inner, RulesetContext context) : INotificationHandler
    {
        public NotificationResponse Handle(in SeccompNotification n, NotificationContext ctx)
        {
            context.RecordedCurrent = false;
            try
            {
                return inner.Handle(n, ctx);
            }
            catch (TargetGoneException)
            {
                if (!context.RecordedCurrent) context.Record(new(Name(n), n.Pid, null, null, SupervisedResult.TargetGone, 0, "the caller died or was interrupted while the agent read its memory"));
                throw;
            }
            catch (Exception e)
            {
                if (!context.RecordedCurrent) context.Record(new(Name(n), n.Pid, null, null, SupervisedResult.Failed, (int)Errno.EPERM, "handler fault: " + e.Message));
                throw;
            }
        }

        private static string Name(in SeccompNotification n) =>
            Architecture.X86_64.Syscalls.TryGetName(n.Nr, out var s) ? s : n.Nr.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
