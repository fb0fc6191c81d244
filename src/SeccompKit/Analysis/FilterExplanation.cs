using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis;

/// <summary>The <c>RET</c> that decided a region: which filter of the stack and which pc.</summary>
/// <param name="Filter">Index in the stack, 0 = newest; -1 when the kernel exempts the call from filtering (x86_64 uretprobe, uprobe).</param>
/// <param name="Pc">The pc of the <c>RET</c> (or <c>DIV X</c>) in that filter; -1 for an exempt call.</param>
public readonly record struct Decider(int Filter, int Pc);

/// <summary>
/// A set of inputs with one outcome: the values each <c>seccomp_data</c> word may take (conjunction), conditions that are
/// not per-word constraints (<see cref="Opaque"/>), and the action. Regions of one syscall are disjoint and cover every input.
/// </summary>
/// <param name="Words">The 16 word sets (nr, arch, the instruction pointer's and each argument's halves in the ABI's layout).</param>
/// <param name="Opaque">Conditions kept opaque (also reported as inexpressible).</param>
/// <param name="Value">The filter's (or stack's) return value; null when it is computed from the data (<c>RET A</c>).</param>
/// <param name="ValueText">For a computed return value: the expression.</param>
/// <param name="Decider">The <c>RET</c> that decided.</param>
public sealed record ExplainedRegion(ImmutableArray<WordSet> Words, ImmutableArray<OpaqueCondition> Opaque, uint? Value, string? ValueText, Decider Decider)
{
    /// <summary>The argument and instruction-pointer words (2..15) that carry a constraint.</summary>
    public IEnumerable<int> ConstrainedDataWords => Enumerable.Range(2, 14).Where(i => !Words[i].IsFull);

    /// <summary>True when the region's action does not depend on arguments or the instruction pointer.</summary>
    public bool IsUnconditional => Opaque.IsEmpty && !ConstrainedDataWords.Any();

    /// <summary>Whether concrete words lie in the region.</summary>
    public bool Contains(ReadOnlySpan<uint> words)
    {
        for (int i = 0; i < Words.Length; i++) if (!Words[i].Contains(words[i])) return false;
        foreach (var o in Opaque) if (!o.Evaluate(words)) return false;
        return true;
    }
}

/// <summary>What one syscall number of one ABI gets.</summary>
/// <param name="Number">The number as <c>seccomp_data.nr</c> carries it (x32: with the x32 bit).</param>
/// <param name="Name">The syscall's name.</param>
/// <param name="Regions">Disjoint regions covering every argument value.</param>
public sealed record SyscallExplanation(int Number, string Name, ImmutableArray<ExplainedRegion> Regions);

/// <summary>Numbers outside the ABI's table that share one outcome.</summary>
/// <param name="First">First number (as unsigned <c>nr</c>).</param>
/// <param name="Last">Last number.</param>
/// <param name="Regions">The outcome (regions over the arguments).</param>
public sealed record NumberRange(uint First, uint Last, ImmutableArray<ExplainedRegion> Regions);

/// <summary>One ABI's part of an explanation.</summary>
/// <param name="Abi">The ABI.</param>
/// <param name="Syscalls">Every syscall of the ABI's table, by number.</param>
/// <param name="OtherNumbers">The numbers outside the table, as ranges with one outcome each.</param>
public sealed record AbiExplanation(Architecture Abi, ImmutableArray<SyscallExplanation> Syscalls, ImmutableArray<NumberRange> OtherNumbers)
{
    /// <summary>The word names for this ABI: nr, arch, ip.lo/ip.hi and argN.lo/argN.hi by its byte order.</summary>
    public string WordName(int index) => FilterExplainer.WordName(index, Abi.AuditArch);
}

/// <summary>A condition or return value SeccompKit's policy model cannot express, with where it is in the program.</summary>
/// <param name="Filter">Index in the stack (0 = newest).</param>
/// <param name="Pc">The instruction.</param>
/// <param name="What">What it is, in words.</param>
public sealed record Inexpressible(int Filter, int Pc, string What);

/// <summary>
/// A filter or stack read back as rules: for every ABI SeccompKit knows, every syscall number's outcome as disjoint
/// regions over <c>seccomp_data</c>'s words, found by exploring the program's paths (<see cref="FilterExplainer.Explain(FilterStack)"/>).
/// </summary>
/// <param name="Stack">The stack explained.</param>
/// <param name="Abis">Every known ABI, in <see cref="Architecture.All"/>'s order.</param>
/// <param name="UnknownArch">What calls whose <c>arch</c> is no known ABI's get (regions over every word, arch included).</param>
/// <param name="Inexpressible">Conditions and returns no policy can express (opaque comparisons, computed returns).</param>
/// <param name="PathCount">Paths explored over all filters.</param>
public sealed record FilterExplanation(FilterStack Stack, ImmutableArray<AbiExplanation> Abis, ImmutableArray<ExplainedRegion> UnknownArch,
    ImmutableArray<Inexpressible> Inexpressible, int PathCount)
{
    /// <summary>The part for <paramref name="abi"/>.</summary>
    public AbiExplanation For(Architecture abi) => Abis.First(a => a.Abi == abi);
}
