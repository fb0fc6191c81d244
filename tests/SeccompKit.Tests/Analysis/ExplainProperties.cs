using CsCheck;
using SeccompKit.Analysis;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.TestKit;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Tests.Analysis;

/// <summary>explain's proof on random and real programs: regions checked by the interpreter, recovered policies compiled and compared.</summary>
public class ExplainProperties
{
    [Fact]
    public void Random_policies_compiled_optimised_or_not_are_explained_exactly_and_recovered_exactly_or_with_problems()
    {
        long points = 0, filters = 0, inexact = 0;
        PolicyGenerator.Policies.Sample(policy =>
        {
            foreach (var optimize in new[] { true, false })
            {
                CompiledPolicy compiled;
                try { compiled = PolicyCompiler.Compile(policy, new CompileOptions { Optimize = optimize }); }
                catch (CompileException) { return; }
                var (exact, n, recovered) = ExplainOracle.Prove(new FilterStack([compiled.Program]), "random policy");
                // The regions are always proven (Prove checks them first). The recovery is either exact, and then its compiled
                // form is proven equal to the original, or it reports problems: never a silently different policy. Known
                // inexact cases: a 64-bit condition of a random policy compares only its low half on 32-bit ABIs, and the
                // recovery takes each name's rules from one ABI (see docs/EXPLAIN.md, limits).
                if (!exact)
                {
                    Assert.NotEmpty(recovered.Problems);
                    Interlocked.Increment(ref inexact);
                    continue;
                }
                Interlocked.Add(ref points, n);
                Interlocked.Increment(ref filters);
            }
        }, iter: 60, threads: 1);
        Assert.True(filters > inexact, $"{filters} exact, {inexact} inexact");
        TestContext.Current.SendDiagnosticMessage($"explain on random policies: {filters} filters recovered exactly, {inexact} not recovered exactly with their problems reported, {points} inputs compared, 0 mismatches");
    }

    public static TheoryData<string> PeerFilters()
    {
        var data = new TheoryData<string>();
        foreach (var dir in new[] { "lsc", "st" })
            foreach (var f in Directory.GetFiles(Repo.Path("data", "peers", dir), "*.bpf").Order(StringComparer.Ordinal))
                // Some of seccomp-tools' programs are invalid on purpose (its validator tests): explain takes valid filters only.
                if (BpfProgram.TryCreate(BpfProgram.ParseRaw(File.ReadAllBytes(f)), out _, out _))
                    data.Add($"{dir}/{Path.GetFileName(f)}");
        return data;
    }

    [Theory]
    [MemberData(nameof(PeerFilters))]
    public void A_peer_filter_is_explained_exactly_and_recovered_or_its_problems_are_reported(string file)
    {
        var program = BpfProgram.FromRaw(File.ReadAllBytes(Repo.Path("data", "peers", file)));
        var (exact, points, recovered) = ExplainOracle.Prove(new FilterStack([program]), file);
        Assert.True(exact || recovered.Problems.Length > 0);
        TestContext.Current.SendDiagnosticMessage($"{file}: {(exact ? "recovered exactly" : $"{recovered.Problems.Length} problem(s), e.g. {recovered.Problems[0]}")}; {points} inputs compared");
    }

    [Fact]
    public void A_stack_of_two_profiles_is_explained_with_the_kernel_precedence()
    {
        var docker = PolicyCompiler.Compile(ProfilePolicies.Load("docker-default")).Program;
        var podman = PolicyCompiler.Compile(ProfilePolicies.Load("podman-default")).Program;
        var (exact, points, recovered) = ExplainOracle.Prove(new FilterStack([docker, podman]), "docker over podman");
        Assert.True(exact, string.Join("\n", recovered.Problems.Take(10)));
        Assert.True(points > 10_000);
    }

