using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Tests;

public sealed class CompileSpecs
{
    internal static string Repo(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SeccompKit.slnx"))) dir = dir.Parent;
        return Path.Combine(dir!.FullName, relative);
    }

    private const string App = """
        # a small service
        default errno(EPERM)
        architectures x86_64, x86
        allow { read, write, close, exit_group, openat(flags & O_ACCMODE == O_RDONLY) }
        errno(ENOSYS) { clone3 }
        kill-process { ptrace }
        """;

    [Fact]
    public void Compile_writes_a_raw_filter_that_means_the_policy()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("app.policy"), App);
        var (exit, c) = TestConsole.Run("compile", dir.File("app.policy"), "-o", dir.File("app.bpf"));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal("", c.StderrText);
        var program = BpfProgram.FromRaw(File.ReadAllBytes(dir.File("app.bpf")));
        var policy = PolicyLanguage.Parse(App);
        uint x64 = Architecture.X86_64.AuditArch;
        foreach (var (nr, args) in new (int, ulong[])[] { (0, []), (257, [0, 0, 0]), (257, [0, 0, 1]), (101, []), (435, []), (39, []) })
        {
            var d = new SeccompData(nr, x64, 0, args);
            Assert.Equal(PolicyEvaluator.EvaluateValue(policy, d), Interpreter.Evaluate(program, d));
        }
        Assert.Equal(SeccompReturn.SECCOMP_RET_KILL_PROCESS, Interpreter.Evaluate(program, new SeccompData(101, x64)));
    }

    [Fact]
    public void Compile_reports_paths_and_the_action_cache_as_text_and_json()
    {
        var (exit, c) = TestConsole.Run("compile", Repo("data/profiles/docker-default.json"), "--report", "-q");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("length:", c.StdoutText);
        Assert.Matches(@"x86_64\s+\d+\s+[\d.]+\s+\d+\s+(\d+)/\1", c.StdoutText); // every always-allowed syscall is cached
        var (exit2, c2) = TestConsole.Run("compile", Repo("data/profiles/docker-default.json"), "--report-json", "-q");
        Assert.Equal(ExitCodes.Success, exit2);
        using var doc = JsonDocument.Parse(c2.StdoutText);
        var x64 = doc.RootElement.GetProperty("architectures").EnumerateArray().First(a => a.GetProperty("arch").GetString() == "x86_64");
        Assert.Equal(x64.GetProperty("cached").GetArrayLength(), x64.GetProperty("cacheableByPolicy").GetArrayLength());
        Assert.True(x64.GetProperty("cached").GetArrayLength() > 250);
    }

    [Fact]
    public void Compile_warns_on_stderr_about_what_runc_skips()
    {
        var (exit, c) = TestConsole.Run("compile", Repo("data/profiles/podman-default.json"), "--from", "podman", "--report");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("warning:", c.StderrText);
        Assert.DoesNotContain("warning", c.StdoutText);
    }

    [Fact]
    public void Compile_prints_pseudo_c_and_the_listing()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("app.policy"), App);
        var (exit, c) = TestConsole.Run("compile", dir.File("app.policy"), "--format", "pseudo-c", "-o", "-");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("if (nr == openat) {", c.StdoutText);
        Assert.Contains("return KILL_PROCESS;", c.StdoutText);
        var (exit2, c2) = TestConsole.Run("compile", dir.File("app.policy"), "--format", "text", "-o", "-");
        Assert.Equal(ExitCodes.Success, exit2);
        Assert.Contains("A = arch", c2.StdoutText);
    }

    [Theory]
    [InlineData("needs -o or --report", new string[0], ExitCodes.Usage, "-o FILE")]
    [InlineData("bad policy text is located with a caret", new[] { "-o", "-" }, ExitCodes.BadInput, "^")]
    public void Compile_refuses_with_a_reason(string desc, string[] extra, int code, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.policy"), "default errno(EPERM)\nallow { raed }\n");
        var (exit, c) = TestConsole.Run(["compile", dir.File("bad.policy"), .. extra]);
        Assert.True(code == exit, desc + ": " + c.StderrText);
        Assert.Contains(expected, c.StderrText);
    }

    [Fact]
    public void Compile_reads_a_policy_from_standard_input_once()
    {
        var (exit, c) = TestConsole.RunWith(System.Text.Encoding.UTF8.GetBytes(App), "compile", "-", "--format", "text", "-o", "-");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        Assert.Contains("return KILL_PROCESS", c.StdoutText);
    }

    [Fact]
    public void Compile_refuses_binary_output_to_a_terminal()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("app.policy"), App);
        var c = new TestConsole(terminal: true);
        int exit = CliApp.Run(["compile", dir.File("app.policy"), "-o", "-"], c);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(c.StdoutBytes);
    }
}

