using SeccompKit.Syscalls;

namespace SeccompKit.Policy;

/// <summary>How an argument is compared, with libseccomp's and runc's unsigned meaning.</summary>
public enum ArgOperator
{
    /// <summary><c>arg == value</c> (SCMP_CMP_EQ).</summary>
    Equal,
    /// <summary><c>arg != value</c> (SCMP_CMP_NE).</summary>
    NotEqual,
    /// <summary><c>arg &lt; value</c>, unsigned (SCMP_CMP_LT).</summary>
    Less,
    /// <summary><c>arg &lt;= value</c>, unsigned (SCMP_CMP_LE).</summary>
    LessOrEqual,
    /// <summary><c>arg &gt; value</c>, unsigned (SCMP_CMP_GT).</summary>
    Greater,
    /// <summary><c>arg &gt;= value</c>, unsigned (SCMP_CMP_GE).</summary>
    GreaterOrEqual,
    /// <summary><c>(arg &amp; mask) == value</c> (SCMP_CMP_MASKED_EQ).</summary>
    MaskedEqual,
}

/// <summary>
/// One comparison of a system call argument with a constant. Comparisons are unsigned, as in libseccomp
/// and runc. <see cref="Width"/> says how many bits are compared: all 64, or only the low 32 for
/// <c>int</c>/<c>unsigned int</c> arguments whose upper register half the kernel does not clean (the
/// syscall wrapper truncates it, so a filter comparing 64 bits can be fooled or can wrongly refuse;
/// libseccomp issue #383). On 32-bit ABIs (x86, x32, arm, mips n32...) every comparison uses the low
/// 32 bits of argument and constants, exactly as libseccomp generates for those arches.
/// </summary>
public sealed record ArgCondition
{
    /// <summary>Creates a condition, validating index, width and constants.</summary>
    /// <param name="index">Argument position, 0..5.</param>
    /// <param name="op">The comparison.</param>
    /// <param name="value">The constant compared with (for <see cref="ArgOperator.MaskedEqual"/>, the expected masked value).</param>
    /// <param name="mask">For <see cref="ArgOperator.MaskedEqual"/> only: the mask; must be 0 otherwise.</param>
    /// <param name="width">How many low bits of the argument are compared.</param>
    public ArgCondition(int index, ArgOperator op, ulong value, ulong mask = 0, ArgumentWidth width = ArgumentWidth.Bits64)
    {
        if (index is < 0 or > 5)
            throw new PolicyException($"argument index {index} is out of range: a system call has at most six arguments, numbered 0 to 5.");
        if (!Enum.IsDefined(op)) throw new PolicyException($"unknown comparison operator {(int)op}.");
        if (width is not (ArgumentWidth.Bits32 or ArgumentWidth.Bits64)) throw new PolicyException($"argument width must be 32 or 64 bits, not {(int)width}.");
        if (op != ArgOperator.MaskedEqual && mask != 0)
            throw new PolicyException($"only a masked comparison takes a mask; {op} was given mask 0x{mask:x}.");
        if (width == ArgumentWidth.Bits32)
        {
            if (value > uint.MaxValue)
                throw new PolicyException($"value 0x{value:x} does not fit the 32-bit argument {index}: the kernel only uses its low 32 bits. Write the 32-bit value (for -1 write 0xffffffff) or compare all 64 bits.");
            if (mask > uint.MaxValue)
                throw new PolicyException($"mask 0x{mask:x} does not fit the 32-bit argument {index}; use a 32-bit mask.");
        }
        Index = index;
        Operator = op;
        Value = value;
        Mask = mask;
        Width = width;
    }

    /// <summary>Argument position, 0..5.</summary>
    public int Index { get; }

    /// <summary>The comparison.</summary>
    public ArgOperator Operator { get; }

    /// <summary>The constant (for masked equality, the expected value after masking).</summary>
    public ulong Value { get; }

    /// <summary>The mask of a masked equality; 0 for other operators.</summary>
    public ulong Mask { get; }

    /// <summary>How many low bits of the argument are compared.</summary>
    public ArgumentWidth Width { get; }

    /// <summary>The width the comparison really has on an ABI: 32 on 32-bit ABIs, <see cref="Width"/> otherwise.</summary>
    public ArgumentWidth EffectiveWidth(Architecture abi) => abi.Is64Bit ? Width : ArgumentWidth.Bits32;

    /// <summary>Whether the argument satisfies the condition when called through <paramref name="abi"/>.</summary>
    public bool Matches(ulong argument, Architecture abi) => Matches(argument, EffectiveWidth(abi));

    /// <summary>Whether the argument satisfies the condition compared at <paramref name="width"/>.</summary>
    public bool Matches(ulong argument, ArgumentWidth width)
    {
        ulong a = argument, v = Value, m = Mask;
        if (width == ArgumentWidth.Bits32) { a &= uint.MaxValue; v &= uint.MaxValue; m &= uint.MaxValue; }
        return Operator switch
        {
            ArgOperator.Equal => a == v,
            ArgOperator.NotEqual => a != v,
            ArgOperator.Less => a < v,
            ArgOperator.LessOrEqual => a <= v,
            ArgOperator.Greater => a > v,
            ArgOperator.GreaterOrEqual => a >= v,
            ArgOperator.MaskedEqual => (a & m) == v,
            _ => throw new InvalidOperationException(),
        };
    }

    /// <summary>The C-like operator text: <c>==</c>, <c>!=</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>, <c>&amp;</c>.</summary>
    public static string OperatorText(ArgOperator op) => op switch
    {
        ArgOperator.Equal => "==",
        ArgOperator.NotEqual => "!=",
        ArgOperator.Less => "<",
        ArgOperator.LessOrEqual => "<=",
        ArgOperator.Greater => ">",
        ArgOperator.GreaterOrEqual => ">=",
        ArgOperator.MaskedEqual => "&",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary><c>arg1 == 0x3</c>, <c>arg0 &amp; 0xff == 0x1</c>, with <c>:32</c> after the name for 32-bit comparisons.</summary>
    public override string ToString()
    {
        var name = Width == ArgumentWidth.Bits32 ? $"arg{Index}:32" : $"arg{Index}";
        return Operator == ArgOperator.MaskedEqual
            ? $"{name} & 0x{Mask:x} == 0x{Value:x}"
            : $"{name} {OperatorText(Operator)} 0x{Value:x}";
    }
}
