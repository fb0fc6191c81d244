using System.Globalization;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis.Lint;

/// <summary>SK401 and SK501-SK504: what each rule compares, and whether it can ever decide anything.</summary>
internal static class RuleChecks
{
    public static IEnumerable<LintFinding> Run(LintContext c)
    {
        var p = c.Policy;
        bool any64 = p.EffectiveArchitectures.Any(a => a.Is64Bit);
        for (int i = 0; i < p.Rules.Length; i++)
        {
            var rule = p.Rules[i];
            if (any64 && SyscallSignatures.TryGet(rule.Syscall, out var sig))
                foreach (var cond in rule.Conditions)
                {
                    if (cond.Width != ArgumentWidth.Bits64 || cond.Index >= sig.Arguments.Length) continue;
                    var arg = sig.Arguments[cond.Index];
                    if (arg.Width != ArgumentWidth.Bits32) continue;
                    if (!p.EffectiveArchitectures.Any(a => a.Is64Bit && a.Syscalls.Contains(rule.Syscall))) continue;
                    yield return c.Finding(LintRules.WideCompare, c.Map.At(rule.Origin, condition: true),
                        $"{rule.Syscall}'s {arg.Name} ({arg.CType}) is 32 bits, but `{cond}` in `{rule}` compares all 64: a caller who sets the upper half decides the comparison while the kernel uses only the low half",
                        WideFix(c, rule, cond, arg.Name), rule.Syscall);
                }
            if (Contradiction(p, rule) is { } why)
                yield return c.Finding(LintRules.Contradiction, c.Map.At(rule.Origin), $"`{rule}` never applies: {why}", c.Fix.Remove(rule, c.Map.At(rule.Origin)), rule.Syscall);
            if (!p.EnosysAbove.IsEmpty)
            {
                var has = p.EffectiveArchitectures.Where(a => a.Syscalls.Contains(rule.Syscall)).ToList();
                if (has.Count > 0 && has.All(a => p.IsAboveEnosysCutoff(a, a.Syscalls.GetNumber(rule.Syscall))))
                    yield return c.Finding(LintRules.NeverReached, c.Map.At(rule.Origin),
                        $"`{rule}` is never reached: {rule.Syscall} is above the ENOSYS cutoff on {string.Join(", ", has.Select(a => string.Create(CultureInfo.InvariantCulture, $"{a.Name} ({p.EnosysAbove[a]})")))}, so it gets ERRNO(ENOSYS) first",
                        c.Fix.LanguageOnly($"raise the enosys-above cutoffs to {rule.Syscall}'s number, or remove the rule", "the runtime sets the cutoff from the highest syscall the profile names; check the runtime version's syscall table knows this syscall"), rule.Syscall);
            }
        }

        foreach (var name in p.SyscallNames)
        {
            var rules = p.RulesFor(name);
            var indexed = p.Rules.Select((r, i) => (r, i)).Where(t => t.r.Syscall == name).ToList();
            foreach (var (b, j) in indexed)
            {
                var shadow = indexed.FirstOrDefault(t => t.i != j && t.r.Conditions.All(b.Conditions.Contains) &&
                    (t.r.Action.Precedence < b.Action.Precedence || (t.r.Action.Precedence == b.Action.Precedence && t.i < j)));
                if (shadow.r is null) continue;
                var at = c.Map.At(b.Origin);
                yield return c.Finding(LintRules.Shadowed, at,
                    $"`{b}` never decides: `{shadow.r}` at {c.Map.At(shadow.r.Origin)} matches every call it matches and {(shadow.r.Action.Precedence < b.Action.Precedence ? "is more restrictive" : "comes first")}",
                    c.Fix.Remove(b, at), name);
            }
            if (rules.All(r => r.Action == p.DefaultAction))
                yield return c.Finding(LintRules.SameAsDefault, c.Map.At(rules[0].Origin),
                    $"every rule for {name} has the default action {p.DefaultAction}, so {(rules.Length == 1 ? "it changes" : "they change")} nothing",
                    c.Fix.Remove(rules[0], c.Map.At(rules[0].Origin)), name);
        }
    }

