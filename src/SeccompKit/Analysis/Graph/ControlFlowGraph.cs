using System.Collections.Immutable;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Analysis.Graph;

/// <summary>
/// A run of instructions entered only at its first and left only after its last: a jump target or the instruction
/// after a jump or return starts one; a jump or return ends one.
/// </summary>
/// <param name="Index">The block's position in <see cref="ControlFlowGraph.Blocks"/> (blocks are in pc order).</param>
/// <param name="Start">The pc of its first instruction.</param>
/// <param name="End">The pc of its last instruction (inclusive).</param>
/// <param name="Statements">Its instructions as <c>disasm</c> prints them, one per pc (<see cref="Disassembler.Statements(ReadOnlySpan{Instruction}, IBpfSymbols?)"/>).</param>
/// <param name="Return">The value of the <c>return k</c> that ends it, null when it ends otherwise (a jump, <c>return A</c>, or the next block).</param>
/// <param name="Reachable">False when no path from pc 0 reaches it (the validator accepts dead code).</param>
public sealed record BasicBlock(int Index, int Start, int End, ImmutableArray<string> Statements, uint? Return, bool Reachable)
{
    /// <summary>The number of instructions.</summary>
    public int Length => End - Start + 1;

    /// <summary>True when the block is a lone <c>return k</c>: a leaf that says only which action the path gives.</summary>
    public bool IsLeaf => Return is not null && Length == 1;
}

/// <summary>How control leaves a block along an edge.</summary>
public enum EdgeKind
{
    /// <summary>Always: the next instruction, or <c>goto</c>.</summary>
    Always,
    /// <summary>The jump's condition holds (<c>jt</c>).</summary>
    True,
    /// <summary>The jump's condition fails (<c>jf</c>).</summary>
    False,
    /// <summary>A conditional jump whose two branches reach the same block: taken whatever A holds.</summary>
    Both,
}

/// <summary>One edge of the control-flow graph.</summary>
/// <param name="From">Index of the block left.</param>
/// <param name="To">Index of the block entered.</param>
/// <param name="Kind">Which way control goes.</param>
/// <param name="Label">
/// What holds along the edge, named by what A holds there (<see cref="ProgramAnalysis"/>): the syscall under the arch
/// the path has checked (<c>read</c>, <c>≥ openat</c>), the arch (<c>x86_64</c>), an argument half
/// (<c>args[0] &amp; 0x7e020000</c>), or the register (<c>A == 0x5</c>); null on unconditional edges and on the
/// false side of <c>==</c> and <c>&amp;</c> tests (their negation says nothing new).
/// </param>
public sealed record CfgEdge(int From, int To, EdgeKind Kind, string? Label);

/// <summary>
/// The control-flow graph of one classic BPF program: its basic blocks in pc order and the edges between them, each
/// conditional edge labelled with what it tests in seccomp terms (syscall and arch names from an
/// <see cref="IBpfSymbols"/>, e.g. the Syscalls layer's <c>SyscallSymbols</c>). Classic BPF jumps only forward, so the
/// graph is acyclic and pc order is a topological order.
/// </summary>
public sealed class ControlFlowGraph
{
    private readonly int[] _blockOfPc;

    private ControlFlowGraph(ImmutableArray<Instruction> program, ImmutableArray<BasicBlock> blocks, ImmutableArray<CfgEdge> edges, int[] blockOfPc)
    {
        Program = program;
        Blocks = blocks;
        Edges = edges;
        _blockOfPc = blockOfPc;
    }

    /// <summary>The instructions the graph was built from.</summary>
    public ImmutableArray<Instruction> Program { get; }

    /// <summary>The basic blocks, in pc order; every instruction is in exactly one.</summary>
    public ImmutableArray<BasicBlock> Blocks { get; }

    /// <summary>Every edge, in order of the block left, then jt before jf.</summary>
    public ImmutableArray<CfgEdge> Edges { get; }

