// handoff mode: which of the runtime's post-filter syscalls must NOT be notified in a seccomp-agent profile, because the
// runtime makes them after installing the filter and before the agent has the notify fd (a notified call then waits for
// an answer nobody can give yet: the container never starts; runc#4328 is such a hang in runc 1.2), or because the
// runtime refuses to notify them at all (runc: write). Method (docs/RUNTIME-SYSCALLS.md, "Before the hand-off"):
//   1. each syscall of data/runtimes/RUNTIME.json, alone with SCMP_ACT_NOTIFY (default allow), an agent that answers
//      every notification Continue listening on listenerPath (tools/notify-continue.py): the container starts, hangs
//      (no exit within the timeout), or the runtime refuses the profile;
//   2. every syscall of x86_64, x86 and x32 notified (defaultAction SCMP_ACT_NOTIFY where the runtime accepts it, else
//      ALLOW plus NOTIFY rules naming everything) except what step 1 found refused or hanging: the container must start;
//      the runtime's own calls the agent saw from the container init up to its execve are kept, and any not in the
//      data file are tested alone as in step 1.
// Every configuration (noNewPrivileges true/false × uid 0/1000 × run / create+start), N runs of each test, every
// second run with all CPUs busy. The result goes into the file as "beforeHandoff".
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeccompKit.Syscalls;
using SeccompKit.TestKit;

