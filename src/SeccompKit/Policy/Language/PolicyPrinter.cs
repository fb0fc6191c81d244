using System.Numerics;
using System.Text;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Language;

/// <summary>Writes a <see cref="SeccompPolicy"/> as canonical policy text (see <see cref="PolicyLanguage.Print"/>).</summary>
internal static class PolicyPrinter
{
    public static string Print(SeccompPolicy p)
    {
        var sb = new StringBuilder();
        sb.Append("default ").Append(ActionText(p.DefaultAction)).Append('\n');
        if (!p.Architectures.IsEmpty)
            sb.Append("architectures ").Append(string.Join(", ", p.Architectures.Select(a => a.Name))).Append('\n');
        // Written whenever it was declared, so that an OCI export of the printed text still refuses (or takes) the same.
        if (p.DeclaredBadArchAction is { } badArch)
            sb.Append("on-bad-arch ").Append(ActionText(badArch)).Append('\n');
        if (p.Flags != PolicyFlags.None)
        {
            var unknown = p.Flags & ~(PolicyFlags.Tsync | PolicyFlags.Log | PolicyFlags.SpecAllow | PolicyFlags.WaitKillableRecv);
            if (unknown != 0) throw new PolicyException($"filter flags 0x{(int)unknown:x} have no name in the policy language; only tsync, log, spec-allow and wait-killable-recv can be written.");
            var names = new[] { PolicyFlags.Tsync, PolicyFlags.Log, PolicyFlags.SpecAllow, PolicyFlags.WaitKillableRecv }.Where(f => p.Flags.HasFlag(f)).Select(FlagText);
            sb.Append("flags ").Append(string.Join(", ", names)).Append('\n');
        }
        if (p.ListenerPath is not null) sb.Append("listener ").Append(Quote(p.ListenerPath, "listener path")).Append('\n');
        if (p.ListenerMetadata is not null) sb.Append("listener-metadata ").Append(Quote(p.ListenerMetadata, "listener metadata")).Append('\n');
        if (!p.EnosysAbove.IsEmpty)
            sb.Append("enosys-above ").Append(string.Join(", ", p.EnosysAbove.Select(e => $"{e.Key.Name} {e.Value}"))).Append('\n');

        foreach (var (action, rules) in Blocks(p))
        {
            sb.Append('\n').Append(ActionText(action)).Append(" {\n");
            foreach (var item in Items(rules))
                sb.Append("    ").Append(item).Append(",\n");
            sb.Append("}\n");
        }
        return sb.ToString();
    }

    /// <summary>The action as the language writes it: <c>allow</c>, <c>errno(EPERM)</c>, <c>trap(5)</c>...</summary>
    public static string ActionText(PolicyAction a) => a.Kind switch
    {
        SeccompAction.Allow => "allow",
        SeccompAction.Log => "log",
        SeccompAction.KillProcess => "kill-process",
        SeccompAction.KillThread => "kill-thread",
        SeccompAction.UserNotif => "notify",
        SeccompAction.Trap => a.Data == 0 ? "trap" : $"trap({a.Data})",
        SeccompAction.Trace => a.Data == 0 ? "trace" : $"trace({a.Data})",
        SeccompAction.Errno => ErrnoNames.TryGetName(a.Data, out var n) ? $"errno({n})" : $"errno({a.Data})",
        _ => throw new PolicyException($"action {a} cannot be written in the policy language."),
    };

    /// <summary>The word of one flag in a <c>flags</c> statement: <c>tsync</c>, <c>log</c>, <c>spec-allow</c>, <c>wait-killable-recv</c>.</summary>
    public static string FlagText(PolicyFlags flag) => flag switch
    {
        PolicyFlags.Tsync => "tsync",
        PolicyFlags.Log => "log",
        PolicyFlags.SpecAllow => "spec-allow",
        PolicyFlags.WaitKillableRecv => "wait-killable-recv",
        _ => throw new ArgumentOutOfRangeException(nameof(flag), flag, "one flag"),
    };

    /// <summary>One rule as a block of one item, for messages: <c>allow { openat(flags &amp; O_ACCMODE == O_RDONLY) }</c>.</summary>
    public static string RuleText(SyscallRule rule)
    {
        string item = rule.IsUnconditional ? rule.Syscall
            : $"{rule.Syscall}({string.Join(" && ", rule.Conditions.OrderBy(c => c.Index).Select(c => Condition(rule.Syscall, c)).Distinct())})";
        return $"{ActionText(rule.Action)} {{ {item} }}";
    }

