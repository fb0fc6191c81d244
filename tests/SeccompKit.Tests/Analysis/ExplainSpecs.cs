using System.Collections.Immutable;
using SeccompKit.Analysis;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;
using SeccompKit.TestKit;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Tests.Analysis;

/// <summary>explain: filters back to rules, proven against the interpreter.</summary>
public class ExplainSpecs
{
    private const uint X86_64 = 0xc000003e;
    private const uint Allow = SeccompReturn.SECCOMP_RET_ALLOW;
    private const uint Eperm = SeccompReturn.SECCOMP_RET_ERRNO | 1;
    private const uint Kill = SeccompReturn.SECCOMP_RET_KILL_PROCESS;

    private static Instruction S(ushort code, uint k) => Instruction.Stmt(code, k);
    private static Instruction J(ushort code, uint k, byte jt, byte jf) => Instruction.Jump(code, k, jt, jf);

    // arch == x86_64 and nr < 0x40000000 (no x32), else kill; then nr == NR goes to the body at pc 9, everything else allowed.
    private static Instruction[] Prologue(int nr) =>
    [
        S(BPF_LD | BPF_W | BPF_ABS, 4),                      // 0: A = arch
        J(BPF_JMP | BPF_JEQ | BPF_K, X86_64, 1, 0),          // 1: x86_64?
        S(BPF_RET | BPF_K, Kill),                            // 2: no: kill
        S(BPF_LD | BPF_W | BPF_ABS, 0),                      // 3: A = nr
        J(BPF_JMP | BPF_JGE | BPF_K, 0x4000_0000, 0, 2),     // 4: x32 bit?
        J(BPF_JMP | BPF_JEQ | BPF_K, uint.MaxValue, 1, 0),   // 5: yes: nr -1 (a skipped call) counts as x86_64
        S(BPF_RET | BPF_K, Kill),                            // 6: x32: kill
        J(BPF_JMP | BPF_JEQ | BPF_K, (uint)nr, 1, 0),        // 7: the syscall under test?
        S(BPF_RET | BPF_K, Allow),                           // 8: no: allow
    ];

