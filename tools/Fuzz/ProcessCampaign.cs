using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SeccompKit.Fuzz;

/// <summary>What the process campaign found.</summary>
public sealed class ProcessResult
{
    /// <summary>Runs per command.</summary>
    public Dictionary<string, long> Runs { get; } = [];
    /// <summary>Exit statuses seen, over all runs.</summary>
    public SortedDictionary<int, long> Exits { get; } = [];
    /// <summary>Findings (internal error, signal, timeout, stack trace, leaked process).</summary>
    public List<Finding> Findings { get; } = [];
    /// <summary>Finding counts by kind.</summary>
    public Dictionary<string, long> FindingCounts { get; } = [];
    /// <summary>Process runs.</summary>
    public long Total;
    /// <summary>Wall time.</summary>
    public TimeSpan Elapsed;
    /// <summary>Runs per second.</summary>
    public double Rate => Total / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

/// <summary>
/// Runs the built binary (the NativeAOT one, or any seccompkit) as a process on mutated inputs, a file or standard
/// input, for each reading command, and flags what a user would see as a crash: exit 70 (internal error), death by a
/// signal (134 abort, 139 segfault, any status from 128 up), no exit within the time limit, a .NET stack trace on
/// standard error, and a process left behind (the fuzzer is a child subreaper, so orphans come back to it).
/// </summary>
public sealed partial class ProcessCampaign(CampaignOptions options, Corpus corpus, string work, string binary)
{
    private static readonly (string Name, string[] Args, bool Program)[] Commands =
    [
        ("check", ["check", "@in"], true), ("disasm", ["disasm", "@in"], true), ("asm", ["asm", "@in", "-o", "@out"], true),
        ("emulate", ["emulate", "@in", "--syscall", "read"], true), ("explain-bpf", ["explain", "@in"], true),
        ("lint-bpf", ["lint", "@in"], true), ("graph-bpf", ["graph", "@in", "--format", "dot"], true),
        ("diff-bpf", ["diff", "@in", "@seed"], true),
        ("compile", ["compile", "@in", "-o", "@out"], false), ("convert", ["convert", "@in", "--to", "policy"], false),
        ("convert-oci", ["convert", "@in", "--to", "oci"], false), ("merge", ["merge", "@in", "@seed", "-o", "@out"], false),
        ("explain-policy", ["explain", "@in", "--to", "policy"], false), ("lint-policy", ["lint", "@in"], false),
        ("graph-policy", ["graph", "@in", "--format", "dot"], false), ("diff-policy", ["diff", "@in", "@seed"], false),
    ];

    [DllImport("libc", SetLastError = true)]
    private static extern int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    private const int PR_SET_CHILD_SUBREAPER = 36;

