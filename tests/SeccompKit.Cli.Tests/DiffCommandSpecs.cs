using System.Text.Json;

namespace SeccompKit.Cli.Tests;

/// <summary><c>seccompkit diff</c> as a user runs it.</summary>
public sealed class DiffCommandSpecs
{
    [Fact]
    public void Docker_against_podman_exits_1_with_the_differences_and_against_itself_converted_exits_0()
    {
        string docker = CompileSpecs.Repo("data/profiles/docker-default.json"), podman = CompileSpecs.Repo("data/profiles/podman-default.json");
        var (exit, c) = TestConsole.Run("diff", docker, podman);
        Assert.Equal(ExitCodes.Differences, exit);
        Assert.Contains("x86_64 mount: always: ERRNO(EPERM) -> ALLOW", c.StdoutText, StringComparison.Ordinal);

        using var dir = new TempDir();
        (exit, c) = TestConsole.Run("convert", docker, "--to", "policy", "-o", dir.File("docker.policy"));
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        (exit, c) = TestConsole.Run("compile", docker, "-o", dir.File("docker.bpf"));
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        (exit, c) = TestConsole.Run("diff", dir.File("docker.policy"), dir.File("docker.bpf"));
        Assert.True(exit == ExitCodes.Success, c.StdoutText + c.StderrText);
        Assert.Equal("", c.StdoutText);
    }

    [Fact]
    public void Json_lists_each_difference_with_an_example()
    {
        var (exit, c) = TestConsole.Run("diff", CompileSpecs.Repo("data/profiles/docker-default.json"), CompileSpecs.Repo("data/profiles/podman-default.json"), "--format", "json");
        Assert.Equal(ExitCodes.Differences, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        Assert.Equal("seccompkit-diff/1", doc.RootElement.GetProperty("schema").GetString());
        Assert.False(doc.RootElement.GetProperty("equal").GetBoolean());
        var first = doc.RootElement.GetProperty("differences")[0];
        foreach (var f in new[] { "abi", "syscall", "first", "last", "conditions", "before", "after", "example" })
            Assert.True(first.TryGetProperty(f, out _), f);
    }
}
