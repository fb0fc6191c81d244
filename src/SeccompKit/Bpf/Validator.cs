using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>
/// Accepts exactly the programs the kernel accepts for <c>seccomp(SECCOMP_SET_MODE_FILTER)</c>.
/// It follows the kernel's order of checks — <c>bpf_check_basics_ok</c>, <c>bpf_check_classic</c>
/// (opcodes and per-instruction rules, then "last is RET", then <c>check_load_and_stores</c>),
/// then <c>seccomp_check_filter</c> — so the error reported is the first one the kernel hits.
/// </summary>
public static class Validator
{
    /// <summary>Returns null when the kernel would accept the program, otherwise the first rule it breaks.</summary>
    public static ValidationError? Validate(ReadOnlySpan<Instruction> program)
    {
        int flen = program.Length;
        if (flen == 0)
            return new(ValidationRule.Empty, -1, "the program is empty; a seccomp filter needs 1 to 4096 instructions ending in RET");
        if (flen > BPF_MAXINSNS)
            return new(ValidationRule.TooLong, -1, $"the program has {flen} instructions; the kernel allows at most {BPF_MAXINSNS} per filter (split it or stack several filters)");

        // bpf_check_classic: every instruction, in order.
        for (int pc = 0; pc < flen; pc++)
        {
            var ins = program[pc];
            if (!IsClassicOpcode(ins.Code))
                return new(ValidationRule.UnknownOpcode, pc, $"opcode 0x{ins.Code:x4} is not a classic BPF instruction");
            switch (ins.Code)
            {
                case BPF_ALU | BPF_DIV | BPF_K:
                case BPF_ALU | BPF_MOD | BPF_K:
                    if (ins.K == 0)
                        return new(ValidationRule.DivisionByZero, pc, "division by the constant 0 is refused; divide by a non-zero constant");
                    break;
                case BPF_ALU | BPF_LSH | BPF_K:
                case BPF_ALU | BPF_RSH | BPF_K:
                    if (ins.K >= 32)
                        return new(ValidationRule.ShiftOutOfRange, pc, $"shift by the constant {ins.K} is refused; shifts take 0..31");
                    break;
                case BPF_LD | BPF_MEM:
                case BPF_LDX | BPF_MEM:
                case BPF_ST:
                case BPF_STX:
                    if (ins.K >= BPF_MEMWORDS)
                        return new(ValidationRule.MemoryIndexOutOfRange, pc, $"scratch memory index {ins.K} is out of range; M[] has cells 0..15");
                    break;
                case BPF_JMP | BPF_JA:
                    // The kernel compares unsigned: k >= flen - pc - 1 is refused.
                    if (ins.K >= (uint)(flen - pc - 1))
                        return new(ValidationRule.JumpOutOfRange, pc, $"jump by {ins.K} lands at {(ulong)pc + 1 + ins.K}, past the last instruction ({flen - 1})");
                    break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                case BPF_JMP | BPF_JEQ | BPF_X:
                case BPF_JMP | BPF_JGE | BPF_K:
                case BPF_JMP | BPF_JGE | BPF_X:
                case BPF_JMP | BPF_JGT | BPF_K:
                case BPF_JMP | BPF_JGT | BPF_X:
                case BPF_JMP | BPF_JSET | BPF_K:
                case BPF_JMP | BPF_JSET | BPF_X:
                    if (pc + ins.Jt + 1 >= flen || pc + ins.Jf + 1 >= flen)
                        return new(ValidationRule.JumpOutOfRange, pc, $"conditional jump targets {pc + ins.Jt + 1} / {pc + ins.Jf + 1}; both must be at most {flen - 1}");
                    break;
                case BPF_LD | BPF_W | BPF_ABS:
                case BPF_LD | BPF_H | BPF_ABS:
                case BPF_LD | BPF_B | BPF_ABS:
                    if (ins.K >= SKF_AD_OFF && !IsKnownAncillary(ins.K))
                        return new(ValidationRule.UnknownAncillaryLoad, pc, $"load from 0x{ins.K:x8} names no socket ancillary field");
                    break;
            }
        }

        var last = program[flen - 1];
        if (last.Code is not (BPF_RET | BPF_K) and not (BPF_RET | BPF_A))
            return new(ValidationRule.LastNotReturn, flen - 1, "the last instruction must be RET (RET K or RET A); control must never run off the end");

        var mem = CheckLoadAndStores(program);
        if (mem is not null) return mem;

        // seccomp_check_filter: the seccomp subset.
        for (int pc = 0; pc < flen; pc++)
        {
            var ins = program[pc];
            switch (ins.Code)
            {
                case BPF_LD | BPF_W | BPF_ABS:
                    if (ins.K >= SeccompData.Size || (ins.K & 3) != 0)
                        return new(ValidationRule.BadDataOffset, pc, $"LD W ABS offset {ins.K} is outside struct seccomp_data; use a 4-aligned offset below 64 (nr=0, arch=4, ip=8/12, args[i]=16+8i/20+8i)");
                    continue;
                case BPF_LD | BPF_W | BPF_LEN:
                case BPF_LDX | BPF_W | BPF_LEN:
                    continue;
                default:
                    if (!IsSeccompOpcode(ins.Code))
                        return new(ValidationRule.NotAllowedInSeccomp, pc, $"{OpcodeName(ins.Code)} is classic BPF but seccomp refuses it; seccomp allows only 32-bit LD ABS/LEN/IMM/MEM loads, stores, ALU without MOD, jumps, TAX/TXA and RET");
                    continue;
            }
        }
        return null;
    }