    /// <summary>Random raw programs: an arch check, then straight-line ALU/X/scratch code and forward jumps to random returns.</summary>
    internal static readonly Gen<Instruction[]> RawPrograms = Gen.Int[0, int.MaxValue].Select(seed =>
    {
        var rng = new Random(seed);
        uint[] rets = [SeccompReturn.SECCOMP_RET_ALLOW, SeccompReturn.SECCOMP_RET_ERRNO | 1, SeccompReturn.SECCOMP_RET_KILL_PROCESS,
            SeccompReturn.SECCOMP_RET_TRAP | 3, SeccompReturn.SECCOMP_RET_LOG, SeccompReturn.SECCOMP_RET_ERRNO | 38];
        uint[] consts = [0, 1, 2, 3, 5, 0x10, 0xff, 0x100, 0x1000, 0x4000_0000, 0x8000_0000, 0xffff_ffff, 0xffff_0000, 59, 257];
        uint K() => rng.Next(3) == 0 ? (uint)rng.Next() : consts[rng.Next(consts.Length)];
        int body = rng.Next(4, 28);
        var code = new List<Instruction>
        {
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 4),
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, rng.Next(2) == 0 ? 0xc000003e : 0x40000003, 1, 0),
            Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_KILL_THREAD),
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),
        };
        var written = new HashSet<uint>();
        int retCount = 4;
        for (int i = 0; i < body; i++)
        {
            int left = body - i; // instructions after this one in the body, then retCount returns
            switch (rng.Next(10))
            {
                case 0: code.Add(Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, (uint)(rng.Next(16) * 4))); break;
                case 1:
                {
                    ushort[] ops = [BPF_ADD, BPF_SUB, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH, BPF_MUL, BPF_DIV];
                    var op = ops[rng.Next(ops.Length)];
                    bool x = rng.Next(4) == 0;
                    uint k = op is BPF_LSH or BPF_RSH ? (uint)rng.Next(32) : op == BPF_DIV ? (uint)rng.Next(1, 9) : K();
                    code.Add(Instruction.Stmt((ushort)(BPF_ALU | op | (x ? BPF_X : BPF_K)), x ? 0 : k));
                    break;
                }
                case 2: code.Add(Instruction.Stmt(rng.Next(2) == 0 ? (ushort)(BPF_LDX | BPF_W | BPF_IMM) : (ushort)(BPF_MISC | BPF_TAX), K())); break;
                case 3:
                {
                    uint m = (uint)rng.Next(4);
                    code.Add(Instruction.Stmt(rng.Next(2) == 0 ? BPF_ST : BPF_STX, m));
                    written.Add(m);
                    break;
                }
                case 4 when written.Count > 0:
                    code.Add(Instruction.Stmt(rng.Next(2) == 0 ? (ushort)(BPF_LD | BPF_MEM) : (ushort)(BPF_LDX | BPF_MEM), written.ElementAt(rng.Next(written.Count))));
                    break;
                case 5: code.Add(Instruction.Stmt(BPF_MISC | BPF_TXA, 0)); break;
                default:
                {
                    ushort[] jops = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET];
                    bool x = rng.Next(5) == 0;
                    int span = Math.Min(255, left - 1 + retCount);
                    code.Add(Instruction.Jump((ushort)(BPF_JMP | jops[rng.Next(4)] | (x ? BPF_X : BPF_K)), x ? 0 : K(), (byte)rng.Next(span + 1), (byte)rng.Next(span + 1)));
                    break;
                }
            }
        }
        for (int i = 0; i < retCount; i++) code.Add(Instruction.Stmt(BPF_RET | BPF_K, rets[rng.Next(rets.Length)]));
        return code.ToArray();
    });

    [Fact]
    public void Random_raw_programs_with_alu_x_scratch_and_jset_are_explained_exactly()
    {
        int programs = 0, exactCount = 0, opaqueCount = 0;
        long points = 0;
        RawPrograms.Sample(code =>
        {
            if (!BpfProgram.TryCreate(code, out var program, out _)) return;
            var stack = new FilterStack([program!]);
            var e = FilterExplainer.Explain(stack);
            points += ExplainOracle.CheckRegions(stack, e);
            var recovered = PolicyRecovery.Recover(e);
            if (recovered.IsExact)
            {
                foreach (var optimize in new[] { true, false })
                    points += ExplainOracle.CheckSameBehaviour(stack, e, new FilterStack([PolicyCompiler.Compile(recovered.Policy!, new CompileOptions { Optimize = optimize }).Program]),
                        $"random program (recovered: default {recovered.Policy!.DefaultAction}, arches {string.Join(",", recovered.Policy.EffectiveArchitectures)}, enosys {string.Join(",", recovered.Policy.EnosysAbove)}, {recovered.Policy.Rules.Length} rules)");
                exactCount++;
            }
            else Assert.NotEmpty(recovered.Problems);
            if (!e.Inexpressible.IsEmpty) opaqueCount++;
            programs++;
        }, iter: 300, threads: 1);
        TestContext.Current.SendDiagnosticMessage($"explain on random raw programs: {programs} valid programs, {exactCount} recovered exactly, {opaqueCount} with inexpressible conditions, {points} inputs compared");
        Assert.True(programs > 50, $"only {programs} valid programs");
    }
}
