using System.Collections.Immutable;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf.Optimization;

/// <summary>
/// One optimisation: a pure function from a valid program to an equivalent valid program. It must not
/// change what the program returns for any input, and must not make a path longer.
/// </summary>
public interface IOptimizationPass
{
    /// <summary>Short name for reports.</summary>
    string Name { get; }

    /// <summary>Runs the pass; <paramref name="changed"/> says whether the output differs from the input.</summary>
    ImmutableArray<Instruction> Run(ImmutableArray<Instruction> program, out bool changed);
}

/// <summary>Helpers shared by the passes.</summary>
internal static class PassHelpers
{
    public static ImmutableArray<Instruction> Finish(ImmutableArray<Instruction> input, FlowGraph g, out bool changed)
    {
        var output = g.Emit();
        changed = !output.SequenceEqual(input);
        return changed ? output : input;
    }

    /// <summary>
    /// True when the program uses scratch memory. The kernel's memory check (<c>check_load_and_stores</c>)
    /// walks instructions in pc order with a quirk (a RET does not reset what it knows), so moving code
    /// around can turn an accepted program into a refused one; passes leave such programs alone.
    /// Compiled policies never use memory.
    /// </summary>
    public static bool UsesMemory(ImmutableArray<Instruction> program) =>
        program.Any(i => i.Class is BPF_ST or BPF_STX || (i.Class is BPF_LD or BPF_LDX && BPF_MODE(i.Code) == BPF_MEM));

    public static bool IsRet(this FlowGraph g, int i) => i < g.Count && g.Nodes[i].Ins.IsReturn;
}

/// <summary>
/// Conditional jumps whose outcome does not depend on A become unconditional: <c>A &gt;= 0</c> is
/// always true, <c>A &gt; 0xffffffff</c> and <c>A &amp; 0</c> never, and a jump whose two targets are
/// the same goes there either way. Lowering produces these at the edges of 64-bit comparisons.
/// </summary>
public sealed class FoldConstantJumps : IOptimizationPass
{
    /// <inheritdoc/>
    public string Name => "fold-constant-jumps";

    /// <inheritdoc/>
    public ImmutableArray<Instruction> Run(ImmutableArray<Instruction> program, out bool changed)
    {
        if (PassHelpers.UsesMemory(program)) { changed = false; return program; }
        var g = FlowGraph.From(program.AsSpan());
        var nodes = g.Nodes;
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (!n.Ins.IsConditionalJump || BPF_SRC(n.Ins.Code) != BPF_K) continue;
            int? target = null;
            if (n.Jt == n.Jf) target = n.Jt;
            else
                switch (BPF_OP(n.Ins.Code))
                {
                    case BPF_JGE when n.Ins.K == 0: target = n.Jt; break;
                    case BPF_JGT when n.Ins.K == uint.MaxValue: target = n.Jf; break;
                    case BPF_JSET when n.Ins.K == 0: target = n.Jf; break;
                }
            if (target is int t) nodes[i] = new(Instruction.Stmt(BPF_JMP | BPF_JA, 0), t, -1, false);
        }
        return PassHelpers.Finish(program, g, out changed);
    }
}

/// <summary>
/// Jumps to a <c>JA</c> go straight to its target (when a conditional jump can still reach it in 8
/// bits), and a <c>JA</c> to a <c>RET</c> becomes that <c>RET</c>: each saves one executed instruction.
/// </summary>
public sealed class ThreadJumps : IOptimizationPass
{
    /// <inheritdoc/>
    public string Name => "thread-jumps";

    /// <inheritdoc/>
    public ImmutableArray<Instruction> Run(ImmutableArray<Instruction> program, out bool changed)
    {
        if (PassHelpers.UsesMemory(program)) { changed = false; return program; }
        var g = FlowGraph.From(program.AsSpan());
        var nodes = g.Nodes;
        int Final(int t)
        {
            for (int hops = 0; hops < nodes.Length && t < nodes.Length && nodes[t].Ins.IsUnconditionalJump; hops++) t = nodes[t].Jt;
            return t;
        }
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (n.Ins.IsUnconditionalJump)
            {
                int f = Final(n.Jt);
                if (g.IsRet(f)) nodes[i] = new(nodes[f].Ins, -1, -1, false);
                else if (f != n.Jt) nodes[i] = n with { Jt = f };
            }
            else if (n.Ins.IsConditionalJump)
            {
                int jt = Final(n.Jt), jf = Final(n.Jf);
                // Deleting instructions later only shortens distances, so the current layout is a safe bound.
                if (jt - i - 1 > 255) jt = n.Jt;
                if (jf - i - 1 > 255) jf = n.Jf;
                nodes[i] = n with { Jt = jt, Jf = jf };
            }
        }
        return PassHelpers.Finish(program, g, out changed);
    }
}

/// <summary>
/// Removes <c>A = seccomp_data[k]</c> when A already holds that word on every path into it (checks on
/// one argument reload it; comparisons do not change A).
/// </summary>
public sealed class RemoveRedundantLoads : IOptimizationPass
{
    /// <inheritdoc/>
    public string Name => "remove-redundant-loads";

