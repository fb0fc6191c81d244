using System.Buffers.Binary;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Tests.Bpf;

/// <summary>
/// seccomp_data as the kernel of each ABI lays it out: 64-bit fields low half first on little-endian ABIs, high
/// half first on big-endian ones (the AUDIT_ARCH value's __AUDIT_ARCH_LE bit tells which).
/// </summary>
public sealed class SeccompDataLayoutSpecs
{
    public static TheoryData<string> Abis => new(Architecture.All.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(Abis))]
    public void The_AUDIT_ARCH_little_endian_bit_gives_each_ABIs_byte_order(string name)
    {
        var abi = Architecture.Get(name);
        Assert.Equal(abi.IsLittleEndian, SeccompData.IsLittleEndianArch(abi.AuditArch));
    }

    public static TheoryData<string, uint, uint> Loads => new()
    {
        { "x86_64", 8, 0x5555_6666 }, { "x86_64", 12, 0x1111_2222 },
        { "x86_64", 16, 0x3333_4444 }, { "x86_64", 20, 0x0102_0304 },
        { "x86_64", 56, 0xaaaa_bbbb }, { "x86_64", 60, 0xcccc_dddd },
        { "s390x", 8, 0x1111_2222 }, { "s390x", 12, 0x5555_6666 },
        { "s390x", 16, 0x0102_0304 }, { "s390x", 20, 0x3333_4444 },
        { "s390x", 56, 0xcccc_dddd }, { "s390x", 60, 0xaaaa_bbbb },
        { "mips", 16, 0x0102_0304 }, { "ppc", 20, 0x3333_4444 }, { "mipsel", 16, 0x3333_4444 },
    };

    private static SeccompData Sample(Architecture abi) =>
        new(4, abi.AuditArch, 0x1111_2222_5555_6666, 0x0102_0304_3333_4444, 0, 0, 0, 0, 0xcccc_dddd_aaaa_bbbb);

    [Theory]
    [MemberData(nameof(Loads))]
    public void A_word_load_reads_the_half_the_ABIs_kernel_puts_at_that_offset(string name, uint offset, uint expected)
    {
        var data = Sample(Architecture.Get(name));
        Assert.Equal(expected, data.LoadWord(offset));
        var program = BpfProgram.Create([Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, offset), Instruction.Stmt(BPF_RET | BPF_A, 0)]);
        Assert.Equal(expected, Interpreter.Run(program, data, trace: false).Value);
        Assert.Equal(expected, Interpreter.Evaluate(program, data));
        Assert.Equal(expected, CompiledFilter.Compile(program).Evaluate(data));
    }

    [Theory]
    [MemberData(nameof(Abis))]
    public void The_raw_bytes_read_in_the_ABIs_byte_order_give_every_word_a_load_reads(string name)
    {
        var abi = Architecture.Get(name);
        var data = Sample(abi);
        var bytes = data.ToBytes();
        for (uint k = 0; k < SeccompData.Size; k += 4)
        {
            var span = bytes.AsSpan((int)k, 4);
            uint word = abi.IsLittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(span) : BinaryPrimitives.ReadUInt32BigEndian(span);
            Assert.Equal(data.LoadWord(k), word);
        }
        // The 64-bit fields read whole in that byte order.
        var ip = bytes.AsSpan(8, 8);
        Assert.Equal(data.InstructionPointer, abi.IsLittleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(ip) : BinaryPrimitives.ReadUInt64BigEndian(ip));
    }

    [Theory]
    [InlineData("x86_64", 20u, 16u)]
    [InlineData("aarch64", 20u, 16u)]
    [InlineData("s390x", 16u, 20u)]
    [InlineData("ppc64", 16u, 20u)]
    [InlineData("mips64", 16u, 20u)]
    public void A_64_bit_argument_check_loads_the_high_half_then_the_low_half_where_the_ABI_puts_them(string name, uint high, uint low)
    {
        var abi = Architecture.Get(name);
        const ulong value = 0x0000_0001_0000_0002;
        var policy = new SeccompPolicy(PolicyAction.Errno(1),
            [new SyscallRule("personality", PolicyAction.Allow, [new ArgCondition(0, ArgOperator.Equal, value)])], [abi]);
        var program = PolicyCompiler.Compile(policy).Program;
        var loads = program.Instructions.Where(i => i.Code == (BPF_LD | BPF_W | BPF_ABS) && i.K >= SeccompData.OffsetArgs).Select(i => i.K).ToList();
        Assert.Equal([high, low], loads);
        int nr = abi.Syscalls.All.Single(e => e.Name == "personality").Number;
        Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Interpreter.Evaluate(program, new SeccompData(nr, abi.AuditArch, 0, value)));
        // The halves swapped are another value: refused.
        Assert.NotEqual(SeccompReturn.SECCOMP_RET_ALLOW, Interpreter.Evaluate(program, new SeccompData(nr, abi.AuditArch, 0, 0x0000_0002_0000_0001)));
    }

    [Theory]
    [InlineData("x86_64", 16u, AccumulatorContent.ArgLow)]
    [InlineData("x86_64", 12u, AccumulatorContent.InstructionPointerHigh)]
    [InlineData("s390x", 16u, AccumulatorContent.ArgHigh)]
    [InlineData("s390x", 20u, AccumulatorContent.ArgLow)]
    [InlineData("s390x", 8u, AccumulatorContent.InstructionPointerHigh)]
    [InlineData("mips", 28u, AccumulatorContent.ArgLow)]
    public void After_an_arch_check_the_analysis_names_the_half_that_ABIs_kernel_put_at_the_offset(string name, uint offset, AccumulatorContent expected)
    {
        uint arch = Architecture.Get(name).AuditArch;
        Instruction[] program =
        [
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.OffsetArch),
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 2),
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, offset),
            Instruction.Stmt(BPF_RET | BPF_A, 0),
            Instruction.Stmt(BPF_RET | BPF_K, 0),
        ];
        var facts = ProgramAnalysis.Analyze(program);
        Assert.Equal(expected, facts[3].Content);
        Assert.Equal(arch, facts[3].KnownArch);
    }
}
