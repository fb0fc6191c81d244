using CsCheck;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy;

/// <summary>
/// Random allow-lists, as several learning runs of one program produce them: the merge always means the union (checked
/// by emulation, the interpreter as oracle), and its output depends neither on the inputs' order nor on merging again.
/// </summary>
public class MergeProperties
{
    private static readonly Architecture[][] ArchSets =
    [
        [Architecture.X86_64],
        [Architecture.X86_64, Architecture.X86, Architecture.X32],
        [Architecture.X86_64, Architecture.X86],
        [Architecture.X86],
        [Architecture.X32, Architecture.X86_64],
    ];

    /// <summary>Syscalls every x86 ABI has, with argument signatures.</summary>
    private static readonly string[] Names =
        ["read", "write", "close", "openat", "ioctl", "socket", "personality", "fcntl", "mmap", "prctl", "futex", "kill", "lseek", "getrandom", "mprotect", "madvise"];

    private static readonly PolicyAction[] Defaults = [PolicyAction.Errno(1), PolicyAction.KillProcess, PolicyAction.Errno(38), PolicyAction.Trap(), PolicyAction.KillThread];

    private static readonly ulong[] Interesting =
        [0, 1, 2, 3, 0x41, 0xff, 0x5401, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x1_0000_0000, 0x8000_0000_0000_0000, 0xffff_ffff_0000_0000, ulong.MaxValue];

    private static readonly Gen<ulong> Value = Gen.Frequency((3, Gen.Int[0, Interesting.Length - 1].Select(i => Interesting[i])), (1, Gen.ULong), (1, Gen.ULong[0, 64]));

    private static Gen<ArgCondition> Condition(string name) =>
        Gen.Select(Gen.Int[0, 5], Gen.Bool, Value, Value, Gen.Bool).Select(t =>
        {
            var (i, masked, v, m, narrow) = t;
            int arguments = SyscallSignatures.TryGet(name, out var sig) ? sig.Arguments.Length : 6;
            int index = i % Math.Max(arguments, 1);
            if (narrow) { v &= uint.MaxValue; m &= uint.MaxValue; }
            if (masked && v % 4 != 0) v &= m; // mostly satisfiable masks
            return masked
                ? new ArgCondition(index, ArgOperator.MaskedEqual, v, m, narrow ? ArgumentWidth.Bits32 : ArgumentWidth.Bits64)
                : new ArgCondition(index, ArgOperator.Equal, v, 0, narrow ? ArgumentWidth.Bits32 : ArgumentWidth.Bits64);
        });

    private static readonly Gen<SyscallRule> Rule =
        Gen.Select(Gen.Int[0, Names.Length - 1], Gen.Int[0, 9], Gen.Int[0, 2]).SelectMany(t =>
        {
            var (n, log, count) = t;
            var name = Names[n];
            var action = log == 0 ? PolicyAction.Log : PolicyAction.Allow;
            return Condition(name).Array[count, count].Select(cs => new SyscallRule(name, action, cs));
        });

    /// <summary>An allow-list; with <paramref name="refuse"/>, every input kills ptrace too (a refusing rule they share).</summary>
    private static SeccompPolicy AllowList(PolicyAction defaultAction, Architecture[] arches, SyscallRule[] rules, bool refuse)
    {
        // One input cannot both allow and log the same calls (SeccompPolicy refuses that as a conflict).
        var distinct = rules.DistinctBy(r => (r.Syscall, string.Join("|", r.Conditions.Select(c => c.ToString()).Order(StringComparer.Ordinal)))).ToList();
        if (refuse) distinct.Add(new SyscallRule("ptrace", PolicyAction.KillProcess));
        return new SeccompPolicy(defaultAction, distinct, arches, PolicyAction.KillThread);
    }

    /// <summary>2 or 3 inputs sharing a default and (unless <paramref name="ownArches"/>) an architecture list.</summary>
    private static Gen<SeccompPolicy[]> Inputs(bool ownArches) =>
        Gen.Select(Gen.Int[0, Defaults.Length - 1], Gen.Int[0, ArchSets.Length - 1], Gen.Int[2, 3], Gen.Int[0, 2]).SelectMany(t =>
        {
            var (d, a, count, refuse) = t;
            var one = Gen.Select(Rule.Array[0, 12], Gen.Int[0, ArchSets.Length - 1])
                .Select(x => AllowList(Defaults[d], ArchSets[ownArches ? x.Item2 : a], x.Item1, refuse == 0));
            return one.Array[count, count];
        });

