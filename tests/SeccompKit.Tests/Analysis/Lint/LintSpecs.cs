using System.Text.Json;
using SeccompKit.Analysis.Lint;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;
using SeccompKit.TestKit;

namespace SeccompKit.Tests.Analysis.Lint;

/// <summary>Locations in both source kinds, suppressions, the report formats, and Docker's and podman's profiles.</summary>
public sealed class LintSpecs
{
    private static LintReport LintFile(string path, PolicyFileOptions? options = null, LintOptions? lint = null)
    {
        string text = File.ReadAllText(path);
        var loaded = PolicyFile.Parse(text, path, options);
        return PolicyLinter.Lint(new LintInput(loaded.Policy)
        {
            SourceKind = loaded.Format == PolicyFormat.Policy ? LintSourceKind.PolicyLanguage : LintSourceKind.Json,
            FileName = path,
            Text = text,
        }, lint);
    }

    private static LintReport LintJson(string json, LintOptions? options = null)
    {
        var loaded = PolicyFile.Parse(json, "p.json");
        return PolicyLinter.Lint(new LintInput(loaded.Policy) { SourceKind = LintSourceKind.Json, FileName = "p.json", Text = json }, options);
    }

    private const string Oci = """
        {
          "defaultAction": "SCMP_ACT_ERRNO",
          "architectures": ["SCMP_ARCH_X86_64"],
          "syscalls": [
            { "names": ["read", "ptrace"], "action": "SCMP_ACT_ALLOW" },
            { "names": ["socket"], "action": "SCMP_ACT_ALLOW",
              "args": [ { "index": 0, "value": 2, "op": "SCMP_CMP_EQ" } ] }
          ]
        }
        """;

    [Fact]
    public void A_finding_on_a_policy_language_rule_points_at_its_item()
    {
        var report = LintRuleSpecs.Lint("default errno(EPERM)\nenosys-above x86_64 460\nallow {\n    read,\n    ptrace,\n}\n");
        var f = Assert.Single(report.Findings, f => f.Id == "SK301");
        Assert.Equal(new LintLocation { File = "t.policy", Line = 5, Column = 5 }, f.Location);
        Assert.Equal("t.policy:5:5: warning SK301: ptrace is allowed whatever its arguments on x86_64", f.ToString());
    }

    [Fact]
    public void A_missing_refusal_points_at_the_default_statement()
    {
        var report = LintRuleSpecs.Lint("# header\n\ndefault errno(EPERM)\nallow { clone }\n");
        var f = Assert.Single(report.Findings, f => f.Id == "SK602");
        Assert.Equal((3, 1), (f.Location.Line, f.Location.Column));
    }

    [Fact]
    public void A_finding_on_an_OCI_entry_has_its_JSON_path_and_the_line_and_column_of_the_name()
    {
        var report = LintJson(Oci);
        var ptrace = Assert.Single(report.Findings, f => f.Id == "SK301");
        Assert.Equal(new LintLocation { File = "p.json", Line = 5, Column = 25, JsonPath = "$.syscalls[0].names[1]" }, ptrace.Location);
        var wide = Assert.Single(report.Findings, f => f.Id == "SK401");
        Assert.Equal("$.syscalls[1].args", wide.Location.JsonPath);
        Assert.Equal((7, 15), (wide.Location.Line, wide.Location.Column));
        Assert.Equal("make the condition {\"index\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\", \"value\": 4294967295, \"valueTwo\": 2}", wide.Fix);
        // runc answers syscalls newer than the profile ENOSYS itself (the reader sets the cutoffs), so no SK601 here.
        Assert.DoesNotContain(report.Findings, f => f.Id == "SK601");
    }

    [Fact]
    public void A_whole_config_json_is_located_inside_its_linux_seccomp_object()
    {
        string config = "{\n  \"ociVersion\": \"1.0.2\",\n  \"linux\": {\n    \"seccomp\": " + Oci.Replace("\n", "\n    ", StringComparison.Ordinal) + "\n  }\n}\n";
        var report = LintJson(config);
        var ptrace = Assert.Single(report.Findings, f => f.Id == "SK301");
        Assert.Equal(("$.syscalls[0].names[1]", 8), (ptrace.Location.JsonPath, ptrace.Location.Line));
    }

