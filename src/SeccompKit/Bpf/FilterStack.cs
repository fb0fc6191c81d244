using System.Collections.Immutable;

namespace SeccompKit.Bpf;

/// <summary>The outcome of running every filter of a stack on one input.</summary>
/// <param name="Value">The value the kernel acts on.</param>
/// <param name="WinningFilter">Index (0 = newest) of the filter whose result was kept, or -1 when every filter allowed.</param>
/// <param name="PerFilter">Each filter's own run, newest first.</param>
public sealed record StackResult(uint Value, int WinningFilter, ImmutableArray<ExecutionResult> PerFilter)
{
    /// <summary>The kernel's reading of <see cref="Value"/>.</summary>
    public SeccompResult Result => new(Value);

    /// <summary>Instructions executed over all filters.</summary>
    public int Executed => PerFilter.Sum(r => r.Executed);
}

/// <summary>
/// Filters stacked on a task, newest first, combined as <c>seccomp_run_filters</c> does: start from
/// <c>SECCOMP_RET_ALLOW</c>, run every filter newest to oldest, and keep a result only when its action
/// part, read as signed 32-bit, is strictly lower than the kept one — so the newest filter wins ties, and
/// an all-ALLOW stack yields plain <c>SECCOMP_RET_ALLOW</c> (ALLOW's data is dropped).
/// </summary>
public sealed class FilterStack
{
    /// <summary>Sum over the stack of (length + 4) may not exceed this (<c>MAX_INSNS_PER_PATH</c>; else ENOMEM).</summary>
    public const int MaxInstructionsPerPath = (1 << 18) / Instruction.Size;

    /// <summary>Creates a stack from filters listed newest first.</summary>
    public FilterStack(IEnumerable<BpfProgram> newestFirst)
    {
        Filters = newestFirst.ToImmutableArray();
        if (Filters.IsEmpty) throw new ArgumentException("a filter stack needs at least one filter", nameof(newestFirst));
        int total = Filters.Sum(f => f.Length + 4);
        // The kernel counts the new filter's length plus (len + 4) per older filter; with one filter the +4 is not charged.
        if (total - 4 > MaxInstructionsPerPath)
            throw new SeccompException($"the stack holds {total - 4} instructions counting 4 per filter of overhead; the kernel refuses more than {MaxInstructionsPerPath} (ENOMEM): merge or shorten filters");
    }

    /// <summary>Creates a stack from filters in installation order (oldest first, newest last), as a command line lists them.</summary>
    public static FilterStack FromInstallOrder(IEnumerable<BpfProgram> oldestFirst) => new(oldestFirst.Reverse());

    /// <summary>The filters, newest (last installed) first.</summary>
    public ImmutableArray<BpfProgram> Filters { get; }

    /// <summary>Runs every filter and combines their results by the kernel's precedence.</summary>
    public StackResult Run(SeccompData data, bool trace = false)
    {
        uint ret = SeccompReturn.SECCOMP_RET_ALLOW;
        int match = -1;
        var results = ImmutableArray.CreateBuilder<ExecutionResult>(Filters.Length);
        for (int i = 0; i < Filters.Length; i++)
        {
            var r = Interpreter.Run(Filters[i], data, trace);
            results.Add(r);
            if (new SeccompResult(r.Value).PrecedenceKey < new SeccompResult(ret).PrecedenceKey)
            {
                ret = r.Value;
                match = i;
            }
        }
        return new StackResult(ret, match, results.MoveToImmutable());
    }

    /// <summary>The combined value only (fast path).</summary>
    public uint Evaluate(SeccompData data)
    {
        uint ret = SeccompReturn.SECCOMP_RET_ALLOW;
        foreach (var f in Filters)
        {
            uint cur = Interpreter.Evaluate(f, data);
            if (unchecked((int)(cur & SeccompReturn.SECCOMP_RET_ACTION_FULL)) < unchecked((int)(ret & SeccompReturn.SECCOMP_RET_ACTION_FULL)))
                ret = cur;
        }
        return ret;
    }
}
