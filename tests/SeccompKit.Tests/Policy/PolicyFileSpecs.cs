using GenerateSyscallTables;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy;

/// <summary><see cref="PolicyFile"/>: any policy file in one call, its format detected, errors naming the file.</summary>
public sealed class PolicyFileSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("policyfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Oci = """{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }""";

    public static TheoryData<string, PolicyFormat, string> Formats => new()
    {
        { "default errno(EPERM)\nallow { read }", PolicyFormat.Policy, "text that is not a JSON object is the policy language" },
        { Oci, PolicyFormat.Oci, "a linux.seccomp object" },
        { """{ "ociVersion": "1.0.2", "linux": { "seccomp": { "defaultAction": "SCMP_ACT_ALLOW" } } }""", PolicyFormat.Oci, "a whole config.json" },
        { """{ "defaultAction": "SCMP_ACT_ERRNO", "archMap": [] }""", PolicyFormat.Docker, "archMap makes it Docker" },
        { """{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {} } ] }""", PolicyFormat.Docker, "an entry with includes" },
        { """{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "name": "read", "action": "SCMP_ACT_ALLOW" } ] }""", PolicyFormat.Docker, "an entry with Docker's singular name" },
        { "{ not json", PolicyFormat.Oci, "malformed JSON goes to the OCI reader, which reports its line" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Detect_tells_the_format_from_the_content(string text, PolicyFormat expected, string desc)
    {
        Assert.True(PolicyFile.Detect(text) == expected, desc);
    }

    [Fact]
    public void Load_reads_the_docker_default_profile_as_docker_does()
    {
        string path = Path.Combine(TableGenerator.FindRoot(AppContext.BaseDirectory), "data", "profiles", "docker-default.json");

        var loaded = PolicyFile.Load(path, new PolicyFileOptions { Kernel = "6.1.0" });

        Assert.Equal(PolicyFormat.Docker, loaded.Format);
        Assert.Contains("openat", loaded.Policy.SyscallNames);
        Assert.DoesNotContain("kexec_load", loaded.Policy.SyscallNames);
        Assert.Equal(loaded.Policy.Flags, loaded.Flags);
    }

    [Fact]
    public void A_config_json_is_unwrapped_to_its_linux_seccomp_object()
    {
        var loaded = PolicyFile.Parse("""{ "ociVersion": "1.0.2", "process": {}, "linux": { "seccomp": """ + Oci + " } }", "config.json");

        Assert.Equal(PolicyFormat.Oci, loaded.Format);
        Assert.Equal(["read"], loaded.Policy.SyscallNames);
    }

    [Fact]
    public void A_config_json_without_linux_seccomp_is_refused_naming_the_file()
    {
        var e = Assert.Throws<PolicyFileException>(() => PolicyFile.Parse("""{ "ociVersion": "1.0.2", "linux": {} }""", "bundle/config.json"));

        Assert.Equal("bundle/config.json", e.Location?.File);
        Assert.Equal("bundle/config.json: this is an OCI config.json without linux.seccomp; add a seccomp object or pass the seccomp profile itself", e.Message);
    }

    [Fact]
    public void Text_from_no_file_is_called_stdin_in_errors()
    {
        var e = Assert.Throws<PolicyFileException>(() => PolicyFile.Parse("""{ "ociVersion": "1.0.2" }""", path: null));

        Assert.Equal(PolicyFile.StandardInputName, e.Location?.File);
    }

    [Fact]
    public void A_missing_file_is_reported_with_its_path()
    {
        string path = Path.Combine(_dir, "absent.json");

        var e = Assert.Throws<PolicyFileException>(() => PolicyFile.Load(path));

        Assert.Equal($"{path}: no such file", e.Message);
    }

    [Fact]
    public void An_invalid_policy_is_a_located_policy_exception()
    {
        string path = Write("bad.policy", "default errno(EPERM)\nallow { no_such_syscall_here }");

        var e = Assert.ThrowsAny<PolicyException>(() => PolicyFile.Load(path));

        Assert.Contains("bad.policy:2", e.Message);
    }

    [Fact]
    public void The_policy_language_resolves_includes_relative_to_the_file()
    {
        Write("base.policy", "allow { write }");
        string path = Write("app.policy", "include \"base.policy\"\ndefault errno(EPERM)\nallow { read }");

        var loaded = PolicyFile.Load(path);

        Assert.Equal(PolicyFormat.Policy, loaded.Format);
        Assert.Equal(["read", "write"], loaded.Policy.SyscallNames.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Architectures_replace_those_of_a_policy_that_is_not_docker()
    {
        var loaded = PolicyFile.Parse(Oci, "p.json", new PolicyFileOptions { Architectures = [Architecture.X86_64, Architecture.X86] });

        Assert.Equal([Architecture.X86_64, Architecture.X86], loaded.Policy.EffectiveArchitectures);
    }

    [Fact]
    public void Docker_options_on_other_formats_are_refused_naming_the_format()
    {
        var e = Assert.Throws<PolicyFileException>(() => PolicyFile.Parse(Oci, "p.json", new PolicyFileOptions { Capabilities = ["CAP_SYS_ADMIN"] }));

        Assert.Contains("this input is oci", e.Message);
    }

    [Fact]
    public void A_docker_profile_is_resolved_for_one_host_arch_only()
    {
        const string docker = """{ "defaultAction": "SCMP_ACT_ERRNO", "archMap": [] }""";

        Assert.Throws<PolicyFileException>(() => PolicyFile.Parse(docker, "d.json", new PolicyFileOptions { Architectures = [Architecture.X86_64, Architecture.Aarch64], Kernel = "6.1" }));
    }

    [Fact]
    public void A_forced_format_is_used_without_detection()
    {
        var loaded = PolicyFile.Parse("""{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }""", "p.json",
            new PolicyFileOptions { Format = PolicyFormat.Podman, Kernel = "6.1" });

        Assert.Equal(PolicyFormat.Podman, loaded.Format);
    }
}
