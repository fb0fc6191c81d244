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

    /// <summary>
    /// True when the kernel lets the call through without consulting the filters at all
    /// (<see cref="FilterStack.IsExemptFromFiltering"/>): <see cref="Value"/> is then ALLOW whatever
    /// <see cref="PerFilter"/> (still computed, for the trace) says.
    /// </summary>
    public bool ExemptFromFiltering { get; init; }
}

/// <summary>
/// Filters stacked on a task, newest first, combined as <c>seccomp_run_filters</c> does: start from
/// <c>SECCOMP_RET_ALLOW</c>, run every filter newest to oldest, and keep a result only when its action
/// part, read as signed 32-bit, is strictly lower than the kept one — so the newest filter wins ties, and
/// an all-ALLOW stack yields plain <c>SECCOMP_RET_ALLOW</c> (ALLOW's data is dropped). Before any filter
/// runs, the kernel lets x86_64 <c>uretprobe</c> and <c>uprobe</c> through (<see cref="IsExemptFromFiltering"/>).
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
        int charged = ChargedLength(Filters);
        if (charged > MaxInstructionsPerPath)
            throw new SeccompException($"the stack charges {charged} instructions (the kernel's converted lengths plus 4 per older filter); the kernel refuses more than {MaxInstructionsPerPath} with ENOMEM: merge or shorten filters");
    }

    /// <summary>
    /// What <c>seccomp_attach_filter</c> charges when the newest of <paramref name="newestFirst"/> is attached:
    /// its <see cref="BpfProgram.KernelLength"/> plus (<see cref="BpfProgram.KernelLength"/> + 4) for every older
    /// filter. The kernel refuses the attach with ENOMEM above <see cref="MaxInstructionsPerPath"/>.
    /// </summary>
    public static int ChargedLength(IEnumerable<BpfProgram> newestFirst)
    {
        int total = 0, count = 0;
        foreach (var f in newestFirst) { total += f.KernelLength + 4; count++; }
        return count == 0 ? 0 : total - 4;
    }

    /// <summary>Creates a stack from filters in installation order (oldest first, newest last), as a command line lists them.</summary>
    public static FilterStack FromInstallOrder(IEnumerable<BpfProgram> oldestFirst) => new(oldestFirst.Reverse());

    /// <summary>The filters, newest (last installed) first.</summary>
    public ImmutableArray<BpfProgram> Filters { get; }

    /// <summary>AUDIT_ARCH_X86_64, the only arch with exempt system calls.</summary>
    private const uint AuditArchX86_64 = 0xc000003e;

    /// <summary>x86_64 <c>__NR_uretprobe</c>.</summary>
    public const int X86_64Uretprobe = 335;

    /// <summary>x86_64 <c>__NR_uprobe</c>.</summary>
    public const int X86_64Uprobe = 336;

    /// <summary>
    /// True for the calls the kernel never filters: on x86_64, <c>uretprobe</c> (335) and <c>uprobe</c> (336)
    /// entered through the native ABI (arch AUDIT_ARCH_X86_64). <c>seccomp_uprobe_exception</c>
    /// (kernel/seccomp.c) makes <c>seccomp_is_const_allow</c> report them as constant ALLOW for every filter,
    /// so the action cache bitmap keeps their bits and <c>seccomp_run_filters</c> returns
    /// <c>SECCOMP_RET_ALLOW</c> before running any filter, even one that returns KILL for everything. The
    /// kernel installs these calls in uprobe trampolines, which must work under any filter. Through
    /// <c>int $0x80</c> (AUDIT_ARCH_I386) the same numbers are filtered normally. Found by the kernel
    /// differential tests on 6.18 (uretprobe's exemption dates from commit cf6cb56ef244, uprobe's from the
    /// uprobe system call itself); older kernels filter them like any other number.
    /// </summary>
    public static bool IsExemptFromFiltering(SeccompData data) =>
        data.Arch == AuditArchX86_64 && data.Nr is X86_64Uretprobe or X86_64Uprobe;

    /// <summary>
    /// Runs every filter and combines their results by the kernel's precedence. For a call the kernel
    /// exempts from filtering (<see cref="IsExemptFromFiltering"/>) the filters still run for the trace, but
    /// the value is ALLOW, <see cref="StackResult.WinningFilter"/> is -1 and
    /// <see cref="StackResult.ExemptFromFiltering"/> is set.
    /// </summary>
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
        if (IsExemptFromFiltering(data))
            return new StackResult(SeccompReturn.SECCOMP_RET_ALLOW, -1, results.MoveToImmutable()) { ExemptFromFiltering = true };
        return new StackResult(ret, match, results.MoveToImmutable());
    }

    /// <summary>The combined value only (fast path); ALLOW for calls exempt from filtering.</summary>
    public uint Evaluate(SeccompData data)
    {
        if (IsExemptFromFiltering(data)) return SeccompReturn.SECCOMP_RET_ALLOW;
        uint ret = SeccompReturn.SECCOMP_RET_ALLOW;
        Span<uint> words = stackalloc uint[SeccompData.Size / 4];
        data.WriteWords(words);
        foreach (var f in Filters)
        {
            uint cur = Interpreter.EvaluateDecoded(f.Decoded, words);
            if (unchecked((int)(cur & SeccompReturn.SECCOMP_RET_ACTION_FULL)) < unchecked((int)(ret & SeccompReturn.SECCOMP_RET_ACTION_FULL)))
                ret = cur;
        }
        return ret;
    }
}
