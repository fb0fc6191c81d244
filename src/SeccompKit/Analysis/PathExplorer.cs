using System.Collections.Immutable;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Analysis;

/// <summary>
/// A comparison the explorer cannot turn into a constraint on one word (two data words compared, a comparison after a
/// multiplication of a data word, a division by a data word...): kept as is, evaluable on concrete data, and reported as
/// inexpressible — never dropped.
/// </summary>
/// <param name="Filter">Index of the filter in the stack (0 = newest).</param>
/// <param name="Pc">The jump (or <c>DIV X</c>) that made the comparison.</param>
/// <param name="Left">A.</param>
/// <param name="JumpOp"><c>BPF_JEQ</c>, <c>BPF_JGT</c>, <c>BPF_JGE</c> or <c>BPF_JSET</c>.</param>
/// <param name="Right">The operand (K or X).</param>
/// <param name="Holds">Whether the path took the comparison's true branch.</param>
public sealed record OpaqueCondition(int Filter, int Pc, SymbolicExpression Left, ushort JumpOp, SymbolicExpression Right, bool Holds)
{
    /// <summary>Whether the condition holds on concrete words.</summary>
    public bool Evaluate(ReadOnlySpan<uint> words) => PathExplorer.Compare(JumpOp, Left.Evaluate(words), Right.Evaluate(words)) == Holds;

    /// <summary>The words the condition reads.</summary>
    public IReadOnlySet<int> Words => _words ??= PathExplorer.WordsOf(WordMask).ToHashSet();
    private HashSet<int>? _words;

    /// <summary>The words the condition reads, as bits (bit i: word i).</summary>
    public int WordMask => Left.WordMask | Right.WordMask;

    /// <summary>True when the condition reads nothing but nr and arch (words 0 and 1): decided once a number and an arch are pinned.</summary>
    public bool ReadsOnlyNrAndArch => (WordMask & ~3) == 0;

    /// <summary>What one <see cref="Evaluate"/> or <see cref="Describe"/> visits (<see cref="SymbolicExpression.Size"/> of both sides).</summary>
    public long Size => (long)Left.Size + Right.Size;

    /// <summary>The summed <see cref="Size"/> of <paramref name="conditions"/>: the work of evaluating or describing them all.</summary>
    public static long SizeOf(ImmutableArray<OpaqueCondition> conditions)
    {
        long n = 0;
        foreach (var c in conditions) n += c.Size;
        return n;
    }

    /// <summary><c>(arg0.lo * 3) &gt; arg1.lo</c>, negated with <c>!</c> when the path took the false branch.</summary>
    public string Describe(Func<int, string> wordName)
    {
        string op = JumpOp switch { BPF_JEQ => "==", BPF_JGT => ">", BPF_JGE => ">=", _ => "&" };
        string text = JumpOp == BPF_JSET ? $"({Left.Describe(wordName)} & {Right.Describe(wordName)}) != 0" : $"{Left.Describe(wordName)} {op} {Right.Describe(wordName)}";
        return Holds ? text : $"!({text})";
    }
}

/// <summary>One path of a program from pc 0 to a <c>RET</c>: what the input must be to take it, and what it returns.</summary>
/// <param name="Words">For each of the 16 words of <c>seccomp_data</c>, the values the path allows.</param>
/// <param name="Opaque">Conditions that are not constraints on single words.</param>
/// <param name="Value">The return value; null when it depends on the data (<c>RET A</c> with a computed A).</param>
/// <param name="ValueExpression">The computed return value when <see cref="Value"/> is null.</param>
/// <param name="Pc">The pc of the <c>RET</c> (or of the <c>DIV X</c> that returned 0 on a zero divisor).</param>
public sealed record ProgramPath(ImmutableArray<WordSet> Words, ImmutableArray<OpaqueCondition> Opaque, uint? Value, SymbolicExpression? ValueExpression, int Pc);

/// <summary>Thrown when a program has more paths than the explorer will enumerate, or explaining it takes more work than <see cref="AnalysisBudget.MaxWork"/>.</summary>
public sealed class AnalysisLimitException(string message) : SeccompException(message);

