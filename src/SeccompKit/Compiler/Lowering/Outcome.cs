using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Compiler.Lowering;

/// <summary>
/// What the filter does for one syscall number once the ABI is known: a constant action (no argument is
/// read, so the kernel's action cache can keep the syscall when it is ALLOW), or the argument checks of
/// one syscall.
/// </summary>
internal abstract record Outcome
{
    public sealed record Constant(PolicyAction Action) : Outcome;

    /// <summary>Argument checks: <paramref name="Rules"/> in the order they are tried, then <paramref name="Fallthrough"/>.</summary>
    public sealed record Checks(string Syscall, Architecture Abi, bool Is64Bit, IReadOnlyList<SyscallRule> Rules, PolicyAction Fallthrough) : Outcome
    {
        public bool Equals(Checks? other) => other is not null && Syscall == other.Syscall && Is64Bit == other.Is64Bit;
        public override int GetHashCode() => HashCode.Combine(Syscall, Is64Bit);
    }
}

/// <summary>Decides the <see cref="Outcome"/> of every number, mirroring <see cref="PolicyEvaluator.Evaluate"/>.</summary>
internal static class Outcomes
{
    public static Outcome At(SeccompPolicy policy, uint auditArch, uint nr, Dictionary<(Architecture, string), Outcome>? cache = null)
    {
        int n = unchecked((int)nr);
        var abi = policy.ResolveAbi(auditArch, n);
        if (abi is null) return new Outcome.Constant(policy.BadArchAction);
        if (policy.EnosysAbove.TryGetValue(abi, out var cutoff) &&
            (nr > cutoff || (nr == 0 && (abi == Architecture.S390 || abi == Architecture.S390X))))
            return new Outcome.Constant(PolicyEvaluator.Enosys);
        if (!abi.Syscalls.TryGetName(n, out var name)) return new Outcome.Constant(policy.DefaultAction);
        if (cache is null) return ForSyscall(policy, abi, name);
        if (!cache.TryGetValue((abi, name), out var o)) cache[(abi, name)] = o = ForSyscall(policy, abi, name);
        return o;
    }

    public static Outcome ForSyscall(SeccompPolicy policy, Architecture abi, string name)
    {
        var rules = policy.RulesFor(name);
        if (rules.IsEmpty) return new Outcome.Constant(policy.DefaultAction);
        if (rules.Length == 1 && rules[0].IsUnconditional) return new Outcome.Constant(rules[0].Action);
        // Rules are ranked by (precedence, position): the most restrictive wins, ties go to the earlier rule.
        // The best unconditional rule always matches, so only conditional rules ranked above it matter.
        var ranked = rules.Select((r, i) => (r, key: ((long)r.Action.Precedence << 32) | (uint)i)).ToList();
        long uncondKey = long.MaxValue;
        SyscallRule? uncond = null;
        foreach (var (r, key) in ranked)
            if (r.IsUnconditional && key < uncondKey) { uncondKey = key; uncond = r; }
        var fallthrough = uncond?.Action ?? policy.DefaultAction;
        var live = ranked.Where(t => !t.r.IsUnconditional && t.key < uncondKey)
            .OrderBy(t => t.key).Select(t => t.r).ToList();
        // Trailing rules that give the fallthrough action change nothing: anything after them is less restrictive.
        while (live.Count > 0 && live[^1].Action == fallthrough) live.RemoveAt(live.Count - 1);
        return live.Count == 0 ? new Outcome.Constant(fallthrough) : new Outcome.Checks(name, abi, abi.Is64Bit, live, fallthrough);
    }
}
