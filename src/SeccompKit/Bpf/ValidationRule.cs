namespace SeccompKit.Bpf;

/// <summary>
/// The rules the kernel enforces when a seccomp filter is installed: <c>bpf_check_basics_ok</c>,
/// <c>bpf_check_classic</c> and <c>check_load_and_stores</c> (net/core/filter.c), then
/// <c>seccomp_check_filter</c> (kernel/seccomp.c). Any of them makes <c>seccomp(2)</c> fail with EINVAL.
/// </summary>
public enum ValidationRule
{
    /// <summary>The program has no instructions (<c>bpf_check_basics_ok</c>: <c>flen == 0</c>).</summary>
    Empty,
    /// <summary>More than <see cref="BpfOpcodes.BPF_MAXINSNS"/> (4096) instructions.</summary>
    TooLong,
    /// <summary>The opcode is not classic BPF at all (<c>chk_code_allowed</c>).</summary>
    UnknownOpcode,
    /// <summary>DIV or MOD by the constant 0.</summary>
    DivisionByZero,
    /// <summary>LSH or RSH by a constant of 32 or more.</summary>
    ShiftOutOfRange,
    /// <summary>A scratch-memory index of 16 or more.</summary>
    MemoryIndexOutOfRange,
    /// <summary>A jump whose target lies past the last instruction.</summary>
    JumpOutOfRange,
    /// <summary>An absolute load at or above <c>SKF_AD_OFF</c> that names no known socket ancillary field.</summary>
    UnknownAncillaryLoad,
    /// <summary>The last instruction is not a RET.</summary>
    LastNotReturn,
    /// <summary>A scratch cell read on some path before it is written (the kernel's exact mask analysis).</summary>
    MemoryReadBeforeWrite,
    /// <summary>Classic BPF, but not allowed in seccomp (byte/half/indirect loads, MOD, MSH, ...).</summary>
    NotAllowedInSeccomp,
    /// <summary>A <c>LD W ABS</c> outside <c>struct seccomp_data</c> (k ≥ 64) or not 4-aligned.</summary>
    BadDataOffset,
}

/// <summary>Why the kernel would refuse a program: the rule and the instruction that broke it.</summary>
/// <param name="Rule">The rule broken.</param>
/// <param name="Pc">Index of the offending instruction, or -1 when the program as a whole is at fault.</param>
/// <param name="Message">A sentence naming the instruction and what to change.</param>
public sealed record ValidationError(ValidationRule Rule, int Pc, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Pc >= 0 ? $"pc {Pc}: {Message} [{Rule}]" : $"{Message} [{Rule}]";
}

/// <summary>Thrown when a program would be refused by the kernel's seccomp validator.</summary>
public sealed class BpfValidationException : SeccompException
{
    /// <summary>Creates the exception for a validation error.</summary>
    public BpfValidationException(ValidationError error) : base(error.ToString()) => Error = error;

    /// <summary>The rule broken and where.</summary>
    public ValidationError Error { get; }
}

/// <summary>Thrown when bytes or text cannot be read as a BPF program (format errors, not kernel rules).</summary>
public sealed class BpfFormatException : SeccompException
{
    /// <summary>Creates the exception with an actionable message that names the offset or line.</summary>
    public BpfFormatException(string message) : base(message) { }
}
