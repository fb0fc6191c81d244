using GenerateSyscallTables;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Tests.Bpf;

/// <summary>
/// The disassembler names the half of a 64-bit field a load reads by the byte order of the arches checked on every
/// path to it, as <see cref="ProgramAnalysis"/> does: <c>args[i]</c> is the low half, <c>args[i] &gt;&gt; 32</c> the
/// high half, and on big-endian ABIs (s390x, ppc, mips) the high half is the first word. The assembler reads the
/// names back to the same offsets. Checked on the peers' own big-endian programs (data/peers).
/// </summary>
public sealed class BigEndianHalvesSpecs
{
    private static string Peers => Path.Combine(TableGenerator.FindRoot(AppContext.BaseDirectory), "data", "peers");

    private static Instruction[] Peer(string file) => BpfProgram.ParseRaw(File.ReadAllBytes(Path.Combine(Peers, file)));

    private static readonly SyscallSymbols Symbols = new();

    public static TheoryData<string, int, uint, string> PeerLoads => new()
    {
        // libseccomp's big-endian exports: under s390x, 64-bit compares test the high half (offset 16) first.
        { "lsc/33-sim-socket_syscalls_be.x86_64.swapped.bpf", 15, 16, "A = args[0] >> 32" },   // after AUDIT_ARCH_S390X
        { "lsc/33-sim-socket_syscalls_be.x86_64.swapped.bpf", 25, 20, "A = args[0]" },         // s390, s390x and ppc paths join: all big-endian
        { "lsc/26-sim-arch_all_be_basic.x86_64.swapped.bpf", 54, 16, "A = args[0] >> 32" },    // after AUDIT_ARCH_S390X
        { "lsc/26-sim-arch_all_be_basic.x86_64.swapped.bpf", 56, 20, "A = args[0]" },          // mips, mips64, ..., s390x paths join
        { "lsc/37-sim-ipc_syscalls_be.x86_64.swapped.bpf", 28, 16, "A = args[0] >> 32" },      // after AUDIT_ARCH_S390X
        { "lsc/37-sim-ipc_syscalls_be.x86_64.swapped.bpf", 43, 20, "A = args[0]" },            // s390, s390x and ppc paths join
        // The little-endian export of the same test: the same names at the other offsets.
        { "lsc/30-sim-socket_syscalls.x86_64.bpf", 82, 20, "A = args[0] >> 32" },              // after AUDIT_ARCH_I386
        { "lsc/30-sim-socket_syscalls.x86_64.bpf", 107, 16, "A = args[0]" },                   // x86 and mipsel paths join: little-endian
        // seccomp-tools' s390x programs check no arch (its emulator is told the arch): no byte order is known
        // on the path, so the listing keeps the little-endian view of the offsets, as documented.
        { "st/emulator-s390x_args.bpf", 0, 32, "A = args[2]" },
        { "st/emulator-s390x_args.bpf", 2, 36, "A = args[2] >> 32" },
        { "st/emulator-s390x_ip.bpf", 0, 8, "A = instruction_pointer" },
    };

    [Theory]
    [MemberData(nameof(PeerLoads))]
    public void A_peer_programs_load_is_named_by_the_byte_order_of_the_arch_checked_before_it(string file, int pc, uint offset, string expected)
    {
        var program = Peer(file);
        Assert.Equal(new Instruction(BPF_LD | BPF_W | BPF_ABS, 0, 0, offset), program[pc]);
        var line = Disassembler.Disassemble(program, Symbols).Split('\n').Single(l => l.TrimStart().StartsWith($"{pc}: ", StringComparison.Ordinal));
        Assert.Equal(expected, line[(line.IndexOf(':') + 2)..]);
    }

