using System.Globalization;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Analysis;

/// <summary>
/// A value a filter computes, as a function of <c>seccomp_data</c>'s 32-bit words: a constant, a word, an ALU
/// operation with a constant on another expression, or an operation combining two data-dependent expressions.
/// Every expression can be evaluated on concrete words (<see cref="Evaluate"/>); comparisons of a one-word chain
/// with a constant are carried back to the word (<see cref="Preimage"/>).
/// </summary>
public abstract record SymbolicExpression
{
    /// <summary>The value on concrete words (word i is what <c>LD W ABS 4i</c> reads).</summary>
    public abstract uint Evaluate(ReadOnlySpan<uint> words);

    /// <summary>The one word this expression depends on through constant operations only, or -1.</summary>
    public virtual int SingleWord => -1;

    /// <summary>True for a constant.</summary>
    public bool IsConstant => this is ConstantExpression;

    /// <summary>
    /// The number of operations and operands written out as a tree: what one <see cref="Evaluate"/> or
    /// <see cref="Describe"/> visits. A value a program reuses (<c>X = A; A += X</c>) counts each time it is used, so
    /// the size can double per instruction; it saturates at <see cref="int.MaxValue"/>.
    /// </summary>
    public abstract int Size { get; }

    /// <summary>The words the expression reads, as bits (bit i: word i).</summary>
    public abstract int WordMask { get; }

    /// <summary>Readable text with word names from <paramref name="wordName"/>.</summary>
    public abstract string Describe(Func<int, string> wordName);

    /// <summary>
    /// The set of values of <see cref="SingleWord"/> for which this expression's value lies in <paramref name="result"/>,
    /// or null when that set has no exact <see cref="WordPredicate"/> form (the comparison is then kept opaque).
    /// </summary>
    public virtual WordPredicate? Preimage(WordPredicate result) => null;

    /// <summary>Combines with an ALU operation (<c>BPF_ADD</c>...; <c>BPF_NEG</c> ignores the operand), folding constants.</summary>
    public static SymbolicExpression Alu(ushort op, SymbolicExpression a, SymbolicExpression operand)
    {
        if (op == BPF_NEG) return a is ConstantExpression c0 ? new ConstantExpression(unchecked(0u - c0.Value)) : new UnaryExpression(op, 0, a);
        if (a is ConstantExpression ca && operand is ConstantExpression cb) return new ConstantExpression(Apply(op, ca.Value, cb.Value));
        if (operand is ConstantExpression k)
        {
            // Identities keep chains short: x + 0, x | 0, x ^ 0, x << 0, x >> 0, x * 1, x / 1, x & ~0.
            if ((k.Value == 0 && op is BPF_ADD or BPF_SUB or BPF_OR or BPF_XOR or BPF_LSH or BPF_RSH) ||
                (k.Value == 1 && op is BPF_MUL or BPF_DIV) || (k.Value == uint.MaxValue && op == BPF_AND)) return a;
            if (k.Value == 0 && op is BPF_AND or BPF_MUL) return new ConstantExpression(0);
            return new UnaryExpression(op, k.Value, a);
        }
        return new BinaryExpression(op, a, operand);
    }

    /// <summary>One ALU step on constants, as the interpreter does it (shifts by the operand's low 5 bits; DIV by 0 is the caller's).</summary>
    public static uint Apply(ushort op, uint a, uint k) => op switch
    {
        BPF_ADD => unchecked(a + k),
        BPF_SUB => unchecked(a - k),
        BPF_MUL => unchecked(a * k),
        BPF_DIV => k == 0 ? 0 : a / k,
        BPF_AND => a & k,
        BPF_OR => a | k,
        BPF_XOR => a ^ k,
        BPF_LSH => a << (int)(k & 31),
        BPF_RSH => a >> (int)(k & 31),
        BPF_NEG => unchecked(0u - a),
        _ => throw new InvalidOperationException($"ALU operation 0x{op:x2} is not allowed in seccomp filters"),
    };

