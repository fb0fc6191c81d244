// Measures the syscalls an OCI runtime makes after it installs a container's seccomp filter, up to and including its
// execve of the container process: a profile for a container must allow them, or the container never starts.
// Method (docs/RUNTIME-SYSCALLS.md): a busybox rootfs, the container process `/bin/true`, a profile whose default action
// is SCMP_ACT_LOG; the kernel's AUDIT_SECCOMP records are read from the audit netlink multicast group and split by exe=
// (the container's /bin/busybox against the runtime). Every configuration (no_new_privs true/false × uid 0/1000 ×
// run / create+start) is run many times, half of them with every CPU busy, and the union is kept.
//
// usage: MeasureRuntimeSyscalls runc|crun [--runs N] [--out FILE]         measure (root; see tools/measure-runtime-syscalls.sh)
//        MeasureRuntimeSyscalls verify runc|crun [--runs N] [--data FILE]  run every configuration N times under
//            defaultAction SCMP_ACT_KILL_PROCESS allowing only the measured set and /bin/true's own syscalls; count kills
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeccompKit.TestKit;

const int ExitUsage = 2, ExitUnavailable = 3, ExitFailed = 1;
const string Usage = "usage: MeasureRuntimeSyscalls [verify|handoff] runc|crun [--runs N (>= 2, default 20)] [--out FILE | --data FILE]";

bool verify = args.Length > 0 && args[0] == "verify";
bool handoff = args.Length > 0 && args[0] == "handoff";
string? runtimeName = null, file = null;
int runs = 20;
for (int i = verify || handoff ? 1 : 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--runs" when i + 1 < args.Length && int.TryParse(args[i + 1], out runs) && runs >= 2: i++; break;
        case "--out" or "--data" when i + 1 < args.Length: file = args[++i]; break;
        case "runc" or "crun" when runtimeName is null: runtimeName = args[i]; break;
        default:
            Console.Error.WriteLine($"{Usage}; unexpected '{args[i]}'");
            return ExitUsage;
    }
}
if (runtimeName is null)
{
    Console.Error.WriteLine(Usage);
    return ExitUsage;
}

var runtime = OciRuntime.Named(runtimeName);
string why = !runtime.IsInstalled ? runtime.WhyMissing : OciBundle.WhyUnavailable is { Length: > 0 } b ? b : SyscallRecorder.WhyUnavailable();
if (why.Length > 0)
{
    Console.Error.WriteLine($"cannot measure {runtimeName}: {why}");
    return ExitUnavailable;
}

var timeout = TimeSpan.FromSeconds(30);
var configurations = (
    from nnp in new[] { true, false }
    from uid in new[] { 0, 1000 }
    from mode in new[] { OciLaunchMode.Run, OciLaunchMode.CreateStart }
    select (Spec: new OciContainerSpec("/bin/true") { NoNewPrivileges = nnp, Uid = uid }, Mode: mode)).ToList();

using var bundle = OciBundle.Create();
Console.Error.WriteLine($"{runtime.Name} {runtime.Version} ({runtime.Path}{(runtime.NeedsHybridWrapper ? ", through the hybrid-cgroup wrapper" : "")}): " +
    $"{(verify ? "verify" : handoff ? "handoff" : "measure")}, {configurations.Count} configurations × {runs} runs");
return verify ? Verify() : handoff ? Handoff.Measure(bundle, runtime, configurations, runs, file) : Measure();

int Measure()
{
    var union = new SortedSet<string>(StringComparer.Ordinal);
    var seenIn = new SortedDictionary<string, int>(StringComparer.Ordinal);
    var container = new SortedSet<string>(StringComparer.Ordinal);
    var perConfiguration = new JsonArray();
    int total = 0;
    foreach (var (spec, mode) in configurations)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        var counts = new List<int>();
        for (int run = 0; run < runs; run++)
        {
            // Odd runs with every CPU busy: the runtime is preempted and its Go scheduler (runc) takes other paths.
            using var load = run % 2 == 1 ? CpuLoad.Start() : null;
            LoggedRun logged;
            try
            {
                logged = SyscallRecorder.Record(bundle, runtime, spec, timeout, mode);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"{spec.Describe()} {Launch(mode)} run {run + 1}: {e.Message}");
                return ExitFailed;
            }
            if (logged.Result.ExitCode is { } code && code != 0)
            {
                Console.Error.WriteLine($"{spec.Describe()} {Launch(mode)} run {run + 1}: the container failed: {logged.Result}");
                return ExitFailed;
            }
            total++;
            counts.Add(logged.Runtime.Count);
            foreach (var name in logged.RuntimeSyscalls)
            {
                set.Add(name);
                seenIn[name] = seenIn.GetValueOrDefault(name) + 1;
            }
            container.UnionWith(logged.ContainerSyscalls);
        }
        union.UnionWith(set);
        Console.Error.WriteLine($"  {spec.Describe()} {Launch(mode),-12}: {set.Count,2} syscalls, {counts.Min()}–{counts.Max()} calls per run: {string.Join(' ', set)}");
        perConfiguration.Add(new JsonObject
        {
            ["noNewPrivileges"] = spec.NoNewPrivileges,
            ["uid"] = spec.Uid,
            ["launch"] = Launch(mode),
            ["runs"] = runs,
            ["syscalls"] = Strings(set),
        });
    }
    Console.Error.WriteLine($"union: {union.Count} syscalls: {string.Join(' ', union)}");
    Console.Error.WriteLine($"(the container's /bin/true, for comparison: {string.Join(' ', container)})");

    var doc = new JsonObject
    {
        ["runtime"] = runtime.Name,
        ["version"] = runtime.Version,
        ["versionOutput"] = Strings(runtime.VersionOutput.Split('\n').Select(l => l.Trim())),
        ["measured"] = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["kernel"] = File.ReadAllText("/proc/sys/kernel/osrelease").Trim(),
        ["arch"] = "x86_64",
        ["runs"] = total,
        ["syscalls"] = Strings(union),
        ["method"] =
            "tools/measure-runtime-syscalls.sh: busybox-static rootfs, process /bin/true, linux.seccomp = {defaultAction SCMP_ACT_LOG, " +
            "x86_64/x86/x32}; AUDIT_SECCOMP records read from the audit netlink multicast group (SeccompAuditLog), kept for the container " +
            "init and its descendants (process-events connector), split by exe= (the container's /bin/busybox against the runtime's init, up to " +
            $"and including its execve); {configurations.Count} configurations (noNewPrivileges true/false × uid 0/1000 × run / create+start) × " +
            $"{runs} runs each, every second run with all CPUs busy (two spinning threads per CPU); syscalls = the union" +
            (runtime.NeedsHybridWrapper ? "; crun create/run in a private mount namespace without the cgroup2 mount (hybrid-cgroup host)" : ""),
        ["configurations"] = perConfiguration,
        ["seenInRuns"] = new JsonObject(seenIn.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };
    // Relaxed escaping: "1.1.5+ds1", not "1.1.5\u002Bds1".
    string json = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    if (file is null) Console.Write(json);
    else File.WriteAllText(file, json);
    return 0;
}

