using CsCheck;
using SeccompKit.Analysis.Graph;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;
using SeccompKit.TestKit;
using SeccompKit.Tests.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Analysis.Graph;

/// <summary>
/// The control-flow graph of a filter: blocks that partition the program, every edge of the program drawn once,
/// labels naming syscalls under the arch the path has checked. Checked on real filters (Docker, podman, libseccomp's
/// exports, seccomp-tools' programs with ALU, X and scratch memory) and on generated valid programs.
/// </summary>
public sealed class ControlFlowGraphSpecs
{
    private static readonly SyscallSymbols Symbols = new();

    public static TheoryData<string> Corpus => new(FilterCorpus.Names);

    /// <summary>Where control may go after the instruction at pc, read from the instruction alone.</summary>
    private static SortedSet<int> Successors(Instruction ins, int pc)
    {
        if (BPF_CLASS(ins.Code) == BPF_RET) return [];
        if (BPF_CLASS(ins.Code) != BPF_JMP) return [pc + 1];
        if (BPF_OP(ins.Code) == BPF_JA) return [pc + 1 + (int)ins.K];
        return [pc + 1 + ins.Jt, pc + 1 + ins.Jf];
    }

    /// <summary>Every instruction in exactly one block, blocks contiguous in pc order, each a straight line.</summary>
    private static void AssertPartition(ControlFlowGraph cfg)
    {
        var owner = new int[cfg.Program.Length];
        Array.Fill(owner, -1);
        int next = 0;
        foreach (var b in cfg.Blocks)
        {
            Assert.Equal(next, b.Start);
            Assert.Equal(b.Length, b.Statements.Length);
            for (int pc = b.Start; pc <= b.End; pc++)
            {
                Assert.Equal(-1, owner[pc]);
                owner[pc] = b.Index;
                Assert.Same(b, cfg.BlockOf(pc));
                // Inside a block control only falls through to the next instruction of the block.
                if (pc < b.End) Assert.Equal([pc + 1], Successors(cfg.Program[pc], pc));
            }
            next = b.End + 1;
        }
        Assert.Equal(cfg.Program.Length, next);
        Assert.DoesNotContain(-1, owner);
    }

    /// <summary>Each block's edges go exactly to the blocks its last instruction can reach, and every target starts a block.</summary>
    private static void AssertEdges(ControlFlowGraph cfg)
    {
        foreach (var b in cfg.Blocks)
        {
            var expected = Successors(cfg.Program[b.End], b.End);
            foreach (int t in expected) Assert.Equal(t, cfg.BlockOf(t).Start);
            var drawn = cfg.Edges.Where(e => e.From == b.Index).Select(e => cfg.Blocks[e.To].Start).ToList();
            Assert.Equal(expected.ToList(), drawn.Order().ToList());
            Assert.Equal(drawn.Count, drawn.Distinct().Count());
        }
    }

