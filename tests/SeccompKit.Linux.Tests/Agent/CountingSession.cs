using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Supervise;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// The agent tests' session: counts each notified syscall and lets it run (Continue: it reads no memory, so Continue is
/// safe), or holds it until released (<see cref="Hold"/>), and writes <c>OUTPUT/ID.count.json</c> on Finish. Only for
/// tests of the server; the real sessions (learn, complain, supervise) live in src.
/// </summary>
internal sealed class CountingSession(AgentContainer container, ManualResetEventSlim? hold = null, Action<SeccompNotification>? arrived = null) : IContainerSession, INotificationHandler
{
    private readonly ConcurrentDictionary<int, int> _counts = new();
    private int _finished;

    public AgentContainer Container => container;

    public INotificationHandler Handler => this;

    public ContainerEnd? End { get; private set; }

    public NotificationResponse Handle(in SeccompNotification notification, NotificationContext context)
    {
        _counts.AddOrUpdate(notification.Nr, 1, (_, n) => n + 1);
        arrived?.Invoke(notification);
        // A held call waits until the test releases it (or forever: the agent's stop or the container's death ends it).
        hold?.Wait();
        return NotificationResponse.Continue;
    }

    public ContainerOutcome Finish(ContainerEnd end)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0) throw new InvalidOperationException("Finish called twice");
        End = end;
        string file = Path.Combine(container.OutputDirectory, container.Id + ".count.json");
        File.WriteAllText(file, JsonSerializer.Serialize(new
        {
            id = container.Id,
            mode = container.Mode.ToString(),
            runtime = container.Runtime,
            end = end.ToString(),
            counts = _counts.ToDictionary(p => p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), p => p.Value),
        }));
        return new ContainerOutcome($"{_counts.Values.Sum()} calls counted", [file]);
    }

    public void Dispose() { }

    /// <summary>Reads a count file back: (end, syscall nr -> count).</summary>
    public static (string End, Dictionary<int, int> Counts, string? Runtime) Read(string outputDirectory, string id)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outputDirectory, id + ".count.json")));
        var counts = doc.RootElement.GetProperty("counts").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetInt32());
        var rt = doc.RootElement.GetProperty("runtime");
        return (doc.RootElement.GetProperty("end").GetString()!, counts, rt.ValueKind == JsonValueKind.Null ? null : rt.GetString());
    }
}
