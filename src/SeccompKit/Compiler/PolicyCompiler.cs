using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Bpf.Optimization;
using SeccompKit.Compiler.Lowering;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Compiler;

/// <summary>How to compile.</summary>
public sealed record CompileOptions
{
    /// <summary>Run the policy and BPF optimisation passes (default true). Off, the lowering's output is returned as is.</summary>
    public bool Optimize { get; init; } = true;
}

/// <summary>
/// Compiles a <see cref="SeccompPolicy"/> to a classic BPF seccomp filter.
/// <para>
/// Shape: load <c>arch</c> and dispatch on each AUDIT_ARCH value the policy covers (anything else gets
/// the bad-arch action); per arch, load <c>nr</c> and search a binary tree over runs of numbers with
/// the same outcome (x86_64 and x32 share one tree: the x32 bit just splits it); a run whose outcome does
/// not depend on arguments ends in a <c>RET</c> reached by <c>nr</c>/<c>arch</c> compares only, so the
/// kernel's action cache can keep it; other runs jump to that syscall's argument checks.
/// </para>
/// </summary>
public static class PolicyCompiler
{
    /// <summary>Compiles <paramref name="policy"/>.</summary>
    /// <exception cref="CompileException">The filter would exceed the kernel's 4096-instruction limit; the message names the rules that cost most.</exception>
    public static CompiledPolicy Compile(SeccompPolicy policy, CompileOptions? options = null)
    {
        options ??= new CompileOptions();
        var source = policy;
        if (options.Optimize) policy = PolicyOptimizer.Optimize(policy);

        var b = new ProgramBuilder();
        var blockSizes = new Dictionary<string, int>(StringComparer.Ordinal);
        var groups = policy.EffectiveArchitectures.GroupBy(a => a.AuditArch).Select(g => (Audit: g.Key, Abis: g.ToList())).ToList();
        var groupLabels = groups.Select(g => b.NewLabel($"arch.{string.Join("+", g.Abis.Select(a => a.Name))}")).ToList();
        var badArch = b.NewLabel();

        b.Load(SeccompData.OffsetArch);
        for (int i = 0; i < groups.Count; i++)
        {
            var next = i + 1 < groups.Count ? b.NewLabel() : badArch;
            b.JumpIf(BPF_JEQ, groups[i].Audit, groupLabels[i], next);
            if (i + 1 < groups.Count) b.Mark(next);
        }
        b.Mark(badArch);
        b.Return(policy.BadArchAction.ReturnValue);

        for (int gi = 0; gi < groups.Count; gi++)
        {
            var (audit, abis) = groups[gi];
            b.Mark(groupLabels[gi]);
            b.Load(SeccompData.OffsetNr);
            var ranges = SyscallPartition.Build(policy, audit, abis);
            var blocks = new Dictionary<Outcome.Checks, ProgramBuilder.Label>();
            foreach (var r in ranges)
                if (r.Outcome is Outcome.Checks c && !blocks.ContainsKey(c)) blocks[c] = b.NewLabel();
            var tree = new TreeEmitter(b, ranges, blocks, blockSizes);
            tree.Emit();
        }

        var instructions = b.Build();
        if (options.Optimize)
        {
            // The BPF optimiser is superlinear in the program's length (13 s for the 56,000 instructions
            // 20,000 rules lower to); a program the optimiser cannot bring under the limit is refused first.
            int floor = OptimizedLengthFloor(instructions);
            if (floor > BPF_MAXINSNS) throw TooLong($"at least {floor}", blockSizes);
            instructions = BpfOptimizer.Optimize(instructions);
        }
        if (instructions.Length > BPF_MAXINSNS) throw TooLong($"{instructions.Length}", blockSizes);
        var program = BpfProgram.Create(instructions.AsSpan());
        return new CompiledPolicy(program, source, policy);
    }

    private static CompileException TooLong(string length, Dictionary<string, int> blockSizes)
    {
        var top = blockSizes.OrderByDescending(p => p.Value).Take(5).Select(p => $"{p.Key} ({p.Value} instructions)");
        return new CompileException(
            $"the filter needs {length} instructions, more than the kernel's limit of {BPF_MAXINSNS} (BPF_MAXINSNS). " +
            $"The argument checks that cost most: {string.Join(", ", top)}. Merge or drop conditions on those syscalls, or split the policy into two stacked filters.");
    }

