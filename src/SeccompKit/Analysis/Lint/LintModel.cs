using System.Collections.Immutable;
using System.Globalization;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Analysis.Lint;

/// <summary>How bad a finding is. <c>--fail-on</c> compares against it.</summary>
public enum LintSeverity
{
    /// <summary>Worth knowing; the policy does what it seems to.</summary>
    Note,
    /// <summary>The policy lets something through (or breaks something) it probably should not.</summary>
    Warning,
    /// <summary>The policy can be bypassed, or the container cannot start with it.</summary>
    Error,
}

/// <summary>One check of the catalog (<see cref="LintRules.All"/>): a stable ID, never reused for another meaning.</summary>
/// <param name="Id">The stable ID (<c>SK301</c>).</param>
/// <param name="Name">A short kebab-case name (<c>dangerous-ptrace</c>).</param>
/// <param name="Severity">The severity its findings have.</param>
/// <param name="Summary">What it finds, in one sentence.</param>
/// <param name="Help">Why it matters and how to fix it, with the facts it rests on.</param>
/// <param name="Reference">Where the facts come from (man page, kernel documentation, an issue).</param>
public sealed record LintRule(string Id, string Name, LintSeverity Severity, string Summary, string Help, string Reference);

/// <summary>
/// Where a finding points: <c>file:line:column</c> for the policy language (and for JSON when its text was given),
/// and the JSON path for OCI/Docker/podman profiles.
/// </summary>
public sealed record LintLocation
{
    /// <summary>The file (as the input was named), or null when the policy came from no file.</summary>
    public string? File { get; init; }

    /// <summary>1-based line, or null.</summary>
    public int? Line { get; init; }

    /// <summary>1-based column, or null.</summary>
    public int? Column { get; init; }

    /// <summary>The JSON path of a profile's element (<c>$.syscalls[3].names[2]</c>), or null.</summary>
    public string? JsonPath { get; init; }

    /// <summary>
    /// For a policy recovered from BPF (lint of a filter, through explain): the return that decides the rule concerned,
    /// <c>filter N pc M</c> (N counts the stack from its newest filter, 0); null otherwise.
    /// </summary>
    public string? Instruction { get; init; }

    /// <summary><c>file:line:column</c>, <c>file (filter N pc M)</c>, <c>file</c>, or <c>&lt;policy&gt;</c> when nothing is known.</summary>
    public override string ToString()
    {
        string file = File ?? "<policy>";
        if (Instruction is { } at) return $"{file} ({at})";
        return Line is int l ? string.Create(CultureInfo.InvariantCulture, $"{file}:{l}:{Column ?? 1}") : file;
    }
}

/// <summary>One finding.</summary>
/// <param name="Rule">The check that made it.</param>
/// <param name="Location">Where it points: the rule concerned, or for something the policy lacks (a missing deny) the place of the default action or the header statement to change.</param>
/// <param name="Why">Why it matters, in one sentence naming the syscalls and actions concerned.</param>
/// <param name="Fix">The fix, as a policy statement (policy language) or a JSON edit (OCI, Docker, podman).</param>
/// <param name="Syscalls">The syscalls concerned (may be empty).</param>
public sealed record LintFinding(LintRule Rule, LintLocation Location, string Why, string Fix, ImmutableArray<string> Syscalls)
{
    /// <summary>The rule's ID.</summary>
    public string Id => Rule.Id;

    /// <summary>The rule's severity.</summary>
    public LintSeverity Severity => Rule.Severity;

    /// <summary>How the finding was suppressed, or null when it is reported.</summary>
    public string? SuppressedBy { get; init; }

    /// <summary><c>file:12:3: warning SK301: why</c>.</summary>
    public override string ToString() => $"{Location}: {LintRules.SeverityName(Severity)} {Id}: {Why}";
}

/// <summary>What the policy was written in: decides how locations are found and fixes are written.</summary>
public enum LintSourceKind
{
    /// <summary>No source (a policy built in code, or one recovered from BPF): fixes are policy statements, locations the rules' origins if any.</summary>
    None,
    /// <summary>The SeccompKit policy language: origins are <c>file:line:column</c>; <c># lint: ignore</c> comments are read.</summary>
    PolicyLanguage,
    /// <summary>OCI, Docker or podman JSON: origins are JSON paths; fixes are JSON edits.</summary>
    Json,
}

