using System.Collections.Immutable;
using System.Globalization;

namespace SeccompKit.Analysis;

/// <summary>The shape of a <see cref="WordPredicate"/>.</summary>
public enum PredicateKind
{
    /// <summary>Every value.</summary>
    True,
    /// <summary>No value.</summary>
    False,
    /// <summary><c>A &lt;= w &lt;= B</c> (unsigned, A &lt;= B).</summary>
    Range,
    /// <summary><c>(w &amp; A) == B</c>.</summary>
    Masked,
}

/// <summary>
/// A set of 32-bit values in one of the forms a classic BPF comparison of one <c>seccomp_data</c> word produces:
/// a range, a masked equality, or the complement of either (<see cref="Negated"/>). Comparisons made after ALU
/// operations are carried back to the word itself by <see cref="SymbolicExpression.Preimage"/>.
/// </summary>
/// <param name="Kind">The form.</param>
/// <param name="A">Range: the low end; masked: the mask.</param>
/// <param name="B">Range: the high end; masked: the value.</param>
/// <param name="Negated">True for the complement.</param>
public readonly record struct WordPredicate(PredicateKind Kind, uint A, uint B, bool Negated)
{
    /// <summary>Every value.</summary>
    public static WordPredicate Always => new(PredicateKind.True, 0, 0, false);
    /// <summary>No value.</summary>
    public static WordPredicate Never => new(PredicateKind.False, 0, 0, false);

    /// <summary>
    /// The values from <paramref name="low"/> to <paramref name="high"/>; when <paramref name="low"/> &gt; <paramref name="high"/>
    /// the range wraps past 0xffffffff (what <c>w + k</c> in a range means for <c>w</c>) and is the complement of the gap.
    /// </summary>
    public static WordPredicate Between(uint low, uint high)
    {
        if (low <= high) return low == 0 && high == uint.MaxValue ? Always : new(PredicateKind.Range, low, high, false);
        // Wrapped: everything but [high + 1, low - 1].
        return new(PredicateKind.Range, high + 1, low - 1, true);
    }

    /// <summary><c>(w &amp; mask) == value</c>; never when <paramref name="value"/> has bits outside <paramref name="mask"/>.</summary>
    public static WordPredicate MaskEquals(uint mask, uint value)
    {
        if ((value & ~mask) != 0) return Never;
        if (mask == 0) return Always;
        return new(PredicateKind.Masked, mask, value, false);
    }

    /// <summary>The complement.</summary>
    public WordPredicate Not() => Kind switch
    {
        PredicateKind.True => Never,
        PredicateKind.False => Always,
        _ => this with { Negated = !Negated },
    };

    /// <summary>Whether <paramref name="w"/> is in the set.</summary>
    public bool Contains(uint w) => Kind switch
    {
        PredicateKind.True => true,
        PredicateKind.False => false,
        PredicateKind.Range => (w >= A && w <= B) != Negated,
        _ => ((w & A) == B) != Negated,
    };
}

/// <summary>One value or range a <see cref="WordSet"/> leaves out.</summary>
/// <param name="IsRange">True: the range [A, B]; false: the values with <c>(w &amp; A) == B</c>.</param>
/// <param name="A">Range low end, or the mask.</param>
/// <param name="B">Range high end, or the masked value.</param>
public readonly record struct WordExclusion(bool IsRange, uint A, uint B)
{
    /// <summary>Whether <paramref name="w"/> is left out.</summary>
    public bool Excludes(uint w) => IsRange ? w >= A && w <= B : (w & A) == B;
}

/// <summary>
/// The values one 32-bit word of <c>seccomp_data</c> may take on a path: a range [<see cref="Low"/>, <see cref="High"/>],
/// some bits fixed (<c>(w &amp; FixedMask) == FixedValue</c>), minus <see cref="Exclusions"/>. Every comparison of a word
/// with a constant (JEQ, JGT, JGE, JSET, their negations, and those made after add/sub/and/or/xor/shifts) is exactly
/// such a constraint, so the set is exact; <see cref="IsEmpty"/> decides it exactly by a bit-level search.
/// </summary>
public sealed class WordSet : IEquatable<WordSet>
{
    private WordSet(uint low, uint high, uint fixedMask, uint fixedValue, ImmutableArray<WordExclusion> exclusions)
    {
        Low = low; High = high; FixedMask = fixedMask; FixedValue = fixedValue; Exclusions = exclusions;
    }

    /// <summary>Every 32-bit value.</summary>
    public static WordSet Full { get; } = new(0, uint.MaxValue, 0, 0, []);

    /// <summary>No value.</summary>
    public static WordSet Empty { get; } = new(1, 0, 0, 0, []);

