using System.Collections.Immutable;
using System.Text.Json;
using CsCheck;
using SeccompKit.Agent;
using SeccompKit.Policy;

namespace SeccompKit.Tests.Agent;

/// <summary>Rulesets without the kernel: the config grammar, its errors, and the decisions made from registers and strings.</summary>
public sealed class RulesetSpecSpecs
{
    private static RulesetSpec Parse(string json) => RulesetSpec.Parse("r", JsonDocument.Parse(json).RootElement, "$.rulesets.r");

    private static PolicyException ParseError(string json) => Assert.Throws<PolicyException>(() => Parse(json));

    // S_IFCHR | 0666, S_IFBLK | 0660, S_IFIFO | 0644 and the kernel's dev encoding (major << 8 | minor for small numbers).
    private const ulong Chr = 0x21b6, Blk = 0x61b0, Fifo = 0x11a4;

    public static TheoryData<string, ulong, ulong, MknodVerdict> BuiltinCases => new()
    {
        { "null 1:3 is created", Chr, 0x103, MknodVerdict.Create },
        { "zero 1:5", Chr, 0x105, MknodVerdict.Create },
        { "full 1:7", Chr, 0x107, MknodVerdict.Create },
        { "random 1:8", Chr, 0x108, MknodVerdict.Create },
        { "urandom 1:9", Chr, 0x109, MknodVerdict.Create },
        { "tty 5:0", Chr, 0x500, MknodVerdict.Create },
        { "console 5:1", Chr, 0x501, MknodVerdict.Create },
        { "the whiteout 0:0 runs as the caller", Chr, 0, MknodVerdict.Whiteout },
        { "mem 1:1 is refused", Chr, 0x101, MknodVerdict.Refuse },
        { "kmsg 1:11 is refused", Chr, 0x10b, MknodVerdict.Refuse },
        { "block 1:3 is not char 1:3", Blk, 0x103, MknodVerdict.Refuse },
        { "sda 8:0 is refused", Blk, 0x800, MknodVerdict.Refuse },
        { "a FIFO is not a device", Fifo, 0x103, MknodVerdict.NotADevice },
        { "a regular file (type 0) is not a device", 0x1a4, 0, MknodVerdict.NotADevice },
        { "high register bits are ignored like the kernel's umode_t", 0xffff_0000_0000_21b6, 0xffff_ffff_0000_0103, MknodVerdict.Create },
    };

    [Theory]
    [MemberData(nameof(BuiltinCases))]
    public void The_builtin_devices_ruleset_is_LXDs_list(string desc, ulong mode, ulong dev, MknodVerdict expected) =>
        Assert.True(RulesetSpec.BuiltinDevices.DecideMknod(mode, dev).Verdict == expected, desc);

    [Fact]
    public void The_builtin_ruleset_handles_mknod_and_mknodat_only()
    {
        Assert.Equal(["mknod", "mknodat"], RulesetSpec.BuiltinDevices.Syscalls);
        Assert.Equal(1, RulesetSpec.BuiltinDevices.Errno);
        Assert.Equal(8, RulesetSpec.SafeDevices.Length);
    }

    [Fact]
    public void Device_numbers_round_trip_through_the_kernels_encoding() =>
        Gen.Select(Gen.UInt[0, 0xfff], Gen.UInt[0, 0xfffff], Gen.Bool).Sample((major, minor, chr) =>
        {
            var d = new DeviceNode(chr ? DeviceKind.Character : DeviceKind.Block, major, minor);
            return DeviceNode.FromSyscall(d.TypeBits | 0x1b6, d.Encoded) == d && DeviceNode.TryParse(d.ToString(), out _) == d;
        });

