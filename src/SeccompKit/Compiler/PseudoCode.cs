using System.Globalization;
using System.Text;
using SeccompKit.Compiler.Lowering;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Compiler;

/// <summary>
/// A C-like view of what a compiled filter does, written from the same partition the compiler lowered,
/// so it reads like the policy (libseccomp's PFC plays this role): per arch, which syscalls end in which
/// action and what the argument checks are.
/// </summary>
public static class PseudoCode
{
    /// <summary>Renders <paramref name="compiled"/>.</summary>
    public static string Render(CompiledPolicy compiled)
    {
        var policy = compiled.OptimizedPolicy;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"/* {compiled.Program.Length} instructions; policy default {policy.DefaultAction} */");
        foreach (var group in policy.EffectiveArchitectures.GroupBy(a => a.AuditArch))
        {
            var abis = group.ToList();
            var archName = new SyscallSymbols().TryGetArchName(group.Key, out var n) ? n : $"0x{group.Key:x8}";
            sb.AppendLine(CultureInfo.InvariantCulture, $"if (arch == {archName}) {{  /* {string.Join(", ", abis.Select(a => a.Name))} */");
            var ranges = SyscallPartition.Build(policy, group.Key, abis);
            // Group the constant outcomes by action so each action is listed once.
            foreach (var byAction in ranges.Where(r => r.Outcome is Outcome.Constant).GroupBy(r => ((Outcome.Constant)r.Outcome).Action)
                         .OrderByDescending(g => g.Sum(r => r.KnownSyscalls)))
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"    /* {byAction.Key} for: */");
                var items = byAction.Select(r => Describe(policy, group.Key, r)).ToList();
                Wrap(sb, "    if (nr in { ", items, " })");
                sb.AppendLine(CultureInfo.InvariantCulture, $"        return {byAction.Key};");
            }
            foreach (var checks in ranges.Select(r => r.Outcome).OfType<Outcome.Checks>().Distinct())
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"    if (nr == {checks.Syscall}{(abis.Count > 1 ? $" /* {checks.Abi.Name} */" : "")}) {{");
                foreach (var rule in checks.Rules)
                {
                    var conds = rule.Conditions.Select(c => Condition(c, c.EffectiveWidth(checks.Abi), checks.Syscall));
                    sb.AppendLine(CultureInfo.InvariantCulture, $"        if ({string.Join(" && ", conds)}) return {rule.Action};");
                }
                sb.AppendLine(CultureInfo.InvariantCulture, $"        return {checks.Fallthrough};");
                sb.AppendLine("    }");
            }
            sb.AppendLine("}");
        }
        sb.AppendLine(CultureInfo.InvariantCulture, $"return {policy.BadArchAction};  /* any other arch */");
        return sb.ToString();
    }

    private static string Describe(SeccompPolicy policy, uint audit, NumberRange r)
    {
        var names = new List<string>();
        foreach (var abi in policy.EffectiveArchitectures.Where(a => a.AuditArch == audit))
            foreach (var e in abi.Syscalls.All)
            {
                uint nr = unchecked((uint)e.Number);
                if (nr >= r.Start && nr <= r.End) names.Add(e.Name);
            }
        string span = r.Start == r.End ? Hex(r.Start) : $"{Hex(r.Start)}..{Hex(r.End)}";
        if (names.Count == 0) return $"{span} (no syscalls)";
        if (names.Count <= 1 && r.Start == r.End) return names[0];
        return names.Count <= 6 ? $"{span} ({string.Join(" ", names)})" : $"{span} ({names.Count} syscalls: {string.Join(" ", names.Take(4))} ...)";
    }

    private static string Hex(uint v) => v < 10 ? v.ToString(CultureInfo.InvariantCulture) : $"0x{v:x}";

    private static string Condition(ArgCondition c, ArgumentWidth width, string syscall)
    {
        string name = SyscallSignatures.TryGet(syscall, out var sig) && c.Index < sig.Arguments.Length ? sig.Arguments[c.Index].Name : $"args[{c.Index}]";
        if (width == ArgumentWidth.Bits32) name = $"(u32){name}";
        ulong mask = width == ArgumentWidth.Bits32 ? uint.MaxValue : ulong.MaxValue;
        return c.Operator == ArgOperator.MaskedEqual
            ? $"({name} & 0x{c.Mask & mask:x}) == 0x{c.Value & mask:x}"
            : $"{name} {ArgCondition.OperatorText(c.Operator)} 0x{c.Value & mask:x}";
    }

    private static void Wrap(StringBuilder sb, string prefix, List<string> items, string suffix)
    {
        var line = new StringBuilder(prefix);
        string indent = new(' ', prefix.Length);
        for (int i = 0; i < items.Count; i++)
        {
            string item = items[i] + (i + 1 < items.Count ? ", " : "");
            if (line.Length + item.Length > 110 && line.Length > indent.Length) { sb.AppendLine(line.ToString().TrimEnd()); line.Clear().Append(indent); }
            line.Append(item);
        }
        sb.AppendLine(line + suffix);
    }
}