    /// <summary>The drawing draws each control-flow edge once, between nodes that draw its two blocks.</summary>
    private static void AssertLayout(FilterGraph graph, GraphOptions options)
    {
        var (nodes, edges) = graph.Layout(options);
        var byId = nodes.ToDictionary(n => n.Id);
        Assert.Equal(nodes.Length, byId.Count);
        for (int f = 0; f < graph.Filters.Length; f++)
        {
            var cfg = graph.Filters[f];
            var drawn = edges.Where(e => byId[e.From].Filter == f).ToList();
            var drawnEdges = drawn.SelectMany(e => e.Edges).ToList();
            foreach (var e in drawn)
                foreach (var c in e.Edges)
                {
                    Assert.Equal(e.Kind, c.Kind);
                    Assert.Contains(cfg.Blocks[c.From], byId[e.From].Blocks);
                    Assert.Contains(cfg.Blocks[c.To], byId[e.To].Blocks);
                }
            // Every edge of the program is drawn exactly once, or is the false edge from one line of a chain to the next.
            foreach (var c in cfg.Edges)
            {
                int times = drawnEdges.Count(d => ReferenceEquals(d, c));
                if (times == 0)
                {
                    var node = nodes.Single(n => n.Filter == f && n.Blocks.Contains(cfg.Blocks[c.From]));
                    Assert.True(c.Kind == EdgeKind.False && node.Blocks.Contains(cfg.Blocks[c.To]), $"edge {c} is not drawn");
                }
                else Assert.Equal(1, times);
            }
            // Every block is drawn: by its own node, or by its leaf copies / the shared leaf.
            var drawnBlocks = nodes.Where(n => n.Filter == f).SelectMany(n => n.Blocks).Select(b => b.Index).ToHashSet();
            Assert.Equal(Enumerable.Range(0, cfg.Blocks.Length), drawnBlocks.Order());
            // A block that is not a leaf has exactly one node.
            foreach (var b in cfg.Blocks.Where(b => !b.IsLeaf))
                Assert.Single(nodes, n => n.Filter == f && n.Blocks.Contains(b));
        }
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void A_real_filters_blocks_partition_it_and_its_edges_are_the_programs_jumps(string name)
    {
        var program = FilterCorpus.Get(name);
        var cfg = ControlFlowGraph.Build(program, Symbols);
        AssertPartition(cfg);
        AssertEdges(cfg);
        var graph = FilterGraph.Build([program], Symbols);
        AssertLayout(graph, new GraphOptions());
        AssertLayout(graph, new GraphOptions { Leaves = LeafStyle.Shared, Direction = GraphDirection.TopDown });
    }

    [Fact]
    public void Generated_valid_programs_give_graphs_with_the_same_properties()
    {
        RoundTripProperties.ValidPrograms.Sample(p =>
        {
            var program = BpfProgram.Create(p);
            var cfg = ControlFlowGraph.Build(program, FakeSymbols.Instance);
            AssertPartition(cfg);
            AssertEdges(cfg);
            var graph = FilterGraph.Build([program, program], FakeSymbols.Instance);
            AssertLayout(graph, new GraphOptions());
            AssertLayout(graph, new GraphOptions { Leaves = LeafStyle.Shared });
            Assert.StartsWith("digraph", graph.ToDot());
        }, iter: 2_000, print: p => Disassembler.DisassembleRaw(p));
    }

    [Fact]
    public void Each_block_holds_its_instructions_as_disasm_prints_them()
    {
        var program = FilterCorpus.Get("docker-default");
        var cfg = ControlFlowGraph.Build(program, Symbols);
        var listing = Disassembler.Disassemble(program.Instructions.AsSpan(), Symbols).Split('\n')
            .Where(l => l.Contains(": ", StringComparison.Ordinal) && !l.StartsWith('L')).Select(l => l[(l.IndexOf(':') + 2)..]).ToList();
        Assert.Equal(listing, cfg.Blocks.SelectMany(b => b.Statements));
    }

    /// <summary>
    /// arch == x86_64 ? (nr == k ? ALLOW : ERRNO) : arch == i386 ? (nr == k ? ALLOW : ERRNO) : KILL_PROCESS.
    /// </summary>
    private static Instruction[] TwoArchProgram(uint k) =>
    [
        Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                          // 0: A = arch
        Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 1, 0), // 1: if (A == X86_64) goto 3
        Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.I386, 2, 6),   // 2: if (A == I386) goto 5 else goto 9
        Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                          // 3: A = nr (x86_64)
        Jump(BPF_JMP | BPF_JEQ | BPF_K, k, 2, 3),                   // 4: if (A == k) goto 7 else goto 8
        Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                          // 5: A = nr (x86)
        Jump(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1),                   // 6: if (A == k) goto 7 else goto 8
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                   // 7: return ALLOW
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),               // 8: return ERRNO(EPERM)
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),            // 9: return KILL_PROCESS
    ];

    public static TheoryData<uint, string, string> SameNumberTwoArches => new()
    {
        { 0, "read", "restart_syscall" },
        { 2, "open", "fork" },
        { 3, "close", "read" },
        { 11, "munmap", "execve" },
        { 59, "execve", "oldolduname" },
        { 102, "getuid", "socketcall" },
    };

    [Theory]
    [MemberData(nameof(SameNumberTwoArches))]
    public void An_edge_names_the_syscall_of_the_arch_its_path_checked(uint nr, string onX86_64, string onX86)
    {
        var cfg = ControlFlowGraph.Build(BpfProgram.Create(TwoArchProgram(nr)), Symbols);
        string? Label(int pc, EdgeKind kind) => cfg.Edges.Single(e => e.From == cfg.BlockOf(pc).Index && e.Kind == kind).Label;
        Assert.Equal("x86_64", Label(1, EdgeKind.True));
        Assert.Equal("i386", Label(2, EdgeKind.True));
        Assert.Equal(onX86_64, Label(4, EdgeKind.True));
        Assert.Equal(onX86, Label(6, EdgeKind.True));
        Assert.Null(Label(4, EdgeKind.False)); // the false side of == repeats nothing
        var dot = FilterGraph.Build([BpfProgram.Create(TwoArchProgram(nr))], Symbols).ToDot();
        // ALLOW is reached from both branches: drawn once beside each.
        Assert.Contains($"f0_b3 -> f0_b7_1 [label=\" {onX86_64} \"]", dot);
        Assert.Contains($"f0_b5 -> f0_b7_2 [label=\" {onX86} \"]", dot);
    }

    public static TheoryData<string, Instruction[], string?, string?> Labels => new()
    {
        {
            "a range test on nr names the syscall on both sides",
            [
                Stmt(BPF_LD | BPF_W | BPF_ABS, 4), Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 0, 3),
                Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Jump(BPF_JMP | BPF_JGE | BPF_K, 257, 0, 1), // if (A >= openat)
                Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
            ],
            "nr ≥ openat", "nr < openat"
        },
        {
            "under x86_64's arch an x32 number is named from x32's table",
            [
                Stmt(BPF_LD | BPF_W | BPF_ABS, 4), Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 0, 3),
                Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Jump(BPF_JMP | BPF_JGE | BPF_K, 0x4000_0101, 0, 1), // if (A >= x32 openat)
                Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
            ],
            "nr ≥ x32 openat", "nr < x32 openat"
        },
        {
            "without an arch check a number names no syscall",
            [Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Jump(BPF_JMP | BPF_JEQ | BPF_K, 59, 0, 1), // if (A == 59)
             Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD)],
            "nr == 0x3b", null
        },
        {
            "an argument test names the argument half (little-endian view without an arch check)",
            [Stmt(BPF_LD | BPF_W | BPF_ABS, 28), Jump(BPF_JMP | BPF_JSET | BPF_K, 0x10, 0, 1), // if (args[1] >> 32 & 0x10)
             Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD)],
            "args[1] >> 32 & 0x10", null
        },
        {
            "after an s390x check offset 16 is the high half",
            [
                Stmt(BPF_LD | BPF_W | BPF_ABS, 4), Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.S390X, 0, 3),
                Stmt(BPF_LD | BPF_W | BPF_ABS, 16), Jump(BPF_JMP | BPF_JGT | BPF_K, 0, 0, 1), // if (args[0] >> 32 > 0)
                Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD),
            ],
            "args[0] >> 32 > 0", "args[0] >> 32 ≤ 0"
        },
        {
            "a computed value is named as the register",
            [Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Stmt(BPF_ALU | BPF_AND | BPF_K, 0xff), Stmt(BPF_MISC | BPF_TAX, 0),
             Jump(BPF_JMP | BPF_JGE | BPF_X, 0, 0, 1), // if (A >= X)
             Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_THREAD)],
            "A ≥ X", "A < X"
        },
    };

    [Theory]
    [MemberData(nameof(Labels))]
    public void The_last_test_of_a_program_is_labelled_in_seccomp_terms(string desc, Instruction[] program, string? whenTrue, string? whenFalse)
    {
        var cfg = ControlFlowGraph.Build(BpfProgram.Create(program), Symbols);
        int last = cfg.Blocks.Last(b => !b.IsLeaf).Index;
        Assert.True(whenTrue == cfg.Edges.Single(e => e.From == last && e.Kind == EdgeKind.True).Label, desc);
        Assert.True(whenFalse == cfg.Edges.Single(e => e.From == last && e.Kind == EdgeKind.False).Label, desc);
    }

    [Fact]
    public void Per_branch_leaves_draw_a_shared_return_beside_each_branch_and_shared_leaves_merge_same_actions()
    {
        // Two returns of ALLOW at different pcs, one of them reached from two branches.
        Instruction[] program =
        [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                // 0: A = nr
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0),         // 1: if (A == 1) goto 4
            Jump(BPF_JMP | BPF_JGT | BPF_K, 2, 1, 2),         // 2: if (A > 2) goto 4 else goto 5 (not ==: no chain)
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),         // 3: return ALLOW (dead code)
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),         // 4: return ALLOW
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),  // 5: return KILL_PROCESS
        ];
        var graph = FilterGraph.Build([BpfProgram.Create(program)], Symbols);
        var (perBranch, _) = graph.Layout(new GraphOptions { Leaves = LeafStyle.PerBranch });
        Assert.Equal(["f0_b0", "f0_b2", "f0_b3", "f0_b4_1", "f0_b4_2", "f0_b5"], perBranch.Select(n => n.Id).Order(StringComparer.Ordinal));
        var (shared, _) = graph.Layout(new GraphOptions { Leaves = LeafStyle.Shared });
        // The dead return keeps its own node (nothing reaches it); the live ones merge by value.
        Assert.Equal(["f0_b0", "f0_b2", "f0_b3", "f0_ret_7fff0000", "f0_ret_80000000"], shared.Select(n => n.Id).Order(StringComparer.Ordinal));
        Assert.Contains("f0_b3 [label=\"ALLOW\\n(unreachable)\"", graph.ToDot());
    }

    [Fact]
    public void A_chain_of_equality_tests_is_one_node_with_one_edge_per_target()
    {
        // libseccomp's shape: a list of == tests, each falling to the next.
        Instruction[] program =
        [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                          // 0: A = arch
            Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 0, 6), // 1: if (A != X86_64) goto 8
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                          // 2: A = nr
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0),                   // 3: if (A == read) goto 7
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0),                   // 4: if (A == write) goto 7
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 3, 2, 0),                   // 5: if (A == close) goto 8
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 1),                   // 6: if (A == open) goto 7 else goto 8
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                   // 7: return ALLOW
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),            // 8: return KILL_PROCESS
        ];
        var graph = FilterGraph.Build([BpfProgram.Create(program)], Symbols);
        var (nodes, edges) = graph.Layout(new GraphOptions { Leaves = LeafStyle.Shared });
        // The chain starts with the block that loads nr and makes the first test.
        var chain = Assert.Single(nodes, n => n.Id == "f0_b2");
        Assert.Equal([2, 4, 5, 6], chain.Blocks.Select(b => b.Start));
        var fromChain = edges.Where(e => e.From == "f0_b2").ToList();
        Assert.Equal(["read, write, open", "close", null], fromChain.Select(e => e.Label));
        Assert.Equal([EdgeKind.True, EdgeKind.True, EdgeKind.False], fromChain.Select(e => e.Kind));
        AssertLayout(graph, new GraphOptions { Leaves = LeafStyle.Shared });
        AssertLayout(graph, new GraphOptions());
    }

    [Fact]
    public void A_stack_is_drawn_as_one_cluster_per_filter_newest_first()
    {
        var dot = FilterGraph.Build([FilterCorpus.Get("lsc/01-sim-allow.x86_64.bpf"), FilterCorpus.Get("docker-default")], Symbols).ToDot();
        Assert.Contains("subgraph cluster_f0 {", dot);
        Assert.Contains("label=\"filter 0 (newest): ", dot);
        Assert.Contains("subgraph cluster_f1 {", dot);
        Assert.Contains("label=\"filter 1 (oldest): ", dot);
        Assert.Contains("f1_b0 -> ", dot);
    }

    [Fact]
    public void Actions_are_coloured_allow_green_errno_orange_kill_red()
    {
        var dot = FilterGraph.Build([BpfProgram.Create(TwoArchProgram(0))], Symbols).ToDot();
        Assert.Matches("f0_b7_1 \\[label=\"ALLOW\", fillcolor=\"#c7e9c0\"", dot);
        Assert.Matches("f0_b8_1 \\[label=\"ERRNO\\(EPERM\\)\", fillcolor=\"#fdd0a2\"", dot);
        Assert.Matches("f0_b9 \\[label=\"KILL_PROCESS\", fillcolor=\"#fcbba1\"", dot);
    }

    [Fact]
    public void A_program_that_is_not_valid_is_refused_with_the_pc()
    {
        var e = Assert.Throws<ArgumentException>(() => ControlFlowGraph.Build([Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), Stmt(BPF_RET | BPF_K, 0)]));
        Assert.Contains("pc 0", e.Message);
        Assert.Throws<ArgumentException>(() => ControlFlowGraph.Build([Stmt(BPF_LD | BPF_W | BPF_ABS, 0)]));
        Assert.Throws<ArgumentException>(() => FilterGraph.Build([], Symbols));
    }
}