    private const long Unknown = -1, Unset = -2;

    /// <inheritdoc/>
    public ImmutableArray<Instruction> Run(ImmutableArray<Instruction> program, out bool changed)
    {
        if (PassHelpers.UsesMemory(program)) { changed = false; return program; }
        var g = FlowGraph.From(program.AsSpan());
        var nodes = g.Nodes;
        var inState = new long[nodes.Length + 1];
        Array.Fill(inState, Unset);
        if (nodes.Length > 0) inState[0] = Unknown;
        void Flow(int to, long value)
        {
            if (to >= inState.Length) return;
            inState[to] = inState[to] == Unset ? value : inState[to] == value ? value : Unknown;
        }
        var remove = new bool[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            if (inState[i] == Unset) continue; // unreachable
            var ins = nodes[i].Ins;
            long outState;
            if (ins.Code == (BPF_LD | BPF_W | BPF_ABS))
            {
                if (inState[i] == ins.K) remove[i] = true;
                outState = ins.K;
            }
            else if (ins.Class is BPF_LD or BPF_ALU || ins.Code == (BPF_MISC | BPF_TXA)) outState = Unknown;
            else outState = inState[i];
            if (ins.IsReturn) continue;
            if (ins.IsUnconditionalJump) Flow(nodes[i].Jt, outState);
            else if (ins.IsConditionalJump) { Flow(nodes[i].Jt, outState); Flow(nodes[i].Jf, outState); }
            else Flow(i + 1, outState);
        }
        for (int i = 0; i < nodes.Length; i++)
            if (remove[i]) nodes[i] = nodes[i] with { Deleted = true };
        return PassHelpers.Finish(program, g, out changed);
    }
}

/// <summary>
/// Jumps to a <c>RET k</c> are aimed at the farthest identical <c>RET k</c> they can reach, so copies
/// made by lowering become unreachable and disappear; the executed path is unchanged.
/// </summary>
public sealed class MergeReturns : IOptimizationPass
{
    /// <inheritdoc/>
    public string Name => "merge-returns";

    /// <inheritdoc/>
    public ImmutableArray<Instruction> Run(ImmutableArray<Instruction> program, out bool changed)
    {
        if (PassHelpers.UsesMemory(program)) { changed = false; return program; }
        var g = FlowGraph.From(program.AsSpan());
        var nodes = g.Nodes;
        var byValue = new Dictionary<Instruction, List<int>>();
        for (int i = 0; i < nodes.Length; i++)
            if (nodes[i].Ins.IsReturn)
                (byValue.TryGetValue(nodes[i].Ins, out var l) ? l : byValue[nodes[i].Ins] = []).Add(i);
        int Farthest(int from, int target, int limit)
        {
            if (!g.IsRet(target)) return target;
            var list = byValue[nodes[target].Ins];
            int best = target;
            foreach (var p in list)
                if (p > best && p - from - 1 <= limit) best = p;
            return best;
        }
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (n.Ins.IsConditionalJump)
                nodes[i] = n with { Jt = Farthest(i, n.Jt, 255), Jf = Farthest(i, n.Jf, 255) };
        }
        return PassHelpers.Finish(program, g, out changed);
    }
}

/// <summary>Deletes instructions no path from the first instruction reaches.</summary>
public sealed class RemoveUnreachable : IOptimizationPass
{
    /// <inheritdoc/>
    public string Name => "remove-unreachable";

    /// <inheritdoc/>
    public ImmutableArray<Instruction> Run(ImmutableArray<Instruction> program, out bool changed)
    {
        if (PassHelpers.UsesMemory(program)) { changed = false; return program; }
        var g = FlowGraph.From(program.AsSpan());
        var seen = g.Reachable();
        for (int i = 0; i < g.Count; i++)
            if (!seen[i]) g.Nodes[i] = g.Nodes[i] with { Deleted = true };
        return PassHelpers.Finish(program, g, out changed);
    }
}

/// <summary>
/// Runs an ordered list of passes until none changes the program (gVisor's optimiser style).
/// </summary>
public static class BpfOptimizer
{
    /// <summary>
    /// The passes in order. Constraints: folding turns constant jumps into JAs, which threading then
    /// removes; threading and return merging orphan instructions, which the last pass deletes;
    /// load removal is independent and runs once the jumps are settled.
    /// </summary>
    public static ImmutableArray<IOptimizationPass> DefaultPasses { get; } =
        [new FoldConstantJumps(), new ThreadJumps(), new MergeReturns(), new RemoveRedundantLoads(), new RemoveUnreachable()];

    /// <summary>Runs <paramref name="passes"/> (default: <see cref="DefaultPasses"/>) to a fixpoint (at most 32 rounds).</summary>
    public static ImmutableArray<Instruction> Optimize(ImmutableArray<Instruction> program, IReadOnlyList<IOptimizationPass>? passes = null)
    {
        passes ??= DefaultPasses;
        for (int round = 0; round < 32; round++)
        {
            bool any = false;
            foreach (var p in passes)
            {
                program = p.Run(program, out bool c);
                any |= c;
            }
            if (!any) break;
        }
        return program;
    }
}
