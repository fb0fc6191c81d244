using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis.Diff;

/// <summary>One set of inputs the two filters decide differently.</summary>
/// <param name="Abi">The ABI; null for arch values no ABI uses.</param>
/// <param name="Syscall">The syscall name, or null for numbers outside the table.</param>
/// <param name="First">The first number of the set (the syscall's number for a syscall).</param>
/// <param name="Last">The last number.</param>
/// <param name="Region">The inputs: A's region intersected with B's (nr and arch included).</param>
/// <param name="Before">A's return value (null: computed from the data).</param>
/// <param name="After">B's return value (null: computed from the data).</param>
/// <param name="Example">An input of the region; emulating it on both gives <see cref="Before"/> and <see cref="After"/>.</param>
public sealed record DiffEntry(Architecture? Abi, string? Syscall, uint First, uint Last, ExplainedRegion Region, uint? Before, uint? After, SeccompData Example);

/// <summary>The behavioural difference of two filters or stacks (<see cref="FilterDiff.Compare(FilterExplanation, FilterExplanation)"/>).</summary>
/// <param name="Entries">Every region where they differ; empty when they behave the same on every input.</param>
public sealed record FilterDifference(ImmutableArray<DiffEntry> Entries)
{
    /// <summary>True when the two behave the same on every input.</summary>
    public bool Equal => Entries.IsEmpty;
}

/// <summary>
/// Diffs two explained filters exactly: for every ABI, syscall number (and range of other numbers) and unknown arch values,
/// each region of A is intersected with each region of B; the feasible pairs with different actions are the difference.
/// Each entry's example input is emulated on both stacks and must give the two actions (else the diff throws: a bug).
/// </summary>
public static class FilterDiff
{
    /// <summary>Compares <paramref name="a"/> (before) with <paramref name="b"/> (after).</summary>
    /// <exception cref="AnalysisLimitException">Comparing them takes more than <see cref="AnalysisBudget.MaxWork"/> units.</exception>
    public static FilterDifference Compare(FilterExplanation a, FilterExplanation b) => Compare(a, b, new AnalysisBudget());

