namespace SeccompKit.Cli.Tests;

/// <summary>
/// seccompkit with closed or broken standard streams (issue 17, defect 3): the real CLI in a child process started by
/// bash, which closes (<c>2&gt;&amp;-</c>) or breaks (a pipe whose reader is gone) the descriptors first. A closed stream
/// is /dev/null for seccompkit and for the program it runs; a broken pipe is ignored; the exit status is always the
/// command's (the program's for run and learn), never SIGABRT.
/// </summary>
public sealed class StandardStreamsSpecs : IDisposable
{
    private static readonly string Docker = Repo.Path("data", "profiles", "docker-default.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-streams-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs <paramref name="script"/> in bash with <c>$0</c> the CLI; its own output is returned.</summary>
    private ProcessResult Bash(string script, params string[] args) =>
        ChildProcess.Run("bash", ["-c", script, CliProcess.Path, .. args], new ProcessOptions { WorkingDirectory = _dir, Timeout = TimeSpan.FromMinutes(2) });

    private string Filter()
    {
        string bpf = Path.Combine(_dir, "docker.bpf");
        var r = CliProcess.Run(_dir, "compile", Docker, "-o", bpf, "-q");
        Assert.True(r.Exit == 0, r.Err);
        return bpf;
    }

    [Fact]
    public void Run_with_standard_error_closed_starts_the_program_and_passes_on_its_status()
    {
        var r = Bash("\"$0\" run --profile \"$1\" -- sh -c 'exit 7' 2>&-; echo \"status=$?\"", Docker);
        Assert.Equal("status=7\n", r.Out);
        r = Bash("\"$0\" run --profile \"$1\" -- /bin/true 2>&-; echo \"status=$?\"", Docker);
        Assert.Equal("status=0\n", r.Out);
    }

    [Fact]
    public void Learn_quiet_with_standard_error_closed_keeps_the_programs_exit_status_and_writes_the_profile()
    {
        string profile = Path.Combine(_dir, "learned.json");
        var r = Bash("\"$0\" learn -q -o \"$1\" -- sh -c 'exit 9' 2>&-; echo \"status=$?\"", profile);
        Assert.Equal("status=9\n", r.Out);
        Assert.Contains("\"syscalls\"", File.ReadAllText(profile), StringComparison.Ordinal);
    }

    [Fact]
    public void With_all_three_streams_closed_run_works_and_the_program_gets_dev_null_on_each()
    {
        string seen = Path.Combine(_dir, "seen.txt");
        // The program's shell reads its own three descriptors ($$: the subshells of $(...) have their own).
        var r = Bash(
            "\"$0\" run --profile \"$1\" -q -- sh -c 'a=$(readlink /proc/$$/fd/0); b=$(readlink /proc/$$/fd/1); c=$(readlink /proc/$$/fd/2); echo \"$a $b $c\" > \"$1\"; exit 4' sh \"$2\" 0<&- 1>&- 2>&-; echo \"status=$?\"",
            Docker, seen);
        Assert.Equal("status=4\n", r.Out);
        Assert.Equal("/dev/null /dev/null /dev/null\n", File.ReadAllText(seen));
    }

    [Fact]
    public void A_closed_standard_output_drops_the_listing_and_a_closed_error_drops_diagnostics_with_their_exit_codes()
    {
        string bpf = Filter();
        var r = Bash("\"$0\" disasm \"$1\" >&-; echo \"status=$?\"", bpf);
        Assert.Equal("status=0\n", r.Out);
        Assert.Equal("", r.Err);
        // An error with nowhere to say it still has its exit code (3: no such file), not SIGABRT.
        r = Bash("\"$0\" disasm /no/such.bpf 2>&-; echo \"status=$?\"");
        Assert.Equal("status=3\n", r.Out);
    }

    [Fact]
    public void A_closed_standard_error_does_not_send_diagnostics_into_the_output_file()
    {
        // With descriptor 2 closed, the output file (or its temporary) would be opened as descriptor 2 and the
        // "wrote ..." and warning lines written into it.
        string bpf = Path.Combine(_dir, "out.bpf");
        var r = Bash("\"$0\" compile \"$1\" -o \"$2\" 2>&-; echo \"status=$?\"", Docker, bpf);
        Assert.Equal("status=0\n", r.Out);
        var expected = Path.Combine(_dir, "expected.bpf");
        Assert.Equal(0, CliProcess.Run(_dir, "compile", Docker, "-o", expected, "-q").Exit);
        Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(bpf));
    }

    [Fact]
    public void Disasm_into_a_pipe_closed_early_ends_quietly_with_status_0()
    {
        string bpf = Filter();
        // head reads one line and exits; the rest of the listing meets a broken pipe (EPIPE, SIGPIPE ignored by .NET).
        var r = Bash("\"$0\" disasm \"$1\" | head -1; echo \"status=${PIPESTATUS[0]}\"", bpf);
        Assert.Equal("  0: A = arch\nstatus=0\n", r.Out);
        Assert.Equal("", r.Err);
        r = Bash("\"$0\" disasm --raw \"$1\" | (exec 0<&-; sleep 1); echo \"status=${PIPESTATUS[0]}\"", bpf);
        Assert.Equal("status=0\n", r.Out);
        Assert.Equal("", r.Err);
    }

    [Fact]
    public void A_broken_standard_error_pipe_does_not_change_the_programs_exit_status()
    {
        // The reader of standard error closes it at once: every diagnostic meets EPIPE.
        // (The program itself does not write to standard error: it would die of SIGPIPE, 141, its own status.)
        var r = Bash("{ \"$0\" run --profile \"$1\" -- sh -c 'exit 6' 2>&1 >/dev/null; } | (exec 0<&-; sleep 2); echo \"status=${PIPESTATUS[0]}\"", Docker);
        Assert.Equal("status=6\n", r.Out);
        string profile = Path.Combine(_dir, "p.json");
        r = Bash("{ \"$0\" learn -o \"$2\" -- sh -c 'exit 5' 2>&1 >/dev/null; } | (exec 0<&-; sleep 2); echo \"status=${PIPESTATUS[0]}\"", Docker, profile);
        Assert.Equal("status=5\n", r.Out);
        Assert.True(File.Exists(profile));
    }
}
