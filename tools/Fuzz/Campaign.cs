using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using System.Text;

namespace SeccompKit.Fuzz;

/// <summary>How an in-process campaign runs.</summary>
public sealed record CampaignOptions
{
    /// <summary>The campaign seed: input <c>i</c> is the same for the same seed, whatever else runs.</summary>
    public required int Seed { get; init; }
    /// <summary>The first input index (to replay one input: <c>--start I --inputs 1</c>).</summary>
    public long Start { get; init; }
    /// <summary>How many inputs.</summary>
    public long Inputs { get; init; } = 10_000;
    /// <summary>Stop earlier after this long (null: no time limit).</summary>
    public TimeSpan? Duration { get; init; }
    /// <summary>Only these targets (null: all).</summary>
    public IReadOnlySet<string>? Only { get; init; }
    /// <summary>One input longer than this is a hang (saved; the campaign goes on if it ends).</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>An input still running after this ends the campaign (it is saved first).</summary>
    public TimeSpan HardTimeLimit { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>One input allocating more than this is a memory finding.</summary>
    public long MaxAllocatedBytes { get; init; } = 512L << 20;
    /// <summary>Where findings are saved (null: not saved, only counted).</summary>
    public string? FindingsDir { get; init; }
    /// <summary>Worker threads (each input is still decided by its index alone).</summary>
    public int Jobs { get; init; } = 1;
    /// <summary>Progress lines go here (null: none).</summary>
    public TextWriter? Log { get; init; }
    /// <summary>The repository (seeds, agent configuration profiles).</summary>
    public required string Repo { get; init; }
    /// <summary>The command line that reruns this campaign, for findings' reproduction notes.</summary>
    public string Rerun { get; init; } = "dotnet tools/Fuzz/bin/Release/net10.0/SeccompKit.Fuzz.dll run";
    /// <summary>Targets beyond the built-in ones (the specs add a reader that throws, to show a bug is caught).</summary>
    public IReadOnlyList<Target> ExtraTargets { get; init; } = [];
}

/// <summary>What happened to one target's inputs.</summary>
public sealed class TargetStats
{
    /// <summary>Inputs run.</summary>
    public long Inputs;
    /// <summary>Read (and every later step) without error.</summary>
    public long Accepted;
    /// <summary>Refused with SeccompKit's input error (the documented kind).</summary>
    public long Refused;
    /// <summary>Refused, but the message does not name the input.</summary>
    public long Unlocated;
    /// <summary>Any other exception, or a failed check: a bug.</summary>
    public long Bugs;
    /// <summary>Longer than the time limit.</summary>
    public long Hangs;
    /// <summary>Allocated more than the bound.</summary>
    public long Memory;
    /// <summary>Total time in the target, in ticks.</summary>
    public long Ticks;
    /// <summary>The slowest input, in milliseconds.</summary>
    public double MaxMs;
    /// <summary>The most CPU time one input took, in milliseconds (10 ms resolution).</summary>
    public long MaxCpuMs;
    /// <summary>The most one input allocated, in bytes.</summary>
    public long MaxAllocated;
}

/// <summary>One finding (the first of its kind is saved; later ones with the same signature are counted).</summary>
public sealed record Finding(string Kind, string Target, long Index, string Signature, string Message, string? SavedAs);

/// <summary>The result of a campaign.</summary>
public sealed class CampaignResult
{
    /// <summary>Per target.</summary>
    public Dictionary<string, TargetStats> Targets { get; } = [];
    /// <summary>Distinct findings.</summary>
    public List<Finding> Findings { get; } = [];
    /// <summary>Findings by kind (bug, hang, memory, leak, crash), all occurrences.</summary>
    public Dictionary<string, long> FindingCounts { get; } = [];
    /// <summary>Inputs run.</summary>
    public long Inputs;
    /// <summary>Wall time.</summary>
    public TimeSpan Elapsed;
    /// <summary>Examples of refusals whose message does not name the input.</summary>
    public List<string> UnlocatedExamples { get; } = [];
    /// <summary>Managed heap after a full collection: after warm-up and at the end (bytes).</summary>
    public long HeapBaseline, HeapEnd;
    /// <summary>Open descriptors and threads after warm-up and at the end.</summary>
    public int FdsBaseline, FdsEnd, ThreadsBaseline, ThreadsEnd;
    /// <summary>What the descriptors opened after warm-up and still open at the end point to (readlink of /proc/self/fd/N).</summary>
    public List<string> NewFds { get; } = [];
    private HashSet<string> _fdTargetsBaseline = [];
    internal void SetFdBaseline(HashSet<string> targets) => _fdTargetsBaseline = targets;
    internal void SetFdEnd(HashSet<string> targets)
    {
        if (_fdTargetsBaseline.Count > 0) NewFds.AddRange(targets.Except(_fdTargetsBaseline).Order(StringComparer.Ordinal));
    }
    /// <summary>Inputs per second.</summary>
    public double Rate => Inputs / Math.Max(Elapsed.TotalSeconds, 1e-9);
    /// <summary>Bugs, hangs, memory, leaks or crashes were found.</summary>
    public bool HasFindings => FindingCounts.Values.Sum() > 0;
}

/// <summary>
/// The in-process campaign: draws input <c>i</c> from <c>(seed, i)</c> alone (target, seed file, mutations), runs it
/// through its target on a worker thread watched for hangs, and classifies the outcome. A crash (a stack overflow,
/// an abort) kills the process: the input being run is kept in a memory-mapped file that the next run reports.
/// </summary>
public sealed class Campaign
{
    private readonly CampaignOptions _o;
    private readonly Corpus _corpus;
    private readonly Targets _targets;
    private readonly Mutator _mutator;
    private readonly CampaignResult _result = new();
    private readonly object _lock = new();
    private readonly HashSet<string> _signatures = [];
    private readonly Slot[] _slots;
    private readonly List<Target> _all;

