using System.Globalization;
using System.Text;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>
/// Prints programs as text the <see cref="Assembler"/> reads back to the same bytes.
/// The readable form is C-like, in the style of seccomp-tools and gVisor's decoder:
/// <code>
///  0: A = arch
///  1: if (A != AUDIT_ARCH_X86_64) goto L5
///  2: A = sys_number
///  3: if (A == openat) goto L6
///  ...
/// L5:
///  5: return KILL_PROCESS
/// </code>
/// Jump targets get labels <c>L&lt;pc&gt;</c>; syscall and arch names appear where the program compares the
/// syscall number (under an arch it has already checked) or the arch. Loads of 64-bit fields name the half
/// they read under the checked arch's byte order (<c>args[0]</c> is the low half, <c>args[0] &gt;&gt; 32</c> the
/// high half; on big-endian ABIs such as s390x the high half comes first in <c>seccomp_data</c>). The raw form is one C initialiser per
/// instruction, <c>{ 0x20, 0, 0, 0x00000004 },</c>.
/// </summary>
public static class Disassembler
{
    /// <summary>The readable listing. Opcodes seccomp refuses are printed in the raw form, which the assembler also reads.</summary>
    public static string Disassemble(ReadOnlySpan<Instruction> program, IBpfSymbols? symbols = null)
    {
        var facts = ProgramAnalysis.Analyze(program);
        var targets = new bool[program.Length];
        for (int pc = 0; pc < program.Length; pc++)
        {
            var ins = program[pc];
            if (ins.Code == (BPF_JMP | BPF_JA)) Mark(pc + 1 + (long)ins.K);
            else if (IsCondJump(ins.Code))
            {
                // A zero offset is the fall-through, which the one-branch forms ("if (c) goto Lt") do not
                // print; only label the targets the listing names, as in the example above.
                bool twoBranch = (ins.Jt == 0) == (ins.Jf == 0);
                if (ins.Jt != 0 || twoBranch) Mark(pc + 1 + ins.Jt);
                if (ins.Jf != 0 || twoBranch) Mark(pc + 1 + ins.Jf);
            }
        }
        int width = Math.Max(2, (program.Length - 1).ToString(CultureInfo.InvariantCulture).Length);
        var statements = Statements(program, facts, symbols);
        var sb = new StringBuilder();
        for (int pc = 0; pc < program.Length; pc++)
        {
            if (targets[pc]) sb.Append('L').Append(pc).Append(":\n");
            sb.Append(pc.ToString(CultureInfo.InvariantCulture).PadLeft(width)).Append(": ").Append(statements[pc]).Append('\n');
        }
        return sb.ToString();

        void Mark(long t) { if (t >= 0 && t < targets.Length) targets[t] = true; }
    }

    /// <summary>
    /// The statement of each instruction as <see cref="Disassemble"/> prints it, without the pc and label lines
    /// (<c>if (A == read) goto L7 else goto L8</c>): for views that lay instructions out themselves, such as a graph.
    /// </summary>
    public static string[] Statements(ReadOnlySpan<Instruction> program, IBpfSymbols? symbols = null) =>
        Statements(program, ProgramAnalysis.Analyze(program), symbols);

    private static string[] Statements(ReadOnlySpan<Instruction> program, PcFacts[] facts, IBpfSymbols? symbols)
    {
        var statements = new string[program.Length];
        for (int pc = 0; pc < program.Length; pc++)
            statements[pc] = Format(program[pc], pc, program.Length, facts[pc], symbols);
        return statements;
    }

    /// <summary>The raw form: one <c>{ code, jt, jf, k },</c> line per instruction.</summary>
    public static string DisassembleRaw(ReadOnlySpan<Instruction> program)
    {
        var sb = new StringBuilder();
        foreach (var ins in program) sb.Append(ins.ToString()).Append(",\n");
        return sb.ToString();
    }

    internal static bool IsCondJump(ushort code) => code is
        (BPF_JMP | BPF_JEQ | BPF_K) or (BPF_JMP | BPF_JEQ | BPF_X) or (BPF_JMP | BPF_JGT | BPF_K) or (BPF_JMP | BPF_JGT | BPF_X) or
        (BPF_JMP | BPF_JGE | BPF_K) or (BPF_JMP | BPF_JGE | BPF_X) or (BPF_JMP | BPF_JSET | BPF_K) or (BPF_JMP | BPF_JSET | BPF_X);

    /// <summary>Formats a 32-bit constant: decimal below 10, hex otherwise (always read back exactly).</summary>
    public static string Number(uint k) => k < 10 ? k.ToString(CultureInfo.InvariantCulture) : "0x" + k.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>
    /// The name of what a 32-bit load of offset <paramref name="k"/> reads. A 64-bit field's low half is
    /// written <c>args[i]</c> (a 32-bit A takes the low half, as in C) and its high half <c>args[i] &gt;&gt; 32</c>.
    /// Which offset holds which half is the byte order of the arches the program has checked on every path to
    /// the load (<see cref="PcFacts.LittleEndian"/>, from <see cref="ProgramAnalysis"/>): after an s390x check offset
    /// 16 is <c>args[0] &gt;&gt; 32</c> and offset 20 is <c>args[0]</c>, the kernel's big-endian layout of
    /// <c>seccomp_data</c>; without a check the little-endian view (x86_64, aarch64) names them.
    /// </summary>
    internal static string LoadName(uint k, bool? littleEndian = null)
    {
        if (k == SeccompData.OffsetNr) return "sys_number";
        if (k == SeccompData.OffsetArch) return "arch";
        if (k < SeccompData.OffsetInstructionPointer || k >= SeccompData.Size || (k & 3) != 0) return $"data[{Number(k)}]";
        bool firstWord = (k & 4) == 0;
        bool high = littleEndian == false ? firstWord : !firstWord;
        string field = k < SeccompData.OffsetArgs ? "instruction_pointer" : $"args[{(k - SeccompData.OffsetArgs) / 8}]";
        return high ? field + " >> 32" : field;
    }

