using System.Globalization;
using System.Text;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis;

/// <summary>
/// Renders a <see cref="FilterExplanation"/>: a readable summary grouped by action, with syscall and argument names and
/// the policy language's symbolic constants (<see cref="Text"/>), or the JSON document of docs/EXPLAIN.md (<see cref="Json"/>).
/// </summary>
public static class ExplanationText
{
    /// <summary>The JSON schema identifier (<c>schema</c> field).</summary>
    public const string Schema = "seccompkit-explain/1";

    /// <summary>
    /// A region's conditions in the policy language's terms (<c>flags &amp; CLONE_NEWUSER != 0</c>), alternatives joined with
    /// <c>||</c>; word constraints (<c>ip.lo &gt;= 0x1000</c>) and opaque comparisons where no argument condition exists;
    /// "always" for none.
    /// </summary>
    public static string Conditions(ExplainedRegion region, Architecture abi, string? syscall)
    {
        var parts = new List<string>();
        var alternatives = PolicyRecovery.Conditions(region, abi, out _);
        if (alternatives is not null && syscall is not null && SyscallSignatures.TryGet(syscall, out var sig) &&
            alternatives.All(a => a.All(c => c.Index < sig.Arguments.Length)))
        {
            var texts = alternatives.Select(a => string.Join(" && ", a.OrderBy(c => c.Index).Select(c => PolicyPrinter.Condition(syscall, c)).Distinct())).Where(t => t.Length > 0).ToList();
            if (texts.Count == 1) parts.Add(texts[0]);
            else if (texts.Count > 1) parts.Add(string.Join(" || ", texts.Select(t => t.Contains("&&", StringComparison.Ordinal) ? $"({t})" : t)));
        }
        else
        {
            for (int i = 2; i < 16; i++)
                if (!region.Words[i].IsFull) parts.Add(region.Words[i].Describe(FilterExplainer.WordName(i, abi.AuditArch), Hex));
        }
        foreach (var o in region.Opaque) parts.Add($"{o.Describe(i => FilterExplainer.WordName(i, abi.AuditArch))} [opaque, filter {o.Filter} pc {o.Pc}]");
        return parts.Count == 0 ? "always" : string.Join(" && ", parts);
    }

    /// <summary>The action of a region: <c>ERRNO(EPERM)</c>, or the computed value's description.</summary>
    public static string Action(ExplainedRegion r) => r.Value is { } v ? ActionNames.Format(v) : $"computed: {r.ValueText}";

    private static string Where(ExplainedRegion r) => r.Decider.Filter < 0 ? "exempt" : r.Decider.Filter == 0 ? $"pc {r.Decider.Pc}" : $"filter {r.Decider.Filter} pc {r.Decider.Pc}";

    private static string Hex(uint v) => v < 10 ? v.ToString(CultureInfo.InvariantCulture) : "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Whether an ABI is treated exactly as calls from an unknown arch (one action, unconditionally).</summary>
    public static bool SameAsUnknownArch(FilterExplanation e, AbiExplanation a)
    {
        if (e.UnknownArch.Length != 1 || !e.UnknownArch[0].IsUnconditional || e.UnknownArch[0].Value is not { } v) return false;
        bool Plain(ExplainedRegion r) => r.Value == v && r.IsUnconditional;
        return a.Syscalls.All(s => s.Regions.Length == 1 && (Plain(s.Regions[0]) || s.Regions[0].Decider.Filter < 0)) && a.OtherNumbers.All(n => n.Regions.Length == 1 && Plain(n.Regions[0]));
    }

