using SeccompKit.Agent;

namespace SeccompKit.Tests.Agent;

/// <summary><see cref="AgentConfig"/>: defaults, every field, and errors located by file and JSON path.</summary>
public sealed class AgentConfigSpecs : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("seccompkit-agentconfig-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_file_named_by_many_profiles_is_loaded_once()
    {
        // Found by tools/Fuzz: a 188 KB configuration naming one profile under thousands of names loaded it each time
        // (42 s, 8.4 GiB).
        Write("web.json", """{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }""");
        string names = string.Join(", ", Enumerable.Range(0, 50).Select(i => $"\"p{i}\": \"{(i % 2 == 0 ? "web.json" : "./web.json")}\""));
        var config = AgentConfig.Parse($$"""{ "profiles": { {{names}} } }""", Path.Combine(_dir.FullName, "agent.json"));
        Assert.Equal(50, config.Profiles.Count);
        Assert.All(config.Profiles.Values, p => Assert.Same(config.Profiles["p0"], p));
    }

    [Fact]
    public void A_mount_pattern_longer_than_PATH_MAX_is_refused_with_its_JSON_path()
    {
        // Found by tools/Fuzz: a 170,000-character source took 7 GiB to turn into a regular expression.
        string source = new('\\', RulesetSpec.MaxPatternLength + 1);
        var config = AgentConfig.Parse($$"""{ "rulesets": { "lab": { "mounts": [ { "fstype": "tmpfs", "source": "{{source.Replace("\\", "\\\\", StringComparison.Ordinal)}}", "target": "/mnt/*" } ] } } }""", "/etc/agent.json");
        var e = Assert.Throws<AgentConfigException>(() => RulesetSpec.FromConfig(config));
        Assert.Contains("$.rulesets.lab.mounts[0].source", e.Message, StringComparison.Ordinal);
        Assert.Contains($"at most {RulesetSpec.MaxPatternLength}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_profiles_than_the_bound_are_refused_naming_the_bound()
    {
        string names = string.Join(", ", Enumerable.Range(0, AgentConfig.MaxProfiles + 1).Select(i => $"\"p{i}\": \"web.json\""));
        var e = Assert.Throws<AgentConfigException>(() => AgentConfig.Parse($$"""{ "profiles": { {{names}} } }""", Path.Combine(_dir.FullName, "agent.json")));
        Assert.Contains("$.profiles", e.Message, StringComparison.Ordinal);
        Assert.Contains($"at most {AgentConfig.MaxProfiles}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_profile_path_with_a_NUL_character_is_refused_with_its_JSON_path()
    {
        // Found by tools/Fuzz: Path.GetFullPath threw ArgumentException ("Null character in path"), an internal error.
        var e = Assert.Throws<AgentConfigException>(() => AgentConfig.Parse("""{ "profiles": { "web": "web\u0000.json" } }""", "/etc/agent.json"));
        Assert.Contains("$.profiles.web", e.Message, StringComparison.Ordinal);
        Assert.Contains("NUL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_lone_surrogate_escape_in_a_ruleset_is_read_as_the_replacement_character_not_an_internal_error()
    {
        // Found by tools/Fuzz: .NET refuses to read "\ud800" as a string (InvalidOperationException), past the config's
        // error handling. Read as U+FFFD, as the profile readers and Go do.
        var config = AgentConfig.Parse("""{ "rulesets": { "lab": { "mounts": [ { "fstype": "tmpfs", "source": "x\ud800", "target": "/mnt/\udc00" } ] } } }""", "/etc/agent.json");
        var ruleset = Assert.Single(RulesetSpec.FromConfig(config), r => r.Key == "lab").Value;
        Assert.NotNull(ruleset.Mounts);
    }

    [Fact]
    public void The_default_allows_root_only_with_no_group_and_no_default_mode()
    {
        var c = new AgentConfig();
        Assert.Equal([0u], c.AllowedUids);
        Assert.Null(c.SocketGroup);
        Assert.Null(c.DefaultMode);
        Assert.Empty(c.Profiles);
        Assert.Empty(c.Rulesets);
        Assert.Equal([0u], AgentConfig.Parse("{}", "x.json").AllowedUids);
    }

    [Fact]
    public void Every_field_is_read_and_profiles_are_loaded_relative_to_the_file()
    {
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "p"));
        Write("p/web.json", """{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"}]}""");
        string path = Write("agent.json", """
            {
              // comments are allowed
              "allowedUids": [0, 1000],
              "socketGroup": "containers",
              "defaultMode": "complain:web",
              "profiles": { "web": "p/web.json" },
              "rulesets": { "lab": { "mknod": ["1:3"] } },
            }
            """);
        var c = AgentConfig.Load(path);
        Assert.Equal([0u, 1000u], c.AllowedUids);
        Assert.Equal("containers", c.SocketGroup);
        Assert.Equal(new ContainerMode.Complain("web"), c.DefaultMode);
        Assert.Contains("read", c.Profiles["web"].SyscallNames);
        Assert.Equal("1:3", c.Rulesets["lab"].GetProperty("mknod")[0].GetString());
        Assert.Equal(path, c.Source);
    }

    [Fact]
    public void A_numeric_socket_group_is_kept_as_its_number() =>
        Assert.Equal("65534", AgentConfig.Parse("""{"socketGroup": 65534}""", "x.json").SocketGroup);

    public static TheoryData<string, string, string> Refused() => new()
    {
        // config, JSON path, a word of the problem
        { "[", "$", "not valid JSON" },
        { "[]", "$", "must be an object" },
        { """{"allowedUid": [0]}""", "$.allowedUid", "unknown field" },
        { """{"allowedUids": 0}""", "$.allowedUids", "array of uids" },
        { """{"allowedUids": []}""", "$.allowedUids", "empty" },
        { """{"allowedUids": [0, -1]}""", "$.allowedUids[1]", "must be a uid" },
        { """{"allowedUids": [0, "root"]}""", "$.allowedUids[1]", "must be a uid" },
        { """{"socketGroup": ""}""", "$.socketGroup", "group name or a gid" },
        { """{"socketGroup": true}""", "$.socketGroup", "group name or a gid" },
        { """{"defaultMode": "teach"}""", "$.defaultMode", "names no agent mode" },
        { """{"defaultMode": 1}""", "$.defaultMode", "must be a string" },
        { """{"defaultMode": "complain:web"}""", "$.defaultMode", "$.profiles does not define" },
        { """{"profiles": {"web": "missing.json"}}""", "$.profiles.web", "cannot be loaded" },
        { """{"profiles": {"web": 3}}""", "$.profiles.web", "path of a policy file" },
        { """{"profiles": {"a/b": "x.json"}}""", "$.profiles.a/b", "not a profile name" },
        { """{"rulesets": {"lab": []}}""", "$.rulesets.lab", "must be an object" },
        { """{"rulesets": {"lab": {}, "lab": {}}}""", "$.rulesets.lab", "appears twice" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_wrong_value_is_refused_with_the_file_and_its_JSON_path(string text, string jsonPath, string word)
    {
        string path = Write("bad.json", text);
        var e = Assert.Throws<AgentConfigException>(() => AgentConfig.Load(path));
        Assert.Equal(jsonPath, e.JsonPath);
        Assert.Equal(path, e.File);
        Assert.StartsWith($"{path}: {jsonPath}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(word, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_refused_with_its_name()
    {
        var e = Assert.Throws<AgentConfigException>(() => AgentConfig.Load(Path.Combine(_dir.FullName, "none.json")));
        Assert.Equal("$", e.JsonPath);
        Assert.Contains("cannot be read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_profile_stops_the_configuration_with_the_profile_error()
    {
        Write("broken.json", """{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_BOGUS"}]}""");
        string path = Write("agent.json", """{"profiles": {"web": "broken.json"}}""");
        var e = Assert.Throws<AgentConfigException>(() => AgentConfig.Load(path));
        Assert.Equal("$.profiles.web", e.JsonPath);
        Assert.Contains("SCMP_ACT_BOGUS", e.Message, StringComparison.Ordinal);
    }
}
