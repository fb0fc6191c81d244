namespace SeccompKit.Bpf;

#pragma warning disable CA1707 // Kernel names are mirrored verbatim so they read straight against linux/filter.h.

/// <summary>
/// Classic BPF opcode parts, named exactly as in <c>include/uapi/linux/bpf_common.h</c> and
/// <c>include/uapi/linux/filter.h</c>. An opcode is <c>class | size | mode</c> for loads and stores,
/// <c>class | op | source</c> for ALU and jumps, <c>class | rval</c> for returns.
/// </summary>
public static class BpfOpcodes
{
    // Instruction classes (low 3 bits).
    /// <summary>Load into A.</summary>
    public const ushort BPF_LD = 0x00;
    /// <summary>Load into X.</summary>
    public const ushort BPF_LDX = 0x01;
    /// <summary>Store A into scratch memory.</summary>
    public const ushort BPF_ST = 0x02;
    /// <summary>Store X into scratch memory.</summary>
    public const ushort BPF_STX = 0x03;
    /// <summary>Arithmetic on A.</summary>
    public const ushort BPF_ALU = 0x04;
    /// <summary>Jumps.</summary>
    public const ushort BPF_JMP = 0x05;
    /// <summary>Return.</summary>
    public const ushort BPF_RET = 0x06;
    /// <summary>Register transfers (TAX, TXA).</summary>
    public const ushort BPF_MISC = 0x07;

    // Load sizes (bits 3-4).
    /// <summary>32-bit word.</summary>
    public const ushort BPF_W = 0x00;
    /// <summary>16-bit half word.</summary>
    public const ushort BPF_H = 0x08;
    /// <summary>Byte.</summary>
    public const ushort BPF_B = 0x10;

    // Load modes (bits 5-7).
    /// <summary>Immediate constant k.</summary>
    public const ushort BPF_IMM = 0x00;
    /// <summary>Absolute offset k into the input.</summary>
    public const ushort BPF_ABS = 0x20;
    /// <summary>Offset X + k into the input.</summary>
    public const ushort BPF_IND = 0x40;
    /// <summary>Scratch memory cell M[k].</summary>
    public const ushort BPF_MEM = 0x60;
    /// <summary>Length of the input (for seccomp: 64, <c>sizeof(struct seccomp_data)</c>).</summary>
    public const ushort BPF_LEN = 0x80;
    /// <summary>IP header length hack (sockets only).</summary>
    public const ushort BPF_MSH = 0xa0;

    // ALU operations (bits 4-7).
    /// <summary>A + operand.</summary>
    public const ushort BPF_ADD = 0x00;
    /// <summary>A - operand.</summary>
    public const ushort BPF_SUB = 0x10;
    /// <summary>A * operand.</summary>
    public const ushort BPF_MUL = 0x20;
    /// <summary>A / operand (unsigned).</summary>
    public const ushort BPF_DIV = 0x30;
    /// <summary>A | operand.</summary>
    public const ushort BPF_OR = 0x40;
    /// <summary>A &amp; operand.</summary>
    public const ushort BPF_AND = 0x50;
    /// <summary>A &lt;&lt; operand.</summary>
    public const ushort BPF_LSH = 0x60;
    /// <summary>A &gt;&gt; operand (logical).</summary>
    public const ushort BPF_RSH = 0x70;
    /// <summary>-A.</summary>
    public const ushort BPF_NEG = 0x80;
    /// <summary>A % operand (not allowed for seccomp).</summary>
    public const ushort BPF_MOD = 0x90;
    /// <summary>A ^ operand.</summary>
    public const ushort BPF_XOR = 0xa0;

    // Jump operations (bits 4-7).
    /// <summary>Unconditional jump by k.</summary>
    public const ushort BPF_JA = 0x00;
    /// <summary>Jump if A == operand.</summary>
    public const ushort BPF_JEQ = 0x10;
    /// <summary>Jump if A &gt; operand (unsigned).</summary>
    public const ushort BPF_JGT = 0x20;
    /// <summary>Jump if A &gt;= operand (unsigned).</summary>
    public const ushort BPF_JGE = 0x30;
    /// <summary>Jump if A &amp; operand is not zero.</summary>
    public const ushort BPF_JSET = 0x40;

    // Operand source (bit 3).
    /// <summary>Operand is the constant k.</summary>
    public const ushort BPF_K = 0x00;
    /// <summary>Operand is register X.</summary>
    public const ushort BPF_X = 0x08;

    // Return value source (bits 3-4).
    /// <summary>Return register A.</summary>
    public const ushort BPF_A = 0x10;

    // MISC operations (bits 3-7).
    /// <summary>X = A.</summary>
    public const ushort BPF_TAX = 0x00;
    /// <summary>A = X.</summary>
    public const ushort BPF_TXA = 0x80;

    /// <summary>Number of scratch memory cells (<c>BPF_MEMWORDS</c>).</summary>
    public const int BPF_MEMWORDS = 16;

    /// <summary>Maximum instructions in one classic program (<c>BPF_MAXINSNS</c>).</summary>
    public const int BPF_MAXINSNS = 4096;

    /// <summary>Start of the socket-filter ancillary load area (<c>SKF_AD_OFF</c>, i.e. -0x1000).</summary>
    public const uint SKF_AD_OFF = 0xfffff000;

    /// <summary>The instruction class: <c>BPF_CLASS(code)</c>.</summary>
    public static ushort BPF_CLASS(ushort code) => (ushort)(code & 0x07);
    /// <summary>The load size: <c>BPF_SIZE(code)</c>.</summary>
    public static ushort BPF_SIZE(ushort code) => (ushort)(code & 0x18);
    /// <summary>The load mode: <c>BPF_MODE(code)</c>.</summary>
    public static ushort BPF_MODE(ushort code) => (ushort)(code & 0xe0);
    /// <summary>The ALU or jump operation: <c>BPF_OP(code)</c>.</summary>
    public static ushort BPF_OP(ushort code) => (ushort)(code & 0xf0);
    /// <summary>The operand source: <c>BPF_SRC(code)</c>.</summary>
    public static ushort BPF_SRC(ushort code) => (ushort)(code & 0x08);
    /// <summary>The return value source: <c>BPF_RVAL(code)</c>.</summary>
    public static ushort BPF_RVAL(ushort code) => (ushort)(code & 0x18);
    /// <summary>The MISC operation: <c>BPF_MISCOP(code)</c>.</summary>
    public static ushort BPF_MISCOP(ushort code) => (ushort)(code & 0xf8);
}
