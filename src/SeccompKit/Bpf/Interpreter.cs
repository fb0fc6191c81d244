using System.Collections.Immutable;
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

    /// <summary>The fast path: only the return value.</summary>
    public static uint Evaluate(BpfProgram program, SeccompData data) =>
        Execute(program.Instructions.AsSpan(), data, null, out _, out _);

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
