using System.Collections.Immutable;
using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Bpf.Optimization;
using SeccompKit.Tests.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Tests.Compiler;

/// <summary>Each BPF optimisation pass alone: table cases with meaning comments, and a property over random valid programs.</summary>
public class OptimizationPassSpecs
{
    private static Instruction Ld(uint k) => Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, k);
    private static Instruction Ret(uint k) => Instruction.Stmt(BPF_RET | BPF_K, k);
    private static Instruction Ja(uint k) => Instruction.Stmt(BPF_JMP | BPF_JA, k);
    private static Instruction J(ushort op, uint k, byte jt, byte jf) => Instruction.Jump((ushort)(BPF_JMP | op | BPF_K), k, jt, jf);
    private const uint Allow = SeccompReturn.SECCOMP_RET_ALLOW, Kill = SeccompReturn.SECCOMP_RET_KILL_PROCESS;

    public static TheoryData<string, IOptimizationPass, Instruction[], Instruction[]> Cases() => new()
    {
        { "A >= 0 always holds: the jump becomes unconditional and the false branch disappears", new FoldConstantJumps(),
            [Ld(0),                  // A = nr
             J(BPF_JGE, 0, 1, 0),    // if (A >= 0) goto allow
             Ret(Kill),              // (never)
             Ret(Allow)],
            [Ld(0), Ja(1), Ret(Kill), Ret(Allow)] },   // the dead RET goes in remove-unreachable
        { "A > 0xffffffff never holds", new FoldConstantJumps(),
            [Ld(0), J(BPF_JGT, 0xffffffff, 1, 0), Ret(Kill), Ret(Allow)],
            [Ld(0), Ret(Kill), Ret(Allow)] },   // "goto next" needs no instruction
        { "a jump to a JA goes straight to its target", new ThreadJumps(),
            [Ld(0),                  // A = nr
             J(BPF_JEQ, 1, 0, 1),    // if (A == 1) goto 2 (ja) else goto 3
             Ja(1),                  // goto 4
             Ret(Kill),
             Ret(Allow)],
            [Ld(0), J(BPF_JEQ, 1, 2, 1), Ret(Allow), Ret(Kill), Ret(Allow)] },   // the JA is now dead (and became a RET copy)
        { "a JA to a RET becomes the RET", new ThreadJumps(),
            [Ja(1), Ret(Kill), Ret(Allow)],
            [Ret(Allow), Ret(Kill), Ret(Allow)] },
        { "a reload of the word A already holds is removed", new RemoveRedundantLoads(),
            [Ld(16),                 // A = args[0] low
             J(BPF_JEQ, 1, 3, 0),    // if (A == 1) goto allow
             Ld(16),                 // A = args[0] low again (redundant)
             J(BPF_JEQ, 2, 1, 0),    // if (A == 2) goto allow
             Ret(Kill),
             Ret(Allow)],
            [Ld(16), J(BPF_JEQ, 1, 2, 0), J(BPF_JEQ, 2, 1, 0), Ret(Kill), Ret(Allow)] },
        { "a load after an ALU op is not redundant", new RemoveRedundantLoads(),
            [Ld(16), Instruction.Stmt(BPF_ALU | BPF_AND | BPF_K, 1), Ld(16), Ret(Allow)],
            [Ld(16), Instruction.Stmt(BPF_ALU | BPF_AND | BPF_K, 1), Ld(16), Ret(Allow)] },
        { "a load is redundant only if every incoming path holds the word", new RemoveRedundantLoads(),
            [Ld(0),                  // A = nr
             J(BPF_JEQ, 1, 0, 1),    // if (A == 1) goto 2 else goto 3
             Ld(16),                 // A = args[0]
             Ld(16),                 // reached with A = nr or args[0]: kept
             Ret(Allow)],
            [Ld(0), J(BPF_JEQ, 1, 0, 1), Ld(16), Ld(16), Ret(Allow)] },
        { "jumps aim at the farthest identical RET, so the nearer copy becomes dead", new MergeReturns(),
            [Ld(0), J(BPF_JEQ, 1, 0, 1), Ret(Allow), J(BPF_JEQ, 2, 1, 0), Ret(Kill), Ret(Allow)],
            [Ld(0), J(BPF_JEQ, 1, 3, 1), Ret(Allow), J(BPF_JEQ, 2, 1, 0), Ret(Kill), Ret(Allow)] },
        { "unreachable instructions are removed and jumps re-offset", new RemoveUnreachable(),
            [Ld(0), J(BPF_JEQ, 1, 2, 0), Ret(Kill), Ret(Kill), Ret(Allow)],
            [Ld(0), J(BPF_JEQ, 1, 1, 0), Ret(Kill), Ret(Allow)] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_pass_rewrites_as_described(string desc, IOptimizationPass pass, Instruction[] input, Instruction[] expected)
    {
        var output = pass.Run([.. input], out bool changed);
        Assert.True(expected.SequenceEqual(output), $"{desc}\nexpected:\n{Disassembler.DisassembleRaw(expected)}\ngot:\n{Disassembler.DisassembleRaw(output.AsSpan())}");
        Assert.Equal(!expected.SequenceEqual(input), changed);
    }

    public static TheoryData<string> PassNames() => new(BpfOptimizer.DefaultPasses.Select(p => p.Name));

    [Theory]
    [MemberData(nameof(PassNames))]
    public void A_pass_alone_keeps_every_result_and_never_lengthens_a_path(string name)
    {
        var pass = BpfOptimizer.DefaultPasses.Single(p => p.Name == name);
        Gen.Select(RoundTripProperties.ValidPrograms, FastPathProperties.Inputs.Array[8]).Sample((p, inputs) =>
        {
            var before = BpfProgram.Create(p);
            var output = pass.Run([.. p], out _);
            var after = BpfProgram.Create(output.AsSpan()); // still valid for the kernel
            foreach (var d in inputs)
            {
                var x = Interpreter.Run(before, d);
                var y = Interpreter.Run(after, d);
                Assert.Equal(x.Value, y.Value);
                Assert.True(y.Executed <= x.Executed, $"{name} lengthened a path: {x.Executed} -> {y.Executed}");
            }
        }, iter: 3000);
    }
}
