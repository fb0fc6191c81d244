using System.Numerics;
using CsCheck;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

/// <summary>
/// The property the issue asks for: every program the kernel accepts survives text. The generator makes
/// programs that pass <see cref="Validator"/> from random mixes of every seccomp opcode, with random
/// operands, including bits the kernel ignores (jt/jf on non-jumps, k on TAX, RET A, LEN, X operations).
/// </summary>
public class RoundTripProperties
{
    private static readonly ushort[] SeccompOpcodes = Enumerable.Range(0, 0x10000)
        .Where(c => Validator.IsSeccompOpcode((ushort)c)).Select(c => (ushort)c).ToArray();

    private static readonly ushort[] FilterLike = [BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_ABS, BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_K,
        BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JSET | BPF_K, BPF_RET | BPF_K];

    private static readonly uint[] Actions = [SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP,
        SECCOMP_RET_ERRNO, SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW];

    /// <summary>One raw choice per instruction: k, a packed word (opcode choice, jt, jf, flags) and a selector.</summary>
    private static readonly Gen<(uint K, uint Packed, byte Sel)> Element = Gen.Select(Gen.UInt, Gen.UInt, Gen.Byte);

    public static readonly Gen<Instruction[]> ValidPrograms =
        Gen.Frequency((8, Element.Array[1, 40]), (1, Element.Array[41, 400])).Select(Build);