    private static void AssertSame(SeccompPolicy expected, SeccompPolicy actual)
    {
        Assert.Equal(expected.DefaultAction, actual.DefaultAction);
        Assert.Equal(expected.BadArchAction, actual.BadArchAction);
        Assert.Equal(expected.Architectures, actual.Architectures);
        Assert.Equal(expected.Flags, actual.Flags);
        Assert.Equal(expected.EnosysAbove, actual.EnosysAbove);
        Assert.Equal(expected.Rules, actual.Rules);
    }

    private static void AssertVerified(MergeResult r, ref long inputs)
    {
        var v = MergeVerifier.Verify(r, new MergeVerifyOptions { CrossCheckEvaluator = true });
        Assert.True(v.Verified, $"{v.Mismatches} mismatches, e.g.\n{string.Join("\n", v.Examples)}\ninputs:\n" +
                                string.Join("\n--\n", r.Inputs.Select(p => string.Join("\n", p.Rules))) + "\nmerged:\n" + string.Join("\n", r.Policy.Rules));
        inputs += v.InputsChecked;
    }

    [Fact]
    public void The_union_of_random_allow_lists_means_the_union_and_is_commutative_and_idempotent()
    {
        long checkedInputs = 0, merges = 0;
        Inputs(ownArches: false).Sample(inputs =>
        {
            var r = PolicyMerger.Union(inputs);
            long n = 0;
            AssertVerified(r, ref n);
            Interlocked.Add(ref checkedInputs, n);
            Interlocked.Increment(ref merges);

            AssertSame(r.Policy, PolicyMerger.Union([.. inputs.Reverse()]).Policy);
            AssertSame(r.Policy, PolicyMerger.Union([inputs[^1], .. inputs[..^1]]).Policy);
            AssertSame(r.Policy, PolicyMerger.Union([r.Policy]).Policy);
            AssertSame(r.Policy, PolicyMerger.Union([r.Policy, inputs[0]]).Policy);
            AssertSame(PolicyMerger.Union([inputs[0]]).Policy, PolicyMerger.Union([inputs[0], inputs[0]]).Policy);
        }, iter: 300);
        TestContext.Current.SendDiagnosticMessage($"merge property: {merges} merges verified on {checkedInputs} inputs, 0 mismatches");
        Assert.True(checkedInputs > 100_000, $"only {checkedInputs} inputs");
    }

    [Fact]
    public void Inputs_with_different_architectures_merge_to_the_union_or_are_refused_and_then_merge_once_the_architectures_are_restated()
    {
        int refused = 0, merged = 0;
        Inputs(ownArches: true).Sample(inputs =>
        {
            long n = 0;
            try
            {
                AssertVerified(PolicyMerger.Union(inputs), ref n);
                Interlocked.Increment(ref merged);
            }
            catch (PolicyException e)
            {
                Assert.Contains("merge --arch", e.Message);
                Interlocked.Increment(ref refused);
                var union = Architecture.All.Where(a => inputs.Any(p => p.EffectiveArchitectures.Contains(a))).ToList();
                AssertVerified(PolicyMerger.Union(inputs, new MergeOptions { Architectures = union }), ref n);
            }
        }, iter: 200);
        TestContext.Current.SendDiagnosticMessage($"merge property (own architectures): {merged} merged, {refused} refused then merged with the union's architectures");
        Assert.True(merged > 0 && refused > 0, $"{merged} merged, {refused} refused");
    }

    [Fact]
    public void Inputs_with_different_defaults_are_refused_and_merge_with_an_explicit_default()
    {
        Gen.Select(Rule.Array[0, 8], Rule.Array[0, 8], Gen.Int[0, Defaults.Length - 1], Gen.Int[1, Defaults.Length - 1]).Sample(t =>
        {
            var (ra, rb, d, delta) = t;
            var a = AllowList(Defaults[d], [Architecture.X86_64], ra, refuse: false);
            var b = AllowList(Defaults[(d + delta) % Defaults.Length], [Architecture.X86_64], rb, refuse: false);
            var e = Assert.Throws<PolicyException>(() => PolicyMerger.Union([a, b]));
            Assert.Contains("different default actions", e.Message);
            long n = 0;
            var r = PolicyMerger.Union([a, b], new MergeOptions { DefaultAction = Defaults[d] });
            Assert.Equal(Defaults[d], r.Policy.DefaultAction);
            AssertVerified(r, ref n);
        }, iter: 50);
    }
}
