using System.Buffers.Binary;
using System.Collections.Immutable;

namespace SeccompKit.Bpf;

/// <summary>
/// The input of every seccomp filter, the kernel's <c>struct seccomp_data</c> (64 bytes):
/// <code>struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; };</code>
/// Filters read it with 32-bit <c>LD W ABS</c> loads in host byte order; SeccompKit models a
/// little-endian host (x86_64), so the low half of <c>args[i]</c> is at offset 16 + 8i.
/// </summary>
public sealed record SeccompData
{
    /// <summary><c>sizeof(struct seccomp_data)</c>; also the value of a <c>BPF_LEN</c> load.</summary>
    public const int Size = 64;

    /// <summary>Offset of <c>nr</c>.</summary>
    public const uint OffsetNr = 0;
    /// <summary>Offset of <c>arch</c>.</summary>
    public const uint OffsetArch = 4;
    /// <summary>Offset of <c>instruction_pointer</c> (low half; high half at +4).</summary>
    public const uint OffsetInstructionPointer = 8;
    /// <summary>Offset of <c>args[0]</c> (low half; high half at +4).</summary>
    public const uint OffsetArgs = 16;

    /// <summary>The offset of the low 32 bits of argument <paramref name="index"/> on a little-endian host.</summary>
    public static uint ArgLowOffset(int index) => OffsetArgs + (uint)(8 * index);

    /// <summary>The offset of the high 32 bits of argument <paramref name="index"/> on a little-endian host.</summary>
    public static uint ArgHighOffset(int index) => OffsetArgs + (uint)(8 * index) + 4;

    private readonly ImmutableArray<ulong> _args;

    /// <summary>Creates the input for one system call.</summary>
    /// <param name="nr">System call number as the kernel reports it (with the x32 bit where used).</param>
    /// <param name="arch">AUDIT_ARCH_* value of the calling ABI.</param>
    /// <param name="instructionPointer">Address after the instruction that entered the kernel.</param>
    /// <param name="args">Up to six arguments; missing ones are zero.</param>
    public SeccompData(int nr, uint arch, ulong instructionPointer = 0, params ReadOnlySpan<ulong> args)
    {
        if (args.Length > 6)
            throw new ArgumentException($"seccomp_data holds 6 arguments; {args.Length} were given.", nameof(args));
        Nr = nr;
        Arch = arch;
        InstructionPointer = instructionPointer;
        var a = new ulong[6];
        args.CopyTo(a);
        _args = ImmutableArray.Create(a);
    }

    /// <summary>System call number.</summary>
    public int Nr { get; init; }

    /// <summary>AUDIT_ARCH_* value.</summary>
    public uint Arch { get; init; }

    /// <summary>Address following the system call instruction.</summary>
    public ulong InstructionPointer { get; init; }

    /// <summary>The six 64-bit arguments.</summary>
    public ImmutableArray<ulong> Args
    {
        get => _args;
        init
        {
            if (value.Length != 6)
                throw new ArgumentException($"seccomp_data holds exactly 6 arguments; {value.Length} were given.", nameof(value));
            _args = value;
        }
    }

    /// <summary>
    /// The 32-bit word a <c>LD W ABS k</c> reads: offsets 0..60, 4-aligned (the validator guarantees both).
    /// </summary>
    public uint LoadWord(uint offset) => offset switch
    {
        OffsetNr => unchecked((uint)Nr),
        OffsetArch => Arch,
        8 => (uint)InstructionPointer,
        12 => (uint)(InstructionPointer >> 32),
        >= OffsetArgs and < Size when (offset & 3) == 0 =>
            (offset & 4) == 0 ? (uint)_args[(int)(offset - OffsetArgs) / 8] : (uint)(_args[(int)(offset - OffsetArgs) / 8] >> 32),
        _ => throw new ArgumentOutOfRangeException(nameof(offset), offset, "seccomp_data loads must be 4-aligned and below 64."),
    };

    /// <summary>
    /// Writes the 16 32-bit words of the structure, word i being what <c>LD W ABS 4i</c> reads (the
    /// fast interpreter's view of the input). <paramref name="words"/> must hold at least 16.
    /// </summary>
    internal void WriteWords(Span<uint> words)
    {
        words = words[..(Size / 4)];
        words[0] = unchecked((uint)Nr);
        words[1] = Arch;
        words[2] = (uint)InstructionPointer;
        words[3] = (uint)(InstructionPointer >> 32);
        var args = _args.AsSpan();
        for (int i = 0; i < 6; i++)
        {
            words[4 + 2 * i] = (uint)args[i];
            words[5 + 2 * i] = (uint)(args[i] >> 32);
        }
    }

    /// <summary>The 64 bytes of the structure in little-endian order.</summary>
    public byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteInt32LittleEndian(b, Nr);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), Arch);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), InstructionPointer);
        for (int i = 0; i < 6; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16 + 8 * i), _args[i]);
        return b;
    }

    /// <inheritdoc />
    public bool Equals(SeccompData? other) =>
        other is not null && Nr == other.Nr && Arch == other.Arch && InstructionPointer == other.InstructionPointer &&
        _args.AsSpan().SequenceEqual(other._args.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Nr); h.Add(Arch); h.Add(InstructionPointer);
        foreach (var a in _args) h.Add(a);
        return h.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"nr={Nr} arch=0x{Arch:x8} ip=0x{InstructionPointer:x} args=[{string.Join(", ", _args.Select(a => "0x" + a.ToString("x")))}]";
}