    [Fact]
    public void A_comment_on_the_line_or_alone_above_suppresses_and_names_its_reason()
    {
        var same = LintRuleSpecs.Lint("default errno(EPERM)\nenosys-above x86_64 460\nallow { ptrace }  # lint: ignore SK301 (the debugger runs here)\n");
        Assert.DoesNotContain(same.Findings, f => f.Id is "SK301" or "SK001");
        Assert.Equal("comment at t.policy:3 (the debugger runs here)", Assert.Single(same.Suppressed).SuppressedBy);

        var above = LintRuleSpecs.Lint("default errno(EPERM)\nenosys-above x86_64 460\n# lint: ignore SK301, SK311\nallow { ptrace, open_by_handle_at }\n");
        Assert.Equal(["SK311", "SK301"], above.Suppressed.Select(f => f.Id));
        Assert.Empty(above.Findings);

        // A comment after another rule on the line above covers that rule only.
        var trailing = LintRuleSpecs.Lint("default errno(EPERM)\nenosys-above x86_64 460\nallow { read } # lint: ignore SK301\nallow { ptrace }\n");
        Assert.Contains(trailing.Findings, f => f.Id == "SK301");
        Assert.Contains(trailing.Findings, f => f.Id == "SK001" && f.Location.Line == 3);
    }

    [Fact]
    public void An_ignore_option_suppresses_by_id_or_by_JSON_path_and_one_that_matches_nothing_is_a_note()
    {
        var byPath = LintJson(Oci, new LintOptions { Ignore = [LintIgnore.Parse("SK301=$.syscalls[0]"), LintIgnore.Parse("sk401")] });
        Assert.DoesNotContain(byPath.Findings, f => f.Id is "SK301" or "SK401" or "SK001");
        Assert.Equal(2, byPath.Suppressed.Length);
        Assert.All(byPath.Suppressed, f => Assert.StartsWith("--ignore SK", f.SuppressedBy, StringComparison.Ordinal));

        var wrongPlace = LintJson(Oci, new LintOptions { Ignore = [LintIgnore.Parse("SK301=$.syscalls[1]")] });
        Assert.Contains(wrongPlace.Findings, f => f.Id == "SK301");
        var unused = Assert.Single(wrongPlace.Findings, f => f.Id == "SK001");
        Assert.Equal("--ignore SK301=$.syscalls[1] matches no finding", unused.Why);

        Assert.Throws<PolicyException>(() => LintIgnore.Parse("SK999"));
    }

    [Fact]
    public void The_SARIF_log_has_the_2_1_0_shape_rules_with_help_and_results_with_physical_locations()
    {
        var report = LintJson(Oci, new LintOptions { Ignore = [LintIgnore.Parse("SK401")] });
        using var doc = JsonDocument.Parse(LintReportWriter.Sarif(report, "1.2.3"));
        var root = doc.RootElement;
        Assert.Equal("2.1.0", root.GetProperty("version").GetString());
        Assert.Equal(LintReportWriter.SarifSchema, root.GetProperty("$schema").GetString());
        var run = Assert.Single(root.GetProperty("runs").EnumerateArray());
        var driver = run.GetProperty("tool").GetProperty("driver");
        Assert.Equal("seccompkit lint", driver.GetProperty("name").GetString());
        var rules = driver.GetProperty("rules").EnumerateArray().ToList();
        Assert.Equal(LintRules.All.Select(r => r.Id), rules.Select(r => r.GetProperty("id").GetString()));
        Assert.All(rules, r =>
        {
            Assert.NotEmpty(r.GetProperty("help").GetProperty("text").GetString()!);
            Assert.NotEmpty(r.GetProperty("shortDescription").GetProperty("text").GetString()!);
            Assert.Contains(r.GetProperty("defaultConfiguration").GetProperty("level").GetString(), new[] { "error", "warning", "note" });
        });
        var results = run.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(report.Findings.Length + report.Suppressed.Length, results.Count);
        Assert.All(results, r =>
        {
            string id = r.GetProperty("ruleId").GetString()!;
            Assert.Equal(id, rules[r.GetProperty("ruleIndex").GetInt32()].GetProperty("id").GetString());
            Assert.Contains(r.GetProperty("level").GetString(), new[] { "error", "warning", "note" });
            Assert.NotEmpty(r.GetProperty("message").GetProperty("text").GetString()!);
            var loc = Assert.Single(r.GetProperty("locations").EnumerateArray());
            var physical = loc.GetProperty("physicalLocation");
            Assert.Equal("p.json", physical.GetProperty("artifactLocation").GetProperty("uri").GetString());
            Assert.True(physical.GetProperty("region").GetProperty("startLine").GetInt32() >= 1);
            Assert.StartsWith("$", Assert.Single(loc.GetProperty("logicalLocations").EnumerateArray()).GetProperty("fullyQualifiedName").GetString(), StringComparison.Ordinal);
        });
        var suppressed = Assert.Single(results, r => r.TryGetProperty("suppressions", out _));
        Assert.Equal("external", Assert.Single(suppressed.GetProperty("suppressions").EnumerateArray()).GetProperty("kind").GetString());
    }