    /// <summary>As <see cref="Compare(FilterExplanation, FilterExplanation)"/>, spending from <paramref name="budget"/>.</summary>
    /// <exception cref="AnalysisLimitException">The budget is spent.</exception>
    public static FilterDifference Compare(FilterExplanation a, FilterExplanation b, AnalysisBudget budget)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(budget);
        var entries = ImmutableArray.CreateBuilder<DiffEntry>();
        for (int i = 0; i < a.Abis.Length; i++)
        {
            var (ea, eb) = (a.Abis[i], b.Abis[i]);
            var abi = ea.Abi;
            for (int s = 0; s < ea.Syscalls.Length; s++)
                Pairs(a, b, abi, ea.Syscalls[s].Name, (uint)ea.Syscalls[s].Number, (uint)ea.Syscalls[s].Number, ea.Syscalls[s].Regions, eb.Syscalls[s].Regions, entries, budget);
            // Both lists are disjoint ranges in increasing order: walk them together (every pair would be up to
            // 100,000 x 100,000 for hostile filters; tools/Fuzz, issue 17).
            int ia = 0, ib = 0;
            while (ia < ea.OtherNumbers.Length && ib < eb.OtherNumbers.Length)
            {
                var (ra, rb) = (ea.OtherNumbers[ia], eb.OtherNumbers[ib]);
                uint first = Math.Max(ra.First, rb.First), last = Math.Min(ra.Last, rb.Last);
                budget.Spend(1);
                if (first <= last) Pairs(a, b, abi, null, first, last, ra.Regions, rb.Regions, entries, budget);
                if (ra.Last <= rb.Last) ia++; else ib++;
            }
        }
        Pairs(a, b, null, null, 0, uint.MaxValue, a.UnknownArch, b.UnknownArch, entries, budget);
        return new FilterDifference(entries.ToImmutable());
    }

    private static void Pairs(FilterExplanation a, FilterExplanation b, Architecture? abi, string? name, uint first, uint last,
        ImmutableArray<ExplainedRegion> ra, ImmutableArray<ExplainedRegion> rb, ImmutableArray<DiffEntry>.Builder into, AnalysisBudget budget)
    {
        foreach (var x in ra)
            foreach (var y in rb)
            {
                budget.Spend(1);
                if (x.Value is { } vx && y.Value is { } vy && vx == vy) continue;
                // Intersecting 16 words (then, where they meet, an example emulated on both stacks: microseconds).
                budget.Spend(16);
                var words = ImmutableArray.CreateBuilder<WordSet>(16);
                bool feasible = true;
                for (int i = 0; i < 16 && feasible; i++)
                {
                    var w = x.Words[i].Intersect(y.Words[i]);
                    if (i == 0 && (first != 0 || last != uint.MaxValue)) w = w.And(WordPredicate.Between(first, last));
                    feasible = !w.IsEmptyWithin(budget);
                    words.Add(w);
                }
                if (!feasible) continue;
                var region = new ExplainedRegion(words.MoveToImmutable(), x.Opaque.AddRange(y.Opaque), y.Value, y.ValueText, y.Decider);
                var example = Example(region);
                if (example is null) continue; // only opaque conditions separate them from the witness: no point found
                if (x.Value is { } bx && y.Value is { } by)
                {
                    uint ga = a.Stack.Evaluate(example), gb = b.Stack.Evaluate(example);
                    if (ga != bx || gb != by)
                        throw new InvalidOperationException($"diff: the example {example} gives {ActionNames.Format(ga)} / {ActionNames.Format(gb)} when emulated, not {ActionNames.Format(bx)} / {ActionNames.Format(by)}: a bug in explain");
                }
                into.Add(new DiffEntry(abi, name, first, last, region, x.Value, y.Value, example));
            }
    }

    // An input of the region: the smallest member of every word, checked against the opaque conditions; else the
    // region's other boundary points.
    private static SeccompData? Example(ExplainedRegion region)
    {
        foreach (var d in PolicyRecovery.SamplePoints(region, 0))
        {
            var w = new uint[16];
            for (int i = 0; i < 16; i++) w[i] = d.LoadWord((uint)(4 * i));
            if (region.Contains(w)) return d;
        }
        return null;
    }

    private static string Hex(uint v) => v < 10 ? v.ToString(CultureInfo.InvariantCulture) : "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static string Subject(DiffEntry e) =>
        e.Abi is null ? "unknown arch" : e.Syscall ?? (e.First == e.Last ? $"nr {Hex(e.First)}" : $"nr {Hex(e.First)}-{Hex(e.Last)}");

    private static string ValueText(uint? v, ExplainedRegion r, bool before) => v is { } x ? ActionNames.Format(x) : before ? "computed" : $"computed: {r.ValueText}";

    /// <summary>One line per entry: <c>x86_64 clone: clone_flags &amp; CLONE_NEWUSER == CLONE_NEWUSER: ERRNO(EPERM) -&gt; ALLOW</c>.</summary>
    public static string Text(FilterDifference d)
    {
        var sb = new StringBuilder();
        foreach (var g in d.Entries.GroupBy(e => e.Abi?.Name ?? "unknown arch"))
        {
            foreach (var e in g)
            {
                var abi = e.Abi ?? Architecture.X86_64;
                string cond = ExplanationText.Conditions(e.Region, abi, e.Syscall);
                if (e.Abi is null || e.Syscall is null)
                {
                    var nr = e.Region.Words[0];
                    if (e.Abi is null) cond = (e.Region.Words[1].Describe("arch", Hex) + " && " + nr.Describe("nr", Hex) + (cond == "always" ? "" : " && " + cond));
                }
                sb.Append(CultureInfo.InvariantCulture, $"{g.Key} {Subject(e)}: {cond}: {ValueText(e.Before, e.Region, true)} -> {ValueText(e.After, e.Region, false)}\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>The JSON document (schema <c>seccompkit-diff/1</c>, docs/EXPLAIN.md).</summary>
    public static string Json(FilterDifference d)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("schema", "seccompkit-diff/1");
            w.WriteBoolean("equal", d.Equal);
            w.WriteStartArray("differences");
            foreach (var e in d.Entries)
            {
                var abi = e.Abi ?? Architecture.X86_64;
                w.WriteStartObject();
                if (e.Abi is null) w.WriteNull("abi"); else w.WriteString("abi", e.Abi.Name);
                if (e.Syscall is null) w.WriteNull("syscall"); else w.WriteString("syscall", e.Syscall);
                w.WriteNumber("first", e.First);
                w.WriteNumber("last", e.Last);
                w.WriteString("conditions", ExplanationText.Conditions(e.Region, abi, e.Syscall));
                Action(w, "before", e.Before);
                Action(w, "after", e.After);
                w.WriteStartObject("example");
                w.WriteNumber("nr", e.Example.Nr);
                w.WriteNumber("arch", e.Example.Arch);
                w.WriteNumber("ip", e.Example.InstructionPointer);
                w.WriteStartArray("args");
                foreach (var x in e.Example.Args) w.WriteNumberValue(x);
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static void Action(Utf8JsonWriter w, string name, uint? v)
    {
        w.WriteStartObject(name);
        if (v is { } x)
        {
            var r = new SeccompResult(x);
            w.WriteNumber("value", x);
            w.WriteString("action", r.ActionName);
            w.WriteNumber("data", r.Data);
            w.WriteString("text", r.ToString());
        }
        else w.WriteBoolean("computed", true);
        w.WriteEndObject();
    }
}
