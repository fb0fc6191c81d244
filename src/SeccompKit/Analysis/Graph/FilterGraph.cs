using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using SeccompKit.Bpf;

namespace SeccompKit.Analysis.Graph;

/// <summary>Which way the graph reads.</summary>
public enum GraphDirection
{
    /// <summary>pc 0 at the top, returns below (Graphviz <c>rankdir=TB</c>).</summary>
    TopDown,
    /// <summary>pc 0 on the left, returns on the right (<c>rankdir=LR</c>).</summary>
    LeftRight,
}

/// <summary>How the lone <c>return k</c> blocks that end most paths are drawn.</summary>
public enum LeafStyle
{
    /// <summary>
    /// A copy beside each branch that reaches it: a compiled filter sends hundreds of branches to a few returns, and
    /// one node each would pull every edge across the picture. Leaves with one predecessor are drawn once.
    /// </summary>
    PerBranch,
    /// <summary>One node per action and filter: every <c>return</c> of the same value is merged, whatever its pc.</summary>
    Shared,
}

/// <summary>Options of <see cref="FilterGraph.ToDot"/>.</summary>
public sealed record GraphOptions
{
    /// <summary>Which way the graph reads (default left to right: a filter is a wide, shallow tree, which top-down makes tens of thousands of pixels wide).</summary>
    public GraphDirection Direction { get; init; } = GraphDirection.LeftRight;

    /// <summary>How return leaves are drawn (default <see cref="LeafStyle.PerBranch"/>).</summary>
    public LeafStyle Leaves { get; init; } = LeafStyle.PerBranch;
}

/// <summary>One node of the drawing: a basic block, a chain of <c>==</c> tests, or one drawing of a leaf.</summary>
/// <param name="Id">The DOT node id (<c>f0_b12</c>; leaf copies <c>f0_b187_3</c>; shared leaves <c>f0_ret_7fff0000</c>).</param>
/// <param name="Filter">Index of the filter in the stack (0 = the newest).</param>
/// <param name="Blocks">
/// The blocks it draws: one; or a chain of one-instruction <c>==</c> tests each falling to the next when false (how
/// libseccomp lists syscalls: drawn as one node, like a <c>switch</c>); or for a shared leaf every lone return of one value.
/// </param>
public sealed record GraphNode(string Id, int Filter, ImmutableArray<BasicBlock> Blocks);

/// <summary>One edge of the drawing, with the control-flow edges it draws (several when a chain's tests share a target).</summary>
/// <param name="From">The node left.</param>
/// <param name="To">The node entered.</param>
/// <param name="Edges">The control-flow edges, in pc order; all of one <see cref="EdgeKind"/>.</param>
public sealed record GraphEdge(string From, string To, ImmutableArray<CfgEdge> Edges)
{
    /// <summary>Which way control goes along it.</summary>
    public EdgeKind Kind => Edges[0].Kind;

    /// <summary>
    /// The labels of its edges joined (<c>read, write, open</c>); past four, the first three and how many more (the
    /// chain's node lists them all).
    /// </summary>
    public string? Label
    {
        get
        {
            var labels = Edges.Select(e => e.Label).OfType<string>().Distinct().ToList();
            if (labels.Count == 0) return null;
            return labels.Count <= 4 ? string.Join(", ", labels)
                : string.Join(", ", labels.Take(3)) + string.Create(CultureInfo.InvariantCulture, $", … (+{labels.Count - 3})");
        }
    }
}

/// <summary>
/// The control-flow graphs of a filter or of a stack of filters (each a cluster, newest first), drawn as Graphviz DOT:
/// basic blocks as nodes holding their instructions as <c>disasm</c> prints them, syscall and arch names on the edges,
/// actions on the leaves (ALLOW green, ERRNO orange, KILL red). Render the text with Graphviz's <c>dot</c>.
/// </summary>
public sealed class FilterGraph
{
    private FilterGraph(ImmutableArray<ControlFlowGraph> filters) => Filters = filters;

