using System.Collections.Immutable;

namespace SeccompKit.Policy;

/// <summary>
/// One rule: when <see cref="Syscall"/> is called and every condition holds (AND), take
/// <see cref="Action"/>. Several rules for one syscall are alternatives (OR); see
/// <see cref="SeccompPolicy"/> for how overlapping rules combine.
/// </summary>
public sealed record SyscallRule
{
    /// <summary>Creates a rule; conditions are kept in the given order (duplicates removed).</summary>
    public SyscallRule(string syscall, PolicyAction action, IEnumerable<ArgCondition>? conditions = null)
    {
        if (string.IsNullOrWhiteSpace(syscall))
            throw new PolicyException("a rule needs a system call name; the name is empty.");
        Syscall = syscall;
        Action = action;
        Conditions = conditions is null ? [] : [.. conditions.Distinct()];
    }

    /// <summary>The system call name (as in the syscall tables, e.g. <c>openat</c>).</summary>
    public string Syscall { get; }

    /// <summary>What happens when the rule matches.</summary>
    public PolicyAction Action { get; }

    /// <summary>Conditions that must all hold; empty means the rule matches every call.</summary>
    public ImmutableArray<ArgCondition> Conditions { get; }

    /// <summary>
    /// Where the rule was written, for messages about it: <c>file:line:column</c> of its item in a policy file, or the
    /// JSON path of its OCI entry. Not part of the rule's meaning (equality ignores it); null when unknown.
    /// </summary>
    public string? Origin { get; init; }

    /// <summary>True when the rule has no conditions.</summary>
    public bool IsUnconditional => Conditions.IsEmpty;

    /// <summary>Whether the conditions are the same set as <paramref name="other"/>'s (order ignored).</summary>
    public bool HasSameConditions(SyscallRule other) =>
        Conditions.Length == other.Conditions.Length && Conditions.All(other.Conditions.Contains);

    /// <summary>A hash of the condition set that ignores order, so that rules with <see cref="HasSameConditions"/> have equal ones (for buckets that keep pairwise checks linear).</summary>
    internal int ConditionSetHash()
    {
        int sum = Conditions.Length;
        foreach (var c in Conditions) sum = unchecked(sum + c.GetHashCode());
        return sum;
    }

    /// <summary>Value equality including the conditions.</summary>
    public bool Equals(SyscallRule? other) =>
        other is not null && Syscall == other.Syscall && Action == other.Action && Conditions.SequenceEqual(other.Conditions);

    /// <inheritdoc/>
    /// <remarks>The conditions are part of the hash: rules of one syscall that differ only in a value (thousands of
    /// <c>read(arg0 == N)</c>) would otherwise all collide, and every set of rules would cost quadratic time.</remarks>
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Syscall);
        h.Add(Action);
        foreach (var c in Conditions) h.Add(c);
        return h.ToHashCode();
    }

    /// <summary><c>openat(arg2 &amp; 0x3 == 0x0) -> ALLOW</c>.</summary>
    public override string ToString() =>
        Conditions.IsEmpty ? $"{Syscall} -> {Action}" : $"{Syscall}({string.Join(" && ", Conditions)}) -> {Action}";
}