    /// <summary>Exactly <paramref name="value"/>.</summary>
    public static WordSet Single(uint value) => new(value, value, uint.MaxValue, value, []);

    /// <summary>Lowest value allowed by the range.</summary>
    public uint Low { get; }
    /// <summary>Highest value allowed by the range.</summary>
    public uint High { get; }
    /// <summary>Bits with a fixed value.</summary>
    public uint FixedMask { get; }
    /// <summary>The fixed bits' values.</summary>
    public uint FixedValue { get; }
    /// <summary>Values or ranges left out.</summary>
    public ImmutableArray<WordExclusion> Exclusions { get; }

    /// <summary>True when no constraint is set.</summary>
    public bool IsFull => Low == 0 && High == uint.MaxValue && FixedMask == 0 && Exclusions.IsEmpty;

    /// <summary>True when the set has exactly one value (and the range says so).</summary>
    public bool IsSingle => Low == High && !IsEmpty;

    /// <summary>Whether <paramref name="w"/> is in the set.</summary>
    public bool Contains(uint w)
    {
        if (w < Low || w > High || (w & FixedMask) != FixedValue) return false;
        foreach (var e in Exclusions) if (e.Excludes(w)) return false;
        return true;
    }

    /// <summary>The set narrowed by <paramref name="p"/>.</summary>
    public WordSet And(WordPredicate p)
    {
        if (Low > High) return this;
        switch (p.Kind)
        {
            case PredicateKind.True: return this;
            case PredicateKind.False: return Empty;
            case PredicateKind.Range when !p.Negated:
                return Make(Math.Max(Low, p.A), Math.Min(High, p.B), FixedMask, FixedValue, Exclusions);
            case PredicateKind.Range:
                if (p.B < Low || p.A > High) return this;
                if (p.A <= Low) return p.B >= High ? Empty : Make(p.B + 1, High, FixedMask, FixedValue, Exclusions);
                if (p.B >= High) return Make(Low, p.A - 1, FixedMask, FixedValue, Exclusions);
                return Make(Low, High, FixedMask, FixedValue, Exclusions.Add(new WordExclusion(true, p.A, p.B)));
            case PredicateKind.Masked when !p.Negated:
            {
                uint common = FixedMask & p.A;
                if ((FixedValue & common) != (p.B & common)) return Empty;
                return Make(Low, High, FixedMask | p.A, FixedValue | p.B, Exclusions);
            }
            default:
            {
                // (w & m) != v: already true when the fixed bits disagree with v on m.
                uint common = FixedMask & p.A;
                if ((FixedValue & common) != (p.B & common)) return this;
                if (p.A == uint.MaxValue)
                {
                    if (p.B < Low || p.B > High) return this;
                    if (p.B == Low) return Low == High ? Empty : Make(Low + 1, High, FixedMask, FixedValue, Exclusions);
                    if (p.B == High) return Make(Low, High - 1, FixedMask, FixedValue, Exclusions);
                }
                var e = new WordExclusion(false, p.A, p.B);
                return Exclusions.Contains(e) ? this : Make(Low, High, FixedMask, FixedValue, Exclusions.Add(e));
            }
        }
    }

    /// <summary>The intersection with <paramref name="other"/>.</summary>
    public WordSet Intersect(WordSet other)
    {
        if (other.IsFull || IsEmptyShape) return this;
        if (IsFull || other.IsEmptyShape) return other;
        var r = And(WordPredicate.Between(other.Low, other.High));
        r = r.And(WordPredicate.MaskEquals(other.FixedMask, other.FixedValue));
        foreach (var e in other.Exclusions)
            r = r.And(e.IsRange ? new WordPredicate(PredicateKind.Range, e.A, e.B, true) : new WordPredicate(PredicateKind.Masked, e.A, e.B, true));
        return r;
    }

    private bool IsEmptyShape => Low > High;

    // Normal form, so that equal sets print alike: a single value drops every other constraint, and an exclusion the range
    // or the fixed bits already rule out is dropped.
    private static WordSet Make(uint low, uint high, uint fixedMask, uint fixedValue, ImmutableArray<WordExclusion> exclusions)
    {
        if (low > high) return Empty;
        if (low == high)
        {
            if ((low & fixedMask) != fixedValue) return Empty;
            foreach (var e in exclusions) if (e.Excludes(low)) return Empty;
            return Single(low);
        }
        if (!exclusions.IsEmpty && exclusions.Any(e => Redundant(e, low, high, fixedMask, fixedValue)))
            exclusions = [.. exclusions.Where(e => !Redundant(e, low, high, fixedMask, fixedValue))];
        return new WordSet(low, high, fixedMask, fixedValue, exclusions);
    }

