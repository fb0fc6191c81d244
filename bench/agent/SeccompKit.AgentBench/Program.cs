using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeccompKit.Agent;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Supervise;
using SeccompKit.Linux.Runtimes;
using SeccompKit.TestKit;

// bench/agent's container driver (see bench/agent/run.sh). Per round, for runc and crun in turn (the order alternates):
//  throughput: /bin/getppid-loop N in a container whose profile notifies getppid (served by the agent) and the same
//              container with getppid allowed (no agent); the loop times its N calls itself (CLOCK_MONOTONIC);
//  start:      busybox `true` with no seccomp ("none"), with the learn-shaped profile whose NOTIFY entries allow instead
//              and no listener ("allow"), and with the learn-shaped profile served by the agent ("learn"); wall time of
//              `RUNTIME run` from spawn to exit.
// The learn profile is the one `seccompkit agent profile --metadata learn` writes for the installed runtime
// (AgentProfile.For); "allow" is the same profile with every NOTIFY made ALLOW and no listener.
// Writes one JSON object per container run to --out.
var opt = Options.Parse(args);
var counts = new ConcurrentDictionary<string, (int Pid, long Calls)>();
using var host = opt.AgentSocket is null ? AgentHost.Start(c => new CountingLearnSession(ContainerLearnSession.Start(c), c, counts)) : null;
string socket = opt.AgentSocket ?? host!.SocketPath;
using var bundle = OciBundle.Create();
File.Copy(opt.Loop, Path.Combine(bundle.Rootfs, "bin", "getppid-loop"));
if (OperatingSystem.IsLinux()) File.SetUnixFileMode(Path.Combine(bundle.Rootfs, "bin", "getppid-loop"), (UnixFileMode)0b111_101_101);
var timeout = TimeSpan.FromSeconds(120);
using var output = new StreamWriter(opt.Out, append: true);

for (int round = -opt.Warmup; round < opt.Rounds; round++)
{
    var runtimes = new[] { OciRuntime.Runc, OciRuntime.Crun };
    if (round % 2 != 0) Array.Reverse(runtimes);
    foreach (var runtime in runtimes)
    {
        var learn = LearnShaped(runtime.Name, socket, notify: true);
        var allow = LearnShaped(runtime.Name, socket, notify: false);
        foreach (var variant in round % 2 == 0 ? new[] { "agent", "bare" } : ["bare", "agent"])
        {
            var seccomp = Profile(variant == "agent" ? "SCMP_ACT_NOTIFY" : "SCMP_ACT_ALLOW", variant == "agent" ? socket : null, "getppid");
            var run = Run(runtime, new OciContainerSpec("/bin/getppid-loop", opt.Calls.ToString(CultureInfo.InvariantCulture)).WithSeccomp(seccomp));
            var parts = run.Stdout.Split(' ', StringSplitOptions.TrimEntries);
            if (parts.Length != 4 || parts[0] != "calls") throw new InvalidOperationException($"getppid-loop said: {run}");
            long notified = variant == "agent" ? Notified(run.ContainerPid) : 0;
            if (variant == "agent" && notified >= 0 && notified < opt.Calls)
                throw new InvalidOperationException($"the agent saw {notified} of {opt.Calls} getppid calls");
            Write(round, "throughput", runtime.Name, variant, run, long.Parse(parts[3], CultureInfo.InvariantCulture), notified);
        }
        var variants = new[] { "none", "allow", "learn" };
        for (int k = 0; k < opt.Starts; k++)
        {
            foreach (var variant in variants.Skip((round + k) % 3).Concat(variants.Take((round + k) % 3)))
            {
                var spec = new OciContainerSpec("/bin/true").WithSeccomp(variant switch { "none" => null, "allow" => allow, _ => learn });
                var run = Run(runtime, spec);
                Write(round, "start", runtime.Name, variant, run, 0, variant == "learn" ? Notified(run.ContainerPid) : 0);
            }
        }
    }
    Console.Error.WriteLine($"agent bench: round {round + 1} of {opt.Rounds} done{(round < 0 ? " (warm-up)" : "")}");
}
return 0;

OciRunResult Run(OciRuntime runtime, OciContainerSpec spec)
{
    var run = bundle.Run(runtime, spec, timeout);
    if (run.ExitCode != 0) throw new InvalidOperationException($"{runtime.Name}: {run}");
    return run;
}

// The calls the in-process agent's session saw for the container whose init was `pid` (-1 with an external agent).
long Notified(int pid)
{
    if (host is null) return -1;
    var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving && e.Pid == pid, timeout);
    host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, timeout);
    return counts.TryRemove(serving.ContainerId!, out var c) ? c.Calls : throw new InvalidOperationException($"no count for {serving.ContainerId}");
}

void Write(int round, string kind, string runtime, string variant, OciRunResult run, long loopNs, long notified)
{
    if (round < 0) return;
    output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["kind"] = kind, ["runtime"] = runtime, ["variant"] = variant, ["round"] = round,
        ["wallMs"] = Math.Round(run.Elapsed.TotalMilliseconds, 3), ["calls"] = kind == "throughput" ? opt.Calls : 0,
        ["loopNs"] = loopNs, ["notified"] = notified,
    }));
    output.Flush();
}

static JsonNode Profile(string action, string? socket, params string[] names)
{
    var seccomp = new JsonObject
    {
        ["defaultAction"] = "SCMP_ACT_ALLOW",
        ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
        ["syscalls"] = new JsonArray(new JsonObject { ["names"] = new JsonArray([.. names.Select(n => JsonValue.Create(n))]), ["action"] = action }),
    };
    if (socket is not null)
    {
        seccomp["listenerPath"] = socket;
        seccomp["listenerMetadata"] = "learn";
    }
    return seccomp;
}

static JsonNode LearnShaped(string runtime, string socket, bool notify)
{
    var profile = JsonNode.Parse(AgentProfile.For(new ContainerMode.Learn(), InstalledRuntimes.Parse(runtime), socket).Oci.Json)!.AsObject();
    if (notify) return profile;
    profile.Remove("listenerPath");
    profile.Remove("listenerMetadata");
    return JsonNode.Parse(profile.ToJsonString().Replace("\"SCMP_ACT_NOTIFY\"", "\"SCMP_ACT_ALLOW\"", StringComparison.Ordinal))!;
}

/// <summary>The agent's learn session (it writes the learned profile when the container exits), counting what it recorded.</summary>
sealed class CountingLearnSession(ContainerLearnSession inner, AgentContainer container, ConcurrentDictionary<string, (int Pid, long Calls)> counts) : IContainerSession
{
    public INotificationHandler Handler => inner.Handler;

    public ContainerOutcome Finish(ContainerEnd end)
    {
        counts[container.Id] = (container.InitPid, inner.Calls);
        return inner.Finish(end);
    }

    public void Dispose() => inner.Dispose();
}

sealed record Options(string Loop, int Rounds, int Warmup, int Calls, int Starts, string Out, string? AgentSocket)
{
    public static Options Parse(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new Options(
            Value("--loop") ?? throw new ArgumentException("--loop PATH (the static getppid-loop) is required"),
            Int("--rounds", 7), Int("--warmup", 1), Int("--calls", 200000), Int("--starts", 3),
            Value("--out") ?? throw new ArgumentException("--out FILE is required"),
            Value("--agent-socket"));
    }
}
