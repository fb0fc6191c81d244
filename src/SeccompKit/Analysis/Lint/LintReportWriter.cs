using System.Text;
using System.Text.Json;

namespace SeccompKit.Analysis.Lint;

/// <summary>Writes a <see cref="LintReport"/> as text, JSON, or SARIF 2.1.0 (for code-scanning tools).</summary>
public static class LintReportWriter
{
    /// <summary>SARIF's schema, as the document names it.</summary>
    public const string SarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

    /// <summary>
    /// One line per finding, <c>file:line:col: warning SK123: why</c> (with the JSON path for profiles), then
    /// <c>  fix: ...</c>; errors first, then warnings, then notes, each in source order; a summary line last.
    /// </summary>
    public static string Text(LintReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        foreach (var group in report.Findings.GroupBy(f => f.Severity))
        {
            foreach (var f in group)
            {
                string path = f.Location.JsonPath is { } p ? $" [{p}]" : "";
                sb.Append(f.Location).Append(": ").Append(LintRules.SeverityName(f.Severity)).Append(' ').Append(f.Id).Append(path).Append(": ").Append(f.Why).Append('\n');
                sb.Append("  fix: ").Append(f.Fix).Append('\n');
            }
        }
        sb.Append(Summary(report)).Append('\n');
        return sb.ToString();
    }

    /// <summary><c>2 errors, 5 warnings, 1 note (3 suppressed)</c>.</summary>
    public static string Summary(LintReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        static string N(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";
        return $"{N(report.Count(LintSeverity.Error), "error")}, {N(report.Count(LintSeverity.Warning), "warning")}, {N(report.Count(LintSeverity.Note), "note")} ({report.Suppressed.Length} suppressed)";
    }

    /// <summary>
    /// <c>{"findings": [{id, name, severity, file, line, column, jsonPath, why, fix, syscalls}], "suppressed": [... + suppressedBy],
    /// "counts": {error, warning, note, suppressed}}</c>.
    /// </summary>
    public static string Json(LintReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("findings");
            foreach (var f in report.Findings) Finding(w, f);
            w.WriteEndArray();
            w.WriteStartArray("suppressed");
            foreach (var f in report.Suppressed) Finding(w, f);
            w.WriteEndArray();
            w.WriteStartObject("counts");
            w.WriteNumber("error", report.Count(LintSeverity.Error));
            w.WriteNumber("warning", report.Count(LintSeverity.Warning));
            w.WriteNumber("note", report.Count(LintSeverity.Note));
            w.WriteNumber("suppressed", report.Suppressed.Length);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Finding(Utf8JsonWriter w, LintFinding f)
    {
        w.WriteStartObject();
        w.WriteString("id", f.Id);
        w.WriteString("name", f.Rule.Name);
        w.WriteString("severity", LintRules.SeverityName(f.Severity));
        if (f.Location.File is { } file) w.WriteString("file", file);
        if (f.Location.Line is int l) w.WriteNumber("line", l);
        if (f.Location.Column is int col) w.WriteNumber("column", col);
        if (f.Location.JsonPath is { } p) w.WriteString("jsonPath", p);
        if (f.Location.Instruction is { } at) w.WriteString("instruction", at);
        w.WriteString("why", f.Why);
        w.WriteString("fix", f.Fix);
        w.WriteStartArray("syscalls");
        foreach (var s in f.Syscalls) w.WriteStringValue(s);
        w.WriteEndArray();
        if (f.SuppressedBy is { } by) w.WriteString("suppressedBy", by);
        w.WriteEndObject();
    }

    /// <summary>
    /// A SARIF 2.1.0 log: one run whose driver lists every rule of the catalog (id, name, descriptions, help, default
    /// level), and one result per finding (reported and suppressed, the latter with a <c>suppressions</c> entry), with a
    /// physical location when the file is known and the JSON path as a logical location.
    /// </summary>
    public static string Sarif(LintReport report, string toolVersion)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("$schema", SarifSchema);
            w.WriteString("version", "2.1.0");
            w.WriteStartArray("runs");
            w.WriteStartObject();
            w.WriteStartObject("tool");
            w.WriteStartObject("driver");
            w.WriteString("name", "seccompkit lint");
            w.WriteString("version", toolVersion);
            w.WriteStartArray("rules");
            foreach (var r in LintRules.All)
            {
                w.WriteStartObject();
                w.WriteString("id", r.Id);
                w.WriteString("name", r.Name);
                w.WriteStartObject("shortDescription"); w.WriteString("text", r.Summary); w.WriteEndObject();
                w.WriteStartObject("fullDescription"); w.WriteString("text", r.Help); w.WriteEndObject();
                w.WriteStartObject("help"); w.WriteString("text", $"{r.Help} Sources: {r.Reference}."); w.WriteEndObject();
                w.WriteStartObject("defaultConfiguration"); w.WriteString("level", LintRules.SeverityName(r.Severity)); w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("results");
            foreach (var f in report.Findings) Result(w, f);
            foreach (var f in report.Suppressed) Result(w, f);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Result(Utf8JsonWriter w, LintFinding f)
    {
        w.WriteStartObject();
        w.WriteString("ruleId", f.Id);
        w.WriteNumber("ruleIndex", LintRules.All.IndexOf(f.Rule));
        w.WriteString("level", LintRules.SeverityName(f.Severity));
        w.WriteStartObject("message");
        w.WriteString("text", $"{f.Why}. Fix: {f.Fix}");
        w.WriteEndObject();
        w.WriteStartArray("locations");
        w.WriteStartObject();
        if (f.Location.File is { } file)
        {
            w.WriteStartObject("physicalLocation");
            w.WriteStartObject("artifactLocation");
            w.WriteString("uri", Uri(file));
            w.WriteEndObject();
            if (f.Location.Line is int line)
            {
                w.WriteStartObject("region");
                w.WriteNumber("startLine", line);
                w.WriteNumber("startColumn", f.Location.Column ?? 1);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        if ((f.Location.JsonPath ?? f.Location.Instruction) is { } p)
        {
            w.WriteStartArray("logicalLocations");
            w.WriteStartObject();
            w.WriteString("fullyQualifiedName", p);
            w.WriteString("kind", "element");
            w.WriteEndObject();
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndArray();
        if (f.SuppressedBy is { } by)
        {
            w.WriteStartArray("suppressions");
            w.WriteStartObject();
            w.WriteString("kind", by.StartsWith("comment", StringComparison.Ordinal) ? "inSource" : "external");
            w.WriteString("justification", by);
            w.WriteEndObject();
            w.WriteEndArray();
        }
        w.WriteStartObject("properties");
        w.WriteString("fix", f.Fix);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    // SARIF's artifactLocation.uri is a URI reference: a relative path with '/' separators, each segment escaped.
    private static string Uri(string file) =>
        string.Join('/', file.Replace('\\', '/').Split('/').Select(System.Uri.EscapeDataString));
}
