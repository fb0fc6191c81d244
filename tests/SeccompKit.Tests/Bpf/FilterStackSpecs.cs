using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using static SeccompKit.Bpf.Instruction;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

public class FilterStackSpecs
{
    /// <summary>(desc, each filter's return value newest first, combined value, winning filter index).</summary>
    public static TheoryData<string, uint[], uint, int> Precedence => new()
    {
        { "a lone ALLOW gives ALLOW and no winner", [SECCOMP_RET_ALLOW], SECCOMP_RET_ALLOW, -1 },
        { "an older ERRNO beats a newer ALLOW", [SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | 1], SECCOMP_RET_ERRNO | 1, 1 },
        { "ties go to the newest filter, with its data", [SECCOMP_RET_ERRNO | 1, SECCOMP_RET_ERRNO | 2], SECCOMP_RET_ERRNO | 1, 0 },
        { "ties among three go to the newest", [SECCOMP_RET_ALLOW, SECCOMP_RET_TRAP | 7, SECCOMP_RET_TRAP | 8], SECCOMP_RET_TRAP | 7, 1 },
        { "ERRNO's data does not break ties (EPERM newest vs 4095 older)", [SECCOMP_RET_ERRNO | 1, SECCOMP_RET_ERRNO | 0xffff], SECCOMP_RET_ERRNO | 1, 0 },
        { "KILL_PROCESS beats everything", [SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_KILL_PROCESS], SECCOMP_RET_KILL_PROCESS, 2 },
        { "KILL_PROCESS beats an unknown negative action", [0x80010000, SECCOMP_RET_KILL_PROCESS], SECCOMP_RET_KILL_PROCESS, 1 },
        { "KILL_PROCESS ties go to the newest", [SECCOMP_RET_KILL_PROCESS | 3, SECCOMP_RET_KILL_PROCESS | 9], SECCOMP_RET_KILL_PROCESS | 3, 0 },
        { "KILL_THREAD beats TRAP", [SECCOMP_RET_TRAP, SECCOMP_RET_KILL_THREAD], SECCOMP_RET_KILL_THREAD, 1 },
        { "TRAP beats ERRNO", [SECCOMP_RET_ERRNO | 1, SECCOMP_RET_TRAP], SECCOMP_RET_TRAP, 1 },
        { "ERRNO beats USER_NOTIF", [SECCOMP_RET_USER_NOTIF, SECCOMP_RET_ERRNO | 5], SECCOMP_RET_ERRNO | 5, 1 },
        { "USER_NOTIF beats TRACE", [SECCOMP_RET_TRACE | 1, SECCOMP_RET_USER_NOTIF], SECCOMP_RET_USER_NOTIF, 1 },
        { "TRACE beats LOG", [SECCOMP_RET_LOG, SECCOMP_RET_TRACE | 2], SECCOMP_RET_TRACE | 2, 1 },
        { "LOG beats ALLOW", [SECCOMP_RET_ALLOW, SECCOMP_RET_LOG], SECCOMP_RET_LOG, 1 },
        { "all ALLOW with data yields plain ALLOW", [SECCOMP_RET_ALLOW | 5, SECCOMP_RET_ALLOW | 7], SECCOMP_RET_ALLOW, -1 },
        { "an unknown 0x7ffe0000 beats ALLOW by its signed value", [SECCOMP_RET_ALLOW, 0x7ffe0000], 0x7ffe0000, 1 },
        { "LOG beats an unknown 0x7ffe0000", [0x7ffe0000, SECCOMP_RET_LOG], SECCOMP_RET_LOG, 1 },
        { "an unknown 0x00010000 beats TRAP", [SECCOMP_RET_TRAP, 0x00010000], 0x00010000, 1 },
        { "KILL_THREAD beats an unknown 0x00010000", [0x00010000, SECCOMP_RET_KILL_THREAD], SECCOMP_RET_KILL_THREAD, 1 },
        { "an unknown negative 0xffff0000 beats KILL_THREAD", [SECCOMP_RET_KILL_THREAD, 0xffff0000], 0xffff0000, 1 },
    };

    [Theory]
    [MemberData(nameof(Precedence))]
    public void The_lowest_signed_action_wins_and_the_newest_wins_ties(string desc, uint[] newestFirst, uint expected, int winner)
    {
        var stack = new FilterStack(newestFirst.Select(TestPrograms.Returning));
        var r = stack.Run(TestPrograms.Data);
        Assert.True(expected == r.Value, $"{desc}: expected 0x{expected:x8}, got 0x{r.Value:x8}");
        Assert.Equal(winner, r.WinningFilter);
        Assert.Equal(newestFirst, r.PerFilter.Select(p => p.Value).ToArray());
        Assert.Equal(newestFirst.Length, r.Executed);
        Assert.Equal(expected, stack.Evaluate(TestPrograms.Data));
    }