    /// <summary>The readable summary.</summary>
    public static string Text(FilterExplanation e)
    {
        var sb = new StringBuilder();
        var same = e.Abis.Where(a => SameAsUnknownArch(e, a)).Select(a => a.Abi.Name).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"{e.Stack.Filters.Length} filter(s), {e.Stack.Filters.Sum(f => f.Length)} instructions, {e.PathCount} paths.\n");
        if (e.UnknownArch.Length == 1 && e.UnknownArch[0].IsUnconditional)
            sb.Append(CultureInfo.InvariantCulture, $"Unknown arch values{(same.Count > 0 ? $" and {string.Join(", ", same)}" : "")}: {Action(e.UnknownArch[0])} ({Where(e.UnknownArch[0])}).\n");
        else
        {
            sb.Append("Unknown arch values (the filter does not check arch first):\n");
            foreach (var r in e.UnknownArch) sb.Append(CultureInfo.InvariantCulture, $"  {DescribeAll(r, Architecture.X86_64)}: {Action(r)} ({Where(r)})\n");
        }
        foreach (var a in e.Abis)
        {
            if (same.Contains(a.Abi.Name)) continue;
            sb.Append('\n').Append(a.Abi.Name).Append(CultureInfo.InvariantCulture, $" (arch 0x{a.Abi.AuditArch:x8}{(a.Abi == Architecture.X32 ? ", nr with the x32 bit" : "")}):\n");
            var plain = a.Syscalls.Where(s => s.Regions.Length == 1 && s.Regions[0].IsUnconditional).ToList();
            foreach (var g in plain.GroupBy(s => Action(s.Regions[0])).OrderByDescending(g => g.Count()))
                sb.Append(CultureInfo.InvariantCulture, $"  {g.Key} ({g.Count()}): {string.Join(" ", g.Select(s => s.Regions[0].Decider.Filter < 0 ? s.Name + "[exempt]" : s.Name))}\n");
            var conditional = a.Syscalls.Where(s => !(s.Regions.Length == 1 && s.Regions[0].IsUnconditional)).ToList();
            if (conditional.Count > 0)
            {
                sb.Append("  decided by arguments:\n");
                foreach (var g in conditional.GroupBy(s => FilterExplainer.OutcomeKey(s.Regions)))
                {
                    var first = g.First();
                    sb.Append(CultureInfo.InvariantCulture, $"    {string.Join(", ", g.Select(s => s.Name))}:\n");
                    foreach (var r in first.Regions.OrderBy(r => r.ConstrainedDataWords.Count() + r.Opaque.Length == 0 ? 1 : 0))
                        sb.Append(CultureInfo.InvariantCulture, $"      {Conditions(r, a.Abi, first.Name)}: {Action(r)} ({Where(r)})\n");
                }
            }
            if (a.OtherNumbers.Length > 0)
            {
                sb.Append("  numbers outside the table:\n");
                foreach (var g in a.OtherNumbers.GroupBy(n => FilterExplainer.OutcomeKey(n.Regions)))
                {
                    var regions = g.First().Regions;
                    string ranges = string.Join(", ", g.Select(n => n.First == n.Last ? Hex(n.First) : $"{Hex(n.First)}-{Hex(n.Last)}"));
                    string outcome = regions.Length == 1 && regions[0].IsUnconditional ? $"{Action(regions[0])} ({Where(regions[0])})"
                        : string.Join("; ", regions.Select(r => $"{(r.Words[0].FixedMask is 0 or uint.MaxValue && r.Words[0].Exclusions.All(x => x.IsRange || x.A == uint.MaxValue) ? "" : r.Words[0].Describe("nr", Hex) + " && ")}{Conditions(r, a.Abi, null)}: {Action(r)} ({Where(r)})"));
                    sb.Append(CultureInfo.InvariantCulture, $"    {ranges}: {outcome}\n");
                }
            }
        }
        if (e.Inexpressible.Length > 0)
        {
            sb.Append("\nInexpressible (kept as opaque conditions above, never dropped):\n");
            foreach (var i in e.Inexpressible) sb.Append(CultureInfo.InvariantCulture, $"  filter {i.Filter} pc {i.Pc}: {i.What}\n");
        }
        return sb.ToString();
    }

    private static string DescribeAll(ExplainedRegion r, Architecture naming)
    {
        var parts = new List<string>();
        for (int i = 0; i < 16; i++)
            if (!r.Words[i].IsFull) parts.Add(r.Words[i].Describe(FilterExplainer.WordName(i, naming.AuditArch), Hex));
        foreach (var o in r.Opaque) parts.Add(o.Describe(i => FilterExplainer.WordName(i, naming.AuditArch)));
        return parts.Count == 0 ? "always" : string.Join(" && ", parts);
    }

    /// <summary>The JSON document (schema <see cref="Schema"/>, described in docs/EXPLAIN.md).</summary>
    public static string Json(FilterExplanation e, RecoveredPolicy? recovered = null)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("schema", Schema);
            w.WriteNumber("filters", e.Stack.Filters.Length);
            w.WriteNumber("instructions", e.Stack.Filters.Sum(f => f.Length));
            w.WriteNumber("paths", e.PathCount);
            w.WritePropertyName("unknownArch");
            Regions(w, e.UnknownArch, Architecture.X86_64, null);
            w.WriteStartArray("abis");
            foreach (var a in e.Abis)
            {
                w.WriteStartObject();
                w.WriteString("name", a.Abi.Name);
                w.WriteNumber("auditArch", a.Abi.AuditArch);
                bool same = SameAsUnknownArch(e, a);
                w.WriteBoolean("sameAsUnknownArch", same);
                w.WriteStartArray("syscalls");
                if (!same)
                    foreach (var s in a.Syscalls)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("nr", s.Number);
                        w.WriteString("name", s.Name);
                        w.WritePropertyName("regions");
                        Regions(w, s.Regions, a.Abi, s.Name);
                        w.WriteEndObject();
                    }
                w.WriteEndArray();
                w.WriteStartArray("otherNumbers");
                if (!same)
                    foreach (var n in a.OtherNumbers)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("first", n.First);
                        w.WriteNumber("last", n.Last);
                        w.WritePropertyName("regions");
                        Regions(w, n.Regions, a.Abi, null);
                        w.WriteEndObject();
                    }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("inexpressible");
            foreach (var i in e.Inexpressible)
            {
                w.WriteStartObject();
                w.WriteNumber("filter", i.Filter);
                w.WriteNumber("pc", i.Pc);
                w.WriteString("what", i.What);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (recovered is not null)
            {
                w.WriteStartArray("problems");
                foreach (var p in recovered.Problems)
                {
                    w.WriteStartObject();
                    w.WriteString("where", p.Where);
                    w.WriteString("what", p.What);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>Writes regions as a JSON array (see docs/EXPLAIN.md).</summary>
    public static void Regions(Utf8JsonWriter w, IEnumerable<ExplainedRegion> regions, Architecture abi, string? syscall)
    {
        w.WriteStartArray();
        foreach (var r in regions)
        {
            w.WriteStartObject();
            if (r.Value is { } v)
            {
                var res = new SeccompResult(v);
                w.WriteNumber("value", v);
                w.WriteString("action", res.ActionName);
                w.WriteNumber("data", res.Data);
                w.WriteString("text", res.ToString());
            }
            else w.WriteString("computed", r.ValueText);
            w.WriteNumber("filter", r.Decider.Filter);
            w.WriteNumber("pc", r.Decider.Pc);
            w.WriteString("conditions", Conditions(r, abi, syscall));
            w.WriteStartArray("words");
            for (int i = 0; i < 16; i++)
            {
                var s = r.Words[i];
                if (s.IsFull || (syscall is not null && i <= 1)) continue;
                w.WriteStartObject();
                w.WriteString("word", FilterExplainer.WordName(i, abi.AuditArch));
                w.WriteNumber("offset", 4 * i);
                w.WriteNumber("low", s.Low);
                w.WriteNumber("high", s.High);
                w.WriteNumber("fixedMask", s.FixedMask);
                w.WriteNumber("fixedValue", s.FixedValue);
                w.WriteStartArray("excluded");
                foreach (var x in s.Exclusions)
                {
                    w.WriteStartObject();
                    if (x.IsRange) { w.WriteNumber("first", x.A); w.WriteNumber("last", x.B); }
                    else { w.WriteNumber("mask", x.A); w.WriteNumber("value", x.B); }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("opaque");
            foreach (var o in r.Opaque)
            {
                w.WriteStartObject();
                w.WriteNumber("filter", o.Filter);
                w.WriteNumber("pc", o.Pc);
                w.WriteString("text", o.Describe(i => FilterExplainer.WordName(i, abi.AuditArch)));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
