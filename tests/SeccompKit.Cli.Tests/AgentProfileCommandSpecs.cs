using System.Text.Json.Nodes;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Tests;

/// <summary><c>seccompkit agent profile</c> through the real binary: what it writes, how it refuses, its exit codes.</summary>
public sealed class AgentProfileCommandSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-agent-profile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProcessResult Cli(params string[] args) => CliProcess.Run(_dir, args);

    [Theory]
    [InlineData("runc@1.1.5", "learn", "SCMP_ACT_ALLOW")]
    [InlineData("crun@1.8.1", "learn", "SCMP_ACT_NOTIFY")]
    [InlineData("runc@1.1.5", "supervise:devices", "SCMP_ACT_ALLOW")]
    public void It_writes_the_section_with_the_listener_fields_and_says_what_is_not_notified(string runtime, string mode, string defaultAction)
    {
        string file = Path.Combine(_dir, "p.json");
        string[] extra = mode.StartsWith("supervise", StringComparison.Ordinal) ? ["--notify", "mknod,mknodat"] : [];
        var r = Cli(["agent", "profile", "--runtime", runtime, "--socket", "/run/sk.sock", "--metadata", mode, "-o", file, .. extra]);
        Assert.True(r.Exit == 0, r.Err);
        var json = JsonNode.Parse(File.ReadAllText(file))!;
        Assert.Equal("/run/sk.sock", json["listenerPath"]!.GetValue<string>());
        Assert.Equal(mode, json["listenerMetadata"]!.GetValue<string>());
        Assert.Equal(defaultAction, json["defaultAction"]!.GetValue<string>());
        OciImporter.Import(File.ReadAllText(file), new OciImportOptions { Target = OciTarget.Parse(runtime, _ => null) });
        if (mode == "learn") Assert.Contains("not notified: clone3", r.Err);
        if (mode == "learn" && runtime.StartsWith("runc", StringComparison.Ordinal)) Assert.Contains("not notified: write", r.Err);
    }

    [Theory]
    [InlineData("supervise:devices", null, "mknod,mknodat")]
    [InlineData("supervise:tmpfs", """{"rulesets": {"tmpfs": {"mounts": [{"fstype": "tmpfs", "target": "/mnt/**"}]}}}""", "mount")]
    public void Supervise_notifies_the_rulesets_syscalls_from_the_built_in_ruleset_or_the_agents_configuration(string mode, string? config, string expected)
    {
        string[] extra = [];
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(_dir, "agent.json"), config);
            extra = ["--config", Path.Combine(_dir, "agent.json")];
        }
        var r = Cli(["agent", "profile", "--runtime", "runc@1.1.5", "--socket", "/run/sk.sock", "--metadata", mode, "-o", "-", .. extra]);
        Assert.True(r.Exit == 0, r.Err);
        var notified = JsonNode.Parse(r.Out)!["syscalls"]!.AsArray().Where(s => s!["action"]!.GetValue<string>() == "SCMP_ACT_NOTIFY")
            .SelectMany(s => s!["names"]!.AsArray().Select(n => n!.GetValue<string>())).Order(StringComparer.Ordinal);
        Assert.Equal(expected, string.Join(',', notified));
        // A configuration that does not define the ruleset is refused with the names it does define.
        if (config is not null)
        {
            var missing = Cli(["agent", "profile", "--runtime", "runc@1.1.5", "--socket", "/run/sk.sock", "--metadata", "supervise:other", "-o", "-", .. extra]);
            Assert.Equal(2, missing.Exit);
            Assert.Contains("defines no ruleset 'other'; it defines tmpfs", missing.Err, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Complain_turns_the_base_profiles_refusals_into_notifications()
    {
        string base_ = Path.Combine(_dir, "base.json");
        File.WriteAllText(base_, """{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}""");
        var r = Cli("agent", "profile", "--runtime", "crun@1.8.1", "--socket", "/run/sk.sock", "--metadata", "complain:web", "--base", base_, "-o", "-");
        Assert.True(r.Exit == 0, r.Err);
        var json = JsonNode.Parse(r.Out)!;
        var mkdir = Assert.Single(json["syscalls"]!.AsArray(), s => s!["names"]!.AsArray().Any(n => n!.GetValue<string>() == "mkdir"))!;
        Assert.Equal("SCMP_ACT_NOTIFY", mkdir["action"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(2, "--runtime", "youki", "--metadata", "learn")]
    [InlineData(2, "--runtime", "runc@1.1.5", "--metadata", "learning")]
    [InlineData(2, "--runtime", "runc@1.1.5", "--metadata", "complain:web")]
    [InlineData(2, "--runtime", "runc@1.1.5", "--metadata", "supervise:tmpfs")]
    [InlineData(2, "--runtime", "runc@1.1.5", "--metadata", "learn", "--config", "agent.json")]
    [InlineData(3, "--runtime", "runc@1.1.5", "--metadata", "supervise:logs", "--notify", "write")]
    public void It_refuses_what_cannot_be_written_with_a_located_message_and_its_exit_code(int code, params string[] args)
    {
        var r = Cli(["agent", "profile", "--socket", "/run/sk.sock", "-o", Path.Combine(_dir, "p.json"), .. args]);
        Assert.Equal(code, r.Exit);
        Assert.StartsWith("seccompkit: ", r.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "p.json")));
    }

    [Fact]
    public void An_existing_output_is_kept_without_force_and_replaced_with_it()
    {
        string file = Path.Combine(_dir, "p.json");
        File.WriteAllText(file, "old");
        string[] args = ["agent", "profile", "--runtime", "crun@1.8.1", "--socket", "/run/sk.sock", "--metadata", "learn", "-o", file];
        Assert.Equal(4, Cli(args).Exit);
        Assert.Equal("old", File.ReadAllText(file));
        Assert.Equal(0, Cli([.. args, "--force"]).Exit);
        Assert.StartsWith("{", File.ReadAllText(file));
    }

    [Fact]
    public void Help_shows_the_modes_and_examples()
    {
        var r = Cli("agent", "profile", "--help");
        Assert.Equal(0, r.Exit);
        Assert.Contains("Examples:", r.Out);
        Assert.Contains("--metadata learn", r.Out);
        Assert.Contains("complain:PROFILE", r.Out);
    }
}