    [Fact]
    public void FromInstallOrder_puts_the_last_installed_filter_first()
    {
        var first = TestPrograms.Returning(SECCOMP_RET_ERRNO | 1);
        var second = TestPrograms.Returning(SECCOMP_RET_ERRNO | 2);
        var stack = FilterStack.FromInstallOrder([first, second]);
        Assert.Equal([second, first], stack.Filters.ToArray());
        var r = stack.Run(TestPrograms.Data);
        Assert.Equal(SECCOMP_RET_ERRNO | 2, r.Value); // the newest (second installed) wins the tie
        Assert.Equal(0, r.WinningFilter);
    }

    [Fact]
    public void Run_runs_every_filter_even_after_a_kill()
    {
        var kill = TestPrograms.Returning(SECCOMP_RET_KILL_PROCESS);
        var longer = BpfProgram.Create([
            Stmt(BPF_LD | BPF_W | BPF_ABS, 0),        // A = nr
            Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), // return ALLOW
        ]);
        var r = new FilterStack([kill, longer]).Run(TestPrograms.Data, trace: true);
        Assert.Equal(3, r.Executed);
        Assert.Equal([0, 1], r.PerFilter[1].Path.ToArray());
        Assert.Equal(SeccompAction.KillProcess, r.Result.Action);
    }

    /// <summary>
    /// (desc, filler lengths newest first, accepted?). The kernel charges converted (eBPF) lengths: a filler of n
    /// classic instructions converts to n + 4 (3 prologue, n - 1 loads, 2 for RET K), and each older filter costs 4 more.
    /// </summary>
    public static TheoryData<string, int[], bool> Sizes => new()
    {
        { "one filter of 4096", [4096], true },
        { "seven of 4096 charge 4100 + 6 * 4104 = 28724", [4096, 4096, 4096, 4096, 4096, 4096, 4096], true },
        { "seven of 4096 plus one of 4036 charge exactly 32768", [4036, 4096, 4096, 4096, 4096, 4096, 4096, 4096], true },
        { "seven of 4096 plus one of 4037 charge 32769", [4037, 4096, 4096, 4096, 4096, 4096, 4096, 4096], false },
        { "eight of 4096 charge 32832", [4096, 4096, 4096, 4096, 4096, 4096, 4096, 4096], false },
    };

    public static TheoryData<string, Instruction[], int> KernelLengths => new()
    {
        { "RET K: prologue 3 + mov r0 + exit", [Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)], 5 },
        { "RET A: exit only", [Stmt(BPF_RET | BPF_A, 0)], 4 },
        { "DIV X adds the X == 0 check", [Stmt(BPF_ALU | BPF_DIV | BPF_X, 0), Stmt(BPF_RET | BPF_A, 0)], 9 },
        { "JEQ with jf == 0 is one jump", [Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0), Stmt(BPF_RET | BPF_A, 0)], 5 },
        { "JEQ with jt == 0 is inverted to one JNE", [Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1), Stmt(BPF_RET | BPF_A, 0), Stmt(BPF_RET | BPF_A, 0)], 6 },
        { "JSET with jt == 0 needs a JA too", [Jump(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1), Stmt(BPF_RET | BPF_A, 0), Stmt(BPF_RET | BPF_A, 0)], 7 },
        { "both branches taken: jump + JA", [Jump(BPF_JMP | BPF_JGT | BPF_K, 1, 1, 2), Stmt(BPF_RET | BPF_A, 0), Stmt(BPF_RET | BPF_A, 0), Stmt(BPF_RET | BPF_A, 0)], 8 },
        { "a constant with bit 31 goes through a register", [Jump(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e, 0, 0), Stmt(BPF_RET | BPF_A, 0)], 6 },
        { "X comparisons need no register for the constant", [Jump(BPF_JMP | BPF_JEQ | BPF_X, 0xc000003e, 0, 0), Stmt(BPF_RET | BPF_A, 0)], 5 },
    };

    [Theory]
    [MemberData(nameof(KernelLengths))]
    public void The_kernel_length_is_the_converted_ebpf_length(string desc, Instruction[] program, int expected)
    {
        Assert.True(expected == BpfProgram.Create(program).KernelLength, desc);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void A_stack_is_limited_to_MAX_INSNS_PER_PATH(string desc, int[] lengths, bool accepted)
    {
        Assert.Equal(32768, FilterStack.MaxInstructionsPerPath);
        var filters = lengths.Select(n => BpfProgram.Create(TestPrograms.Filler(n))).ToArray();
        if (accepted)
            Assert.Equal(lengths.Length, new FilterStack(filters).Filters.Length);
        else
            Assert.True(Record.Exception(() => new FilterStack(filters)) is SeccompException, desc);
    }

    [Fact]
    public void An_empty_stack_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new FilterStack([]));
    }
}