    private static bool Redundant(WordExclusion e, uint low, uint high, uint fixedMask, uint fixedValue)
    {
        if (e.IsRange) return e.B < low || e.A > high;
        if (e.A == uint.MaxValue && (e.B < low || e.B > high)) return true;
        uint common = fixedMask & e.A;
        return (fixedValue & common) != (e.B & common);
    }

    /// <summary>True when no 32-bit value satisfies every constraint (decided exactly).</summary>
    public bool IsEmpty => !TryGetWitness(out _);

    /// <summary>As <see cref="IsEmpty"/>, paying the search's work from <paramref name="budget"/>.</summary>
    /// <exception cref="AnalysisLimitException">See <see cref="TryGetWitness(out uint, AnalysisBudget?)"/>.</exception>
    public bool IsEmptyWithin(AnalysisBudget budget) => !TryGetWitness(out _, budget);

    /// <summary>
    /// Most cubes <see cref="TryGetWitness(out uint)"/> visits before it gives up with <see cref="AnalysisLimitException"/>. Masked
    /// exclusions are clauses over bits, so deciding emptiness is satisfiability in general; the search is linear in
    /// the number of constraints for the sets real filters make, and this bounds it for the rest.
    /// </summary>
    public const int MaxSearchSteps = 1_000_000;

    // What one unit of AnalysisBudget pays for in a search (see TryGetWitness).
    private const int CubesPerUnit = 16, ExclusionsPerUnit = 256;

    /// <summary>The smallest value of the set, if any.</summary>
    /// <exception cref="AnalysisLimitException">Deciding it takes more than <see cref="MaxSearchSteps"/> steps.</exception>
    public bool TryGetWitness(out uint value) => TryGetWitness(out value, null);

    /// <summary>
    /// As <see cref="TryGetWitness(out uint)"/>; the cubes visited and the exclusions looked at in each are paid from
    /// <paramref name="budget"/> (a unit per 16 cubes and per 256 exclusions looked at), so that an explanation making
    /// many searches stays within its bound, not only each search within <see cref="MaxSearchSteps"/>.
    /// </summary>
    /// <exception cref="AnalysisLimitException">Deciding it takes more than <see cref="MaxSearchSteps"/> steps, or the budget is spent.</exception>
    public bool TryGetWitness(out uint value, AnalysisBudget? budget)
    {
        value = 0;
        if (Low > High) return false;
        if (Exclusions.IsEmpty && FixedMask == 0) { value = Low; return true; }
        var alive = Exclusions.ToArray();
        int steps = MaxSearchSteps;
        long looked = 0;
        bool found = Search(31, 0, alive, alive.Length, ref steps, ref looked, out value);
        // Measured (SeccompKit.Fuzz cost): a cube costs about 30 ns (its array of live exclusions), an exclusion looked at
        // about 2 ns, against the half microsecond a unit stands for. Small searches are paid by their callers' own units.
        budget?.Spend((MaxSearchSteps - steps) / CubesPerUnit + looked / ExclusionsPerUnit);
        return found;
    }

    /// <summary>The smallest value of the set that is at least <paramref name="from"/>, if any.</summary>
    /// <exception cref="AnalysisLimitException">See <see cref="TryGetWitness(out uint)"/>.</exception>
    public bool TryGetWitnessFrom(uint from, out uint value)
    {
        if (from <= Low) return TryGetWitness(out value);
        return Make(from, High, FixedMask, FixedValue, Exclusions).TryGetWitness(out value);
    }

