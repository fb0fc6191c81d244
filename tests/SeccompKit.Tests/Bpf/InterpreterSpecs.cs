using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

public class InterpreterSpecs
{
    private static readonly Instruction RetA = Stmt(BPF_RET | BPF_A, 0);

    /// <summary>(desc, program, expected return value) on <see cref="TestPrograms.Data"/>.</summary>
    public static TheoryData<string, Instruction[], uint> Alu => new()
    {
        { "A and X start at 0", [
            Stmt(BPF_ALU | BPF_ADD | BPF_X, 0),       // A += X
            RetA,                                     // return A
        ], 0u },
        { "ADD K wraps at 32 bits", [
            Stmt(BPF_LD | BPF_IMM, 0xffffffff),       // A = 0xffffffff
            Stmt(BPF_ALU | BPF_ADD | BPF_K, 2),       // A += 2
            RetA,                                     // return A
        ], 1u },
        { "ADD X wraps at 32 bits", [
            Stmt(BPF_LD | BPF_IMM, 0x80000000),       // A = 0x80000000
            Stmt(BPF_LDX | BPF_IMM, 0x80000001),      // X = 0x80000001
            Stmt(BPF_ALU | BPF_ADD | BPF_X, 0),       // A += X
            RetA,                                     // return A
        ], 1u },
        { "SUB K wraps below 0", [
            Stmt(BPF_LD | BPF_IMM, 1),                // A = 1
            Stmt(BPF_ALU | BPF_SUB | BPF_K, 2),       // A -= 2
            RetA,                                     // return A
        ], 0xffffffffu },
        { "SUB X wraps below 0", [
            Stmt(BPF_LDX | BPF_IMM, 5),               // X = 5
            Stmt(BPF_ALU | BPF_SUB | BPF_X, 0),       // A -= X
            RetA,                                     // return A
        ], 0xfffffffbu },
        { "MUL K keeps the low 32 bits", [
            Stmt(BPF_LD | BPF_IMM, 0x10001),          // A = 0x10001
            Stmt(BPF_ALU | BPF_MUL | BPF_K, 0x10001), // A *= 0x10001 (0x1_0002_0001)
            RetA,                                     // return A
        ], 0x00020001u },
        { "MUL X keeps the low 32 bits", [
            Stmt(BPF_LD | BPF_IMM, 0xffffffff),       // A = 0xffffffff (-1)
            Stmt(BPF_LDX | BPF_IMM, 0xffffffff),      // X = 0xffffffff
            Stmt(BPF_ALU | BPF_MUL | BPF_X, 0),       // A *= X
            RetA,                                     // return A
        ], 1u },
        { "DIV K is unsigned", [
            Stmt(BPF_LD | BPF_IMM, 0xfffffffe),       // A = 0xfffffffe (-2 if signed)
            Stmt(BPF_ALU | BPF_DIV | BPF_K, 2),       // A /= 2
            RetA,                                     // return A
        ], 0x7fffffffu },
        { "DIV K by a 'negative' constant is unsigned", [
            Stmt(BPF_LD | BPF_IMM, 0xfffffffe),       // A = 0xfffffffe
            Stmt(BPF_ALU | BPF_DIV | BPF_K, 0xffffffff), // A /= 0xffffffff
            RetA,                                     // return A
        ], 0u },
        { "DIV X is unsigned and truncates", [
            Stmt(BPF_LD | BPF_IMM, 0x80000001),       // A = 0x80000001
            Stmt(BPF_LDX | BPF_IMM, 0x10),            // X = 16
            Stmt(BPF_ALU | BPF_DIV | BPF_X, 0),       // A /= X
            RetA,                                     // return A
        ], 0x08000000u },
        { "AND K", [
            Stmt(BPF_LD | BPF_IMM, 0xf0f0f0f0),       // A = 0xf0f0f0f0
            Stmt(BPF_ALU | BPF_AND | BPF_K, 0xff00ff00), // A &= 0xff00ff00
            RetA,                                     // return A
        ], 0xf000f000u },
        { "AND X", [
            Stmt(BPF_LD | BPF_IMM, 0xf0f0f0f0),       // A = 0xf0f0f0f0
            Stmt(BPF_LDX | BPF_IMM, 0x0ff00ff0),      // X = 0x0ff00ff0
            Stmt(BPF_ALU | BPF_AND | BPF_X, 0),       // A &= X
            RetA,                                     // return A
        ], 0x00f000f0u },
        { "OR K", [
            Stmt(BPF_LD | BPF_IMM, 0xf0000000),       // A = 0xf0000000
            Stmt(BPF_ALU | BPF_OR | BPF_K, 0x0000000f), // A |= 0xf
            RetA,                                     // return A
        ], 0xf000000fu },
        { "OR X", [
            Stmt(BPF_LDX | BPF_IMM, 0x00ff0000),      // X = 0x00ff0000
            Stmt(BPF_LD | BPF_IMM, 0x1),              // A = 1
            Stmt(BPF_ALU | BPF_OR | BPF_X, 0),        // A |= X
            RetA,                                     // return A
        ], 0x00ff0001u },
        { "XOR K", [
            Stmt(BPF_LD | BPF_IMM, 0xffff0000),       // A = 0xffff0000
            Stmt(BPF_ALU | BPF_XOR | BPF_K, 0xff00ff00), // A ^= 0xff00ff00
            RetA,                                     // return A
        ], 0x00ffff00u },
        { "XOR X", [
            Stmt(BPF_LD | BPF_IMM, 0x12345678),       // A = 0x12345678
            Stmt(BPF_LDX | BPF_IMM, 0x12345678),      // X = 0x12345678
            Stmt(BPF_ALU | BPF_XOR | BPF_X, 0),       // A ^= X
            RetA,                                     // return A
        ], 0u },
        { "LSH K 31 keeps only the low bit", [
            Stmt(BPF_LD | BPF_IMM, 3),                // A = 3
            Stmt(BPF_ALU | BPF_LSH | BPF_K, 31),      // A <<= 31
            RetA,                                     // return A
        ], 0x80000000u },
        { "RSH K is logical, not arithmetic", [
            Stmt(BPF_LD | BPF_IMM, 0x80000000),       // A = 0x80000000
            Stmt(BPF_ALU | BPF_RSH | BPF_K, 31),      // A >>= 31
            RetA,                                     // return A
        ], 1u },
        { "LSH X uses X & 31 (33 shifts by 1)", [
            Stmt(BPF_LD | BPF_IMM, 3),                // A = 3
            Stmt(BPF_LDX | BPF_IMM, 33),              // X = 33
            Stmt(BPF_ALU | BPF_LSH | BPF_X, 0),       // A <<= X
            RetA,                                     // return A
        ], 6u },
        { "LSH X by 32 shifts by 0", [
            Stmt(BPF_LD | BPF_IMM, 3),                // A = 3
            Stmt(BPF_LDX | BPF_IMM, 32),              // X = 32
            Stmt(BPF_ALU | BPF_LSH | BPF_X, 0),       // A <<= X
            RetA,                                     // return A
        ], 3u },
        { "RSH X uses X & 31 (0xffffffff shifts by 31)", [
            Stmt(BPF_LD | BPF_IMM, 0x80000000),       // A = 0x80000000
            Stmt(BPF_LDX | BPF_IMM, 0xffffffff),      // X = 0xffffffff
            Stmt(BPF_ALU | BPF_RSH | BPF_X, 0),       // A >>= X
            RetA,                                     // return A
        ], 1u },
        { "RSH X by 4", [
            Stmt(BPF_LD | BPF_IMM, 0xf0),             // A = 0xf0
            Stmt(BPF_LDX | BPF_IMM, 4),               // X = 4
            Stmt(BPF_ALU | BPF_RSH | BPF_X, 0),       // A >>= X
            RetA,                                     // return A
        ], 0xfu },
        { "NEG is two's complement", [
            Stmt(BPF_LD | BPF_IMM, 1),                // A = 1
            Stmt(BPF_ALU | BPF_NEG, 0),               // A = -A
            RetA,                                     // return A
        ], 0xffffffffu },
        { "NEG of 0x80000000 is itself", [
            Stmt(BPF_LD | BPF_IMM, 0x80000000),       // A = 0x80000000
            Stmt(BPF_ALU | BPF_NEG, 0),               // A = -A
            RetA,                                     // return A
        ], 0x80000000u },
        { "LD IMM", [
            Stmt(BPF_LD | BPF_IMM, 0xdeadbeef),       // A = 0xdeadbeef
            RetA,                                     // return A
        ], 0xdeadbeefu },
        { "LDX IMM then TXA", [
            Stmt(BPF_LDX | BPF_IMM, 0xcafe),          // X = 0xcafe
            Stmt(BPF_MISC | BPF_TXA, 0),              // A = X
            RetA,                                     // return A
        ], 0xcafeu },
        { "TAX copies A into X", [
            Stmt(BPF_LD | BPF_IMM, 21),               // A = 21
            Stmt(BPF_MISC | BPF_TAX, 0),              // X = A
            Stmt(BPF_ALU | BPF_ADD | BPF_X, 0),       // A += X
            RetA,                                     // return A
        ], 42u },
        { "ST then LD MEM round trips", [
            Stmt(BPF_LD | BPF_IMM, 0x1234),           // A = 0x1234
            Stmt(BPF_ST, 15),                         // M[15] = A
            Stmt(BPF_LD | BPF_IMM, 0),                // A = 0
            Stmt(BPF_LD | BPF_MEM, 15),               // A = M[15]
            RetA,                                     // return A
        ], 0x1234u },
        { "STX then LDX MEM round trips", [
            Stmt(BPF_LDX | BPF_IMM, 0x5678),          // X = 0x5678
            Stmt(BPF_STX, 7),                         // M[7] = X
            Stmt(BPF_LDX | BPF_IMM, 0),               // X = 0
            Stmt(BPF_LDX | BPF_MEM, 7),               // X = M[7]
            Stmt(BPF_MISC | BPF_TXA, 0),              // A = X
            RetA,                                     // return A
        ], 0x5678u },
        { "memory cells are separate", [
            Stmt(BPF_LD | BPF_IMM, 1),                // A = 1
            Stmt(BPF_ST, 0),                          // M[0] = A
            Stmt(BPF_LD | BPF_IMM, 2),                // A = 2
            Stmt(BPF_ST, 1),                          // M[1] = A
            Stmt(BPF_LD | BPF_MEM, 0),                // A = M[0]
            RetA,                                     // return A
        ], 1u },
        { "LD LEN is 64", [
            Stmt(BPF_LD | BPF_W | BPF_LEN, 0),        // A = len
            RetA,                                     // return A
        ], 64u },
        { "LDX LEN is 64", [
            Stmt(BPF_LDX | BPF_W | BPF_LEN, 0),       // X = len
            Stmt(BPF_MISC | BPF_TXA, 0),              // A = X
            RetA,                                     // return A
        ], 64u },
        { "RET K returns k whatever A holds", [
            Stmt(BPF_LD | BPF_IMM, 5),                // A = 5
            Stmt(BPF_RET | BPF_K, 0x00050001),        // return ERRNO(1)
        ], 0x00050001u },
    };