    /// <summary>
    /// The kernel's <c>check_load_and_stores</c>, reproduced to the letter: one 16-bit "valid" mask is
    /// carried straight down the program; a jump ANDs it into its targets' masks and resets it to all-ones;
    /// every instruction first ANDs in its own mask. A RET does not reset the mask, so the code after a
    /// RET inherits what was valid before it (stricter than a path-by-path analysis, and the kernel's rule).
    /// </summary>
    private static ValidationError? CheckLoadAndStores(ReadOnlySpan<Instruction> program)
    {
        int flen = program.Length;
        Span<ushort> masks = flen <= 512 ? stackalloc ushort[flen] : new ushort[flen];
        masks.Fill(0xffff);
        ushort memvalid = 0;
        for (int pc = 0; pc < flen; pc++)
        {
            memvalid &= masks[pc];
            var ins = program[pc];
            switch (ins.Code)
            {
                case BPF_ST:
                case BPF_STX:
                    memvalid |= (ushort)(1 << (int)ins.K);
                    break;
                case BPF_LD | BPF_MEM:
                case BPF_LDX | BPF_MEM:
                    if ((memvalid & (1 << (int)ins.K)) == 0)
                        return new(ValidationRule.MemoryReadBeforeWrite, pc, $"M[{ins.K}] may be read before it is written; store to it on every path that reaches this load");
                    break;
                case BPF_JMP | BPF_JA:
                    masks[pc + 1 + (int)ins.K] &= memvalid;
                    memvalid = 0xffff;
                    break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                case BPF_JMP | BPF_JEQ | BPF_X:
                case BPF_JMP | BPF_JGE | BPF_K:
                case BPF_JMP | BPF_JGE | BPF_X:
                case BPF_JMP | BPF_JGT | BPF_K:
                case BPF_JMP | BPF_JGT | BPF_X:
                case BPF_JMP | BPF_JSET | BPF_K:
                case BPF_JMP | BPF_JSET | BPF_X:
                    masks[pc + 1 + ins.Jt] &= memvalid;
                    masks[pc + 1 + ins.Jf] &= memvalid;
                    memvalid = 0xffff;
                    break;
            }
        }
        return null;
    }

