using System.Text;
using SeccompKit.Analysis;
using SeccompKit.Analysis.Diff;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Analysis;

/// <summary>
/// Inputs the fuzz campaign (tools/Fuzz, issue 17) found a reader stuck on, kept as regressions. Each runs under a
/// generous timeout: before the fix each took minutes to hours (the test then fails instead of hanging the suite);
/// the timeout is a hang guard, not a performance claim.
/// </summary>
public class FuzzFindingSpecs
{
    [Fact(Timeout = 60_000)]
    public async Task A_word_both_masked_nonzero_and_masked_zero_is_empty_without_searching_every_high_bit()
    {
        // (w & 3) != 0, then (w & 3) == 0: the bit search used to try all 2^30 settings of bits 31..2 first.
        var set = WordSet.Full.And(WordPredicate.MaskEquals(3, 0).Not()).And(WordPredicate.MaskEquals(3, 0));
        Assert.True(await Task.Run(() => set.IsEmpty, TestContext.Current.CancellationToken));
        var nonEmpty = WordSet.Full.And(WordPredicate.MaskEquals(3, 0).Not()).And(WordPredicate.MaskEquals(1, 0));
        Assert.True(nonEmpty.TryGetWitness(out var w));
        Assert.Equal(2u, w); // the smallest value with bit 0 clear and (w & 3) != 0
    }