// The shipped set as a learned profile would use it: KILL_PROCESS for anything else, so one missing syscall in one run
// shows as a kill (always logged) naming it.
int Verify()
{
    if (file is null)
    {
        Console.Error.WriteLine("verify needs --data FILE (data/runtimes/RUNTIME.json)");
        return ExitUsage;
    }
    string dataPath = file;
    var data = JsonNode.Parse(File.ReadAllText(dataPath))!;
    var runtimeSet = data["syscalls"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
    int kills = 0, failures = 0, total = 0;
    foreach (var (spec, mode) in configurations)
    {
        // /bin/true's own syscalls in this configuration, by one LOG run.
        var program = SyscallRecorder.Record(bundle, runtime, spec, timeout, mode).ContainerSyscalls;
        var profile = new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_KILL_PROCESS",
            ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["syscalls"] = new JsonArray(new JsonObject { ["names"] = Strings(program.Union(runtimeSet).Order(StringComparer.Ordinal)), ["action"] = "SCMP_ACT_ALLOW" }),
        };
        int configurationKills = 0, configurationFailures = 0;
        for (int run = 0; run < runs; run++)
        {
            using var load = run % 2 == 1 ? CpuLoad.Start() : null;
            var logged = SyscallRecorder.RecordAsIs(bundle, runtime, spec.WithSeccomp(profile), timeout, mode);
            total++;
            foreach (var kill in logged.Runtime.Concat(logged.Container).Where(r => r.IsKill))
            {
                configurationKills++;
                Console.Error.WriteLine($"    run {run + 1}: killed on {kill.Describe()} (comm {kill.Comm}, exe {kill.Exe})");
            }
            // create+start reports no exit status: a container that never started shows as no pid.
            if (logged.Result.ExitCode is not (0 or null) || logged.Result.ContainerPid == 0)
            {
                configurationFailures++;
                Console.Error.WriteLine($"    run {run + 1}: failed: {logged.Result}");
            }
        }
        kills += configurationKills;
        failures += configurationFailures;
        Console.Error.WriteLine($"  {spec.Describe()} {Launch(mode),-12}: {runs} runs, {configurationKills} kills, {configurationFailures} failures");
    }
    Console.Error.WriteLine($"{total} runs under KILL_PROCESS with {runtimeSet.Count} runtime syscalls from {dataPath}: {kills} kills, {failures} failures");
    return kills == 0 && failures == 0 ? 0 : ExitFailed;
}

static string Launch(OciLaunchMode mode) => mode == OciLaunchMode.Run ? "run" : "create+start";

static JsonArray Strings(IEnumerable<string> items) => new([.. items.Select(s => (JsonNode?)JsonValue.Create(s))]);

/// <summary>Two spinning threads per CPU until disposed: the runtime competes for every CPU and is preempted.</summary>
sealed class CpuLoad : IDisposable
{
    private volatile bool _stop;
    private readonly List<Thread> _threads = [];

    public static CpuLoad Start()
    {
        var load = new CpuLoad();
        for (int i = 0; i < 2 * Environment.ProcessorCount; i++)
        {
            var t = new Thread(() => { ulong x = 0; while (!load._stop) x++; GC.KeepAlive(x); }) { IsBackground = true, Name = "cpu load" };
            t.Start();
            load._threads.Add(t);
        }
        return load;
    }

    public void Dispose()
    {
        _stop = true;
        foreach (var t in _threads) t.Join();
    }
}
