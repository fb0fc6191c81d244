using System.Text.Json.Nodes;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Oci;

/// <summary>
/// The shipped runtime syscall sets (<see cref="RuntimeSyscalls"/>, data/runtimes) under the real runc and crun: a
/// profile that allows only what a busybox shell needs (measured here by the same SCMP_ACT_LOG method) plus the
/// runtime's measured set starts the container and runs it; without the runtime's set the container never starts,
/// and the syscall that kills it is one of the runtime's.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class RuntimeSyscallsContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly string[] Shell = ["/bin/sh", "-c", "echo hi; ls / >/dev/null"];

    public static TheoryData<string, bool, int> RuntimesAndConfigurations() => new()
    {
        // runtime, process.noNewPrivileges, process.user.uid
        { "runc", true, 0 },     // the default spec: runc installs the filter just before execve
        { "runc", false, 0 },    // runc installs it before dropping capabilities and changing user
        { "runc", true, 1000 },
        { "runc", false, 1000 }, // ...and then also fixes the stdio owners (fchown)
        { "crun", true, 0 },     // crun: close and execve only
        { "crun", false, 0 },    // crun: capabilities, setresuid/gid and signal resets follow the install
        { "crun", true, 1000 },
        { "crun", false, 1000 },
    };

    public static TheoryData<string, bool> RuntimesAndNoNewPrivileges() => new()
    {
        { "runc", true }, { "runc", false }, { "crun", true }, { "crun", false },
    };

    [Theory]
    [MemberData(nameof(RuntimesAndConfigurations))]
    public void The_program_set_plus_the_runtime_set_under_errno_starts_the_container_and_runs_it(string runtimeName, bool noNewPrivileges, int uid)
    {
        var (runtime, spec, program) = Prepare(runtimeName, noNewPrivileges, uid);
        var runtimeSet = RuntimeSyscalls.For(runtimeName).Syscalls;

        var run = fixture.Bundle.Run(runtime, spec.WithSeccomp(Profile(PolicyAction.Errno(1), program.Union(runtimeSet))), Timeout);

        output.WriteLine($"{runtimeName} {spec.Describe()}, ERRNO default, {program.Union(runtimeSet).Count()} syscalls allowed: {run}");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("hi\n", run.Stdout);
    }

    [Theory]
    [MemberData(nameof(RuntimesAndNoNewPrivileges))]
    public void The_program_set_plus_the_runtime_set_under_kill_process_starts_the_container_and_runs_it(string runtimeName, bool noNewPrivileges)
    {
        var (runtime, spec, program) = Prepare(runtimeName, noNewPrivileges, 0);
        var runtimeSet = RuntimeSyscalls.For(runtimeName).Syscalls;

        // Recorded, so that a kill (always logged) would name its syscall.
        var logged = SyscallRecorder.RecordAsIs(fixture.Bundle, runtime, spec.WithSeccomp(Profile(PolicyAction.KillProcess, program.Union(runtimeSet))), Timeout);

        output.WriteLine($"{runtimeName} {spec.Describe()}, KILL_PROCESS default: {logged.Result}");
        Assert.Empty(logged.Runtime.Concat(logged.Container).Where(r => r.IsKill).Select(r => $"{r.Exe}: {r.Describe()}"));
        Assert.Equal(0, logged.Result.ExitCode);
        Assert.Equal("hi\n", logged.Result.Stdout);
    }

    [Theory]
    [MemberData(nameof(RuntimesAndNoNewPrivileges))]
    public void The_program_set_alone_under_errno_does_not_start_the_container(string runtimeName, bool noNewPrivileges)
    {
        var (runtime, spec, program) = Prepare(runtimeName, noNewPrivileges, 0);
        var missing = RuntimeSyscalls.For(runtimeName).Syscalls.Except(program).ToList();

        var run = fixture.Bundle.Run(runtime, spec.WithSeccomp(Profile(PolicyAction.Errno(1), program)), Timeout);

        output.WriteLine($"{runtimeName} {spec.Describe()}, ERRNO default, runtime syscalls the program lacks: {string.Join(' ', missing)}; {run}");
        Assert.NotEmpty(missing);
        Assert.NotEqual(0, run.ExitCode);
        Assert.DoesNotContain("hi", run.Stdout);
        // The runtime reports the refused call (EPERM): runc "ensure /proc/self/fd is on procfs: operation not permitted"
        // (fstatfs; its epoll_ctl EPERMs before that are tolerated by Go) or, when the init's goroutine had to wake another
        // thread first (seen under load), Go's own "futexwakeup addr=0x... returned -1" (the runtime throws on a failed
        // futex); crun "exec container process `/bin/sh`: Operation not permitted" (execve) or, without no_new_privs,
        // "cannot setresgid to 0: Operation not permitted".
        Assert.Matches(@"(?i)not permitted|futex\w* addr=0x[0-9a-f]+ returned -1", run.Stderr);
    }

    [Theory]
    [MemberData(nameof(RuntimesAndNoNewPrivileges))]
    public void Without_the_runtime_set_a_kill_process_default_kills_the_runtime_on_one_of_its_measured_syscalls(string runtimeName, bool noNewPrivileges)
    {
        var (runtime, spec, program) = Prepare(runtimeName, noNewPrivileges, 0);
        var missing = RuntimeSyscalls.For(runtimeName).Syscalls.Except(program).ToHashSet();

        var logged = SyscallRecorder.RecordAsIs(fixture.Bundle, runtime, spec.WithSeccomp(Profile(PolicyAction.KillProcess, program)), Timeout);

        var kill = Assert.Single(logged.Runtime.Concat(logged.Container), r => r.IsKill);
        output.WriteLine($"{runtimeName} {spec.Describe()}: killed on {kill.Describe()} (comm {kill.Comm}, exe {kill.Exe}); {logged.Result}");
        Assert.NotEqual(OciBundle.ContainerExecutable, kill.Exe);
        Assert.Contains(SyscallRecorder.Name(kill), missing);
        Assert.NotEqual(0, logged.Result.ExitCode);
        Assert.DoesNotContain("hi", logged.Result.Stdout);
    }

    [Fact]
    public void The_log_method_separates_the_runtime_from_the_container_by_exe()
    {
        var runtime = Require("runc");
        var logged = SyscallRecorder.Record(fixture.Bundle, runtime, new OciContainerSpec(Shell), Timeout);

        output.WriteLine($"runtime: {string.Join(' ', logged.RuntimeSyscalls)}\ncontainer: {string.Join(' ', logged.ContainerSyscalls)}");
        Assert.Equal(0, logged.Result.ExitCode);
        Assert.Equal("hi\n", logged.Result.Stdout);
        // The runtime's init runs a memfd copy of runc, shown as "/" after pivot_root; its last call is the execve.
        Assert.All(logged.Runtime, r => Assert.NotEqual(OciBundle.ContainerExecutable, r.Exe));
        Assert.Equal("execve", SyscallRecorder.Name(logged.Runtime[^1]));
        Assert.Contains("exit_group", logged.ContainerSyscalls);
        Assert.DoesNotContain("exit_group", logged.RuntimeSyscalls);
        // What runc did here is within what data/runtimes/runc.json says it does.
        Assert.Subset(RuntimeSyscalls.For("runc").Syscalls.ToHashSet(), logged.RuntimeSyscalls);
    }

    /// <summary>
    /// The runtime (the test is skipped only when its binary is absent), the spec, and the syscalls busybox's shell makes
    /// in that configuration, measured by a SCMP_ACT_LOG run under the same runtime.
    /// </summary>
    private (OciRuntime Runtime, OciContainerSpec Spec, SortedSet<string> Program) Prepare(string runtimeName, bool noNewPrivileges, int uid)
    {
        var runtime = Require(runtimeName);
        var spec = new OciContainerSpec(Shell) { NoNewPrivileges = noNewPrivileges, Uid = uid };
        var logged = SyscallRecorder.Record(fixture.Bundle, runtime, spec, Timeout);
        Assert.True(logged.Result.ExitCode == 0 && logged.Result.Stdout == "hi\n", $"the log-everything run failed: {logged.Result}");
        output.WriteLine($"{runtimeName} {runtime.Version} (data: {RuntimeSyscalls.For(runtimeName).Version}); busybox sh under {spec.Describe()}: {logged.ContainerSyscalls.Count} syscalls: {string.Join(' ', logged.ContainerSyscalls)}");
        return (runtime, spec, logged.ContainerSyscalls);
    }

    private static OciRuntime Require(string name)
    {
        var runtime = OciRuntime.Named(name);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        return runtime;
    }

    /// <summary>A SeccompKit policy allowing <paramref name="allowed"/> on x86_64, exported by <see cref="OciExporter"/>.</summary>
    private static JsonNode Profile(PolicyAction defaultAction, IEnumerable<string> allowed)
    {
        var policy = new SeccompPolicy(
            defaultAction,
            allowed.Distinct().Order(StringComparer.Ordinal).Select(n => new SyscallRule(n, PolicyAction.Allow)),
            [Architecture.X86_64],
            badArchAction: PolicyAction.KillThread);
        return JsonNode.Parse(OciExporter.Export(policy, OciTarget.Default).Json)!;
    }
}
