using System.Text;
using System.Text.Json;
using SeccompKit.TestKit;

namespace SeccompKit.Cli.Tests;

public sealed class LintCommandSpecs
{
    private const string Clean = "default errno(EPERM)\nenosys-above x86_64 460\nallow { read, write, exit_group }\n";
    private const string Warned = "default errno(EPERM)\nenosys-above x86_64 460\nallow { read, write, exit_group, ptrace }\n";
    private const string Failed = "default allow\non-bad-arch allow\narchitectures x86_64, x86, x32\nerrno(EPERM) { ptrace, process_vm_readv, process_vm_writev, pidfd_getfd }\n";

    private static string Write(TempDir dir, string name, string text)
    {
        File.WriteAllText(dir.File(name), text);
        return dir.File(name);
    }

    public static TheoryData<string, string, string, int> FailOn => new()
    {
        // which policy, --fail-on, expected exit
        { "clean", "error", "policy with no finding", ExitCodes.Success },
        { "warned", "error", "warnings do not fail by default", ExitCodes.Success },
        { "warned", "warning", "warnings fail with --fail-on warning", ExitCodes.LintFindings },
        { "failed", "error", "errors fail by default", ExitCodes.LintFindings },
        { "failed", "never", "never fails", ExitCodes.Success },
    };

    [Theory]
    [MemberData(nameof(FailOn))]
    public void Fail_on_decides_the_exit_status(string which, string failOn, string desc, int expected)
    {
        using var dir = new TempDir();
        var file = Write(dir, "p.policy", which switch { "clean" => Clean, "warned" => Warned, _ => Failed });
        var (exit, c) = TestConsole.Run("lint", file, "--fail-on", failOn);
        Assert.True(expected == exit, $"{desc}: exit {exit}\n{c.StdoutText}{c.StderrText}");
    }

    [Fact]
    public void The_text_report_names_file_line_column_id_why_and_fix()
    {
        using var dir = new TempDir();
        var file = Write(dir, "p.policy", Warned);
        var (exit, c) = TestConsole.Run("lint", file);
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal($"{file}:3:34: warning SK301: ptrace is allowed whatever its arguments on x86_64\n  fix: errno(EPERM) {{ ptrace }}\n0 errors, 1 warning, 0 notes (0 suppressed)\n", c.StdoutText);
    }

    [Fact]
    public void A_suppression_comment_read_from_standard_input_hides_the_finding()
    {
        var text = Warned.Replace("ptrace }", "ptrace } # lint: ignore SK301 (debugger)", StringComparison.Ordinal);
        var (exit, c) = TestConsole.RunWith(Encoding.UTF8.GetBytes(text), "lint", "-", "--fail-on", "warning");
        Assert.True(exit == ExitCodes.Success, c.StdoutText + c.StderrText);
        Assert.EndsWith("0 errors, 0 warnings, 0 notes (1 suppressed)\n", c.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public void Sarif_goes_to_the_output_file_and_names_the_rules_and_results()
    {
        using var dir = new TempDir();
        var file = Write(dir, "p.policy", Failed);
        var (exit, c) = TestConsole.Run("lint", file, "--format", "sarif", "-o", dir.File("out.sarif"));
        Assert.Equal(ExitCodes.LintFindings, exit);
        Assert.Equal("", c.StdoutText);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("out.sarif")));
        var run = doc.RootElement.GetProperty("runs")[0];
        var results = run.GetProperty("results").EnumerateArray().ToList();
        Assert.Contains(results, r => r.GetProperty("ruleId").GetString() == "SK101" && r.GetProperty("level").GetString() == "error");
        Assert.All(results, r => Assert.Equal(file, r.GetProperty("locations")[0].GetProperty("physicalLocation").GetProperty("artifactLocation").GetProperty("uri").GetString()));
    }

