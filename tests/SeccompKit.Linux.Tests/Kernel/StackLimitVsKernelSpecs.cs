using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>
/// <see cref="FilterStack"/>'s size rule against the kernel: seccomp_attach_filter refuses a filter with
/// ENOMEM once its length plus (length + 4) for every filter already attached exceeds MAX_INSNS_PER_PATH
/// (32768) — where "length" is the converted eBPF length (<see cref="BpfProgram.KernelLength"/>), not the
/// classic one: this test first showed that. The probe stacks copies of one allow-everything filter until the
/// kernel refuses.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class StackLimitVsKernelSpecs(SeccompProbeFixture probe, ITestOutputHelper output)
{
    private const int ENOMEM = 12;

    /// <summary>len - 1 loads of a constant, then RET ALLOW, so every later install goes through.</summary>
    private static Instruction[] AllowAll(int len) =>
        [.. Enumerable.Repeat(Instruction.Stmt(BPF_LD | BPF_IMM, 0), len - 1), Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW)];

    /// <summary>The largest number of copies FilterStack accepts.</summary>
    private static int ModelLimit(BpfProgram p, int max)
    {
        int n = 0;
        while (n < max)
        {
            try { _ = new FilterStack(Enumerable.Repeat(p, n + 1)); }
            catch (SeccompException) { break; }
            n++;
        }
        return n;
    }

    [Theory]
    // A filler of n classic instructions converts to n + 4 eBPF instructions and costs n + 8 as an older filter.
    [InlineData(4096)] // 7 fit: 4100 + 6 * 4104 = 28724
    [InlineData(4092)] // counting classic lengths, 8 would fit (8 * 4096 - 4 = 32764); the kernel takes 7
    [InlineData(4093)]
    [InlineData(1000)] // 32 fit: 1004 + 31 * 1008 = 32252
    [InlineData(1)]    // 3641 fit: 5 + 3640 * 9 = 32765; classic counting would say 6554
    public void The_kernel_stacks_exactly_as_many_filters_as_the_model_allows(int len)
    {
        var program = BpfProgram.Create(AllowAll(len));
        const uint max = 10_000;
        using var p = probe.Start();
        var (installed, errno) = p.StackLimit(program.Instructions.ToArray(), max);
        int model = ModelLimit(program, (int)max);
        string line = $"stack-limit-vs-kernel: filters of {len} instructions: kernel stacked {installed} then errno {errno}, model {model}";
        KernelModel.ReportCounts(output, line);
        Assert.Equal(ENOMEM, errno);
        Assert.Equal(model, installed);
    }
}