    private sealed class Slot
    {
        public long Index = -1;
        public long StartTicks;
        public bool Flagged;
        public byte[] Input = [];
        public string Target = "";
        public MemoryMappedViewAccessor? Current;
    }

    /// <summary>Prepares a campaign over <paramref name="corpus"/>.</summary>
    public Campaign(CampaignOptions options, Corpus corpus, string work)
    {
        _o = options;
        _corpus = corpus;
        _targets = new Targets(corpus, options.Repo, work);
        _mutator = new Mutator(corpus);
        _all = [.. _targets.All, .. options.ExtraTargets];
        _slots = [.. Enumerable.Range(0, Math.Max(1, options.Jobs)).Select(_ => new Slot())];
        foreach (var t in Active) _result.Targets[t.Name] = new TargetStats();
    }

    private IEnumerable<Target> Active => _all.Where(t => _o.Only is null || _o.Only.Contains(t.Name));

    /// <summary>The input <paramref name="index"/> of campaign <paramref name="seed"/>: its target, its bytes, how it was made, and the random source the target then uses.</summary>
    public (Target Target, byte[] Input, string How, Random Rng) Draw(long index)
    {
        var rng = new Random(StableSeed(_o.Seed, index, 0x5eed));
        var active = Active.ToList();
        int total = active.Sum(t => t.Weight), pick = rng.Next(total);
        var target = active.First(t => (pick -= t.Weight) < 0);
        var seed = _corpus.OfKind(target.Kinds[rng.Next(target.Kinds.Length)], rng);
        byte[] input;
        string how;
        switch (rng.Next(100))
        {
            case 0: input = seed.Bytes; how = "seed"; break;
            case 1: input = new byte[rng.Next(1, 2048)]; rng.NextBytes(input); how = "random"; break;
            default: input = _mutator.Mutate(seed, rng, out how); break;
        }
        return (target, input, $"{seed.Name}: {how}", rng);
    }