    private static string Format(Instruction ins, int pc, int length, PcFacts facts, IBpfSymbols? symbols)
    {
        uint k = ins.K;
        // The readable form has no place for bits the kernel ignores (jt/jf outside conditional jumps, k of
        // register-only instructions); an instruction carrying such bits keeps its raw form so that
        // assembling the listing gives back the very same bytes.
        if (!IsCondJump(ins.Code) && (ins.Jt != 0 || ins.Jf != 0)) return ins.ToString();
        if (k != 0 && ins.Code is (BPF_LD | BPF_W | BPF_LEN) or (BPF_LDX | BPF_W | BPF_LEN) or (BPF_MISC | BPF_TAX)
            or (BPF_MISC | BPF_TXA) or (BPF_ALU | BPF_NEG) or (BPF_RET | BPF_A))
            return ins.ToString();
        if (k != 0 && IsCondJump(ins.Code) && BPF_SRC(ins.Code) == BPF_X) return ins.ToString();
        if (k != 0 && BPF_CLASS(ins.Code) == BPF_ALU && BPF_SRC(ins.Code) == BPF_X) return ins.ToString();
        switch (ins.Code)
        {
            case BPF_LD | BPF_W | BPF_ABS: return "A = " + LoadName(k, facts.LittleEndian);
            case BPF_LD | BPF_W | BPF_LEN: return "A = len";
            case BPF_LDX | BPF_W | BPF_LEN: return "X = len";
            case BPF_LD | BPF_IMM: return "A = " + Number(k);
            case BPF_LDX | BPF_IMM: return "X = " + Number(k);
            case BPF_LD | BPF_MEM when k < BPF_MEMWORDS: return $"A = mem[{k}]";
            case BPF_LDX | BPF_MEM when k < BPF_MEMWORDS: return $"X = mem[{k}]";
            case BPF_ST when k < BPF_MEMWORDS: return $"mem[{k}] = A";
            case BPF_STX when k < BPF_MEMWORDS: return $"mem[{k}] = X";
            case BPF_MISC | BPF_TAX: return "X = A";
            case BPF_MISC | BPF_TXA: return "A = X";
            case BPF_ALU | BPF_NEG: return "A = -A";
            case BPF_RET | BPF_A: return "return A";
            case BPF_RET | BPF_K: return "return " + ActionNames.Format(k);
            case BPF_JMP | BPF_JA when pc + 1 + (long)k < length: return $"goto L{pc + 1 + (long)k}";
        }
        if (BPF_CLASS(ins.Code) == BPF_ALU && ins.Jt == 0 && ins.Jf == 0)
        {
            string? op = BPF_OP(ins.Code) switch
            {
                BPF_ADD => "+=", BPF_SUB => "-=", BPF_MUL => "*=", BPF_DIV => "/=", BPF_AND => "&=", BPF_OR => "|=",
                BPF_XOR => "^=", BPF_LSH => "<<=", BPF_RSH => ">>=", _ => null,
            };
            if (op is not null && (ins.Code & ~0xf8) == BPF_ALU)
                return $"A {op} " + (BPF_SRC(ins.Code) == BPF_X ? "X" : Number(k));
        }
        if (IsCondJump(ins.Code) && pc + 1 + ins.Jt < length && pc + 1 + ins.Jf < length)
        {
            string operand = BPF_SRC(ins.Code) == BPF_X ? "X" : Operand(k, facts, symbols);
            int t = pc + 1 + ins.Jt, f = pc + 1 + ins.Jf;
            string Cond(bool negate) => BPF_OP(ins.Code) switch
            {
                BPF_JEQ => negate ? $"A != {operand}" : $"A == {operand}",
                BPF_JGT => negate ? $"A <= {operand}" : $"A > {operand}",
                BPF_JGE => negate ? $"A < {operand}" : $"A >= {operand}",
                _ => negate ? $"!(A & {operand})" : $"A & {operand}",
            };
            if (ins.Jt != 0 && ins.Jf == 0) return $"if ({Cond(false)}) goto L{t}";
            if (ins.Jt == 0 && ins.Jf != 0) return $"if ({Cond(true)}) goto L{f}";
            return $"if ({Cond(false)}) goto L{t} else goto L{f}";
        }
        // Anything else (refused opcodes, stray jt/jf bits, out-of-range jumps) keeps its exact bits.
        return ins.ToString();
    }

    private static string Operand(uint k, PcFacts facts, IBpfSymbols? symbols)
    {
        if (symbols is null || !facts.Reachable) return Number(k);
        if (facts.Content == AccumulatorContent.Arch && symbols.TryGetArchName(k, out var archName)
            && symbols.TryGetArchValue(archName, out var back) && back == k)
            return archName;
        if (facts.Content == AccumulatorContent.SyscallNumber && facts.KnownArch is uint arch
            && symbols.TryGetSyscallName(arch, unchecked((int)k), out var sys)
            && symbols.TryGetSyscallNumber(arch, sys, out var nr) && unchecked((uint)nr) == k)
            return sys;
        return Number(k);
    }
}
