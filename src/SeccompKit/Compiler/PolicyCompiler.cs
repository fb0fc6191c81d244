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
        if (options.Optimize) instructions = BpfOptimizer.Optimize(instructions);
        if (instructions.Length > BPF_MAXINSNS)
        {
            var top = blockSizes.OrderByDescending(p => p.Value).Take(5).Select(p => $"{p.Key} ({p.Value} instructions)");
            throw new CompileException(
                $"the filter needs {instructions.Length} instructions, more than the kernel's limit of {BPF_MAXINSNS} (BPF_MAXINSNS). " +
                $"The argument checks that cost most: {string.Join(", ", top)}. Merge or drop conditions on those syscalls, or split the policy into two stacked filters.");
        }
        var program = BpfProgram.Create(instructions.AsSpan());
        return new CompiledPolicy(program, source, policy);
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
