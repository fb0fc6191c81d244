using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.Notify;

namespace SeccompKit.Linux.Supervise;

/// <summary>Why <see cref="NotificationSupervisor.Run"/> returned.</summary>
public enum SupervisorExit
{
    /// <summary>Every task that used the filter is gone (POLLHUP): nothing can be notified any more.</summary>
    TargetsGone,
    /// <summary><see cref="NotificationSupervisor.Stop"/> was called or the token was cancelled.</summary>
    Stopped,
}

/// <summary>Counters of a supervisor (a snapshot).</summary>
/// <param name="Received">Notifications received.</param>
/// <param name="Answered">Answers the kernel took.</param>
/// <param name="TargetsGone">Notifications whose target died or was interrupted before the answer (ENOENT), or during a memory read.</param>
/// <param name="Faults">Handler exceptions and refused unsafe Continues, each answered with EPERM.</param>
public readonly record struct SupervisorStatistics(long Received, long Answered, long TargetsGone, long Faults);

/// <summary>
/// The responder loop: receives notifications from a listener, asks an <see cref="INotificationHandler"/>, answers.
/// One thread serves every notifying thread and process of the filter (the kernel queues them). It survives targets
/// that die or are interrupted mid-call (ENOENT), fails closed (a handler fault answers EPERM), enforces the TOCTOU
/// rule (no Continue after reading target memory), and stops cleanly when the last filtered task exits (POLLHUP) or
/// on <see cref="Stop"/>. After start-up the loop allocates nothing per notification: notifications and answers are
/// value types, the receive buffer is reused, the context is reused.
/// </summary>
public sealed class NotificationSupervisor : IDisposable
{
    private readonly NotificationListener _listener;
    private readonly INotificationHandler _handler;
    private readonly NotificationContext _context;
    private readonly SafeFileDescriptorHandle _stop;
    private long _received, _answered, _gone, _faults;
    private int _running;

    /// <summary>Creates a supervisor for <paramref name="listener"/> (not owned: dispose it after the supervisor stops).</summary>
    public NotificationSupervisor(NotificationListener listener, INotificationHandler handler)
    {
        _listener = listener ?? throw new ArgumentNullException(nameof(listener));
        _handler = handler ?? throw new ArgumentNullException(nameof(handler));
        _context = new NotificationContext(listener);
        int fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0) throw new ErrnoException("eventfd", Errors.Last(), "");
        _stop = new SafeFileDescriptorHandle(fd);
    }

    /// <summary>Called (on the supervisor thread) with each handler exception or refused unsafe Continue; the syscall was answered with EPERM.</summary>
    public Action<SeccompNotification, Exception>? Faulted { get; init; }

    /// <summary>The counters so far.</summary>
    public SupervisorStatistics Statistics => new(Interlocked.Read(ref _received), Interlocked.Read(ref _answered), Interlocked.Read(ref _gone), Interlocked.Read(ref _faults));

    /// <summary>Starts <see cref="Run"/> on a dedicated thread.</summary>
    public Task<SupervisorExit> Start(CancellationToken cancellation = default)
    {
        var done = new TaskCompletionSource<SupervisorExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try { done.SetResult(Run(cancellation)); }
            catch (Exception e) { done.SetException(e); }
        })
        { IsBackground = true, Name = "seccomp supervisor" };
        thread.Start();
        return done.Task;
    }

    /// <summary>Serves notifications on the calling thread until the targets are gone or the supervisor is stopped.</summary>
    public SupervisorExit Run(CancellationToken cancellation = default)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0) throw new InvalidOperationException("this supervisor is already running; one thread receives per listener");
        using var registration = cancellation.Register(Stop);
        bool added = false;
        _stop.DangerousAddRef(ref added);
        try
        {
            int stopFd = _stop.Fd;
            while (true)
            {
                switch (_listener.Wait(-1, stopFd))
                {
                    case ListenerEvent.Closed: return SupervisorExit.TargetsGone;
                    case ListenerEvent.Interrupted: return SupervisorExit.Stopped;
                    case ListenerEvent.Timeout: continue;
                }
                if (!_listener.TryReceive(out var n))
                {
                    Interlocked.Increment(ref _gone);
                    continue;
                }
                Interlocked.Increment(ref _received);
                Serve(n);
            }
        }
        finally
        {
            if (added) _stop.DangerousRelease();
            Volatile.Write(ref _running, 0);
        }
    }

    private void Serve(in SeccompNotification n)
    {
        _context.Reset(n);
        NotificationResponse response;
        try
        {
            response = _handler.Handle(n, _context);
            if (response.Kind == ResponseKind.Continue && _context.MemoryWasRead)
                throw new InvalidOperationException(
                    "the handler read the target's memory and then answered Continue; the kernel would run the syscall with memory the target " +
                    "may have changed since (TOCTOU, seccomp_unotify(2)). Perform the operation in the supervisor and answer Return/InjectFd, or Fail");
        }
        catch (TargetGoneException)
        {
            Interlocked.Increment(ref _gone);
            return;
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _faults);
            Faulted?.Invoke(n, e);
            response = NotificationResponse.Fail(Errno.EPERM);
        }
        if (_listener.Send(n.Id, response) == SendResult.Sent) Interlocked.Increment(ref _answered);
        else Interlocked.Increment(ref _gone);
    }

    /// <summary>Makes <see cref="Run"/> return (from any thread). Notifications still pending stay pending until the listener is closed.</summary>
    public unsafe void Stop()
    {
        if (_stop.IsClosed) return;
        ulong one = 1;
        bool added = false;
        try
        {
            _stop.DangerousAddRef(ref added);
            // SAFETY: 8 bytes of stack for the eventfd counter.
            Interop.Proc.write(_stop.Fd, &one, 8);
        }
        catch (ObjectDisposedException) { }
        finally
        {
            if (added) _stop.DangerousRelease();
        }
    }

    /// <summary>Stops the loop's wake-up descriptor. Call after <see cref="Run"/> returned.</summary>
    public void Dispose() => _stop.Dispose();
}
