using SeccompKit.Cli.Commands;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Tests;

/// <summary><c>convert --to spo</c> and <c>--to kubelet</c>: a learned profile made ready for a Kubernetes node.</summary>
public sealed class ConvertKubernetesSpecs
{
    private const string Learned = """
        { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "flags": [],
          "syscalls": [ { "names": ["read", "write", "close", "exit_group", "execve"], "action": "SCMP_ACT_ALLOW" },
                        { "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38 },
                        { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": 21505, "op": "SCMP_CMP_EQ" } ] } ] }
        """;

    [Fact]
    public void To_spo_writes_a_SeccompProfile_the_CRD_accepts_named_after_the_file_and_says_how_pods_use_it()
    {
        using var dir = new TempDir();
        string input = dir.File("Web_Server.json");
        File.WriteAllText(input, Learned);
        var (exit, c) = TestConsole.Run("convert", input, "--to", "spo", "--for", "runc@1.1.5", "--namespace", "shop");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        Assert.Empty(KubernetesSchemas.SeccompProfileErrors(c.StdoutText));
        Assert.Contains("  name: web-server\n", c.StdoutText, StringComparison.Ordinal);
        Assert.Contains("errnoRet: \"38\"", c.StdoutText, StringComparison.Ordinal);
        Assert.Contains("metadata.name web-server (from", c.StderrText, StringComparison.Ordinal);
        Assert.Contains("localhostProfile: operator/shop/web-server.json", c.StderrText, StringComparison.Ordinal);
    }

    [Fact]
    public void To_kubelet_writes_the_OCI_profile_for_the_runtime()
    {
        using var dir = new TempDir();
        string input = dir.File("learned.json");
        File.WriteAllText(input, Learned);
        var (exit, c) = TestConsole.Run("convert", input, "--to", "kubelet", "--for", "crun@1.8.1", "-q");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        var back = OciImporter.Import(c.StdoutText, new OciImportOptions { Target = OciTarget.Get("crun", "1.8.1") }).Policy;
        Assert.Equal(OciImporter.Import(Learned).Policy.Rules.Select(r => r.Syscall).Order(), back.Rules.Select(r => r.Syscall).Order());
    }

    [Theory]
    [InlineData("a name Kubernetes refuses", "--name|Web_1", ExitCodes.Usage, "--name Web_1: `Web_1` is not a Kubernetes object name")]
    [InlineData("--name without --to spo", "--to|oci|--name|web", ExitCodes.Usage, "use them with --to spo")]
    public void Wrong_options_are_refused_with_the_option_named(string desc, string args, int code, string message)
    {
        using var dir = new TempDir();
        string input = dir.File("learned.json");
        File.WriteAllText(input, Learned);
        string[] extra = args.Split('|');
        if (!extra.Contains("--to")) extra = ["--to", "spo", .. extra];
        var (exit, c) = TestConsole.Run(["convert", input, "--for", "runc@1.1.5", .. extra]);
        Assert.True(exit == code, $"{desc}: exit {exit}\n{c.StderrText}");
        Assert.Contains(message, c.StderrText, StringComparison.Ordinal);
        Assert.Empty(c.StdoutText);
    }

    [Fact]
    public void A_profile_the_CRD_cannot_hold_is_refused_with_the_statement_to_change_and_nothing_written()
    {
        using var dir = new TempDir();
        string input = dir.File("enosys.json");
        File.WriteAllText(input, Learned.Replace("\"defaultErrnoRet\": 1", "\"defaultErrnoRet\": 38", StringComparison.Ordinal));
        var (exit, c) = TestConsole.Run("convert", input, "--to", "spo", "--name", "web", "--for", "runc@1.1.5", "-o", dir.File("web.yaml"));
        Assert.NotEqual(ExitCodes.Success, exit);
        Assert.Contains("has no defaultErrnoRet", c.StderrText, StringComparison.Ordinal);
        Assert.Contains("fix: write `default errno(EPERM)`", c.StderrText, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("web.yaml")));
    }
}
