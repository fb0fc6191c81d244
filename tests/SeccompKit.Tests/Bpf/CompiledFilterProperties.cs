using CsCheck;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;

namespace SeccompKit.Tests.Bpf;

/// <summary>
/// <see cref="CompiledFilter"/> (IL emitted per program) is differential-tested against the interpreter:
/// generated programs of every seccomp opcode, the per-opcode semantics tables of <see cref="InterpreterSpecs"/>,
/// and the edge cases the code generator treats specially. The kernel differential tests in
/// SeccompKit.Linux.Tests also run it against the real kernel.
/// </summary>
public class CompiledFilterProperties
{
    [Fact]
    public void Compiled_filters_equal_the_interpreter_on_generated_programs_and_inputs()
    {
        long runs = 0, divisionByZero = 0;
        Gen.Select(RoundTripProperties.ValidPrograms, FastPathProperties.Inputs.Array[6]).Sample((p, inputs) =>
        {
            var program = BpfProgram.Create(p);
            var compiled = CompiledFilter.Compile(program);
            Assert.True(compiled.IsCompiled);
            Assert.Same(program, compiled.Program);
            foreach (var d in inputs)
            {
                var traced = Interpreter.Run(program, d);
                Assert.Equal(traced.Value, compiled.Evaluate(d));
                Interlocked.Increment(ref runs);
                if (traced.DivisionByZero) Interlocked.Increment(ref divisionByZero);
            }
        }, iter: 10_000, print: t => FastPathProperties.Show(t.Item1, t.Item2));
        Assert.True(runs >= 60_000, $"only {runs} comparisons ran");
        Assert.True(divisionByZero > 0, "no generated run divided by zero");
    }

    [Theory]
    [MemberData(nameof(InterpreterSpecs.Alu), MemberType = typeof(InterpreterSpecs))]
    public void Each_instruction_has_the_kernels_32_bit_semantics(string desc, Instruction[] program, uint expected)
    {
        uint got = CompiledFilter.Compile(BpfProgram.Create(program)).Evaluate(TestPrograms.Data);
        Assert.True(expected == got, $"{desc}: expected 0x{expected:x8}, got 0x{got:x8}");
    }

    [Theory]
    [MemberData(nameof(InterpreterSpecs.Loads), MemberType = typeof(InterpreterSpecs))]
    public void LD_W_ABS_reads_the_little_endian_word_at_its_offset(string desc, uint offset, uint expected)
    {
        var program = BpfProgram.Create([Stmt(BPF_LD | BPF_W | BPF_ABS, offset), Stmt(BPF_RET | BPF_A, 0)]);
        Assert.True(expected == CompiledFilter.Compile(program).Evaluate(TestPrograms.Data), desc);
    }

    [Theory]
    [MemberData(nameof(InterpreterSpecs.Jumps), MemberType = typeof(InterpreterSpecs))]
    public void Conditional_jumps_compare_unsigned(string desc, Instruction jump, uint a, uint x, bool taken)
    {
        // Both layouts: the taken side after the fall-through one, and (jt = 0, jf = 1) the other way round.
        foreach (var (j, takenValue) in new[] { (jump, 0x7u), (jump with { Jt = 0, Jf = 1 }, 0xfu) })
        {
            var program = BpfProgram.Create([
                Stmt(BPF_LD | BPF_IMM, a), Stmt(BPF_LDX | BPF_IMM, x), j,
                Stmt(BPF_RET | BPF_K, 0xf), Stmt(BPF_RET | BPF_K, 0x7),
            ]);
            uint expected = taken ? takenValue : takenValue ^ 0x8;
            Assert.True(expected == CompiledFilter.Compile(program).Evaluate(TestPrograms.Data), desc);
            Assert.Equal(expected, Interpreter.Evaluate(program, TestPrograms.Data));
        }
    }

    [Fact]
    public void DIV_X_by_zero_returns_0_and_shifts_by_X_use_its_low_5_bits()
    {
        var div = BpfProgram.Create([
            Stmt(BPF_LD | BPF_IMM, 10), Stmt(BPF_ALU | BPF_DIV | BPF_X, 0), Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW),
        ]);
        Assert.Equal(0u, CompiledFilter.Compile(div).Evaluate(TestPrograms.Data));
        var shifts = BpfProgram.Create([
            Stmt(BPF_LD | BPF_IMM, 1), Stmt(BPF_LDX | BPF_IMM, 33), Stmt(BPF_ALU | BPF_LSH | BPF_X, 0), // A = 1 << (33 & 31)
            Stmt(BPF_LDX | BPF_IMM, 0xffffffe1), Stmt(BPF_ALU | BPF_RSH | BPF_X, 0),                  // A >>= (0xffffffe1 & 31)
            Stmt(BPF_RET | BPF_A, 0),
        ]);
        Assert.Equal(1u, CompiledFilter.Compile(shifts).Evaluate(TestPrograms.Data));
        Assert.Equal(1u, Interpreter.Evaluate(shifts, TestPrograms.Data));
    }

    [Fact]
    public void A_maximal_program_of_4096_instructions_compiles_and_agrees()
    {
        // A chain of JEQ K over nr with every jump reaching as far as it can, then RET A.
        var p = new Instruction[4096];
        p[0] = Stmt(BPF_LD | BPF_W | BPF_ABS, 0);
        for (int pc = 1; pc < p.Length - 1; pc++)
            p[pc] = Jump(BPF_JMP | BPF_JEQ | BPF_K, (uint)pc, (byte)Math.Min(255, p.Length - 2 - pc), 0);
        p[^1] = Stmt(BPF_RET | BPF_A, 0);
        var program = BpfProgram.Create(p);
        var compiled = CompiledFilter.Compile(program);
        foreach (int nr in new[] { 0, 1, 2, 100, 3000, 4094, 4095, 5000, -1 })
        {
            var d = new SeccompData(nr, TestPrograms.X86_64);
            Assert.Equal(Interpreter.Run(program, d).Value, compiled.Evaluate(d));
        }
    }
}
