using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis.Lint;

/// <summary>
/// SK101 and SK102 read from a filter's explanation, for filters no policy expresses (no arch check, an x32 hole, nr -1
/// treated as x32's...): those are the filters where the bypasses live, so they are found without the recovered policy.
/// Each finding points at the <c>RET</c> that lets the call through (<c>filter N pc M</c>).
/// </summary>
internal static class FilterChecks
{
    private const int Listed = 8;

    public static IEnumerable<LintFinding> Run(FilterExplanation e, string? file)
    {
        var native = e.For(Architecture.X86_64);
        bool refusesSomething = e.Abis.SelectMany(a => a.Syscalls).SelectMany(s => s.Regions).Any(r => !Runs(r));

        // SK101: arch values the filter does not tell apart from unknown ones reach ALLOW/LOG.
        var unknownRuns = e.UnknownArch.FirstOrDefault(Runs);
        if (unknownRuns is not null && refusesSomething)
        {
            var like = e.Abis.Where(a => a.Syscalls.All(s => s.Regions.All(Runs))).Select(a => a.Abi.Name).ToList();
            yield return Finding(LintRules.BadArchAllows, file, unknownRuns.Decider,
                $"calls from arches the filter does not check (unknown arch values{(like.Count > 0 ? ", and every call of " + List(like) : "")}) reach {Action(unknownRuns)}, while it refuses other calls: a program calling through another ABI skips its rules",
                "check seccomp_data.arch first and kill what is not a covered arch (policy: on-bad-arch kill-process; `seccompkit explain --to policy` shows the rest)", []);
        }

        // SK102: a call x86_64 refuses outright runs on x32 or i386 under its name or a 32-bit variant.
        var refused = native.Syscalls.Where(s => s.Regions.Length > 0 && s.Regions.All(r => !Runs(r))).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        if (refused.Count == 0) yield break;
        foreach (var abi in new[] { Architecture.X32, Architecture.X86 })
        {
            var part = e.For(abi);
            var byName = part.Syscalls.GroupBy(s => s.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var holes = new List<(string Refused, string Runs, ExplainedRegion Region)>();
            foreach (var name in refused.Order(StringComparer.Ordinal))
            {
                IEnumerable<string> names = abi == Architecture.X86 && ArchChecks.Variants.TryGetValue(name, out var v) ? v.Prepend(name) : [name];
                foreach (var n in names)
                    if (byName.TryGetValue(n, out var s) && s.Regions.FirstOrDefault(Runs) is { } r)
                        holes.Add((name, n, r));
            }
            if (holes.Count == 0) continue;
            var shown = holes.Select(h => h.Refused == h.Runs ? h.Runs : $"{h.Runs} (for {h.Refused})").ToList();
            yield return Finding(LintRules.CompatBypass, file, holes[0].Region.Decider,
                $"{List(shown)} {(holes.Count == 1 ? "is" : "are")} refused on x86_64 but {(holes.Count == 1 ? "runs" : "run")} on {abi.Name} ({Action(holes[0].Region)}): {(abi == Architecture.X32 ? "an x32 (nr | 0x40000000)" : "a 32-bit (int 0x80)")} call bypasses the refusal",
                abi == Architecture.X32
                    ? "kill x32 calls (nr >= 0x40000000 under AUDIT_ARCH_X86_64) or refuse the same calls there (policy: architectures x86_64 only, on-bad-arch kill-process)"
                    : "kill i386 calls (arch AUDIT_ARCH_I386) or refuse the same calls and their 32-bit variants there",
                [.. holes.Select(h => h.Runs).Distinct()]);
        }
    }

    private static bool Runs(ExplainedRegion r) =>
        r.Value is { } v && (v & SeccompReturn.SECCOMP_RET_ACTION_FULL) is SeccompReturn.SECCOMP_RET_ALLOW or SeccompReturn.SECCOMP_RET_LOG;

    private static string Action(ExplainedRegion r) => r.Value is { } v ? ActionNames.Format(v) : "a computed action";

    private static string List(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(Listed)) + (names.Count > Listed ? $" (+{names.Count - Listed} more)" : "");

    private static LintFinding Finding(LintRule rule, string? file, Decider at, string why, string fix, string[] syscalls) =>
        new(rule, new LintLocation { File = file, Instruction = $"filter {at.Filter} pc {at.Pc}" }, why, fix, [.. syscalls]);
}
