using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Oci;

/// <summary>
/// Writes a <see cref="SeccompPolicy"/> as OCI <c>linux.seccomp</c> JSON that runc reads back with the same
/// meaning (<see cref="OciImporter"/> of the output evaluates like the policy). A policy whose meaning runc
/// cannot reproduce is refused with a <see cref="PolicyException"/> that says what and how to change it; nothing
/// is silently dropped or altered.
/// </summary>
public static class OciExporter
{
    /// <summary>Exports as indented JSON text.</summary>
    /// <exception cref="PolicyException">The policy has a meaning OCI/runc cannot express.</exception>
    public static string Export(SeccompPolicy policy, OciImportOptions? options = null) => OciJson.Write(ToOci(policy, options));

    /// <summary>Exports as the DTO.</summary>
    /// <exception cref="PolicyException">The policy has a meaning OCI/runc cannot express.</exception>
    public static OciSeccomp ToOci(SeccompPolicy policy, OciImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var native = (options ?? new()).Native;

        // ---- what runc fixes and the policy cannot change.
        if (policy.BadArchAction != PolicyAction.KillThread)
            throw new PolicyException($"the bad-architecture action is {policy.BadArchAction}, but runc always leaves libseccomp's KILL_THREAD (SCMP_ACT_KILL); OCI has no field for it. Use WithBadArchAction(PolicyAction.KillThread) to export.");
        if (!policy.EffectiveArchitectures.Contains(native))
            throw new PolicyException($"the policy does not cover {native.Name}, but libseccomp always includes the native architecture ({native.Name}) in runc's filter, so {native.Name} calls would be filtered instead of killed. Add {native.Name} to the architectures (or export for another native architecture).");
        foreach (var a in policy.EffectiveArchitectures)
            if (OciNames.ArchitectureName(a) is null)
                throw new PolicyException($"runc cannot filter for {a.Name} (it knows {OciNames.List(OciNames.Architectures.Keys)}); remove {a.Name} from the architectures.");
        if (policy.DefaultAction.Kind == SeccompAction.UserNotif)
            throw new PolicyException("runc refuses SCMP_ACT_NOTIFY as the default action; choose another default and notify on specific syscalls.");
        if (policy.DefaultAction.Kind == SeccompAction.Trap && policy.DefaultAction.Data != 0)
            throw new PolicyException($"the default action {policy.DefaultAction} carries data, but runc's SCMP_ACT_TRAP always has data 0. Use PolicyAction.Trap() to export.");
        if (policy.Rules.Any(r => r.Action.Kind == SeccompAction.UserNotif) && policy.ListenerPath is null)
            throw new PolicyException("the policy has USER_NOTIF rules but no listener path; runc then fails with \"seccomp listenerPath is not set\". Give the policy a listenerPath.");

        for (int i = 0; i < policy.Rules.Length; i++)
            CheckRule(policy, policy.Rules[i], i);

        // ---- architectures: list the native one only when it needs an ENOSYS cutoff (runc's stub covers listed arches only).
        var listed = policy.EffectiveArchitectures.Where(a => a != native || policy.EnosysAbove.ContainsKey(a)).ToList();

        // ---- rules grouped by (action, conditions), in first-appearance order.
        // A rule joins an earlier group only if that keeps its syscall's rules in order (ties between equally
        // restrictive overlapping rules go to the earlier one).
        var groups = new List<(PolicyAction Action, SyscallRule Key, List<string> Names)>();
        var lastGroup = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in policy.Rules)
        {
            int floor = lastGroup.GetValueOrDefault(r.Syscall, 0);
            int gi = groups.FindIndex(floor, x => x.Action == r.Action && x.Key.Conditions.SequenceEqual(r.Conditions));
            if (gi < 0) { groups.Add((r.Action, r, [r.Syscall])); gi = groups.Count - 1; }
            else if (!groups[gi].Names.Contains(r.Syscall)) groups[gi].Names.Add(r.Syscall);
            lastGroup[r.Syscall] = gi;
        }
        var entries = groups.Select(g => Entry(g.Names, g.Action, g.Key.Conditions)).ToList();

        // ---- ENOSYS: the cutoffs runc will compute from these names must be the policy's.
        bool stub = policy.DefaultAction.Kind is not (SeccompAction.Allow or SeccompAction.Log or SeccompAction.Trace);
        foreach (var (abi, cutoff) in policy.EnosysAbove)
        {
            if (!stub)
                throw new PolicyException($"the policy returns ENOSYS above {cutoff} on {abi.Name}, but runc adds no ENOSYS stub when the default action is {policy.DefaultAction} (it counts as allowing). Remove the cutoff (WithEnosysAbove) to export.");
            uint computed = Largest(abi, entries);
            if (computed == cutoff) continue;
            if (computed < cutoff && abi.Syscalls.TryGetName((int)cutoff, out var name))
            {
                // An entry with the default action does nothing in runc, but its names still count for the cutoff.
                entries.Add(Entry([name], policy.DefaultAction, []));
                continue;
            }
            throw new PolicyException($"the policy returns ENOSYS above {cutoff} on {abi.Name}, but runc derives the cutoff from the largest syscall number the profile names there ({computed}); {(computed > cutoff ? "rules name larger numbers" : $"no syscall is numbered {cutoff}")}. Use WithEnosysAbove with {computed} to export.");
        }
        if (stub)
            foreach (var abi in listed.Where(a => !policy.EnosysAbove.ContainsKey(a)))
            {
                uint computed = Largest(abi, entries);
                if (computed != 0)
                    throw new PolicyException($"runc returns ENOSYS for {abi.Name} calls above {computed} (the largest number the profile names there) because the default action {policy.DefaultAction} is not an allowing one, but the policy has no such cutoff. Add it with WithEnosysAbove({abi.Name}: {computed}) to export.");
            }