    /// <summary>
    /// A length <see cref="BpfOptimizer"/> cannot go below, in one backward pass: the conditional jumps
    /// that survive every pass, plus one <c>RET</c> per distinct return value reached. The passes delete
    /// loads, ALU steps, <c>JA</c>s and duplicate <c>RET</c>s, and fold a conditional jump only when its
    /// outcome does not depend on A or its two targets become the same; none merges two compares. So every
    /// statement here counts as nothing (as if removed), a jump goes where it would lead once folded, and
    /// two targets are "the same" when they lead to the same compare or to <c>RET</c>s of one value: an
    /// over-approximation of what the passes can merge, so the count is a floor (property-tested).
    /// </summary>
    internal static int OptimizedLengthFloor(ImmutableArray<Instruction> program)
    {
        int n = program.Length;
        // Where control from pc i ends up: a surviving compare (its pc) or a RET (-1 - its value's index).
        var lead = new long[n + 1];
        lead[n] = long.MinValue;   // off the end: not reachable in a valid program
        const long RetTag = 1L << 40;
        for (int i = n - 1; i >= 0; i--)
        {
            var ins = program[i];
            long Target(int pc) => pc < n ? lead[pc] : long.MinValue;
            if (ins.IsReturn) lead[i] = BPF_RVAL(ins.Code) == BPF_K ? -(RetTag + ins.K) : -(i + 1);
            else if (ins.IsUnconditionalJump) lead[i] = Target(i + 1 + (int)Math.Min(ins.K, (uint)n));
            else if (ins.IsConditionalJump)
            {
                long t = Target(i + 1 + ins.Jt), f = Target(i + 1 + ins.Jf);
                bool constant = BPF_SRC(ins.Code) == BPF_K && BPF_OP(ins.Code) switch
                {
                    BPF_JGE => ins.K == 0,
                    BPF_JGT => ins.K == uint.MaxValue,
                    BPF_JSET => ins.K == 0,
                    _ => false,
                };
                if (t == f) lead[i] = t;
                else if (constant) lead[i] = BPF_OP(ins.Code) == BPF_JGE ? t : f;
                else lead[i] = i;
            }
            else lead[i] = Target(i + 1);
        }
        var seen = new HashSet<long>();
        var stack = new Stack<long>();
        stack.Push(lead[0]);
        int compares = 0, returns = 0;
        while (stack.Count > 0)
        {
            long at = stack.Pop();
            if (at == long.MinValue || !seen.Add(at)) continue;
            if (at < 0) { returns++; continue; }
            compares++;
            var ins = program[(int)at];
            stack.Push(lead[(int)at + 1 + ins.Jt]);
            stack.Push(lead[(int)at + 1 + ins.Jf]);
        }
        return compares + returns;
    }

    /// <summary>Emits the number search for one arch: compares with <c>A &gt;= start</c>, left subtree first.</summary>
    private sealed class TreeEmitter(ProgramBuilder b, List<NumberRange> ranges, Dictionary<Outcome.Checks, ProgramBuilder.Label> blocks, Dictionary<string, int> blockSizes)
    {
        private readonly int[,] _split = DecisionTree.Splits(ranges);

        // Leaves are emitted in ascending order, so a block placed at the last leaf that uses it is a
        // forward target for every leaf; placed there, it sits next to the compare that reaches it and
        // needs no trampoline.
        private readonly Dictionary<Outcome.Checks, int> _lastUse = ranges.Select((r, i) => (r, i))
            .Where(t => t.r.Outcome is Outcome.Checks).GroupBy(t => (Outcome.Checks)t.r.Outcome).ToDictionary(g => g.Key, g => g.Max(t => t.i));

        public void Emit() => Emit(0, ranges.Count - 1, EntryOf(0, ranges.Count - 1));

        // A leaf with argument checks starts at the checks' label.
        private ProgramBuilder.Label EntryOf(int i, int j) =>
            i == j && ranges[i].Outcome is Outcome.Checks c ? blocks[c] : b.NewLabel();

        private void Emit(int i, int j, ProgramBuilder.Label entry)
        {
            if (i == j)
            {
                if (ranges[i].Outcome is Outcome.Constant k) { b.Mark(entry); b.Return(k.Action.ReturnValue); }
                else if (ranges[i].Outcome is Outcome.Checks c && _lastUse[c] == i)
                {
                    int before = b.Count;
                    b.Mark(entry);
                    ArgumentLowering.EmitChecks(b, c);
                    blockSizes[c.Syscall] = blockSizes.GetValueOrDefault(c.Syscall) + (b.Count - before);
                }
                return;
            }
            int s = _split[i, j];
            b.Mark(entry);
            var left = EntryOf(i, s - 1);
            var right = EntryOf(s, j);
            b.JumpIf(BPF_JGE, ranges[s].Start, right, left);
            Emit(i, s - 1, left);
            Emit(s, j, right);
        }
    }
}