    /// <summary>
    /// Turns raw choices into a valid program, simulating the kernel's check_load_and_stores mask as it
    /// goes so that memory loads read only cells the kernel counts as written.
    /// </summary>
    private static Instruction[] Build((uint K, uint Packed, byte Sel)[] elements)
    {
        int n = elements.Length;
        var program = new Instruction[n];
        var masks = new ushort[n];
        Array.Fill(masks, (ushort)0xffff);
        ushort memvalid = 0;
        // Half the longer programs start with the usual arch check, so that syscall numbers compared later
        // are under a known arch on every path and the listing names them.
        bool prologue = n >= 4 && elements[0].Sel % 2 == 0;
        for (int pc = 0; pc < n; pc++)
        {
            var (k, packed, sel) = elements[pc];
            byte jt = (byte)(packed >> 8), jf = (byte)(packed >> 16);
            uint flags = packed >> 24;
            bool strayJ = (flags & 1) != 0, strayK = (flags & 2) != 0;
            int remaining = n - pc - 1;
            memvalid &= masks[pc];
            if (prologue && pc == 0)
            {
                program[0] = Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 4); // A = arch
                continue;
            }
            if (prologue && pc == 1)
            {
                // if (A != X86_64, I386 or S390X) goto the last instruction (or as far as jf reaches); after
                // S390X (big-endian) the listing names offset 16 'args[0] >> 32', which must read back as 16.
                byte toEnd = (byte)Math.Min(remaining - 1, 255);
                program[1] = Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, (sel % 3) switch { 0 => TestPrograms.X86_64, 1 => TestPrograms.I386, _ => TestPrograms.S390X }, 0, toEnd);
                masks[2] &= memvalid;
                masks[2 + toEnd] &= memvalid;
                memvalid = 0xffff;
                continue;
            }
            ushort code = remaining == 0
                ? (ushort)((flags & 4) != 0 ? BPF_RET | BPF_A : BPF_RET | BPF_K)
                : (flags & 0x18) == 0x18
                    ? FilterLike[(packed & 0xff) % FilterLike.Length]   // a quarter drawn from what real filters use
                    : SeccompOpcodes[(packed & 0xff) % SeccompOpcodes.Length];
            bool cond = new Instruction(code, 0, 0, 0).IsConditionalJump;
            if (!cond) { jt = strayJ ? jt : (byte)0; jf = strayJ ? jf : (byte)0; }
            switch (code)
            {
                case BPF_LD | BPF_W | BPF_ABS:
                    k = (sel % 4) switch { 0 or 3 => 0, 1 => 4, _ => k % 16 * 4 }; // nr (most often), arch or any word
                    break;
                case BPF_LD | BPF_W | BPF_LEN or BPF_LDX | BPF_W | BPF_LEN or BPF_MISC | BPF_TAX or BPF_MISC | BPF_TXA
                    or BPF_ALU | BPF_NEG or BPF_RET | BPF_A:
                    k = strayK ? k : 0;
                    break;
                case BPF_ALU | BPF_DIV | BPF_K:
                    k = k == 0 ? 1 : k;
                    break;
                case BPF_ALU | BPF_LSH | BPF_K or BPF_ALU | BPF_RSH | BPF_K:
                    k = sel % 4 == 0 ? 31 : k % 32;
                    break;
                case BPF_ST or BPF_STX:
                    k %= BPF_MEMWORDS;
                    memvalid |= (ushort)(1 << (int)k);
                    break;
                case BPF_LD | BPF_MEM or BPF_LDX | BPF_MEM:
                    if (memvalid == 0)
                    {
                        code = BPF_ST;          // nothing readable yet: write instead
                        k %= BPF_MEMWORDS;
                        memvalid |= (ushort)(1 << (int)k);
                    }
                    else
                    {
                        // The (k mod count)-th readable cell.
                        int skip = (int)(k % (uint)BitOperations.PopCount(memvalid));
                        uint bits = memvalid;
                        for (int i = 0; i < skip; i++) bits &= bits - 1;
                        k = (uint)BitOperations.TrailingZeroCount(bits);
                    }
                    break;
                case BPF_JMP | BPF_JA:
                    k %= (uint)remaining;
                    masks[pc + 1 + k] &= memvalid;
                    memvalid = 0xffff;
                    break;
                case BPF_RET | BPF_K:
                    k = (sel % 3) switch
                    {
                        0 => Actions[k % 8],
                        1 => Actions[k % 8] | (k >> 16),
                        _ => k,
                    };
                    break;
                default:
                    if (cond)
                    {
                        int reach = Math.Min(remaining, 256);
                        jt = (byte)(jt % reach);
                        jf = (byte)(jf % reach);
                        if (BPF_SRC(code) == BPF_X) k = strayK ? k : 0;
                        else k = (sel % 6) switch { 0 => TestPrograms.X86_64, 1 => TestPrograms.I386, 2 or 3 => k % 4, 4 => TestPrograms.S390X, _ => k };
                        masks[pc + 1 + jt] &= memvalid;
                        masks[pc + 1 + jf] &= memvalid;
                        memvalid = 0xffff;
                    }
                    break;
            }
            program[pc] = new Instruction(code, jt, jf, k);
        }
        return program;
    }

    private static readonly System.Text.RegularExpressions.Regex SyscallName =
        new(@"A (==|!=|>|>=|<|<=|&) (read|write|open|close|restart_syscall|exit|fork)\)");

    private static string Show(Instruction[] p) => Disassembler.DisassembleRaw(p);

    [Fact]
    public void Every_generated_program_passes_the_validator()
    {
        ValidPrograms.Sample(p => Assert.Null(Validator.Validate(p)), iter: 10_000, print: Show);
    }

    [Fact]
    public void Assemble_of_Disassemble_gives_back_the_same_bytes_with_symbols()
    {
        int named = 0, bigEndianHalves = 0;
        ValidPrograms.Sample(p =>
        {
            var text = Disassembler.Disassemble(p, FakeSymbols.Instance);
            if (SyscallName.IsMatch(text))
                Interlocked.Increment(ref named);
            var facts = ProgramAnalysis.Analyze(p);
            for (int pc = 0; pc < p.Length; pc++)
                if (p[pc].Code == (BPF_LD | BPF_W | BPF_ABS) && p[pc].K >= SeccompData.OffsetInstructionPointer && p[pc].K < SeccompData.Size
                    && facts[pc].LittleEndian == false)
                {
                    Interlocked.Increment(ref bigEndianHalves);
                    break;
                }
            var back = Assembler.Assemble(text, FakeSymbols.Instance);
            Assert.Equal(BpfProgram.ToRaw(p), BpfProgram.ToRaw(back));
        }, iter: 10_000, print: Show);
        // The generator must actually reach the syscall-name path and the big-endian halves, or this property proves little.
        Assert.True(named > 20, $"only {named} listings named a syscall under a checked arch");
        Assert.True(bigEndianHalves > 20, $"only {bigEndianHalves} listings loaded an argument half after a big-endian arch check");
    }

    [Fact]
    public void Assemble_of_Disassemble_gives_back_the_same_bytes_without_symbols()
    {
        ValidPrograms.Sample(p =>
        {
            var back = Assembler.Assemble(Disassembler.Disassemble(p));
            Assert.Equal(BpfProgram.ToRaw(p), BpfProgram.ToRaw(back));
        }, iter: 10_000, print: Show);
    }

    [Fact]
    public void Assemble_of_DisassembleRaw_gives_back_the_same_bytes()
    {
        ValidPrograms.Sample(p =>
        {
            var back = Assembler.Assemble(Disassembler.DisassembleRaw(p));
            Assert.Equal(BpfProgram.ToRaw(p), BpfProgram.ToRaw(back));
            Assert.Equal(p, BpfProgram.ParseRaw(BpfProgram.ToRaw(p)));
        }, iter: 10_000, print: Show);
    }

    [Fact]
    public void Every_label_in_a_listing_is_referenced()
    {
        ValidPrograms.Sample(p =>
        {
            var text = Disassembler.Disassemble(p, FakeSymbols.Instance);
            // Raw lines keep their exact bits and name no label, though their targets are still marked.
            if (text.Contains('{')) return;
            foreach (var line in text.Split('\n').Where(l => l.StartsWith('L')))
            {
                var label = line.TrimEnd(':');
                Assert.True(text.Contains($"goto {label}\n") || text.Contains($"goto {label} "), $"{label} is never used:\n{text}");
            }
        }, iter: 2_000, print: Show);
    }
}