    /// <summary>
    /// Rules grouped into blocks. Rules of one syscall whose actions have the same precedence but
    /// different data (errno(EPERM) vs errno(ENOSYS)) are decided by order, so that order is kept:
    /// blocks are ordered by a topological sort of those constraints (least restrictive action first),
    /// and if the constraints form a cycle, blocks follow the rules' order instead.
    /// </summary>
    private static List<(PolicyAction Action, List<SyscallRule> Rules)> Blocks(SeccompPolicy p)
    {
        var rules = new List<SyscallRule>();
        var keys = new List<string>();
        foreach (var r in p.Rules)
        {
            foreach (var c in r.Conditions)
                _ = ArgumentNames.Name(r.Syscall, c.Index);
            if (!(r.Syscall.Length > 0 && Lexer.IsIdentStart(r.Syscall[0]) && r.Syscall.All(Lexer.IsIdentPart)))
                throw new PolicyException($"syscall name '{r.Syscall}' cannot be written in the policy language.");
            // Rules whose conditions print alike are equivalent (x:32 == v and x & 0xffffffff == v), so only the one that
            // wins among them (the most restrictive, then the earlier) ever decides: keep it, in its place.
            // (Conditions that print alike within one rule are one condition: an AND of equals.)
            string key = r.Syscall + "(" + string.Join(" && ", r.Conditions.Select(c => Condition(r.Syscall, c)).Distinct().Order(StringComparer.Ordinal)) + ")";
            int same = keys.IndexOf(key);
            if (same < 0) { rules.Add(r); keys.Add(key); }
            else if (r.Action.Precedence < rules[same].Action.Precedence)
            {
                rules.RemoveAt(same); keys.RemoveAt(same);
                rules.Add(r); keys.Add(key);
            }
        }
        var actions = rules.Select(r => r.Action).Distinct().ToList();
        var edges = new HashSet<(PolicyAction, PolicyAction)>();
        foreach (var g in rules.GroupBy(r => r.Syscall, StringComparer.Ordinal))
        {
            var list = g.ToList();
            for (int i = 0; i < list.Count; i++)
                for (int j = i + 1; j < list.Count; j++)
                    if (list[i].Action != list[j].Action && list[i].Action.Precedence == list[j].Action.Precedence)
                        edges.Add((list[i].Action, list[j].Action));
        }
        var order = new List<PolicyAction>();
        var remaining = new List<PolicyAction>(actions);
        while (remaining.Count > 0)
        {
            var ready = remaining.Where(a => !edges.Any(e => e.Item2 == a && remaining.Contains(e.Item1))).ToList();
            if (ready.Count == 0)
            {
                // A cycle: keep the original order, one block per run of equal actions.
                var runs = new List<(PolicyAction, List<SyscallRule>)>();
                foreach (var r in rules)
                {
                    if (runs.Count > 0 && runs[^1].Item1 == r.Action) runs[^1].Item2.Add(r);
                    else runs.Add((r.Action, [r]));
                }
                return runs;
            }
            var next = ready.OrderByDescending(a => a.Precedence).ThenBy(a => a.Data).First();
            order.Add(next);
            remaining.Remove(next);
        }
        return [.. order.Select(a => (a, rules.Where(r => r.Action == a).ToList()))];
    }

