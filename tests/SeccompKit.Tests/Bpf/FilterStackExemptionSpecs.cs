using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Tests.Bpf;

/// <summary>
/// Regression for a disagreement the kernel differential tests found (kernel 6.18, x86_64): the kernel
/// never runs the filters for x86_64 uretprobe (335) and uprobe (336) — seccomp_uprobe_exception makes the
/// action cache allow them — so a stack that kills everything still lets them through. Only the native
/// arch is exempt; through int $0x80 (i386) the same numbers are filtered.
/// </summary>
public sealed class FilterStackExemptionSpecs
{
    private const uint X86_64 = 0xc000003e;
    private const uint I386 = 0x40000003;

    private static readonly BpfProgram KillEverything = BpfProgram.Create([
        Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_KILL_PROCESS), // every call: KILL_PROCESS
    ]);

    private static readonly BpfProgram ErrnoFromNr = BpfProgram.Create([
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                             // A = nr
        Instruction.Stmt(BPF_ALU | BPF_OR | BPF_K, SeccompReturn.SECCOMP_RET_ERRNO), // A = ERRNO(nr)
        Instruction.Stmt(BPF_RET | BPF_A, 0),                                      // return A
    ]);

    public static TheoryData<string, int, uint, uint> Cases => new()
    {
        { "x86_64 uretprobe is never filtered", 335, X86_64, SeccompReturn.SECCOMP_RET_ALLOW },
        { "x86_64 uprobe is never filtered", 336, X86_64, SeccompReturn.SECCOMP_RET_ALLOW },
        { "the number before is filtered", 334, X86_64, SeccompReturn.SECCOMP_RET_KILL_PROCESS },
        { "the number after is filtered", 337, X86_64, SeccompReturn.SECCOMP_RET_KILL_PROCESS },
        { "i386 335 is filtered", 335, I386, SeccompReturn.SECCOMP_RET_KILL_PROCESS },
        { "i386 336 is filtered", 336, I386, SeccompReturn.SECCOMP_RET_KILL_PROCESS },
        { "x32-style 335 is filtered", 0x40000000 | 335, X86_64, SeccompReturn.SECCOMP_RET_KILL_PROCESS },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Uretprobe_and_uprobe_bypass_the_filters_on_x86_64_only(string desc, int nr, uint arch, uint expected)
    {
        var stack = FilterStack.FromInstallOrder([ErrnoFromNr, KillEverything]);
        var data = new SeccompData(nr, arch, 0x401000, 1, 2, 3);

        var run = stack.Run(data, trace: true);

        Assert.True(expected == run.Value, desc);
        Assert.Equal(expected, stack.Evaluate(data));
        bool exempt = expected == SeccompReturn.SECCOMP_RET_ALLOW;
        Assert.Equal(exempt, run.ExemptFromFiltering);
        Assert.Equal(exempt, FilterStack.IsExemptFromFiltering(data));
        Assert.Equal(exempt ? -1 : 0, run.WinningFilter); // KILL_PROCESS, the newest, wins otherwise
        // The filters' own verdicts are still traced, newest first.
        Assert.Equal(SeccompReturn.SECCOMP_RET_KILL_PROCESS, run.PerFilter[0].Value);
        Assert.Equal(SeccompReturn.SECCOMP_RET_ERRNO | unchecked((uint)nr), run.PerFilter[1].Value);
    }
}
