using System.Diagnostics;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>
/// <see cref="Validator"/> against the real kernel: every generated program is handed to
/// seccomp(SECCOMP_SET_MODE_FILTER) in a child of native/seccomp-probe and to
/// <see cref="Validator.Validate"/>; both must accept or refuse it.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class ValidatorVsKernelSpecs(SeccompProbeFixture probe, ITestOutputHelper output)
{
    private const int EINVAL = 22;

    [Fact]
    public void The_validator_accepts_exactly_the_programs_the_kernel_accepts()
    {
        int seed = ProgramGenerator.SeedFromEnvironment();
        output.WriteLine($"seed 0x{seed:x} (set SECCOMPKIT_KERNEL_SEED=0x{seed:x} to reproduce)");
        var gen = new ProgramGenerator(seed);
        var programs = new List<GeneratedProgram>();
        programs.AddRange(gen.OpcodeSweep());
        programs.AddRange(gen.LoadOffsets());
        programs.AddRange(gen.JumpBoundaries());
        programs.AddRange(gen.Arithmetic());
        programs.AddRange(gen.MemoryRules());
        programs.AddRange(gen.Lengths());
        programs.AddRange(gen.MemoryMazes(6000));
        programs.AddRange(gen.RandomPrograms(8000));
        programs.AddRange(gen.Mutations(10000));

        var sw = Stopwatch.StartNew();
        var kernel = probe.ValidateInParallel(programs.Select(p => p.Instructions).ToList(), Environment.ProcessorCount);
        var kernelTime = sw.Elapsed;

        int accepted = 0, refused = 0, mismatches = 0, notEinval = 0;
        var families = new SortedDictionary<string, (int Total, int Accepted)>(StringComparer.Ordinal);
        for (int i = 0; i < programs.Count; i++)
        {
            var p = programs[i];
            var ours = Validator.Validate(p.Instructions);
            bool kernelAccepts = kernel[i] == 0;
            if (kernelAccepts) accepted++; else refused++;
            if (!kernelAccepts && kernel[i] != EINVAL) notEinval++;
            families.TryGetValue(p.Family, out var f);
            families[p.Family] = (f.Total + 1, f.Accepted + (kernelAccepts ? 1 : 0));
            if (kernelAccepts == (ours is null)) continue;
            if (++mismatches <= 5)
                output.WriteLine(
                    $"MISMATCH #{mismatches} ({p.Family}, {p.Instructions.Length} instructions): kernel {(kernelAccepts ? "accepts" : $"refuses (errno {kernel[i]})")}, " +
                    $"Validator {(ours is null ? "accepts" : $"refuses: {ours}")}\n{KernelModel.FormatProgram(p.Instructions)}");
        }

        foreach (var (family, (total, acc)) in families)
            output.WriteLine($"  {family,-22} {total,6} programs, {acc,6} accepted");
        output.WriteLine($"kernel time {kernelTime.TotalSeconds:F1} s over {Environment.ProcessorCount} helper(s)");
        KernelModel.ReportCounts(output,
            $"validator-vs-kernel: {programs.Count} programs ({accepted} accepted, {refused} refused), {mismatches} mismatches");

        Assert.Equal(0, mismatches);
        Assert.Equal(0, notEinval); // every refusal the validator models is EINVAL
        Assert.True(programs.Count >= 20_000, $"only {programs.Count} programs were generated");
        Assert.True(accepted >= 5_000 && refused >= 5_000, $"the mix is lopsided: {accepted} accepted, {refused} refused");
    }

    [Fact]
    public void A_RET_does_not_reset_the_scratch_memory_mask()
    {
        // pc0 JEQ jt=0 jf=2; pc1 ST M[0]; pc2 JA 1; pc3 RET K; pc4 LD M[0]; pc5 RET A.
        // Every path to pc4 stores M[0] first, but check_load_and_stores carries the mask of pc3 (from
        // the JEQ's false edge: nothing written) straight past the RET into pc4, so the kernel refuses.
        Instruction[] program =
        [
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
            Instruction.Stmt(BPF_ST, 0),
            Instruction.Stmt(BPF_JMP | BPF_JA, 1),
            Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ERRNO | 1),
            Instruction.Stmt(BPF_LD | BPF_MEM, 0),
            Instruction.Stmt(BPF_RET | BPF_A, 0),
        ];
        using var p = probe.Start();
        var kernel = p.Validate([program]);
        var ours = Validator.Validate(program);

        KernelModel.ReportCounts(output, $"validator-vs-kernel memory quirk: 1 program (kernel errno {kernel[0]}), {(kernel[0] == EINVAL && ours is not null ? 0 : 1)} mismatches");
        Assert.Equal(EINVAL, kernel[0]);
        Assert.NotNull(ours);
        Assert.Equal(ValidationRule.MemoryReadBeforeWrite, ours.Rule);
        Assert.Equal(4, ours.Pc);
    }
}
