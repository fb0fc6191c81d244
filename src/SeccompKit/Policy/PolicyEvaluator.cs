using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy;

/// <summary>Why a policy decided as it did.</summary>
public enum DecisionReason
{
    /// <summary>The call's ABI is not covered: <see cref="SeccompPolicy.BadArchAction"/>.</summary>
    BadArch,
    /// <summary>The number is above the ABI's ENOSYS cutoff (or is s390's <c>setup</c>): ERRNO(ENOSYS).</summary>
    NewerSyscall,
    /// <summary>A rule matched.</summary>
    Rule,
    /// <summary>No rule matched: <see cref="SeccompPolicy.DefaultAction"/>.</summary>
    Default,
}

/// <summary>What a policy does with one call, and why.</summary>
/// <param name="Action">The action.</param>
/// <param name="Reason">Why.</param>
/// <param name="Abi">The ABI the call was made through, when covered.</param>
/// <param name="Syscall">The syscall name, when the ABI knows the number.</param>
/// <param name="Rule">The rule that decided, for <see cref="DecisionReason.Rule"/>.</param>
public sealed record PolicyDecision(PolicyAction Action, DecisionReason Reason, Architecture? Abi, string? Syscall, SyscallRule? Rule);

/// <summary>The meaning of a policy, independent of any compiler: the oracle compiled filters are tested against.</summary>
public static class PolicyEvaluator
{
    /// <summary>ERRNO(ENOSYS), runc's answer for syscalls newer than the profile.</summary>
    public static PolicyAction Enosys { get; } = PolicyAction.Errno(38);

    /// <summary>Decides what <paramref name="policy"/> does with the call described by <paramref name="data"/>.</summary>
    public static PolicyDecision Evaluate(SeccompPolicy policy, SeccompData data)
    {
        var abi = policy.ResolveAbi(data.Arch, data.Nr);
        if (abi is null) return new(policy.BadArchAction, DecisionReason.BadArch, null, null, null);
        if (policy.IsAboveEnosysCutoff(abi, data.Nr))
            return new(Enosys, DecisionReason.NewerSyscall, abi, null, null);
        if (!abi.Syscalls.TryGetName(data.Nr, out var name))
            return new(policy.DefaultAction, DecisionReason.Default, abi, null, null);
        SyscallRule? best = null;
        foreach (var rule in policy.RulesFor(name))
        {
            if (best is not null && rule.Action.Precedence >= best.Action.Precedence) continue;
            bool all = true;
            foreach (var c in rule.Conditions)
                if (!c.Matches(data.Args[c.Index], abi)) { all = false; break; }
            if (all) best = rule;
        }
        return best is null
            ? new(policy.DefaultAction, DecisionReason.Default, abi, name, null)
            : new(best.Action, DecisionReason.Rule, abi, name, best);
    }

    /// <summary>The filter return value the policy gives the call.</summary>
    public static uint EvaluateValue(SeccompPolicy policy, SeccompData data) => Evaluate(policy, data).Action.ReturnValue;
}