    [Theory]
    [MemberData(nameof(Alu))]
    public void Each_instruction_has_the_kernels_32_bit_semantics(string desc, Instruction[] program, uint expected)
    {
        var result = Interpreter.Run(BpfProgram.Create(program), TestPrograms.Data);
        Assert.True(expected == result.Value, $"{desc}: expected 0x{expected:x8}, got 0x{result.Value:x8}");
        Assert.False(result.DivisionByZero);
        Assert.Equal(program.Length, result.Executed);
        Assert.Equal(expected, Interpreter.Evaluate(BpfProgram.Create(program), TestPrograms.Data));
    }

    /// <summary>(desc, offset, expected word) of <see cref="TestPrograms.Data"/>.</summary>
    public static TheoryData<string, uint, uint> Loads => new()
    {
        { "nr", 0, 0x101 },
        { "arch", 4, TestPrograms.X86_64 },
        { "instruction_pointer low", 8, 0x3333_4444 },
        { "instruction_pointer high", 12, 0x1111_2222 },
        { "args[0] low", 16, 0xa0a0_0001 },
        { "args[0] high", 20, 0xa0a0_0000 },
        { "args[1] low", 24, 0xa1a1_0002 },
        { "args[1] high", 28, 0xa1a1_0000 },
        { "args[2] low", 32, 0xa2a2_0003 },
        { "args[2] high", 36, 0xa2a2_0000 },
        { "args[3] low", 40, 0xa3a3_0004 },
        { "args[3] high", 44, 0xa3a3_0000 },
        { "args[4] low", 48, 0xa4a4_0005 },
        { "args[4] high", 52, 0xa4a4_0000 },
        { "args[5] low", 56, 0xa5a5_0006 },
        { "args[5] high", 60, 0xa5a5_0000 },
    };