        var flags = OciNames.Flags.Where(p => policy.Flags.HasFlag(p.Value)).OrderBy(p => (int)p.Value).Select(p => p.Key).ToList();
        return new OciSeccomp
        {
            DefaultAction = OciNames.ActionName(policy.DefaultAction.Kind),
            DefaultErrnoRet = HasData(policy.DefaultAction) ? policy.DefaultAction.Data : null,
            Architectures = listed.Count == 0 ? null : listed.Select(a => OciNames.ArchitectureName(a)!).ToList(),
            Flags = flags, // always written: an absent list means SPEC_ALLOW to runc
            ListenerPath = policy.ListenerPath,
            ListenerMetadata = policy.ListenerMetadata,
            Syscalls = entries,
        };
    }

    private static bool HasData(PolicyAction a) => a.Kind is SeccompAction.Errno or SeccompAction.Trace;

    private static OciSyscall Entry(IReadOnlyList<string> names, PolicyAction action, IEnumerable<ArgCondition> conditions) => new()
    {
        Names = [.. names],
        Action = OciNames.ActionName(action.Kind),
        ErrnoRet = HasData(action) ? action.Data : null,
        Args = [.. conditions.Select(c => c.Operator == ArgOperator.MaskedEqual
            ? new OciArg { Index = (ulong)c.Index, Value = c.Mask, ValueTwo = c.Value, Op = OciNames.OperatorName(c.Operator) }
            : new OciArg { Index = (ulong)c.Index, Value = c.Value, Op = OciNames.OperatorName(c.Operator) })],
    };

    private static uint Largest(Architecture abi, List<OciSyscall> entries)
    {
        int largest = 0;
        foreach (var e in entries)
            foreach (var n in e.Names)
                if (abi.Syscalls.TryGetNumber(n, out int nr) && nr > largest) largest = nr;
        return (uint)largest;
    }

    private static void CheckRule(SeccompPolicy policy, SyscallRule rule, int i)
    {
        string where = $"rule {i + 1} ({rule})";
        if (rule.Action.Kind == SeccompAction.Trap && rule.Action.Data != 0)
            throw new PolicyException($"{rule.Action} carries data, but runc's SCMP_ACT_TRAP always has data 0 (errnoRet is ignored for it). Use PolicyAction.Trap() to export.", where);
        if (rule.Action.Kind == SeccompAction.UserNotif && rule.Syscall == "write")
            throw new PolicyException("runc refuses SCMP_ACT_NOTIFY for write; use another action for write.", where);
        foreach (var c in rule.Conditions)
            if (c.Width == ArgumentWidth.Bits32)
                throw new PolicyException($"the condition {c} compares only the low 32 bits; OCI conditions always compare all 64. Use a 64-bit condition (and mind the upper half) to export.", where);
        if (rule.Conditions.GroupBy(c => c.Index).Any(g => g.Count() > 1))
            throw new PolicyException("the rule has two conditions on one argument (an AND); in OCI runc reads such an entry as alternatives (OR), so it cannot be written. Express the range another way (e.g. several rules) to export.", where);

        var others = policy.RulesFor(rule.Syscall).Where(r => !ReferenceEquals(r, rule)).ToList();
        // libseccomp: an unconditional rule overrides conditional ones; the policy's meaning lets a more restrictive conditional rule win.
        if (rule.IsUnconditional)
        {
            // Equally restrictive rules tie in favour of the earlier one, so an earlier conditional rule with other data wins too.
            int at0 = policy.Rules.IndexOf(rule);
            var stronger = others.FirstOrDefault(r => !r.IsUnconditional && r.Action != rule.Action &&
                (r.Action.Precedence < rule.Action.Precedence || (r.Action.Precedence == rule.Action.Precedence && policy.Rules.IndexOf(r) < at0)));
            if (stronger is not null)
                throw new PolicyException($"{rule.Syscall} has the unconditional rule {rule.Action} and the more restrictive conditional rule {stronger}; under runc the unconditional rule overrides every conditional one, so {stronger.Action} would never happen. Make the unconditional rule conditional (or drop the conditional one) to export.", where);
        }
        // runc skips rules whose action equals the default; that matters when a less restrictive rule overlaps.
        if (rule.Action == policy.DefaultAction)
        {
            int at = policy.Rules.IndexOf(rule);
            var weaker = others.FirstOrDefault(r => r.Action != rule.Action &&
                (r.Action.Precedence > rule.Action.Precedence || (r.Action.Precedence == rule.Action.Precedence && policy.Rules.IndexOf(r) > at)));
            if (weaker is not null)
                throw new PolicyException($"runc skips rules whose action equals the default ({policy.DefaultAction}), so this rule could no longer override {weaker} for the calls both match. Rewrite {rule.Syscall}'s rules so they do not overlap, then export.", where);
        }
    }
}
