using SeccompKit.Bpf;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Analysis.Graph;

/// <summary>
/// The label of a conditional edge: the test in seccomp terms, from what A holds at the jump. A syscall number is
/// named only under the arch every path to the jump has checked (the same number is <c>read</c> on x86_64 and
/// <c>restart_syscall</c> on x86); an argument half is named by the byte order of the checked arches, as
/// <c>disasm</c> names loads.
/// </summary>
internal static class EdgeLabels
{
    public static string? Of(Instruction ins, EdgeKind kind, PcFacts facts, IBpfSymbols? symbols)
    {
        if (BPF_CLASS(ins.Code) != BPF_JMP || BPF_OP(ins.Code) == BPF_JA) return null;
        if (kind == EdgeKind.Both) return "either way";
        bool taken = kind == EdgeKind.True;
        uint op = BPF_OP(ins.Code);
        // The false side of == and & only says "not that": the dashed style shows it, a label would repeat the test.
        if (!taken && op is BPF_JEQ or BPF_JSET) return null;
        bool isX = BPF_SRC(ins.Code) == BPF_X;
        string operand = isX ? "X" : Operand(ins.K, facts, symbols);
        bool named = !isX && operand != Disassembler.Number(ins.K);
        string relation = (op, taken) switch
        {
            (BPF_JGT, true) => "> ",
            (BPF_JGT, false) => "≤ ",
            (BPF_JGE, true) => "≥ ",
            (BPF_JGE, false) => "< ",
            (BPF_JSET, _) => "& ",
            _ => "== ",
        };
        switch (facts.Content)
        {
            case AccumulatorContent.SyscallNumber:
                // "read" alone on the == edge: the commonest label of a filter, kept short. A number stays "nr == 3":
                // without a checked arch it names no syscall.
                return op == BPF_JEQ && named ? operand : "nr " + relation + operand;
            case AccumulatorContent.Arch:
                return op == BPF_JEQ && named ? operand : "arch " + relation + operand;
            case AccumulatorContent.ArgLow:
                return $"args[{facts.ArgIndex}] " + relation + operand;
            case AccumulatorContent.ArgHigh:
                return $"args[{facts.ArgIndex}] >> 32 " + relation + operand;
            case AccumulatorContent.InstructionPointerLow:
                return "instruction_pointer " + relation + operand;
            case AccumulatorContent.InstructionPointerHigh:
                return "instruction_pointer >> 32 " + relation + operand;
            default:
                return "A " + relation + operand;
        }
    }

    /// <summary>The arch's short name (<c>x86_64</c>, <c>i386</c>, <c>s390x</c>): AUDIT_ARCH_ dropped, lower case.</summary>
    public static string ArchName(uint arch, IBpfSymbols? symbols) =>
        symbols is not null && symbols.TryGetArchName(arch, out var name)
            ? (name.StartsWith("AUDIT_ARCH_", StringComparison.Ordinal) ? name["AUDIT_ARCH_".Length..] : name).ToLowerInvariant()
            : Disassembler.Number(arch);

    private static string Operand(uint k, PcFacts facts, IBpfSymbols? symbols)
    {
        if (!facts.Reachable || symbols is null) return Disassembler.Number(k);
        if (facts.Content == AccumulatorContent.Arch && symbols.TryGetArchName(k, out _)) return ArchName(k, symbols);
        if (facts.Content == AccumulatorContent.SyscallNumber && facts.KnownArch is uint arch)
        {
            // x32 shares AUDIT_ARCH_X86_64 and tells its calls by the x32 bit in nr (nr -1 stays x86_64's, as
            // FilterExplainer.NumberDomain has it): name them from x32's table, marked, since the names are x86_64's too.
            if (arch == Architecture.X86_64.AuditArch && k >= Architecture.X32SyscallBit && k != uint.MaxValue)
                return Architecture.X32.Syscalls.TryGetName(unchecked((int)k), out var x32) ? "x32 " + x32 : Disassembler.Number(k);
            if (symbols.TryGetSyscallName(arch, unchecked((int)k), out var sys)) return sys;
        }
        return Disassembler.Number(k);
    }
}