    /// <summary>The block that holds the instruction at <paramref name="pc"/>.</summary>
    public BasicBlock BlockOf(int pc) => Blocks[_blockOfPc[pc]];

    /// <summary>Builds the graph of a validated program.</summary>
    public static ControlFlowGraph Build(BpfProgram program, IBpfSymbols? symbols = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        return Build(program.Instructions, symbols);
    }

    /// <summary>
    /// Builds the graph of a program the validator accepts (every jump lands inside it, the last instruction returns).
    /// </summary>
    /// <exception cref="ArgumentException">A jump leaves the program or the last instruction does not return: validate it first (<see cref="BpfProgram.Create"/>).</exception>
    public static ControlFlowGraph Build(ImmutableArray<Instruction> program, IBpfSymbols? symbols = null)
    {
        int n = program.Length;
        if (n == 0) throw new ArgumentException("the program is empty; a seccomp filter has at least one instruction", nameof(program));
        var span = program.AsSpan();
        var facts = ProgramAnalysis.Analyze(span);
        var statements = Disassembler.Statements(span, symbols);

        // Leaders: pc 0, every jump target, every instruction after a jump or a return.
        var leader = new bool[n];
        leader[0] = true;
        for (int pc = 0; pc < n; pc++)
        {
            foreach (var (target, _) in Successors(program[pc], pc))
            {
                if (target >= n) throw new ArgumentException($"the jump at pc {pc} lands outside the program (pc {target}); validate the program first", nameof(program));
                leader[target] = true;
            }
            if (Ends(program[pc]) && pc + 1 < n) leader[pc + 1] = true;
        }
        if (!Ends(program[n - 1]))
            throw new ArgumentException($"the last instruction (pc {n - 1}) neither returns nor jumps; validate the program first", nameof(program));

        var blockOfPc = new int[n];
        var blocks = ImmutableArray.CreateBuilder<BasicBlock>();
        for (int start = 0; start < n;)
        {
            int end = start;
            while (!Ends(program[end]) && !leader[end + 1]) end++;
            var last = program[end];
            uint? ret = last.Code == (BPF_RET | BPF_K) ? last.K : null;
            for (int pc = start; pc <= end; pc++) blockOfPc[pc] = blocks.Count;
            blocks.Add(new BasicBlock(blocks.Count, start, end, [.. statements.AsSpan(start, end - start + 1)], ret, facts[start].Reachable));
            start = end + 1;
        }

        var edges = ImmutableArray.CreateBuilder<CfgEdge>();
        foreach (var block in blocks)
        {
            int pc = block.End;
            var ins = program[pc];
            var successors = Successors(ins, pc);
            if (successors.Count == 0 && !Ends(ins)) successors = [(pc + 1, EdgeKind.Always)];
            foreach (var (target, kind) in successors)
                edges.Add(new CfgEdge(block.Index, blockOfPc[target], kind, EdgeLabels.Of(ins, kind, facts[pc], symbols)));
        }
        return new ControlFlowGraph(program, blocks.ToImmutable(), edges.ToImmutable(), blockOfPc);
    }

    private static bool Ends(Instruction ins) => BPF_CLASS(ins.Code) is BPF_RET or BPF_JMP;

    /// <summary>Where control goes after <paramref name="ins"/> when it is a jump or return (empty for a return).</summary>
    private static List<(long Target, EdgeKind Kind)> Successors(Instruction ins, int pc)
    {
        if (BPF_CLASS(ins.Code) != BPF_JMP) return [];
        if (BPF_OP(ins.Code) == BPF_JA) return [(pc + 1 + (long)ins.K, EdgeKind.Always)];
        if (ins.Jt == ins.Jf) return [(pc + 1 + ins.Jt, EdgeKind.Both)];
        return [(pc + 1 + ins.Jt, EdgeKind.True), (pc + 1 + ins.Jf, EdgeKind.False)];
    }
}