/// <summary>
/// A deterministic bound on the work of one explanation (a filter, or a stack, with the diff, lint or graph built on it):
/// units are counted where the work grows with a hostile input (an instruction stepped on one path, a path copied, a
/// path visited for a number, a region combined with a path), so that any input ends within a bounded time and memory
/// on any machine, the same way everywhere. Found by tools/Fuzz (issue 17): programs of a few thousand instructions
/// whose conditions rejoin made hundreds of thousands of paths and took 9 s and 2.3 GiB.
/// </summary>
public sealed class AnalysisBudget
{
    /// <summary>
    /// The units one explanation (or one diff of two) may spend. Measured with <c>SeccompKit.Fuzz cost</c>: Docker's and
    /// podman's default profiles compiled spend about 61,000, a generated 1,405-instruction filter of 333 syscalls with
    /// argument conditions on three ABIs 101,000, the largest of data/peers 145,000; a unit costs about 0.5 µs and 200
    /// bytes, so the bound is about half a second and 200 MiB (bench/results/fuzz.md).
    /// </summary>
    public const long MaxWork = 1_000_000;

    private readonly long _limit;

    /// <summary>A budget of <paramref name="limit"/> units.</summary>
    public AnalysisBudget(long limit = MaxWork) => _limit = limit;

    /// <summary>Units spent so far.</summary>
    public long Used { get; private set; }

    /// <summary>
    /// Operations of symbolic expressions (<see cref="SymbolicExpression.Size"/>) one unit pays for: evaluating one costs
    /// nanoseconds, against about half a microsecond for the other steps a unit counts (measured with
    /// <c>SeccompKit.Fuzz cost</c>).
    /// </summary>
    public const int OperationsPerUnit = 16;

    /// <summary>The units that visiting <paramref name="operations"/> expression operations costs (rounded up).</summary>
    public static long UnitsFor(long operations) => (operations + OperationsPerUnit - 1) / OperationsPerUnit;

    /// <summary>Spends <paramref name="units"/>.</summary>
    /// <exception cref="AnalysisLimitException">The budget is exceeded.</exception>
    public void Spend(long units)
    {
        Used += units;
        if (Used > _limit)
            throw new AnalysisLimitException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the filter is too intricate to analyse within seccompkit's fixed work bound ({_limit:N0} steps: conditions that rejoin multiply its paths); explain, diff and lint give up rather than guess or run for minutes. No option raises the bound: analyse the filters of a stack one at a time, or simplify the filter"));
    }
}

/// <summary>
/// Explores every feasible path of a classic BPF seccomp program symbolically over <c>seccomp_data</c>: loads (ABS, LEN,
/// MEM, IMM), scratch stores, TAX/TXA, every ALU operation with K or X, JEQ/JGT/JGE/JSET with K or X, RET K and RET A.
/// A branch whose condition cannot hold given the path so far is pruned exactly (<see cref="WordSet.IsEmpty"/>).
/// </summary>
public static class PathExplorer
{
    /// <summary>Most paths explored per program before <see cref="AnalysisLimitException"/>.</summary>
    public const int MaxPaths = 1_000_000;

    /// <summary>
    /// The largest value computed from the data the explorer keeps, in <see cref="SymbolicExpression.Size"/> (operations
    /// and operands written out): as many as a program of <c>BPF_MAXINSNS</c> instructions reaches without reusing a
    /// value. Reuse doubles the size per instruction (<c>X = A; A += X</c> forty times is 2^40 operations), so without
    /// this bound evaluating or printing one comparison would never end (issue 17).
    /// </summary>
    public const int MaxExpressionSize = BPF_MAXINSNS;

    /// <summary>The 16 word sets of an unconstrained input.</summary>
    public static ImmutableArray<WordSet> AllInputs { get; } = [.. Enumerable.Repeat(WordSet.Full, SeccompData.Size / 4)];

    /// <summary>Every feasible path of <paramref name="program"/>; <paramref name="filter"/> is its index in a stack, for reports.</summary>
    /// <exception cref="AnalysisLimitException">More than <see cref="MaxPaths"/> paths, or more work than <see cref="AnalysisBudget.MaxWork"/>.</exception>
    public static ImmutableArray<ProgramPath> Explore(BpfProgram program, int filter = 0) => Explore(program, filter, new AnalysisBudget());