    /// <summary>The C operator of an ALU operation.</summary>
    public static string OperatorText(ushort op) => op switch
    {
        BPF_ADD => "+", BPF_SUB => "-", BPF_MUL => "*", BPF_DIV => "/", BPF_AND => "&", BPF_OR => "|", BPF_XOR => "^",
        BPF_LSH => "<<", BPF_RSH => ">>", BPF_NEG => "-", _ => "?",
    };

    internal static string Hex(uint v) => v < 10 ? v.ToString(CultureInfo.InvariantCulture) : "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>A constant.</summary>
/// <param name="Value">The value.</param>
public sealed record ConstantExpression(uint Value) : SymbolicExpression
{
    /// <inheritdoc/>
    public override int Size => 1;
    /// <inheritdoc/>
    public override int WordMask => 0;
    /// <inheritdoc/>
    public override uint Evaluate(ReadOnlySpan<uint> words) => Value;
    /// <inheritdoc/>
    public override string Describe(Func<int, string> wordName) => Hex(Value);
}

/// <summary>A 32-bit word of <c>seccomp_data</c> (index = offset / 4).</summary>
/// <param name="Index">0 nr, 1 arch, 2-3 instruction pointer, 4-15 the argument halves.</param>
public sealed record WordExpression(int Index) : SymbolicExpression
{
    /// <inheritdoc/>
    public override int Size => 1;
    /// <inheritdoc/>
    public override int WordMask => 1 << Index;
    /// <inheritdoc/>
    public override uint Evaluate(ReadOnlySpan<uint> words) => words[Index];
    /// <inheritdoc/>
    public override int SingleWord => Index;
    /// <inheritdoc/>
    public override string Describe(Func<int, string> wordName) => wordName(Index);
    /// <inheritdoc/>
    public override WordPredicate? Preimage(WordPredicate result) => result;
}

/// <summary>An ALU operation with a constant operand on an expression (<c>BPF_NEG</c>: no operand).</summary>
/// <param name="Op">The operation (<c>BPF_ADD</c>...).</param>
/// <param name="K">The constant operand.</param>
/// <param name="Inner">The expression operated on.</param>
public sealed record UnaryExpression(ushort Op, uint K, SymbolicExpression Inner) : SymbolicExpression
{
    /// <inheritdoc/>
    public override int Size { get; } = Inner.Size == int.MaxValue ? int.MaxValue : Inner.Size + 1;
    /// <inheritdoc/>
    public override int WordMask { get; } = Inner.WordMask;
    /// <inheritdoc/>
    public override uint Evaluate(ReadOnlySpan<uint> words) => Apply(Op, Inner.Evaluate(words), K);
    /// <inheritdoc/>
    public override int SingleWord => Inner.SingleWord;
    /// <inheritdoc/>
    public override string Describe(Func<int, string> wordName) =>
        Op == BPF_NEG ? $"-({Inner.Describe(wordName)})" : $"({Inner.Describe(wordName)} {OperatorText(Op)} {Hex(K)})";

    /// <inheritdoc/>
    public override WordPredicate? Preimage(WordPredicate result)
    {
        if (Inner.SingleWord < 0) return null;
        var inner = Step(result);
        return inner is null ? null : Inner.Preimage(inner.Value);
    }