    /// <summary>The graph of each filter, newest first (the order the kernel runs them).</summary>
    public ImmutableArray<ControlFlowGraph> Filters { get; }

    /// <summary>The graphs of a stack, newest first; one program is a stack of one.</summary>
    /// <param name="newestFirst">The filters, newest first.</param>
    /// <param name="symbols">Names for syscalls and arches (the Syscalls layer's <c>SyscallSymbols</c>); null prints numbers.</param>
    public static FilterGraph Build(IEnumerable<BpfProgram> newestFirst, IBpfSymbols? symbols)
    {
        ArgumentNullException.ThrowIfNull(newestFirst);
        var filters = newestFirst.Select(p => ControlFlowGraph.Build(p, symbols)).ToImmutableArray();
        if (filters.IsEmpty) throw new ArgumentException("no filter given; a stack has at least one", nameof(newestFirst));
        return new FilterGraph(filters);
    }

    /// <summary>
    /// The nodes and edges <see cref="ToDot"/> draws, for checking a drawing against the graph. Every control-flow edge
    /// is drawn by exactly one <see cref="GraphEdge"/>, except the false edges inside a chain node, which the node's
    /// listing shows.
    /// </summary>
    public (ImmutableArray<GraphNode> Nodes, ImmutableArray<GraphEdge> Edges) Layout(GraphOptions? options = null)
    {
        options ??= new GraphOptions();
        var nodes = ImmutableArray.CreateBuilder<GraphNode>();
        var edges = ImmutableArray.CreateBuilder<GraphEdge>();
        for (int f = 0; f < Filters.Length; f++)
        {
            var cfg = Filters[f];
            var incoming = new int[cfg.Blocks.Length];
            foreach (var e in cfg.Edges) incoming[e.To]++;
            var nodeOf = new string?[cfg.Blocks.Length];
            var shared = new Dictionary<uint, List<BasicBlock>>();
            List<BasicBlock>? chain = null;
            foreach (var b in cfg.Blocks)
            {
                if (IsChainLink(cfg, b) && chain is not null && chain[^1].Index == b.Index - 1
                    && cfg.Program[chain[^1].End].Jf == 0 && incoming[b.Index] == 1)
                {
                    // The previous test falls here when false, and nothing else comes here: one more line of the chain.
                    chain.Add(b);
                    nodeOf[b.Index] = nodeOf[chain[0].Index];
                    continue;
                }
                Flush();
                if (b.IsLeaf && options.Leaves == LeafStyle.Shared && incoming[b.Index] > 0)
                {
                    uint value = b.Return!.Value;
                    if (!shared.TryGetValue(value, out var list)) shared[value] = list = [];
                    list.Add(b);
                    nodeOf[b.Index] = SharedId(f, value);
                }
                else if (b.IsLeaf && options.Leaves == LeafStyle.PerBranch && incoming[b.Index] > 1)
                    nodeOf[b.Index] = null; // one copy per edge drawn into it, made below
                else
                {
                    nodeOf[b.Index] = BlockId(f, b);
                    chain = EndsInEquality(cfg, b) ? [b] : null;
                    if (chain is null) nodes.Add(new GraphNode(nodeOf[b.Index]!, f, [b]));
                }
            }
            Flush();
            foreach (var (value, list) in shared)
                nodes.Add(new GraphNode(SharedId(f, value), f, [.. list]));

            // Edges: those inside a chain are its listing; the others are grouped by (node left, block entered, kind),
            // so that a chain's tests sending control to one place are one edge.
            var groups = new List<(string From, int To, EdgeKind Kind, List<CfgEdge> Edges)>();
            var index = new Dictionary<(string, int, EdgeKind), int>();
            foreach (var e in cfg.Edges)
            {
                string from = nodeOf[e.From]!;
                if (nodeOf[e.To] == from && e.Kind == EdgeKind.False && e.To == e.From + 1) continue; // inside a chain
                var key = (from, e.To, e.Kind);
                if (!index.TryGetValue(key, out int g))
                {
                    index[key] = g = groups.Count;
                    groups.Add((from, e.To, e.Kind, []));
                }
                groups[g].Edges.Add(e);
            }
            var copies = new int[cfg.Blocks.Length];
            foreach (var (from, toBlock, _, list) in groups)
            {
                string to = nodeOf[toBlock] ?? $"{BlockId(f, cfg.Blocks[toBlock])}_{++copies[toBlock]}";
                if (nodeOf[toBlock] is null) nodes.Add(new GraphNode(to, f, [cfg.Blocks[toBlock]]));
                edges.Add(new GraphEdge(from, to, [.. list]));
            }

            void Flush()
            {
                if (chain is not null) nodes.Add(new GraphNode(nodeOf[chain[0].Index]!, f, [.. chain]));
                chain = null;
            }
        }
        return (nodes.ToImmutable(), edges.ToImmutable());
    }