    private static string WideFix(LintContext c, SyscallRule rule, ArgCondition cond, string argName)
    {
        if (c.Input.SourceKind != LintSourceKind.Json)
            return $"compare the low 32 bits: write {argName}:32 (or arg{cond.Index}:32) in the condition";
        ulong low = cond.Value & uint.MaxValue;
        return cond.Operator switch
        {
            ArgOperator.Equal => string.Create(CultureInfo.InvariantCulture, $"make the condition {{\"index\": {cond.Index}, \"op\": \"SCMP_CMP_MASKED_EQ\", \"value\": 4294967295, \"valueTwo\": {low}}}"),
            ArgOperator.MaskedEqual => string.Create(CultureInfo.InvariantCulture, $"make the mask 32 bits: \"value\": {cond.Mask & uint.MaxValue} (valueTwo {low})"),
            _ => $"OCI has no 32-bit {ArgCondition.OperatorText(cond.Operator)}: write the allowed values as SCMP_CMP_MASKED_EQ conditions with \"value\": 4294967295 (seccompkit convert writes them from {argName}:32 in the policy language)",
        };
    }

    /// <summary>Why the conditions cannot all hold on any covered ABI that has the syscall, or null when they can (or it is not sure).</summary>
    private static string? Contradiction(SeccompPolicy p, SyscallRule rule)
    {
        if (rule.Conditions.Length < 2) return null;
        var abis = p.EffectiveArchitectures.Where(a => a.Syscalls.Contains(rule.Syscall)).ToList();
        string? why = null;
        foreach (var abi in abis)
        {
            string? here = null;
            foreach (var g in rule.Conditions.GroupBy(x => x.Index))
            {
                var widths = g.Select(x => x.EffectiveWidth(abi)).Distinct().ToList();
                if (widths.Count != 1) continue;
                here = Unsatisfiable([.. g], widths[0]);
                if (here is not null) break;
            }
            if (here is null) return null;
            why ??= here;
        }
        return why;
    }

    private static string? Unsatisfiable(List<ArgCondition> conds, ArgumentWidth width)
    {
        ulong max = width == ArgumentWidth.Bits32 ? uint.MaxValue : ulong.MaxValue;
        ulong lo = 0, hi = max;
        foreach (var x in conds)
        {
            ulong v = x.Value & max;
            switch (x.Operator)
            {
                case ArgOperator.Equal: lo = Math.Max(lo, v); hi = Math.Min(hi, v); break;
                case ArgOperator.Less: if (v == 0) return $"`{x}` holds for no value"; hi = Math.Min(hi, v - 1); break;
                case ArgOperator.LessOrEqual: hi = Math.Min(hi, v); break;
                case ArgOperator.Greater: if (v == max) return $"`{x}` holds for no value"; lo = Math.Max(lo, v + 1); break;
                case ArgOperator.GreaterOrEqual: lo = Math.Max(lo, v); break;
            }
        }
        string all = string.Join(" && ", conds);
        if (lo > hi) return $"no value satisfies {all}";
        foreach (var x in conds.Where(x => x.Operator == ArgOperator.NotEqual))
            if (lo == hi && (x.Value & max) == lo) return $"no value satisfies {all}";
        var masked = conds.Where(x => x.Operator == ArgOperator.MaskedEqual).ToList();
        foreach (var x in masked)
        {
            ulong m = x.Mask & max, v = x.Value & max;
            if ((v & ~m) != 0) return $"`{x}` expects bits outside its mask, which masking clears";
            if (lo == hi && (lo & m) != v) return $"no value satisfies {all}";
        }
        for (int a = 0; a < masked.Count; a++)
            for (int b = a + 1; b < masked.Count; b++)
                if (((masked[a].Value ^ masked[b].Value) & masked[a].Mask & masked[b].Mask & max) != 0)
                    return $"`{masked[a]}` and `{masked[b]}` want different values of the same bits";
        return null;
    }
}
