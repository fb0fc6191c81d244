using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.TestKit;

/// <summary>
/// Drives native/build/libseccomp-compile (native/libseccomp-compile.c): libseccomp 2.5.4 as the reference
/// compiler. Builds the helper when it is missing or older than its source. Shared with bench/compiler (a project reference).
/// </summary>
public sealed class LibseccompCompiler
{
    /// <summary>How the helper is built by hand (native/build.sh does the same).</summary>
    public const string BuildCommand = "gcc -O2 -Wall -Werror -o native/build/libseccomp-compile native/libseccomp-compile.c -lseccomp";

    private LibseccompCompiler(string repositoryRoot, string path)
    {
        RepositoryRoot = repositoryRoot;
        HelperPath = path;
    }

    /// <summary>The checkout holding native/libseccomp-compile.c.</summary>
    public string RepositoryRoot { get; }

    /// <summary>The built helper.</summary>
    public string HelperPath { get; }

    /// <summary>Finds the checkout above <see cref="AppContext.BaseDirectory"/> and builds the helper if needed.</summary>
    public static LibseccompCompiler Locate()
    {
        var helper = NativeHelper.Build("libseccomp-compile", [], ["-lseccomp"], "libseccomp-dev");
        return new LibseccompCompiler(Repo.Root, helper);
    }

    /// <summary>libseccomp's version, e.g. 2.5.4.</summary>
    public string Version() => Run(["--version"], null).Trim();

    /// <summary>
    /// libseccomp's own name table for each ABI: <c>(abi, nr) → name</c> and <c>(abi, name) → nr</c> for
    /// every number it resolves.
    /// </summary>
    public Dictionary<Architecture, Dictionary<string, int>> NameTables(IEnumerable<Architecture> abis)
    {
        var list = abis.ToList();
        var text = Run(["--resolve", string.Join(',', list.Select(a => a.Name))], null);
        var result = list.ToDictionary(a => a, _ => new Dictionary<string, int>(StringComparer.Ordinal));
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            result[Architecture.Get(f[0])][f[2]] = int.Parse(f[1], CultureInfo.InvariantCulture);
        }
        return result;
    }

    /// <summary>
    /// The policy without rules naming syscalls libseccomp does not know, or numbers differently from our
    /// tables on a covered ABI (so both compilers get the same policy), and the names left out.
    /// </summary>
    public static (SeccompPolicy Policy, List<string> Dropped) CommonPart(SeccompPolicy policy, IReadOnlyDictionary<Architecture, Dictionary<string, int>> tables)
    {
        var dropped = new List<string>();
        bool Known(string name)
        {
            foreach (var abi in policy.EffectiveArchitectures)
            {
                bool ours = abi.Syscalls.TryGetNumber(name, out int nr);
                bool theirs = tables[abi].TryGetValue(name, out int their);
                if (ours != theirs || (ours && nr != their)) return false;
            }
            return true;
        }
        var keep = policy.Rules.Where(r =>
        {
            if (Known(r.Syscall)) return true;
            if (!dropped.Contains(r.Syscall)) dropped.Add(r.Syscall);
            return false;
        }).ToList();
        return (policy.WithRules(keep), dropped);
    }

    /// <summary>Compiles one policy (flat text) at <paramref name="optimize"/> 1 or 2.</summary>
    public BpfProgram Compile(string flatPolicy, int optimize) => CompileMany([flatPolicy], optimize)[0];

    /// <summary>Compiles many policies in one helper process (<c>--batch</c>).</summary>
    public IReadOnlyList<BpfProgram> CompileMany(IReadOnlyList<string> flatPolicies, int optimize)
    {
        var input = string.Concat(flatPolicies.Select(p => p + "end\n"));
        var bytes = RunBytes(["--batch", "-O", optimize.ToString(CultureInfo.InvariantCulture)], input);
        var programs = new List<BpfProgram>(flatPolicies.Count);
        int at = 0;
        while (at < bytes.Length)
        {
            int n = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            at += 4;
            programs.Add(BpfProgram.FromRaw(bytes.AsSpan(at, 8 * n)));
            at += 8 * n;
        }
        if (programs.Count != flatPolicies.Count)
            throw new InvalidOperationException($"libseccomp-compile --batch returned {programs.Count} filters for {flatPolicies.Count} policies");
        return programs;
    }

    /// <summary>The median wall time of one in-process compile, measured by the helper's <c>--time</c>.</summary>
    public CompileTiming Time(string flatPolicy, int optimize, int runs)
    {
        var json = Path.GetTempFileName();
        try
        {
            RunBytes(["-O", optimize.ToString(CultureInfo.InvariantCulture), "-o", "/dev/null", "--time", runs.ToString(CultureInfo.InvariantCulture), "--time-out", json], flatPolicy);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var r = doc.RootElement;
            return new CompileTiming(r.GetProperty("runs").GetInt32(), r.GetProperty("medianNs").GetDouble(), r.GetProperty("minNs").GetDouble(), r.GetProperty("meanNs").GetDouble());
        }
        finally { File.Delete(json); }
    }

    private string Run(string[] args, string? stdin) => System.Text.Encoding.UTF8.GetString(RunBytes(args, stdin));

    private byte[] RunBytes(string[] args, string? stdin)
    {
        var (code, stdout, err) = Exec(HelperPath, stdin, args);
        if (code != 0)
            throw new InvalidOperationException($"libseccomp-compile {string.Join(' ', args)} failed with exit code {code}: {err.Trim()}");
        return stdout;
    }

    private static (int Code, byte[] Stdout, string Stderr) Exec(string file, string? stdin, string[] args)
    {
        var r = ChildProcess.Run(file, args, new ProcessOptions { Stdin = stdin, Timeout = TimeSpan.FromMinutes(5) });
        return (r.Exit, r.OutBytes, r.Err);
    }
}

/// <summary>One compile-time measurement: runs, and the median, fastest and mean time of one compile in ns.</summary>
public sealed record CompileTiming(int Runs, double MedianNs, double MinNs, double MeanNs);
