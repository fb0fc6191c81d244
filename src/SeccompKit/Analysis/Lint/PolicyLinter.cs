using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using SeccompKit.Bpf;
using SeccompKit.Policy;

namespace SeccompKit.Analysis.Lint;

/// <summary>
/// Lints a <see cref="SeccompPolicy"/> from any source: the policy language, OCI/Docker/podman JSON, or (once the
/// BPF explainer turns a filter into a policy) a BPF program, whose findings then point at no source text.
/// </summary>
/// <example>
/// <code>
/// var loaded = PolicyFile.Load("profile.json");
/// var report = PolicyLinter.Lint(new LintInput(loaded.Policy) { SourceKind = LintSourceKind.Json, FileName = "profile.json", Text = File.ReadAllText("profile.json") });
/// foreach (var f in report.Findings) Console.WriteLine(f);
/// </code>
/// </example>
public static partial class PolicyLinter
{
    /// <summary>Runs every check of <see cref="LintRules.All"/> and applies the suppressions.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    public static LintReport Lint(LintInput input, LintOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new LintOptions();
        var ctx = new LintContext(input, new PolicyFacts(input.Policy), new SourceMap(input), new FixText(input.SourceKind == LintSourceKind.Json ? LintSourceKind.Json : LintSourceKind.PolicyLanguage));
        var found = new List<LintFinding>();
        foreach (var check in Checks) found.AddRange(check(ctx, options));
        var unique = found.DistinctBy(f => (f.Id, f.Location, f.Why)).ToList();
        return Suppress(unique, input.FileName, file => file == input.FileName ? input.Text : input.ReadOtherFile?.Invoke(file),
            input.SourceKind == LintSourceKind.PolicyLanguage, options);
    }

    /// <summary>
    /// Lints a filter or stack through <see cref="FilterExplainer"/>: when <see cref="PolicyRecovery"/> reads it back
    /// exactly, every check runs on the recovered policy, each finding located at the return that decides its rule
    /// (<c>filter N pc M</c>); when it cannot, the arch checks (SK101, SK102) run on the explanation itself — the filters
    /// no policy expresses are where those holes are — and <see cref="FilterLintResult.Recovery"/> lists what stopped
    /// the other checks.
    /// </summary>
    /// <param name="stack">The filter(s), newest first.</param>
    /// <param name="fileName">The name findings carry (the file the filter was read from), or null.</param>
    /// <param name="options">Runtime and suppressions.</param>
    /// <exception cref="AnalysisLimitException">The filter has more paths than explain enumerates.</exception>
    public static FilterLintResult LintFilter(FilterStack stack, string? fileName, LintOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        options ??= new LintOptions();
        var explanation = FilterExplainer.Explain(stack);
        var recovered = PolicyRecovery.Recover(explanation);
        if (recovered.IsExact)
            return new FilterLintResult(Lint(new LintInput(recovered.Policy!) { FileName = fileName }, options), recovered);
        var found = FilterChecks.Run(explanation, fileName).ToList();
        return new FilterLintResult(Suppress(found, fileName, _ => null, readComments: false, options), recovered);
    }

    private static readonly Func<LintContext, LintOptions, IEnumerable<LintFinding>>[] Checks =
    [
        (c, _) => ArchChecks.Run(c),
        (c, _) => GapChecks.Run(c),
        (c, _) => DangerChecks.Run(c),
        (c, _) => RuleChecks.Run(c),
        (c, o) => DefaultChecks.Run(c, o),
    ];

    [GeneratedRegex(@"#\s*lint:\s*ignore\s+(?<ids>SK\d{3}(?:\s*,\s*SK\d{3})*)\s*(?:\((?<why>[^)]*)\))?", RegexOptions.IgnoreCase)]
    private static partial Regex IgnoreComment();

    private sealed record Comment(string File, int Line, int Column, ImmutableArray<string> Ids, string Reason, bool OwnLine)
    {
        public HashSet<string> Used { get; } = new(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Applies <c># lint: ignore SK123 (reason)</c> comments (policy language: on the finding's line, or alone on the
    /// line above) and <see cref="LintOptions.Ignore"/>; each suppression that matched nothing becomes an SK001 note.
    /// </summary>
    private static LintReport Suppress(List<LintFinding> findings, string? fileName, Func<string, string?> textOf, bool readComments, LintOptions options)
    {
        var comments = new Dictionary<string, List<Comment>>(StringComparer.Ordinal);
        List<Comment> CommentsOf(string file)
        {
            if (comments.TryGetValue(file, out var list)) return list;
            string? text = readComments ? textOf(file) : null;
            list = text is null ? [] : ReadComments(file, text);
            comments[file] = list;
            return list;
        }
        if (fileName is not null) CommentsOf(fileName);

        var used = new HashSet<LintIgnore>();
        var reported = new List<LintFinding>();
        var suppressed = new List<LintFinding>();
        foreach (var f in findings)
        {
            string? by = null;
            if (f.Location is { File: { } file, Line: int line })
            {
                var c = CommentsOf(file).FirstOrDefault(c => c.Ids.Contains(f.Id, StringComparer.OrdinalIgnoreCase) && (c.Line == line || (c.OwnLine && c.Line == line - 1)));
                if (c is not null)
                {
                    c.Used.Add(f.Id);
                    by = string.Create(CultureInfo.InvariantCulture, $"comment at {c.File}:{c.Line}{(c.Reason.Length > 0 ? $" ({c.Reason})" : "")}");
                }
            }
            if (by is null)
                foreach (var ig in options.Ignore)
                    if (Matches(ig, f)) { used.Add(ig); by = $"--ignore {ig}"; break; }
            if (by is null) reported.Add(f);
            else suppressed.Add(f with { SuppressedBy = by });
        }
        foreach (var c in comments.Values.SelectMany(l => l))
            foreach (var id in c.Ids.Where(id => !c.Used.Contains(id)))
                reported.Add(new LintFinding(LintRules.UnusedSuppression,
                    new LintLocation { File = c.File, Line = c.Line, Column = c.Column },
                    $"the comment suppresses {id.ToUpperInvariant()}, but no {id.ToUpperInvariant()} finding is on this line{(c.OwnLine ? " or the next" : "")}",
                    "remove the comment, or correct its rule ID or place", []));
        foreach (var ig in options.Ignore.Where(i => !used.Contains(i)))
            reported.Add(new LintFinding(LintRules.UnusedSuppression, new LintLocation { File = fileName },
                $"--ignore {ig} matches no finding", "drop the option, or correct its rule ID or place", []));
        return new LintReport([.. Order(reported)], [.. Order(suppressed)]);
    }

    private static bool Matches(LintIgnore ig, LintFinding f)
    {
        if (!string.Equals(ig.Id, f.Id, StringComparison.OrdinalIgnoreCase)) return false;
        if (ig.At is null) return true;
        if (f.Location.JsonPath is { } p && p.StartsWith(ig.At, StringComparison.Ordinal)) return true;
        return f.Location.Line is int l && (ig.At == string.Create(CultureInfo.InvariantCulture, $"{f.Location.File}:{l}") || ig.At == f.Location.ToString());
    }

    private static List<Comment> ReadComments(string file, string text)
    {
        var list = new List<Comment>();
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var m = IgnoreComment().Match(lines[i]);
            if (!m.Success) continue;
            var ids = m.Groups["ids"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToImmutableArray();
            bool ownLine = lines[i][..m.Index].Trim().Length == 0;
            list.Add(new Comment(file, i + 1, m.Index + 1, ids, m.Groups["why"].Value.Trim(), ownLine));
        }
        return list;
    }

    private static IEnumerable<LintFinding> Order(IEnumerable<LintFinding> findings) => findings
        .OrderByDescending(f => f.Severity)
        .ThenBy(f => f.Location.File, StringComparer.Ordinal)
        .ThenBy(f => f.Location.Line ?? 0).ThenBy(f => f.Location.Column ?? 0)
        .ThenBy(f => f.Location.JsonPath, StringComparer.Ordinal)
        .ThenBy(f => f.Id, StringComparer.Ordinal);
}

/// <summary>What every check reads.</summary>
internal sealed record LintContext(LintInput Input, PolicyFacts Facts, SourceMap Map, FixText Fix)
{
    public SeccompPolicy Policy => Input.Policy;

    public LintFinding Finding(LintRule rule, LintLocation at, string why, string fix, params string[] syscalls) => new(rule, at, why, fix, [.. syscalls]);

    /// <summary>Where a refusal of the syscall is written: its refusing rule, else the default action.</summary>
    public LintLocation RefusalPlace(string syscall) =>
        Facts.RefusingRule(syscall) is { } r ? Map.At(r.Origin) : Map.AtStatement(PolicyStatement.DefaultAction);

    /// <summary>Where the syscall is let run: its letting rule, else the default action.</summary>
    public LintLocation AllowPlace(string syscall) =>
        Facts.LettingRule(syscall) is { } r ? Map.At(r.Origin) : Map.AtStatement(PolicyStatement.DefaultAction);

    /// <summary>
    /// The fix that makes <paramref name="names"/> get <paramref name="action"/>. In the policy language a refusing rule
    /// beside an allowing one wins (most restrictive first). In OCI JSON it does not: libseccomp keeps the first
    /// unconditional rule of a syscall and ignores later ones, so the allowing name has to go.
    /// </summary>
    public string RefuseFix(IEnumerable<string> names, PolicyAction action)
    {
        var list = names.Distinct(StringComparer.Ordinal).ToList();
        if (Input.SourceKind != LintSourceKind.Json) return Fix.Give(list, action);
        var parts = new List<string>();
        var add = new List<string>();
        foreach (var name in list)
        {
            if (Facts.LettingRule(name) is { } r)
            {
                var at = Map.At(r.Origin);
                bool byDefault = !Policy.DefaultAction.LetsCallRun && action == Policy.DefaultAction;
                parts.Add($"remove \"{name}\" at {at.JsonPath}{(byDefault ? $" (the default {Policy.DefaultAction} then applies)" : "")}");
                if (!byDefault) add.Add(name);
            }
            else add.Add(name);
        }
        if (add.Count > 0) parts.Add(Fix.Give(add, action));
        return string.Join("; ", parts);
    }

    /// <summary>"whatever its arguments" or "for some arguments".</summary>
    public static string How(Runs r) => r == Runs.Always ? "whatever its arguments" : "for some arguments";
}
