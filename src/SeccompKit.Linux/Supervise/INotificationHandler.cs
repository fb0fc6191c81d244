namespace SeccompKit.Linux.Supervise;

/// <summary>
/// Decides notified syscalls for a <see cref="NotificationSupervisor"/>. Called on the supervisor's thread, one
/// notification at a time; a handler that blocks delays every other notified thread.
/// </summary>
public interface INotificationHandler
{
    /// <summary>
    /// Decides <paramref name="notification"/>. Read the target's memory only through <paramref name="context"/>.
    /// An exception answers the syscall with EPERM (fail closed) and is reported to
    /// <see cref="NotificationSupervisor.Faulted"/>.
    /// </summary>
    NotificationResponse Handle(in SeccompNotification notification, NotificationContext context);
}
