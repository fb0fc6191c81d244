using System.Diagnostics;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>
/// <see cref="Interpreter"/> and <see cref="FilterStack"/> against the real kernel: generated filters are
/// installed in a child of native/seccomp-probe, which then issues real system calls (64-bit
/// <c>syscall</c> and <c>int $0x80</c>) with chosen numbers and arguments. Every way out of the filters
/// is ERRNO or KILL, so no call ever runs; the errno (or the SIGSYS death) the child sees must be what
/// our model computes for the same <see cref="SeccompData"/> (built by <see cref="KernelModel.ToSeccompData"/>).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class InterpreterVsKernelSpecs(SeccompProbeFixture probe, ITestOutputHelper output)
{
    private static Instruction Stmt(ushort code, uint k) => Instruction.Stmt(code, k);
    private static Instruction Jump(ushort code, uint k, byte jt, byte jf) => Instruction.Jump(code, k, jt, jf);
    private static Instruction RetErrno(uint e) => Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ERRNO | e);
    private static readonly Instruction RetA = Stmt(BPF_RET | BPF_A, 0);

    /// <summary>A = ERRNO(A &amp; 0xfff); RET A.</summary>
    private static readonly Instruction[] ReturnAAsErrno =
        [Stmt(BPF_ALU | BPF_AND | BPF_K, 0xfff), Stmt(BPF_ALU | BPF_OR | BPF_K, SeccompReturn.SECCOMP_RET_ERRNO), RetA];

    [Fact]
    public void Single_filters_return_what_the_interpreter_computes()
    {
        var gen = NewGenerator();
        using var p = probe.Start();
        var requests = new List<(string, ProbeRequest)>();
        for (int i = 0; i < 440; i++)
        {
            var pool = gen.RandomPool(IpHalves(p.Addresses));
            var program = gen.ErrnoProgram(100, pool, allowKill: true);
            requests.Add(("single", new ProbeRequest([program], RandomCalls(gen.Random, pool, 12))));
        }
        var stats = RunAndCompare(p, requests);
        KernelModel.ReportCounts(output, $"interpreter-vs-kernel: {stats}");
        stats.AssertClean(minCases: 5_000);
        Assert.True(stats.Int80 >= 1_000 && stats.Syscall64 >= 1_000 && stats.Killed >= 200 && stats.Returned >= 2_000, stats.ToString());
    }

    [Fact]
    public void Stacked_filters_combine_by_the_kernel_precedence()
    {
        var gen = NewGenerator(salt: 1);
        using var p = probe.Start();
        var requests = new List<(string, ProbeRequest)>();
        for (int i = 0; i < 180; i++)
        {
            int n = gen.Random.Next(2, 4);
            var pool = gen.RandomPool(IpHalves(p.Addresses));
            var filters = new Instruction[n][];
            for (int f = 0; f < n; f++)
            {
                // Distinct errno ranges per filter show which filter won a tie.
                var body = gen.ErrnoProgram(100 + f * ProgramGenerator.MaxErrnosPerProgram, pool, allowKill: gen.Random.Next(3) == 0, allowUnknownActions: true);
                filters[f] = f == n - 1 ? body : ProgramGenerator.WithInstallEscape(body, p.Addresses.Install);
            }
            requests.Add(($"stack-{n}", new ProbeRequest(filters, RandomCalls(gen.Random, pool, 8))));
        }
        var stats = RunAndCompare(p, requests);
        KernelModel.ReportCounts(output, $"interpreter-vs-kernel stacks of 2-3 filters: {stats}");
        stats.AssertClean(minCases: 1_000);
        Assert.True(stats.TiesWonByNewest >= 50 && stats.WonByOlder >= 50, $"too few precedence decisions: {stats}");
    }

    [Fact]
    public void Edge_cases_agree_with_the_kernel()
    {
        using var p = probe.Start();
        var at = p.Addresses;
        var rng = new Random(ProgramGenerator.SeedFromEnvironment() ^ 0x2);
        ulong[] someArgs = [0x1111111122222222, 0xffffffff80000000, 0, 0xffffffffffffffff, 0x00000000fffffff0, 0x7fffffff00000001];
        var requests = new List<(string, ProbeRequest)>();
        void Add(string family, Instruction[] program, IEnumerable<ProbeCall> calls) =>
            requests.Add((family, new ProbeRequest([program], calls.ToArray())));
        IEnumerable<ProbeCall> BothAbis(int nr, ulong[]? args = null) =>
            [new(ProbeAbi.Syscall64, unchecked((ulong)(long)nr), args ?? someArgs), new(ProbeAbi.Int80, unchecked((ulong)(long)nr), args ?? someArgs)];

        // instruction_pointer: the address right after syscall / int $0x80, both halves.
        foreach (uint off in new uint[] { 8, 12 })
        {
            uint half64 = off == 8 ? (uint)at.Syscall64 : (uint)(at.Syscall64 >> 32);
            uint half80 = off == 8 ? (uint)at.Int80 : (uint)(at.Int80 >> 32);
            Add("instruction-pointer", [
                Stmt(BPF_LD | BPF_W | BPF_ABS, off),
                Jump(BPF_JMP | BPF_JEQ | BPF_K, half64, 0, 1), RetErrno(1),
                Jump(BPF_JMP | BPF_JEQ | BPF_K, half80, 0, 1), RetErrno(2),
                RetErrno(3),
            ], BothAbis(39));
            Add("instruction-pointer", [Stmt(BPF_LD | BPF_W | BPF_ABS, off), .. ReturnAAsErrno], BothAbis(39));
        }
        // arch per ABI, also for x32-style and out-of-range numbers.
        Instruction[] archProgram = [
            Stmt(BPF_LD | BPF_W | BPF_ABS, 4),
            Jump(BPF_JMP | BPF_JEQ | BPF_K, KernelModel.AuditArchX86_64, 0, 1), RetErrno(64),
            Jump(BPF_JMP | BPF_JEQ | BPF_K, KernelModel.AuditArchI386, 0, 1), RetErrno(32),
            RetErrno(99),
        ];
        // Numbers near interesting values: 0, the x32 bit, the top of the 30-bit range, negative ones (not -1).
        int[] numbers = [0, 1, 39, 59, 231, 317, 0x3fffffff, 0x40000000, 0x40000000 | 1, 0x40000000 | 59, 0x40000000 | 512, 0x40000000 | 0x3fffffff,
            0x7fffffff, int.MinValue, int.MinValue + 1, -2, -4095, -4096, -65536, 0x0fffffff, 0x10000000, 1000, 4095, 4096];
        foreach (int nr in numbers)
        {
            Add("arch", archProgram, BothAbis(nr));
            Add("nr-exact", [Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Jump(BPF_JMP | BPF_JEQ | BPF_K, unchecked((uint)nr), 0, 1), RetErrno(7), RetErrno(8)], BothAbis(nr));
            Add("nr-bits", [Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Stmt(BPF_ALU | BPF_RSH | BPF_K, 20), .. ReturnAAsErrno], BothAbis(nr));
            // Upper half of rax: the kernel uses only eax.
            ulong garbage = ((ulong)(uint)rng.Next() << 32) | (uint)nr;
            Add("nr-rax-upper-half", [Stmt(BPF_LD | BPF_W | BPF_ABS, 0), Stmt(BPF_ALU | BPF_RSH | BPF_K, 20), .. ReturnAAsErrno],
                [new(ProbeAbi.Syscall64, garbage, someArgs), new(ProbeAbi.Int80, garbage, someArgs)]);
        }
        // ERRNO data: 0 returns 0, data above 4095 is capped.
        foreach (uint data in new uint[] { 0, 1, 4094, 4095, 4096, 4097, 0x7fff, 0x8000, 0xffff })
            Add("errno-cap", [RetErrno(data)], BothAbis(1));
        // LEN loads are the constant 64.
        Add("len", [Stmt(BPF_LD | BPF_W | BPF_LEN, 0), .. ReturnAAsErrno], BothAbis(2));
        Add("len", [Stmt(BPF_LDX | BPF_W | BPF_LEN, 0), Stmt(BPF_MISC | BPF_TXA, 0), Stmt(BPF_ALU | BPF_ADD | BPF_K, 1), .. ReturnAAsErrno], BothAbis(2));
        // Shifts by X use X's low 5 bits; MUL and NEG wrap; DIV X by 0 returns 0 (KILL_THREAD).
        foreach (uint x in new uint[] { 0, 1, 31, 32, 33, 63, 64, 0x80000001, 0xffffffff })
        {
            Add("shift-x", [Stmt(BPF_LDX | BPF_IMM, x), Stmt(BPF_LD | BPF_IMM, 0x00000ff1), Stmt(BPF_ALU | BPF_LSH | BPF_X, 0), Stmt(BPF_ALU | BPF_RSH | BPF_K, 4), .. ReturnAAsErrno], BothAbis(3));
            Add("shift-x", [Stmt(BPF_LDX | BPF_IMM, x), Stmt(BPF_LD | BPF_IMM, 0xfff00000), Stmt(BPF_ALU | BPF_RSH | BPF_X, 0), .. ReturnAAsErrno], BothAbis(3));
            Add("div-x", [Stmt(BPF_LDX | BPF_IMM, x), Stmt(BPF_LD | BPF_IMM, 0xfffffff0), Stmt(BPF_ALU | BPF_DIV | BPF_X, 0), .. ReturnAAsErrno], BothAbis(3));
            Add("div-x-from-arg", [Stmt(BPF_LD | BPF_W | BPF_ABS, 16), Stmt(BPF_MISC | BPF_TAX, 0), Stmt(BPF_LD | BPF_IMM, 0xfffffff0), Stmt(BPF_ALU | BPF_DIV | BPF_X, 0), .. ReturnAAsErrno],
                BothAbis(3, [x, 0, 0, 0, 0, 0]));
        }
        Add("mul-overflow", [Stmt(BPF_LD | BPF_IMM, 0x10001), Stmt(BPF_ALU | BPF_MUL | BPF_K, 0x10001), Stmt(BPF_ALU | BPF_RSH | BPF_K, 4), .. ReturnAAsErrno], BothAbis(4));
        Add("mul-overflow", [Stmt(BPF_LD | BPF_W | BPF_ABS, 16), Stmt(BPF_MISC | BPF_TAX, 0), Stmt(BPF_ALU | BPF_MUL | BPF_X, 0), .. ReturnAAsErrno], BothAbis(4));
        Add("neg", [Stmt(BPF_LD | BPF_IMM, 5), Stmt(BPF_ALU | BPF_NEG, 0), .. ReturnAAsErrno], BothAbis(5));
        Add("neg", [Stmt(BPF_ALU | BPF_NEG, 0), .. ReturnAAsErrno], BothAbis(5)); // A starts at 0
        Add("initial-registers", [Stmt(BPF_MISC | BPF_TXA, 0), Stmt(BPF_ALU | BPF_ADD | BPF_K, 9), .. ReturnAAsErrno], BothAbis(5)); // X starts at 0
        // Every argument half, for both ABIs.
        for (uint off = 16; off < 64; off += 4)
        {
            Add("arg-halves", [Stmt(BPF_LD | BPF_W | BPF_ABS, off), .. ReturnAAsErrno], BothAbis(6));
            Add("arg-halves", [Stmt(BPF_LD | BPF_W | BPF_ABS, off), Stmt(BPF_ALU | BPF_RSH | BPF_K, 20), .. ReturnAAsErrno], BothAbis(6));
        }
        // Stacks by hand: KILL beats ERRNO whatever the order; ERRNO ties go to the newest filter;
        // an unknown action ranks by its own signed value and then kills.
        Instruction[][] stackBodies =
        [
            [RetErrno(11)], [RetErrno(12)], [Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_KILL_THREAD)],
            [Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_KILL_PROCESS)], [Stmt(BPF_RET | BPF_K, 0x00040007)], [Stmt(BPF_RET | BPF_K, 0x12340000)],
        ];
        foreach (var older in stackBodies)
            foreach (var newer in stackBodies)
                requests.Add(("stack-by-hand", new ProbeRequest([ProgramGenerator.WithInstallEscape(older, at.Install), newer], BothAbis(7).ToArray())));

        var stats = RunAndCompare(p, requests);
        KernelModel.ReportCounts(output, $"interpreter-vs-kernel edge cases: {stats}");
        stats.AssertClean(minCases: 200);
    }

    [Fact]
    public void Int80_arguments_are_the_full_64_bit_registers()
    {
        // The experiment behind KernelModel.ToSeccompData: load each argument half separately through
        // int $0x80 with distinct values in the upper halves of rbx, rcx, rdx, rsi, rdi, rbp, and read
        // them back through the errno. The kernel shows the filter the full registers (no zero- or
        // sign-extension to 32 bits), exactly as for the 64-bit syscall instruction.
        using var p = probe.Start();
        ulong[] args = [0x0000012300000456, 0x0000078900000abc, 0x00000def00000111, 0x0000022200000333, 0x0000044400000555, 0x0000066600000777];
        var requests = new List<ProbeRequest>();
        for (uint off = 16; off < 64; off += 4)
            requests.Add(new ProbeRequest([[Stmt(BPF_LD | BPF_W | BPF_ABS, off), .. ReturnAAsErrno]],
                [new(ProbeAbi.Int80, 20, args), new(ProbeAbi.Int80, 20, [0x80000000, 0xffffffff, 0x7fffffff, 1, 0, 0xfffffffe])]));
        var responses = p.Run(requests);
        int checks = 0;
        for (int i = 0; i < 12; i++)
        {
            int arg = i / 2;
            bool high = i % 2 == 1;
            uint word = high ? (uint)(args[arg] >> 32) : (uint)args[arg];
            Assert.Equal(new ProbeOutcome(ProbeOutcomeKind.Returned, 0, -(word & 0xfff)), responses[i].Outcomes[0]);
            // Upper halves 0 stay 0: a low half with the sign bit set is not sign-extended.
            uint expectedSecond = high ? 0 : (uint)new ulong[] { 0x80000000, 0xffffffff, 0x7fffffff, 1, 0, 0xfffffffe }[arg];
            Assert.Equal(new ProbeOutcome(ProbeOutcomeKind.Returned, 0, -(expectedSecond & 0xfff)), responses[i].Outcomes[1]);
            checks += 2;
        }
        KernelModel.ReportCounts(output, $"int80-argument-halves: {checks} cases, 0 mismatches");
    }

    [Fact]
    public void Uretprobe_and_uprobe_bypass_every_filter_on_the_native_abi()
    {
        // seccomp_uprobe_exception: the kernel never filters x86_64 uretprobe (335) and uprobe (336), so
        // they run for real even under "kill everything". Called outside a uprobe trampoline, uretprobe
        // answers with SIGILL and uprobe with -ENXIO, whatever the arguments: both are safe to probe.
        // Through int $0x80 (i386 numbering) and with the x32 bit the same numbers are filtered.
        const int SIGILL = 4, ENXIO = 6;
        using var p = probe.Start();
        ulong[] args = [1, 2, 3, 4, 5, 6];
        Instruction[] errnoFromNr = [Stmt(BPF_LD | BPF_W | BPF_ABS, 0), .. ReturnAAsErrno];
        Instruction[] killAll = [Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_KILL_PROCESS)];
        ProbeCall[] calls =
        [
            new(ProbeAbi.Syscall64, 335, args), new(ProbeAbi.Syscall64, 336, args),
            new(ProbeAbi.Int80, 335, args), new(ProbeAbi.Int80, 336, args),
            new(ProbeAbi.Syscall64, 0x40000000 | 335, args), new(ProbeAbi.Syscall64, 334, args), new(ProbeAbi.Syscall64, 337, args),
        ];
        var requests = new List<(Instruction[][] Filters, ProbeCall Call)>();
        foreach (var call in calls)
        {
            requests.Add(([errnoFromNr], call));
            requests.Add(([ProgramGenerator.WithInstallEscape(errnoFromNr, p.Addresses.Install), killAll], call));
        }
        var responses = p.Run(requests.Select(r => new ProbeRequest(r.Filters, [r.Call])).ToArray());

        int cases = 0, exempt = 0;
        for (int i = 0; i < requests.Count; i++)
        {
            var (filters, call) = requests[i];
            Assert.All(responses[i].Install, e => Assert.Equal(0, e));
            var stack = FilterStack.FromInstallOrder(filters.Select(f => BpfProgram.Create(f)));
            var data = KernelModel.ToSeccompData(call, p.Addresses);
            var ours = stack.Run(data);
            Assert.Equal(ours.Value, stack.Evaluate(data)); // the fast path agrees with the traced one
            var kernel = responses[i].Outcomes[0];
            cases++;
            if (ours.ExemptFromFiltering)
            {
                exempt++;
                Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, ours.Value);
                var ran = data.Nr == FilterStack.X86_64Uretprobe
                    ? new ProbeOutcome(ProbeOutcomeKind.Killed, SIGILL, 0)
                    : new ProbeOutcome(ProbeOutcomeKind.Returned, 0, -ENXIO);
                Assert.True(ran == kernel, $"{call}: the kernel should have run the call itself ({ran}), got {kernel}");
            }
            else
            {
                var expected = KernelModel.Expected(ours.Value);
                Assert.True(expected == kernel, $"{call}: ours {expected}, kernel {kernel}");
            }
        }
        Assert.Equal(4, exempt);
        KernelModel.ReportCounts(output, $"interpreter-vs-kernel uprobe exemption: {cases} cases ({exempt} exempt from filtering), 0 mismatches");
    }

    // ---------------------------------------------------------------------------------------------

    private ProgramGenerator NewGenerator(int salt = 0)
    {
        int seed = ProgramGenerator.SeedFromEnvironment();
        output.WriteLine($"seed 0x{seed:x} (set SECCOMPKIT_KERNEL_SEED=0x{seed:x} to reproduce)");
        return new ProgramGenerator(seed ^ (salt * 0x3779b9));
    }

    private static uint[] IpHalves(ProbeAddresses at) =>
        [(uint)at.Syscall64, (uint)(at.Syscall64 >> 32), (uint)at.Int80, (uint)(at.Int80 >> 32)];

    /// <summary>Random calls whose number and argument halves come mostly from the program's value pool.</summary>
    private static ProbeCall[] RandomCalls(Random rng, uint[] pool, int count)
    {
        int[] numbers = [0, 1, 2, 39, 59, 231, 317, 0x3fffffff, 0x40000000, 0x40000000 | 1, 0x40000000 | 231, 0x7fffffff, int.MinValue, -2, -4096];
        var calls = new ProbeCall[count];
        for (int i = 0; i < count; i++)
        {
            int nr = rng.Next(3) switch
            {
                0 => unchecked((int)pool[rng.Next(pool.Length)]),
                1 => numbers[rng.Next(numbers.Length)],
                _ => rng.Next(0, 460),
            };
            if (nr == -1) nr = -2; // -1 is the kernel's "no system call" marker; not probed.
            var abi = rng.Next(2) == 0 ? ProbeAbi.Syscall64 : ProbeAbi.Int80;
            // x86_64 uretprobe/uprobe skip the filters and really run (see the dedicated test below).
            if (abi == ProbeAbi.Syscall64 && nr is FilterStack.X86_64Uretprobe or FilterStack.X86_64Uprobe) nr += 2;
            ulong rax = unchecked((ulong)(long)nr);
            if (rng.Next(8) == 0) rax = ((ulong)(uint)rng.Next() << 32) | (uint)nr; // garbage the kernel ignores
            var args = new ulong[6];
            for (int a = 0; a < 6; a++)
                args[a] = ((ulong)Half() << 32) | Half();
            calls[i] = new ProbeCall(abi, rax, args);
        }
        return calls;

        uint Half() => rng.Next(10) switch
        {
            < 5 => pool[rng.Next(pool.Length)],
            5 or 6 => 0,
            7 => 0xffffffff,
            _ => (uint)rng.NextInt64(0, 1L << 32),
        };
    }

    private sealed record Stats(int Cases, int Syscall64, int Int80, int Returned, int Killed, int DivisionByZero,
        int TiesWonByNewest, int WonByOlder, int InstallFailures, int Mismatches, TimeSpan Elapsed, int Requests)
    {
        public void AssertClean(int minCases)
        {
            Assert.Equal(0, InstallFailures);
            Assert.Equal(0, Mismatches);
            Assert.True(Cases >= minCases, $"only {Cases} cases, expected at least {minCases}");
        }

        public override string ToString() =>
            $"{Cases} cases in {Requests} filter stacks ({Syscall64} syscall, {Int80} int80; {Returned} errno, {Killed} killed by SIGSYS, " +
            $"{DivisionByZero} by DIV X 0; {TiesWonByNewest} ERRNO ties won by the newest filter, {WonByOlder} results from an older filter), " +
            $"{Mismatches} mismatches, {InstallFailures} install failures, kernel time {Elapsed.TotalSeconds:F1} s";
    }

    private Stats RunAndCompare(SeccompProbe p, List<(string Family, ProbeRequest Request)> requests)
    {
        var sw = Stopwatch.StartNew();
        var responses = p.Run(requests.Select(r => r.Request).ToArray());
        var elapsed = sw.Elapsed;
        int cases = 0, s64 = 0, i80 = 0, returned = 0, killed = 0, div0 = 0, ties = 0, older = 0, installFailures = 0, mismatches = 0;
        for (int r = 0; r < requests.Count; r++)
        {
            var (family, request) = requests[r];
            var response = responses[r];
            for (int f = 0; f < response.Install.Length; f++)
            {
                if (response.Install[f] == 0) continue;
                installFailures++;
                output.WriteLine($"INSTALL FAILED ({family}): filter {f} (oldest first) got errno {response.Install[f]}\n{KernelModel.FormatProgram(request.ProgramsOldestFirst[f])}");
            }
            var stack = FilterStack.FromInstallOrder(request.ProgramsOldestFirst.Select(x => BpfProgram.Create(x)));
            var compiled = stack.Filters.Select(CompiledFilter.Compile).ToArray();
            for (int c = 0; c < request.Calls.Count; c++)
            {
                var call = request.Calls[c];
                var data = KernelModel.ToSeccompData(call, p.Addresses);
                var ours = stack.Run(data);
                Assert.Equal(ours.Value, stack.Evaluate(data)); // the fast path agrees with the traced one
                for (int f = 0; f < compiled.Length; f++)       // and so does the compiled engine, filter by filter
                    Assert.Equal(ours.PerFilter[f].Value, compiled[f].Evaluate(data));
                var expected = KernelModel.Expected(ours.Value);
                var kernel = response.Outcomes[c];
                cases++;
                if (call.Abi == ProbeAbi.Syscall64) s64++; else i80++;
                if (kernel.Kind == ProbeOutcomeKind.Killed) killed++;
                if (kernel.Kind == ProbeOutcomeKind.Returned) returned++;
                if (ours.WinningFilter >= 0 && ours.PerFilter[ours.WinningFilter].DivisionByZero) div0++;
                if (stack.Filters.Length > 1 && ours.Result.Action == SeccompAction.Errno && ours.WinningFilter == 0 &&
                    ours.PerFilter.Count(x => new SeccompResult(x.Value).Action == SeccompAction.Errno) > 1)
                    ties++;
                if (ours.WinningFilter > 0) older++;
                if (kernel == expected) continue;
                if (++mismatches <= 5)
                {
                    var text = new System.Text.StringBuilder();
                    text.Append($"MISMATCH #{mismatches} ({family}): {call}\n  seccomp_data: {data}\n  kernel: {kernel}\n  ours:   {expected} (filters returned {ours.Result}, 0x{ours.Value:x8}, winner {ours.WinningFilter})\n");
                    for (int f = request.ProgramsOldestFirst.Count - 1; f >= 0; f--)
                        text.Append($"  filter installed {f + 1} of {request.ProgramsOldestFirst.Count}{(f == request.ProgramsOldestFirst.Count - 1 ? " (newest)" : "")}:\n")
                            .Append(KernelModel.FormatProgram(request.ProgramsOldestFirst[f]));
                    output.WriteLine(text.ToString());
                }
            }
        }
        return new Stats(cases, s64, i80, returned, killed, div0, ties, older, installFailures, mismatches, elapsed, requests.Count);
    }
}