    public static TheoryData<string> PeerFiles => new(
        Directory.GetFiles(Path.Combine(Peers, "lsc"), "*.bpf").Concat(Directory.GetFiles(Path.Combine(Peers, "st"), "*.bpf"))
            .Select(f => Path.GetRelativePath(Peers, f)).Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(PeerFiles))]
    public void Every_peer_program_assembles_from_its_listing_to_the_same_bytes(string file)
    {
        var program = Peer(file);
        var back = Assembler.Assemble(Disassembler.Disassemble(program, Symbols), Symbols);
        Assert.Equal(BpfProgram.ToRaw(program), BpfProgram.ToRaw(back));
    }

    public static TheoryData<string, uint, string, string> Halves => new()
    {
        { "x86_64", 16, "A = args[0]", "A = args[0] >> 32" },
        { "aarch64", 16, "A = args[0]", "A = args[0] >> 32" },
        { "s390x", 20, "A = args[0]", "A = args[0] >> 32" },
        { "ppc64", 20, "A = args[0]", "A = args[0] >> 32" },
        { "mips", 20, "A = args[0]", "A = args[0] >> 32" },
        { "mipsel", 16, "A = args[0]", "A = args[0] >> 32" },
    };

    [Theory]
    [MemberData(nameof(Halves))]
    public void After_an_arch_check_the_low_half_is_args_i_and_the_high_half_args_i_shifted_on_every_ABI(string abi, uint lowOffset, string low, string high)
    {
        uint arch = Architecture.Get(abi).AuditArch;
        Instruction[] program =
        [
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.OffsetArch),         // A = arch
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 4),                    // if (A != abi) goto return ALLOW
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.ArgLowOffset(0, arch)),  // A = low half of args[0]
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.ArgHighOffset(0, arch)), // A = high half of args[0]
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.OffsetArgs),         // A = first word of args[0]
            Instruction.Stmt(BPF_RET | BPF_A, 0),                                       // return A
            Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW),         // return ALLOW
        ];
        Assert.Equal(lowOffset, program[2].K);
        var lines = Disassembler.Disassemble(program, Symbols).Split('\n');
        Assert.EndsWith(": " + low, lines[2]);
        Assert.EndsWith(": " + high, lines[3]);
        Assert.EndsWith(": " + (lowOffset == SeccompData.OffsetArgs ? low : high), lines[4]);
        Assert.Equal(program, Assembler.Assemble(string.Join('\n', lines), Symbols));
    }

    [Fact]
    public void Without_an_arch_check_the_assembler_reads_args_i_as_offset_16_plus_8i()
    {
        var program = Assembler.Assemble("A = args[1]\nA = args[1] >> 32\nreturn A");
        Assert.Equal([16u + 8, 20u + 8], program.Take(2).Select(i => i.K));
    }

    [Fact]
    public void Paths_from_two_big_endian_arches_keep_the_big_endian_names_though_the_arch_is_unknown()
    {
        uint s390 = Architecture.Get("s390").AuditArch, s390x = Architecture.Get("s390x").AuditArch;
        Instruction[] program =
        [
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.OffsetArch), // A = arch
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, s390, 1, 0),            // if (A == s390) goto 3
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, s390x, 0, 2),           // if (A != s390x) goto 5
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 20),                     // A = low half of args[0] (big-endian)
            Instruction.Stmt(BPF_RET | BPF_A, 0),                               // return A
            Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW), // return ALLOW
        ];
        var facts = ProgramAnalysis.Analyze(program);
        Assert.Null(facts[3].KnownArch);
        Assert.False(facts[3].LittleEndian);
        Assert.Equal(AccumulatorContent.ArgLow, facts[4].Content);
        Assert.Contains(" 3: A = args[0]\n", Disassembler.Disassemble(program, Symbols));
        Assert.Equal(program, Assembler.Assemble(Disassembler.Disassemble(program, Symbols), Symbols));
    }

    [Fact]
    public void Paths_from_a_little_and_a_big_endian_arch_fall_back_to_the_little_endian_view()
    {
        uint x86_64 = Architecture.Get("x86_64").AuditArch, s390x = Architecture.Get("s390x").AuditArch;
        Instruction[] program =
        [
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, SeccompData.OffsetArch), // A = arch
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, x86_64, 1, 0),          // if (A == x86_64) goto 3
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, s390x, 0, 2),           // if (A != s390x) goto 5
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 16),                     // A = first word of args[0]
            Instruction.Stmt(BPF_RET | BPF_A, 0),                               // return A
            Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW), // return ALLOW
        ];
        Assert.Null(ProgramAnalysis.Analyze(program)[3].LittleEndian);
        Assert.Contains(" 3: A = args[0]\n", Disassembler.Disassemble(program, Symbols));
    }
}
