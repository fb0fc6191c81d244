using SeccompKit.Policy;
using SeccompKit.Policy.Runtimes;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Runtimes;

/// <summary>The measured runtime syscall sets shipped in data/runtimes (embedded), and the strict reader of those files.</summary>
public sealed class RuntimeSyscallsSpecs
{
    public static TheoryData<string> Runtimes() => new("runc", "crun");

    [Fact]
    public void Runc_and_crun_have_measured_sets() => Assert.Equal(["crun", "runc"], RuntimeSyscalls.Known);

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_shipped_set_parses_and_names_only_syscalls_of_its_arch(string runtime)
    {
        var set = RuntimeSyscalls.For(runtime);

        Assert.Equal(runtime, set.Runtime);
        Assert.Same(Architecture.X86_64, set.Architecture);
        Assert.NotEmpty(set.Version);
        Assert.All(set.Syscalls, name => Assert.True(Architecture.X86_64.Syscalls.Contains(name), $"{name} is not an x86_64 syscall"));
        Assert.Equal(set.Syscalls.Order(StringComparer.Ordinal), set.Syscalls);
        Assert.Equal(set.Syscalls.Distinct(), set.Syscalls);
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_shipped_set_is_the_union_of_its_configurations_and_counts_their_runs(string runtime)
    {
        var set = RuntimeSyscalls.For(runtime);

        // no_new_privs true/false × uid 0/1000 × run, create+start.
        Assert.Equal(8, set.Configurations.Length);
        Assert.Equal(set.Syscalls, set.Configurations.SelectMany(c => c.Syscalls).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(set.Runs, set.Configurations.Sum(c => c.Runs));
        Assert.All(set.Configurations, c => Assert.True(c.Runs >= 10, $"{c} has only {c.Runs} runs"));
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void Every_configuration_ends_with_the_runtimes_execve_of_the_container_process(string runtime)
    {
        // Whatever else it does after the install, the runtime must still execve the container's program.
        Assert.All(RuntimeSyscalls.For(runtime).Configurations, c => Assert.Contains("execve", c.Syscalls));
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void Without_no_new_privs_the_runtime_installs_earlier_and_drops_privileges_after_the_install(string runtime)
    {
        var set = RuntimeSyscalls.For(runtime);
        var late = set.Configurations.Where(c => c.NoNewPrivileges).SelectMany(c => c.Syscalls).ToHashSet();
        var early = set.Configurations.Where(c => !c.NoNewPrivileges).SelectMany(c => c.Syscalls).ToHashSet();

        Assert.Superset(late, early);
        Assert.Contains("capset", early);
        Assert.DoesNotContain("capset", late);
    }

    [Theory]
    [InlineData("RUNC")]
    [InlineData(" crun ")]
    public void Names_are_matched_ignoring_case_and_surrounding_space(string name) =>
        Assert.Equal(name.Trim().ToLowerInvariant(), RuntimeSyscalls.For(name).Runtime);

    [Theory]
    [InlineData("docker")]
    [InlineData("youki")]
    [InlineData("")]
    public void An_unknown_runtime_is_refused_with_the_known_ones_listed(string name)
    {
        var e = Assert.Throws<UnknownRuntimeException>(() => RuntimeSyscalls.For(name));

        Assert.Equal(name, e.Runtime);
        Assert.Equal(["crun", "runc"], e.Known);
        Assert.Contains("known runtimes: crun, runc", e.Message);
        Assert.Contains("tools/measure-runtime-syscalls.sh", e.Message);
        Assert.IsAssignableFrom<PolicyException>(e);
    }

    private const string Valid = """
        {
          "runtime": "demo", "version": "1.0", "versionOutput": ["demo version 1.0"], "measured": "2026-11-24",
          "kernel": "6.18.44", "arch": "x86_64", "runs": 4, "syscalls": ["close", "execve"], "method": "by hand",
          "configurations": [
            { "noNewPrivileges": true, "uid": 0, "launch": "run", "runs": 2, "syscalls": ["execve"] },
            { "noNewPrivileges": false, "uid": 1000, "launch": "create+start", "runs": 2, "syscalls": ["close", "execve"] }
          ],
          "seenInRuns": { "close": 2, "execve": 4 }
        }
        """;

    [Fact]
    public void A_valid_file_reads_into_the_record()
    {
        var set = RuntimeSyscalls.Parse(Valid, "demo.json");

        Assert.Equal(("demo", "1.0", new DateOnly(2026, 11, 24), "6.18.44", 4, "by hand"), (set.Runtime, set.Version, set.Measured, set.Kernel, set.Runs, set.Method));
        Assert.Equal(["close", "execve"], set.Syscalls);
        var c = set.Configurations[1];
        Assert.Equal((false, 1000, "create+start", 2), (c.NoNewPrivileges, c.Uid, c.Launch, c.Runs));
        Assert.Equal(["close", "execve"], c.Syscalls);
    }

    public static TheoryData<string, string, string, string> BrokenFiles() => new()
    {
        // desc, text to replace, replacement, expected message part (with the JSON path)
        { "unknown field", "\"method\": \"by hand\"", "\"method\": \"by hand\", \"extra\": 1", "$: unknown field 'extra'" },
        { "unknown syscall", "[\"close\", \"execve\"], \"method\"", "[\"close\", \"exceve\"], \"method\"", "$.syscalls[1]: 'exceve' is not a x86_64 syscall" },
        { "unsorted", "[\"close\", \"execve\"], \"method\"", "[\"execve\", \"close\"], \"method\"", "$.syscalls[1]: 'close' is out of order or repeated" },
        { "repeated", "[\"close\", \"execve\"], \"method\"", "[\"close\", \"close\", \"execve\"], \"method\"", "$.syscalls[1]: 'close' is out of order or repeated" },
        { "union lacks a configuration's name", "[\"close\", \"execve\"], \"method\"", "[\"execve\"], \"method\"", "$.syscalls: the union lacks close" },
        { "missing field", "\"kernel\": \"6.18.44\", ", "", "$: missing field 'kernel'" },
        { "wrong type", "\"runs\": 4", "\"runs\": \"4\"", "$.runs: expected Number" },
        { "bad date", "2026-11-24", "24.11.2026", "$.measured: '24.11.2026' is not a yyyy-MM-dd date" },
        { "unknown arch", "\"arch\": \"x86_64\"", "\"arch\": \"vax\"", "$.arch: unknown arch 'vax'" },
        { "bad configuration", "\"uid\": 1000", "\"uid\": -1", "$.configurations[1].uid: expected a non-negative 32-bit integer" },
        { "not JSON", "{", "", "demo.json is not JSON" },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void A_broken_file_is_refused_with_its_path(string desc, string from, string to, string message)
    {
        Assert.Contains(from, Valid);
        var e = Assert.Throws<PolicyException>(() => RuntimeSyscalls.Parse(Valid.Replace(from, to, StringComparison.Ordinal), "demo.json"));

        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{desc}: '{e.Message}' lacks '{message}'");
        Assert.StartsWith("demo.json", e.Message);
    }
}
