using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Tests;

/// <summary><c>seccompkit explain</c> as a user runs it.</summary>
public sealed class ExplainCommandSpecs
{
    private const string App = """
        default errno(EPERM)
        architectures x86_64, x86
        allow { read, write, close, exit_group, openat(flags & O_ACCMODE == O_RDONLY) }
        errno(ENOSYS) { clone3 }
        kill-process { ptrace }
        """;

    private static string Repo(string relative) => CompileSpecs.Repo(relative);

    [Fact]
    public void The_summary_groups_syscalls_by_action_and_names_argument_conditions()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("app.policy"), App);
        var (exit, c) = TestConsole.Run("compile", dir.File("app.policy"), "-o", dir.File("app.bpf"));
        Assert.Equal(ExitCodes.Success, exit);
        (exit, c) = TestConsole.Run("explain", dir.File("app.bpf"));
        Assert.Equal(ExitCodes.Success, exit);
        var text = c.StdoutText;
        Assert.Contains("ALLOW (4): read write close exit_group", text, StringComparison.Ordinal);
        Assert.Contains("flags & O_ACCMODE == O_RDONLY: ALLOW", text, StringComparison.Ordinal);
        Assert.Contains("KILL_PROCESS (1): ptrace", text, StringComparison.Ordinal);
    }

    [Fact]
    public void To_policy_writes_a_policy_that_compiles_to_the_same_behaviour()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("app.policy"), App);
        var (exit, c) = TestConsole.Run("explain", dir.File("app.policy"), "--to", "policy", "-o", dir.File("back.policy"));
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        var original = PolicyCompiler.Compile(PolicyLanguage.Parse(App)).Program;
        var back = PolicyCompiler.Compile(PolicyLanguage.ParseFile(dir.File("back.policy"))).Program;
        foreach (var abi in Architecture.All)
            foreach (var s in abi.Syscalls.All)
                foreach (var flags in new ulong[] { 0, 1, 2, 3, 0x8000, 0xffff_ffff_0000_0000 })
                {
                    var d = new SeccompData(s.Number, abi.AuditArch, 0, 0, 0, flags);
                    Assert.Equal(Interpreter.Evaluate(original, d), Interpreter.Evaluate(back, d));
                }
    }

    [Fact]
    public void To_oci_writes_the_docker_profile_back_for_runc_and_it_means_the_same()
    {
        using var dir = new TempDir();
        var (exit, c) = TestConsole.Run("explain", Repo("data/profiles/docker-default.json"), "--to", "oci", "--for", "runc@1.1.5", "-o", dir.File("oci.json"));
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        using var doc = JsonDocument.Parse(File.ReadAllText(dir.File("oci.json")));
        Assert.True(doc.RootElement.TryGetProperty("syscalls", out _));
    }

    [Fact]
    public void An_instruction_pointer_condition_is_listed_with_exit_6_and_nothing_written()
    {
        using var dir = new TempDir();
        Instruction[] program =
        [
            Instruction.Stmt(0x20, 4),                       // A = arch
            Instruction.Jump(0x15, 0xc000003e, 1, 0),        // x86_64?
            Instruction.Stmt(0x06, 0x80000000),              // no: kill
            Instruction.Stmt(0x20, 8),                       // A = ip.lo
            Instruction.Jump(0x35, 0x1000, 0, 1),            // ip.lo >= 0x1000?
            Instruction.Stmt(0x06, 0x00050001),              // yes: EPERM
            Instruction.Stmt(0x06, 0x7fff0000),              // no: allow
        ];
        File.WriteAllBytes(dir.File("ip.txt"), BpfProgram.ToRaw(program));
        var (exit, c) = TestConsole.Run("explain", dir.File("ip.txt"), "--to", "policy", "-o", dir.File("out.policy"));
        Assert.Equal(ExitCodes.NotExpressible, exit);
        Assert.Contains("instruction pointer", c.StderrText, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("out.policy")));
        (exit, c) = TestConsole.Run("explain", dir.File("ip.txt"));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("ip.lo >= 0x1000: ERRNO(EPERM)", c.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_has_the_documented_schema()
    {
        var (exit, c) = TestConsole.Run("explain", Repo("data/profiles/docker-default.json"), "--format", "json");
        Assert.Equal(ExitCodes.Success, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var root = doc.RootElement;
        Assert.Equal("seccompkit-explain/1", root.GetProperty("schema").GetString());
        var x64 = root.GetProperty("abis").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "x86_64");
        var clone = x64.GetProperty("syscalls").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "clone");
        Assert.True(clone.GetProperty("regions").GetArrayLength() >= 2);
        var region = clone.GetProperty("regions")[0];
        foreach (var field in new[] { "value", "action", "data", "text", "filter", "pc", "conditions", "words", "opaque" })
            Assert.True(region.TryGetProperty(field, out _), field);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("problems").ValueKind);
    }
}
