using SeccompKit.Bpf;
using SeccompKit.Compiler;

namespace SeccompKit.TestKit;

/// <summary>
/// Real filters for tests of the analyses: Docker's and podman's default profiles as SeccompKit compiles them, every
/// program libseccomp's tests export (data/peers/lsc, big-endian ones included) and every seccomp-tools spec program
/// (data/peers/st: ALU, X, scratch memory, JSET).
/// </summary>
public static class FilterCorpus
{
    private static readonly Lazy<IReadOnlyDictionary<string, BpfProgram>> All = new(Load);

    /// <summary>Every filter, by name: <c>docker-default</c>, <c>podman-default</c>, <c>lsc/NN-sim-....bpf</c>, <c>st/....bpf</c>.</summary>
    public static IReadOnlyDictionary<string, BpfProgram> Programs => All.Value;

    /// <summary>The names of <see cref="Programs"/>, sorted.</summary>
    public static IEnumerable<string> Names => All.Value.Keys.Order(StringComparer.Ordinal);

    /// <summary>One filter of <see cref="Programs"/>.</summary>
    public static BpfProgram Get(string name) => All.Value[name];

    private static Dictionary<string, BpfProgram> Load()
    {
        var d = new Dictionary<string, BpfProgram>(StringComparer.Ordinal);
        foreach (var (name, _, _) in ProfilePolicies.Profiles)
            d[name] = PolicyCompiler.Compile(ProfilePolicies.Load(name)).Program;
        foreach (var sub in new[] { "lsc", "st" })
            foreach (var file in Directory.GetFiles(Repo.Path("data", "peers", sub), "*.bpf"))
            {
                // A few seccomp-tools programs are deliberately invalid (its specs test the errors): only filters here.
                if (BpfProgram.TryCreate(BpfProgram.ParseRaw(File.ReadAllBytes(file)), out var program, out _))
                    d[sub + "/" + System.IO.Path.GetFileName(file)] = program!;
            }
        return d;
    }
}
