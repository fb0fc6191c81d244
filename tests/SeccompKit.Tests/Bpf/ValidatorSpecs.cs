using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

public class ValidatorSpecs
{
    private const ushort RetK = BPF_RET | BPF_K;
    private const uint Allow = SECCOMP_RET_ALLOW;

    /// <summary>(desc, program, expected rule or null for "accepted", expected pc).</summary>
    public static TheoryData<string, Instruction[], ValidationRule?, int> Cases => new()
    {
        // --- Empty / TooLong: bpf_check_basics_ok ---
        { "an empty program is refused", [], ValidationRule.Empty, -1 },
        { "a single RET is accepted (length 1)", TestPrograms.Filler(1), null, 0 },
        { "4096 instructions are accepted", TestPrograms.Filler(4096), null, 0 },
        { "4097 instructions are refused", TestPrograms.Filler(4097), ValidationRule.TooLong, -1 },

        // --- UnknownOpcode: chk_code_allowed ---
        { "opcode 0x0e (RET with rval 0x08) is not classic BPF", [
            Stmt(BPF_LD | BPF_IMM, 0),   // A = 0
            Stmt(0x0e, 0),                // RET with an undefined rval
            Stmt(RetK, Allow),            // return ALLOW
        ], ValidationRule.UnknownOpcode, 1 },
        { "opcode 0x100 lies past the kernel's table", [
            Stmt(0x100, 0),               // beyond codes[]
            Stmt(RetK, Allow),            // return ALLOW
        ], ValidationRule.UnknownOpcode, 0 },
        { "an unknown opcode is reported before a later DIV by 0", [
            Stmt(0xff, 0),                        // not classic BPF
            Stmt(BPF_ALU | BPF_DIV | BPF_K, 0),   // A /= 0
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.UnknownOpcode, 0 },

        // --- DivisionByZero ---
        { "DIV K 0 is refused", [
            Stmt(BPF_LD | BPF_IMM, 7),            // A = 7
            Stmt(BPF_ALU | BPF_DIV | BPF_K, 0),   // A /= 0
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.DivisionByZero, 1 },
        { "DIV K 1 is accepted", [
            Stmt(BPF_LD | BPF_IMM, 7),            // A = 7
            Stmt(BPF_ALU | BPF_DIV | BPF_K, 1),   // A /= 1
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },
        { "DIV X is accepted even when X is 0 (checked at run time)", [
            Stmt(BPF_LDX | BPF_IMM, 0),           // X = 0
            Stmt(BPF_ALU | BPF_DIV | BPF_X, 0),   // A /= X
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },
        { "MOD K 0 breaks the classic rule before seccomp refuses MOD", [
            Stmt(BPF_ALU | BPF_MOD | BPF_K, 0),   // A %= 0
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.DivisionByZero, 0 },

        // --- ShiftOutOfRange ---
        { "LSH K 31 is accepted", [
            Stmt(BPF_ALU | BPF_LSH | BPF_K, 31),  // A <<= 31
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },
        { "LSH K 32 is refused", [
            Stmt(BPF_ALU | BPF_LSH | BPF_K, 32),  // A <<= 32
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.ShiftOutOfRange, 0 },
        { "RSH K 31 is accepted", [
            Stmt(BPF_ALU | BPF_RSH | BPF_K, 31),  // A >>= 31
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },
        { "RSH K 32 is refused", [
            Stmt(BPF_LD | BPF_IMM, 1),            // A = 1
            Stmt(BPF_ALU | BPF_RSH | BPF_K, 32),  // A >>= 32
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.ShiftOutOfRange, 1 },
        { "LSH X is accepted whatever X holds", [
            Stmt(BPF_LDX | BPF_IMM, 99),          // X = 99
            Stmt(BPF_ALU | BPF_LSH | BPF_X, 0),   // A <<= X
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },

        // --- MemoryIndexOutOfRange ---
        { "M[15] is the last cell", [
            Stmt(BPF_ST, 15),                     // M[15] = A
            Stmt(BPF_LD | BPF_MEM, 15),           // A = M[15]
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },
        { "ST M[16] is refused", [
            Stmt(BPF_ST, 16),                     // M[16] = A
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.MemoryIndexOutOfRange, 0 },
        { "STX M[16] is refused", [
            Stmt(BPF_STX, 16),                    // M[16] = X
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.MemoryIndexOutOfRange, 0 },
        { "LD M[16] is an index error, not a read-before-write", [
            Stmt(BPF_LD | BPF_MEM, 16),           // A = M[16]
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.MemoryIndexOutOfRange, 0 },
        { "LDX M[16] is refused", [
            Stmt(BPF_ST, 0),                      // M[0] = A
            Stmt(BPF_LDX | BPF_MEM, 16),          // X = M[16]
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.MemoryIndexOutOfRange, 1 },

        // --- JumpOutOfRange (flen = 4 below) ---
        { "JA k = flen-pc-2 lands on the last instruction", [
            Jump(BPF_JMP | BPF_JA, 2, 0, 0),      // goto pc 3 (k = 4-0-2)
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, Allow),                    // return ALLOW
        ], null, 0 },
        { "JA k = flen-pc-1 lands past the end", [
            Jump(BPF_JMP | BPF_JA, 3, 0, 0),      // goto pc 4 (k = 4-0-1): past the end
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.JumpOutOfRange, 0 },
        { "JA k = 0xffffffff does not wrap around", [
            Stmt(BPF_LD | BPF_IMM, 0),            // A = 0
            Jump(BPF_JMP | BPF_JA, 0xffffffff, 0, 0), // goto pc 1+1+0xffffffff
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.JumpOutOfRange, 1 },
        { "jt to the last pc is accepted", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0), // if (A == 0) goto pc 3
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, Allow),                    // return ALLOW
        ], null, 0 },
        { "jt past the last pc is refused", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0), // if (A == 0) goto pc 4: past the end
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.JumpOutOfRange, 0 },
        { "jf to the last pc is accepted", [
            Stmt(BPF_LD | BPF_IMM, 1),            // A = 1
            Jump(BPF_JMP | BPF_JGT | BPF_X, 0, 0, 1), // if (A > X) next else goto pc 3
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, Allow),                    // return ALLOW
        ], null, 0 },
        { "jf past the last pc is refused", [
            Stmt(BPF_LD | BPF_IMM, 1),            // A = 1
            Jump(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 2), // if (A & 1) next else goto pc 4: past the end
            Stmt(RetK, 0),                        // return KILL_THREAD
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.JumpOutOfRange, 1 },
        { "a conditional jump as the last instruction is refused for its fall-through", [
            Jump(BPF_JMP | BPF_JGE | BPF_K, 0, 0, 0), // if (A >= 0) next: there is no next
        ], ValidationRule.JumpOutOfRange, 0 },

        // --- UnknownAncillaryLoad / BadDataOffset / NotAllowedInSeccomp for loads ---
        { "LD W ABS 0xfffff040 names no ancillary field", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0xfffff040), // A = SKF_AD_OFF + 64
            Stmt(BPF_RET | BPF_A, 0),                   // return A
        ], ValidationRule.UnknownAncillaryLoad, 0 },
        { "LD H ABS 0xfffff040 fails the ancillary rule before the seccomp subset", [
            Stmt(BPF_LD | BPF_H | BPF_ABS, 0xfffff040), // A = half at SKF_AD_OFF + 64
            Stmt(BPF_RET | BPF_A, 0),                   // return A
        ], ValidationRule.UnknownAncillaryLoad, 0 },
        { "LD W ABS 0xfffff000 (SKF_AD_PROTOCOL) passes classic BPF but not seccomp", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0xfffff000), // A = skb->protocol
            Stmt(BPF_RET | BPF_A, 0),                   // return A
        ], ValidationRule.BadDataOffset, 0 },
        { "LD W ABS 0xfffff03c (SKF_AD_VLAN_TPID, the last known) is a seccomp offset error", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0xfffff03c), // A = vlan tpid
            Stmt(BPF_RET | BPF_A, 0),                   // return A
        ], ValidationRule.BadDataOffset, 0 },
        { "LD W ABS 64 is past struct seccomp_data", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 64),   // A = data[64]
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.BadDataOffset, 0 },
        { "LD W ABS 2 is not 4-aligned", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 2),    // A = data[2]
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.BadDataOffset, 0 },
        { "LD W ABS 62 is neither aligned nor inside", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 62),   // A = data[62]
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.BadDataOffset, 0 },
        { "LD B ABS 0xfffff000 is refused by seccomp as an opcode", [
            Stmt(BPF_LD | BPF_B | BPF_ABS, 0xfffff000), // A = byte of skb->protocol
            Stmt(BPF_RET | BPF_A, 0),                   // return A
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "LD H ABS is refused", [
            Stmt(BPF_LD | BPF_H | BPF_ABS, 0),    // A = half at 0
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "LD B ABS is refused", [
            Stmt(BPF_LD | BPF_IMM, 0),            // A = 0
            Stmt(BPF_LD | BPF_B | BPF_ABS, 0),    // A = byte at 0
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.NotAllowedInSeccomp, 1 },
        { "LD W IND is refused", [
            Stmt(BPF_LD | BPF_W | BPF_IND, 0),    // A = word at X+0
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "LD H IND is refused", [
            Stmt(BPF_LD | BPF_H | BPF_IND, 0),    // A = half at X+0
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "LD B IND is refused", [
            Stmt(BPF_LD | BPF_B | BPF_IND, 0),    // A = byte at X+0
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "MOD K is refused", [
            Stmt(BPF_ALU | BPF_MOD | BPF_K, 3),   // A %= 3
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "MOD X is refused", [
            Stmt(BPF_ALU | BPF_MOD | BPF_X, 0),   // A %= X
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "LDX B MSH is refused", [
            Stmt(BPF_LDX | BPF_B | BPF_MSH, 0),   // X = 4*(byte at 0 & 0xf)
            Stmt(RetK, Allow),                    // return ALLOW
        ], ValidationRule.NotAllowedInSeccomp, 0 },
        { "LD W LEN is accepted", [
            Stmt(BPF_LD | BPF_W | BPF_LEN, 0),    // A = len (64)
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },
        { "LDX W LEN is accepted", [
            Stmt(BPF_LDX | BPF_W | BPF_LEN, 0),   // X = len (64)
            Stmt(BPF_MISC | BPF_TXA, 0),          // A = X
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },

        // --- LastNotReturn ---
        { "a program ending in a load is refused at its last pc", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0),    // A = nr
        ], ValidationRule.LastNotReturn, 0 },
        { "code after the last RET is refused", [
            Stmt(RetK, Allow),                    // return ALLOW
            Stmt(BPF_LD | BPF_IMM, 0),            // A = 0 (unreachable, but last)
        ], ValidationRule.LastNotReturn, 1 },
        { "a last-not-RET is reported before a seccomp-only error earlier", [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 64),   // A = data[64]: a seccomp error
            Stmt(BPF_LD | BPF_IMM, 0),            // A = 0: last, not RET
        ], ValidationRule.LastNotReturn, 1 },
        { "RET A is a valid last instruction", [
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], null, 0 },

        // --- MemoryReadBeforeWrite: check_load_and_stores ---
        { "reading M[0] before any store is refused", [
            Stmt(BPF_LD | BPF_MEM, 0),            // A = M[0]
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.MemoryReadBeforeWrite, 0 },
        { "STX counts as a write", [
            Stmt(BPF_STX, 3),                     // M[3] = X
            Stmt(BPF_LDX | BPF_MEM, 3),           // X = M[3]
            Stmt(RetK, Allow),                    // return ALLOW
        ], null, 0 },
        { "a write of another cell does not count", [
            Stmt(BPF_ST, 1),                      // M[1] = A
            Stmt(BPF_LD | BPF_MEM, 2),            // A = M[2]
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ], ValidationRule.MemoryReadBeforeWrite, 1 },
        { "a store on every path before the jump is valid at both targets", [
            Stmt(BPF_ST, 0),                          // M[0] = A
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), // if (A == 0) next else goto pc 3
            Stmt(BPF_LD | BPF_MEM, 0),                // A = M[0]
            Stmt(BPF_LDX | BPF_MEM, 0),               // X = M[0]
            Stmt(RetK, Allow),                        // return ALLOW
        ], null, 0 },
        { "a jump that skips the store leaves the cell unwritten", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), // if (A == 0) goto pc 2 (skips the store)
            Stmt(BPF_ST, 0),                          // M[0] = A
            Stmt(BPF_LD | BPF_MEM, 0),                // A = M[0]
            Stmt(BPF_RET | BPF_A, 0),                 // return A
        ], ValidationRule.MemoryReadBeforeWrite, 2 },
        { "the kernel refuses a read after RET though every real path stored first", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2), // if (A == 0) next else goto pc 3
            Stmt(BPF_ST, 0),                          // M[0] = A
            Jump(BPF_JMP | BPF_JA, 1, 0, 0),          // goto pc 4
            Stmt(RetK, Allow),                        // return ALLOW (its empty mask falls into pc 4)
            Stmt(BPF_LD | BPF_MEM, 0),                // A = M[0]: reached only via pc 2
            Stmt(BPF_RET | BPF_A, 0),                 // return A
        ], ValidationRule.MemoryReadBeforeWrite, 4 },
        { "the same shape with a store right after the RET is accepted", [
            Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2), // if (A == 0) next else goto pc 3
            Stmt(BPF_ST, 0),                          // M[0] = A
            Jump(BPF_JMP | BPF_JA, 2, 0, 0),          // goto pc 5
            Stmt(RetK, Allow),                        // return ALLOW
            Stmt(BPF_ST, 0),                          // M[0] = A (dead, but fixes the carried mask)
            Stmt(BPF_LD | BPF_MEM, 0),                // A = M[0]
            Stmt(BPF_RET | BPF_A, 0),                 // return A
        ], null, 0 },
        { "the memory rule is checked before the seccomp subset", [
            Stmt(BPF_LD | BPF_H | BPF_ABS, 0),        // A = half at 0: seccomp refuses
            Stmt(BPF_LD | BPF_MEM, 5),                // A = M[5]: never written
            Stmt(BPF_RET | BPF_A, 0),                 // return A
        ], ValidationRule.MemoryReadBeforeWrite, 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validate_follows_the_kernel(string desc, Instruction[] program, ValidationRule? rule, int pc)
    {
        var error = Validator.Validate(program);
        if (rule is null)
        {
            Assert.True(error is null, $"{desc}: expected acceptance, got {error}");
            Assert.Equal(program, BpfProgram.Create(program).Instructions.ToArray());
        }
        else
        {
            Assert.True(error is not null, $"{desc}: expected {rule}, got acceptance");
            Assert.Equal((rule.Value, pc), (error.Rule, error.Pc));
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
            Assert.StartsWith(pc >= 0 ? $"pc {pc}: " : error.Message, error.ToString());
            Assert.EndsWith($"[{rule}]", error.ToString());
        }
    }

    public static TheoryData<string, uint, ValidationRule?> LoadOffsets()
    {
        var data = new TheoryData<string, uint, ValidationRule?>();
        for (uint k = 0; k <= 60; k += 4) data.Add($"offset {k} is a word of seccomp_data", k, null);
        data.Add("offset 64 is just past the end", 64, ValidationRule.BadDataOffset);
        data.Add("offset 2 is unaligned", 2, ValidationRule.BadDataOffset);
        data.Add("offset 0xfffff000 is an ancillary load", 0xfffff000, ValidationRule.BadDataOffset);
        data.Add("offset 0xfffff040 is an unknown ancillary load", 0xfffff040, ValidationRule.UnknownAncillaryLoad);
        data.Add("offset 0xffe00000 (SKF_LL_OFF) is below the ancillary area", 0xffe00000, ValidationRule.BadDataOffset);
        return data;
    }

    [Theory]
    [MemberData(nameof(LoadOffsets))]
    public void LD_W_ABS_accepts_exactly_the_aligned_offsets_below_64(string desc, uint k, ValidationRule? rule)
    {
        Instruction[] program = [
            Stmt(BPF_LD | BPF_W | BPF_ABS, k), // A = data[k]
            Stmt(BPF_RET | BPF_A, 0),          // return A
        ];
        var error = Validator.Validate(program);
        Assert.True(error?.Rule == rule, $"{desc}: got {error}");
        if (rule is not null) Assert.Equal(0, error!.Pc);
    }

    [Fact]
    public void Create_throws_with_the_rule_and_pc_and_TryCreate_reports_them()
    {
        Instruction[] program = [
            Stmt(BPF_LD | BPF_IMM, 1),            // A = 1
            Stmt(BPF_ALU | BPF_LSH | BPF_K, 40),  // A <<= 40
            Stmt(BPF_RET | BPF_A, 0),             // return A
        ];
        var ex = Assert.Throws<BpfValidationException>(() => BpfProgram.Create(program));
        Assert.Equal((ValidationRule.ShiftOutOfRange, 1), (ex.Error.Rule, ex.Error.Pc));
        Assert.Contains("pc 1", ex.Message);

        Assert.False(BpfProgram.TryCreate(program, out var p, out var err));
        Assert.Null(p);
        Assert.Equal(ex.Error, err);
    }

    // The kernel's lists, restated independently: chk_code_allowed (net/core/filter.c) and
    // seccomp_check_filter (kernel/seccomp.c).
    private static readonly ushort[] ClassicOnly =
    [
        BPF_ALU | BPF_MOD | BPF_K, BPF_ALU | BPF_MOD | BPF_X,
        BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS,
        BPF_LD | BPF_W | BPF_IND, BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND,
        BPF_LDX | BPF_B | BPF_MSH,
    ];

    private static readonly ushort[] Seccomp =
    [
        BPF_ALU | BPF_ADD | BPF_K, BPF_ALU | BPF_ADD | BPF_X, BPF_ALU | BPF_SUB | BPF_K, BPF_ALU | BPF_SUB | BPF_X,
        BPF_ALU | BPF_MUL | BPF_K, BPF_ALU | BPF_MUL | BPF_X, BPF_ALU | BPF_DIV | BPF_K, BPF_ALU | BPF_DIV | BPF_X,
        BPF_ALU | BPF_AND | BPF_K, BPF_ALU | BPF_AND | BPF_X, BPF_ALU | BPF_OR | BPF_K, BPF_ALU | BPF_OR | BPF_X,
        BPF_ALU | BPF_XOR | BPF_K, BPF_ALU | BPF_XOR | BPF_X, BPF_ALU | BPF_LSH | BPF_K, BPF_ALU | BPF_LSH | BPF_X,
        BPF_ALU | BPF_RSH | BPF_K, BPF_ALU | BPF_RSH | BPF_X, BPF_ALU | BPF_NEG,
        BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LD | BPF_IMM, BPF_LD | BPF_MEM,
        BPF_LDX | BPF_W | BPF_LEN, BPF_LDX | BPF_IMM, BPF_LDX | BPF_MEM,
        BPF_ST, BPF_STX, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA, BPF_RET | BPF_K, BPF_RET | BPF_A,
        BPF_JMP | BPF_JA,
        BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JEQ | BPF_X, BPF_JMP | BPF_JGE | BPF_K, BPF_JMP | BPF_JGE | BPF_X,
        BPF_JMP | BPF_JGT | BPF_K, BPF_JMP | BPF_JGT | BPF_X, BPF_JMP | BPF_JSET | BPF_K, BPF_JMP | BPF_JSET | BPF_X,
    ];

    [Fact]
    public void Every_16_bit_opcode_is_classified_exactly_as_the_kernel_lists_it()
    {
        var classic = new List<ushort>();
        var seccomp = new List<ushort>();
        for (int c = 0; c <= 0xffff; c++)
        {
            if (Validator.IsClassicOpcode((ushort)c)) classic.Add((ushort)c);
            if (Validator.IsSeccompOpcode((ushort)c)) seccomp.Add((ushort)c);
        }
        Assert.Equal(49, classic.Count);
        Assert.Equal(41, seccomp.Count);
        Assert.Equal(Seccomp.Order(), seccomp);
        Assert.Equal(Seccomp.Concat(ClassicOnly).Order(), classic);
    }

    [Fact]
    public void Every_opcode_outside_the_lists_is_refused_as_unknown_and_every_classic_only_one_as_not_seccomp()
    {
        var seccomp = Seccomp.ToHashSet();
        var classicOnly = ClassicOnly.ToHashSet();
        for (int c = 0; c <= 0xffff; c++)
        {
            var code = (ushort)c;
            if (seccomp.Contains(code)) continue;
            Instruction[] program = [
                Stmt(code, 1),           // the opcode under test, k = 1 (valid for DIV/MOD, shifts, memory)
                Stmt(RetK, Allow),       // return ALLOW
            ];
            var error = Validator.Validate(program);
            var expected = classicOnly.Contains(code) ? ValidationRule.NotAllowedInSeccomp : ValidationRule.UnknownOpcode;
            Assert.True(error?.Rule == expected && error.Pc == 0, $"opcode 0x{code:x4}: expected {expected}, got {error}");
        }
    }
}
