using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>What one run of a filter produced.</summary>
/// <param name="Value">The 32-bit value the program returned.</param>
/// <param name="Executed">How many instructions ran, the final RET included.</param>
/// <param name="Path">The pcs executed in order (empty unless a trace was asked for).</param>
/// <param name="DivisionByZero">True when a <c>DIV X</c> with X == 0 ended the run (the kernel then returns 0).</param>
public sealed record ExecutionResult(uint Value, int Executed, ImmutableArray<int> Path, bool DivisionByZero)
{
    /// <summary>The kernel's reading of <see cref="Value"/>.</summary>
    public SeccompResult Result => new(Value);
}

/// <summary>
/// Runs a validated program on <see cref="SeccompData"/> exactly as the kernel does: A and X are 32-bit and
/// start at 0 (<c>bpf_convert_filter</c> clears both first), comparisons are unsigned, arithmetic wraps,
/// <c>DIV X</c> with X == 0 makes the filter return 0, and shifts by X use only its low 5 bits (the
/// interpreter masks them, <c>kernel/bpf/core.c</c>; the x86 JIT's <c>shl/shr %cl</c> does the same).
/// LEN loads yield 64 (<c>seccomp_check_filter</c> rewrites them to that constant).
/// </summary>
public static class Interpreter
{
    /// <summary>Runs the program and returns value and instruction count (no path).</summary>
    public static ExecutionResult Run(BpfProgram program, SeccompData data) => Run(program, data, trace: false);

    /// <summary>Runs the program; with <paramref name="trace"/> the path of pcs is recorded.</summary>
    public static ExecutionResult Run(BpfProgram program, SeccompData data, bool trace)
    {
        var path = trace ? ImmutableArray.CreateBuilder<int>() : null;
        uint value = Execute(program.Instructions.AsSpan(), data, path, out int executed, out bool div0);
        return new ExecutionResult(value, executed, path?.ToImmutable() ?? ImmutableArray<int>.Empty, div0);
    }

    /// <summary>
    /// The fast path: only the return value, equal to <c>Run(program, data).Value</c>. It runs the program's
    /// pre-decoded form (decoded once on first use, cached on the immutable <see cref="BpfProgram"/>, safe
    /// to share between threads) over the input's 16 words read once, and counts and traces nothing.
    /// </summary>
    public static uint Evaluate(BpfProgram program, SeccompData data)
    {
        Span<uint> words = stackalloc uint[SeccompData.Size / 4];
        data.WriteWords(words);
        return EvaluateDecoded(program.Decoded, words);
    }

