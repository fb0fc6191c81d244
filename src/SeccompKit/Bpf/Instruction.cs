using System.Buffers.Binary;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Bpf;

/// <summary>
/// One classic BPF instruction, the kernel's <c>struct sock_filter</c>:
/// <code>struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; };  /* 8 bytes, host order */</code>
/// Any 8 bytes are an <see cref="Instruction"/>; only <see cref="BpfProgram"/> promises the kernel would accept it.
/// </summary>
/// <param name="Code">Opcode (class, size/op, mode/source).</param>
/// <param name="Jt">Conditional jump offset when the test holds (relative to the next instruction).</param>
/// <param name="Jf">Conditional jump offset when the test fails.</param>
/// <param name="K">Generic operand: constant, offset, memory index, jump distance or return value.</param>
public readonly record struct Instruction(ushort Code, byte Jt, byte Jf, uint K)
{
    /// <summary>Size in bytes of one <c>struct sock_filter</c>.</summary>
    public const int Size = 8;

    /// <summary>A non-jump statement, as the kernel's <c>BPF_STMT(code, k)</c>.</summary>
    public static Instruction Stmt(ushort code, uint k) => new(code, 0, 0, k);

    /// <summary>A jump, as the kernel's <c>BPF_JUMP(code, k, jt, jf)</c>.</summary>
    public static Instruction Jump(ushort code, uint k, byte jt, byte jf) => new(code, jt, jf, k);

    /// <summary>The instruction class (<c>BPF_CLASS</c>).</summary>
    public ushort Class => BPF_CLASS(Code);

    /// <summary>True for <c>BPF_RET</c> instructions.</summary>
    public bool IsReturn => Class == BPF_RET;

    /// <summary>True for the conditional jumps (JEQ, JGT, JGE, JSET with K or X).</summary>
    public bool IsConditionalJump => Class == BPF_JMP && BPF_OP(Code) != BPF_JA;

    /// <summary>True for the unconditional jump <c>BPF_JMP|BPF_JA</c>.</summary>
    public bool IsUnconditionalJump => Class == BPF_JMP && BPF_OP(Code) == BPF_JA;

    /// <summary>Writes the instruction in the kernel's little-endian layout (x86_64 host order).</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, Code);
        destination[2] = Jt;
        destination[3] = Jf;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], K);
    }

    /// <summary>Reads one instruction from 8 bytes in the kernel's little-endian layout.</summary>
    public static Instruction ReadFrom(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt16LittleEndian(source), source[2], source[3], BinaryPrimitives.ReadUInt32LittleEndian(source[4..]));

    /// <summary>The raw form: <c>{ 0x20, 0, 0, 0x00000004 }</c>, as C source writes it.</summary>
    public override string ToString() => $"{{ 0x{Code:x2}, {Jt}, {Jf}, 0x{K:x8} }}";
}