public sealed class ConvertSpecs
{
    [Fact]
    public void Converting_Docker_to_the_language_and_then_to_OCI_keeps_the_meaning()
    {
        using var dir = new TempDir();
        var (exit, c) = TestConsole.Run("convert", CompileSpecs.Repo("data/profiles/docker-default.json"), "-q", "-o", dir.File("docker.policy"));
        Assert.Equal(ExitCodes.Success, exit);
        var text = File.ReadAllText(dir.File("docker.policy"));
        Assert.Contains("default errno(EPERM)", text);
        var (exit2, c2) = TestConsole.Run("convert", dir.File("docker.policy"), "-o", dir.File("docker.json"));
        Assert.True(exit2 == ExitCodes.Success, c2.StderrText);
        var viaLanguage = PolicyLanguage.ParseFile(dir.File("docker.policy"));
        var viaOci = SeccompKit.Policy.Oci.OciImporter.Import(File.ReadAllText(dir.File("docker.json"))).Policy;
        foreach (var abi in viaLanguage.EffectiveArchitectures)
            foreach (var e in abi.Syscalls.All)
                foreach (var a0 in new ulong[] { 0, 8, 0x20000, 0xffffffff, 0x7e020000 })
                {
                    var d = new SeccompData(e.Number, abi.AuditArch, 0, a0);
                    Assert.Equal(PolicyEvaluator.EvaluateValue(viaLanguage, d), PolicyEvaluator.EvaluateValue(viaOci, d));
                }
    }

    [Fact]
    public void Converting_the_language_twice_gives_the_same_text()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.policy"), "default kill\nallow { write, read, openat(flags == O_RDONLY) }\n");
        var (_, c1) = TestConsole.Run("convert", dir.File("a.policy"), "--to", "policy", "-o", dir.File("b.policy"));
        var (exit, c2) = TestConsole.Run("convert", dir.File("b.policy"), "--to", "policy");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal(File.ReadAllText(dir.File("b.policy")), c2.StdoutText);
    }

    [Fact]
    public void A_policy_OCI_cannot_express_is_refused_not_changed_with_every_problem_located()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.policy"), "default trap(5)\non-bad-arch kill-process\nallow { read(count >= 3 && count < 9) }\n");
        var (exit, c) = TestConsole.Run("convert", dir.File("a.policy"), "--to", "oci", "--for", "runc@1.1.5");
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains("cannot be written as OCI for runc 1.1.5 (3 problems)", c.StderrText);
        Assert.Contains($"{dir.File("a.policy")}:1:1: ", c.StderrText);
        Assert.Contains($"{dir.File("a.policy")}:2:1: ", c.StderrText);
        Assert.Contains($"{dir.File("a.policy")}:3:9: ", c.StderrText);
        Assert.Contains("fix: write `on-bad-arch kill-thread`", c.StderrText);
        Assert.DoesNotMatch(@"With[A-Z]|PolicyAction\.", c.StderrText);
        Assert.Equal("", c.StdoutText);
    }

    [Fact]
    public void A_policy_with_32_bit_conditions_converts_to_masked_comparisons_for_the_named_runtime()
    {
        using var dir = new TempDir();
        // 32-bit-width conditions are SeccompKit's (libseccomp issue #383); OCI compares 64 bits or a mask, and a mask
        // within 32 bits means the same at either width.
        File.WriteAllText(dir.File("a.policy"), "default kill\nallow { copy_file_range(flags == 0) }\n");
        var (exit, c) = TestConsole.Run("convert", dir.File("a.policy"), "--to", "oci", "--for", "crun@1.8.1");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        var entry = System.Text.Json.Nodes.JsonNode.Parse(c.StdoutText)!["syscalls"]![0]!;
        Assert.Equal("SCMP_CMP_MASKED_EQ", (string)entry["args"]![0]!["op"]!);
        Assert.Equal(0xffffffffUL, (ulong)entry["args"]![0]!["value"]!);
        Assert.Contains("note: for crun 1.8.1: on-bad-arch: the policy has no `on-bad-arch` statement", c.StderrText);
    }

    [Fact]
    public void An_unknown_target_is_a_usage_error()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.policy"), "default allow\n");
        var (exit, c) = TestConsole.Run("convert", dir.File("a.policy"), "--to", "oci", "--for", "runc@0.1");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("known: crun", c.StderrText);
    }
}
