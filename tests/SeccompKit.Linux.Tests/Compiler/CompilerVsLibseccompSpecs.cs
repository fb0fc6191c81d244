using System.Collections.Concurrent;
using System.Diagnostics;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using SeccompKit.Linux.Tests.Kernel;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>Shared per test class: the libseccomp helper and its name tables.</summary>
public sealed class LibseccompFixture
{
    public LibseccompFixture()
    {
        Compiler = LibseccompCompiler.Locate();
        Version = Compiler.Version();
        var abis = PolicyGenerator.AbiSets.SelectMany(s => s).Distinct().ToList();
        Tables = Compiler.NameTables(abis);
        Pools = PolicyGenerator.AbiSets.Select(s => new NamePool(s, Tables)).ToArray();
    }

    public LibseccompCompiler Compiler { get; }
    public string Version { get; }
    public Dictionary<Architecture, Dictionary<string, int>> Tables { get; }
    public NamePool[] Pools { get; }

    /// <summary>The policy without the rules libseccomp cannot take (see <see cref="LibseccompCompiler.CommonPart"/>).</summary>
    public (SeccompPolicy Policy, List<string> Dropped) CommonPart(SeccompPolicy policy) => LibseccompCompiler.CommonPart(policy, Tables);
}

/// <summary>
/// Differential tests of the policy compiler against libseccomp 2.5.4: for every policy and vector,
/// <c>PolicyEvaluator.Evaluate(policy, d)</c> (the oracle) equals <see cref="Interpreter"/> on libseccomp's
/// filter (optimize 1 and 2) and on SeccompKit's (optimised and not). The libseccomp side runs today; the
/// SeccompKit side runs as soon as <see cref="OurCompiler.Available"/>.
/// </summary>
public sealed class CompilerVsLibseccompSpecs(LibseccompFixture lib, ITestOutputHelper output) : IClassFixture<LibseccompFixture>
{
    private const int MaxReported = 20;

    private sealed class Tally
    {
        public long Vectors, Mismatches, NotComparable;
        public readonly ConcurrentQueue<string> Problems = new();
        public readonly ConcurrentDictionary<string, long> Results = new();

        public void Problem(string text)
        {
            Interlocked.Increment(ref Mismatches);
            if (Problems.Count < MaxReported) Problems.Enqueue(text);
        }
    }

    /// <summary>
    /// Every input is comparable: the policy model routes AUDIT_ARCH_X86_64 numbers from 0x40000000 up
    /// (except -1) to x32 as libseccomp does (see SeccompPolicy.ResolveAbi), including the negative ones.
    /// </summary>
    public static bool LibseccompComparable(SeccompData d) => true;

    /// <summary>Runs every engine on every vector and records disagreements with the oracle.</summary>
    private static void Check(string name, SeccompPolicy policy, IReadOnlyList<(string Engine, BpfProgram Program)> engines, IEnumerable<SeccompData> vectors, Tally tally, bool countResults = false)
    {
        long n = 0;
        foreach (var d in vectors)
        {
            n++;
            var want = PolicyEvaluator.Evaluate(policy, d);
            uint w = want.Action.ReturnValue;
            if (countResults) tally.Results.AddOrUpdate(want.Action.ToString(), 1, (_, c) => c + 1);
            bool libseccompComparable = LibseccompComparable(d);
            if (!libseccompComparable) Interlocked.Increment(ref tally.NotComparable);
            foreach (var (engine, program) in engines)
            {
                if (!libseccompComparable && engine.StartsWith("libseccomp", StringComparison.Ordinal)) continue;
                uint got = Interpreter.Evaluate(program, d);
                if (got != w)
                    tally.Problem($"{name}: {engine} gave {new SeccompResult(got)} (0x{got:x8}) for {d}; the policy says {want.Action} ({want.Reason}{(want.Syscall is null ? "" : ", " + want.Syscall)}{(want.Rule is null ? "" : ", rule " + want.Rule)})");
            }
        }
        Interlocked.Add(ref tally.Vectors, n);
    }

    private List<(string, BpfProgram)> Engines(SeccompPolicy policy, BpfProgram lib1, BpfProgram lib2)
    {
        var engines = new List<(string, BpfProgram)> { ("libseccomp -O1", lib1), ("libseccomp -O2", lib2) };
        if (OurCompiler.Available)
        {
            engines.Add(("SeccompKit optimized", OurCompiler.Compile(policy, optimize: true)));
            engines.Add(("SeccompKit unoptimized", OurCompiler.Compile(policy, optimize: false)));
        }
        return engines;
    }

    private string OursNote => OurCompiler.Available ? "SeccompKit optimized+unoptimized" : "SeccompKit compiler NOT AVAILABLE (libseccomp only)";

