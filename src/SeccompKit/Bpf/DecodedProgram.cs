using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>
/// The dense operation index of a pre-decoded instruction: one value per seccomp opcode, numbered from 0 so
/// the fast interpreter's switch compiles to a jump table. Internal to <see cref="DecodedProgram"/>.
/// </summary>
internal enum DecodedOp : int
{
    LdAbs, LdLen, LdxLen, LdImm, LdxImm, LdMem, LdxMem, St, Stx, Tax, Txa,
    AddK, AddX, SubK, SubX, MulK, MulX, DivK, DivX, AndK, AndX, OrK, OrX, XorK, XorX,
    LshK, LshX, RshK, RshX, Neg,
    Ja, JeqK, JeqKFall, JneKFall, JeqX, JgtK, JgtX, JgeK, JgeX, JsetK, JsetX,
    RetK, RetA,
}

/// <summary>
/// One pre-decoded instruction (16 bytes): a dense <see cref="DecodedOp"/>, the operand, and for jumps the
/// absolute pcs of both successors (<see cref="True"/> for JA). For LD W ABS the operand is the word index
/// (offset / 4), for memory operations the cell index; shifts by K keep K (validated below 32).
/// </summary>
internal readonly struct DecodedInstruction(DecodedOp op, uint k, int @true, int @false)
{
    public readonly DecodedOp Op = op;
    public readonly uint K = k;
    public readonly int True = @true;
    public readonly int False = @false;
}

/// <summary>
/// A validated program decoded once for <see cref="Interpreter.Evaluate"/>: relative jump offsets resolved to
/// absolute targets, sparse 16-bit opcodes mapped to <see cref="DecodedOp"/>. Built lazily by
/// <see cref="BpfProgram"/> and shared by every thread (it is immutable).
/// </summary>
internal static class DecodedProgram
{
    public static DecodedInstruction[] Decode(ReadOnlySpan<Instruction> program)
    {
        var result = new DecodedInstruction[program.Length];
        for (int pc = 0; pc < program.Length; pc++)
        {
            var ins = program[pc];
            int next = pc + 1;
            result[pc] = ins.Code switch
            {
                BPF_LD | BPF_W | BPF_ABS => new(DecodedOp.LdAbs, ins.K >> 2, 0, 0),
                BPF_LD | BPF_W | BPF_LEN => new(DecodedOp.LdLen, 0, 0, 0),
                BPF_LDX | BPF_W | BPF_LEN => new(DecodedOp.LdxLen, 0, 0, 0),
                BPF_LD | BPF_IMM => new(DecodedOp.LdImm, ins.K, 0, 0),
                BPF_LDX | BPF_IMM => new(DecodedOp.LdxImm, ins.K, 0, 0),
                BPF_LD | BPF_MEM => new(DecodedOp.LdMem, ins.K, 0, 0),
                BPF_LDX | BPF_MEM => new(DecodedOp.LdxMem, ins.K, 0, 0),
                BPF_ST => new(DecodedOp.St, ins.K, 0, 0),
                BPF_STX => new(DecodedOp.Stx, ins.K, 0, 0),
                BPF_MISC | BPF_TAX => new(DecodedOp.Tax, 0, 0, 0),
                BPF_MISC | BPF_TXA => new(DecodedOp.Txa, 0, 0, 0),
                BPF_ALU | BPF_ADD | BPF_K => new(DecodedOp.AddK, ins.K, 0, 0),
                BPF_ALU | BPF_ADD | BPF_X => new(DecodedOp.AddX, 0, 0, 0),
                BPF_ALU | BPF_SUB | BPF_K => new(DecodedOp.SubK, ins.K, 0, 0),
                BPF_ALU | BPF_SUB | BPF_X => new(DecodedOp.SubX, 0, 0, 0),
                BPF_ALU | BPF_MUL | BPF_K => new(DecodedOp.MulK, ins.K, 0, 0),
                BPF_ALU | BPF_MUL | BPF_X => new(DecodedOp.MulX, 0, 0, 0),
                BPF_ALU | BPF_DIV | BPF_K => new(DecodedOp.DivK, ins.K, 0, 0),
                BPF_ALU | BPF_DIV | BPF_X => new(DecodedOp.DivX, 0, 0, 0),
                BPF_ALU | BPF_AND | BPF_K => new(DecodedOp.AndK, ins.K, 0, 0),
                BPF_ALU | BPF_AND | BPF_X => new(DecodedOp.AndX, 0, 0, 0),
                BPF_ALU | BPF_OR | BPF_K => new(DecodedOp.OrK, ins.K, 0, 0),
                BPF_ALU | BPF_OR | BPF_X => new(DecodedOp.OrX, 0, 0, 0),
                BPF_ALU | BPF_XOR | BPF_K => new(DecodedOp.XorK, ins.K, 0, 0),
                BPF_ALU | BPF_XOR | BPF_X => new(DecodedOp.XorX, 0, 0, 0),
                BPF_ALU | BPF_LSH | BPF_K => new(DecodedOp.LshK, ins.K, 0, 0),
                BPF_ALU | BPF_LSH | BPF_X => new(DecodedOp.LshX, 0, 0, 0),
                BPF_ALU | BPF_RSH | BPF_K => new(DecodedOp.RshK, ins.K, 0, 0),
                BPF_ALU | BPF_RSH | BPF_X => new(DecodedOp.RshX, 0, 0, 0),
                BPF_ALU | BPF_NEG => new(DecodedOp.Neg, 0, 0, 0),
                BPF_JMP | BPF_JA => new(DecodedOp.Ja, 0, (int)Math.Min((long)next + ins.K, int.MaxValue), 0),
                BPF_JMP | BPF_JEQ | BPF_K => new(DecodedOp.JeqK, ins.K, next + ins.Jt, next + ins.Jf),
                BPF_JMP | BPF_JEQ | BPF_X => new(DecodedOp.JeqX, 0, next + ins.Jt, next + ins.Jf),
                BPF_JMP | BPF_JGT | BPF_K => new(DecodedOp.JgtK, ins.K, next + ins.Jt, next + ins.Jf),
                BPF_JMP | BPF_JGT | BPF_X => new(DecodedOp.JgtX, 0, next + ins.Jt, next + ins.Jf),
                BPF_JMP | BPF_JGE | BPF_K => new(DecodedOp.JgeK, ins.K, next + ins.Jt, next + ins.Jf),
                BPF_JMP | BPF_JGE | BPF_X => new(DecodedOp.JgeX, 0, next + ins.Jt, next + ins.Jf),
                BPF_JMP | BPF_JSET | BPF_K => new(DecodedOp.JsetK, ins.K, next + ins.Jt, next + ins.Jf),
                BPF_JMP | BPF_JSET | BPF_X => new(DecodedOp.JsetX, 0, next + ins.Jt, next + ins.Jf),
                BPF_RET | BPF_K => new(DecodedOp.RetK, ins.K, 0, 0),
                BPF_RET | BPF_A => new(DecodedOp.RetA, 0, 0, 0),
                _ => throw new InvalidOperationException($"pc {pc}: opcode 0x{ins.Code:x4} reached the decoder; BpfProgram.Create must have refused it"),
            };
        }
        // The common shape of libseccomp's output: a JEQ K that falls through on one side. Dedicated operations
        // let the hot loop step pc by one on that side instead of loading a target.
        for (int pc = 0; pc < result.Length; pc++)
        {
            var d = result[pc];
            if (d.Op != DecodedOp.JeqK) continue;
            if (d.False == pc + 1) result[pc] = new(DecodedOp.JeqKFall, d.K, d.True, d.False);
            else if (d.True == pc + 1) result[pc] = new(DecodedOp.JneKFall, d.K, d.True, d.False);
        }
        CheckBounds(result);
        return result;
    }