    public static TheoryData<string, Instruction[]> HandWritten => new()
    {
        { "JSET on clone flags (CLONE_NEWUSER)", [.. Prologue(56),
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 // A = flags.lo
            J(BPF_JMP | BPF_JSET | BPF_K, 0x1000_0000, 0, 1),// CLONE_NEWUSER set?
            S(BPF_RET | BPF_K, Eperm),                       // yes: EPERM
            S(BPF_RET | BPF_K, Allow)] },                    // no: allow
        { "AND mask then compare (openat O_ACCMODE == O_RDONLY)", [.. Prologue(257),
            S(BPF_LD | BPF_W | BPF_ABS, 32),                 // A = flags.lo (arg2)
            S(BPF_ALU | BPF_AND | BPF_K, 3),                 // A &= O_ACCMODE
            J(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),           // O_RDONLY?
            S(BPF_RET | BPF_K, Allow),
            S(BPF_RET | BPF_K, Eperm)] },
        { "add with wrap then range (fd + 10 > 12)", [.. Prologue(3),
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 // A = fd
            S(BPF_ALU | BPF_ADD | BPF_K, 10),                // A += 10 (wraps for fd >= 0xfffffff6)
            J(BPF_JMP | BPF_JGT | BPF_K, 12, 0, 1),          // > 12?
            S(BPF_RET | BPF_K, Eperm),
            S(BPF_RET | BPF_K, Allow)] },
        { "sub, xor, or and shifts", [.. Prologue(0),
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 //  8: A = fd.lo
            S(BPF_ALU | BPF_SUB | BPF_K, 5),                 //  9: A -= 5
            S(BPF_ALU | BPF_XOR | BPF_K, 0xff),              // 10: A ^= 0xff
            J(BPF_JMP | BPF_JEQ | BPF_K, 0xf0, 0, 1),        // 11: == 0xf0 (fd == 0x14)?
            S(BPF_RET | BPF_K, Eperm),                       // 12
            S(BPF_LD | BPF_W | BPF_ABS, 24),                 // 13: A = buf.lo
            S(BPF_ALU | BPF_RSH | BPF_K, 12),                // 14: A >>= 12
            J(BPF_JMP | BPF_JGE | BPF_K, 0x10, 0, 1),        // 15: >= 0x10 (buf.lo >= 0x10000)?
            S(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_TRAP | 7), // 16
            S(BPF_LD | BPF_W | BPF_ABS, 32),                 // 17: A = count.lo
            S(BPF_ALU | BPF_OR | BPF_K, 0x100),              // 18: A |= 0x100
            J(BPF_JMP | BPF_JEQ | BPF_K, 0x1ff, 0, 1),       // 19: == 0x1ff?
            S(BPF_RET | BPF_K, Eperm),                       // 20
            S(BPF_ALU | BPF_LSH | BPF_K, 4),                 // 21: A <<= 4
            J(BPF_JMP | BPF_JSET | BPF_K, 0x30, 0, 1),       // 22: bits 0-1 of count set?
            S(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_TRACE | 7), // 23
            S(BPF_RET | BPF_K, Allow)] },                    // 24
        { "X register, scratch memory, TAX/TXA", [.. Prologue(1),
            S(BPF_LDX | BPF_W | BPF_IMM, 100),               // X = 100
            S(BPF_STX, 3),                                   // M[3] = X
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 // A = fd.lo
            S(BPF_ST, 0),                                    // M[0] = A
            S(BPF_LDX | BPF_MEM, 3),                         // X = M[3] (100)
            J(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 3),           // fd > X?
            S(BPF_LD | BPF_MEM, 0),                          // A = M[0]
            S(BPF_MISC | BPF_TAX, 0),                        // X = A
            S(BPF_MISC | BPF_TXA, 0),                        // A = X
            J(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),          // odd? (also reached when fd <= 100 with A = fd)
            S(BPF_RET | BPF_K, Eperm),
            S(BPF_RET | BPF_K, Allow)] },
        { "64-bit argument compared half by half", [.. Prologue(9),
            S(BPF_LD | BPF_W | BPF_ABS, 20),                 // A = addr.hi
            J(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),           // hi == 0?
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 // A = addr.lo
            J(BPF_JMP | BPF_JGE | BPF_K, 0x10000, 1, 0),     // lo >= 0x10000?
            S(BPF_RET | BPF_K, Eperm),                       // mmap below 64 KiB: EPERM
            S(BPF_RET | BPF_K, Allow)] },
        { "DIV by X and RET A of a constant", [.. Prologue(2),
            S(BPF_LD | BPF_W | BPF_ABS, 24),                 // A = flags.lo
            S(BPF_MISC | BPF_TAX, 0),                        // X = flags
            S(BPF_LD | BPF_IMM, 1000),                       // A = 1000
            S(BPF_ALU | BPF_DIV | BPF_X, 0),                 // A /= X (X == 0: the filter returns 0, KILL_THREAD)
            S(BPF_LD | BPF_IMM, Eperm),                      // A = ERRNO(EPERM)
            S(BPF_RET | BPF_A, 0)] },                        // return A
    };

    [Theory]
    [MemberData(nameof(HandWritten))]
    public void A_hand_written_filter_is_explained_exactly_and_its_recovered_policy_compiles_to_the_same_behaviour(string desc, Instruction[] program)
    {
        var stack = new FilterStack([BpfProgram.Create(program)]);
        var (exact, points, recovered) = ExplainOracle.Prove(stack, desc);
        Assert.True(exact, $"{desc}: {string.Join("\n", recovered.Problems)}");
        Assert.True(points > 1000, $"{desc}: only {points} points");
    }

