using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>
/// The seccomp_data inputs a policy is checked on: every syscall number of each covered ABI plus unknown
/// numbers (past the table, x32-bit variants of the other AUDIT_ARCH_X86_64 ABI, nr -1, negative numbers),
/// other architectures (bad arch), and arguments built from the policy's own constants — each constant
/// ±1, its 32-bit halves swapped, its low and high halves alone, masked values with the other bits set —
/// plus 0 and all ones, placed in every argument a rule compares (or in every argument, with
/// <c>sweepArgsEverywhere</c>). On ABIs with socketcall/ipc (x86 here) the multiplexer numbers are left out
/// when the policy names a multiplexed call: libseccomp then adds socketcall/ipc rules of its own (the
/// policy model and our compiler leave those to the policy author), so the two are not comparable there.
/// </summary>
public static class VectorGenerator
{
    /// <summary>AUDIT_ARCH values of ABIs none of the test policies covers, plus two nonsense values.</summary>
    private static readonly uint[] ForeignArches = [Architecture.Arm.AuditArch, Architecture.Riscv64.AuditArch, Architecture.S390X.AuditArch, 0, 0xffffffff];

    /// <summary>Every argument value worth trying for the policy's constants.</summary>
    public static ulong[] ArgumentValues(SeccompPolicy policy) => ArgumentValues(policy.Rules);

    /// <summary>Every argument value worth trying for the constants of <paramref name="rules"/>.</summary>
    public static ulong[] ArgumentValues(IEnumerable<SyscallRule> rules)
    {
        var set = new HashSet<ulong> { 0, ulong.MaxValue, uint.MaxValue, 0xffff_ffff_0000_0000 };
        void Around(ulong v)
        {
            set.Add(v); set.Add(v + 1); set.Add(v - 1);
            set.Add((v << 32) | (v >> 32));
            set.Add(v & uint.MaxValue); set.Add(v & 0xffff_ffff_0000_0000); set.Add(v >> 32);
            set.Add(v ^ 0x1_0000_0000); set.Add(v ^ 0x8000_0000);
        }
        foreach (var r in rules)
            foreach (var c in r.Conditions)
            {
                Around(c.Value);
                if (c.Operator == ArgOperator.MaskedEqual)
                {
                    Around(c.Mask);
                    set.Add(c.Value | ~c.Mask);
                    set.Add(c.Value ^ (c.Mask & (~c.Mask + 1))); // the lowest mask bit flipped
                }
            }
        return [.. set.Order()];
    }

    /// <summary>Argument vectors that satisfy every condition of <paramref name="rule"/> (others 0).</summary>
    private static ulong[] Satisfying(SyscallRule rule)
    {
        var a = new ulong[6];
        foreach (var c in rule.Conditions)
            a[c.Index] = c.Operator switch
            {
                ArgOperator.Equal or ArgOperator.LessOrEqual or ArgOperator.GreaterOrEqual or ArgOperator.MaskedEqual => c.Value,
                ArgOperator.NotEqual or ArgOperator.Greater => c.Value + 1,
                ArgOperator.Less => c.Value == 0 ? 0 : c.Value - 1,
                _ => 0,
            };
        return a;
    }

    /// <summary>Whether the policy names a call that some covered ABI reaches through socketcall/ipc.</summary>
    public static bool UsesMultiplexedNames(SeccompPolicy policy) =>
        policy.EffectiveArchitectures.Any(abi => policy.SyscallNames.Any(n => abi.Syscalls.TryGetMultiplexed(n, out _)));

    /// <summary>Every vector for <paramref name="policy"/>.</summary>
    public static IEnumerable<SeccompData> For(SeccompPolicy policy, bool sweepArgsEverywhere)
    {
        var values = ArgumentValues(policy);
        bool multiplexed = UsesMultiplexedNames(policy);
        var zero = new ulong[6];
        var ones = Enumerable.Repeat(ulong.MaxValue, 6).ToArray();
        var covered = policy.EffectiveArchitectures;
        foreach (var abi in covered)
        {
            var t = abi.Syscalls;
            var numbers = new SortedSet<int>(t.All.Select(e => e.Number));
            int b = abi.SyscallNumberOffset;
            foreach (int extra in new[] { t.MaxNumber + 1, t.MaxNumber + 7, b + 1000, b + 0x3fff_fff0, -1, -2, int.MinValue, int.MaxValue })
                numbers.Add(extra);
            // The other AUDIT_ARCH_X86_64 ABI's numbers: x32 numbers without the bit, x86_64 numbers with it.
            if (abi == Architecture.X86_64) foreach (var e in Architecture.X32.Syscalls.All.Take(40)) numbers.Add(e.Number);
            if (abi == Architecture.X32) foreach (var e in Architecture.X86_64.Syscalls.All.Take(40)) numbers.Add(e.Number);
            foreach (int nr in numbers)
            {
                if (multiplexed && (nr == t.SocketcallNumber || nr == t.IpcNumber)) continue;
                string? name = null;
                if (policy.ResolveAbi(abi.AuditArch, nr) is { } owner) owner.Syscalls.TryGetName(nr, out name);
                var rules = name is null ? [] : policy.RulesFor(name);
                yield return new SeccompData(nr, abi.AuditArch, 0, zero);
                yield return new SeccompData(nr, abi.AuditArch, 0, ones);
                var indices = sweepArgsEverywhere ? [0, 1, 2, 3, 4, 5] : rules.SelectMany(r => r.Conditions.Select(c => c.Index)).Distinct().ToArray();
                var bases = new List<ulong[]> { zero };
                foreach (var r in rules) if (!r.IsUnconditional) bases.Add(Satisfying(r));
                var vals = sweepArgsEverywhere ? values : ArgumentValues(rules);
                foreach (var basis in bases)
                {
                    if (!ReferenceEquals(basis, zero)) yield return new SeccompData(nr, abi.AuditArch, 0, basis);
                    foreach (int i in indices)
                        foreach (var v in vals)
                        {
                            var a = (ulong[])basis.Clone();
                            a[i] = v;
                            yield return new SeccompData(nr, abi.AuditArch, 0, a);
                        }
                }
            }
        }
        // Bad arches: ABIs of the other test sets the policy does not cover, and foreign values.
        var otherArches = new[] { Architecture.X86_64, Architecture.X86, Architecture.Aarch64 }
            .Where(a => !covered.Any(c => c.AuditArch == a.AuditArch)).Select(a => a.AuditArch).Concat(ForeignArches);
        foreach (uint arch in otherArches)
            foreach (int nr in new[] { 0, 1, 2, 59, 63, 221, 0x4000_0000, -1 })
                yield return new SeccompData(nr, arch, 0, zero);
        // AUDIT_ARCH_X86_64 with the ABI that is not covered (x32 numbers under an x86_64-only policy and back).
        if (covered.Any(c => c.AuditArch == Architecture.X86_64.AuditArch))
            foreach (int nr in new[] { 0, 1, 59, 0x3fff_ffff, 0x4000_0000, 0x4000_0001, 0x4000_003b, 0x4000_0200, 0x7fff_ffff, -1 })
                yield return new SeccompData(nr, Architecture.X86_64.AuditArch, 0, zero);
    }
}