    /// <summary>
    /// Re-checks, on the decoded form, the invariants the fast interpreter indexes by without bounds checks:
    /// the last instruction is a RET (so pc + 1 after any other stays inside), every jump target is inside,
    /// LD W ABS reads word 0..15 and memory operations use cell 0..15. The validator already guaranteed all
    /// of it; this keeps the unchecked loop safe even if that ever changed.
    /// </summary>
    private static void CheckBounds(DecodedInstruction[] code)
    {
        int n = code.Length;
        if (n == 0 || code[n - 1].Op is not (DecodedOp.RetK or DecodedOp.RetA))
            throw new InvalidOperationException("a decoded program must end in RET");
        for (int pc = 0; pc < n; pc++)
        {
            var ins = code[pc];
            bool ok = ins.Op switch
            {
                DecodedOp.Ja => (uint)ins.True < (uint)n,
                DecodedOp.JeqK or DecodedOp.JeqKFall or DecodedOp.JneKFall or DecodedOp.JeqX or DecodedOp.JgtK or DecodedOp.JgtX or DecodedOp.JgeK or DecodedOp.JgeX
                    or DecodedOp.JsetK or DecodedOp.JsetX => (uint)ins.True < (uint)n && (uint)ins.False < (uint)n,
                DecodedOp.LdAbs or DecodedOp.LdMem or DecodedOp.LdxMem or DecodedOp.St or DecodedOp.Stx => ins.K < 16,
                _ => true,
            };
            if (!ok) throw new InvalidOperationException($"pc {pc}: decoded {ins.Op} is out of bounds; BpfProgram.Create must have refused it");
        }
    }
}