    /// <summary>Runs <see cref="CampaignOptions.Inputs"/> processes.</summary>
    public ProcessResult Run(TimeSpan perRun)
    {
        // Orphans (a grandchild the binary left running) are reparented to us instead of init, so they can be seen.
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        var result = new ProcessResult();
        var mutator = new Mutator(corpus);
        var sw = Stopwatch.StartNew();
        var seen = new HashSet<string>();
        var deadline = options.Duration is { } d ? DateTime.UtcNow + d : DateTime.MaxValue;
        string seedBpf = Path.Combine(work, "seed.bpf"), seedJson = Path.Combine(work, "seed.json");
        File.WriteAllBytes(seedBpf, corpus.Of(SeedKind.BpfRaw)[0].Bytes);
        File.WriteAllBytes(seedJson, corpus.Of(SeedKind.PolicyJson)[0].Bytes);
        for (long i = options.Start; i < options.Start + options.Inputs && DateTime.UtcNow < deadline; i++)
        {
            var rng = new Random(Campaign.StableSeed(options.Seed, i, 0xc11));
            var (name, template, program) = Commands[rng.Next(Commands.Length)];
            var kinds = program ? new[] { SeedKind.BpfRaw, SeedKind.BpfText } : [SeedKind.PolicyJson, SeedKind.PolicyText];
            var seed = corpus.OfKind(kinds[rng.Next(kinds.Length)], rng);
            var input = rng.Next(50) == 0 ? seed.Bytes : mutator.Mutate(seed, rng, out _);
            bool stdin = rng.Next(4) == 0;
            string inPath = Path.Combine(work, "input"), outPath = Path.Combine(work, "out");
            File.WriteAllBytes(inPath, input);
            File.Delete(outPath);
            var args = template.Select(a => a switch
            {
                "@in" => stdin ? "-" : inPath,
                "@out" => outPath,
                "@seed" => program ? seedBpf : seedJson,
                _ => a,
            }).ToArray();
            var (exit, stderr, timedOut) = Exec(args, stdin ? input : null, perRun);
            result.Total++;
            result.Runs[name] = result.Runs.GetValueOrDefault(name) + 1;
            result.Exits[exit] = result.Exits.GetValueOrDefault(exit) + 1;
            string? kind = timedOut ? "timeout"
                : exit == 70 ? "internal-error"
                : exit >= 128 || exit < 0 ? "signal"
                : StackFrame().IsMatch(stderr) || stderr.Contains("Unhandled exception", StringComparison.Ordinal) ? "stack-trace"
                : null;
            var leaked = Orphans();
            if (leaked.Count > 0) kind ??= "leaked-process";
            if (kind is not null)
            {
                result.FindingCounts[kind] = result.FindingCounts.GetValueOrDefault(kind) + 1;
                string sig = $"{kind}:{name}:{(kind is "internal-error" or "stack-trace" ? stderr.Split('\n')[0] : exit.ToString())}";
                if (seen.Add(sig))
                {
                    string? saved = null;
                    if (options.FindingsDir is { } dir)
                    {
                        Directory.CreateDirectory(dir);
                        string id = $"cli-{kind}-{name}-{Convert.ToHexString(SHA256.HashData(input))[..12].ToLowerInvariant()}";
                        saved = Path.Combine(dir, id + ".bin");
                        File.WriteAllBytes(saved, input);
                        string shown = string.Join(' ', args.Select(a => a == inPath ? saved : a));
                        File.WriteAllText(Path.Combine(dir, id + ".txt"),
                            $"{kind}: exit {exit}{(timedOut ? " (killed after the time limit)" : "")}; campaign seed {options.Seed}, run {i}\n" +
                            $"reproduce: {binary} {shown}{(stdin ? " < " + saved : "")}\n\n{stderr}\n{string.Join('\n', leaked)}\n");
                    }
                    result.Findings.Add(new Finding(kind, name, i, sig, $"exit {exit}: {(stderr.Length > 2000 ? stderr[..2000] : stderr)}", saved));
                    options.Log?.WriteLine($"fuzz-cli: FINDING {kind} in {name} (run {i}): exit {exit}: {stderr.Split('\n')[0]}");
                }
            }
            if (options.Log is { } log && result.Total % 500 == 0)
                log.WriteLine($"fuzz-cli: {result.Total} runs, {result.Total / sw.Elapsed.TotalSeconds:0.0} /s, findings {result.FindingCounts.Values.Sum()}");
        }
        result.Elapsed = sw.Elapsed;
        return result;
    }

    private (int Exit, string Stderr, bool TimedOut) Exec(string[] args, byte[]? stdin, TimeSpan limit)
    {
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["SECCOMPKIT_DEBUG"] = "1"; // an internal error then prints its stack trace too
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        try
        {
            if (stdin is not null) p.StandardInput.BaseStream.Write(stdin);
            p.StandardInput.Close();
        }
        catch (IOException) { } // it exited without reading all of standard input: allowed
        // The limit is on the run's CPU time: under nice on a loaded machine a run can wait for the CPU far longer than
        // it runs (two diffs of 0.2 and 0.9 s were killed at 20 s of wall time). Wall time is bounded at 10 times the limit.
        var wall = Stopwatch.StartNew();
        bool exited;
        while (true)
        {
            if (p.WaitForExit(200)) { exited = true; break; }
            TimeSpan cpu;
            try { p.Refresh(); cpu = p.TotalProcessorTime; }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { continue; } // exited meanwhile
            if (cpu > limit || wall.Elapsed > 10 * limit) { exited = false; break; }
        }
        if (!exited) { p.Kill(entireProcessTree: true); p.WaitForExit(); }
        output.Wait(TimeSpan.FromSeconds(5));
        err.Wait(TimeSpan.FromSeconds(5));
        return (p.ExitCode, err.IsCompletedSuccessfully ? err.Result : "", !exited);
    }

    /// <summary>Processes whose parent is this fuzzer other than the ones it is waiting for: orphans of a run (killed, and listed).</summary>
    private static List<string> Orphans()
    {
        var found = new List<string>();
        int me = Environment.ProcessId;
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            int close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], out int ppid) && ppid == me && fields[0] != "Z")
            {
                found.Add($"left running: pid {pid} {stat[..(close + 1)]}");
                try { Process.GetProcessById(pid).Kill(); } catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
        }
        return found;
    }

    // A .NET stack frame ("   at SeccompKit.X.Y(String a) in /path:line 3"), not any line starting with "at": an error
    // quoting the input's line "    at allow" was taken for one (campaign of 2026-12-02, run 9034).
    [System.Text.RegularExpressions.GeneratedRegex(@"(?m)^\s+at [\w.`<>|\[\],]+\.[\w`<>|]+(\[[^\]]*\])?\([^)]*\)")]
    private static partial System.Text.RegularExpressions.Regex StackFrame();
}