    /// <summary>As <see cref="Explore(BpfProgram, int)"/>, spending from <paramref name="budget"/> (shared by the filters of a stack).</summary>
    /// <exception cref="AnalysisLimitException">More than <see cref="MaxPaths"/> paths, or the budget is spent.</exception>
    public static ImmutableArray<ProgramPath> Explore(BpfProgram program, int filter, AnalysisBudget budget)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(budget);
        var paths = ImmutableArray.CreateBuilder<ProgramPath>();
        var ins = program.Instructions;
        var mem = new SymbolicExpression?[BPF_MEMWORDS];
        var zero = new ConstantExpression(0);
        Walk(ins, filter, 0, [.. AllInputs], [], zero, zero, mem, paths, budget);
        return paths.ToImmutable();
    }

    private static void Walk(ImmutableArray<Instruction> prog, int filter, int pc, WordSet[] words, ImmutableArray<OpaqueCondition> opaque,
        SymbolicExpression a, SymbolicExpression x, SymbolicExpression?[] mem, ImmutableArray<ProgramPath>.Builder paths, AnalysisBudget budget)
    {
        while (true)
        {
            // One unit per instruction stepped on one path: a path's length, summed over paths, is what rejoining
            // conditions multiply.
            budget.Spend(1);
            var i = prog[pc];
            switch (BPF_CLASS(i.Code))
            {
                case BPF_LD:
                case BPF_LDX:
                {
                    SymbolicExpression v = BPF_MODE(i.Code) switch
                    {
                        BPF_ABS => new WordExpression((int)(i.K / 4)),
                        BPF_LEN => new ConstantExpression(SeccompData.Size),
                        BPF_MEM => mem[i.K] ?? new ConstantExpression(0),
                        _ => new ConstantExpression(i.K),
                    };
                    // A load of a word the path pins to one value is that value: later compares fold.
                    if (v is WordExpression w && words[w.Index].IsSingle) v = new ConstantExpression(words[w.Index].Low);
                    if (BPF_CLASS(i.Code) == BPF_LD) a = v; else x = v;
                    pc++;
                    continue;
                }
                case BPF_ST:
                case BPF_STX:
                    mem = (SymbolicExpression?[])mem.Clone();
                    mem[i.K] = BPF_CLASS(i.Code) == BPF_ST ? a : x;
                    pc++;
                    continue;
                case BPF_MISC:
                    if (BPF_MISCOP(i.Code) == BPF_TAX) x = a; else a = x;
                    pc++;
                    continue;
                case BPF_ALU:
                {
                    ushort op = BPF_OP(i.Code);
                    var operand = BPF_SRC(i.Code) == BPF_X ? x : new ConstantExpression(i.K);
                    if (op == BPF_DIV && BPF_SRC(i.Code) == BPF_X)
                    {
                        // DIV X returns 0 from the whole filter when X is 0 (the kernel's and Interpreter's behaviour).
                        if (operand is ConstantExpression c0 && c0.Value == 0) { Emit(words, opaque, 0, null, pc, paths, budget); return; }
                        if (operand is not ConstantExpression)
                        {
                            foreach (var (w2, o2) in Branch(budget, filter, pc, words, opaque, operand, BPF_JEQ, new ConstantExpression(0), true))
                                Emit(w2, o2, 0, null, pc, paths, budget);
                            var rest = Branch(budget, filter, pc, words, opaque, operand, BPF_JEQ, new ConstantExpression(0), false).ToList();
                            if (rest.Count == 0) return;
                            (words, opaque) = rest[0];
                        }
                    }
                    a = SymbolicExpression.Alu(op, a, operand);
                    if (a.Size > MaxExpressionSize)
                        throw new AnalysisLimitException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                            $"filter {filter}, instruction {pc}: the value computed here from the data has more than {MaxExpressionSize:N0} operations once written out (each reuse of a computed value, as in 'X = A; A += X', doubles them); explain, diff and lint give up rather than guess or run for hours. Simplify the arithmetic of the filter"));
                    pc++;
                    continue;
                }
                case BPF_JMP:
                {
                    ushort op = BPF_OP(i.Code);
                    if (op == BPF_JA) { pc += 1 + (int)i.K; continue; }
                    var operand = BPF_SRC(i.Code) == BPF_X ? x : new ConstantExpression(i.K);
                    int tpc = pc + 1 + i.Jt, fpc = pc + 1 + i.Jf;
                    if (tpc == fpc) { pc = tpc; continue; }
                    var taken = Branch(budget, filter, pc, words, opaque, a, op, operand, true).ToList();
                    var notTaken = Branch(budget, filter, pc, words, opaque, a, op, operand, false).ToList();
                    if (taken.Count == 1 && notTaken.Count == 0) { (words, opaque) = taken[0]; pc = tpc; continue; }
                    if (taken.Count == 0 && notTaken.Count == 1) { (words, opaque) = notTaken[0]; pc = fpc; continue; }
                    foreach (var (w, o) in taken) Walk(prog, filter, tpc, w, o, a, x, mem, paths, budget);
                    foreach (var (w, o) in notTaken) Walk(prog, filter, fpc, w, o, a, x, mem, paths, budget);
                    return;
                }
                default: // BPF_RET
                    if (BPF_RVAL(i.Code) == BPF_K) Emit(words, opaque, i.K, null, pc, paths, budget);
                    else if (a is ConstantExpression c) Emit(words, opaque, c.Value, null, pc, paths, budget);
                    else Emit(words, opaque, null, a, pc, paths, budget);
                    return;
            }
        }
    }

    private static void Emit(WordSet[] words, ImmutableArray<OpaqueCondition> opaque, uint? value, SymbolicExpression? expr, int pc, ImmutableArray<ProgramPath>.Builder paths, AnalysisBudget budget)
    {
        budget.Spend(words.Length + opaque.Length + AnalysisBudget.UnitsFor(expr?.Size ?? 0));
        if (paths.Count >= MaxPaths)
            throw new AnalysisLimitException($"the program has more than {MaxPaths} paths (conditions that rejoin multiply them); explain gives up rather than guess");
        paths.Add(new ProgramPath([.. words], opaque, value, expr, pc));
    }

    /// <summary>The path states (0 or 1) in which <c>left op right</c> is <paramref name="holds"/>.</summary>
    private static IEnumerable<(WordSet[], ImmutableArray<OpaqueCondition>)> Branch(AnalysisBudget budget, int filter, int pc, WordSet[] words, ImmutableArray<OpaqueCondition> opaque,
        SymbolicExpression left, ushort op, SymbolicExpression right, bool holds)
    {
        if (left is ConstantExpression l && right is ConstantExpression r)
        {
            if (Compare(op, l.Value, r.Value) == holds) yield return (words, opaque);
            yield break;
        }
        WordPredicate? onWord = null;
        SymbolicExpression? symbolic = null;
        if (right is ConstantExpression k && left.SingleWord >= 0)
        {
            symbolic = left;
            onWord = left.Preimage(ResultSet(op, k.Value));
        }
        else if (left is ConstantExpression c && right.SingleWord >= 0)
        {
            symbolic = right;
            onWord = right.Preimage(MirroredSet(op, c.Value));
        }
        if (onWord is { } p)
        {
            var pred = holds ? p : p.Not();
            int w = symbolic!.SingleWord;
            // Narrowing copies the word's exclusions, which grow with the conditions on the path.
            budget.Spend(1 + words[w].Exclusions.Length);
            var narrowed = words[w].And(pred);
            if (narrowed.IsEmptyWithin(budget)) yield break;
            var copy = (WordSet[])words.Clone();
            copy[w] = narrowed;
            yield return (copy, opaque);
            yield break;
        }
        // Not a constraint on one word: decide it when every word it reads is pinned, else keep it opaque.
        var cond = new OpaqueCondition(filter, pc, left, op, right, holds);
        // Deciding or keeping it visits the expressions once, and every later step that reads the path pays again.
        budget.Spend(AnalysisBudget.UnitsFor(cond.Size));
        if (WordsOf(cond.WordMask).All(i => words[i].IsSingle))
        {
            Span<uint> concrete = stackalloc uint[SeccompData.Size / 4];
            for (int i = 0; i < concrete.Length; i++) concrete[i] = words[i].Low;
            if (cond.Evaluate(concrete)) yield return (words, opaque);
            yield break;
        }
        yield return (words, opaque.Add(cond));
    }

    // The values y with `y op k`.
    private static WordPredicate ResultSet(ushort op, uint k) => op switch
    {
        BPF_JEQ => WordPredicate.Between(k, k),
        BPF_JGT => k == uint.MaxValue ? WordPredicate.Never : WordPredicate.Between(k + 1, uint.MaxValue),
        BPF_JGE => WordPredicate.Between(k, uint.MaxValue),
        _ => WordPredicate.MaskEquals(k, 0).Not(),
    };

    // The values y with `c op y` (A constant, X the data).
    private static WordPredicate MirroredSet(ushort op, uint c) => op switch
    {
        BPF_JEQ => WordPredicate.Between(c, c),
        BPF_JGT => c == 0 ? WordPredicate.Never : WordPredicate.Between(0, c - 1),
        BPF_JGE => WordPredicate.Between(0, c),
        _ => WordPredicate.MaskEquals(c, 0).Not(),
    };

    /// <summary>A jump's test on concrete values.</summary>
    public static bool Compare(ushort op, uint a, uint b) => op switch
    {
        BPF_JEQ => a == b,
        BPF_JGT => a > b,
        BPF_JGE => a >= b,
        _ => (a & b) != 0,
    };

    /// <summary>The words an expression reads, each once, in increasing order.</summary>
    public static IEnumerable<int> WordsOf(SymbolicExpression e) => WordsOf(e.WordMask);

    internal static IEnumerable<int> WordsOf(int mask)
    {
        for (int i = 0; i < 32; i++)
            if ((mask & (1 << i)) != 0) yield return i;
    }
}