static class Handoff
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private const string Listener = "tools/notify-continue.py";

    private enum Outcome { Started, Hung, Refused, Failed }

    private sealed record Trial(Outcome Outcome, string Detail, SortedSet<string> RuntimeNotified);

    public static int Measure(OciBundle bundle, OciRuntime runtime, List<(OciContainerSpec Spec, OciLaunchMode Mode)> configurations, int runs, string? file)
    {
        if (file is null)
        {
            Console.Error.WriteLine("handoff needs --data FILE (data/runtimes/RUNTIME.json): the syscalls to test come from it, the result goes into it");
            return 2;
        }
        if (!File.Exists(Listener))
        {
            Console.Error.WriteLine($"{Listener} is missing; run from the repository root (tools/measure-runtime-syscalls.sh does)");
            return 3;
        }
        var data = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        var candidates = new SortedSet<string>(data["syscalls"]!.AsArray().Select(n => n!.GetValue<string>()), StringComparer.Ordinal);
        string socket = Path.Combine(bundle.Dir.FullName, "agent.sock");
        using var agent = Agent.Start(socket);

        var mustAllow = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var notifiedBefore = new SortedSet<string>(StringComparer.Ordinal);
        var perConfiguration = new JsonArray();
        int total = 0;
        var single = new Dictionary<string, (int Started, int Hung, int Refused, int Failed)>(StringComparer.Ordinal);
        foreach (var (spec, mode) in configurations)
        {
            string name = $"{spec.Describe()} {(mode == OciLaunchMode.Run ? "run" : "create+start")}";
            var hung = new SortedSet<string>(StringComparer.Ordinal);
            var refused = new SortedSet<string>(StringComparer.Ordinal);
            // Step 1: each syscall alone.
            void TestAlone(string syscall)
            {
                for (int run = 0; run < runs; run++)
                {
                    using var load = run % 2 == 1 ? CpuLoad.Start() : null;
                    var t = Run(bundle, runtime, spec, mode, agent, Profile(socket, notify: [syscall], notifyDefault: false));
                    total++;
                    var c = single.GetValueOrDefault(syscall);
                    single[syscall] = t.Outcome switch
                    {
                        Outcome.Started => c with { Started = c.Started + 1 },
                        Outcome.Hung => c with { Hung = c.Hung + 1 },
                        Outcome.Refused => c with { Refused = c.Refused + 1 },
                        _ => c with { Failed = c.Failed + 1 },
                    };
                    if (t.Outcome == Outcome.Hung) { hung.Add(syscall); mustAllow[syscall] = $"hangs: notified before the agent has the fd ({name})"; }
                    if (t.Outcome == Outcome.Refused) { refused.Add(syscall); mustAllow[syscall] = $"{runtime.Name} refuses to notify it: {t.Detail}"; }
                    if (t.Outcome == Outcome.Failed) Console.Error.WriteLine($"  {name}: NOTIFY {syscall}: failed: {t.Detail}");
                    if (t.Outcome != Outcome.Started) break;
                }
            }
            foreach (var s in candidates) TestAlone(s);

            // Step 2: everything notified but what must not be.
            var exclude = new SortedSet<string>(mustAllow.Keys, StringComparer.Ordinal);
            bool notifyDefault = runtime.Name != "runc"; // runc 1.1 refuses SCMP_ACT_NOTIFY as the default action (tested below)
            var everything = AllNames().Where(n => !exclude.Contains(n)).ToList();
            int started = 0, hungAll = 0, failedAll = 0;
            var seen = new SortedSet<string>(StringComparer.Ordinal);
            for (int run = 0; run < runs; run++)
            {
                using var load = run % 2 == 1 ? CpuLoad.Start() : null;
                var t = Run(bundle, runtime, spec, mode, agent, Profile(socket, everything, notifyDefault, allow: exclude));
                total++;
                if (t.Outcome == Outcome.Started) started++;
                else if (t.Outcome == Outcome.Hung) hungAll++;
                else { failedAll++; Console.Error.WriteLine($"  {name}: everything notified: {t.Outcome}: {t.Detail}"); }
                seen.UnionWith(t.RuntimeNotified);
            }
            notifiedBefore.UnionWith(seen);
            foreach (var s in seen.Where(s => !candidates.Contains(s) && !single.ContainsKey(s)).ToList()) TestAlone(s);
            Console.Error.WriteLine($"  {name,-45}: alone: {candidates.Count} syscalls, hung [{string.Join(' ', hung)}], refused [{string.Join(' ', refused)}]; " +
                $"everything else notified: {started}/{runs} started, {hungAll} hung, {failedAll} failed; the runtime's calls the agent saw: {string.Join(' ', seen)}");
            perConfiguration.Add(new JsonObject
            {
                ["noNewPrivileges"] = spec.NoNewPrivileges,
                ["uid"] = spec.Uid,
                ["launch"] = mode == OciLaunchMode.Run ? "run" : "create+start",
                ["hung"] = Strings(hung),
                ["refused"] = Strings(refused),
                ["everythingElseNotified"] = new JsonObject
                {
                    ["defaultAction"] = notifyDefault ? "SCMP_ACT_NOTIFY" : "SCMP_ACT_ALLOW",
                    ["runs"] = runs, ["started"] = started, ["hung"] = hungAll, ["failed"] = failedAll,
                    ["runtimeCallsNotified"] = Strings(seen),
                },
            });
            if (started != runs)
            {
                Console.Error.WriteLine($"{name}: the profile notifying everything but [{string.Join(' ', exclude)}] did not start every time; the set is incomplete");
                return 1;
            }
        }
        // Is NOTIFY as the default action accepted? One run in the first configuration.
        var (spec0, mode0) = configurations[0];
        var d = Run(bundle, runtime, spec0, mode0, agent, Profile(socket, [], notifyDefault: true, allow: new SortedSet<string>(mustAllow.Keys)));
        total++;
        Console.Error.WriteLine($"defaultAction SCMP_ACT_NOTIFY: {d.Outcome} {d.Detail}");

        data["beforeHandoff"] = new JsonObject
        {
            ["measured"] = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["version"] = runtime.Version,
            ["method"] =
                "tools/measure-runtime-syscalls.sh handoff: an agent on listenerPath answering every notification Continue (tools/notify-continue.py); " +
                "(1) each syscall of \"syscalls\" alone with SCMP_ACT_NOTIFY, defaultAction SCMP_ACT_ALLOW: started, hung (no exit within " +
                $"{Timeout.TotalSeconds:0} s) or refused by the runtime; (2) every x86_64/x86/x32 syscall notified but those, which the container must " +
                "survive; the runtime's calls the agent then saw from the container init up to its execve were tested alone as in (1) when new; " +
                $"{configurations.Count} configurations (noNewPrivileges true/false × uid 0/1000 × run / create+start), {runs} runs of each test, every " +
                "second run with all CPUs busy; process: /bin/echo ok",
            ["defaultNotify"] = new JsonObject { ["outcome"] = d.Outcome.ToString().ToLowerInvariant(), ["detail"] = d.Detail },
            ["syscalls"] = new JsonObject(mustAllow.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["runtimeCallsNotified"] = Strings(notifiedBefore),
            ["runs"] = total,
            ["configurations"] = perConfiguration,
        };
        string json = data.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
        string tmp = file + ".tmp";
        File.WriteAllText(tmp, json);
        File.Move(tmp, file, overwrite: true);
        Console.Error.WriteLine($"{total} runs; must not be notified: {(mustAllow.Count == 0 ? "nothing" : string.Join(", ", mustAllow.Select(kv => $"{kv.Key} ({kv.Value})")))}; wrote {file}");
        return 0;
    }

    private static IEnumerable<string> AllNames() =>
        new[] { Architecture.X86_64, Architecture.X86, Architecture.X32 }.SelectMany(a => a.Syscalls.All.Select(e => e.Name))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    private static JsonObject Profile(string socket, IReadOnlyCollection<string> notify, bool notifyDefault, IReadOnlyCollection<string>? allow = null)
    {
        var rules = new JsonArray();
        if (notify.Count > 0 && !notifyDefault) rules.Add(new JsonObject { ["names"] = Strings(notify), ["action"] = "SCMP_ACT_NOTIFY" });
        if (allow is { Count: > 0 }) rules.Add(new JsonObject { ["names"] = Strings(allow), ["action"] = "SCMP_ACT_ALLOW" });
        return new JsonObject
        {
            ["defaultAction"] = notifyDefault ? "SCMP_ACT_NOTIFY" : "SCMP_ACT_ALLOW",
            ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["listenerPath"] = socket,
            ["listenerMetadata"] = "learn",
            ["syscalls"] = rules,
        };
    }

    private static Trial Run(OciBundle bundle, OciRuntime runtime, OciContainerSpec spec, OciLaunchMode mode, Agent agent, JsonObject profile)
    {
        agent.Clear();
        OciRunResult r;
        try
        {
            r = bundle.Run(runtime, new OciContainerSpec("/bin/echo", "ok") { NoNewPrivileges = spec.NoNewPrivileges, Uid = spec.Uid, Seccomp = profile }, Timeout, mode);
        }
        catch (TimeoutException e)
        {
            return new(Outcome.Hung, e.Message, []);
        }
        var notified = agent.RuntimeCalls(r.ContainerPid);
        if ((r.ExitCode is 0 or null) && r.ContainerPid != 0 && r.Stdout == "ok\n") return new(Outcome.Started, "", notified);
        string err = r.Stderr.Trim();
        // The runtime refused the profile (runc: "SCMP_ACT_NOTIFY cannot be used for the write syscall"): it failed at once,
        // and the container never ran (no pid file, no output).
        if (r.ContainerPid == 0 && r.Stdout.Length == 0 && r.ExitCode is not (0 or null))
        {
            // runc logs `time=... level=error msg="..."`: keep the message.
            string last = err.Split('\n')[^1];
            int m = last.IndexOf("msg=\"", StringComparison.Ordinal);
            return new(Outcome.Refused, m < 0 ? last : last[(m + 5)..].TrimEnd('"'), notified);
        }
        return new(Outcome.Failed, r.ToString(), notified);
    }

    /// <summary>tools/notify-continue.py, running for the whole measurement; its lines are collected as they come.</summary>
    private sealed class Agent : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _lines = new();

        private Agent(Process p) => _process = p;

        public static Agent Start(string socket)
        {
            var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add(Listener);
            psi.ArgumentList.Add(socket);
            var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start python3 " + Listener);
            var agent = new Agent(p);
            if (p.StandardOutput.ReadLine() != "L") throw new InvalidOperationException($"{Listener} did not start listening on {socket}");
            new Thread(() => { while (p.StandardOutput.ReadLine() is { } line) agent._lines.Enqueue(line); }) { IsBackground = true, Name = "agent output" }.Start();
            return agent;
        }

        public void Clear() => _lines.Clear();

        /// <summary>The calls notified from the container init up to and including its first execve: the runtime's.</summary>
        public SortedSet<string> RuntimeCalls(int initPid)
        {
            // The agent prints a notification after answering it; give the last lines a moment.
            Thread.Sleep(100);
            var set = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var line in _lines)
            {
                var f = line.Split(' ');
                if (f.Length != 3 || f[0] != "N" || int.Parse(f[1], CultureInfo.InvariantCulture) != initPid) continue;
                int nr = int.Parse(f[2], CultureInfo.InvariantCulture);
                set.Add(Architecture.X86_64.Syscalls.TryGetName(nr, out var n) ? n : "#" + nr);
                if (n == "execve") break;
            }
            return set;
        }

        public void Dispose()
        {
            try { _process.Kill(); } catch (InvalidOperationException) { }
            _process.WaitForExit(5000);
            _process.Dispose();
        }
    }

    private static JsonArray Strings(IEnumerable<string> items) => new([.. items.Select(s => (JsonNode?)JsonValue.Create(s))]);
}