    // Depth-first over bits from the top: the prefix fixes bits above `bit`, the cube is every completion of it. An
    // exclusion stops mattering once the cube leaves it, and kills the branch once the cube lies inside it. A bit that
    // nothing alive looks at (the cube inside the range, no range exclusion left, no masked exclusion or fixed bit on
    // it) cannot change the answer, so only one of its values is searched: without that, an empty set such as
    // "(w & 3) != 0 and (w & 3) == 0" searched all 2^30 settings of the bits above (found by the fuzzer, issue 17).
    private bool Search(int bit, uint prefix, WordExclusion[] alive, int count, ref int budget, ref long looked, out uint value)
    {
        value = 0;
        looked += count;
        if (--budget < 0)
            throw new AnalysisLimitException($"deciding whether a word's constraints leave any value took more than {MaxSearchSteps} steps ({Exclusions.Length} masked or excluded values on one word); the filter is too intricate to explain exactly, so explain gives up rather than guess");
        uint lowMask = bit >= 31 ? uint.MaxValue : (1u << (bit + 1)) - 1;
        uint cubeLo = prefix, cubeHi = prefix | lowMask;
        if (cubeHi < Low || cubeLo > High) return false;
        // The exclusions still alive for this cube, moved to the front of a fresh array.
        var next = count == 0 ? alive : new WordExclusion[count];
        int n = 0;
        bool rangeAlive = false;
        uint masksLooking = 0;
        for (int i = 0; i < count; i++)
        {
            var e = alive[i];
            if (e.IsRange)
            {
                if (cubeHi < e.A || cubeLo > e.B) continue;
                if (e.A <= cubeLo && cubeHi <= e.B) return false;
                rangeAlive = true;
            }
            else
            {
                uint determined = e.A & ~lowMask;
                if (((prefix ^ e.B) & determined) != 0) continue;
                if ((e.A & lowMask) == 0) return false;
                masksLooking |= e.A;
            }
            next[n++] = e;
        }
        bool inRange = cubeLo >= Low && cubeHi <= High;
        if (n == 0 && inRange)
        {
            value = (cubeLo & ~(FixedMask & lowMask)) | (FixedValue & FixedMask & lowMask);
            return true;
        }
        if (bit < 0) return false; // a single point is decided above
        uint b = 1u << bit;
        bool zeroAllowed = (FixedMask & b) == 0 || (FixedValue & b) == 0;
        bool oneAllowed = (FixedMask & b) == 0 || (FixedValue & b) != 0;
        if (zeroAllowed && Search(bit - 1, prefix, next, n, ref budget, ref looked, out value)) return true;
        // The same search with this bit set would fail alike: nothing alive depends on it.
        if (zeroAllowed && inRange && !rangeAlive && (masksLooking & b) == 0) return false;
        if (oneAllowed && Search(bit - 1, prefix | b, next, n, ref budget, ref looked, out value)) return true;
        return false;
    }

    /// <summary>
    /// Values worth testing: the set's smallest and largest members and, around each bound and excluded value, the
    /// nearest members (each constant ±1 is covered by the members next to it).
    /// </summary>
    public IEnumerable<uint> SamplePoints()
    {
        var candidates = new HashSet<uint> { Low, High, Low + 1, High - 1, FixedValue, FixedValue | ~FixedMask };
        foreach (var e in Exclusions)
        {
            if (e.IsRange) { candidates.Add(e.A - 1); candidates.Add(e.B + 1); }
            else { candidates.Add(e.B ^ (e.A & (0u - e.A))); candidates.Add((e.B | ~e.A)); candidates.Add(e.B + 1); candidates.Add(e.B - 1); }
        }
        foreach (var c in candidates)
        {
            if (Contains(c)) yield return c;
            else
            {
                uint snapped = (c & ~FixedMask) | FixedValue;
                if (Contains(snapped)) yield return snapped;
            }
        }
        if (TryGetWitness(out var w)) yield return w;
    }

    /// <inheritdoc/>
    public bool Equals(WordSet? other) =>
        other is not null && Low == other.Low && High == other.High && FixedMask == other.FixedMask && FixedValue == other.FixedValue &&
        Exclusions.Length == other.Exclusions.Length && Exclusions.All(other.Exclusions.Contains);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as WordSet);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Low, High, FixedMask, FixedValue, Exclusions.Length);

    /// <summary>The constraints in C-like text with <paramref name="name"/> for the word: <c>w &gt;= 0x10 &amp;&amp; w &amp; 0x3 == 0x1</c>.</summary>
    public string Describe(string name, Func<uint, string>? constant = null)
    {
        constant ??= Hex;
        if (Low > High) return "false";
        var parts = new List<string>();
        if (Low == High) parts.Add($"{name} == {constant(Low)}");
        else
        {
            if (Low != 0) parts.Add($"{name} >= {constant(Low)}");
            if (High != uint.MaxValue) parts.Add($"{name} <= {constant(High)}");
            if (FixedMask == uint.MaxValue) parts.Add($"{name} == {constant(FixedValue)}");
            else if (FixedMask != 0) parts.Add($"{name} & {constant(FixedMask)} == {constant(FixedValue)}");
        }
        foreach (var e in Exclusions)
        {
            if (e.IsRange) parts.Add(e.A == e.B ? $"{name} != {constant(e.A)}" : $"!({constant(e.A)} <= {name} <= {constant(e.B)})");
            else if (e.A == uint.MaxValue) parts.Add($"{name} != {constant(e.B)}");
            else parts.Add($"{name} & {constant(e.A)} != {constant(e.B)}");
        }
        return parts.Count == 0 ? "true" : string.Join(" && ", parts);
    }

    private static string Hex(uint v) => v < 10 ? v.ToString(CultureInfo.InvariantCulture) : "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public override string ToString() => Describe("w");
}
