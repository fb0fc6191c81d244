using CsCheck;
using SeccompKit.Analysis.Lint;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;
using SeccompKit.TestKit;

namespace SeccompKit.Tests.Analysis.Lint;

/// <summary>Lint never throws on any valid policy, and every finding points into the text it was read from.</summary>
public sealed class LintProperties
{
    private static void AssertPointsInto(LintReport report, string file, string text)
    {
        var lines = text.Split('\n');
        foreach (var f in report.Findings.Concat(report.Suppressed))
        {
            Assert.Equal(file, f.Location.File);
            int line = Assert.NotNull(f.Location.Line), col = Assert.NotNull(f.Location.Column);
            Assert.InRange(line, 1, lines.Length);
            Assert.InRange(col, 1, lines[line - 1].Length + 1);
            Assert.False(string.IsNullOrWhiteSpace(f.Why));
            Assert.False(string.IsNullOrWhiteSpace(f.Fix));
        }
    }

    [Fact]
    public void Lint_never_throws_and_every_finding_of_a_printed_policy_points_into_its_text()
    {
        PolicyGenerator.Policies.Sample(p =>
        {
            PolicyLinter.Lint(new LintInput(p), new LintOptions { Runtime = OciTarget.Get("runc", "1.1.5") });
            string text = PolicyLanguage.Print(p);
            var read = PolicyLanguage.Parse(text, "gen.policy");
            var report = PolicyLinter.Lint(new LintInput(read) { SourceKind = LintSourceKind.PolicyLanguage, FileName = "gen.policy", Text = text },
                new LintOptions { Runtime = OciTarget.Get("crun", "1.8.1") });
            AssertPointsInto(report, "gen.policy", text);
        }, iter: 300);
    }

    [Fact]
    public void Every_finding_of_an_OCI_profile_points_at_a_JSON_path_inside_its_text()
    {
        int linted = 0, refused = 0;
        string? lastRefusal = null;
        PolicyGenerator.Policies.Sample(p =>
        {
            OciExport export;
            // Shape the random policy into what OCI can say: the native x86_64 covered (with its own family only), no
            // declared bad-arch action (runtimes kill the thread), a listener for NOTIFY, each argument compared once per rule.
            Architecture[] family = [Architecture.X86_64, Architecture.X86, Architecture.X32];
            var arches = p.EffectiveArchitectures.Where(family.Contains).Append(Architecture.X86_64).Distinct().ToList();
            var rules = p.Rules.Where(r => arches.Any(a => a.Syscalls.Contains(r.Syscall)) && r.Conditions.Select(c => c.Index).Distinct().Count() == r.Conditions.Length);
            try { p = new SeccompPolicy(p.DefaultAction, rules, arches, null, p.Flags, "/run/agent.sock"); }
            catch (PolicyException) { Interlocked.Increment(ref refused); return; } // a rule's conditions do not fit the narrower arches
            try { export = OciExporter.Export(p, OciTarget.Get("runc", "1.1.5")); }
            catch (OciExportException e) { Interlocked.Increment(ref refused); lastRefusal = e.Message; return; } // not expressible in OCI (the exporter says why); the language property covers it
            var loaded = PolicyFile.Parse(export.Json, "gen.json");
            var report = PolicyLinter.Lint(new LintInput(loaded.Policy) { SourceKind = LintSourceKind.Json, FileName = "gen.json", Text = export.Json });
            AssertPointsInto(report, "gen.json", export.Json);
            Assert.All(report.Findings, f => Assert.StartsWith("$", f.Location.JsonPath, StringComparison.Ordinal));
            Interlocked.Increment(ref linted);
        }, iter: 900);
        // About one random policy in six can be written as OCI: 900 draws give about 150, and more than 50 with room to
        // spare (300 draws gave 49 once in CI).
        Assert.True(linted > 50, $"only {linted} of 900 random policies could be exported to OCI ({refused} refused; last: {lastRefusal})");
    }
}
