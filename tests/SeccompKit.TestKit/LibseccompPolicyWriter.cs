using System.Globalization;
using System.Text;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.TestKit;

/// <summary>A policy feature libseccomp 2.5.4 cannot express, found while writing the flat text.</summary>
public sealed class NotExpressibleException(string message) : Exception(message);

/// <summary>
/// Writes a <see cref="SeccompPolicy"/> in the flat text native/libseccomp-compile reads (format at the top
/// of native/libseccomp-compile.c): <c>default</c>, <c>badarch</c>, one <c>arch</c> per covered ABI, one
/// <c>rule</c> per rule. Shared with bench/compiler (linked source file).
/// <para>
/// Mapping: ArgCondition operators map one to one to SCMP_CMP_*; MaskedEqual puts the mask in datum_a and the
/// value in datum_b (libseccomp then matches <c>(arg &amp; mask) == (value &amp; mask)</c>, the same as ours
/// because a policy's masked value never has bits outside the mask — checked here). Only 64-bit-width
/// conditions are expressible: 32-bit width is SeccompKit's extension (libseccomp issue #383), except on
/// policies covering only 32-bit ABIs, where libseccomp compares the low halves anyway.
/// </para>
/// <para>
/// Not expressible (throws <see cref="NotExpressibleException"/>): ENOSYS cutoffs (runc patches those into
/// the BPF, libseccomp does not make them), two conditions on one argument in one rule (libseccomp: EINVAL),
/// and syscalls whose rules mix actions where libseccomp's answer would depend on rule order or on its rule
/// tree. Rules whose action equals the default are dropped (libseccomp refuses them with EACCES, and runc
/// drops them) when that cannot change the meaning: when every other rule of the syscall has that action too
/// or the syscall has no other rule. An unconditional rule makes libseccomp ignore the syscall's conditional
/// rules; it is written alone when it is at least as restrictive as all of them (then it always wins in the
/// policy too).
/// </para>
/// </summary>
public static class LibseccompPolicyWriter
{
    /// <summary>The flat text for <paramref name="policy"/>.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="allowMixedConditionalActions">Write conditional rules of one syscall with different actions
    /// anyway (for profiles whose rules are disjoint, e.g. podman's socket rules); the caller then checks libseccomp's result.</param>
    public static string Write(SeccompPolicy policy, bool allowMixedConditionalActions = false)
    {
        if (!policy.EnosysAbove.IsEmpty)
            throw new NotExpressibleException("ENOSYS cutoffs are runc's BPF patch, not something libseccomp generates; compare the policy without them (WithEnosysAbove(empty)).");
        bool all32 = policy.EffectiveArchitectures.All(a => !a.Is64Bit);
        var sb = new StringBuilder();
        sb.Append("default ").Append(Hex(policy.DefaultAction.ReturnValue)).Append('\n');
        sb.Append("badarch ").Append(Hex(policy.BadArchAction.ReturnValue)).Append('\n');
        foreach (var a in policy.EffectiveArchitectures) sb.Append("arch ").Append(a.Name).Append('\n');
        foreach (var name in policy.SyscallNames)
        {
            var rules = policy.RulesFor(name).Where(r => r.Action != policy.DefaultAction).ToList();
            var actions = policy.RulesFor(name).Select(r => r.Action).Distinct().ToList();
            if (actions.Count > 1 && rules.Count != policy.RulesFor(name).Length)
                throw new NotExpressibleException($"{name}: a rule with the default action {policy.DefaultAction} next to rules with other actions; libseccomp refuses such rules and dropping it would change the meaning.");
            var unconditional = rules.Where(r => r.IsUnconditional).ToList();
            if (unconditional.Count > 0)
            {
                var u = unconditional.MinBy(r => r.Action.Precedence)!;
                if (rules.Any(r => r.Action.Precedence < u.Action.Precedence))
                    throw new NotExpressibleException($"{name}: an unconditional {u.Action} rule with a more restrictive conditional rule; libseccomp would let the unconditional rule win.");
                rules = [u];
            }
            else if (!allowMixedConditionalActions && rules.Select(r => r.Action).Distinct().Count() > 1)
                throw new NotExpressibleException($"{name}: conditional rules with different actions ({string.Join(", ", rules.Select(r => r.Action).Distinct())}); libseccomp's result for inputs matching several depends on its rule tree.");
            foreach (var r in rules)
            {
                sb.Append("rule ").Append(name).Append(' ').Append(Hex(r.Action.ReturnValue)).Append(' ')
                  .Append(r.Conditions.Length.ToString(CultureInfo.InvariantCulture));
                if (r.Conditions.Select(c => c.Index).Distinct().Count() != r.Conditions.Length)
                    throw new NotExpressibleException($"{r}: two conditions on one argument; libseccomp allows one comparison per argument and rule.");
                foreach (var c in r.Conditions)
                {
                    if (c.Width == ArgumentWidth.Bits32 && !all32)
                        throw new NotExpressibleException($"{r}: a 32-bit-width condition on a policy covering a 64-bit ABI; libseccomp compares all 64 bits there (issue #383).");
                    if (c.Operator == ArgOperator.MaskedEqual && (c.Value & ~c.Mask) != 0)
                        throw new NotExpressibleException($"{r}: masked value 0x{c.Value:x} has bits outside mask 0x{c.Mask:x}; SeccompKit never matches it, libseccomp masks the value first.");
                    sb.Append(' ').Append(c.Index.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(Op(c.Operator)).Append(' ');
                    if (c.Operator == ArgOperator.MaskedEqual) sb.Append(Hex(c.Mask)).Append(' ').Append(Hex(c.Value));
                    else sb.Append(Hex(c.Value)).Append(" 0");
                }
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    private static string Op(ArgOperator op) => op switch
    {
        ArgOperator.Equal => "eq",
        ArgOperator.NotEqual => "ne",
        ArgOperator.Less => "lt",
        ArgOperator.LessOrEqual => "le",
        ArgOperator.Greater => "gt",
        ArgOperator.GreaterOrEqual => "ge",
        ArgOperator.MaskedEqual => "masked_eq",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}
