using System.Text.Json.Nodes;
using SeccompKit.Agent;
using SeccompKit.Linux.Agent;

namespace SeccompKit.TestKit;

/// <summary>
/// An in-process <see cref="SeccompAgent"/> for tests: a temporary directory holding its socket (<c>agent.sock</c>, short
/// enough for sun_path) and its output directory (<c>out/</c>), the sessions a test gives, and every event it logged.
/// <see cref="Seccomp"/> writes the OCI <c>linux.seccomp</c> object that points a container at it.
/// </summary>
/// <example>
/// <code>
/// using var host = AgentHost.Start(c => new CountingSession(c));
/// var run = bundle.Run(OciRuntime.Runc, new OciContainerSpec("/bin/mkdir", "/x").WithSeccomp(host.Seccomp("learn", "mkdir")), timeout);
/// var finished = host.WaitFor(e => e.Kind == AgentEventKind.Finished, TimeSpan.FromSeconds(10));
/// </code>
/// </example>
public sealed class AgentHost : IDisposable
{
    private readonly List<AgentEvent> _events = [];
    private readonly DirectoryInfo _dir;

    private AgentHost(DirectoryInfo dir, SeccompAgent agent)
    {
        _dir = dir;
        Agent = agent;
    }

    /// <summary>The agent.</summary>
    public SeccompAgent Agent { get; private set; }

    /// <summary>The temporary directory (socket and output).</summary>
    public string Directory => _dir.FullName;

    /// <summary>The socket path containers are pointed at.</summary>
    public string SocketPath => Agent.SocketPath;

    /// <summary>The agent's output directory.</summary>
    public string OutputDirectory => Path.Combine(_dir.FullName, "out");

    /// <summary>
    /// Starts an agent on a fresh temporary socket and output directory. <paramref name="configure"/> may change the
    /// options (config, receive timeout) before the start; the socket, output directory, sessions and log are set here.
    /// </summary>
    public static AgentHost Start(Func<AgentContainer, IContainerSession> sessions, Func<AgentOptions, AgentOptions>? configure = null)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("skagent-");
        System.IO.Directory.CreateDirectory(Path.Combine(dir.FullName, "out"));
        AgentHost? host = null;
        var options = new AgentOptions
        {
            SocketPath = Path.Combine(dir.FullName, "agent.sock"),
            OutputDirectory = Path.Combine(dir.FullName, "out"),
            Sessions = sessions,
        };
        options = configure?.Invoke(options) ?? options;
        // The agent logs "listening" from Start, before `host` exists: buffer it through a holder.
        var early = new List<AgentEvent>();
        var holder = options with { Log = e => { lock (early) { if (host is null) early.Add(e); else host.Record(e); } } };
        try
        {
            var agent = SeccompAgent.Start(holder);
            lock (early)
            {
                host = new AgentHost(dir, agent);
                foreach (var e in early) host.Record(e);
            }
            return host;
        }
        catch
        {
            dir.Delete(recursive: true);
            throw;
        }
    }

    private void Record(AgentEvent e)
    {
        lock (_events)
        {
            _events.Add(e);
            Monitor.PulseAll(_events);
        }
    }

    /// <summary>The events so far (a copy).</summary>
    public IReadOnlyList<AgentEvent> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    /// <summary>Waits for the first event (already logged or to come) that <paramref name="match"/> accepts; TimeoutException with the events so far.</summary>
    public AgentEvent WaitFor(Func<AgentEvent, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_events)
        {
            while (true)
            {
                foreach (var e in _events) if (match(e)) return e;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException($"no matching agent event within {timeout.TotalSeconds} s; events:\n" + string.Join("\n", _events.Select(x => $"  {x.Time:HH:mm:ss.fff} {x.Kind}: {x.Message}")));
                Monitor.Wait(_events, left);
            }
        }
    }

    /// <summary>The events so far, one per line with their times, for a failure's message.</summary>
    public string DescribeEvents() =>
        string.Join("\n", Events.Select(e => $"  {e.Time:HH:mm:ss.fff} {e.Kind}: {e.Message}"));

    /// <summary>
    /// <see cref="OciBundle.Run"/> for a container pointed at this agent: a run that times out says what the agent
    /// logged until then (the process tree is in the inner exception), so that a hang says which side waited.
    /// </summary>
    public OciRunResult Run(OciBundle bundle, OciRuntime runtime, OciContainerSpec spec, TimeSpan timeout, OciLaunchMode mode = OciLaunchMode.Run)
    {
        try
        {
            return bundle.Run(runtime, spec, timeout, mode);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nthe agent logged:\n{DescribeEvents()}", e);
        }
    }

    /// <summary>Waits for the <paramref name="kind"/> event of container <paramref name="id"/>.</summary>
    public AgentEvent WaitFor(AgentEventKind kind, string id, TimeSpan timeout) => WaitFor(e => e.Kind == kind && e.ContainerId == id, timeout);

    /// <summary>
    /// The OCI <c>linux.seccomp</c> object that sends the container's listener to this agent with
    /// <paramref name="metadata"/> (null: no listenerMetadata), notifying <paramref name="notify"/> and allowing the rest.
    /// </summary>
    public JsonNode Seccomp(string? metadata, params string[] notify) => SeccompFor(SocketPath, metadata, notify);

    /// <summary>The same for any socket path (e.g. a CLI agent's).</summary>
    public static JsonNode SeccompFor(string socketPath, string? metadata, params string[] notify)
    {
        var seccomp = new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ALLOW",
            ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["listenerPath"] = socketPath,
            ["syscalls"] = new JsonArray(new JsonObject
            {
                ["names"] = new JsonArray([.. notify.Select(n => JsonValue.Create(n))]),
                ["action"] = "SCMP_ACT_NOTIFY",
            }),
        };
        if (metadata is not null) seccomp["listenerMetadata"] = metadata;
        return seccomp;
    }

    /// <summary>Stops the agent (results written) and removes the directory.</summary>
    public void Dispose()
    {
        Agent.Stop();
        try { _dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