    /// <summary>One text item per syscall: unconditional first, conditional rules joined with ||.</summary>
    private static IEnumerable<string> Items(List<SyscallRule> rules)
    {
        foreach (var g in rules.GroupBy(r => r.Syscall, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            if (g.Any(r => r.IsUnconditional)) yield return g.Key;
            var alts = g.Where(r => !r.IsUnconditional)
                .Select(r => string.Join(" && ", r.Conditions.Select(c => (c.Index, Text: Condition(g.Key, c))).Distinct().OrderBy(c => c.Index).ThenBy(c => c.Text, StringComparer.Ordinal).Select(c => c.Text)))
                .Distinct().Order(StringComparer.Ordinal).ToList();
            if (alts.Count > 1) alts = [.. alts.Select(a => a.Contains(" && ", StringComparison.Ordinal) ? $"({a})" : a)];
            // The parser expands a condition to at most MaxAlternatives rules (a bound on hostile input), so more
            // alternatives than that are printed as several items of the same syscall: the text reads back as the same
            // rules (found by the fuzzer: a recovered filter with 70 alternatives for personality did not parse).
            foreach (var chunk in alts.Chunk(PolicyParser.MaxAlternatives))
                yield return $"{g.Key}({string.Join(" || ", chunk)})";
        }
    }

    internal static string Condition(string syscall, ArgCondition c)
    {
        var defaultWidth = ArgumentNames.DefaultWidth(syscall, c.Index);
        var (op, width) = (c.Operator, c.Width);
        if (op == ArgOperator.MaskedEqual && c.Mask <= uint.MaxValue && c.Value <= uint.MaxValue)
        {
            // (x & 0xffffffff) == v is x:32 == v (what a learned rule or runc's MASKED_EQ of an int says); a mask within
            // 32 bits compares the same at either width, so the argument's own width needs no suffix.
            if (c.Mask == uint.MaxValue) (op, width) = (ArgOperator.Equal, ArgumentWidth.Bits32);
            else width = defaultWidth;
        }
        var name = ArgumentNames.Name(syscall, c.Index);
        if (width != defaultWidth) name += width == ArgumentWidth.Bits32 ? ":32" : ":64";
        if (op == ArgOperator.MaskedEqual)
        {
            var mask = Value(syscall, c.Index, width, c.Mask, mask: true);
            bool enumMask = PolicyConstants.TryGet(mask, out var mc) && !mc.IsFlag;
            var value = c.Value == 0 && !enumMask ? "0" : Value(syscall, c.Index, width, c.Value, mask: false);
            if (mask.Contains('|', StringComparison.Ordinal)) mask = $"({mask})";
            return $"{name} & {mask} == {value}";
        }
        return $"{name} {ArgCondition.OperatorText(op)} {Value(syscall, c.Index, width, c.Value, mask: false)}";
    }

    private static string Value(string syscall, int index, ArgumentWidth width, ulong value, bool mask)
    {
        if (ArgumentNames.Family(syscall, index) is { } family && Symbolic(family, value, width) is { } s) return s;
        if (!mask && SyscallSignatures.TryGet(syscall, out var sig) && index < sig.Arguments.Length && sig.Arguments[index].IsSigned)
        {
            ulong sign = width == ArgumentWidth.Bits32 ? 0x8000_0000UL : 0x8000_0000_0000_0000UL;
            ulong max = width == ArgumentWidth.Bits32 ? uint.MaxValue : ulong.MaxValue;
            if ((value & sign) != 0 && value <= max)
            {
                ulong magnitude = (0 - value) & max;
                return magnitude <= 4096 ? $"-{magnitude}" : $"0x{value:x}";
            }
        }
        return value <= (mask ? 9UL : 4096UL) ? value.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"0x{value:x}";
    }

    /// <summary>
    /// The value as one constant of the family, or as flags of the family OR-ed (plus at most one
    /// enumerated value); null when no exact spelling exists.
    /// </summary>
    internal static string? Symbolic(string family, ulong value, ArgumentWidth width)
    {
        ulong max = width == ArgumentWidth.Bits32 ? uint.MaxValue : ulong.MaxValue;
        var consts = PolicyConstants.Family(family)
            .Where(c => width == ArgumentWidth.Bits64 || (c.Value >= int.MinValue && c.Value <= uint.MaxValue))
            .Select(c => (c.Name, Value: unchecked((ulong)c.Value) & max, c.IsFlag))
            .ToList();
        foreach (var c in consts)
            if (c.Value == value) return c.Name;
        var flags = consts.Where(c => c.IsFlag && c.Value != 0).DistinctBy(c => c.Value)
            .OrderByDescending(c => BitOperations.PopCount(c.Value)).ToList();
        if (flags.Count == 0) return null;
        var names = new List<string>();
        ulong rest = value;
        foreach (var f in flags)
            if ((rest & f.Value) == f.Value) { names.Add(f.Name); rest &= ~f.Value; }
        if (rest != 0)
        {
            var e = consts.FirstOrDefault(c => !c.IsFlag && c.Value == rest);
            if (e.Name is null) return null;
            names.Insert(0, e.Name);
        }
        return names.Count == 0 ? null : string.Join("|", names);
    }

    private static string Quote(string s, string what)
    {
        var sb = new StringBuilder("\"");
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { sb.Append(c).Append(s[++i]); }
                    else if (char.IsSurrogate(c))
                        throw new PolicyException($"the {what} contains a lone UTF-16 surrogate (\\u{(int)c:x4} at index {i}), which the policy language cannot write.");
                    else if (char.IsControl(c)) sb.Append($"\\u{{{(int)c:x}}}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