    [Fact]
    public void A_configured_ruleset_reads_devices_mounts_and_errno()
    {
        var r = Parse("""
            { "devices": ["safe", "c 10:200", "b 7:0", "c 1:3"],
              "mounts": [ { "fstype": "tmpfs", "source": "scratch*", "target": "/mnt/**", "options": ["size", "mode"], "force": ["nosuid", "nodev", "noexec"] },
                          { "fstype": "ext4", "source": "/dev/vdb", "target": "/data", "force": ["ro"] } ],
              "errno": "EACCES" }
            """);
        Assert.Equal(10, r.Devices!.Value.Length); // "c 1:3" once
        Assert.Equal(MknodVerdict.Create, r.DecideMknod(Chr, 0xac8).Verdict); // 10:200 (/dev/net/tun)
        Assert.Equal(MknodVerdict.Create, r.DecideMknod(Blk, 0x700).Verdict);
        Assert.Equal(13, r.Errno);
        Assert.Equal(["mknod", "mknodat", "mount"], r.Syscalls);
        Assert.Equal(ForcedMountFlags.NoSuid | ForcedMountFlags.NoDev | ForcedMountFlags.NoExec, r.Mounts!.Value[0].Force);
    }

    [Fact]
    public void A_ruleset_with_only_mounts_handles_only_mount() =>
        Assert.Equal(["mount"], Parse("""{ "mounts": [], "errno": 1 }""").Syscalls);

    public static TheoryData<string, string, string> BadRulesets => new()
    {
        { """{ "devices": ["c 1"] }""", "$.rulesets.r.devices[0]", "MAJOR:MINOR" },
        { """{ "devices": ["x 1:3"] }""", "$.rulesets.r.devices[0]", "'c MAJOR:MINOR'" },
        { """{ "devices": ["c 4096:0"] }""", "$.rulesets.r.devices[0]", "does not fit" },
        { """{ "devices": "safe" }""", "$.rulesets.r.devices", "must be an array" },
        { """{ "devices": [], "errno": "EWHAT" }""", "$.rulesets.r.errno", "unknown errno name 'EWHAT'" },
        { """{ "devices": [], "errno": 0 }""", "$.rulesets.r.errno", "1 to 4095" },
        { """{ "devices": [], "errno": 5000 }""", "$.rulesets.r.errno", "1 to 4095" },
        { """{ "devics": [] }""", "$.rulesets.r.devics", "unknown property 'devics'" },
        { """{ "errno": 1 }""", "$.rulesets.r", "handles nothing" },
        { """{ "mounts": [ { "target": "/mnt" } ] }""", "$.rulesets.r.mounts[0]", "needs \"fstype\"" },
        { """{ "mounts": [ { "fstype": "tmpfs" } ] }""", "$.rulesets.r.mounts[0]", "needs \"target\"" },
        { """{ "mounts": [ { "fstype": "tmpfs", "target": "mnt" } ] }""", "$.rulesets.r.mounts[0].target", "absolute path pattern" },
        { """{ "mounts": [ { "fstype": "tmpfs", "target": "/mnt", "force": ["nosymfollow"] } ] }""", "$.rulesets.r.mounts[0].force[0]", "cannot be forced" },
        { """{ "mounts": [ { "fstype": "tmpfs", "target": "/mnt", "options": ["size=1m"] } ] }""", "$.rulesets.r.mounts[0].options[0]", "not a mount option key" },
        { """{ "mounts": [ { "fstype": "tmpfs", "target": "/mnt", "extra": 1 } ] }""", "$.rulesets.r.mounts[0].extra", "unknown property" },
        { """{ "mounts": [ { "fstype": "proc", "target": "/proc" } ] }""", "$.rulesets.r.mounts[0].fstype", "the host's namespaces" },
        { """{ "mounts": [ { "fstype": "sysfs", "target": "/sys" } ] }""", "$.rulesets.r.mounts[0].fstype", "the host's namespaces" },
        { """{ "mounts": [ { "fstype": "mqueue", "target": "/dev/mqueue" } ] }""", "$.rulesets.r.mounts[0].fstype", "the host's namespaces" },
    };

    [Theory]
    [MemberData(nameof(BadRulesets))]
    public void A_bad_ruleset_is_refused_at_its_json_path(string json, string path, string says)
    {
        var e = ParseError(json);
        Assert.Equal(path, e.Location?.JsonPath);
        Assert.Contains(says, e.Message);
    }