    [Fact]
    public void The_regions_of_a_JSET_rule_name_the_ret_that_decided_them()
    {
        var program = HandWritten.Select(r => r.Data).First(r => r.Item1.StartsWith("JSET", StringComparison.Ordinal)).Item2;
        var e = FilterExplainer.Explain(BpfProgram.Create(program));
        var clone = e.For(Architecture.X86_64).Syscalls.Single(s => s.Name == "clone");
        Assert.Equal(2, clone.Regions.Length);
        var eperm = clone.Regions.Single(r => r.Value == Eperm);
        Assert.Equal(11, eperm.Decider.Pc);
        Assert.Equal("arg0.lo & 0x10000000 != 0", eperm.Words[4].Describe("arg0.lo"));
        // i386 calls are killed at pc 2 whatever the number.
        Assert.All(e.For(Architecture.X86).Syscalls, s => Assert.Equal(new Decider(0, 2), s.Regions.Single().Decider));
    }

    public static TheoryData<string, Instruction[], string> Inexpressibles => new()
    {
        { "two arguments compared", [.. Prologue(0),
            S(BPF_LD | BPF_W | BPF_ABS, 24),                 // 6: A = arg1.lo
            S(BPF_MISC | BPF_TAX, 0),                        // 7: X = A
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 // 8: A = arg0.lo
            J(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),           // 9: arg0 == arg1?
            S(BPF_RET | BPF_K, Eperm),
            S(BPF_RET | BPF_K, Allow)], "pc 12" },
        { "a multiplied argument compared", [.. Prologue(0),
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 // 6: A = arg0.lo
            S(BPF_ALU | BPF_MUL | BPF_K, 3),                 // 7: A *= 3
            J(BPF_JMP | BPF_JGT | BPF_K, 100, 0, 1),         // 8: > 100?
            S(BPF_RET | BPF_K, Eperm),
            S(BPF_RET | BPF_K, Allow)], "pc 11" },
        { "a return value computed from the data", [.. Prologue(0),
            S(BPF_LD | BPF_W | BPF_ABS, 16),                 // 6: A = arg0.lo
            S(BPF_ALU | BPF_OR | BPF_K, Eperm),              // 7: A |= ERRNO(EPERM)
            S(BPF_RET | BPF_A, 0)], "pc 11" },                // 8: return A
    };

    [Theory]
    [MemberData(nameof(Inexpressibles))]
    public void An_inexpressible_condition_is_reported_with_its_pc_and_makes_recovery_inexact(string desc, Instruction[] program, string pc)
    {
        var stack = new FilterStack([BpfProgram.Create(program)]);
        var e = FilterExplainer.Explain(stack);
        Assert.Contains(e.Inexpressible, i => $"pc {i.Pc}" == pc);
        ExplainOracle.CheckRegions(stack, e);
        var recovered = PolicyRecovery.Recover(e);
        Assert.False(recovered.IsExact, desc);
        Assert.Contains(recovered.Problems, p => p.Where.EndsWith(pc, StringComparison.Ordinal));
        // The condition stays on the region (never dropped): the read syscall has an opaque region or a computed value.
        var read = e.For(Architecture.X86_64).Syscalls.Single(s => s.Name == "read");
        Assert.Contains(read.Regions, r => !r.Opaque.IsEmpty || r.Value is null);
    }

    [Fact]
    public void An_instruction_pointer_condition_and_a_missing_arch_check_are_problems_of_the_recovery()
    {
        Instruction[] ip =
        [
            S(BPF_LD | BPF_W | BPF_ABS, 4), J(BPF_JMP | BPF_JEQ | BPF_K, X86_64, 1, 0), S(BPF_RET | BPF_K, Kill),
            S(BPF_LD | BPF_W | BPF_ABS, 8),                  // A = ip.lo
            J(BPF_JMP | BPF_JGE | BPF_K, 0x1000, 0, 1),      // ip.lo >= 0x1000?
            S(BPF_RET | BPF_K, Eperm),
            S(BPF_RET | BPF_K, Allow),
        ];
        var r1 = PolicyRecovery.Recover(FilterExplainer.Explain(BpfProgram.Create(ip)));
        Assert.Contains(r1.Problems, p => p.What.Contains("instruction pointer", StringComparison.Ordinal));
        Instruction[] noArch = [S(BPF_LD | BPF_W | BPF_ABS, 0), J(BPF_JMP | BPF_JEQ | BPF_K, 59, 0, 1), S(BPF_RET | BPF_K, Kill), S(BPF_RET | BPF_K, Allow)];
        var r2 = PolicyRecovery.Recover(FilterExplainer.Explain(BpfProgram.Create(noArch)));
        Assert.Contains(r2.Problems, p => p.Where == "unknown arch");
    }

