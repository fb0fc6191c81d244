using System.Runtime.InteropServices;
using System.Text;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// <c>seccompkit run</c> as a user runs it: the real CLI binary in a child process, real programs, the real kernel.
/// Real programs must behave exactly as without the filter under the Docker default profile.
/// </summary>
public sealed partial class RunSpecs : IDisposable
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli");
    private static readonly string Docker = CompileSpecs.Repo("data/profiles/docker-default.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private ProcessResult Exec(string file, IEnumerable<string> args, string? stdin = null, Dictionary<string, string>? env = null, string? cwd = null) =>
        ChildProcess.Run(file, args, new ProcessOptions { Stdin = stdin, Env = env, WorkingDirectory = cwd ?? _dir });

    private ProcessResult Run(string[] runArgs, string[] command, string? stdin = null, Dictionary<string, string>? env = null, string? cwd = null) =>
        Exec(Cli, ["run", .. runArgs, "--", .. command], stdin, env, cwd);

    /// <summary>Runs the command directly and under the Docker default profile; both must agree exactly.</summary>
    private void SameWithAndWithout(string[] command, string? stdin = null, Dictionary<string, string>? env = null, Func<string, string>? cwdFor = null)
    {
        var plain = Exec(command[0], command[1..], stdin, env, cwdFor?.Invoke("plain"));
        var filtered = Run(["--profile", Docker, "-q"], command, stdin, env, cwdFor?.Invoke("filtered"));
        Assert.Equal(plain.Err, filtered.Err);
        Assert.Equal(plain.Out, filtered.Out);
        Assert.Equal(plain.Exit, filtered.Exit);
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc));
    }

    [Fact]
    public void Sh_runs_as_without_the_filter_with_its_exit_status()
    {
        SameWithAndWithout(["sh", "-c", "echo hello; echo to-stderr >&2; printf '%s\\n' \"$0\" a b; exit 7"]);
        SameWithAndWithout(["sh", "-c", "read line; echo got:$line; exit 42"], stdin: "input line\n");
    }

    [Fact]
    public void Ls_la_runs_as_without_the_filter()
    {
        Write("tree/a.txt", "a");
        Write("tree/sub/b.txt", "bb");
        SameWithAndWithout(["ls", "-la", "--time-style=+%Y", Path.Combine(_dir, "tree")]);
        SameWithAndWithout(["ls", "-la", "/no/such/dir"]); // exit 2 and the same message
    }

    [Fact]
    public void Tar_creates_and_lists_the_same_archive()
    {
        Write("src/one.txt", "one\n");
        Write("src/dir/two.txt", "two\n");
        SameWithAndWithout(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-cvf", "-", "-C", Path.Combine(_dir, "src"), "."]);
        var archive = Path.Combine(_dir, "a.tar");
        Assert.Equal(0, Run(["--profile", Docker, "-q"], ["tar", "-cf", archive, "-C", Path.Combine(_dir, "src"), "."]).Exit);
        SameWithAndWithout(["tar", "-tvf", archive]);
    }

    [Fact]
    public void Python_runs_as_without_the_filter()
    {
        SameWithAndWithout(["python3", "-c", "import sys, os, json, threading, subprocess; t = threading.Thread(target=print, args=('thread',)); t.start(); t.join(); " +
            "print(json.dumps(sorted(os.environ.get('X_TEST', '')))); print(subprocess.run(['echo', 'sub'], capture_output=True).stdout); sys.exit(3)"],
            env: new() { ["X_TEST"] = "value" });
    }

    [Fact]
    public void Git_init_add_commit_gives_the_same_commit()
    {
        var env = new Dictionary<string, string>
        {
            ["HOME"] = _dir, ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_AUTHOR_NAME"] = "T", ["GIT_AUTHOR_EMAIL"] = "t@example.com", ["GIT_AUTHOR_DATE"] = "2026-01-02T03:04:05Z",
            ["GIT_COMMITTER_NAME"] = "T", ["GIT_COMMITTER_EMAIL"] = "t@example.com", ["GIT_COMMITTER_DATE"] = "2026-01-02T03:04:05Z",
        };
        foreach (var side in new[] { "plain", "filtered" })
        {
            Write($"{side}/file.txt", "content\n");
            Write($"{side}/dir/more.txt", "more\n");
        }
        string[] script = ["sh", "-c", "git init -q -b main . && git add . && git commit -q -m 'first commit' && git log --format='%H %s' && git status --short && git cat-file -p HEAD^{tree}"];
        SameWithAndWithout(script, env: env, cwdFor: side => Path.Combine(_dir, side));
        Assert.True(Directory.Exists(Path.Combine(_dir, "filtered", ".git")));
    }

    [Fact]
    public void Standard_input_environment_and_signal_dispositions_pass_through_untouched()
    {
        var env = new Dictionary<string, string> { ["SECCOMPKIT_TEST_VAR"] = "a b=c", ["LC_ALL"] = "C" };
        SameWithAndWithout(["sh", "-c", "env | sort"], env: env);
        SameWithAndWithout(["cat"], stdin: "binary\u0001data\nline two\n");
        // .NET ignores SIGPIPE; the program must get the default dispositions and mask a shell gives it.
        // Both sides start from a caller with SIGPIPE at its default, as a shell gives (the test host, a .NET process,
        // ignores it, and a shell cannot undo an ignore it inherited). seccompkit itself ignores SIGPIPE (.NET does),
        // so this shows stage two hands the program the default back.
        const string dfl = "import os, signal, sys; signal.signal(signal.SIGPIPE, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])";
        string[] probe = ["sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status; yes | head -2; echo done"];
        var plain = Exec("python3", ["-c", dfl, .. probe]);
        var filtered = Exec("python3", ["-c", dfl, Cli, "run", "--profile", Docker, "-q", "--", .. probe]);
        Assert.Equal(plain.Err, filtered.Err);
        Assert.Equal(plain.Out, filtered.Out);
        Assert.EndsWith("y\ny\ndone\n", filtered.Out);
        Assert.Equal("", filtered.Err); // yes died of SIGPIPE quietly instead of reporting EPIPE
    }

    [Fact]
    public void The_program_runs_with_no_new_privs_and_one_filter()
    {
        var r = Run(["--profile", Docker, "-q"], ["sh", "-c", "grep -E '^(NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status"]);
        Assert.Equal(0, r.Exit);
        Assert.Contains("NoNewPrivs:\t1", r.Out);
        Assert.Contains("Seccomp:\t2", r.Out);
        Assert.Contains("Seccomp_filters:\t1", r.Out);
    }

    [Fact]
    public void The_docker_default_profile_refuses_what_it_should()
    {
        // syslog(SYSLOG_ACTION_SIZE_BUFFER) only reads the log size; Docker allows syslog only with CAP_SYSLOG, which the
        // default capability set lacks, so the profile's default action answers: ERRNO(EPERM).
        const string probe = "import ctypes; libc = ctypes.CDLL(None, use_errno=True); r = libc.syscall(103, 10, None, 0); print(r if r < 0 else 'size', ctypes.get_errno())";
        Assert.Equal("size 0\n", Exec("python3", ["-c", probe]).Out);                      // no filter: the buffer size
        Assert.Equal("-1 1\n", Run(["--profile", Docker, "-q"], ["python3", "-c", probe]).Out); // EPERM
        Assert.Equal("-1 13\n", Run(["--profile", Docker, "-q", "--errno-default", "EACCES"], ["python3", "-c", probe]).Out);
    }

    private string Policy(string text)
    {
        var path = Path.Combine(_dir, $"p{Guid.NewGuid():N}.policy");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_seccomp_kill_names_the_syscall_and_exits_159()
    {
        var policy = Policy("default allow\nkill-process { personality }\n");
        var r = Run(["--policy", policy], ["python3", "-c", "import ctypes; print('before', flush=True); ctypes.CDLL(None).personality(0xffffffff); print('after')"]);
        Assert.Equal(159, r.Exit);
        Assert.Equal("before\n", r.Out);
        Assert.Matches(@"python3 \(pid \d+\) was killed by seccomp: personality \(x86_64 syscall 135\) at ip 0x[0-9a-f]+, action KILL_PROCESS; the rule `personality -> KILL_PROCESS`", r.Err);
    }

    [Fact]
    public void A_kill_of_a_child_process_is_named_too_and_kill_thread_is_reported_as_such()
    {
        var policy = Policy("default allow\nkill-thread { personality }\n");
        var r = Run(["--policy", policy], ["sh", "-c", "python3 -c 'import ctypes; ctypes.CDLL(None).personality(0xffffffff)'; echo status=$?"]);
        Assert.Equal(0, r.Exit);
        Assert.Equal("status=159\n", r.Out);
        Assert.Matches(@"python3 \(pid \d+, a child of the program\) was killed by seccomp: personality \(x86_64 syscall 135\).*action KILL_THREAD", r.Err);
    }

    [Fact]
    public void Dump_reads_back_exactly_the_filter_run_installed()
    {
        var compiled = Path.Combine(_dir, "docker.bpf");
        Assert.Equal(0, TestConsole.Run("compile", Docker, "-q", "-o", compiled).Exit);
        using var child = ChildProcess.Start(Cli, ["run", "--profile", Docker, "-q", "--", "sh", "-c", "echo ready; read x; exit 4"], new ProcessOptions { Interactive = true });
        var p = child.Process; // killed at the end if still running
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        // The program is seccompkit's child (stage two became it): a grandchild of this test host, so .NET's
        // SIGCHLD handling here never sees its ptrace stops.
        int program = int.Parse(File.ReadAllText($"/proc/{p.Id}/task/{p.Id}/children").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var dumpDir = Path.Combine(_dir, "dump");
        var (exit, console) = TestConsole.Run("dump", program.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", dumpDir);
        Assert.True(exit == 0, console.StderrText);
        Assert.Equal(["filter-0.bpf"], Directory.GetFiles(dumpDir).Select(Path.GetFileName).ToArray());
        Assert.Equal(File.ReadAllBytes(compiled), File.ReadAllBytes(Path.Combine(dumpDir, "filter-0.bpf")));
        p.StandardInput.WriteLine("go");
        p.StandardInput.Close();
        Assert.True(p.WaitForExit(30_000));
        Assert.Equal(4, p.ExitCode); // the program ran on after the dump and exited on its own
    }

    [Fact]
    public void A_sigsys_that_is_not_a_seccomp_kill_is_not_blamed_on_a_syscall()
    {
        var policy = Policy("default allow\n");
        var r = Run(["--policy", policy], ["sh", "-c", "kill -SYS $$"]);
        Assert.Equal(159, r.Exit);
        Assert.Contains("no audit record names a syscall: not a seccomp kill", r.Err);
    }

    [Fact]
    public void Log_lists_every_refused_syscall_of_the_program_and_its_children()
    {
        var policy = Policy("default allow\nerrno(EPERM) { mkdir, mkdirat }\nerrno(EACCES) { chmod, fchmodat }\n");
        var r = Run(["--policy", policy, "--log"], ["sh", "-c", $"mkdir {_dir}/x; mkdir {_dir}/y; chmod 600 {_dir}; true"]);
        Assert.Equal(0, r.Exit);
        Assert.Matches(@"2 × mkdir(at)?\s+ERRNO", r.Err);
        Assert.Matches(@"1 × (fchmodat|chmod)\s+ERRNO", r.Err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "x")));
    }

    [Fact]
    public void Sigterm_to_seccompkit_reaches_the_program_and_ctrl_c_reaches_it_from_the_terminal_group()
    {
        foreach (var (signal, expected) in new[] { (15, 143), (2, 130) })
        {
            // setsid makes seccompkit the leader of a new process group, like a shell job; SIGINT goes to the whole group as Ctrl-C does.
            // env --default-signal: a foreground job in a terminal starts with these signals at their default actions, but a
            // test host started in the background of a non-interactive shell (`nohup bash .ci/run &`) ignores SIGINT and
            // SIGQUIT, and run rightly passes an ignored signal on to the program as ignored (signal(7)): then Ctrl-C ends
            // nothing, which is what failed here twice.
            using var child = ChildProcess.Start("env", ["--default-signal=INT,QUIT,TERM,HUP", Cli, "run", "--profile", Docker, "-q", "--", "sh", "-c", "echo ready; exec sleep 30"],
                new ProcessOptions { NewProcessGroup = true, Interactive = true });
            var p = child.Process;
            Assert.Equal("ready", p.StandardOutput.ReadLine());
            Assert.Equal(0, signal == 2 ? kill(-p.Id, signal) : kill(p.Id, signal));
            if (!p.WaitForExit(30_000))
            {
                // Say where it stood if it happens again.
                string tree = HungProcesses.Describe(p.Id);
                Assert.Fail($"run did not end within 30 s after signal {signal}; its processes were:\n{tree}");
            }
            Assert.Equal(expected, p.ExitCode);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [Theory]
    [InlineData("missing-profile", 121)]
    [InlineData("bad-json", 121)]
    [InlineData("arch-missing", 122)]
    [InlineData("not-found", 127)]
    [InlineData("not-executable", 126)]
    [InlineData("no-execve", 126)]
    [InlineData("notify", 121)]
    [InlineData("no-policy", 2)]
    public void Failures_before_the_program_runs_have_distinct_codes_and_say_what_to_do(string kind, int code)
    {
        var marker = Path.Combine(_dir, "ran");
        string[] touch = ["sh", "-c", $"touch {marker}"];
        File.WriteAllText(Path.Combine(_dir, "bad.json"), "{ \"defaultAction\": ");
        File.WriteAllText(Path.Combine(_dir, "script"), "#!/bin/sh\ntouch " + marker + "\n");
        var r = kind switch
        {
            "missing-profile" => Run(["--profile", Path.Combine(_dir, "none.json")], touch),
            "bad-json" => Run(["--profile", Path.Combine(_dir, "bad.json")], touch),
            "arch-missing" => Run(["--policy", Policy("architectures aarch64\ndefault allow\n")], touch),
            "not-found" => Run(["--profile", Docker, "-q"], ["no-such-program-xyz"]),
            "not-executable" => Run(["--profile", Docker, "-q"], [Path.Combine(_dir, "script")]),
            "no-execve" => Run(["--policy", Policy("default allow\nerrno(EPERM) { execve }\n")], touch),
            "notify" => Run(["--policy", Policy("default allow\nnotify { mkdir }\n")], touch),
            _ => Exec(Cli, ["run", "--", "true"]),
        };
        Assert.Equal(code, r.Exit);
        Assert.False(File.Exists(marker), "the program ran");
        Assert.StartsWith("seccompkit: ", r.Err);
        Assert.Equal("", r.Out);
        var expectedWords = kind switch
        {
            "missing-profile" => "no such file",
            "bad-json" => "bad.json",
            "arch-missing" => "add x86_64",
            "not-found" => "command not found",
            "not-executable" => "chmod +x",
            "no-execve" => "allow execve",
            "notify" => "supervisor",
            _ => "exactly one of --profile",
        };
        Assert.Contains(expectedWords, r.Err, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_filter_the_kernel_refuses_stops_the_program_with_code_120()
    {
        // TestVictim fills the filter stack to the kernel's 32768-instruction budget and then execs seccompkit.
        var victim = Path.Combine(CompileSpecs.Repo("tests/TestVictim/bin"),
            AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release", "net10.0", "TestVictim");
        Assert.True(File.Exists(victim), $"{victim} is missing: build tests/TestVictim");
        var marker = Path.Combine(_dir, "ran");
        var r = Exec(victim, ["pad-full", "--", Cli, "run", "--profile", Docker, "-q", "--", "sh", "-c", $"touch {marker}"]);
        Assert.Equal(120, r.Exit);
        Assert.Contains("ENOMEM", r.Err);
        Assert.Contains("32768", r.Err);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void No_new_privs_refused_stops_the_program_with_code_123()
    {
        var victim = Path.Combine(CompileSpecs.Repo("tests/TestVictim/bin"),
            AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release", "net10.0", "TestVictim");
        var marker = Path.Combine(_dir, "ran");
        var r = Exec(victim, ["deny-nnp", "--", Cli, "run", "--profile", Docker, "-q", "--", "sh", "-c", $"touch {marker}"]);
        Assert.Equal(123, r.Exit);
        Assert.Contains("PR_SET_NO_NEW_PRIVS", r.Err);
        Assert.Contains("EPERM", r.Err);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Stage_two_run_by_hand_refuses_without_running_anything()
    {
        var r = Exec(Cli, ["__seccompkit-stage2", "x"]);
        Assert.Equal(125, r.Exit);
        Assert.Contains("not meant to be run by hand", r.Err);
    }
}
