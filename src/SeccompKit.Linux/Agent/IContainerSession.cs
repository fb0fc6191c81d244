using System.Collections.Immutable;
using SeccompKit.Linux.Supervise;

namespace SeccompKit.Linux.Agent;

/// <summary>Why a container's supervision ended.</summary>
public enum ContainerEnd
{
    /// <summary>Every task using the container's filter is gone (POLLHUP on the notify descriptor): the container exited.</summary>
    Exited,
    /// <summary>The agent is shutting down (SIGTERM) while the container still runs; from now on its notified calls fail with ENOSYS.</summary>
    AgentStopped,
}

/// <summary>What a session wrote when its container's supervision ended.</summary>
/// <param name="Summary">One line for the agent's log ("learned 41 syscalls: /out/ID.json").</param>
/// <param name="Files">The files written (full paths), possibly none.</param>
public sealed record ContainerOutcome(string Summary, ImmutableArray<string> Files);

/// <summary>
/// The agent's work for one container in one mode (learn, complain, supervise): its <see cref="Handler"/> answers the
/// container's notifications on the container's own supervision thread; <see cref="Finish"/> writes its results once.
/// </summary>
public interface IContainerSession : IDisposable
{
    /// <summary>Answers the container's notifications (one thread per container: a slow handler delays only this container).</summary>
    INotificationHandler Handler { get; }

    /// <summary>
    /// Called once, after the supervision loop ended (no more calls to <see cref="Handler"/>): writes the container's
    /// results atomically into <see cref="AgentContainer.OutputDirectory"/> and says what was written.
    /// </summary>
    ContainerOutcome Finish(ContainerEnd end);
}