    [Theory]
    [InlineData("""{ "devices": { "devices": [] } }""", "$.rulesets.devices", "built-in")]
    [InlineData("""{ "bad name": { "devices": [] } }""", "$.rulesets['bad name']", "not valid")]
    [InlineData("""{ "a": { "devices": [] }, "a": { "devices": [] } }""", "$.rulesets.a", "defined twice")]
    public void The_rulesets_section_refuses_bad_names(string json, string path, string says)
    {
        var e = Assert.Throws<PolicyException>(() => RulesetSpec.ParseAll(JsonDocument.Parse(json).RootElement, "$.rulesets"));
        Assert.Equal(path, e.Location?.JsonPath);
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void The_rulesets_section_reads_every_ruleset() =>
        Assert.Equal(["a", "b.2"], RulesetSpec.ParseAll(JsonDocument.Parse("""{ "a": { "devices": ["safe"] }, "b.2": { "mounts": [] } }""").RootElement, "$.rulesets").Keys.Order());

    private static readonly RulesetSpec Mounts = Parse("""
        { "mounts": [ { "fstype": "tmpfs", "target": "/mnt/*", "options": ["size", "mode", "noswap"], "force": ["nosuid", "nodev"] },
                      { "fstype": "ext4", "source": "/dev/vdb", "target": "/data", "force": ["ro"] } ] }
        """);

    // MS_RDONLY 1, MS_NOSUID 2, MS_NODEV 4, MS_NOEXEC 8, MS_NOATIME 0x400, MS_BIND 0x1000, MS_REMOUNT 0x20, MS_SHARED 0x100000, MS_SILENT 0x8000.
    public static TheoryData<string, string?, string?, string, ulong, string?, string?> MountCases => new()
    {
        { "tmpfs on /mnt/x with allowed options", "tmpfs", "t", "/mnt/x", 0, "size=1m,mode=700,noswap", null },
        { "the legacy magic number is ignored", "tmpfs", "t", "/mnt/x", 0xC0ED0000 | 0x8000, null, null },
        { "ext4 of the named device", "ext4", "/dev/vdb", "/data", 1, null, null },
        { "ext4 of another device", "ext4", "/dev/vda", "/data", 0, null, "no mount rule allows ext4" },
        { "tmpfs deeper than * reaches", "tmpfs", "t", "/mnt/x/y", 0, null, "no mount rule" },
        { "a bind mount", "tmpfs", "/etc", "/mnt/x", 0x1000, null, "not those of a new mount" },
        { "a remount", "tmpfs", "t", "/mnt/x", 0x20, null, "not those of a new mount" },
        { "a propagation change", null, null, "/mnt/x", 0x100000, null, "not those of a new mount" },
        { "no type", null, "t", "/mnt/x", 0, null, "no filesystem type" },
        { "an option not listed", "tmpfs", "t", "/mnt/x", 0, "size=1m,uid=0", "'uid' is not allowed" },
        { "source smuggled as an option", "tmpfs", "t", "/mnt/x", 0, "source=/dev/sda", "'source' is not allowed" },
        { "a target with ..", "tmpfs", "t", "/mnt/../etc", 0, null, "canonical" },
        { "a relative target", "tmpfs", "t", "mnt/x", 0, null, "canonical" },
        { "a target with a trailing /", "tmpfs", "t", "/mnt/x/", 0, null, "canonical" },
        { "a target with //", "tmpfs", "t", "/mnt//x", 0, null, "canonical" },
    };

    [Theory]
    [MemberData(nameof(MountCases))]
    public void Mounts_are_decided_by_type_source_target_flags_and_options(string desc, string? fstype, string? source, string target, ulong flags, string? data, string? refusal)
    {
        var d = Mounts.DecideMount(new MountRequest(fstype, source, target, flags, data));
        if (refusal is null) Assert.True(d.Plan is not null, $"{desc}: {d.Refusal}");
        else Assert.True(d.Refusal?.Contains(refusal) == true, $"{desc}: {d.Refusal ?? "allowed"}");
    }

    [Fact]
    public void An_allowed_mount_carries_the_callers_flags_and_the_forced_ones()
    {
        var plan = Mounts.DecideMount(new MountRequest("tmpfs", null, "/mnt/x", 0x8 | 0x400, "size=1m,noswap")).Plan!;
        Assert.Equal(MountAttributes.NoSuid | MountAttributes.NoDev | MountAttributes.NoExec | MountAttributes.NoAtime, plan.Attributes);
        Assert.Equal("none", plan.Source);
        Assert.Equal([new("size", "1m"), new("noswap", null)], plan.Options);
        Assert.Equal(MountAttributes.ReadOnly, Mounts.DecideMount(new MountRequest("ext4", "/dev/vdb", "/data", 0, null)).Plan!.Attributes);
    }

    [Fact]
    public void The_builtin_ruleset_performs_no_mounts() =>
        Assert.Contains("performs no mounts", RulesetSpec.BuiltinDevices.DecideMount(new MountRequest("tmpfs", "t", "/mnt", 0, null)).Refusal);

    [Theory]
    [InlineData("/mnt/*", "/mnt/a", true)]
    [InlineData("/mnt/*", "/mnt/a/b", false)]
    [InlineData("/mnt/**", "/mnt/a/b", true)]
    [InlineData("/mnt/?", "/mnt/ab", false)]
    [InlineData("/dev/sd[a]", "/dev/sd[a]", true)] // only *, ** and ? are special
    [InlineData("/dev/sd[a]", "/dev/sda", false)]
    [InlineData("a.b", "axb", false)]
    public void Path_patterns_match_whole_paths(string pattern, string value, bool matches) =>
        Assert.Equal(matches, PathPattern.Create(pattern).Matches(value));

    [Fact]
    public void The_report_lists_each_decision_with_its_errno_by_name()
    {
        var report = new SuperviseReport("c1", "devices", "exited",
        [
            new("mknodat", 42, "/dev/null", "c 1:3", SupervisedResult.Performed, 0, null),
            new("mknodat", 42, null, "b 8:0", SupervisedResult.Refused, 1, "b 8:0 is not in ruleset 'devices'"),
        ], 0);
        using var doc = JsonDocument.Parse(report.ToJson());
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("counts").GetProperty("performed").GetInt32());
        Assert.Equal(1, root.GetProperty("counts").GetProperty("refused").GetInt32());
        var calls = root.GetProperty("calls");
        Assert.Equal("c 1:3", calls[0].GetProperty("device").GetString());
        Assert.False(calls[0].TryGetProperty("errno", out _));
        Assert.Equal("EPERM", calls[1].GetProperty("errno").GetString());
        Assert.Equal(ImmutableArray<SupervisedCall>.Empty, new SuperviseReport("c", "r", "exited", [], 0).Calls);
    }
}

