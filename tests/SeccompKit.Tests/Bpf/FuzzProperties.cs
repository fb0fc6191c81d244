using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Bpf;

/// <summary>
/// Fuzz properties for everything that reads untrusted input: raw bytes, text, and arbitrary instruction
/// arrays. Whatever comes in, the readers either succeed or throw their documented exception with a message
/// that says where — never anything else — and the validator never throws at all.
/// </summary>
public class FuzzProperties
{
    private static readonly IBpfSymbols Symbols = new SyscallSymbols();

    private static readonly Gen<Instruction> AnyInstruction =
        Gen.Select(Gen.UShort, Gen.Byte, Gen.Byte, Gen.UInt).Select((c, t, f, k) => new Instruction(c, t, f, k));

    /// <summary>Instructions biased towards real opcodes, so that validation gets past the first check often.</summary>
    private static readonly Gen<Instruction> NearValidInstruction =
        Gen.Select(Gen.Int[0, 0xb1], Gen.Byte[0, 8], Gen.Byte[0, 8], Gen.OneOf(Gen.UInt[0, 70], Gen.UInt)).Select((c, t, f, k) => new Instruction((ushort)c, t, f, k));

    [Fact]
    public void The_validator_never_throws_and_agrees_with_BpfProgram_TryCreate()
    {
        Gen.OneOf(AnyInstruction.Array[0, 50], NearValidInstruction.Array[1, 60]).Sample(program =>
        {
            var error = Validator.Validate(program);
            bool ok = BpfProgram.TryCreate(program, out var p, out var e2);
            Assert.Equal(error is null, ok);
            Assert.Equal(error, e2);
            if (error is not null)
            {
                Assert.InRange(error.Pc, -1, program.Length - 1);
                Assert.False(string.IsNullOrWhiteSpace(error.Message));
            }
            else
            {
                // A valid program runs to a RET on any input.
                Interpreter.Run(p!, new SeccompData(0, 0xc000003e, 0, 1, 2, 3, 4, 5, 6), trace: true);
            }
        }, iter: 20_000);
    }

    [Fact]
    public void Raw_bytes_either_parse_or_name_the_offset()
    {
        Gen.Byte.Array[0, 100].Sample(bytes =>
        {
            try
            {
                var ins = BpfProgram.ParseRaw(bytes);
                Assert.Equal(bytes.Length / 8, ins.Length);
                Assert.Equal(bytes, BpfProgram.ToRaw(ins));
            }
            catch (BpfFormatException e)
            {
                Assert.True(bytes.Length == 0 || bytes.Length % 8 != 0);
                if (bytes.Length != 0) Assert.Contains("offset", e.Message);
            }
        }, iter: 5_000);
    }

    private static readonly string[] Tokens =
    [
        "A", "X", "=", "==", "!=", ">=", "<", ">", "<=", "&", "!", "(", ")", "if", "goto", "else", "return", "L1", "L2", "L1:", "L2:",
        "sys_number", "arch", "args[0]", "args[9]", ">> 32", "mem[3]", "mem[99]", "0x10", "4294967296", "-1", "7", "ALLOW", "ERRNO(EPERM)",
        "ERRNO(", "TRAP(5)", "openat", "AUDIT_ARCH_X86_64", "{", "}", ",", "0x06", "#", "//", "/*", "*/", "+=", "-=", "<<=", "len",
        "data[2]", "\n", "\n", "\n", " ", "\t", "é", "\0",
    ];

    [Fact]
    public void Text_either_assembles_or_names_the_line()
    {
        Gen.Int[0, Tokens.Length - 1].Array[0, 40].Select(ix => string.Join(" ", ix.Select(i => Tokens[i]))).Sample(text =>
        {
            try
            {
                Assembler.Assemble(text, Symbols);
            }
            catch (BpfFormatException e)
            {
                Assert.Matches(@"^(line \d+: |the text holds no instructions)", e.Message);
            }
        }, iter: 20_000);
    }

    [Fact]
    public void Any_listing_of_any_instructions_assembles_back_to_the_same_instructions()
    {
        // Not only valid programs: the disassembler keeps the exact bits of anything it cannot spell.
        Gen.OneOf(AnyInstruction.Array[1, 30], NearValidInstruction.Array[1, 30]).Sample(program =>
        {
            Assert.Equal(program, Assembler.Assemble(Disassembler.Disassemble(program, Symbols), Symbols));
            Assert.Equal(program, Assembler.Assemble(Disassembler.DisassembleRaw(program)));
        }, iter: 10_000);
    }
}
