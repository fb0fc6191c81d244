using System.Diagnostics;
using System.Runtime.InteropServices;
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
/// It serves every notifying thread and process of the filter (the kernel queues them). It survives targets that die or
/// are interrupted mid-call (ENOENT), fails closed (a handler fault answers EPERM), enforces the TOCTOU rule (no
/// Continue after reading target memory), and stops cleanly when the last filtered task exits (the kernel's hang-up)
/// or on <see cref="Stop"/>. After start-up it allocates nothing per notification: notifications and answers are value
/// types, each receiving thread reuses its buffer and its context.
/// </summary>
/// <remarks>
/// <para>
/// <b>Receiving.</b> Where the kernel allows it (<see cref="BlockingReceive"/>: Linux 6.11+, and this process could
/// install the supervisor's wake-up signal) a receiving thread waits in NOTIF_RECV itself, so that the kernel hands a
/// notification straight to a supervisor already asleep in the receive: with SYNC_WAKE_UP
/// (<see cref="NotificationListener.TryEnableSyncWakeUp"/>) the target's CPU switches to it directly. Two kernel
/// behaviours make that loop complete (docs/KERNEL-FINDINGS.md): NOTIF_RECV returns ENOENT at once, and wakes a thread
/// asleep in it, when no task uses the filter any more (Linux 6.11, so the hang-up needs no poll), and a signal whose
/// handler lacks SA_RESTART makes it return EINTR (so <see cref="Stop"/> wakes it with a signal of its own,
/// <c>WakeSignal</c>). Otherwise the loop waits in poll(2) on the listener and a stop descriptor before every receive,
/// one system call more per notification.
/// </para>
/// <para>
/// <b>Many targets.</b> With <see cref="MaxConcurrency"/> 1 (the default) one thread receives and handles, one
/// notification at a time, as <see cref="INotificationHandler"/> promises. A handler that is safe to call from several
/// threads at once may allow more: one thread still receives while the handlers are quick (more threads asleep in
/// NOTIF_RECV would all be woken by each notification, which costs the round trip), and when every receiving thread has
/// been busy in a handler for <see cref="SpareAfter"/>, another thread starts receiving, up to
/// <see cref="MaxConcurrency"/>, so that one target's slow call does not hold up the others'. A spare thread ends when
/// it finishes a notification while another thread is receiving.
/// </para>
/// </remarks>
public sealed class NotificationSupervisor : IDisposable
{
    private const int Idle = 0, Receiving = 1, Busy = 2;

    private readonly NotificationListener _listener;
    private readonly INotificationHandler _handler;
    private readonly SafeFileDescriptorHandle _stop;
    private readonly List<Receiver> _receivers = [];
    private readonly ManualResetEventSlim _watchWake = new();
    private long _received, _answered, _gone, _faults;
    private int _running, _stopRequested, _targetsGone, _receiving, _watchAsleep, _loopDone;
    private Exception? _spareFault;

    /// <summary>Creates a supervisor for <paramref name="listener"/> (not owned: dispose it after the supervisor stops).</summary>
    public NotificationSupervisor(NotificationListener listener, INotificationHandler handler)
    {
        _listener = listener ?? throw new ArgumentNullException(nameof(listener));
        _handler = handler ?? throw new ArgumentNullException(nameof(handler));
        int fd = eventfd(0, EFD_CLOEXEC);
        if (fd < 0) throw new ErrnoException("eventfd", Errors.Last(), "");
        _stop = new SafeFileDescriptorHandle(fd);
        BlockingReceive = RecvWakesOnHangUp && WakeSignal.Available;
    }

    /// <summary>
    /// NOTIF_RECV returns ENOENT when the filter has no task left, also to a thread already asleep in it, since Linux 6.11
    /// (kernel/seccomp.c recv_wait_event, "seccomp: interrupt SECCOMP_IOCTL_NOTIF_RECV when all users have exited").
    /// Before, a thread asleep in it slept on after the last target exited, so the loop must poll for POLLHUP there.
    /// </summary>
    private static bool RecvWakesOnHangUp => Environment.OSVersion.Version >= new Version(6, 11);

