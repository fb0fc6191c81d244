namespace SeccompKit.Cli.Tests;

/// <summary>
/// seccompkit under tight resource limits (issue 17, defect 4): the real CLI (the JIT build beside the tests) in a child
/// process under <c>prlimit</c> or <c>ulimit</c>: a clear refusal naming the limit, with a documented exit code (71;
/// run and learn 125, the program not run), never a stack trace; and a 64 KiB stack is no problem.
/// </summary>
public sealed class ResourceLimitSpecs : IDisposable
{
    private const int Nobody = 65534;
    private static readonly string Docker = Repo.Path("data", "profiles", "docker-default.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-limits-").FullName;

    public ResourceLimitSpecs()
    {
        // Readable and writable by nobody too (the RLIMIT_NPROC case runs as uid 65534: root is not limited by it).
        File.Copy(Docker, Path.Combine(_dir, "docker.json"));
        // 1777 as /tmp (sticky: the output rule accepts it); the profile readable by all.
        Assert.Equal(0, ChildProcess.Run("chmod", ["1777", _dir]).Exit);
        Assert.Equal(0, ChildProcess.Run("chmod", ["0644", Path.Combine(_dir, "docker.json")]).Exit);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProcessResult Limited(string[] limit, params string[] args) =>
        ChildProcess.Run("prlimit", [.. limit, "--", CliProcess.Path, .. args], new ProcessOptions { WorkingDirectory = _dir });

    private static void AssertNoStackTrace(ProcessResult r)
    {
        Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", r.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(40)]
    [InlineData(52)]
    [InlineData(64)]
    public void Under_a_tight_open_file_limit_every_command_refuses_clearly_with_71_and_run_with_125(int files)
    {
        string bpf = Path.Combine(_dir, "d.bpf");
        Assert.Equal(0, CliProcess.Run(_dir, "compile", Docker, "-q", "-o", bpf).Exit);
        string[] limit = [$"--nofile={files}:{files}"];
        foreach (var args in new[] { new[] { "disasm", bpf }, ["check", bpf], ["compile", Docker, "-q"], ["emulate", bpf, "--syscall", "read"] })
        {
            var r = Limited(limit, args);
            Assert.True(r.Exit == ExitCodes.ResourceLimit, $"{string.Join(' ', args)}: exit {r.Exit}\n{r.Err}");
            Assert.Contains($"the open-file limit (RLIMIT_NOFILE) is {files}", r.Err, StringComparison.Ordinal);
            AssertNoStackTrace(r);
        }
        string marker = Path.Combine(_dir, "ran");
        foreach (var command in new[] { "run", "learn" })
        {
            string[] args = command == "run"
                ? ["run", "--profile", Docker, "--", "touch", marker]
                : ["learn", "-q", "-o", Path.Combine(_dir, "p.json"), "--", "touch", marker];
            var r = Limited(limit, args);
            Assert.True(r.Exit == ExitCodes.RunLaunchFailed, $"{command}: exit {r.Exit}\n{r.Err}");
            Assert.Contains("RLIMIT_NOFILE", r.Err, StringComparison.Ordinal);
            Assert.Contains("the program did not run", r.Err, StringComparison.Ordinal);
            AssertNoStackTrace(r);
            Assert.False(File.Exists(marker));
        }
    }

    [Fact]
    public void Run_and_learn_at_the_process_limit_refuse_with_125_naming_RLIMIT_NPROC_and_the_program_never_runs()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "switching to uid 65534 needs root (CI runs as root)");
        string marker = Path.Combine(_dir, "ran");
        string docker = Path.Combine(_dir, "docker.json");
        foreach (var args in new[]
        {
            new[] { "run", "--profile", docker, "--", "touch", marker },
            ["learn", "-q", "-o", Path.Combine(_dir, "p.json"), "--", "touch", marker],
        })
        {
            var r = ChildProcess.Run("prlimit", ["--nproc=8:8", "--", CliProcess.Path, .. args],
                new ProcessOptions { WorkingDirectory = _dir, AsUid = Nobody });
            Assert.True(r.Exit == ExitCodes.RunLaunchFailed, $"{args[0]}: exit {r.Exit}\n{r.Err}");
            Assert.Contains("RLIMIT_NPROC=8", r.Err, StringComparison.Ordinal);
            AssertNoStackTrace(r);
            Assert.False(File.Exists(marker));
        }
    }

    [Fact]
    public void With_a_64_KiB_stack_the_commands_work()
    {
        string bpf = Path.Combine(_dir, "d.bpf");
        Assert.Equal(0, CliProcess.Run(_dir, "compile", Docker, "-q", "-o", bpf).Exit);
        // The JIT compiler overflowed a 64 KiB main thread in a static constructor in 4 of 6 runs of disasm.
        for (int i = 0; i < 4; i++)
        {
            var r = ChildProcess.Run("bash", ["-c", "ulimit -s 64 && exec \"$0\" disasm \"$1\"", CliProcess.Path, bpf], new ProcessOptions { WorkingDirectory = _dir });
            Assert.True(r.Exit == 0, $"run {i}: exit {r.Exit}\n{r.Err}");
            Assert.StartsWith("  0: A = arch\n", r.Out, StringComparison.Ordinal);
        }
        var run = ChildProcess.Run("bash", ["-c", "ulimit -s 64 && exec \"$0\" run --profile \"$1\" -q -- sh -c 'exit 3'", CliProcess.Path, Docker], new ProcessOptions { WorkingDirectory = _dir });
        Assert.True(run.Exit == 3, run.Err);
    }
}