    /// <summary>The kernel's <c>chk_code_allowed</c> table: every opcode classic BPF defines.</summary>
    public static bool IsClassicOpcode(ushort code) => code switch
    {
        BPF_ALU | BPF_ADD | BPF_K or BPF_ALU | BPF_ADD | BPF_X or
        BPF_ALU | BPF_SUB | BPF_K or BPF_ALU | BPF_SUB | BPF_X or
        BPF_ALU | BPF_MUL | BPF_K or BPF_ALU | BPF_MUL | BPF_X or
        BPF_ALU | BPF_DIV | BPF_K or BPF_ALU | BPF_DIV | BPF_X or
        BPF_ALU | BPF_MOD | BPF_K or BPF_ALU | BPF_MOD | BPF_X or
        BPF_ALU | BPF_AND | BPF_K or BPF_ALU | BPF_AND | BPF_X or
        BPF_ALU | BPF_OR | BPF_K or BPF_ALU | BPF_OR | BPF_X or
        BPF_ALU | BPF_XOR | BPF_K or BPF_ALU | BPF_XOR | BPF_X or
        BPF_ALU | BPF_LSH | BPF_K or BPF_ALU | BPF_LSH | BPF_X or
        BPF_ALU | BPF_RSH | BPF_K or BPF_ALU | BPF_RSH | BPF_X or
        BPF_ALU | BPF_NEG or
        BPF_LD | BPF_W | BPF_ABS or BPF_LD | BPF_H | BPF_ABS or BPF_LD | BPF_B | BPF_ABS or
        BPF_LD | BPF_W | BPF_LEN or
        BPF_LD | BPF_W | BPF_IND or BPF_LD | BPF_H | BPF_IND or BPF_LD | BPF_B | BPF_IND or
        BPF_LD | BPF_IMM or BPF_LD | BPF_MEM or
        BPF_LDX | BPF_W | BPF_LEN or BPF_LDX | BPF_B | BPF_MSH or BPF_LDX | BPF_IMM or BPF_LDX | BPF_MEM or
        BPF_ST or BPF_STX or
        BPF_MISC | BPF_TAX or BPF_MISC | BPF_TXA or
        BPF_RET | BPF_K or BPF_RET | BPF_A or
        BPF_JMP | BPF_JA or
        BPF_JMP | BPF_JEQ | BPF_K or BPF_JMP | BPF_JEQ | BPF_X or
        BPF_JMP | BPF_JGE | BPF_K or BPF_JMP | BPF_JGE | BPF_X or
        BPF_JMP | BPF_JGT | BPF_K or BPF_JMP | BPF_JGT | BPF_X or
        BPF_JMP | BPF_JSET | BPF_K or BPF_JMP | BPF_JSET | BPF_X => true,
        _ => false,
    };