    [Theory]
    [InlineData("docker-default")]
    [InlineData("podman-default")]
    public void A_real_profile_for_amd64_gives_the_policys_action_for_every_vector_in_every_compiler(string profile)
    {
        var sw = Stopwatch.StartNew();
        var (policy, dropped) = lib.CommonPart(ProfilePolicies.Load(profile));
        // podman's socket rules have different actions on conditions over different arguments; they are
        // disjoint, so libseccomp may get them right: written anyway and checked like the rest.
        var flat = LibseccompPolicyWriter.Write(policy, allowMixedConditionalActions: true);
        var lib1 = lib.Compiler.Compile(flat, 1);
        var lib2 = lib.Compiler.Compile(flat, 2);
        var engines = Engines(policy, lib1, lib2);
        var tally = new Tally();
        Check(profile, policy, engines, VectorGenerator.For(policy, sweepArgsEverywhere: true), tally, countResults: true);

        var lengths = string.Join(", ", engines.Select(e => $"{e.Item1} {e.Item2.Length}"));
        KernelModel.ReportCounts(output, $"compiler-vs-libseccomp {profile}: {policy.Rules.Length} rules over {string.Join(",", policy.EffectiveArchitectures)}, " +
            $"{tally.Vectors} vectors x {engines.Count} filters ({OursNote}), {tally.Mismatches} mismatches, {sw.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"libseccomp {lib.Version}; filter lengths: {lengths}");
        output.WriteLine($"left out on both sides (libseccomp {lib.Version} does not know them or numbers them differently): {(dropped.Count == 0 ? "none" : string.Join(", ", dropped))}");
        output.WriteLine("results: " + string.Join(", ", tally.Results.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        foreach (var p in tally.Problems) output.WriteLine(p);
        Assert.True(tally.Vectors >= 100_000, $"only {tally.Vectors} vectors");
        Assert.True(tally.Mismatches == 0, $"{tally.Mismatches} mismatches; first:\n{string.Join('\n', tally.Problems)}");
    }

    [Fact]
    public void Random_policies_give_the_policys_action_for_every_vector_in_every_compiler()
    {
        const int PerSet = 500;
        var sw = Stopwatch.StartNew();
        int seed = ProgramGenerator.SeedFromEnvironment();
        output.WriteLine($"seed 0x{seed:x} (set SECCOMPKIT_KERNEL_SEED=0x{seed:x} to reproduce)");
        var tally = new Tally();
        int policies = 0, rules = 0, conditions = 0;
        var opsSeen = new ConcurrentDictionary<ArgOperator, int>();
        var actionsSeen = new ConcurrentDictionary<SeccompAction, int>();
        for (int s = 0; s < lib.Pools.Length; s++)
        {
            var pool = lib.Pools[s];
            var gen = new PolicyGenerator(new Random(seed ^ (s * 0x9e3779b9).GetHashCode()));
            var batch = Enumerable.Range(0, PerSet).Select(_ => gen.Next(pool)).ToList();
            var flats = batch.Select(p => LibseccompPolicyWriter.Write(p)).ToList();
            var lib1 = lib.Compiler.CompileMany(flats, 1);
            var lib2 = lib.Compiler.CompileMany(flats, 2);
            Parallel.For(0, batch.Count, i =>
            {
                var p = batch[i];
                Check($"{string.Join(",", pool.Abis)} policy {i}:\n{flats[i]}", p, Engines(p, lib1[i], lib2[i]), VectorGenerator.For(p, sweepArgsEverywhere: false), tally);
            });
            policies += batch.Count;
            rules += batch.Sum(p => p.Rules.Length);
            foreach (var p in batch)
            {
                foreach (var r in p.Rules)
                {
                    actionsSeen.AddOrUpdate(r.Action.Kind, 1, (_, c) => c + 1);
                    foreach (var c in r.Conditions) { conditions++; opsSeen.AddOrUpdate(c.Operator, 1, (_, x) => x + 1); }
                }
            }
            output.WriteLine($"{string.Join(",", pool.Abis)}: {pool.Names.Count} usable names" +
                (pool.NumberedDifferently.Count > 0 ? $"; numbered differently by libseccomp {lib.Version} (left out): {string.Join(", ", pool.NumberedDifferently)}" : ""));
        }
        KernelModel.ReportCounts(output, $"compiler-vs-libseccomp random: {policies} policies ({rules} rules, {conditions} conditions) over {lib.Pools.Length} ABI sets, " +
            $"{tally.Vectors} vectors x {(OurCompiler.Available ? 4 : 2)} filters ({OursNote}), {tally.Mismatches} mismatches, {sw.Elapsed.TotalSeconds:F1} s");
        output.WriteLine("operators: " + string.Join(", ", opsSeen.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")));
        output.WriteLine("actions: " + string.Join(", ", actionsSeen.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}")));
        foreach (var p in tally.Problems) output.WriteLine(p);
        Assert.Equal(7, opsSeen.Count);
        Assert.Equal(8, actionsSeen.Count);
        Assert.True(policies >= 2000, $"only {policies} policies");
        Assert.True(tally.Mismatches == 0, $"{tally.Mismatches} mismatches; first:\n{string.Join('\n', tally.Problems)}");
    }
}
