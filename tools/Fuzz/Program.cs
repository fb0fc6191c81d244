using System.Globalization;
using System.Text.Json;
using SeccompKit.Fuzz;

// SeccompKit's fuzzer (issue 17). Usage:
//   SeccompKit.Fuzz run  [--seed N] [--inputs N] [--start I] [--minutes M] [--targets a,b] [--jobs N] [--findings DIR] [--json FILE]
//   SeccompKit.Fuzz cli  --bin PATH [--seed N] [--inputs N] [--minutes M] [--findings DIR] [--json FILE]
//   SeccompKit.Fuzz replay FILE --target NAME
//   SeccompKit.Fuzz cost FILE...   (explain's work units, time and allocation per BPF file, raw or listing: to calibrate AnalysisBudget)
// Exit 0: no finding; 1: findings (saved under --findings with the command that reproduces each); 2: usage.
var opts = new Dictionary<string, string>(StringComparer.Ordinal);
var positional = new List<string>();
for (int i = 1; i < args.Length; i++)
{
    if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length) opts[args[i][2..]] = args[++i];
    else positional.Add(args[i]);
}
string mode = args.Length > 0 ? args[0] : "";
if (mode == "cost") return Cost.Run(positional, Console.Out);
if (mode is not ("run" or "cli" or "replay"))
{
    Console.Error.WriteLine("usage: SeccompKit.Fuzz run|cli|replay [options]; see tools/Fuzz/README.md");
    return 2;
}
string repo = opts.TryGetValue("repo", out var r) ? r : Corpus.FindRepo(AppContext.BaseDirectory);
int seed = opts.TryGetValue("seed", out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
var corpus = Corpus.Load(repo);
string work = Directory.CreateTempSubdirectory("seccompkit-fuzz-").FullName;
try
{
    if (mode == "replay")
    {
        if (positional.Count != 1 || !opts.TryGetValue("target", out var target))
        {
            Console.Error.WriteLine("usage: SeccompKit.Fuzz replay FILE --target NAME");
            return 2;
        }
        return Campaign.Replay(File.ReadAllBytes(positional[0]), target, new Targets(corpus, repo, work), Console.Out);
    }
    var options = new CampaignOptions
    {
        Seed = seed,
        Repo = repo,
        Start = opts.TryGetValue("start", out var st) ? long.Parse(st, CultureInfo.InvariantCulture) : 0,
        Inputs = opts.TryGetValue("inputs", out var n) ? long.Parse(n, CultureInfo.InvariantCulture) : long.MaxValue / 2,
        Duration = opts.TryGetValue("minutes", out var m) ? TimeSpan.FromMinutes(double.Parse(m, CultureInfo.InvariantCulture)) : null,
        Only = opts.TryGetValue("targets", out var t) ? t.Split(',').ToHashSet() : null,
        Jobs = opts.TryGetValue("jobs", out var j) ? int.Parse(j, CultureInfo.InvariantCulture) : 1,
        FindingsDir = opts.TryGetValue("findings", out var f) ? f : Path.Combine(repo, "artifacts", "fuzz-findings"),
        Log = Console.Error,
        Rerun = $"dotnet {Path.Combine(AppContext.BaseDirectory, "SeccompKit.Fuzz.dll")} {mode}",
    };
    Console.Error.WriteLine($"fuzz: seed {seed}; {corpus.Seeds.Count} seeds ({string.Join(", ", Enum.GetValues<SeedKind>().Select(k => $"{corpus.Of(k).Count} {k}"))}); findings in {options.FindingsDir}");
    object summary;
    bool findings;
    if (mode == "run")
    {
        var result = new Campaign(options, corpus, work).Run();
        findings = result.HasFindings;
        Console.Error.WriteLine($"fuzz: {result.Inputs} inputs in {result.Elapsed.TotalSeconds:0.0} s ({result.Rate:0} /s)");
        foreach (var (name, ts) in result.Targets)
            Console.Error.WriteLine($"  {name,-14} {ts.Inputs,9} inputs: {ts.Accepted} accepted, {ts.Refused} refused ({ts.Unlocated} without the input's name), {ts.Bugs} bugs, {ts.Hangs} hangs, {ts.Memory} memory; mean {(ts.Inputs == 0 ? 0 : ts.Ticks * 1000.0 / System.Diagnostics.Stopwatch.Frequency / ts.Inputs):0.000} ms, max {ts.MaxMs:0} ms wall, {ts.MaxCpuMs} ms CPU, max alloc {ts.MaxAllocated >> 20} MiB");
        Console.Error.WriteLine($"  heap {result.HeapBaseline >> 20} -> {result.HeapEnd >> 20} MiB, fds {result.FdsBaseline} -> {result.FdsEnd}, threads {result.ThreadsBaseline} -> {result.ThreadsEnd}");
        if (result.NewFds.Count > 0) Console.Error.WriteLine($"  descriptors opened after warm-up and still open: {string.Join(", ", result.NewFds)}");
        foreach (var u in result.UnlocatedExamples.Take(8)) Console.Error.WriteLine($"  unlocated: {u}");
        Console.Error.WriteLine($"fuzz: findings: {(result.HasFindings ? string.Join(", ", result.FindingCounts.Select(p => $"{p.Value} {p.Key}")) : "none")}");
        summary = new
        {
            mode, seed, inputs = result.Inputs, seconds = Math.Round(result.Elapsed.TotalSeconds, 1), inputsPerSecond = Math.Round(result.Rate, 1),
            targets = result.Targets.ToDictionary(p => p.Key, p => new
            {
                inputs = p.Value.Inputs, accepted = p.Value.Accepted, refused = p.Value.Refused, refusedWithoutInputName = p.Value.Unlocated,
                bugs = p.Value.Bugs, hangs = p.Value.Hangs, memory = p.Value.Memory,
                meanMs = p.Value.Inputs == 0 ? 0 : Math.Round(p.Value.Ticks * 1000.0 / System.Diagnostics.Stopwatch.Frequency / p.Value.Inputs, 3),
                maxMs = Math.Round(p.Value.MaxMs, 1), maxCpuMs = p.Value.MaxCpuMs, maxAllocatedMiB = p.Value.MaxAllocated >> 20,
            }),
            findingCounts = result.FindingCounts,
            findings = result.Findings.Select(x => new { x.Kind, x.Target, x.Index, x.Signature, x.SavedAs, message = x.Message.Split('\n').Take(3) }),
            heapMiB = new { afterWarmUp = result.HeapBaseline >> 20, end = result.HeapEnd >> 20 },
            fds = new { afterWarmUp = result.FdsBaseline, end = result.FdsEnd, newAtEnd = result.NewFds },
            threads = new { afterWarmUp = result.ThreadsBaseline, end = result.ThreadsEnd },
            unlocatedExamples = result.UnlocatedExamples,
        };
    }
    else
    {
        if (!opts.TryGetValue("bin", out var bin)) bin = Path.Combine(repo, "artifacts", "aot", "seccompkit");
        if (!File.Exists(bin)) { Console.Error.WriteLine($"fuzz: {bin} does not exist; run ./build-aot.sh or pass --bin"); return 2; }
        var perRun = TimeSpan.FromSeconds(opts.TryGetValue("timeout", out var to) ? double.Parse(to, CultureInfo.InvariantCulture) : 20);
        var result = new ProcessCampaign(options with { Inputs = opts.ContainsKey("inputs") ? options.Inputs : 1000 }, corpus, work, bin).Run(perRun);
        findings = result.FindingCounts.Values.Sum() > 0;
        Console.Error.WriteLine($"fuzz-cli: {result.Total} runs in {result.Elapsed.TotalSeconds:0.0} s ({result.Rate:0.0} /s)");
        Console.Error.WriteLine($"  per command: {string.Join(", ", result.Runs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}"))}");
        Console.Error.WriteLine($"  exit statuses: {string.Join(", ", result.Exits.Select(p => $"{p.Key}: {p.Value}"))}");
        Console.Error.WriteLine($"fuzz-cli: findings: {(findings ? string.Join(", ", result.FindingCounts.Select(p => $"{p.Value} {p.Key}")) : "none")}");
        summary = new
        {
            mode, seed, binary = bin, runs = result.Total, seconds = Math.Round(result.Elapsed.TotalSeconds, 1), runsPerSecond = Math.Round(result.Rate, 2),
            perCommand = result.Runs, exitStatuses = result.Exits.ToDictionary(p => p.Key.ToString(CultureInfo.InvariantCulture), p => p.Value),
            findingCounts = result.FindingCounts,
            findings = result.Findings.Select(x => new { x.Kind, x.Target, x.Index, x.Signature, x.SavedAs, message = x.Message.Split('\n').Take(3) }),
        };
    }
    if (opts.TryGetValue("json", out var json))
        File.WriteAllText(json, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    return findings ? 1 : 0;
}
finally
{
    try { Directory.Delete(work, recursive: true); } catch (IOException) { }
}