    [Fact]
    public void The_JSON_report_lists_findings_suppressed_ones_and_counts()
    {
        var report = LintJson(Oci, new LintOptions { Ignore = [LintIgnore.Parse("SK401")] });
        using var doc = JsonDocument.Parse(LintReportWriter.Json(report));
        var findings = doc.RootElement.GetProperty("findings").EnumerateArray().ToList();
        Assert.Equal(report.Findings.Select(f => f.Id), findings.Select(f => f.GetProperty("id").GetString()));
        Assert.All(findings, f => Assert.True(f.TryGetProperty("jsonPath", out _) && f.TryGetProperty("line", out _) && f.TryGetProperty("fix", out _)));
        Assert.Equal(1, doc.RootElement.GetProperty("counts").GetProperty("suppressed").GetInt32());
        Assert.Equal("SK401", Assert.Single(doc.RootElement.GetProperty("suppressed").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public void Dockers_profile_allows_ptrace_from_kernel_4_8_and_compares_personality_in_64_bits_and_nothing_worse()
    {
        var path = Repo.Path("data", "profiles", "docker-default.json");
        var report = LintFile(path, new PolicyFileOptions { Kernel = "6.18.0" });
        Assert.Empty(report.Findings.Where(f => f.Severity == LintSeverity.Error));
        var ptrace = Assert.Single(report.Findings, f => f.Id == "SK301");
        Assert.Equal("$.syscalls[1].names[0]", ptrace.Location.JsonPath);
        Assert.Equal(5, report.Findings.Count(f => f.Id == "SK401" && f.Syscalls.SequenceEqual(["personality"])));
        Assert.Equal(["SK301", "SK401"], report.Findings.Select(f => f.Id).Distinct().Order());

        // Before 4.8 a tracer could change a syscall after seccomp checked it: Docker leaves ptrace out there.
        Assert.DoesNotContain(LintFile(path, new PolicyFileOptions { Kernel = "4.4.0" }).Findings, f => f.Id == "SK301");

        // CAP_SYS_ADMIN turns on Docker's entries for mount, the namespaces and clone3 (and the rest of that capability).
        var admin = LintFile(path, new PolicyFileOptions { Kernel = "6.18.0", Capabilities = ["CAP_SYS_ADMIN"] });
        foreach (var name in new[] { "mount", "umount2", "fsopen", "move_mount", "open_tree", "mount_setattr", "setns", "unshare", "clone", "clone3" })
            Assert.Contains(admin.Findings, f => f.Syscalls.Contains(name));
    }

    [Fact]
    public void Podmans_profile_allows_mount_namespaces_keyctl_reboot_and_syslog_by_default()
    {
        var report = LintFile(Repo.Path("data", "profiles", "podman-default.json"), new PolicyFileOptions { Kernel = "6.18.0" });
        var ids = report.Findings.GroupBy(f => f.Id).ToDictionary(g => g.Key, g => g.SelectMany(f => f.Syscalls).Distinct().Order().ToList());
        Assert.Equal(["fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount", "open_tree", "pivot_root", "umount", "umount2"], ids["SK308"]);
        Assert.Equal(["clone", "clone3", "setns", "unshare"], ids["SK309"]);
        Assert.Equal(["keyctl"], ids["SK304"]);
        Assert.Equal(["reboot", "syslog"], ids["SK312"]);
        Assert.Equal(["ptrace"], ids["SK301"]);
        Assert.Empty(report.Findings.Where(f => f.Severity == LintSeverity.Error));
    }

    [Fact]
    public void The_text_report_has_one_line_per_finding_its_fix_and_a_summary()
    {
        var report = LintJson(Oci);
        var lines = LintReportWriter.Text(report).TrimEnd('\n').Split('\n');
        Assert.Equal(2 * report.Findings.Length + 1, lines.Length);
        Assert.Matches(@"^p\.json:\d+:\d+: (error|warning|note) SK\d{3} \[\$\S*\]: ", lines[0]);
        Assert.StartsWith("  fix: ", lines[1], StringComparison.Ordinal);
        Assert.Equal(LintReportWriter.Summary(report), lines[^1]);
    }
}
