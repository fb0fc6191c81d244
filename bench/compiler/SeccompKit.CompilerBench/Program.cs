// Compiler benchmark: SeccompKit's PolicyCompiler vs libseccomp 2.5.4 (optimize 1 = default if-chain,
// optimize 2 = binary tree) on the Docker and podman default profiles for amd64 (x86_64, x86, x32).
// Usage: SeccompKit.CompilerBench OUTDIR [--runs N]  -> OUTDIR/stats.json (bench/compiler/report.py makes the report).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.TestKit;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

if (args.Length < 1) { Console.Error.WriteLine("usage: SeccompKit.CompilerBench OUTDIR [--runs N]"); return 2; }
string outDir = args[0];
int runs = args.Length >= 3 && args[1] == "--runs" ? int.Parse(args[2], CultureInfo.InvariantCulture) : 300;
Directory.CreateDirectory(outDir);

var lib = LibseccompCompiler.Locate();
var abis = ProfilePolicies.Amd64Abis;
var tables = lib.NameTables(abis);
var mix = LoadMix(Path.Combine(lib.RepositoryRoot, "bench", "data", "syscall-mix.tsv"));
var profiles = new List<object>();
foreach (var (name, _, _) in ProfilePolicies.Profiles)
{
    var (policy, dropped) = LibseccompCompiler.CommonPart(ProfilePolicies.Load(name), tables);
    var flat = LibseccompPolicyWriter.Write(policy, allowMixedConditionalActions: true);
    var compiled = PolicyCompiler.Compile(policy);
    var filters = new (string Key, BpfProgram Program)[]
    {
        ("seccompkit", compiled.Program),
        ("libseccompO1", lib.Compile(flat, 1)),
        ("libseccompO2", lib.Compile(flat, 2)),
    };

    // Sanity: every filter gives the policy's action for every syscall number of every ABI (args zero).
    foreach (var (key, program) in filters)
        foreach (var abi in abis)
            foreach (var e in abi.Syscalls.All)
            {
                var d = new SeccompData(e.Number, abi.AuditArch);
                if (Interpreter.Evaluate(program, d) != PolicyEvaluator.EvaluateValue(policy, d))
                    throw new InvalidOperationException($"{name}: {key} disagrees with the policy on {abi.Name} {e.Name}");
            }

    var perFilter = new Dictionary<string, object>();
    foreach (var (key, program) in filters)
    {
        var perAbi = new Dictionary<string, object>();
        var all = new List<int>();
        var allLongest = new List<int>();
        foreach (var abi in abis)
        {
            var executed = abi.Syscalls.All.Select(e => Interpreter.Run(program, new SeccompData(e.Number, abi.AuditArch)).Executed).ToList();
            int worstAt = executed.IndexOf(executed.Max());
            // Upper bound over any arguments (both branches of every argument-dependent jump), CompileReport.LongestPath.
            var longest = abi.Syscalls.All.Select(e => CompileReport.LongestPath(program, abi.AuditArch, unchecked((uint)e.Number))).ToList();
            allLongest.AddRange(longest);
            all.AddRange(executed);
            bool kernelCaches = Architecture.NativeHost.ActionCacheAbis.Contains(abi);
            var cacheable = abi.Syscalls.All.Where(e => e.Number - abi.SyscallNumberOffset < abi.Syscalls.BitmapSize).ToList();
            perAbi[abi.Name] = new
            {
                syscalls = executed.Count,
                executedMean = executed.Average(),
                executedMax = executed.Max(),
                worstSyscall = abi.Syscalls.All[worstAt].Name,
                longestPathMean = longest.Average(),
                longestPathMax = longest.Max(),
                kernelCaches,
                cacheEligible = kernelCaches ? cacheable.Count(e => ActionCache.IsConstantAllow(program, e.Number, abi.AuditArch)) : (int?)null,
            };
        }
        // Weighted by the recorded x86_64 mix: each workload counts equally (its calls divided by its total).
        double wsum = 0, wexec = 0;
        foreach (var (sysName, weight) in mix.Weights)
        {
            if (!Architecture.X86_64.Syscalls.TryGetNumber(sysName, out int nr)) continue;
            wsum += weight;
            wexec += weight * Interpreter.Run(program, new SeccompData(nr, Architecture.X86_64.AuditArch)).Executed;
        }
        perFilter[key] = new
        {
            length = program.Length,
            kernelLength = program.KernelLength,
            executedMean = all.Average(),
            executedMax = all.Max(),
            executedMixWeighted = wexec / wsum,
            longestPathMean = allLongest.Average(),
            longestPathMax = allLongest.Max(),
            abis = perAbi,
        };
    }

    // The most any filter can have cached: syscalls whose outcome is plain ALLOW whatever the arguments.
    var cacheMax = new Dictionary<string, int>();
    foreach (var abi in abis.Where(a => Architecture.NativeHost.ActionCacheAbis.Contains(a)))
        cacheMax[abi.Name] = abi.Syscalls.All.Count(e => e.Number - abi.SyscallNumberOffset < abi.Syscalls.BitmapSize && ConstantAllow(policy, abi, e.Name));
    // Cross-check with the compiler's own report.
    foreach (var r in compiled.Report.Abis.Where(r => r.KernelCaches))
        if (r.CacheableByPolicy.Length != cacheMax[r.Abi.Name])
            Console.Error.WriteLine($"note: {name} {r.Abi.Name}: the compiler's report says {r.CacheableByPolicy.Length} cacheable, the benchmark counts {cacheMax[r.Abi.Name]}");

    // Compile time: warm, in-process, median of single compiles after warm-up (the same statistic the C helper reports).
    // Warm-up until the JIT has settled (tiered compilation promotes hot methods after ~30 calls and a delay):
    // at least 2 s and 50 compiles.
    int warm = 0;
    for (long w0 = Stopwatch.GetTimestamp(); warm < 50 || Stopwatch.GetElapsedTime(w0).TotalSeconds < 2; warm++) PolicyCompiler.Compile(policy);
    var times = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        PolicyCompiler.Compile(policy);
        times[i] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds;
    }
    Array.Sort(times);
    var ours = new { runs, warmup = warm, medianNs = Median(times), minNs = times[0], meanNs = times.Average() };
    // For information: the same loop without the optimisation passes (what the passes cost).
    for (int i = 0; i < 20; i++) PolicyCompiler.Compile(policy, new CompileOptions { Optimize = false });
    var plain = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        PolicyCompiler.Compile(policy, new CompileOptions { Optimize = false });
        plain[i] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds;
    }
    Array.Sort(plain);
    var unoptimized = new { runs, medianNs = Median(plain), minNs = plain[0], meanNs = plain.Average() };
    var t1 = lib.Time(flat, 1, runs);
    var t2 = lib.Time(flat, 2, runs);

    profiles.Add(new
    {
        name,
        rules = policy.Rules.Length,
        syscallNames = policy.SyscallNames.Count(),
        abis = abis.Select(a => a.Name),
        droppedNames = dropped,
        filters = perFilter,
        cacheMax,
        compileTime = new
        {
            seccompkit = ours,
            seccompkitUnoptimized = unoptimized,
            libseccompO1 = new { t1.Runs, t1.MedianNs, t1.MinNs, t1.MeanNs },
            libseccompO2 = new { t2.Runs, t2.MedianNs, t2.MinNs, t2.MeanNs },
        },
    });
    Console.WriteLine($"{name}: lengths {string.Join(", ", filters.Select(f => $"{f.Key} {f.Program.Length}"))}; compile median ours {ours.medianNs / 1000:F1} us, libseccomp -O1 {t1.MedianNs / 1000:F1} us, -O2 {t2.MedianNs / 1000:F1} us");
}

