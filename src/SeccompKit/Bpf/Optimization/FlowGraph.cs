using System.Collections.Immutable;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf.Optimization;

/// <summary>
/// A program with absolute jump targets, so passes can retarget and delete instructions without
/// recomputing offsets by hand. <see cref="Emit"/> lays it out again through <see cref="ProgramBuilder"/>
/// (which re-inserts trampolines for far conditional jumps).
/// </summary>
internal sealed class FlowGraph
{
    public readonly record struct Node(Instruction Ins, int Jt, int Jf, bool Deleted);

    public Node[] Nodes { get; }

    private FlowGraph(Node[] nodes) => Nodes = nodes;

    public int Count => Nodes.Length;

    public static FlowGraph From(ReadOnlySpan<Instruction> program)
    {
        var nodes = new Node[program.Length];
        for (int i = 0; i < program.Length; i++)
        {
            var ins = program[i];
            if (ins.IsUnconditionalJump) nodes[i] = new(ins, i + 1 + (int)ins.K, -1, false);
            else if (ins.IsConditionalJump) nodes[i] = new(ins, i + 1 + ins.Jt, i + 1 + ins.Jf, false);
            else nodes[i] = new(ins, -1, -1, false);
        }
        return new FlowGraph(nodes);
    }

    /// <summary>Where control goes after node <paramref name="i"/> when it is not a jump: the next live node.</summary>
    public int Next(int i)
    {
        int j = i + 1;
        while (j < Nodes.Length && Nodes[j].Deleted) j++;
        return j;
    }

    /// <summary>Follows deleted nodes to the live node that takes their place.</summary>
    public int Resolve(int target)
    {
        while (target < Nodes.Length && Nodes[target].Deleted) target++;
        return target;
    }

    /// <summary>Successors of a live node.</summary>
    public IEnumerable<int> Successors(int i)
    {
        var n = Nodes[i];
        if (n.Ins.IsReturn) yield break;
        if (n.Ins.IsUnconditionalJump) { yield return Resolve(n.Jt); yield break; }
        if (n.Ins.IsConditionalJump) { yield return Resolve(n.Jt); yield return Resolve(n.Jf); yield break; }
        yield return Next(i);
    }

    public bool[] Reachable()
    {
        var seen = new bool[Nodes.Length + 1];
        var stack = new Stack<int>();
        int start = Resolve(0);
        if (start < Nodes.Length) { stack.Push(start); seen[start] = true; }
        while (stack.Count > 0)
        {
            int i = stack.Pop();
            foreach (var s in Successors(i))
                if (s < Nodes.Length && !seen[s]) { seen[s] = true; stack.Push(s); }
        }
        return seen;
    }

    public ImmutableArray<Instruction> Emit()
    {
        var b = new ProgramBuilder();
        var labels = new ProgramBuilder.Label[Nodes.Length + 1];
        for (int i = 0; i <= Nodes.Length; i++) labels[i] = b.NewLabel();
        for (int i = 0; i < Nodes.Length; i++)
        {
            var n = Nodes[i];
            if (n.Deleted) continue;
            b.Mark(labels[i]);
            if (n.Ins.IsUnconditionalJump)
            {
                int t = Resolve(n.Jt);
                if (t == Next(i)) continue; // "ja 0" does nothing
                b.Jump(labels[t]);
            }
            else if (n.Ins.IsConditionalJump)
                b.JumpIf(n.Ins, labels[Resolve(n.Jt)], labels[Resolve(n.Jf)]);
            else b.Emit(n.Ins);
        }
        return b.Build();
    }
}
