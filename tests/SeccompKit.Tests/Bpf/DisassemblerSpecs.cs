using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

public class DisassemblerSpecs
{
    private static readonly Instruction[] Golden =
    [
        Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                           // A = arch
        Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 0, 7),  // if (A != X86_64) goto pc 9
        Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                           // A = nr
        Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 1, 0),                    // if (A == write) goto pc 5
        Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 3),                    // if (A == read) goto pc 7 else goto pc 8
        Stmt(BPF_LD | BPF_W | BPF_ABS, 16),                          // A = args[0] (the fd)
        Jump(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 1),                    // if (A != 2) goto pc 8
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                    // return ALLOW
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),                // return ERRNO(EPERM)
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),             // return KILL_PROCESS
    ];

    private const string GoldenWithSymbols =
        """
         0: A = arch
         1: if (A != AUDIT_ARCH_X86_64) goto L9
         2: A = sys_number
         3: if (A == write) goto L5
         4: if (A == read) goto L7 else goto L8
        L5:
         5: A = args[0]
         6: if (A != 2) goto L8
        L7:
         7: return ALLOW
        L8:
         8: return ERRNO(EPERM)
        L9:
         9: return KILL_PROCESS

        """;

    private const string GoldenWithoutSymbols =
        """
         0: A = arch
         1: if (A != 0xc000003e) goto L9
         2: A = sys_number
         3: if (A == 1) goto L5
         4: if (A == 0) goto L7 else goto L8
        L5:
         5: A = args[0]
         6: if (A != 2) goto L8
        L7:
         7: return ALLOW
        L8:
         8: return ERRNO(EPERM)
        L9:
         9: return KILL_PROCESS

        """;

    [Fact]
    public void The_readable_listing_names_arches_and_syscalls_only_where_A_holds_them()
    {
        Assert.Equal(GoldenWithSymbols, Disassembler.Disassemble(Golden, FakeSymbols.Instance));
        Assert.Equal(Golden, Assembler.Assemble(GoldenWithSymbols, FakeSymbols.Instance));
    }

    [Fact]
    public void Without_symbols_the_listing_shows_numbers()
    {
        Assert.Equal(GoldenWithoutSymbols, Disassembler.Disassemble(Golden));
        Assert.Equal(Golden, Assembler.Assemble(GoldenWithoutSymbols));
    }

    [Fact]
    public void The_raw_listing_is_one_C_initialiser_per_instruction()
    {
        Instruction[] program = [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                          // A = arch
            Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 1, 0), // if (A == X86_64) goto pc 3
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),            // return KILL_PROCESS
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                   // return ALLOW
        ];
        const string raw = "{ 0x20, 0, 0, 0x00000004 },\n{ 0x15, 1, 0, 0xc000003e },\n{ 0x06, 0, 0, 0x80000000 },\n{ 0x06, 0, 0, 0x7fff0000 },\n";
        Assert.Equal(raw, Disassembler.DisassembleRaw(program));
        Assert.Equal(program, Assembler.Assemble(raw));
    }

    [Fact]
    public void A_syscall_name_depends_on_the_arch_the_program_checked()
    {
        const string text =
            """
            A = arch
            if (A != AUDIT_ARCH_I386) goto kill
            A = sys_number
            if (A == read) goto allow
            kill:
            return KILL_PROCESS
            allow:
            return ALLOW
            """;
        var program = Assembler.Assemble(text, FakeSymbols.Instance);
        Assert.Equal(Jump(BPF_JMP | BPF_JEQ | BPF_K, 3, 1, 0), program[3]); // read is 3 on i386
        Assert.Equal(Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.I386, 0, 2), program[1]);
        Assert.Contains("if (A == read) goto L5", Disassembler.Disassemble(program, FakeSymbols.Instance));
    }

    /// <summary>(desc, text, the instructions it assembles to).</summary>
    public static TheoryData<string, string, Instruction[]> Statements => new()
    {
        { "A = sys_number", "A = sys_number", [Stmt(BPF_LD | BPF_W | BPF_ABS, 0)] },        // A = nr
        { "A = arch", "A = arch", [Stmt(BPF_LD | BPF_W | BPF_ABS, 4)] },                    // A = arch
        { "A = instruction_pointer", "A = instruction_pointer", [Stmt(BPF_LD | BPF_W | BPF_ABS, 8)] }, // A = ip low
        { "A = instruction_pointer >> 32", "A = instruction_pointer >> 32", [Stmt(BPF_LD | BPF_W | BPF_ABS, 12)] }, // A = ip high
        { "A = args[0]", "A = args[0]", [Stmt(BPF_LD | BPF_W | BPF_ABS, 16)] },             // A = args[0] low
        { "A = args[5] >> 32", "A = args[5] >> 32", [Stmt(BPF_LD | BPF_W | BPF_ABS, 60)] }, // A = args[5] high
        { "A = data[offset]", "A = data[0x40]", [Stmt(BPF_LD | BPF_W | BPF_ABS, 64)] },     // A = data[64] (assembles; the validator refuses)
        { "A = len", "A = len", [Stmt(BPF_LD | BPF_W | BPF_LEN, 0)] },                      // A = len
        { "X = len", "X = len", [Stmt(BPF_LDX | BPF_W | BPF_LEN, 0)] },                     // X = len
        { "A = constant", "A = 0xdeadbeef", [Stmt(BPF_LD | BPF_IMM, 0xdeadbeef)] },         // A = 0xdeadbeef
        { "X = constant", "X = 7", [Stmt(BPF_LDX | BPF_IMM, 7)] },                          // X = 7
        { "A = mem[i]", "A = mem[15]", [Stmt(BPF_LD | BPF_MEM, 15)] },                      // A = M[15]
        { "X = mem[i]", "X = mem[0]", [Stmt(BPF_LDX | BPF_MEM, 0)] },                       // X = M[0]
        { "mem[i] = A", "mem[3] = A", [Stmt(BPF_ST, 3)] },                                  // M[3] = A
        { "mem[i] = X", "mem[4] = X", [Stmt(BPF_STX, 4)] },                                 // M[4] = X
        { "X = A", "X = A", [Stmt(BPF_MISC | BPF_TAX, 0)] },                                // X = A
        { "A = X", "A = X", [Stmt(BPF_MISC | BPF_TXA, 0)] },                                // A = X
        { "A = -A", "A = -A", [Stmt(BPF_ALU | BPF_NEG, 0)] },                               // A = -A
        { "A += k", "A += 1", [Stmt(BPF_ALU | BPF_ADD | BPF_K, 1)] },                       // A += 1
        { "A -= X", "A -= X", [Stmt(BPF_ALU | BPF_SUB | BPF_X, 0)] },                       // A -= X
        { "A *= k", "A *= 0x10", [Stmt(BPF_ALU | BPF_MUL | BPF_K, 16)] },                   // A *= 16
        { "A /= k", "A /= 3", [Stmt(BPF_ALU | BPF_DIV | BPF_K, 3)] },                       // A /= 3
        { "A &= k", "A &= 0xff", [Stmt(BPF_ALU | BPF_AND | BPF_K, 0xff)] },                 // A &= 0xff
        { "A |= X", "A |= X", [Stmt(BPF_ALU | BPF_OR | BPF_X, 0)] },                        // A |= X
        { "A ^= k", "A ^= 5", [Stmt(BPF_ALU | BPF_XOR | BPF_K, 5)] },                       // A ^= 5
        { "A <<= k", "A <<= 31", [Stmt(BPF_ALU | BPF_LSH | BPF_K, 31)] },                   // A <<= 31
        { "A >>= X", "A >>= X", [Stmt(BPF_ALU | BPF_RSH | BPF_X, 0)] },                     // A >>= X
        { "return A", "return A", [Stmt(BPF_RET | BPF_A, 0)] },                             // return A
        { "return ERRNO(name)", "return ERRNO(EACCES)", [Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 13)] }, // return ERRNO(EACCES)
        { "return TRAP(n)", "return TRAP(3)", [Stmt(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 3)] }, // return TRAP(3)
        { "return a number", "return 0x7ffc0000", [Stmt(BPF_RET | BPF_K, SECCOMP_RET_LOG)] }, // return LOG
        { "goto label", "goto out\nout:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JA, 0, 0, 0),                  // goto pc 1
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (A == k) goto", "if (A == 5) goto t\nreturn KILL_THREAD\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 5, 1, 0),         // if (A == 5) goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (A != k) goto swaps the branches", "if (A != 5) goto t\nreturn KILL_THREAD\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 1),         // if (A != 5) goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (A > k) goto", "if (A > 5) goto t\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JGT | BPF_K, 5, 0, 0),         // if (A > 5) goto pc 1 (both ways)
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (A <= X) goto", "if (A <= X) goto t\nreturn 0\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1),         // if (A <= X) goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (A >= k) goto", "if (A >= 0x40000000) goto t\nreturn 0\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 1, 0), // if (A >= 0x40000000) goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (A < k) goto", "if (A < 3) goto t\nreturn 0\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JGE | BPF_K, 3, 0, 1),         // if (A < 3) goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (A & k) goto", "if (A & 0x8) goto t\nreturn 0\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JSET | BPF_K, 8, 1, 0),        // if (A & 8) goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if (!(A & X)) goto", "if (!(A & X)) goto t\nreturn 0\nt:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1),        // if (!(A & X)) goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "if ... goto ... else goto", "if (A == X) goto a else goto b\na:\nreturn 0\nb:\nreturn ALLOW", [
            Jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),         // if (A == X) goto pc 1 else goto pc 2
            Stmt(BPF_RET | BPF_K, 0),                         // return KILL_THREAD
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "raw with braces and comma", "{ 0x06, 0, 0, 0x7fff0000 },", [
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "raw keeps bits the readable form has no room for", "{ 0x07, 3, 4, 0x00000009 }", [
            new Instruction(BPF_MISC | BPF_TAX, 3, 4, 9)] },  // X = A, with ignored jt/jf/k
        { "raw without braces, decimal", "6 0 0 2147418112", [
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)] },      // return ALLOW
        { "extra spaces are ignored", "  A   +=   2  ", [Stmt(BPF_ALU | BPF_ADD | BPF_K, 2)] }, // A += 2
    };

    [Theory]
    [MemberData(nameof(Statements))]
    public void Every_statement_form_assembles(string desc, string text, Instruction[] expected)
    {
        var actual = Assembler.Assemble(text);
        Assert.True(expected.SequenceEqual(actual), $"{desc}: got {string.Join(" ", actual)}");
    }

    [Fact]
    public void Comments_labels_and_pc_prefixes_are_ignored()
    {
        const string text =
            """
            # a shell-style comment
            // a C++-style comment
            /* a block comment
               over two lines */
            12: A = arch   # pc prefixes need not match
            start: 3: if (A == 0xc000003e) goto ok // label and pc on one line
            99: return KILL_PROCESS /* trailing block */
            ok:
            return ALLOW
            """;
        Instruction[] expected = [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                          // A = arch
            Jump(BPF_JMP | BPF_JEQ | BPF_K, TestPrograms.X86_64, 1, 0), // if (A == X86_64) goto pc 3
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),            // return KILL_PROCESS
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                   // return ALLOW
        ];
        Assert.Equal(expected, Assembler.Assemble(text));
    }

    /// <summary>(desc, text, with symbols?, line named, fragment of the message).</summary>
    public static TheoryData<string, string, bool, int, string> Errors => new()
    {
        { "an undefined label", "A = arch\ngoto nowhere\nreturn ALLOW", false, 2, "'nowhere' is never defined" },
        { "a backward jump", "back:\nA = arch\nif (A == 1) goto back\nreturn ALLOW", false, 3, "goes backwards" },
        { "a conditional jump further than 255", "if (A == 1) goto far\n" + string.Concat(Enumerable.Repeat("A = 0\n", 256)) + "far:\nreturn ALLOW", false, 1, "jt/jf reach at most 255" },
        { "an unknown statement", "A = arch\n\nA = frobnicate(A)\nreturn ALLOW", false, 3, "cannot read 'A = frobnicate(A)'" },
        { "a syscall name without an arch check", "A = sys_number\nif (A == read) goto ok\nreturn KILL_PROCESS\nok:\nreturn ALLOW", true, 2, "cannot resolve syscall name 'read'" },
        { "a syscall name checked on only one path", "A = arch\nif (A == AUDIT_ARCH_X86_64) goto x\nA = arch\nx:\nA = sys_number\nif (A == read) goto ok\nreturn 0\nok:\nreturn ALLOW", true, 6, "cannot resolve syscall name 'read'" },
        { "a syscall name without symbols", "A = arch\nif (A == 0xc000003e) goto n\nreturn 0\nn:\nA = sys_number\nif (A == read) goto ok\nreturn 0\nok:\nreturn ALLOW", false, 6, "no syscall tables were given" },
        { "a syscall the arch does not have", "A = arch\nif (A != AUDIT_ARCH_X86_64) goto k\nA = sys_number\nif (A == fork) goto k\nreturn ALLOW\nk:\nreturn 0", true, 4, "'fork' is not a syscall of AUDIT_ARCH_X86_64" },
        { "a label defined twice", "a:\nA = arch\na:\nreturn ALLOW", false, 3, "defined twice" },
        { "an unknown action", "A = arch\nreturn DENY", false, 2, "'DENY' is not an action" },
        { "args[6]", "A = args[6]\nreturn A", false, 1, "args[6] does not exist" },
        { "a 64-bit constant", "if (A == 0x100000000) goto x\nx:\nreturn A", false, 1, "does not fit in 32 bits" },
        { "a 32-bit field with >> 32", "A = arch >> 32\nreturn A", false, 1, "no '>> 32' half" },
        { "a raw field too wide", "{ 0x06, 256, 0, 0 }", false, 1, "too large" },
        { "line numbers count lines inside block comments", "/*\n\n*/\nreturn ALLOW\nbogus", false, 5, "cannot read 'bogus'" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Errors_name_the_line_and_what_to_change(string desc, string text, bool withSymbols, int line, string fragment)
    {
        var ex = Assert.Throws<BpfFormatException>(() => Assembler.Assemble(text, withSymbols ? FakeSymbols.Instance : null));
        Assert.True(ex.Message.StartsWith($"line {line}: ", StringComparison.Ordinal), $"{desc}: {ex.Message}");
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void Text_without_instructions_is_refused()
    {
        var ex = Assert.Throws<BpfFormatException>(() => Assembler.Assemble("# only a comment\n\nlabel:\n"));
        Assert.Contains("no instructions", ex.Message);
    }
}