    [Fact(Timeout = 60_000)]
    public async Task Explain_decides_a_second_JSET_on_the_same_bits_of_an_argument()
    {
        // The shape the fuzzer found in a mutated Docker profile: openat's flags tested with JSET twice.
        var program = BpfProgram.Create(Assembler.Assemble("""
            A = arch
            if (A != AUDIT_ARCH_X86_64) goto deny
            A = sys_number
            if (A != openat) goto deny
            A = args[2]
            if (A & 3) goto set
            if (A & 3) goto deny else goto allow
            set:
            if (A & 3) goto allow else goto deny
            allow:
            return ALLOW
            deny:
            return ERRNO(EPERM)
            """, new SyscallSymbols()));
        var explanation = await Task.Run(() => FilterExplainer.Explain(program), TestContext.Current.CancellationToken);
        Assert.Contains("ALLOW", ExplanationText.Text(explanation), StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_region_needing_more_alternatives_than_a_long_counts_is_refused_not_expanded()
    {
        // The shape of the third campaign's hang (a mutated Docker filter): 16 masked exclusions of one argument, each
        // "some bit of 0xffff differs" = 16 alternatives; 16^16 = 2^64 wrapped the count to 0, which passed the bound,
        // and explain then built every combination.
        var sb = new StringBuilder("A = arch\nif (A != AUDIT_ARCH_X86_64) goto deny\nA = sys_number\nif (A != openat) goto deny\nA = args[2]\nA &= 0xffff\n");
        for (int k = 1; k <= 16; k++) sb.Append($"if (A == {k}) goto deny\n");
        sb.Append("return ALLOW\ndeny:\nreturn ERRNO(EPERM)\n");
        var program = BpfProgram.Create(Assembler.Assemble(sb.ToString(), new SyscallSymbols()));
        var explanation = await Task.Run(() => FilterExplainer.Explain(program), TestContext.Current.CancellationToken);
        var openat = explanation.Abis.Single(a => a.Abi == Architecture.X86_64).Syscalls.Single(s => s.Name == "openat");
        var allow = openat.Regions.Single(r => r.Value == SeccompReturn.SECCOMP_RET_ALLOW);
        var alternatives = PolicyRecovery.Conditions(allow, Architecture.X86_64, out var why);
        Assert.Null(alternatives);
        Assert.Contains($"more than {PolicyRecovery.MaxAlternatives}", why, StringComparison.Ordinal);
        string text = await Task.Run(() => ExplanationText.Text(explanation), TestContext.Current.CancellationToken);
        Assert.Contains("openat", text, StringComparison.Ordinal);
    }

    // k tests of argument bits whose branches rejoin: 2^k paths, none of them pinned to a syscall number.
    private static BpfProgram Rejoining(int k)
    {
        var sb = new StringBuilder("A = arch\nif (A != AUDIT_ARCH_X86_64) goto deny\n");
        for (int i = 0; i < k; i++)
            sb.Append($"A = args[{i % 6}]\nif (A & {1 << (i / 6)}) goto t{i} else goto l{i}\nt{i}:\nX = A\nl{i}:\n");
        sb.Append("A = sys_number\nif (A == 1) goto deny\nreturn ALLOW\ndeny:\nreturn ERRNO(1)\n");
        return BpfProgram.Create(Assembler.Assemble(sb.ToString(), new SyscallSymbols()));
    }

    [Fact(Timeout = 60_000)]
    public async Task Explain_refuses_a_filter_over_its_work_bound_saying_what_the_bound_is()
    {
        // Found by tools/Fuzz: programs whose conditions rejoin took up to 9 s and 2.3 GiB (12 such tests: 8,193 paths,
        // 5 s and 2.4 GiB before the bound; 16: 160 s and 42 GiB).
        var program = Rejoining(12);
        var e = await Assert.ThrowsAsync<AnalysisLimitException>(() => Task.Run(() => FilterExplainer.Explain(program), TestContext.Current.CancellationToken));
        Assert.Contains(AnalysisBudget.MaxWork.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
        Assert.Contains("No option raises", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_still_explains_a_filter_well_under_the_bound()
    {
        var budget = new AnalysisBudget();
        var explanation = FilterExplainer.Explain(new FilterStack([Rejoining(4)]), budget);
        Assert.Equal(33, explanation.PathCount); // 2^4 rejoined paths, each ending in deny or allow on nr, and the arch check's deny
        Assert.InRange(budget.Used, 1, AnalysisBudget.MaxWork / 4);
    }

    [Fact]
    public void Diff_walks_the_other_numbers_of_both_sides_together_and_finds_the_same_differences()
    {
        // Other numbers (outside the table) cut into many ranges on both sides: every pair used to be tried.
        static BpfProgram Ranges(uint step, uint count) => BpfProgram.Create(Assembler.Assemble(
            "A = arch\nif (A != AUDIT_ARCH_X86_64) goto deny\nA = sys_number\n" +
            string.Concat(Enumerable.Range(1, (int)count).Select(i => $"if (A == {1000 + i * step}) goto deny\n")) +
            "return ALLOW\ndeny:\nreturn ERRNO(1)\n", new SyscallSymbols()));
        var a = FilterExplainer.Explain(Ranges(2, 40));
        var b = FilterExplainer.Explain(Ranges(3, 40));
        var d = FilterDiff.Compare(a, b);
        // Numbers 1000 + 2i (i <= 40) denied by a only, unless also 1000 + 3j; and the reverse.
        var onlyA = Enumerable.Range(1, 40).Select(i => 1000 + 2 * i).Except(Enumerable.Range(1, 40).Select(j => 1000 + 3 * j)).Count();
        var onlyB = Enumerable.Range(1, 40).Select(j => 1000 + 3 * j).Except(Enumerable.Range(1, 40).Select(i => 1000 + 2 * i)).Count();
        var x64 = d.Entries.Where(e => e.Abi == Architecture.X86_64 && e.Syscall is null).ToList();
        Assert.Equal(onlyA + onlyB, x64.Sum(e => (int)(e.Last - e.First + 1)));
    }

    [Fact]
    public void A_policy_on_standard_input_is_named_stdin_in_errors_not_a_file_in_the_current_directory()
    {
        // Found by tools/Fuzz's check that errors name the input: "/current/dir/<stdin>:1:1: ..." named no such file.
        var e = Assert.ThrowsAny<PolicyException>(() => PolicyFile.Parse("allow { no_such_call }\n", null));
        Assert.StartsWith(PolicyFile.StandardInputName + ":1:", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetCurrentDirectory() + "/", e.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_value_reused_until_it_doubles_past_the_bound_is_refused_not_evaluated_for_ever()
    {
        // X = A; A += X forty times: a value of 2^40 operations written out. Explain evaluated and printed it as a tree
        // (an 87-instruction filter ran past a minute and never ended; found while bounding the fuzz findings).
        var sb = new StringBuilder("A = arch\nif (A != AUDIT_ARCH_X86_64) goto deny\nA = args[0]\n");
        for (int i = 0; i < 40; i++) sb.Append("X = A\nA += X\n");
        sb.Append("if (A == 5) goto deny\nreturn ALLOW\ndeny:\nreturn KILL_PROCESS\n");
        var program = BpfProgram.Create(Assembler.Assemble(sb.ToString(), new SyscallSymbols()));
        var e = await Assert.ThrowsAsync<AnalysisLimitException>(() => Task.Run(() => FilterExplainer.Explain(program), TestContext.Current.CancellationToken));
        Assert.Contains($"{PathExplorer.MaxExpressionSize:N0} operations", e.Message, StringComparison.Ordinal);
        Assert.Contains("instruction 26", e.Message, StringComparison.Ordinal); // the ALU step whose value crossed 4,096
    }

    [Fact]
    public void A_value_reused_a_few_times_is_still_explained_and_its_comparison_kept_exactly()
    {
        // Ten doublings (1,024 times args[0]) stay under the bound: the comparison is opaque and still decided exactly.
        var sb = new StringBuilder("A = arch\nif (A != AUDIT_ARCH_X86_64) goto deny\nA = args[0]\n");
        for (int i = 0; i < 10; i++) sb.Append("X = A\nA += X\n");
        sb.Append("if (A == 2048) goto deny\nreturn ALLOW\ndeny:\nreturn KILL_PROCESS\n");
        var program = BpfProgram.Create(Assembler.Assemble(sb.ToString(), new SyscallSymbols()));
        var explanation = FilterExplainer.Explain(program);
        var read = explanation.Abis.Single(a => a.Abi == Architecture.X86_64).Syscalls.Single(s => s.Name == "read");
        uint Decide(ulong arg0)
        {
            var d = new SeccompData(0, Architecture.X86_64.AuditArch, 0, [arg0, 0, 0, 0, 0, 0]);
            var words = new uint[16];
            for (int i = 0; i < 16; i++) words[i] = d.LoadWord((uint)(4 * i));
            return read.Regions.Single(r => r.Contains(words)).Value!.Value;
        }
        Assert.Equal(SeccompReturn.SECCOMP_RET_KILL_PROCESS, Decide(2)); // 2 * 1024 == 2048
        Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Decide(3));
        Assert.Single(explanation.Inexpressible);
    }

    [Fact]
    public void Comparisons_of_large_computed_values_are_paid_for_by_their_size()
    {
        // The campaign's slowest input (a mutated Docker filter, 966 instructions, 610 paths with opaque comparisons) took
        // about 2 µs and 1.7 KB per unit, 2 s and 1.9 GB before its refusal: evaluating and printing the comparisons, on
        // every path for every number, cost nothing. Here 2^6 paths each carry six comparisons of about 2,000 operations.
        var sb = new StringBuilder("A = arch\nif (A != AUDIT_ARCH_X86_64) goto deny\nA = args[0]\n");
        for (int i = 0; i < 10; i++) sb.Append("X = A\nA += X\n");
        sb.Append("X = A\n");
        for (int i = 0; i < 6; i++) sb.Append($"A = args[1]\nA += X\nif (A & {1 << i}) goto t{i} else goto l{i}\nt{i}:\nA = 0\nl{i}:\n");
        sb.Append("A = sys_number\nif (A == 1) goto deny\nreturn ALLOW\ndeny:\nreturn ERRNO(1)\n");
        var program = BpfProgram.Create(Assembler.Assemble(sb.ToString(), new SyscallSymbols()));
        var paths = PathExplorer.Explore(program, 0, new AnalysisBudget(long.MaxValue));
        long perAbi = paths.Sum(p => AnalysisBudget.UnitsFor(OpaqueCondition.SizeOf(p.Opaque)));
        Assert.True(perAbi > 64 * 6 * 2000 / AnalysisBudget.OperationsPerUnit / 2, $"{perAbi} units of comparisons");
        // Explaining narrows every path for each of the ABIs, then combines: at least that many times the comparisons.
        var budget = new AnalysisBudget(long.MaxValue);
        _ = FilterExplainer.Explain(new FilterStack([program]), budget);
        Assert.True(budget.Used >= Architecture.All.Length * perAbi, $"explain spent {budget.Used:N0} units; the comparisons alone are {Architecture.All.Length * perAbi:N0}");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_listing_with_many_unclosed_block_comments_is_read_in_one_pass()
    {
        // The campaign's bpf-text hang: a megabyte with 1,114 '/*' and no '*/' took 5 s (the lazy regex rescanned the
        // rest of the text from each: quadratic). Here 8 MB with 8,000 of them: minutes before, milliseconds now. An
        // unclosed '/*' stays text, as before; closed comments still keep line numbers.
        var junk = new StringBuilder();
        for (int i = 0; i < 8000; i++) junk.Append("# note /* ").Append('x', 1000).Append('\n');
        var e = await Assert.ThrowsAsync<BpfFormatException>(() => Task.Run(() => Assembler.Assemble(junk.ToString()), TestContext.Current.CancellationToken));
        Assert.Contains("holds no instructions", e.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<BpfFormatException>(() => Assembler.Assemble("/* one\ntwo */ return ALLOW /* x */\n/*\n*/\nnonsense\n"));
        Assert.StartsWith("line 5:", bad.Message, StringComparison.Ordinal);
        Assert.Single(Assembler.Assemble("return /* inline */ ALLOW /* and */\n"));
    }

    [Fact]
    public void Deciding_whether_a_word_is_empty_pays_its_search_from_the_analysis_budget()
    {
        // Each search stops at WordSet.MaxSearchSteps, but an explanation makes one per branch and per region met: the
        // searches' work is paid from the explanation's budget, so their number cannot multiply the bound.
        var set = WordSet.Full;
        for (uint v = 0; v < 200; v++) set = set.And(WordPredicate.MaskEquals(0xff, v).Not()); // w & 0xff not in 0..199
        var budget = new AnalysisBudget();
        Assert.False(set.IsEmptyWithin(budget));
        Assert.True(set.TryGetWitness(out uint w, budget));
        Assert.Equal(200u, w);
        // Every exclusion is looked at in each of the 32 cubes down to bit 0, in each search: at least 2 x 200 x 32 / 256.
        Assert.InRange(budget.Used, 2 * 200 * 32 / 256, AnalysisBudget.MaxWork);
        var spent = budget.Used;
        var tight = new AnalysisBudget(spent / 2 - 1); // one search costs half of what two did
        Assert.Throws<AnalysisLimitException>(() => set.IsEmptyWithin(tight));
    }
}
