using SeccompKit.Analysis;
using SeccompKit.Bpf;
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
}
