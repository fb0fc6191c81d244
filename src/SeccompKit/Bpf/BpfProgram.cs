using System.Collections.Immutable;

namespace SeccompKit.Bpf;

/// <summary>
/// A seccomp filter program the kernel would accept. It can only be made through
/// <see cref="Create"/> or <see cref="TryCreate"/>, which run the kernel's exact <see cref="Validator"/>.
/// </summary>
public sealed class BpfProgram : IEquatable<BpfProgram>
{
    private BpfProgram(ImmutableArray<Instruction> instructions) => Instructions = instructions;

    /// <summary>The instructions, 1..4096 of them, the last a RET.</summary>
    public ImmutableArray<Instruction> Instructions { get; }

    private DecodedInstruction[]? _decoded;

    /// <summary>
    /// The program decoded for the fast interpreter, built on first use. Decoding is deterministic and the
    /// result immutable, so a race only decodes twice; the first published array wins.
    /// </summary>
    internal DecodedInstruction[] Decoded => Volatile.Read(ref _decoded) ?? DecodeOnce();

    private DecodedInstruction[] DecodeOnce()
    {
        var decoded = DecodedProgram.Decode(Instructions.AsSpan());
        return Interlocked.CompareExchange(ref _decoded, decoded, null) ?? decoded;
    }

    /// <summary>Number of instructions.</summary>
    public int Length => Instructions.Length;

    /// <summary>Validates and wraps a program; throws <see cref="BpfValidationException"/> naming the pc and rule.</summary>
    public static BpfProgram Create(ReadOnlySpan<Instruction> instructions)
    {
        var error = Validator.Validate(instructions);
        if (error is not null) throw new BpfValidationException(error);
        return new BpfProgram(ImmutableArray.Create(instructions));
    }

    /// <summary>Validates and wraps a program; on refusal returns false with the kernel's reason.</summary>
    public static bool TryCreate(ReadOnlySpan<Instruction> instructions, out BpfProgram? program, out ValidationError? error)
    {
        error = Validator.Validate(instructions);
        program = error is null ? new BpfProgram(ImmutableArray.Create(instructions)) : null;
        return error is null;
    }

    /// <summary>
    /// Reads the raw format: an array of 8-byte <c>struct sock_filter</c> in host order, as libseccomp's
    /// <c>seccomp_export_bpf</c> writes it. Throws <see cref="BpfFormatException"/> for a bad length.
    /// </summary>
    public static Instruction[] ParseRaw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
            throw new BpfFormatException("the input is empty; a raw filter is an array of 8-byte struct sock_filter entries");
        if (bytes.Length % Instruction.Size != 0)
            throw new BpfFormatException($"the input is {bytes.Length} bytes, not a multiple of 8; the trailing {bytes.Length % 8} bytes at offset {bytes.Length - bytes.Length % 8} are a partial struct sock_filter (truncated file, or not a raw BPF program?)");
        var result = new Instruction[bytes.Length / Instruction.Size];
        for (int i = 0; i < result.Length; i++)
            result[i] = Instruction.ReadFrom(bytes.Slice(i * Instruction.Size, Instruction.Size));
        return result;
    }

    /// <summary>Reads and validates the raw format.</summary>
    public static BpfProgram FromRaw(ReadOnlySpan<byte> bytes) => Create(ParseRaw(bytes));

    /// <summary>The raw format: 8 bytes per instruction, little-endian.</summary>
    public byte[] ToRaw() => ToRaw(Instructions.AsSpan());

    /// <summary>The raw format of any instruction sequence.</summary>
    public static byte[] ToRaw(ReadOnlySpan<Instruction> instructions)
    {
        var bytes = new byte[instructions.Length * Instruction.Size];
        for (int i = 0; i < instructions.Length; i++)
            instructions[i].WriteTo(bytes.AsSpan(i * Instruction.Size, Instruction.Size));
        return bytes;
    }

    /// <inheritdoc />
    public bool Equals(BpfProgram? other) => other is not null && Instructions.AsSpan().SequenceEqual(other.Instructions.AsSpan());

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as BpfProgram);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var i in Instructions) h.Add(i);
        return h.ToHashCode();
    }
}
