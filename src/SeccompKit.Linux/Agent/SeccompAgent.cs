using System.Collections.Concurrent;
using System.Collections.Immutable;
using SeccompKit.Agent;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using SeccompKit.Linux.Supervise;
using static SeccompKit.Linux.Interop.Notify;
using Sock = SeccompKit.Linux.Interop.Socket;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// The OCI seccomp agent: listens on a unix socket for the listeners runtimes send (<c>linux.seccomp.listenerPath</c>),
/// validates each (peer uid, payload, descriptors, pid), and serves every accepted container on its own thread with
/// the session <see cref="AgentOptions.Sessions"/> makes, until the container exits (POLLHUP on its notify descriptor,
/// not the socket's EOF: under create+start and podman the socket closes at once) or the agent stops. A refused
/// connection or a failing session is logged and affects nothing else.
/// </summary>
/// <example>
/// <code>
/// using var agent = SeccompAgent.Start(new AgentOptions
/// {
///     SocketPath = "/run/seccompkit/agent.sock",
///     OutputDirectory = "/var/lib/seccompkit",
///     Sessions = container => new MySession(container),
///     Log = e => Console.Error.WriteLine(e.Message),
/// });
/// // ... until shutdown:
/// agent.Stop(); // every container's results are written, then their listeners closed
/// </code>
/// </example>
public sealed class SeccompAgent : IDisposable
{
    private readonly AgentOptions _options;
    private readonly AgentSocket _socket;
    private readonly SafeFileDescriptorHandle _stop;
    private readonly Thread _acceptThread;
    private readonly ConcurrentDictionary<string, ServedContainer> _containers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Thread, byte> _threads = new();
    private readonly ConcurrentDictionary<NotificationSupervisor, byte> _refused = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private readonly HashSet<string> _reserved = new(StringComparer.Ordinal);
    private int _pending;
    private bool _stopping;
    private int _stopped;