var stats = new
{
    libseccomp = lib.Version(),
    mix = new { file = "bench/data/syscall-mix.tsv", workloads = mix.Workloads, calls = mix.TotalCalls, distinctSyscalls = mix.Weights.Count, header = mix.Header },
    profiles,
};
File.WriteAllText(Path.Combine(outDir, "stats.json"), JsonSerializer.Serialize(stats, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
return 0;

static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

// Whether the policy gives exactly ALLOW to every call of NAME on ABI, whatever the arguments.
static bool ConstantAllow(SeccompPolicy policy, Architecture abi, string name)
{
    var rules = policy.RulesFor(name);
    var unconditional = rules.Where(r => r.IsUnconditional).ToList();
    PolicyAction floor;
    if (unconditional.Count > 0)
    {
        floor = unconditional.MinBy(r => r.Action.Precedence)!.Action;
        if (rules.Any(r => !r.IsUnconditional && r.Action.Precedence < floor.Precedence)) return false;
    }
    else
    {
        floor = policy.DefaultAction;
        if (rules.Any(r => r.Action != PolicyAction.Allow)) return false;
    }
    return floor.ReturnValue == SeccompReturn.SECCOMP_RET_ALLOW;
}

static (List<(string Name, double Weight)> Weights, List<string> Workloads, long TotalCalls, string Header) LoadMix(string path)
{
    var rows = File.ReadLines(path).Where(l => !l.StartsWith('#') && l.Length > 0).Select(l => l.Split('\t'))
        .Select(f => (Workload: f[0], Name: f[1], Calls: long.Parse(f[2], CultureInfo.InvariantCulture))).ToList();
    var totals = rows.GroupBy(r => r.Workload).ToDictionary(g => g.Key, g => (double)g.Sum(r => r.Calls));
    var weights = rows.GroupBy(r => r.Name).Select(g => (g.Key, g.Sum(r => r.Calls / totals[r.Workload]) / totals.Count)).OrderByDescending(w => w.Item2).ToList();
    return (weights, totals.Keys.ToList(), rows.Sum(r => r.Calls), File.ReadLines(path).First());
}
