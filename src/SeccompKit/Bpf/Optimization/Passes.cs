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

/// <summary>A pass over a <see cref="FlowGraph"/>; <see cref="Run"/> wraps it for instruction arrays.</summary>
public abstract class GraphPass : IOptimizationPass
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <summary>Rewrites the graph in place; true when anything changed.</summary>
    internal abstract bool Apply(FlowGraph g);

    /// <inheritdoc/>
    public ImmutableArray<Instruction> Run(ImmutableArray<Instruction> program, out bool changed)
    {
        if (PassHelpers.UsesMemory(program)) { changed = false; return program; }
        var g = FlowGraph.From(program.AsSpan());
        Apply(g);
        return PassHelpers.Finish(program, g, out changed);
    }
}

/// <summary>
/// Conditional jumps whose outcome does not depend on A become unconditional: <c>A &gt;= 0</c> is
/// always true, <c>A &gt; 0xffffffff</c> and <c>A &amp; 0</c> never, and a jump whose two targets are
/// the same goes there either way. Lowering produces these at the edges of 64-bit comparisons.
/// </summary>
public sealed class FoldConstantJumps : GraphPass
{
    /// <inheritdoc/>
    public override string Name => "fold-constant-jumps";

    internal override bool Apply(FlowGraph g)
    {
        var nodes = g.Nodes;
        bool changed = false;
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (n.Deleted || !n.Ins.IsConditionalJump || BPF_SRC(n.Ins.Code) != BPF_K) continue;
            int? target = null;
            if (g.Resolve(n.Jt) == g.Resolve(n.Jf)) target = n.Jt;
            else
                switch (BPF_OP(n.Ins.Code))
                {
                    case BPF_JGE when n.Ins.K == 0: target = n.Jt; break;
                    case BPF_JGT when n.Ins.K == uint.MaxValue: target = n.Jf; break;
                    case BPF_JSET when n.Ins.K == 0: target = n.Jf; break;
                }
            if (target is int t) { nodes[i] = new(Instruction.Stmt(BPF_JMP | BPF_JA, 0), t, -1, false); changed = true; }
        }
        return changed;
    }
}

/// <summary>
/// Jumps to a <c>JA</c> go straight to its target (when a conditional jump can still reach it in 8
/// bits), and a <c>JA</c> to a <c>RET</c> becomes that <c>RET</c>: each saves one executed instruction.
/// </summary>
public sealed class ThreadJumps : GraphPass
{
    /// <inheritdoc/>
    public override string Name => "thread-jumps";

    internal override bool Apply(FlowGraph g)
    {
        var nodes = g.Nodes;
        bool changed = false;
        int Final(int t)
        {
            t = g.Resolve(t);
            for (int hops = 0; hops < nodes.Length && t < nodes.Length && nodes[t].Ins.IsUnconditionalJump; hops++) t = g.Resolve(nodes[t].Jt);
            return t;
        }
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (n.Deleted) continue;
            if (n.Ins.IsUnconditionalJump)
            {
                int f = Final(n.Jt);
                if (g.IsRet(f)) { nodes[i] = new(nodes[f].Ins, -1, -1, false); changed = true; }
                else if (f != g.Resolve(n.Jt)) { nodes[i] = n with { Jt = f }; changed = true; }
            }
            else if (n.Ins.IsConditionalJump)
            {
                int jt = Final(n.Jt), jf = Final(n.Jf);
                // Distances in node indices (deleted nodes included) only shrink when laid out, so this is safe.
                if (jt - i - 1 > 255) jt = g.Resolve(n.Jt);
                if (jf - i - 1 > 255) jf = g.Resolve(n.Jf);
                if (jt != g.Resolve(n.Jt) || jf != g.Resolve(n.Jf)) { nodes[i] = n with { Jt = jt, Jf = jf }; changed = true; }
            }
        }
        return changed;
    }
}

/// <summary>
/// Removes <c>A = seccomp_data[k]</c> when A already holds that word on every path into it (checks on
/// one argument reload it; comparisons do not change A).
/// </summary>
public sealed class RemoveRedundantLoads : GraphPass
{
    /// <inheritdoc/>
    public override string Name => "remove-redundant-loads";

    private const long Unknown = -1, Unset = -2;

