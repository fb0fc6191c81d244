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

    /// <summary>
    /// The length the kernel charges for this filter against <see cref="FilterStack.MaxInstructionsPerPath"/>:
    /// the instruction count of the eBPF program <c>bpf_convert_filter</c> (net/core/filter.c) turns it into,
    /// because <c>seccomp_attach_filter</c> sums <c>prog-&gt;len</c> after the conversion, not the classic length.
    /// The differential test <c>StackLimitVsKernelSpecs</c> measures it on the running kernel.
    /// </summary>
    public int KernelLength => _kernelLength ??= KernelLengthOf(Instructions.AsSpan());

    private int? _kernelLength;

    /// <summary>
    /// <see cref="KernelLength"/> of a validated instruction sequence. The conversion emits a 3-instruction
    /// prologue (clear A, clear X, keep the context pointer), then per instruction: RET K 2 (mov r0, k; exit),
    /// RET A 1, DIV X 5 (the X == 0 check returns 0), a conditional jump 1 when jf == 0 or when jt == 0 for
    /// JEQ/JGT/JGE (the test is inverted), else 2 (jump and JA), plus 1 when its constant has bit 31 set
    /// (eBPF immediates are signed, so the constant goes through a scratch register); everything else 1.
    /// This assumes <c>net.core.bpf_jit_harden</c> = 0: constant blinding would lengthen the JIT-ed copy.
    /// </summary>
    public static int KernelLengthOf(ReadOnlySpan<Instruction> instructions)
    {
        int n = 3;
        foreach (var ins in instructions)
        {
            switch (ins.Code)
            {
                case BpfOpcodes.BPF_RET | BpfOpcodes.BPF_K: n += 2; break;
                case BpfOpcodes.BPF_ALU | BpfOpcodes.BPF_DIV | BpfOpcodes.BPF_X: n += 5; break;
                default:
                    if (ins.IsConditionalJump)
                    {
                        if (BpfOpcodes.BPF_SRC(ins.Code) == BpfOpcodes.BPF_K && (int)ins.K < 0) n++;
                        bool invertible = BpfOpcodes.BPF_OP(ins.Code) is BpfOpcodes.BPF_JEQ or BpfOpcodes.BPF_JGT or BpfOpcodes.BPF_JGE;
                        n += ins.Jf == 0 || (ins.Jt == 0 && invertible) ? 1 : 2;
                    }
                    else n++;
                    break;
            }
        }
        return n;
    }

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