/// <summary>Rulesets read from the agent's configuration file.</summary>
public sealed class RulesetConfigSpecs
{
    [Fact]
    public void The_rulesets_of_a_config_file_are_read_and_a_bad_one_names_the_file_and_path()
    {
        var ok = AgentConfig.Parse("""{ "rulesets": { "lab": { "devices": ["safe", "c 10:200"] } } }""", "/etc/agent.json");
        Assert.Equal(9, RulesetSpec.FromConfig(ok)["lab"].Devices!.Value.Length);
        var bad = AgentConfig.Parse("""{ "rulesets": { "lab": { "mounts": [ { "fstype": "tmpfs", "target": "rel" } ] } } }""", "/etc/agent.json");
        var e = Assert.Throws<AgentConfigException>(() => RulesetSpec.FromConfig(bad));
        Assert.Equal(("/etc/agent.json", "$.rulesets.lab.mounts[0].target"), (e.File, e.JsonPath));
        Assert.StartsWith("/etc/agent.json: $.rulesets.lab.mounts[0].target: target 'rel' must be an absolute path pattern", e.Message);
        var builtin = AgentConfig.Parse("""{ "rulesets": { "devices": { "devices": [] } } }""", "/etc/agent.json");
        Assert.Contains("built-in", Assert.Throws<AgentConfigException>(() => RulesetSpec.FromConfig(builtin)).Message);
    }
}