    // The set of inputs y of this one operation whose output lies in `result`. The complement of a set's preimage is
    // the preimage of its complement, so negated predicates are carried through by their positive form.
    private WordPredicate? Step(WordPredicate result)
    {
        if (result.Kind is PredicateKind.True or PredicateKind.False) return result;
        if (result.Negated)
        {
            var positive = Step(result.Not());
            return positive?.Not();
        }
        bool isRange = result.Kind == PredicateKind.Range;
        uint a = result.A, b = result.B;
        bool single = isRange ? a == b : result.A == uint.MaxValue;
        uint point = isRange ? a : b;
        switch (Op)
        {
            case BPF_ADD:
                if (isRange) return WordPredicate.Between(unchecked(a - K), unchecked(b - K));
                break;
            case BPF_SUB:
                if (isRange) return WordPredicate.Between(unchecked(a + K), unchecked(b + K));
                break;
            case BPF_NEG:
                if (single) return WordPredicate.Between(unchecked(0u - point), unchecked(0u - point));
                break;
            case BPF_XOR:
                if (!isRange) return WordPredicate.MaskEquals(a, b ^ (K & a));
                if (single) return WordPredicate.Between(point ^ K, point ^ K);
                break;
            case BPF_OR:
                // (y | K) & m == v: K's bits inside m must be set in v; the rest of m is y's.
                if (!isRange) return (K & a & ~b) != 0 ? WordPredicate.Never : WordPredicate.MaskEquals(a & ~K, b & ~K);
                if (single) return (K & ~point) != 0 ? WordPredicate.Never : WordPredicate.MaskEquals(~K, point & ~K);
                break;
            case BPF_AND:
                if (!isRange) return (b & ~K & a) != 0 ? WordPredicate.Never : WordPredicate.MaskEquals(a & K, b & K & a);
                if (single) return (point & ~K) != 0 ? WordPredicate.Never : WordPredicate.MaskEquals(K, point);
                if (a == 0) return b >= K ? WordPredicate.Always : RangeUnderMask(b);
                break;
            case BPF_RSH:
            {
                int s = (int)(K & 31);
                uint max = uint.MaxValue >> s;
                if (isRange)
                {
                    if (a > max) return WordPredicate.Never;
                    uint hi = Math.Min(b, max);
                    return WordPredicate.Between(a << s, (hi << s) | ((1u << s) - 1));
                }
                if ((b & ~max) != 0) return WordPredicate.Never;
                return WordPredicate.MaskEquals((a & max) << s, b << s);
            }
            case BPF_LSH:
            case BPF_MUL when K != 0 && (K & (K - 1)) == 0:
            {
                int s = Op == BPF_LSH ? (int)(K & 31) : System.Numerics.BitOperations.TrailingZeroCount(K);
                uint low = (1u << s) - 1;
                if (!isRange) return (b & a & low) != 0 ? WordPredicate.Never : WordPredicate.MaskEquals(a >> s, (b & a) >> s);
                if (single) return (point & low) != 0 ? WordPredicate.Never : WordPredicate.MaskEquals(uint.MaxValue >> s, point >> s);
                break;
            }
            case BPF_DIV when K != 0:
                if (isRange)
                {
                    ulong lo = (ulong)a * K, hi = (ulong)b * K + K - 1;
                    if (lo > uint.MaxValue) return WordPredicate.Never;
                    return WordPredicate.Between((uint)lo, (uint)Math.Min(hi, uint.MaxValue));
                }
                if ((K & (K - 1)) == 0)
                {
                    int s = System.Numerics.BitOperations.TrailingZeroCount(K);
                    uint max = uint.MaxValue >> s;
                    if ((b & ~max) != 0) return WordPredicate.Never;
                    return WordPredicate.MaskEquals((a & max) << s, b << s);
                }
                break;
        }
        return null;
    }

    // (y & K) <= b with K a run of high bits (e.g. 0xfffff000): y <= b rounded up past K's zero bits.
    private WordPredicate? RangeUnderMask(uint b)
    {
        uint low = ~K;
        if ((low & (low + 1)) != 0) return null; // K is not contiguous high bits
        uint top = (b & K) | low;
        return WordPredicate.Between(0, top);
    }
}

/// <summary>An operation on two data-dependent values (e.g. <c>A + X</c> with both read from <c>seccomp_data</c>): evaluable, not solvable.</summary>
/// <param name="Op">The ALU operation.</param>
/// <param name="Left">A.</param>
/// <param name="Right">X.</param>
public sealed record BinaryExpression(ushort Op, SymbolicExpression Left, SymbolicExpression Right) : SymbolicExpression
{
    /// <inheritdoc/>
    public override int Size { get; } = (int)Math.Min(int.MaxValue, 1L + Left.Size + Right.Size);
    /// <inheritdoc/>
    public override int WordMask { get; } = Left.WordMask | Right.WordMask;
    /// <inheritdoc/>
    public override uint Evaluate(ReadOnlySpan<uint> words) => Apply(Op, Left.Evaluate(words), Right.Evaluate(words));
    /// <inheritdoc/>
    public override string Describe(Func<int, string> wordName) => $"({Left.Describe(wordName)} {OperatorText(Op)} {Right.Describe(wordName)})";
}