/// <summary>What to lint: the policy, and optionally the text it was read from (for locations and suppressions).</summary>
public sealed record LintInput
{
    /// <summary>Creates an input for <paramref name="policy"/>.</summary>
    public LintInput(SeccompPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
    }

    /// <summary>The policy.</summary>
    public SeccompPolicy Policy { get; }

    /// <summary>What it was written in.</summary>
    public LintSourceKind SourceKind { get; init; } = LintSourceKind.None;

    /// <summary>The file name, as the policy's origins spell it (for JSON, the origins are paths only, so the file name comes from here).</summary>
    public string? FileName { get; init; }

    /// <summary>The text of <see cref="FileName"/>: JSON paths are turned into lines and columns, and suppression comments are read from it.</summary>
    public string? Text { get; init; }

    /// <summary>
    /// Reads another file of the policy (an included policy-language file) by the name its origins use, for its
    /// suppression comments; null for none. Returns null when it cannot be read.
    /// </summary>
    public Func<string, string?>? ReadOtherFile { get; init; }
}

/// <summary>A suppression given outside the source (<c>--ignore SK301</c> or <c>--ignore SK301=$.syscalls[4]</c>).</summary>
/// <param name="Id">The rule ID.</param>
/// <param name="At">Only findings whose JSON path starts with this, or whose <c>file:line</c> is this; null for every finding of the rule.</param>
public sealed record LintIgnore(string Id, string? At = null)
{
    /// <summary>Parses <c>SK301</c> or <c>SK301=WHERE</c>.</summary>
    /// <exception cref="PolicyException">Not a rule ID of the catalog.</exception>
    public static LintIgnore Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        string id = (eq < 0 ? text : text[..eq]).Trim().ToUpperInvariant();
        if (!LintRules.TryGet(id, out _))
            throw new PolicyException($"'{id}' is not a lint rule ID; `seccompkit lint --rules` lists them (SK001...SK604)");
        return new LintIgnore(id, eq < 0 ? null : text[(eq + 1)..].Trim());
    }

    /// <summary><c>SK301</c> or <c>SK301=WHERE</c>.</summary>
    public override string ToString() => At is null ? Id : $"{Id}={At}";
}

/// <summary>How to lint.</summary>
public sealed record LintOptions
{
    /// <summary>
    /// The container runtime the profile is for (<c>--runtime runc|crun[@VERSION]</c>): enables the check of notified
    /// syscalls that runtime makes itself after installing the filter (SK604). Null: that check is not made.
    /// </summary>
    public OciTarget? Runtime { get; init; }

    /// <summary>Suppressions given outside the source; one that matches no finding is reported (SK001).</summary>
    public ImmutableArray<LintIgnore> Ignore { get; init; } = [];
}

/// <summary>The result: findings reported, findings suppressed.</summary>
/// <param name="Findings">Reported findings, errors first, then by location.</param>
/// <param name="Suppressed">Findings a suppression matched (<see cref="LintFinding.SuppressedBy"/> says which).</param>
public sealed record LintReport(ImmutableArray<LintFinding> Findings, ImmutableArray<LintFinding> Suppressed)
{
    /// <summary>How many reported findings have <paramref name="severity"/>.</summary>
    public int Count(LintSeverity severity) => Findings.Count(f => f.Severity == severity);

    /// <summary>Whether a reported finding is at least <paramref name="severity"/>.</summary>
    public bool HasAtLeast(LintSeverity severity) => Findings.Any(f => f.Severity >= severity);
}

/// <summary>What linting a filter gave (<see cref="PolicyLinter.LintFilter"/>).</summary>
/// <param name="Report">The findings: every check's when <see cref="Complete"/>, else the arch checks' (SK101, SK102) only.</param>
/// <param name="Recovery">The policy the filter was read back as, or the problems that kept it from being read exactly.</param>
public sealed record FilterLintResult(LintReport Report, RecoveredPolicy Recovery)
{
    /// <summary>True when every check ran (the filter was read back as a policy exactly).</summary>
    public bool Complete => Recovery.IsExact;
}
