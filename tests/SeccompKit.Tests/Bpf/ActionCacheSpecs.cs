using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

public class ActionCacheSpecs
{
    private const uint X86 = TestPrograms.X86_64;

    /// <summary>
    /// A filter in the usual shape: arch check, nr 0 (read) → jumps to a tail, everything else → ALLOW.
    /// The tail is what each case varies. nr 1 always reaches plain ALLOW through cacheable instructions.
    /// </summary>
    private static Instruction[] WithTail(params Instruction[] tail) =>
    [
        Stmt(BPF_LD | BPF_W | BPF_ABS, 4),           // A = arch
        Jump(BPF_JMP | BPF_JEQ | BPF_K, X86, 0, 3),  // if (A != X86_64) goto pc 5 (KILL)
        Stmt(BPF_LD | BPF_W | BPF_ABS, 0),           // A = nr
        Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0),    // if (A == 0) goto pc 7 (the tail)
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),    // return ALLOW
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS), // return KILL_PROCESS
        Stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS), // return KILL_PROCESS (padding)
        .. tail,
    ];

    /// <summary>(desc, program, nr, arch, constant ALLOW?).</summary>
    public static TheoryData<string, Instruction[], int, uint, bool> Cases => new()
    {
        { "a plain ALLOW path is cacheable", WithTail(
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            1, X86, true },
        { "the wrong arch reaches KILL: not cacheable", WithTail(
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            1, TestPrograms.I386, false },
        { "RET ALLOW at the end of the tail is cacheable", WithTail(
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, true },
        { "ERRNO is not ALLOW", WithTail(
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1)),             // return ERRNO(EPERM)
            0, X86, false },
        { "LOG is not ALLOW", WithTail(
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_LOG)),                   // return LOG
            0, X86, false },
        { "ALLOW with data is not the exact ALLOW", WithTail(
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW | 1)),             // return ALLOW(1)
            0, X86, false },
        { "JGE, JGT and JSET with K are followed", WithTail(
            Jump(BPF_JMP | BPF_JGE | BPF_K, 0, 0, 3),                  // if (A < 0) goto pc 11 (never)
            Jump(BPF_JMP | BPF_JGT | BPF_K, 0, 2, 0),                  // if (A > 0) goto pc 11 (nr 0: no)
            Jump(BPF_JMP | BPF_JSET | BPF_K, 0xffffffff, 1, 0),        // if (A & ~0) goto pc 11 (nr 0: no)
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                  // return ALLOW
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1)),             // return ERRNO(EPERM)
            0, X86, true },
        { "AND K and JA are followed", WithTail(
            Stmt(BPF_LD | BPF_W | BPF_ABS, 4),                         // A = arch
            Stmt(BPF_ALU | BPF_AND | BPF_K, 0x80000000),               // A &= __AUDIT_ARCH_64BIT
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0x80000000, 0, 1),         // if (A != 64-bit) goto pc 11
            Jump(BPF_JMP | BPF_JA, 1, 0, 0),                           // goto pc 12
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),              // return ERRNO(EPERM)
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, true },
        { "an argument load on the path is not cacheable", WithTail(
            Stmt(BPF_LD | BPF_W | BPF_ABS, 16),                        // A = args[0]
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "an argument load off the path does not matter", WithTail(
            Stmt(BPF_LD | BPF_W | BPF_ABS, 16),                        // A = args[0]
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            1, X86, true },
        { "an instruction pointer load is not cacheable", WithTail(
            Stmt(BPF_LD | BPF_W | BPF_ABS, 8),                         // A = instruction_pointer
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "TAX is not understood", WithTail(
            Stmt(BPF_MISC | BPF_TAX, 0),                               // X = A
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "a jump on X is not understood", WithTail(
            Jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 0),                  // if (A == X) next else next
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "ALU other than AND K is not understood", WithTail(
            Stmt(BPF_ALU | BPF_OR | BPF_K, 0),                         // A |= 0
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "a memory store is not understood", WithTail(
            Stmt(BPF_ST, 0),                                           // M[0] = A
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "LEN is not understood", WithTail(
            Stmt(BPF_LD | BPF_W | BPF_LEN, 0),                         // A = len
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "LD IMM is not understood", WithTail(
            Stmt(BPF_LD | BPF_IMM, 0),                                 // A = 0
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)),                 // return ALLOW
            0, X86, false },
        { "RET A is not understood even when A holds ALLOW", WithTail(
            Jump(BPF_JMP | BPF_JA, 0, 0, 0),                           // goto next
            Stmt(BPF_RET | BPF_A, 0)),                                 // return A
            0, X86, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IsConstantAllow_follows_only_what_the_kernel_emulates(string desc, Instruction[] program, int nr, uint arch, bool expected)
    {
        var p = BpfProgram.Create(program);
        Assert.True(expected == ActionCache.IsConstantAllow(p, nr, arch), desc);
    }

    [Fact]
    public void Compute_ANDs_the_filters_and_adds_the_always_allowed_numbers()
    {
        // Newer filter: allows nr < 4 (plain ALLOW), ERRNO otherwise.
        var newer = BpfProgram.Create([
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0),              // A = nr
            Jump(BPF_JMP | BPF_JGE | BPF_K, 4, 1, 0),       // if (A >= 4) goto pc 3
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),       // return ALLOW
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),   // return ERRNO(EPERM)
        ]);
        // Older filter: nr 2 looks at an argument, everything else ALLOW.
        var older = BpfProgram.Create([
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0),              // A = nr
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 2, 1, 0),       // if (A == 2) goto pc 3
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),       // return ALLOW
            Stmt(BPF_LD | BPF_W | BPF_ABS, 16),             // A = args[0]
            Stmt(BPF_RET | BPF_A, 0),                       // return A
        ]);
        var stack = new FilterStack([newer, older]);

        var bits = ActionCache.Compute(stack, X86, 8);
        Assert.Equal([true, true, false, true, false, false, false, false], bits.Cast<bool>().ToArray());

        var withExempt = ActionCache.Compute(stack, X86, 8, [2, 6]);
        Assert.Equal([true, true, true, true, false, false, true, false], withExempt.Cast<bool>().ToArray());

        var onlyOlder = ActionCache.Compute(new FilterStack([older]), X86, 4);
        Assert.Equal([true, true, false, true], onlyOlder.Cast<bool>().ToArray());
    }
}