    internal override bool Apply(FlowGraph g)
    {
        var nodes = g.Nodes;
        var inState = new long[nodes.Length + 1];
        Array.Fill(inState, Unset);
        int first = g.Resolve(0);
        if (first < nodes.Length) inState[first] = Unknown;
        void Flow(int to, long value)
        {
            to = g.Resolve(to);
            if (to >= inState.Length) return;
            inState[to] = inState[to] == Unset ? value : inState[to] == value ? value : Unknown;
        }
        bool changed = false;
        for (int i = 0; i < nodes.Length; i++)
        {
            if (nodes[i].Deleted || inState[i] == Unset) continue; // unreachable
            var ins = nodes[i].Ins;
            long outState;
            if (ins.Code == (BPF_LD | BPF_W | BPF_ABS))
            {
                if (inState[i] == ins.K) { nodes[i] = nodes[i] with { Deleted = true }; changed = true; }
                outState = ins.K;
            }
            else if (ins.Class is BPF_LD or BPF_ALU || ins.Code == (BPF_MISC | BPF_TXA)) outState = Unknown;
            else outState = inState[i];
            if (ins.IsReturn) continue;
            if (ins.IsUnconditionalJump) Flow(nodes[i].Jt, outState);
            else if (ins.IsConditionalJump) { Flow(nodes[i].Jt, outState); Flow(nodes[i].Jf, outState); }
            else Flow(i + 1, outState);
        }
        return changed;
    }
}

/// <summary>
/// Jumps to a <c>RET k</c> are aimed at the farthest identical <c>RET k</c> they can reach, so copies
/// made by lowering become unreachable and disappear; the executed path is unchanged.
/// </summary>
public sealed class MergeReturns : GraphPass
{
    /// <inheritdoc/>
    public override string Name => "merge-returns";

    internal override bool Apply(FlowGraph g)
    {
        var nodes = g.Nodes;
        var byValue = new Dictionary<Instruction, List<int>>();
        for (int i = 0; i < nodes.Length; i++)
            if (!nodes[i].Deleted && nodes[i].Ins.IsReturn)
                (byValue.TryGetValue(nodes[i].Ins, out var l) ? l : byValue[nodes[i].Ins] = []).Add(i);
        int Farthest(int from, int target)
        {
            target = g.Resolve(target);
            if (!g.IsRet(target)) return target;
            int best = target;
            foreach (var p in byValue[nodes[target].Ins])
                if (p > best && p - from - 1 <= 255) best = p;
            return best;
        }
        bool changed = false;
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (n.Deleted || !n.Ins.IsConditionalJump) continue;
            int jt = Farthest(i, n.Jt), jf = Farthest(i, n.Jf);
            if (jt != g.Resolve(n.Jt) || jf != g.Resolve(n.Jf)) { nodes[i] = n with { Jt = jt, Jf = jf }; changed = true; }
        }
        return changed;
    }
}

/// <summary>Deletes instructions no path from the first instruction reaches.</summary>
public sealed class RemoveUnreachable : GraphPass
{
    /// <inheritdoc/>
    public override string Name => "remove-unreachable";

    internal override bool Apply(FlowGraph g)
    {
        var seen = g.Reachable();
        bool changed = false;
        for (int i = 0; i < g.Count; i++)
            if (!seen[i] && !g.Nodes[i].Deleted) { g.Nodes[i] = g.Nodes[i] with { Deleted = true }; changed = true; }
        return changed;
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

    /// <summary>
    /// Runs <paramref name="passes"/> (default: <see cref="DefaultPasses"/>) to a fixpoint (at most 32
    /// rounds). Graph passes share one graph and the program is laid out once at the end; any other
    /// pass runs on the laid-out program.
    /// </summary>
    public static ImmutableArray<Instruction> Optimize(ImmutableArray<Instruction> program, IReadOnlyList<IOptimizationPass>? passes = null)
    {
        passes ??= DefaultPasses;
        if (passes.All(p => p is GraphPass) && !PassHelpers.UsesMemory(program))
        {
            // Each round works on one graph; laying it out between rounds closes the gaps deleted
            // instructions leave, so distance checks (8-bit jumps) see the real layout again.
            for (int round = 0; round < 32; round++)
            {
                var g = FlowGraph.From(program.AsSpan());
                bool any = false;
                foreach (GraphPass p in passes) any |= p.Apply(g);
                if (!any) break;
                program = PassHelpers.Finish(program, g, out bool changed);
                if (!changed) break;
            }
            return program;
        }
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