    /// <summary>The opcodes <c>seccomp_check_filter</c> lets through (LEN loads included; it rewrites them).</summary>
    public static bool IsSeccompOpcode(ushort code) => code switch
    {
        BPF_LD | BPF_W | BPF_ABS or BPF_LD | BPF_W | BPF_LEN or BPF_LDX | BPF_W | BPF_LEN or
        BPF_RET | BPF_K or BPF_RET | BPF_A or
        BPF_ALU | BPF_ADD | BPF_K or BPF_ALU | BPF_ADD | BPF_X or
        BPF_ALU | BPF_SUB | BPF_K or BPF_ALU | BPF_SUB | BPF_X or
        BPF_ALU | BPF_MUL | BPF_K or BPF_ALU | BPF_MUL | BPF_X or
        BPF_ALU | BPF_DIV | BPF_K or BPF_ALU | BPF_DIV | BPF_X or
        BPF_ALU | BPF_AND | BPF_K or BPF_ALU | BPF_AND | BPF_X or
        BPF_ALU | BPF_OR | BPF_K or BPF_ALU | BPF_OR | BPF_X or
        BPF_ALU | BPF_XOR | BPF_K or BPF_ALU | BPF_XOR | BPF_X or
        BPF_ALU | BPF_LSH | BPF_K or BPF_ALU | BPF_LSH | BPF_X or
        BPF_ALU | BPF_RSH | BPF_K or BPF_ALU | BPF_RSH | BPF_X or
        BPF_ALU | BPF_NEG or
        BPF_LD | BPF_IMM or BPF_LDX | BPF_IMM or
        BPF_MISC | BPF_TAX or BPF_MISC | BPF_TXA or
        BPF_LD | BPF_MEM or BPF_LDX | BPF_MEM or BPF_ST or BPF_STX or
        BPF_JMP | BPF_JA or
        BPF_JMP | BPF_JEQ | BPF_K or BPF_JMP | BPF_JEQ | BPF_X or
        BPF_JMP | BPF_JGE | BPF_K or BPF_JMP | BPF_JGE | BPF_X or
        BPF_JMP | BPF_JGT | BPF_K or BPF_JMP | BPF_JGT | BPF_X or
        BPF_JMP | BPF_JSET | BPF_K or BPF_JMP | BPF_JSET | BPF_X => true,
        _ => false,
    };

    /// <summary>
    /// Socket ancillary loads the kernel knows (<c>bpf_anc_helper</c>, <c>SKF_AD_OFF + SKF_AD_*</c>, 0..64
    /// step 4 in <c>include/uapi/linux/filter.h</c>). They pass <c>bpf_check_classic</c> but seccomp
    /// refuses them anyway, because k ≥ 64.
    /// </summary>
    private static bool IsKnownAncillary(uint k)
    {
        uint off = k - SKF_AD_OFF;
        // SKF_AD_PROTOCOL 0 ... SKF_AD_RANDOM 56, SKF_AD_VLAN_TPID 60 (SKF_AD_MAX 64).
        return off < 64 && (off & 3) == 0;
    }

    /// <summary>A readable name for any opcode, e.g. <c>LD|H|ABS</c>, for error messages.</summary>
    public static string OpcodeName(ushort code)
    {
        string cls = BPF_CLASS(code) switch
        {
            BPF_LD => "LD", BPF_LDX => "LDX", BPF_ST => "ST", BPF_STX => "STX",
            BPF_ALU => "ALU", BPF_JMP => "JMP", BPF_RET => "RET", _ => "MISC",
        };
        return BPF_CLASS(code) switch
        {
            BPF_LD or BPF_LDX => $"{cls}|{SizeName(code)}|{ModeName(code)} (0x{code:x2})",
            BPF_ALU => $"ALU|{AluName(code)}|{(BPF_SRC(code) == BPF_X ? "X" : "K")} (0x{code:x2})",
            _ => $"{cls} (0x{code:x2})",
        };
        static string SizeName(ushort c) => BPF_SIZE(c) switch { BPF_W => "W", BPF_H => "H", BPF_B => "B", _ => "DW" };
        static string ModeName(ushort c) => BPF_MODE(c) switch
        {
            BPF_IMM => "IMM", BPF_ABS => "ABS", BPF_IND => "IND", BPF_MEM => "MEM", BPF_LEN => "LEN", BPF_MSH => "MSH", _ => $"mode 0x{BPF_MODE(c):x2}",
        };
        static string AluName(ushort c) => BPF_OP(c) switch
        {
            BPF_ADD => "ADD", BPF_SUB => "SUB", BPF_MUL => "MUL", BPF_DIV => "DIV", BPF_OR => "OR", BPF_AND => "AND",
            BPF_LSH => "LSH", BPF_RSH => "RSH", BPF_NEG => "NEG", BPF_MOD => "MOD", BPF_XOR => "XOR", _ => $"op 0x{BPF_OP(c):x2}",
        };
    }
}