    [Theory]
    [MemberData(nameof(Loads))]
    public void LD_W_ABS_reads_the_little_endian_word_at_its_offset(string desc, uint offset, uint expected)
    {
        var program = BpfProgram.Create([
            Stmt(BPF_LD | BPF_W | BPF_ABS, offset), // A = data[offset]
            RetA,                                   // return A
        ]);
        Assert.True(expected == Interpreter.Evaluate(program, TestPrograms.Data), desc);
        // The same word read from the raw 64 bytes.
        Assert.Equal(expected, BitConverter.ToUInt32(TestPrograms.Data.ToBytes(), (int)offset));
    }

    [Fact]
    public void A_negative_nr_reads_as_its_twos_complement()
    {
        var program = BpfProgram.Create([
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0), // A = nr
            RetA,                              // return A
        ]);
        Assert.Equal(0xffffffffu, Interpreter.Evaluate(program, new SeccompData(-1, TestPrograms.X86_64)));
        Assert.Equal(0x80000000u, Interpreter.Evaluate(program, new SeccompData(int.MinValue, TestPrograms.X86_64)));
    }

    /// <summary>(desc, jump, A, X, true when the jt branch is taken).</summary>
    public static TheoryData<string, Instruction, uint, uint, bool> Jumps => new()
    {
        { "JEQ K equal", Jump(BPF_JMP | BPF_JEQ | BPF_K, 7, 1, 0), 7, 0, true },
        { "JEQ K different", Jump(BPF_JMP | BPF_JEQ | BPF_K, 7, 1, 0), 8, 0, false },
        { "JEQ X equal", Jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 1, 0), 9, 9, true },
        { "JEQ X different", Jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 1, 0), 9, 10, false },
        { "JGT K is unsigned (0xffffffff > 1)", Jump(BPF_JMP | BPF_JGT | BPF_K, 1, 1, 0), 0xffffffff, 0, true },
        { "JGT K equal is not greater", Jump(BPF_JMP | BPF_JGT | BPF_K, 5, 1, 0), 5, 0, false },
        { "JGT K 1 > 0xffffffff is false", Jump(BPF_JMP | BPF_JGT | BPF_K, 0xffffffff, 1, 0), 1, 0, false },
        { "JGT X is unsigned (0xffffffff > 1)", Jump(BPF_JMP | BPF_JGT | BPF_X, 0, 1, 0), 0xffffffff, 1, true },
        { "JGT X 1 > 0x80000000 is false", Jump(BPF_JMP | BPF_JGT | BPF_X, 0, 1, 0), 1, 0x80000000, false },
        { "JGE K equal", Jump(BPF_JMP | BPF_JGE | BPF_K, 5, 1, 0), 5, 0, true },
        { "JGE K below", Jump(BPF_JMP | BPF_JGE | BPF_K, 5, 1, 0), 4, 0, false },
        { "JGE K is unsigned (0x80000000 >= 1)", Jump(BPF_JMP | BPF_JGE | BPF_K, 1, 1, 0), 0x80000000, 0, true },
        { "JGE X equal", Jump(BPF_JMP | BPF_JGE | BPF_X, 0, 1, 0), 0xffffffff, 0xffffffff, true },
        { "JGE X is unsigned (1 >= 0xffffffff is false)", Jump(BPF_JMP | BPF_JGE | BPF_X, 0, 1, 0), 1, 0xffffffff, false },
        { "JSET K common bit", Jump(BPF_JMP | BPF_JSET | BPF_K, 0x80000000, 1, 0), 0x80000001, 0, true },
        { "JSET K no common bit", Jump(BPF_JMP | BPF_JSET | BPF_K, 0x2, 1, 0), 0x5, 0, false },
        { "JSET X common bit", Jump(BPF_JMP | BPF_JSET | BPF_X, 0, 1, 0), 0x6, 0x4, true },
        { "JSET X no common bit", Jump(BPF_JMP | BPF_JSET | BPF_X, 0, 1, 0), 0x6, 0x1, false },
    };

    [Theory]
    [MemberData(nameof(Jumps))]
    public void Conditional_jumps_compare_unsigned(string desc, Instruction jump, uint a, uint x, bool taken)
    {
        var program = BpfProgram.Create([
            Stmt(BPF_LD | BPF_IMM, a),          // A = a
            Stmt(BPF_LDX | BPF_IMM, x),         // X = x
            jump,                               // if (test) goto pc 4 (jt = 1) else next (jf = 0)
            Stmt(BPF_RET | BPF_K, 0xf),         // return 0xf: the jf side
            Stmt(BPF_RET | BPF_K, 0x7),         // return 0x7: the jt side
        ]);
        var r = Interpreter.Run(program, TestPrograms.Data, trace: true);
        Assert.True((taken ? 0x7u : 0xfu) == r.Value, desc);
        Assert.Equal(taken ? [0, 1, 2, 4] : [0, 1, 2, 3], r.Path.ToArray());
        Assert.Equal(r.Value, Interpreter.Evaluate(program, TestPrograms.Data));
    }

    [Fact]
    public void DIV_X_by_zero_ends_the_run_with_0_and_says_so()
    {
        var program = BpfProgram.Create([
            Stmt(BPF_LD | BPF_IMM, 10),               // A = 10
            Stmt(BPF_ALU | BPF_DIV | BPF_X, 0),       // A /= X (X == 0)
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), // return ALLOW: never reached
        ]);
        var r = Interpreter.Run(program, TestPrograms.Data, trace: true);
        Assert.Equal(0u, r.Value);
        Assert.True(r.DivisionByZero);
        Assert.Equal(2, r.Executed);
        Assert.Equal([0, 1], r.Path.ToArray());
        Assert.Equal(SeccompAction.KillThread, r.Result.Action);
        Assert.Equal(0u, Interpreter.Evaluate(program, TestPrograms.Data));
    }

    [Fact]
    public void Executed_counts_only_the_instructions_on_the_path_and_Path_is_recorded_only_when_traced()
    {
        var program = BpfProgram.Create([
            Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                       // A = arch
            Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 0, 4), // if (A != X86_64) goto pc 6
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                       // A = nr
            Jump(BPF_JMP | BPF_JGT | BPF_K, 0x100, 0, 1),            // if (A > 0x100) next else goto pc 5
            Jump(BPF_JMP | BPF_JA, 1, 0, 0),                         // goto pc 6
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                // return ALLOW
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),            // return ERRNO(EPERM)
        ]);
        var traced = Interpreter.Run(program, TestPrograms.Data, trace: true);   // nr 0x101 > 0x100
        Assert.Equal(SECCOMP_RET_ERRNO | 1, traced.Value);
        Assert.Equal([0, 1, 2, 3, 4, 6], traced.Path.ToArray());
        Assert.Equal(6, traced.Executed);

        var plain = Interpreter.Run(program, TestPrograms.Data with { Nr = 3 });
        Assert.Equal(SECCOMP_RET_ALLOW, plain.Value);
        Assert.Equal(5, plain.Executed);
        Assert.True(plain.Path.IsEmpty);

        var otherArch = Interpreter.Run(program, TestPrograms.Data with { Arch = TestPrograms.I386 }, trace: true);
        Assert.Equal([0, 1, 6], otherArch.Path.ToArray());
    }
}
