using System.Text;
using SeccompKit.Bpf;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>
/// How the differential tests turn a probed call into our model's input and the kernel's verdict into
/// our model's output, plus the report helpers (mismatch printing, counts file).
/// </summary>
public static class KernelModel
{
    /// <summary>AUDIT_ARCH_X86_64.</summary>
    public const uint AuditArchX86_64 = 0xc000003e;

    /// <summary>AUDIT_ARCH_I386.</summary>
    public const uint AuditArchI386 = 0x40000003;

    /// <summary>The signal a KILL_THREAD / KILL_PROCESS (or unknown action) ends the child with.</summary>
    public const int SIGSYS = 31;

    /// <summary>
    /// The <c>struct seccomp_data</c> the kernel builds for a probed call, as measured on this machine
    /// (kernel 6.18, x86_64, CONFIG_IA32_EMULATION=y):
    /// <list type="bullet">
    /// <item><c>nr</c> is the low 32 bits of rax read as a signed int, for both ABIs: the 64-bit entry
    /// sign-extends eax (<c>movslq %eax</c>), and <c>do_int80_emulation</c> keeps
    /// <c>regs->ax &amp; GENMASK(31, 0)</c>; garbage in the upper half of rax is ignored.</item>
    /// <item><c>arch</c> is AUDIT_ARCH_X86_64 for <c>syscall</c> and AUDIT_ARCH_I386 for
    /// <c>int $0x80</c> (TS_COMPAT), whatever the number (x32-style numbers keep X86_64).</item>
    /// <item><c>instruction_pointer</c> is the address right after the <c>syscall</c> / <c>int $0x80</c>
    /// instruction.</item>
    /// <item><c>args</c>: for <c>syscall</c> rdi, rsi, rdx, r10, r8, r9; for <c>int $0x80</c> rbx, rcx,
    /// rdx, rsi, rdi, rbp — in both cases the full 64-bit registers. The int 0x80 path does NOT
    /// zero-extend (nor sign-extend) ebx..ebp: <c>syscall_get_arguments</c> copies <c>regs->bx</c>...
    /// as saved, so a 64-bit caller that leaves garbage in the upper halves shows it to the filter
    /// (see <see cref="InterpreterVsKernelSpecs.Int80_arguments_are_the_full_64_bit_registers"/>).
    /// A 32-bit process cannot set the upper halves, so there they are 0.</item>
    /// </list>
    /// </summary>
    public static SeccompData ToSeccompData(ProbeCall call, ProbeAddresses at) =>
        call.Abi == ProbeAbi.Syscall64
            ? new SeccompData(unchecked((int)(uint)call.Rax), AuditArchX86_64, at.Syscall64, call.Args)
            : new SeccompData(unchecked((int)(uint)call.Rax), AuditArchI386, at.Int80, call.Args);

    /// <summary>
    /// What the child must see when the filters return <paramref name="value"/>: ERRNO returns
    /// <c>-min(data, 4095)</c> in rax (sign-extended for int 0x80 too, measured); ERRNO(0) returns 0;
    /// KILL_THREAD, KILL_PROCESS and unknown actions end the single-threaded child by SIGSYS.
    /// </summary>
    public static ProbeOutcome Expected(uint value)
    {
        var r = new SeccompResult(value);
        return r.Action switch
        {
            SeccompAction.Errno => new ProbeOutcome(ProbeOutcomeKind.Returned, 0, -r.EffectiveErrno),
            SeccompAction.KillThread or SeccompAction.KillProcess => new ProbeOutcome(ProbeOutcomeKind.Killed, SIGSYS, 0),
            _ => throw new InvalidOperationException(
                $"the generated filters returned {r} (0x{value:x8}): that would run a real system call with random arguments; the generator must only produce ERRNO and KILL exits"),
        };
    }

    /// <summary>The program as C initialiser lines, <c>{ code, jt, jf, k }</c>, at most <paramref name="max"/> of them.</summary>
    public static string FormatProgram(IReadOnlyList<Instruction> program, int max = 60)
    {
        var sb = new StringBuilder();
        for (int pc = 0; pc < program.Count && pc < max; pc++)
            sb.Append("    /* ").Append(pc.ToString().PadLeft(4)).Append(" */ ").Append(program[pc]).Append(",\n");
        if (program.Count > max) sb.Append($"    ... ({program.Count - max} more)\n");
        if (program.Count == 0) sb.Append("    (empty)\n");
        return sb.ToString();
    }

    /// <summary>
    /// Writes a counts line to the test output and appends it to the file named by
    /// <c>SECCOMPKIT_COUNTS_FILE</c>, if set (<see cref="TestKit.CountsFile"/>).
    /// </summary>
    public static void ReportCounts(ITestOutputHelper output, string line)
    {
        output.WriteLine(line);
        TestKit.CountsFile.Append(line);
    }
}