    /// <summary>Called (on a supervisor thread) with each handler exception or refused unsafe Continue; the syscall was answered with EPERM.</summary>
    public Action<SeccompNotification, Exception>? Faulted { get; init; }

    /// <summary>
    /// How many notifications may be handled at once (1 to 64; default 1). Above 1 the handler is called from several
    /// threads at once and must be safe for that.
    /// </summary>
    public int MaxConcurrency
    {
        get;
        init => field = value is >= 1 and <= 64 ? value : throw new ArgumentOutOfRangeException(nameof(MaxConcurrency), value, "from 1 to 64 notifications at once");
    } = 1;

    /// <summary>How long every receiving thread must have been busy in a handler before another starts receiving (default 1 ms; with <see cref="MaxConcurrency"/> above 1).</summary>
    public TimeSpan SpareAfter
    {
        get;
        init => field = value > TimeSpan.Zero && value <= TimeSpan.FromSeconds(1) ? value : throw new ArgumentOutOfRangeException(nameof(SpareAfter), value, "more than 0 and at most 1 s");
    } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Whether receiving threads wait in NOTIF_RECV itself (Linux 6.11+ with the supervisor's wake-up signal installed), or
    /// in poll(2) before each receive. See the remarks.
    /// </summary>
    public bool BlockingReceive { get; }

    /// <summary>Why <see cref="BlockingReceive"/> is false (null when it is true).</summary>
    public string? PollingReason => BlockingReceive ? null
        : !RecvWakesOnHangUp ? $"Linux {Environment.OSVersion.Version} < 6.11: NOTIF_RECV does not return when the last target exits"
        : WakeSignal.WhyNot;

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

    /// <summary>
    /// Serves notifications on the calling thread (and, with <see cref="MaxConcurrency"/> above 1, spare threads) until
    /// the targets are gone or the supervisor is stopped; returns once every thread it started has ended.
    /// </summary>
    public SupervisorExit Run(CancellationToken cancellation = default)
    {
        if (Interlocked.Exchange(ref _running, 1) != 0) throw new InvalidOperationException("this supervisor is already running; one Run per supervisor at a time");
        using var registration = cancellation.Register(Stop);
        try
        {
            return BlockingReceive ? RunBlocking() : RunPolling();
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private SupervisorExit RunPolling()
    {
        bool added = false;
        _stop.DangerousAddRef(ref added);
        var context = new NotificationContext(_listener);
        int fd = -1;
        try
        {
            fd = _listener.AcquireDescriptor();
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
                Count(ref _received);
                Serve(fd, n, context, onlyReceiver: true);
            }
        }
        finally
        {
            if (fd >= 0) _listener.ReleaseDescriptor();
            if (added) _stop.DangerousRelease();
        }
    }

    private SupervisorExit RunBlocking()
    {
        Volatile.Write(ref _loopDone, 0);
        Volatile.Write(ref _targetsGone, 0);
        var primary = Register(spare: false);
        Thread? watch = null;
        if (MaxConcurrency > 1)
        {
            watch = new Thread(Watch) { IsBackground = true, Name = "seccomp supervisor watch" };
            watch.Start();
        }
        try
        {
            primary.Loop();
        }
        finally
        {
            Volatile.Write(ref _loopDone, 1);
            _watchWake.Set();
            watch?.Join();
            // Spare threads end on the hang-up (the kernel wakes every receiver) or on Stop; if this thread ended on an
            // error, make them stop too before waiting for them (one may be asleep in NOTIF_RECV).
            if (Volatile.Read(ref _targetsGone) == 0) { Interlocked.Exchange(ref _stopRequested, 1); WakeReceivers(); }
            Thread[] spares;
            lock (_receivers) spares = [.. _receivers.Where(r => r.Worker is not null).Select(r => r.Worker!)];
            foreach (var t in spares) t.Join();
        }
        if (_spareFault is { } fault) throw new SeccompException("a supervisor thread failed: " + fault.Message, fault);
        return Volatile.Read(ref _targetsGone) != 0 ? SupervisorExit.TargetsGone : SupervisorExit.Stopped;
    }

    private Receiver Register(bool spare)
    {
        var r = new Receiver(this, spare);
        lock (_receivers) _receivers.Add(r);
        return r;
    }

    /// <summary>
    /// With <see cref="MaxConcurrency"/> above 1: starts a spare receiving thread when every receiving thread has been
    /// in a handler for <see cref="SpareAfter"/>. Ticks every SpareAfter while notifications come; asleep (woken by the
    /// next notification) once a tick passed with none and no handler running, so an idle supervisor costs nothing.
    /// </summary>
    private void Watch()
    {
        long threshold = (long)(SpareAfter.TotalSeconds * Stopwatch.Frequency);
        long lastReceived = -1;
        while (Volatile.Read(ref _loopDone) == 0)
        {
            long received = Interlocked.Read(ref _received);
            if (received == lastReceived && OldestBusy() == 0)
            {
                // Announce the sleep first, then look again: a receiver counts its notification and marks itself busy
                // before it reads _watchAsleep, so one of the two sees the other (both sides use full fences).
                Interlocked.Exchange(ref _watchAsleep, 1);
                if (Interlocked.Read(ref _received) == received && OldestBusy() == 0 && Volatile.Read(ref _loopDone) == 0) _watchWake.Wait();
                Volatile.Write(ref _watchAsleep, 0);
                _watchWake.Reset();
                lastReceived = Interlocked.Read(ref _received);
                continue;
            }
            lastReceived = received;
            long oldest = OldestBusy();
            if (oldest != 0 && Stopwatch.GetTimestamp() - oldest >= threshold && Volatile.Read(ref _receiving) == 0) StartSpare();
            _watchWake.Wait(SpareAfter);
            _watchWake.Reset();
        }
    }

    private long OldestBusy()
    {
        long oldest = 0;
        lock (_receivers)
        {
            foreach (var r in _receivers)
            {
                long since = Volatile.Read(ref r.BusySince);
                if (since != 0 && (oldest == 0 || since < oldest)) oldest = since;
            }
        }
        return oldest;
    }

    private void StartSpare()
    {
        Receiver spare;
        lock (_receivers)
        {
            if (_receivers.Count >= MaxConcurrency || Volatile.Read(ref _stopRequested) != 0 || Volatile.Read(ref _targetsGone) != 0) return;
            spare = new Receiver(this, spare: true);
            spare.Worker = new Thread(spare.RunSpare) { IsBackground = true, Name = "seccomp supervisor" };
            _receivers.Add(spare);
        }
        spare.Worker.Start();
    }

    /// <summary>Runs the handler for <paramref name="n"/> and answers it on <paramref name="fd"/> (the listener, held by the loop).</summary>
    private void Serve(int fd, in SeccompNotification n, NotificationContext context, bool onlyReceiver)
    {
        context.Reset(n);
        NotificationResponse response;
        try
        {
            response = _handler.Handle(n, context);
            if (response.Kind == ResponseKind.Continue && context.MemoryWasRead)
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
        if (_listener.Send(fd, n.Id, response) != SendResult.Sent) Interlocked.Increment(ref _gone);
        else if (onlyReceiver) Count(ref _answered);
        else Interlocked.Increment(ref _answered);
    }

    /// <summary>
    /// Adds one to a counter only this thread writes (the loop has a single receiving thread): a plain increment published
    /// with a release store, where a locked one would cost more than the rest of the loop's bookkeeping
    /// (bench/results/notify.md). Readers use <see cref="Interlocked.Read(ref readonly long)"/>.
    /// </summary>
    private static void Count(ref long counter) => Volatile.Write(ref counter, counter + 1);

    /// <summary>
    /// Makes <see cref="Run"/> return (from any thread; a handler running finishes first). Notifications still pending
    /// stay pending until the listener is closed.
    /// </summary>
    public unsafe void Stop()
    {
        if (_stop.IsClosed) return;
        Interlocked.Exchange(ref _stopRequested, 1);
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
        WakeReceivers();
    }

    /// <summary>
    /// Signals every thread that is in (or about to enter) NOTIF_RECV until none is. A thread marks itself receiving
    /// and then reads the stop flag, and Stop sets the flag and then reads the marks (full fences on both sides), so a
    /// thread either sees the flag or is signalled; a signal that lands just before the thread enters the ioctl is
    /// spent on the no-op handler, hence the repetition until the thread has left the receive.
    /// </summary>
    private void WakeReceivers()
    {
        long deadline = Environment.TickCount64 + 5000;
        int self = Interop.Proc.gettid();
        while (true)
        {
            bool any = false;
            lock (_receivers)
            {
                foreach (var r in _receivers)
                {
                    if (Volatile.Read(ref r.State) != Receiving || r.Tid == self) continue;
                    any = true;
                    WakeSignal.Send(r.Tid); // the thread is registered, so alive: it unregisters under this lock
                }
            }
            if (!any) return;
            if (Environment.TickCount64 > deadline)
                throw new SeccompException($"a supervisor thread did not leave NOTIF_RECV within 5 s of its wake-up signal {WakeSignal.Number}; something in this process changed that signal's handler");
            Thread.Sleep(1);
        }
    }

    /// <summary>Stops the loop's wake-up descriptor. Call after <see cref="Run"/> returned.</summary>
    public void Dispose()
    {
        _stop.Dispose();
        _watchWake.Dispose();
    }

    /// <summary>One receiving thread: its receive buffer, its handler context, and what <see cref="Stop"/> and the watch read.</summary>
    private sealed unsafe class Receiver(NotificationSupervisor owner, bool spare)
    {
        private readonly NotificationContext _context = new(owner._listener);
        public int State;
        public int Tid;
        public long BusySince;
        public Thread? Worker;

        public void RunSpare()
        {
            try { Loop(); }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref owner._spareFault, e, null);
                Interlocked.Exchange(ref owner._stopRequested, 1);
                owner.WakeReceivers();
            }
        }

        public void Loop()
        {
            var o = owner;
            var listener = o._listener;
            bool concurrent = o.MaxConcurrency > 1;
            // One reference on the listener for the whole loop, not two per notification (bench/results/notify.md).
            int fd = listener.AcquireDescriptor();
            void* buffer = NativeMemory.AlignedAlloc((nuint)listener.NotifSize, 16);
            Volatile.Write(ref Tid, Interop.Proc.gettid());
            try
            {
                while (Volatile.Read(ref o._targetsGone) == 0)
                {
                    Interlocked.Exchange(ref State, Receiving);
                    if (Volatile.Read(ref o._stopRequested) != 0) break;
                    if (concurrent) Interlocked.Increment(ref o._receiving);
                    var outcome = listener.ReceiveOnce(fd, buffer, out var n);
                    if (concurrent) Interlocked.Decrement(ref o._receiving);
                    Volatile.Write(ref State, Busy);
                    if (outcome == ReceiveOutcome.Interrupted) continue;
                    if (outcome == ReceiveOutcome.Vanished)
                    {
                        if (listener.HasHungUp()) { Volatile.Write(ref o._targetsGone, 1); break; }
                        Interlocked.Increment(ref o._gone);
                        continue;
                    }
                    if (!concurrent)
                    {
                        Count(ref o._received);
                        o.Serve(fd, n, _context, onlyReceiver: true);
                        continue;
                    }
                    Interlocked.Increment(ref o._received);
                    Interlocked.Exchange(ref BusySince, Stopwatch.GetTimestamp());
                    if (Volatile.Read(ref o._watchAsleep) != 0 && Interlocked.Exchange(ref o._watchAsleep, 0) != 0) o._watchWake.Set();
                    o.Serve(fd, n, _context, onlyReceiver: false);
                    Volatile.Write(ref BusySince, 0);
                    if (spare && Volatile.Read(ref o._receiving) > 0) break; // another thread receives: this one is not needed now
                }
            }
            finally
            {
                listener.ReleaseDescriptor();
                Volatile.Write(ref State, Idle);
                lock (o._receivers) o._receivers.Remove(this);
                NativeMemory.AlignedFree(buffer);
            }
        }
    }
}
