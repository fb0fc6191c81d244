using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>What register A is known to hold at an instruction.</summary>
public enum AccumulatorContent
{
    /// <summary>Nothing known (a computed value, or paths disagree).</summary>
    Unknown,
    /// <summary><c>seccomp_data.nr</c>.</summary>
    SyscallNumber,
    /// <summary><c>seccomp_data.arch</c>.</summary>
    Arch,
    /// <summary>Low half of <c>instruction_pointer</c>.</summary>
    InstructionPointerLow,
    /// <summary>High half of <c>instruction_pointer</c>.</summary>
    InstructionPointerHigh,
    /// <summary>Low half of an argument.</summary>
    ArgLow,
    /// <summary>High half of an argument.</summary>
    ArgHigh,
}

/// <summary>The facts known on entry to one instruction, on every path that reaches it.</summary>
/// <param name="Reachable">False when no path from pc 0 reaches the instruction.</param>
/// <param name="Content">What A holds.</param>
/// <param name="ArgIndex">For <see cref="AccumulatorContent.ArgLow"/>/<see cref="AccumulatorContent.ArgHigh"/>: which argument.</param>
/// <param name="KnownArch">The AUDIT_ARCH value established by an earlier <c>arch == k</c> test on every path, if any.</param>
/// <param name="LittleEndian">
/// The byte order of the arches checked on the paths to the instruction: true when every path checked a little-endian
/// arch, false when every path checked a big-endian one (s390 and s390x paths joining: false, though
/// <paramref name="KnownArch"/> is null there), null when some path checked none or the orders differ.
/// </param>
public readonly record struct PcFacts(bool Reachable, AccumulatorContent Content, int ArgIndex, uint? KnownArch, bool? LittleEndian = null);

/// <summary>
/// A forward data-flow pass over a program (jumps only go forward, so one pass in pc order suffices):
/// for each pc, what A holds and which arch the program has already checked. The disassembler uses it to
/// print syscall names where the program compares the syscall number, and the assembler runs the same pass
/// to read those names back, so a listing always assembles to the same bytes.
/// </summary>
public static class ProgramAnalysis
{
    /// <summary>Analyses any instruction sequence (jump targets out of range are ignored).</summary>
    public static PcFacts[] Analyze(ReadOnlySpan<Instruction> program)
    {
        int n = program.Length;
        var facts = new PcFacts[n];
        var has = new bool[n];
        if (n == 0) return facts;
        facts[0] = new PcFacts(true, AccumulatorContent.Unknown, 0, null);
        has[0] = true;
        for (int pc = 0; pc < n; pc++)
        {
            if (!has[pc]) { facts[pc] = default; continue; }
            var f = facts[pc];
            var ins = program[pc];
            var after = f;
            switch (BPF_CLASS(ins.Code))
            {
                case BPF_RET:
                    continue;
                case BPF_JMP:
                    if (BPF_OP(ins.Code) == BPF_JA)
                    {
                        Flow(pc + 1 + (long)ins.K, f);
                    }
                    else
                    {
                        var taken = f;
                        if (ins.Code == (BPF_JMP | BPF_JEQ | BPF_K) && f.Content == AccumulatorContent.Arch)
                            taken = f with { KnownArch = ins.K, LittleEndian = SeccompData.IsLittleEndianArch(ins.K) };
                        Flow(pc + 1 + ins.Jt, taken);
                        Flow(pc + 1 + ins.Jf, f);
                    }
                    continue;
                case BPF_LD:
                    after = ins.Code == (BPF_LD | BPF_W | BPF_ABS) ? f with { Content = ContentOf(ins.K, f.LittleEndian, out int arg), ArgIndex = arg } : f with { Content = AccumulatorContent.Unknown, ArgIndex = 0 };
                    break;
                case BPF_ALU:
                case BPF_MISC when ins.Code == (BPF_MISC | BPF_TXA):
                    after = f with { Content = AccumulatorContent.Unknown, ArgIndex = 0 };
                    break;
            }
            Flow(pc + 1, after);
        }
        return facts;

        void Flow(long target, PcFacts incoming)
        {
            if (target < 0 || target >= n) return;
            int t = (int)target;
            if (!has[t]) { facts[t] = incoming; has[t] = true; return; }
            var cur = facts[t];
            bool sameContent = cur.Content == incoming.Content && cur.ArgIndex == incoming.ArgIndex;
            facts[t] = new PcFacts(true,
                sameContent ? cur.Content : AccumulatorContent.Unknown,
                sameContent ? cur.ArgIndex : 0,
                cur.KnownArch == incoming.KnownArch ? cur.KnownArch : null,
                cur.LittleEndian == incoming.LittleEndian ? cur.LittleEndian : null);
        }
    }

    /// <summary>
    /// What a load of offset <paramref name="k"/> puts in A. Which half of a 64-bit field an offset holds is the
    /// checked ABIs' byte order (<see cref="SeccompData.IsLittleEndianArch"/>, <see cref="PcFacts.LittleEndian"/>): the
    /// first word is the low half on little-endian ABIs and the high half on big-endian ones. Where no path-wide
    /// byte order is known the halves are named as on a little-endian ABI (x86_64, aarch64), as the disassembler does.
    /// </summary>
    private static AccumulatorContent ContentOf(uint k, bool? littleEndian, out int arg)
    {
        arg = 0;
        if (k == SeccompData.OffsetNr) return AccumulatorContent.SyscallNumber;
        if (k == SeccompData.OffsetArch) return AccumulatorContent.Arch;
        if (k < SeccompData.OffsetInstructionPointer || k >= SeccompData.Size || (k & 3) != 0) return AccumulatorContent.Unknown;
        bool firstWord = (k & 4) == 0;
        bool low = littleEndian != false ? firstWord : !firstWord;
        if (k < SeccompData.OffsetArgs)
            return low ? AccumulatorContent.InstructionPointerLow : AccumulatorContent.InstructionPointerHigh;
        arg = (int)(k - SeccompData.OffsetArgs) / 8;
        return low ? AccumulatorContent.ArgLow : AccumulatorContent.ArgHigh;
    }
}
