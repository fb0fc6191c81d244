using System.Diagnostics;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>
/// <see cref="BpfProgram.KernelLength"/> against the kernel. The kernel charges a filter's converted (eBPF)
/// length against MAX_INSNS_PER_PATH, which no interface reports; the probe finds it exactly by installing
/// padding of known charge under the filter and searching for the largest padding the kernel still accepts:
/// accepted ⇔ E + copies × 4104 + (g + 8) ≤ 32768, where a filler of 4096 classic instructions charges 4104
/// as an older filter and a filler of g charges g + 8.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class KernelLengthVsKernelSpecs(SeccompProbeFixture probe, ITestOutputHelper output)
{
    private const int Limit = FilterStack.MaxInstructionsPerPath;

    private static Instruction[] Filler(int n) =>
        [.. Enumerable.Repeat(Instruction.Stmt(BPF_LD | BPF_IMM, 0), n - 1), Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW)];

    /// <summary>The kernel's charge for <paramref name="program"/>, or null if it lies outside the window around <paramref name="guess"/>.</summary>
    private static int? Measure(SeccompProbe p, Instruction[] program, int guess)
    {
        var pad = Filler(4096);
        // Aim the window so that the expected threshold g* sits mid-range.
        int copies = Math.Clamp((Limit - guess - 2048 - 8) / 4104, 0, 7);
        int budget = Limit - copies * 4104 - 8; // accepted ⇔ E + g ≤ budget
        bool Accepted(int g) => p.PaddedInstall(pad, copies, Filler(g), program) == 0;
        if (!Accepted(1) || Accepted(4096)) return null;
        int lo = 1, hi = 4096; // Accepted(lo), !Accepted(hi)
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (Accepted(mid)) lo = mid; else hi = mid;
        }
        return budget - lo;
    }

    [Fact]
    public void The_kernel_charges_exactly_the_converted_length_the_model_computes()
    {
        int seed = ProgramGenerator.SeedFromEnvironment();
        var gen = new ProgramGenerator(seed);
        var programs = new List<(string Name, Instruction[] Code)>
        {
            ("docker-default (libseccomp)", BpfProgram.ParseRaw(File.ReadAllBytes(Path.Combine(probe.RepositoryRoot, "bench", "data", "docker-default.bpf")))),
            ("RET K", Filler(1)),
            ("filler 4096", Filler(4096)),
        };
        programs.AddRange(gen.RandomPrograms(400).Where(g => Validator.Validate(g.Instructions) is null).Take(40).Select(g => (g.Family, g.Instructions)));
        programs.AddRange(gen.JumpBoundaries().Where(g => Validator.Validate(g.Instructions) is null).Take(10).Select(g => (g.Family, g.Instructions)));
        programs.AddRange(gen.Arithmetic().Where(g => Validator.Validate(g.Instructions) is null).Take(15).Select(g => (g.Family, g.Instructions)));
        programs.AddRange(gen.MemoryMazes(200).Where(g => Validator.Validate(g.Instructions) is null).Take(10).Select(g => (g.Family, g.Instructions)));

        var sw = Stopwatch.StartNew();
        using var p = probe.Start();
        var problems = new List<string>();
        foreach (var (name, code) in programs)
        {
            int model = BpfProgram.Create(code).KernelLength;
            int? kernel = Measure(p, code, model);
            if (kernel != model) problems.Add($"{name} ({code.Length} classic instructions): kernel charges {kernel?.ToString() ?? "outside the window"}, model {model}\n{KernelModel.FormatProgram(code)}");
        }
        KernelModel.ReportCounts(output, $"kernel-length-vs-kernel: {programs.Count} programs measured exactly, {problems.Count} mismatches, {sw.Elapsed.TotalSeconds:F1} s");
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(5)));
    }
}