    /// <summary>
    /// Runs a decoded program on the 16 words of one <see cref="SeccompData"/> (<see cref="SeccompData.WriteWords"/>).
    /// The decoder's input was validated, so every jump lands inside the program, memory loads read only cells
    /// stored on every path, and control ends in a RET.
    /// </summary>
    internal static uint EvaluateDecoded(DecodedInstruction[] code, ReadOnlySpan<uint> words)
    {
        // The pure core stays memory-safe: every index below is bounds-checked by the runtime, even though
        // DecodedProgram.Decode has already checked what the validator guarantees (targets inside the program,
        // word and cell indexes below 16). The checks cost little next to the dispatch.
        if (words.Length < SeccompData.Size / 4) throw new ArgumentException("seccomp_data has 16 words", nameof(words));
        Span<uint> mem = stackalloc uint[BPF_MEMWORDS]; // zeroed, though the validator ensures no read before a store
        uint a = 0, x = 0;
        int pc = 0;
        while (true)
        {
            ref readonly DecodedInstruction ins = ref code[pc];
            // JEQ K falling through when unequal is most of what libseccomp emits (compare nr, arch or an
            // argument half): test it before the jump table, so the common step is a well-predicted branch and
            // pc + 1, not an indirect jump and a target loaded from memory.
            if (ins.Op == DecodedOp.JeqKFall)
            {
                if (a == ins.K) pc = ins.True;
                else pc++;
                continue;
            }
            switch (ins.Op)
            {
                case DecodedOp.LdAbs: a = words[(int)ins.K]; pc++; continue;
                case DecodedOp.JneKFall:
                    if (a != ins.K) pc = ins.False;
                    else pc++;
                    continue;
                case DecodedOp.JeqK: pc = a == ins.K ? ins.True : ins.False; continue;
                case DecodedOp.JgeK: pc = a >= ins.K ? ins.True : ins.False; continue;
                case DecodedOp.JgtK: pc = a > ins.K ? ins.True : ins.False; continue;
                case DecodedOp.JsetK: pc = (a & ins.K) != 0 ? ins.True : ins.False; continue;
                case DecodedOp.RetK: return ins.K;
                case DecodedOp.RetA: return a;
                case DecodedOp.LdLen: a = SeccompData.Size; pc++; continue;
                case DecodedOp.LdxLen: x = SeccompData.Size; pc++; continue;
                case DecodedOp.LdImm: a = ins.K; pc++; continue;
                case DecodedOp.LdxImm: x = ins.K; pc++; continue;
                case DecodedOp.LdMem: a = mem[(int)ins.K]; pc++; continue;
                case DecodedOp.LdxMem: x = mem[(int)ins.K]; pc++; continue;
                case DecodedOp.St: mem[(int)ins.K] = a; pc++; continue;
                case DecodedOp.Stx: mem[(int)ins.K] = x; pc++; continue;
                case DecodedOp.Tax: x = a; pc++; continue;
                case DecodedOp.Txa: a = x; pc++; continue;
                case DecodedOp.AddK: a = unchecked(a + ins.K); pc++; continue;
                case DecodedOp.AddX: a = unchecked(a + x); pc++; continue;
                case DecodedOp.SubK: a = unchecked(a - ins.K); pc++; continue;
                case DecodedOp.SubX: a = unchecked(a - x); pc++; continue;
                case DecodedOp.MulK: a = unchecked(a * ins.K); pc++; continue;
                case DecodedOp.MulX: a = unchecked(a * x); pc++; continue;
                case DecodedOp.DivK: a /= ins.K; pc++; continue;
                case DecodedOp.DivX:
                    if (x == 0) return 0;
                    a /= x; pc++; continue;
                case DecodedOp.AndK: a &= ins.K; pc++; continue;
                case DecodedOp.AndX: a &= x; pc++; continue;
                case DecodedOp.OrK: a |= ins.K; pc++; continue;
                case DecodedOp.OrX: a |= x; pc++; continue;
                case DecodedOp.XorK: a ^= ins.K; pc++; continue;
                case DecodedOp.XorX: a ^= x; pc++; continue;
                case DecodedOp.LshK: a <<= (int)ins.K; pc++; continue;
                case DecodedOp.LshX: a <<= (int)(x & 31); pc++; continue;
                case DecodedOp.RshK: a >>= (int)ins.K; pc++; continue;
                case DecodedOp.RshX: a >>= (int)(x & 31); pc++; continue;
                case DecodedOp.Neg: a = unchecked(0u - a); pc++; continue;
                case DecodedOp.Ja: pc = ins.True; continue;
                case DecodedOp.JeqX: pc = a == x ? ins.True : ins.False; continue;
                case DecodedOp.JgtX: pc = a > x ? ins.True : ins.False; continue;
                case DecodedOp.JgeX: pc = a >= x ? ins.True : ins.False; continue;
                case DecodedOp.JsetX: pc = (a & x) != 0 ? ins.True : ins.False; continue;
                default:
                    throw new InvalidOperationException($"pc {pc}: decoded operation {ins.Op} is unknown to the interpreter");
            }
        }
    }