    private SeccompAgent(AgentOptions options, AgentSocket socket, SafeFileDescriptorHandle stop)
    {
        _options = options;
        _socket = socket;
        _stop = stop;
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "seccomp agent accept" };
    }

    /// <summary>The socket path (absolute).</summary>
    public string SocketPath => _socket.Path;

    /// <summary>The ids of the containers being served now.</summary>
    public IReadOnlyCollection<string> ContainerIds => [.. _containers.Keys];

    /// <summary>Completes when the agent has stopped (every container finished, the socket removed).</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Checks the options (output directory, socket group, socket path), binds the socket and starts accepting. A
    /// stale socket file (left by a killed agent: nobody accepts on it) is replaced; a live one is not.
    /// </summary>
    /// <exception cref="AgentStartException">The output directory, the socket group or the socket path cannot be used; nothing was created.</exception>
    public static SeccompAgent Start(AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Sessions);
        HostSupport.EnsureSupported();
        CheckOutputDirectory(options.OutputDirectory);
        uint? gid = options.Config.SocketGroup is { } g ? AgentSocket.ResolveGroup(g) : null;
        int efd = eventfd(0, EFD_CLOEXEC);
        if (efd < 0) throw new ErrnoException("eventfd", Errors.Last(), "");
        var stop = new SafeFileDescriptorHandle(efd);
        AgentSocket socket;
        try
        {
            socket = AgentSocket.Listen(options.SocketPath, gid);
        }
        catch
        {
            stop.Dispose();
            throw;
        }
        var agent = new SeccompAgent(options, socket, stop);
        agent.Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.Listening,
            $"listening on {socket.Path} (mode {(gid is { } id ? $"0660, group {id}" : "0600")}, allowed uids {string.Join(",", options.Config.AllowedUids)}, output {Path.GetFullPath(options.OutputDirectory)})"));
        agent._acceptThread.Start();
        return agent;
    }

    /// <summary>Runs an agent until <paramref name="cancellation"/> is cancelled, then stops it (results written first).</summary>
    /// <exception cref="AgentStartException">It could not start.</exception>
    public static async Task RunAsync(AgentOptions options, CancellationToken cancellation)
    {
        using var agent = Start(options);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellation.Register(() => cancelled.TrySetResult()))
            await cancelled.Task.ConfigureAwait(false);
        await Task.Run(agent.Stop, CancellationToken.None).ConfigureAwait(false);
    }

    private static void CheckOutputDirectory(string dir)
    {
        if (string.IsNullOrEmpty(dir)) throw new AgentStartException(AgentStartProblem.OutputDirectory, "--output: no directory given");
        if (!Directory.Exists(dir))
            throw new AgentStartException(AgentStartProblem.OutputDirectory, $"--output {dir}: no such directory; create it first (the agent writes each container's results there)");
        const int W_OK = 2, X_OK = 1;
        if (Sock.access(dir, W_OK | X_OK) != 0)
            throw new AgentStartException(AgentStartProblem.OutputDirectory, $"--output {dir}: not writable by the agent ({new ErrnoException("access", Errors.Last(), "").Message})");
        // The agent runs as root: a directory another user controls could redirect its results (AtomicFile checks again at each write).
        if (AtomicFile.DirectoryPathProblem(dir) is { } problem)
            throw new AgentStartException(AgentStartProblem.OutputDirectory, $"--output {dir}: {problem}");
    }

    /// <summary>
    /// Stops accepting, stops every container's supervision, lets each session write its results
    /// (<see cref="ContainerEnd.AgentStopped"/>), then closes the listeners: the containers' pending and later notified
    /// calls fail with ENOSYS. Removes the socket file. Returns when all of it is done; safe to call more than once.
    /// </summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            _completion.Task.Wait();
            return;
        }
        lock (_gate) _stopping = true;
        Signal(_stop);
        _acceptThread.Join();
        foreach (var c in _containers.Values) c.Supervisor.Stop();
        foreach (var r in _refused.Keys) r.Stop();
        foreach (var t in _threads.Keys) t.Join();
        _socket.Dispose();
        _stop.Dispose();
        Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.Stopped, $"stopped; removed {_socket.Path}"));
        _completion.TrySetResult();
    }

    /// <summary>Same as <see cref="Stop"/>.</summary>
    public void Dispose() => Stop();

    private static unsafe void Signal(SafeFileDescriptorHandle eventFd)
    {
        ulong one = 1;
        // SAFETY: 8 bytes of stack for the eventfd counter, alive for the call.
        Interop.Proc.write(eventFd.Fd, &one, 8);
    }

    private void AcceptLoop()
    {
        while (true)
        {
            try
            {
                AcceptUntilStopped();
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Never take the agent down: log, back off, accept again.
                Emit(Refusal(RefusalReason.Error, null, null, $"the accept loop failed: {e.GetType().Name}: {e.Message}; accepting again"));
                Thread.Sleep(100);
            }
        }
    }

    private unsafe void AcceptUntilStopped()
    {
        var fds = stackalloc Interop.Netlink.pollfd[2];
        while (true)
        {
            fds[0] = new Interop.Netlink.pollfd { fd = _socket.Handle.Fd, events = POLLIN };
            fds[1] = new Interop.Netlink.pollfd { fd = _stop.Fd, events = POLLIN };
            // SAFETY: two pollfd structs on the stack, alive for the call.
            var (n, e) = Errors.RetryEintr((nint)fds, static a => poll((Interop.Netlink.pollfd*)a, 2, -1));
            if (n < 0) throw new ErrnoException("poll(agent socket)", e, "");
            if (fds[1].revents != 0) return;
            // SAFETY: no address is asked for (null pointers are allowed by accept4(2)).
            int conn = Sock.accept4(_socket.Handle.Fd, null, null, SOCK_CLOEXEC);
            if (conn < 0)
            {
                var err = Errors.Last();
                // EAGAIN: the connection went away between poll and accept; EMFILE/ENFILE: out of descriptors, back off.
                if (err is Errno.EMFILE) Thread.Sleep(100);
                if (err is not (Errno.EAGAIN or Errno.EINTR))
                    Emit(Refusal(RefusalReason.Error, null, null, $"accept failed: {new ErrnoException("accept4", err, "").Message}"));
                continue;
            }
            var connection = new SafeFileDescriptorHandle(conn);
            if (Interlocked.Increment(ref _pending) > _options.MaxPendingConnections)
            {
                Interlocked.Decrement(ref _pending);
                Emit(Refusal(RefusalReason.Busy, null, null, $"{_options.MaxPendingConnections} connections are already being received; closed this one"));
                connection.Dispose();
                continue;
            }
            // Who connected, read at once: runc create exits soon after sending (under load, before a receiving thread
            // would get to it), and the pid check needs the runtime's start time and ancestors.
            PinnedPeer peer;
            try
            {
                peer = ContainerProcess.PinPeer(ListenerReceiver.PeerOf(connection));
            }
            catch (SeccompException failure)
            {
                Interlocked.Decrement(ref _pending);
                Emit(Refusal(RefusalReason.Error, null, null, failure.Message));
                connection.Dispose();
                continue;
            }
            StartThread(() =>
            {
                try { Receive(connection, peer); }
                finally
                {
                    connection.Dispose();
                    Interlocked.Decrement(ref _pending);
                }
            }, "seccomp agent receive");
        }
    }

    private void StartThread(Action work, string name)
    {
        var thread = new Thread(() =>
        {
            try { work(); }
            finally { _threads.TryRemove(Thread.CurrentThread, out _); }
        })
        { IsBackground = true, Name = name };
        _threads[thread] = 0;
        thread.Start();
    }

    /// <summary>Receives, validates and, when everything holds, starts serving one connection's container.</summary>
    private void Receive(SafeFileDescriptorHandle connection, PinnedPeer pinnedPeer)
    {
        PeerCredentials? peer = pinnedPeer.Credentials;
        AgentPayload? payload = null;
        ReceivedMessage? message = null;
        try
        {
            if (!_options.Config.AllowedUids.Contains(peer.Value.Uid))
                throw new ConnectionRefusedException(RefusalReason.PeerUid,
                    $"uid {peer.Value.Uid} may not send listeners (allowed: {string.Join(",", _options.Config.AllowedUids)}; add it with --allow-uid or allowedUids)");
            message = ListenerReceiver.Receive(connection, _options.ReceiveTimeout, _stop.Fd);
            payload = AgentPayload.Parse(message.Payload);
            if (message.Descriptors.Count != payload.Fds.Length)
                throw new ConnectionRefusedException(RefusalReason.Descriptors,
                    $"$.fds names {payload.Fds.Length} descriptor(s) but {message.Descriptors.Count} arrived (SCM_RIGHTS); refusing rather than guessing which is which");
            int index = payload.Fds.IndexOf(AgentPayload.SeccompFdName);
            var seccompFd = message.Descriptors[index];
            string kind = DescriptorKind(seccompFd);
            if (kind != "anon_inode:seccomp notify")
                throw new ConnectionRefusedException(RefusalReason.Descriptors, $"the descriptor named \"{AgentPayload.SeccompFdName}\" is {kind}, not a seccomp notify descriptor");
            var mode = ContainerMode.Parse(payload.Metadata, _options.Config.DefaultMode);
            var (pidfd, relation) = ContainerProcess.Pin(payload.Pid, pinnedPeer, message.Sender);
            // The seccomp descriptor now belongs to the listener; every other one is closed with the message.
            message.Descriptors.RemoveAt(index);
            var container = new AgentContainer
            {
                Payload = payload,
                Mode = mode,
                Peer = peer.Value,
                Runtime = pinnedPeer.Runtime,
                OutputDirectory = Path.GetFullPath(_options.OutputDirectory),
            };
            Serve(container, seccompFd, pidfd, relation);
        }
        catch (Exception e) when (e is ConnectionRefusedException or AgentPayloadException or ContainerModeException or SeccompException)
        {
            var reason = e switch
            {
                ConnectionRefusedException r => r.Reason,
                AgentPayloadException => RefusalReason.Payload,
                ContainerModeException => RefusalReason.Mode,
                _ => RefusalReason.Error,
            };
            Emit(Refusal(reason, peer, payload, e.Message));
            AnswerRefused(message, payload);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Fail closed: an unexpected failure refuses this connection only.
            Emit(Refusal(RefusalReason.Error, peer, payload, $"internal error while receiving: {e.GetType().Name}: {e.Message}"));
            AnswerRefused(message, payload);
        }
        finally
        {
            message?.Dispose();
        }
    }

    /// <summary>
    /// A refused container is not simply dropped: closing the agent's copy of its listener fails its notified calls with
    /// ENOSYS only when no other copy exists, and crun 1.8.1's container init keeps one until it executes the container's
    /// program (its helper sent the agent the descriptor from a shared descriptor table), while blocked in a notified
    /// wait4: the container would hang forever. So every seccomp notify descriptor a refused connection brought is
    /// answered ENOSYS, call by call, until its tasks are gone (POLLHUP): the container fails as it would with no agent,
    /// and nothing it asks is ever let run (no Continue; no pid is acted on).
    /// </summary>
    private void AnswerRefused(ReceivedMessage? message, AgentPayload? payload)
    {
        if (message is null) return;
        foreach (var fd in message.Descriptors.ToArray())
        {
            if (DescriptorKind(fd) != "anon_inode:seccomp notify") continue;
            message.Descriptors.Remove(fd);
            AnswerRefused(new NotificationListener(fd), payload?.State.Id);
        }
    }

    /// <summary>Answers every notification of <paramref name="listener"/> (owned from now on) ENOSYS until its tasks are gone or the agent stops.</summary>
    private void AnswerRefused(NotificationListener listener, string? id)
    {
        NotificationSupervisor supervisor;
        lock (_gate)
        {
            // Bounded like the connections being received: beyond it (or while stopping) the descriptor is closed, which
            // is all an agent that is not there could do either.
            if (_stopping || _refused.Count >= _options.MaxPendingConnections)
            {
                listener.Dispose();
                return;
            }
            supervisor = new NotificationSupervisor(listener, RefuseEverything.Instance);
            _refused[supervisor] = 0;
        }
        StartThread(() =>
        {
            try { supervisor.Run(); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.SessionFault, $"refused container {id ?? "(no id)"}: answering its calls ENOSYS failed: {e.Message}") { ContainerId = id });
            }
            finally
            {
                _refused.TryRemove(supervisor, out _);
                supervisor.Dispose();
                listener.Dispose();
            }
        }, "seccomp agent refused " + (id ?? "connection"));
    }

    /// <summary>The answer for a refused container's notified calls: ENOSYS, what they get when no agent holds the listener.</summary>
    private sealed class RefuseEverything : INotificationHandler
    {
        public static readonly RefuseEverything Instance = new();

        public NotificationResponse Handle(in SeccompNotification notification, NotificationContext context) => NotificationResponse.Fail(Errno.ENOSYS);
    }

    private static string DescriptorKind(SafeFileDescriptorHandle fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd.Fd}").LinkTarget ?? "unknown";
        }
        catch (IOException e)
        {
            return $"unreadable ({e.Message})";
        }
    }

    /// <summary>Registers the container (refusing a duplicate id or a stopping agent), makes its session and starts its supervision thread.</summary>
    private void Serve(AgentContainer container, SafeFileDescriptorHandle seccompFd, SafeFileDescriptorHandle pidfd, string relation)
    {
        var listener = new NotificationListener(seccompFd);
        NotificationSupervisor? supervisor = null;
        ServedContainer? served = null;
        IContainerSession? session = null;
        bool reserved = false;
        try
        {
            listener.TryEnableSyncWakeUp();
            lock (_gate)
            {
                if (_stopping) throw new ConnectionRefusedException(RefusalReason.Stopping, "the agent is stopping");
                if (_containers.ContainsKey(container.Id) || !_reserved.Add(container.Id))
                    throw new ConnectionRefusedException(RefusalReason.DuplicateId, $"a container with id {container.Id} is being served already; its results would be overwritten");
                reserved = true;
            }
            try
            {
                // Outside the lock: a slow factory delays only its own container.
                session = _options.Sessions(container);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ConnectionRefusedException(RefusalReason.Session, $"no session for mode {container.Mode}: {e.Message}");
            }
            supervisor = new NotificationSupervisor(listener, session.Handler)
            {
                Faulted = (n, e) => Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.SessionFault,
                    $"container {container.Id}: the handler failed on syscall {n.Nr} of pid {n.Pid} (answered EPERM): {e.Message}")
                { ContainerId = container.Id, Mode = container.Mode.ToString(), Pid = container.InitPid }),
            };
            lock (_gate)
            {
                _reserved.Remove(container.Id);
                reserved = false;
                if (_stopping) throw new ConnectionRefusedException(RefusalReason.Stopping, "the agent is stopping");
                served = new ServedContainer(container, listener, supervisor, session, pidfd);
                _containers[container.Id] = served;
                // Logged before the thread starts, so that a container's Serving line always precedes its Finished line.
                Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.Serving,
                    $"serving container {container.Id} ({container.Mode}) pid {container.InitPid} ({relation}) from {container.Runtime ?? "an unknown runtime"} (peer pid {container.Peer.Pid} uid {container.Peer.Uid}){(listener.SyncWakeUp ? "" : ", without SYNC_WAKE_UP")}")
                {
                    ContainerId = container.Id, Mode = container.Mode.ToString(), Peer = container.Peer, Pid = container.InitPid,
                });
                StartThread(() => Supervise(served), "seccomp agent " + container.Id);
            }
        }
        catch
        {
            if (served is null)
            {
                if (reserved) lock (_gate) _reserved.Remove(container.Id);
                session?.Dispose();
                supervisor?.Dispose();
                pidfd.Dispose();
                AnswerRefused(listener, container.Id);
            }
            throw;
        }
    }

    private void Supervise(ServedContainer s)
    {
        var c = s.Container;
        try
        {
            var exit = SupervisorExit.Stopped;
            try
            {
                exit = s.Supervisor.Run();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.SessionFault, $"container {c.Id}: supervision failed: {e.Message}") { ContainerId = c.Id, Mode = c.Mode.ToString() });
            }
            var end = exit == SupervisorExit.TargetsGone ? ContainerEnd.Exited : ContainerEnd.AgentStopped;
            try
            {
                var outcome = s.Session.Finish(end);
                var stats = s.Supervisor.Statistics;
                Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.Finished,
                    $"container {c.Id} {(end == ContainerEnd.Exited ? "exited" : "still running, agent stopping")}: {outcome.Summary} ({stats.Received} notifications, {stats.Faults} faults)")
                { ContainerId = c.Id, Mode = c.Mode.ToString(), Pid = c.InitPid, End = end, Files = outcome.Files });
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Emit(new AgentEvent(DateTimeOffset.UtcNow, AgentEventKind.SessionFault, $"container {c.Id}: writing its results failed: {e.Message}")
                { ContainerId = c.Id, Mode = c.Mode.ToString(), Pid = c.InitPid, End = end });
            }
        }
        finally
        {
            // Closing the listener fails the container's pending and later notified calls with ENOSYS (it still runs only when the agent stops).
            s.Session.Dispose();
            s.Supervisor.Dispose();
            s.Listener.Dispose();
            s.Pidfd.Dispose();
            _containers.TryRemove(new KeyValuePair<string, ServedContainer>(c.Id, s));
        }
    }

    private static AgentEvent Refusal(RefusalReason reason, PeerCredentials? peer, AgentPayload? payload, string why) =>
        new(DateTimeOffset.UtcNow, AgentEventKind.Refused,
            $"refused {(payload is null ? "connection" : $"container {payload.State.Id} pid {payload.Pid}")}{(peer is { } p ? $" (peer pid {p.Pid} uid {p.Uid})" : "")}: {why}")
        { Reason = reason, Peer = peer, ContainerId = payload?.State.Id, Pid = payload?.Pid };

    private void Emit(AgentEvent entry)
    {
        try
        {
            _options.Log?.Invoke(entry);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failing log callback must not take a container (or the agent) down with it.
        }
    }

    private sealed record ServedContainer(AgentContainer Container, NotificationListener Listener, NotificationSupervisor Supervisor, IContainerSession Session, SafeFileDescriptorHandle Pidfd);
}