    /// <summary>
    /// The random seed of input <paramref name="index"/>: the same in every process (HashCode.Combine, used before, is
    /// randomised per process, so "--start I --inputs 1" drew another input than the campaign had; the saved bytes
    /// still replayed). SplitMix64's finaliser over the three values.
    /// </summary>
    public static int StableSeed(int seed, long index, int salt)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)index * 0xBF58476D1CE4E5B9UL ^ (ulong)salt * 0x94D049BB133111EBUL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return unchecked((int)(z ^ (z >> 31)));
    }

    /// <summary>Runs the campaign.</summary>
    public CampaignResult Run()
    {
        RecoverCrash();
        var sw = Stopwatch.StartNew();
        long next = _o.Start, end = _o.Start + _o.Inputs;
        var deadline = _o.Duration is { } d ? DateTime.UtcNow + d : DateTime.MaxValue;
        bool stop = false;
        long done = 0;
        var workers = new List<Thread>();
        for (int w = 0; w < _slots.Length; w++)
        {
            var slot = _slots[w];
            slot.Current = OpenCurrent(w);
            // 8 MiB: the stack the command line runs with (its main thread, or its own thread when ulimit -s is small).
            var t = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    long i = Interlocked.Increment(ref next) - 1;
                    if (i >= end || DateTime.UtcNow > deadline) break;
                    RunOne(slot, i);
                    long n = Interlocked.Increment(ref done);
                    if (n == 2000) Baseline();
                }
            }, maxStackSize: 8 << 20) { Name = $"fuzz worker {w}", IsBackground = true };
            workers.Add(t);
            t.Start();
        }
        var lastLog = sw.Elapsed;
        long lastDone = 0;
        while (workers.Any(t => t.IsAlive))
        {
            workers.First(t => t.IsAlive).Join(100);
            Watch();
            if (_o.Log is { } log && sw.Elapsed - lastLog > TimeSpan.FromSeconds(10))
            {
                long n = Interlocked.Read(ref done);
                log.WriteLine($"fuzz: {n} inputs, {(n - lastDone) / (sw.Elapsed - lastLog).TotalSeconds:0} /s, findings {_result.FindingCounts.Values.Sum()}");
                lastLog = sw.Elapsed;
                lastDone = n;
            }
        }
        _result.Elapsed = sw.Elapsed;
        _result.Inputs = done;
        (_result.HeapEnd, _result.FdsEnd, _result.ThreadsEnd) = Resources();
        _result.SetFdEnd(FdTargets());
        if (done >= 2000)
        {
            // Growth after warm-up that does not go away with a full collection is a leak (caches are filled by then).
            if (_result.HeapEnd - _result.HeapBaseline > 256L << 20) Record("leak", "campaign", -1, "heap", $"managed heap grew from {_result.HeapBaseline >> 20} MiB to {_result.HeapEnd >> 20} MiB", null);
            if (_result.FdsEnd - _result.FdsBaseline > 16) Record("leak", "campaign", -1, "fds", $"open descriptors grew from {_result.FdsBaseline} to {_result.FdsEnd}; new: {string.Join(", ", _result.NewFds.Take(20))}", null);
            if (_result.ThreadsEnd - _result.ThreadsBaseline > 16) Record("leak", "campaign", -1, "threads", $"threads grew from {_result.ThreadsBaseline} to {_result.ThreadsEnd}", null);
        }
        foreach (var s in _slots) { if (s.Current is { } c) { c.Write(0, 0); c.Dispose(); } }
        return _result;
    }

    private void Baseline()
    {
        (_result.HeapBaseline, _result.FdsBaseline, _result.ThreadsBaseline) = Resources();
        _result.SetFdBaseline(FdTargets());
    }

    // "N -> target" for each open descriptor (a descriptor reused for the same target counts once).
    private static HashSet<string> FdTargets()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists("/proc/self/fd")) return set;
        foreach (var fd in Directory.GetFiles("/proc/self/fd"))
        {
            try { set.Add($"{Path.GetFileName(fd)} -> {new FileInfo(fd).LinkTarget}"); }
            catch (IOException) { } // closed meanwhile (the directory's own descriptor)
        }
        return set;
    }

    private static (long Heap, int Fds, int Threads) Resources()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long heap = GC.GetTotalMemory(true);
        int fds = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 0;
        using var me = Process.GetCurrentProcess();
        return (heap, fds, me.Threads.Count);
    }

    private void RunOne(Slot slot, long index)
    {
        var (target, input, how, rng) = Draw(index);
        var stats = _result.Targets[target.Name];
        slot.Input = input;
        slot.Target = target.Name;
        slot.Flagged = false;
        SaveCurrent(slot, index, input, target.Name);
        Volatile.Write(ref slot.StartTicks, Stopwatch.GetTimestamp());
        Volatile.Write(ref slot.Index, index);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long cpu0 = ThreadCpuMs();
        string? bug = null, bugKind = null, signature = null;
        try
        {
            target.Run(input, rng);
            Interlocked.Increment(ref stats.Accepted);
        }
        catch (SeccompException e)
        {
            Interlocked.Increment(ref stats.Refused);
            if (target.InputName is { } name && !name.Split('|').Any(n => e.Message.Contains(n, StringComparison.Ordinal)))
            {
                Interlocked.Increment(ref stats.Unlocated);
                lock (_lock) if (_result.UnlocatedExamples.Count < 20) _result.UnlocatedExamples.Add($"{target.Name} #{index}: {e.GetType().Name}: {e.Message}");
            }
        }
        catch (FuzzCheckException e) { bugKind = "bug"; bug = e.Message; signature = "check:" + FirstLine(e.Message); }
        catch (Exception e)
        {
            bugKind = "bug";
            bug = e.ToString();
            signature = $"{e.GetType().FullName}@{TopFrame(e)}";
        }
        long elapsed = Stopwatch.GetTimestamp() - slot.StartTicks;
        long cpuMs = ThreadCpuMs() - cpu0;
        Volatile.Write(ref slot.Index, -1);
        slot.Current?.Write(0, 0); // done: not a crash
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Interlocked.Increment(ref stats.Inputs);
        Interlocked.Add(ref stats.Ticks, elapsed);
        double ms = elapsed * 1000.0 / Stopwatch.Frequency;
        lock (_lock)
        {
            stats.MaxMs = Math.Max(stats.MaxMs, ms);
            stats.MaxAllocated = Math.Max(stats.MaxAllocated, allocated);
        }
        if (bug is not null)
        {
            Interlocked.Increment(ref stats.Bugs);
            Record(bugKind!, target.Name, index, signature!, $"{how}\n{bug}", input);
        }
        lock (_lock) stats.MaxCpuMs = Math.Max(stats.MaxCpuMs, cpuMs);
        // The input's own CPU time decides (a campaign under nice on a loaded machine waits for the CPU far longer than it
        // runs); wall time only when the thread's CPU time cannot be read.
        double spent = cpuMs >= 0 ? cpuMs : ms;
        if (spent > _o.TimeLimit.TotalMilliseconds)
        {
            Interlocked.Increment(ref stats.Hangs);
            if (!slot.Flagged) Record("hang", target.Name, index, $"hang:{target.Name}:{index}", $"{how}\ntook {cpuMs} ms of CPU, {ms:0} ms wall (limit {_o.TimeLimit.TotalMilliseconds:0} ms of CPU)", input);
        }
        if (allocated > _o.MaxAllocatedBytes)
        {
            Interlocked.Increment(ref stats.Memory);
            Record("memory", target.Name, index, $"memory:{target.Name}:{index}", $"{how}\nallocated {allocated >> 20} MiB (bound {_o.MaxAllocatedBytes >> 20} MiB) for a {input.Length}-byte input", input);
        }
    }

    /// <summary>
    /// CPU time of the calling thread in milliseconds (utime + stime of /proc/thread-self/stat, in clock ticks of 10 ms),
    /// or -1 when it cannot be read.
    /// </summary>
    private static long ThreadCpuMs()
    {
        try
        {
            string stat = File.ReadAllText("/proc/thread-self/stat");
            // Fields after the command (which may contain spaces) in parentheses: state is field 3, utime 14, stime 15.
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(f[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(f[12], System.Globalization.CultureInfo.InvariantCulture)) * 1000 / 100;
        }
        catch (IOException) { return -1; }
    }

    /// <summary>
    /// Saves an input still running at 10 times the limit in wall time (it may never return; a loaded machine stretches
    /// wall time, so RunOne decides hangs by CPU time), and gives up past the hard limit.
    /// </summary>
    private void Watch()
    {
        foreach (var slot in _slots)
        {
            long index = Volatile.Read(ref slot.Index);
            if (index < 0) continue;
            double ms = (Stopwatch.GetTimestamp() - Volatile.Read(ref slot.StartTicks)) * 1000.0 / Stopwatch.Frequency;
            if (ms > 10 * _o.TimeLimit.TotalMilliseconds && !slot.Flagged)
            {
                slot.Flagged = true;
                Record("hang", slot.Target, index, $"hang:{slot.Target}:{index}", $"still running after {ms:0} ms (limit {_o.TimeLimit.TotalMilliseconds:0} ms)", slot.Input);
            }
            if (ms > _o.HardTimeLimit.TotalMilliseconds)
            {
                _o.Log?.WriteLine($"fuzz: input {index} ({slot.Target}) still running after {ms / 1000:0} s; giving up (saved as a hang)");
                _o.Log?.Flush();
                Environment.Exit(1);
            }
        }
    }

    private void Record(string kind, string target, long index, string signature, string message, byte[]? input)
    {
        lock (_lock)
        {
            _result.FindingCounts[kind] = _result.FindingCounts.GetValueOrDefault(kind) + 1;
            if (!_signatures.Add(signature)) return;
            string? saved = null;
            if (_o.FindingsDir is { } dir && input is not null)
            {
                Directory.CreateDirectory(dir);
                string id = $"{kind}-{target}-{Convert.ToHexString(SHA256.HashData(input))[..12].ToLowerInvariant()}";
                saved = Path.Combine(dir, id + ".bin");
                File.WriteAllBytes(saved, input);
                File.WriteAllText(Path.Combine(dir, id + ".txt"),
                    $"{kind} in target {target}, campaign seed {_o.Seed}, input {index}\n" +
                    $"reproduce: {_o.Rerun} --seed {_o.Seed} --start {index} --inputs 1\n" +
                    $"or: {_o.Rerun.Replace(" run", " replay", StringComparison.Ordinal)} {saved} --target {target}\n\n{message}\n");
            }
            _result.Findings.Add(new Finding(kind, target, index, signature, message.Length > 3000 ? message[..3000] : message, saved));
            _o.Log?.WriteLine($"fuzz: FINDING {kind} in {target} (input {index}){(saved is null ? "" : ", saved as " + saved)}: {FirstLine(message.Split('\n').Skip(1).FirstOrDefault() ?? message)}");
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0];

    private static string TopFrame(Exception e)
    {
        var frame = new StackTrace(e, false).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("SeccompKit", StringComparison.Ordinal) == true);
        var m = frame?.GetMethod();
        return m is null ? "?" : $"{m.DeclaringType?.FullName}.{m.Name}";
    }

    // ---- crash recovery: the input being run, in a file the kernel keeps when the process dies ----

    private const int Header = 24;

    private MemoryMappedViewAccessor? OpenCurrent(int worker)
    {
        if (_o.FindingsDir is null) return null;
        Directory.CreateDirectory(_o.FindingsDir);
        var path = Path.Combine(_o.FindingsDir, $".current-{worker}");
        var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Create, null, Header + Mutator.MaxInput + 64);
        return mmf.CreateViewAccessor();
    }

    private void SaveCurrent(Slot slot, long index, byte[] input, string target)
    {
        if (slot.Current is not { } c) return;
        c.Write(0, 0);
        c.Write(4, input.Length);
        c.Write(8, index);
        c.Write(16, _all.FindIndex(t => t.Name == target));
        c.WriteArray(Header, input, 0, input.Length);
        c.Write(0, 1); // running
    }

    /// <summary>A previous run that died part way (flag still "running") left its input: report it as a crash.</summary>
    private void RecoverCrash()
    {
        if (_o.FindingsDir is not { } dir || !Directory.Exists(dir)) return;
        foreach (var f in Directory.GetFiles(dir, ".current-*"))
        {
            var bytes = File.ReadAllBytes(f);
            if (bytes.Length < Header || BitConverter.ToInt32(bytes, 0) != 1) continue;
            int len = BitConverter.ToInt32(bytes, 4);
            long index = BitConverter.ToInt64(bytes, 8);
            int t = BitConverter.ToInt32(bytes, 16);
            string target = t >= 0 && t < _all.Count ? _all[t].Name : "?";
            Record("crash", target, index, $"crash:{index}", "the previous campaign process died while running this input (stack overflow, abort or kill)", bytes.AsSpan(Header, len).ToArray());
            File.Delete(f);
        }
    }

    /// <summary>Runs <paramref name="input"/> through the target named <paramref name="target"/> with a few random sources; prints each outcome.</summary>
    public static int Replay(byte[] input, string target, Targets targets, TextWriter log)
    {
        var t = targets.All.FirstOrDefault(x => x.Name == target) ?? throw new ArgumentException($"no target '{target}'; targets: {string.Join(", ", targets.All.Select(x => x.Name))}");
        int bugs = 0;
        for (int s = 0; s < 16; s++)
        {
            var sw = Stopwatch.StartNew();
            try { t.Run(input, new Random(s)); log.WriteLine($"rng {s}: accepted ({sw.ElapsedMilliseconds} ms)"); }
            catch (SeccompException e) { log.WriteLine($"rng {s}: refused ({sw.ElapsedMilliseconds} ms): {e.GetType().Name}: {e.Message}"); }
            catch (Exception e) { bugs++; log.WriteLine($"rng {s}: BUG ({sw.ElapsedMilliseconds} ms): {e}"); }
        }
        return bugs == 0 ? 0 : 1;
    }

    /// <summary>A one-line digest of the input for logs.</summary>
    public static string Digest(byte[] input) => Encoding.ASCII.GetString(input.Take(60).Select(b => b is >= 32 and < 127 ? b : (byte)'.').ToArray());
}
