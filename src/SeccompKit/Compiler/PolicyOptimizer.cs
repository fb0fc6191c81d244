using System.Collections.Immutable;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Compiler;

/// <summary>
/// A policy-level pass: a pure function from a policy to one with the same meaning
/// (<see cref="PolicyEvaluator.Evaluate"/> agrees on every input).
/// </summary>
public interface IPolicyPass
{
    /// <summary>Short name for reports.</summary>
    string Name { get; }

    /// <summary>Runs the pass; <paramref name="changed"/> says whether anything changed.</summary>
    SeccompPolicy Run(SeccompPolicy policy, out bool changed);
}

/// <summary>Conditions that hold for every argument value at both widths (e.g. <c>x &gt;= 0</c>, <c>(x &amp; 0) == 0</c>) are dropped.</summary>
public sealed class DropTautologies : IPolicyPass
{
    /// <inheritdoc/>
    public string Name => "drop-tautologies";

    /// <summary>True when the condition holds for every argument at 64 and at 32 bits.</summary>
    public static bool AlwaysHolds(ArgCondition c) => Always(c, ArgumentWidth.Bits64) && Always(c, ArgumentWidth.Bits32);

    private static bool Always(ArgCondition c, ArgumentWidth w)
    {
        ulong max = w == ArgumentWidth.Bits64 ? ulong.MaxValue : uint.MaxValue;
        ulong v = c.Value & max, m = c.Mask & max;
        return c.Operator switch
        {
            ArgOperator.GreaterOrEqual => v == 0,
            ArgOperator.LessOrEqual => v == max,
            ArgOperator.MaskedEqual => m == 0 && v == 0,
            _ => false,
        };
    }

    /// <inheritdoc/>
    public SeccompPolicy Run(SeccompPolicy policy, out bool changed)
    {
        changed = false;
        if (!policy.Rules.Any(r => r.Conditions.Any(AlwaysHolds))) return policy;
        try
        {
            var result = policy.WithRules(policy.Rules.Select(r => new SyscallRule(r.Syscall, r.Action, r.Conditions.Where(c => !AlwaysHolds(c)))));
            changed = true;
            return result;
        }
        catch (PolicyException)
        {
            // Two rules would become unconditional with different actions, which a policy cannot state
            // (though it means "the more restrictive wins"); keeping the tautologies keeps the meaning.
            return policy;
        }
    }
}

/// <summary>Rules with a condition that no argument satisfies at either width (e.g. <c>x &lt; 0</c>, <c>(x &amp; 0xf0) == 0x1</c>) are dropped.</summary>
public sealed class DropContradictions : IPolicyPass
{
    /// <inheritdoc/>
    public string Name => "drop-contradictions";

    /// <summary>True when no argument satisfies the condition, at 64 or at 32 bits.</summary>
    public static bool NeverHolds(ArgCondition c) => Never(c, ArgumentWidth.Bits64) && Never(c, ArgumentWidth.Bits32);

    private static bool Never(ArgCondition c, ArgumentWidth w)
    {
        ulong max = w == ArgumentWidth.Bits64 ? ulong.MaxValue : uint.MaxValue;
        ulong v = c.Value & max, m = c.Mask & max;
        return c.Operator switch
        {
            ArgOperator.Less => v == 0,
            ArgOperator.Greater => v == max,
            ArgOperator.MaskedEqual => (v & ~m) != 0,
            _ => false,
        };
    }

    /// <inheritdoc/>
    public SeccompPolicy Run(SeccompPolicy policy, out bool changed)
    {
        changed = policy.Rules.Any(r => r.Conditions.Any(NeverHolds));
        return changed ? policy.WithRules(policy.Rules.Where(r => !r.Conditions.Any(NeverHolds))) : policy;
    }
}

/// <summary>
/// Rules that can never decide are dropped: exact duplicates of an earlier rule, and rules of a syscall
/// that has an unconditional rule ranked at least as high (the unconditional rule always matches and wins).
/// </summary>
public sealed class DropShadowedRules : IPolicyPass
{
    /// <inheritdoc/>
    public string Name => "drop-shadowed-rules";

    /// <inheritdoc/>
    public SeccompPolicy Run(SeccompPolicy policy, out bool changed)
    {
        var keep = new List<SyscallRule>();
        var seen = new HashSet<SyscallRule>();
        var bestUncond = new Dictionary<string, (int Precedence, int Index)>(StringComparer.Ordinal);
        for (int i = 0; i < policy.Rules.Length; i++)
        {
            var r = policy.Rules[i];
            if (r.IsUnconditional && (!bestUncond.TryGetValue(r.Syscall, out var b) || r.Action.Precedence < b.Precedence))
                bestUncond[r.Syscall] = (r.Action.Precedence, i);
        }
        for (int i = 0; i < policy.Rules.Length; i++)
        {
            var r = policy.Rules[i];
            if (!seen.Add(r)) continue;
            if (bestUncond.TryGetValue(r.Syscall, out var u) && u.Index != i &&
                (r.Action.Precedence > u.Precedence || (r.Action.Precedence == u.Precedence && i > u.Index))) continue;
            keep.Add(r);
        }
        changed = keep.Count != policy.Rules.Length;
        return changed ? policy.WithRules(keep) : policy;
    }
}

/// <summary>A syscall whose only rules give the default action needs no rules at all.</summary>
public sealed class DropDefaultOnlyRules : IPolicyPass
{
    /// <inheritdoc/>
    public string Name => "drop-default-only-rules";

    /// <inheritdoc/>
    public SeccompPolicy Run(SeccompPolicy policy, out bool changed)
    {
        var useless = policy.Rules.GroupBy(r => r.Syscall, StringComparer.Ordinal)
            .Where(g => g.All(r => r.Action == policy.DefaultAction)).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        changed = useless.Count > 0;
        return changed ? policy.WithRules(policy.Rules.Where(r => !useless.Contains(r.Syscall))) : policy;
    }
}

/// <summary>Runs the policy passes in order until none changes the policy.</summary>
public static class PolicyOptimizer
{
    /// <summary>
    /// The passes in order. Constraints: dropping tautologies can make a rule unconditional, which
    /// shadowing then uses; contradictions go before shadowing so a dead rule never shadows; default-only
    /// syscalls are removed last, once shadowed rules of other actions are gone.
    /// </summary>
    public static ImmutableArray<IPolicyPass> DefaultPasses { get; } =
        [new DropTautologies(), new DropContradictions(), new DropShadowedRules(), new DropDefaultOnlyRules()];

    /// <summary>Optimises <paramref name="policy"/> to a fixpoint.</summary>
    public static SeccompPolicy Optimize(SeccompPolicy policy, IReadOnlyList<IPolicyPass>? passes = null)
    {
        passes ??= DefaultPasses;
        for (int round = 0; round < 16; round++)
        {
            bool any = false;
            foreach (var p in passes) { policy = p.Run(policy, out bool c); any |= c; }
            if (!any) break;
        }
        return policy;
    }
}