    [Fact]
    public void Json_output_and_ignore_by_JSON_path_work_on_Dockers_profile()
    {
        var docker = Repo.Path("data", "profiles", "docker-default.json");
        var (exit, c) = TestConsole.Run("lint", docker, "--format", "json", "--ignore", "SK301=$.syscalls[1]", "--fail-on", "warning");
        Assert.True(exit == ExitCodes.LintFindings, c.StderrText);
        using var doc = JsonDocument.Parse(c.StdoutText);
        Assert.Equal(["SK401"], doc.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("id").GetString()).Distinct());
        Assert.Equal("SK301", doc.RootElement.GetProperty("suppressed")[0].GetProperty("id").GetString());
    }

    [Fact]
    public void A_compiled_filter_is_linted_as_the_policy_it_behaves_as_with_the_same_findings_located_at_its_returns()
    {
        using var dir = new TempDir();
        var docker = Repo.Path("data", "profiles", "docker-default.json");
        string bpf = Path.Combine(dir.PathName, "docker.bpf");
        Assert.Equal(0, TestConsole.Run("compile", docker, "-o", bpf).Exit);
        var (fromJson, jc) = TestConsole.Run("lint", docker, "--format", "json", "--fail-on", "never");
        var (fromBpf, bc) = TestConsole.Run("lint", bpf, "--format", "json", "--fail-on", "never");
        Assert.True(fromJson == 0 && fromBpf == 0, jc.StderrText + bc.StderrText);
        static string[] Ids(string json) => [.. JsonDocument.Parse(json).RootElement.GetProperty("findings").EnumerateArray()
            .Select(f => f.GetProperty("id").GetString()!).Distinct().Order()];
        Assert.Contains("SK301", Ids(bc.StdoutText));                      // ptrace allowed, found in the filter too
        Assert.Equal(Ids(jc.StdoutText), Ids(bc.StdoutText));
        Assert.Matches(@"filter 0 pc \d+", bc.StdoutText);                // each finding at the return that decides it
    }

    [Fact]
    public void A_filter_no_policy_can_express_gets_the_arch_checks_the_reasons_and_exit_1_or_6()
    {
        using var dir = new TempDir();
        // No arch check: the same numbers mean other syscalls on other ABIs, which no policy expresses; the arch checks
        // still run on the explanation and find the holes.
        string file = Path.Combine(dir.PathName, "noarch.txt");
        File.WriteAllText(file, "A = sys_number\nif (A == 83) goto L3\nreturn ALLOW\nL3:\nreturn ERRNO(1)\n");
        var (exit, c) = TestConsole.Run("lint", file);
        Assert.Equal(ExitCodes.LintFindings, exit);
        Assert.Contains("cannot express", c.StderrText, StringComparison.Ordinal);
        Assert.Contains("only the arch checks (SK101, SK102) ran", c.StderrText, StringComparison.Ordinal);
        Assert.Contains("seccompkit explain", c.StderrText, StringComparison.Ordinal);
        Assert.Contains($"{file} (filter 0 pc 2): error SK101", c.StdoutText, StringComparison.Ordinal);
        Assert.Contains("error SK102: mkdir is refused on x86_64 but runs on x32", c.StdoutText, StringComparison.Ordinal);
        // Nothing at the --fail-on level: the partial lint says so with 6, not 0.
        var (never, _) = TestConsole.Run("lint", file, "--fail-on", "never");
        Assert.Equal(ExitCodes.NotExpressible, never);
    }

    [Fact]
    public void A_filter_the_kernel_refuses_is_bad_input_not_a_finding()
    {
        using var dir = new TempDir();
        string file = Path.Combine(dir.PathName, "refused.txt");
        File.WriteAllText(file, "A = mem[16]\nreturn ALLOW\n"); // scratch index out of range: the kernel's checker refuses it
        var (exit, c) = TestConsole.Run("lint", file, "--fail-on", "never");
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains("the kernel would refuse this filter", c.StderrText, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_errors_an_unknown_rule_id_and_an_unknown_runtime_exit_2()
    {
        using var dir = new TempDir();
        var file = Write(dir, "p.policy", Clean);
        Assert.Equal(ExitCodes.Usage, TestConsole.Run("lint", file, "--ignore", "SK999").Exit);
        Assert.Equal(ExitCodes.Usage, TestConsole.Run("lint", file, "--runtime", "kata").Exit);
        Assert.Equal(ExitCodes.Usage, TestConsole.Run("lint").Exit);
    }

    [Fact]
    public void The_rule_list_names_every_rule()
    {
        var (exit, c) = TestConsole.Run("lint", "--rules");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal(Analysis.Lint.LintRules.All.Length, c.StdoutText.TrimEnd('\n').Split('\n').Length);
        Assert.StartsWith("SK001  note", c.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public void The_runtime_option_reports_NOTIFY_on_runcs_write()
    {
        using var dir = new TempDir();
        var file = Write(dir, "p.policy", "default allow\nlistener \"/run/agent.sock\"\nnotify { write }\n");
        var (exit, c) = TestConsole.Run("lint", file, "--runtime", "runc@1.1.5");
        Assert.Equal(ExitCodes.LintFindings, exit);
        Assert.Contains("error SK604: write is notified, but runc 1.1.5 makes it itself", c.StdoutText, StringComparison.Ordinal);
    }
}