    [Fact]
    public void Docker_and_podman_profiles_compiled_are_explained_and_recovered_exactly()
    {
        foreach (var (name, _, _) in ProfilePolicies.Profiles)
        {
            var policy = ProfilePolicies.Load(name);
            foreach (var optimize in new[] { true, false })
            {
                var program = PolicyCompiler.Compile(policy, new CompileOptions { Optimize = optimize }).Program;
                var (exact, points, recovered) = ExplainOracle.Prove(new FilterStack([program]), name);
                Assert.True(exact, $"{name}: {string.Join("\n", recovered.Problems.Take(20))}");
                TestContext.Current.SendDiagnosticMessage($"{name} ({(optimize ? "optimised" : "unoptimised")}, {program.Length} instructions): exact, {points} points");
            }
        }
    }

    [Fact]
    public void Numbers_sharing_paths_are_explained_alike_and_an_opaque_condition_on_nr_alone_is_decided_per_number()
    {
        // Explain combines the stack once per set of paths a number can take and copies the result to the other numbers
        // of that set. Here nr * 3 == 117 is opaque (no per-word constraint) and reads nr alone, so it must be decided per
        // number, not shared (it holds for 39 alone: 3 is invertible modulo 2^32); and the newest filter cuts the numbers
        // into two ranges whose members share paths.
        Instruction[] older =
        [
            S(BPF_LD | BPF_W | BPF_ABS, 0),                  // 0: A = nr
            S(BPF_ALU | BPF_MUL | BPF_K, 3),                 // 1: A *= 3
            J(BPF_JMP | BPF_JEQ | BPF_K, 3 * 39, 0, 1),      // 2: nr * 3 == 117 (nr 39: getpid on x86_64)
            S(BPF_RET | BPF_K, Eperm),                       // 3: yes: EPERM
            S(BPF_RET | BPF_K, Allow),                       // 4: no: allow
        ];
        Instruction[] newer =
        [
            S(BPF_LD | BPF_W | BPF_ABS, 0),                  // 0: A = nr
            J(BPF_JMP | BPF_JGE | BPF_K, 100, 0, 1),         // 1: nr >= 100?
            S(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_LOG),// 2: yes: LOG
            S(BPF_RET | BPF_K, Allow),                       // 3: no: allow
        ];
        var stack = new FilterStack([BpfProgram.Create(newer), BpfProgram.Create(older)]);
        var e = FilterExplainer.Explain(stack);
        ExplainOracle.CheckRegions(stack, e);
        var x86_64 = e.For(Architecture.X86_64);
        var getpid = x86_64.Syscalls.Single(s => s.Name == "getpid");
        Assert.Equal(Eperm, getpid.Regions.Single().Value);
        Assert.Equal(new Decider(1, 3), getpid.Regions.Single().Decider);
        var getuid = x86_64.Syscalls.Single(s => s.Name == "getuid"); // 102: shares the newer filter's range with 100..
        Assert.Equal(SeccompReturn.SECCOMP_RET_LOG, getuid.Regions.Single().Value);
        Assert.Equal(WordSet.Single(102), getuid.Regions.Single().Words[0]);
        var read = x86_64.Syscalls.Single(s => s.Name == "read");
        Assert.Equal(Allow, read.Regions.Single().Value);
        Assert.Equal(WordSet.Single(0), read.Regions.Single().Words[0]);
        // Every number of every ABI: each region pins nr to its own number.
        Assert.All(e.Abis.SelectMany(a => a.Syscalls), s => Assert.All(s.Regions, r => Assert.Equal(WordSet.Single(unchecked((uint)s.Number)), r.Words[0])));
    }
}