    private static uint Execute(ReadOnlySpan<Instruction> prog, SeccompData data, ImmutableArray<int>.Builder? path, out int executed, out bool div0)
    {
        uint a = 0, x = 0;
        Span<uint> mem = stackalloc uint[BPF_MEMWORDS];
        executed = 0;
        div0 = false;
        int pc = 0;
        while (true)
        {
            // A validated program always ends in RET and only jumps forward within range.
            var ins = prog[pc];
            executed++;
            path?.Add(pc);
            switch (ins.Code)
            {
                case BPF_LD | BPF_W | BPF_ABS: a = data.LoadWord(ins.K); break;
                case BPF_LD | BPF_W | BPF_LEN: a = SeccompData.Size; break;
                case BPF_LDX | BPF_W | BPF_LEN: x = SeccompData.Size; break;
                case BPF_LD | BPF_IMM: a = ins.K; break;
                case BPF_LDX | BPF_IMM: x = ins.K; break;
                case BPF_LD | BPF_MEM: a = mem[(int)ins.K]; break;
                case BPF_LDX | BPF_MEM: x = mem[(int)ins.K]; break;
                case BPF_ST: mem[(int)ins.K] = a; break;
                case BPF_STX: mem[(int)ins.K] = x; break;
                case BPF_MISC | BPF_TAX: x = a; break;
                case BPF_MISC | BPF_TXA: a = x; break;
                case BPF_ALU | BPF_ADD | BPF_K: a = unchecked(a + ins.K); break;
                case BPF_ALU | BPF_ADD | BPF_X: a = unchecked(a + x); break;
                case BPF_ALU | BPF_SUB | BPF_K: a = unchecked(a - ins.K); break;
                case BPF_ALU | BPF_SUB | BPF_X: a = unchecked(a - x); break;
                case BPF_ALU | BPF_MUL | BPF_K: a = unchecked(a * ins.K); break;
                case BPF_ALU | BPF_MUL | BPF_X: a = unchecked(a * x); break;
                case BPF_ALU | BPF_DIV | BPF_K: a /= ins.K; break;
                case BPF_ALU | BPF_DIV | BPF_X:
                    if (x == 0) { div0 = true; return 0; }
                    a /= x; break;
                case BPF_ALU | BPF_AND | BPF_K: a &= ins.K; break;
                case BPF_ALU | BPF_AND | BPF_X: a &= x; break;
                case BPF_ALU | BPF_OR | BPF_K: a |= ins.K; break;
                case BPF_ALU | BPF_OR | BPF_X: a |= x; break;
                case BPF_ALU | BPF_XOR | BPF_K: a ^= ins.K; break;
                case BPF_ALU | BPF_XOR | BPF_X: a ^= x; break;
                case BPF_ALU | BPF_LSH | BPF_K: a <<= (int)ins.K; break;
                case BPF_ALU | BPF_LSH | BPF_X: a <<= (int)(x & 31); break;
                case BPF_ALU | BPF_RSH | BPF_K: a >>= (int)ins.K; break;
                case BPF_ALU | BPF_RSH | BPF_X: a >>= (int)(x & 31); break;
                case BPF_ALU | BPF_NEG: a = unchecked(0u - a); break;
                case BPF_JMP | BPF_JA: pc += (int)ins.K; break;
                case BPF_JMP | BPF_JEQ | BPF_K: pc += a == ins.K ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JEQ | BPF_X: pc += a == x ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JGT | BPF_K: pc += a > ins.K ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JGT | BPF_X: pc += a > x ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JGE | BPF_K: pc += a >= ins.K ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JGE | BPF_X: pc += a >= x ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JSET | BPF_K: pc += (a & ins.K) != 0 ? ins.Jt : ins.Jf; break;
                case BPF_JMP | BPF_JSET | BPF_X: pc += (a & x) != 0 ? ins.Jt : ins.Jf; break;
                case BPF_RET | BPF_K: return ins.K;
                case BPF_RET | BPF_A: return a;
                default:
                    throw new InvalidOperationException($"pc {pc}: opcode 0x{ins.Code:x4} reached the interpreter; BpfProgram.Create must have refused it");
            }
            pc++;
        }
    }
}