    /// <summary>A block ending in <c>if (A == k)</c> with two different targets: a chain may start with it (<c>A = sys_number</c> first).</summary>
    private static bool EndsInEquality(ControlFlowGraph cfg, BasicBlock b) =>
        cfg.Program[b.End].Code == (BpfOpcodes.BPF_JMP | BpfOpcodes.BPF_JEQ | BpfOpcodes.BPF_K) && cfg.Program[b.End].Jt != cfg.Program[b.End].Jf;

    /// <summary>A block that is one <c>if (A == k)</c> with two different targets: a possible next line of a chain.</summary>
    private static bool IsChainLink(ControlFlowGraph cfg, BasicBlock b) => b.Length == 1 && EndsInEquality(cfg, b);

    private static string BlockId(int filter, BasicBlock b) => string.Create(CultureInfo.InvariantCulture, $"f{filter}_b{b.Start}");

    private static string SharedId(int filter, uint value) => string.Create(CultureInfo.InvariantCulture, $"f{filter}_ret_{value:x8}");

    /// <summary>The Graphviz DOT text of the graph.</summary>
    public string ToDot(GraphOptions? options = null)
    {
        options ??= new GraphOptions();
        var (nodes, edges) = Layout(options);
        var sb = new StringBuilder();
        sb.Append("digraph seccomp {\n");
        sb.Append("  graph [rankdir=").Append(options.Direction == GraphDirection.LeftRight ? "LR" : "TB")
          .Append(", charset=\"UTF-8\", fontname=\"monospace\", fontsize=11, nodesep=0.18, ranksep=0.3, labelloc=t, labeljust=l];\n");
        sb.Append("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f7f7f7\", color=\"#555555\", fontname=\"monospace\", fontsize=10, margin=\"0.08,0.03\", height=0.2];\n");
        sb.Append("  edge [fontname=\"monospace\", fontsize=9, arrowsize=0.6, color=\"#333333\"];\n");
        sb.Append("  label=").Append(Quote(Title())).Append(";\n");
        for (int f = 0; f < Filters.Length; f++)
        {
            string indent = "  ";
            if (Filters.Length > 1)
            {
                sb.Append("  subgraph cluster_f").Append(f.ToString(CultureInfo.InvariantCulture)).Append(" {\n");
                sb.Append("    label=").Append(Quote(FilterTitle(f))).Append("; style=rounded; color=\"#888888\";\n");
                indent = "    ";
            }
            foreach (var node in nodes.Where(n => n.Filter == f))
                sb.Append(indent).Append(node.Id).Append(' ').Append(NodeAttributes(node)).Append(";\n");
            var filterEdges = edges.Where(e => e.From.StartsWith($"f{f}_", StringComparison.Ordinal)).ToList();
            // A node many branches reach (a libseccomp filter sends a chain of a hundred == tests to one argument
            // check) is ranked by its last predecessor in pc order only: were every edge to pull it, dot would lay a
            // chain of dummy nodes along each long edge, quadratic in the chain, and a 1,400-instruction filter would
            // take minutes. The other edges are still drawn, they just do not place the node.
            var ranking = new Dictionary<string, GraphEdge>();
            foreach (var e in filterEdges) ranking[e.To] = e;
            foreach (var e in filterEdges)
                sb.Append(indent).Append(e.From).Append(" -> ").Append(e.To).Append(' ')
                  .Append(EdgeAttributes(e, constrains: ReferenceEquals(ranking[e.To], e))).Append(";\n");
            if (Filters.Length > 1) sb.Append("  }\n");
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    private string Title()
    {
        string what = Filters.Length == 1
            ? string.Create(CultureInfo.InvariantCulture, $"seccomp filter: {Filters[0].Program.Length} instructions, {Filters[0].Blocks.Length} blocks")
            : string.Create(CultureInfo.InvariantCulture, $"seccomp filter stack: {Filters.Length} filters, newest first (every filter runs; the most restrictive action wins)");
        return what + "\nsolid: condition true (or always); dashed: condition false\n";
    }

    private string FilterTitle(int f) => string.Create(CultureInfo.InvariantCulture,
        $"filter {f}{(f == 0 ? " (newest)" : f == Filters.Length - 1 ? " (oldest)" : "")}: {Filters[f].Program.Length} instructions");

    private static string NodeAttributes(GraphNode node)
    {
        var b = node.Blocks[0];
        if (b.IsLeaf)
        {
            var (fill, border) = Colors(b.Return!.Value);
            string label = ActionNames.Format(b.Return.Value);
            if (node.Blocks.Length == 1 && !b.Reachable) label += "\n(unreachable)";
            return $"[label={Quote(label)}, fillcolor=\"{fill}\", color=\"{border}\", style=\"rounded,filled,bold\", tooltip={Quote(PcList(node.Blocks))}]";
        }
        var text = new StringBuilder();
        int width = node.Blocks[^1].End.ToString(CultureInfo.InvariantCulture).Length;
        foreach (var block in node.Blocks)
            for (int i = 0; i < block.Statements.Length; i++)
                text.Append((block.Start + i).ToString(CultureInfo.InvariantCulture).PadLeft(width)).Append(": ").Append(block.Statements[i]).Append('\u0001');
        if (!b.Reachable) text.Append("(unreachable)\u0001");
        string attrs = $"[label={Quote(text.ToString())}";
        if (b.Return is uint v)
        {
            var (fill, border) = Colors(v);
            attrs += $", fillcolor=\"{fill}\", color=\"{border}\"";
        }
        if (!b.Reachable) attrs += ", style=\"rounded,dashed\", fontcolor=\"#888888\"";
        return attrs + "]";
    }

    private static string PcList(ImmutableArray<BasicBlock> blocks) =>
        "pc " + string.Join(", ", blocks.Select(b => b.Start.ToString(CultureInfo.InvariantCulture)));

    private static string EdgeAttributes(GraphEdge e, bool constrains)
    {
        var attrs = new List<string>();
        if (e.Label is not null) attrs.Add("label=" + Quote(" " + e.Label + " "));
        if (!constrains) attrs.Add("constraint=false");
        if (e.Kind == EdgeKind.False) attrs.Add("style=dashed, color=\"#888888\"");
        return attrs.Count == 0 ? "[]" : "[" + string.Join(", ", attrs) + "]";
    }

    /// <summary>Fill and border colour of an action: ALLOW green, LOG blue, ERRNO orange, TRAP/TRACE/USER_NOTIF yellow, KILL red.</summary>
    private static (string Fill, string Border) Colors(uint value) => new SeccompResult(value).Action switch
    {
        SeccompAction.Allow => ("#c7e9c0", "#238b45"),
        SeccompAction.Log => ("#c6dbef", "#2171b5"),
        SeccompAction.Errno => ("#fdd0a2", "#d94801"),
        SeccompAction.Trap or SeccompAction.Trace or SeccompAction.UserNotif => ("#fff3a3", "#b08d00"),
        _ => ("#fcbba1", "#cb181d"),
    };

    /// <summary>A DOT string; a \u0001 in <paramref name="text"/> ends a left-justified line (\l), a newline a centred one.</summary>
    private static string Quote(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\u0001': sb.Append("\\l"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }
}
