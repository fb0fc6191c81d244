using System.Buffers.Binary;
using System.Collections.Immutable;

namespace SeccompKit.Bpf;

/// <summary>
/// The input of every seccomp filter, the kernel's <c>struct seccomp_data</c> (64 bytes):
/// <code>struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; };</code>
/// Filters read it with 32-bit <c>LD W ABS</c> loads in the byte order of the kernel that filled it
/// (<c>populate_seccomp_data</c> stores native <c>__u64</c>s). That kernel's byte order is the ABI's, which
/// <c>arch</c> itself records: <c>AUDIT_ARCH_*</c> values carry <c>__AUDIT_ARCH_LE</c> (0x40000000) exactly
/// on little-endian ABIs (linux/audit.h). So the low half of <c>args[i]</c> is at offset 16 + 8i on x86_64,
/// aarch64, ppc64le or mipsel, and at 20 + 8i on s390x, ppc, mips or parisc, whose kernels put the high half
/// first; the same holds for <c>instruction_pointer</c> at 8. Every engine reads the structure through
/// <see cref="LoadWord"/> or <see cref="WriteWords"/>, which apply this layout.
/// </summary>
public sealed record SeccompData
{
    /// <summary><c>sizeof(struct seccomp_data)</c>; also the value of a <c>BPF_LEN</c> load.</summary>
    public const int Size = 64;

    /// <summary>Offset of <c>nr</c>.</summary>
    public const uint OffsetNr = 0;
    /// <summary>Offset of <c>arch</c>.</summary>
    public const uint OffsetArch = 4;
    /// <summary>Offset of <c>instruction_pointer</c> (8 bytes; which half comes first depends on the ABI, see <see cref="IsLittleEndianArch"/>).</summary>
    public const uint OffsetInstructionPointer = 8;
    /// <summary>Offset of <c>args[0]</c> (8 bytes each; which half comes first depends on the ABI, see <see cref="IsLittleEndianArch"/>).</summary>
    public const uint OffsetArgs = 16;

    /// <summary><c>__AUDIT_ARCH_LE</c> (linux/audit.h): set in the AUDIT_ARCH value of every little-endian ABI.</summary>
    public const uint AuditArchLittleEndian = 0x4000_0000;

    /// <summary>
    /// Whether the kernel that reports <paramref name="arch"/> lays out <c>seccomp_data</c>'s 64-bit fields
    /// little-endian (low half first): true exactly when the AUDIT_ARCH value carries <c>__AUDIT_ARCH_LE</c>.
    /// </summary>
    public static bool IsLittleEndianArch(uint arch) => (arch & AuditArchLittleEndian) != 0;

    /// <summary>
    /// The offset of the low 32 bits of argument <paramref name="index"/> as a kernel reporting
    /// <paramref name="arch"/> lays it out: 16 + 8i on little-endian ABIs, 20 + 8i on big-endian ones
    /// (libseccomp's <c>arch_arg_offset_lo</c>).
    /// </summary>
    public static uint ArgLowOffset(int index, uint arch) =>
        OffsetArgs + (uint)(8 * index) + (IsLittleEndianArch(arch) ? 0u : 4u);

    /// <summary>
    /// The offset of the high 32 bits of argument <paramref name="index"/> as a kernel reporting
    /// <paramref name="arch"/> lays it out: 20 + 8i on little-endian ABIs, 16 + 8i on big-endian ones
    /// (libseccomp's <c>arch_arg_offset_hi</c>).
    /// </summary>
    public static uint ArgHighOffset(int index, uint arch) =>
        OffsetArgs + (uint)(8 * index) + (IsLittleEndianArch(arch) ? 4u : 0u);

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
    /// The 64-bit fields are split by the layout of the kernel reporting <see cref="Arch"/>: offset 16 is
    /// the low half of <c>args[0]</c> on little-endian ABIs and its high half on big-endian ones.
    /// </summary>
    public uint LoadWord(uint offset)
    {
        if (offset >= Size || (offset & 3) != 0)
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "seccomp_data loads must be 4-aligned and below 64.");
        int word = (int)(offset / 4);
        if (word == 0) return unchecked((uint)Nr);
        if (word == 1) return Arch;
        // A 64-bit field's pair of words: the low half comes first on little-endian ABIs, second on big-endian ones.
        ulong field = word < 4 ? InstructionPointer : _args[(word - 4) / 2];
        bool second = (word & 1) != 0;
        bool high = second == IsLittleEndianArch(Arch);
        return high ? (uint)(field >> 32) : (uint)field;
    }

    /// <summary>
    /// Writes the 16 32-bit words of the structure, word i being what <c>LD W ABS 4i</c> reads (the
    /// fast interpreter's view of the input), in the layout of the kernel reporting <see cref="Arch"/>.
    /// <paramref name="words"/> must hold at least 16.
    /// </summary>
    internal void WriteWords(Span<uint> words)
    {
        words = words[..(Size / 4)];
        words[0] = unchecked((uint)Nr);
        words[1] = Arch;
        var args = _args.AsSpan();
        if (IsLittleEndianArch(Arch))
        {
            // The common case (x86_64, x86, x32, aarch64...): low half first. Constant indexes, so the fast
            // interpreter's per-call setup stays a straight run of stores (Interpreter.Evaluate runs this every call).
            words[2] = (uint)InstructionPointer;
            words[3] = (uint)(InstructionPointer >> 32);
            for (int i = 0; i < 6; i++)
            {
                words[4 + 2 * i] = (uint)args[i];
                words[5 + 2 * i] = (uint)(args[i] >> 32);
            }
            return;
        }
        // Big-endian ABIs (s390x, ppc, mips...): the high half of each 64-bit field comes first.
        words[2] = (uint)(InstructionPointer >> 32);
        words[3] = (uint)InstructionPointer;
        for (int i = 0; i < 6; i++)
        {
            words[4 + 2 * i] = (uint)(args[i] >> 32);
            words[5 + 2 * i] = (uint)args[i];
        }
    }

    /// <summary>
    /// The 64 bytes of the structure as the kernel reporting <see cref="Arch"/> holds them in memory:
    /// little-endian throughout on little-endian ABIs, big-endian throughout on big-endian ones. The
    /// 32-bit word at offset k, read in that byte order, is <see cref="LoadWord"/>(k).
    /// </summary>
    public byte[] ToBytes()
    {
        var b = new byte[Size];
        bool le = IsLittleEndianArch(Arch);
        Span<uint> words = stackalloc uint[Size / 4];
        WriteWords(words);
        for (int i = 0; i < words.Length; i++)
        {
            if (le) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4 * i), words[i]);
            else BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 * i), words[i]);
        }
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
