using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;

namespace SeccompKit.Cli.Tests;

/// <summary><c>seccompkit dump</c> against processes holding known filters (native/seccomp-hold).</summary>
[Trait("Category", "Kernel")]
public sealed class DumpSpecs
{
    private static readonly Instruction[][] NewestFirst = [.. KnownFilters.InstallationOrder.Reverse()];

    [Fact]
    public void Dump_prints_each_filter_newest_first_with_its_disasm_listing()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        var (exit, c) = TestConsole.Run("dump", Pid(held));
        Assert.Equal(ExitCodes.Success, exit);
        string expected = string.Join("\n", NewestFirst.Select((f, i) =>
            $"filter {i} of 3 (newest first): {f.Length} instructions\n" + Disassembler.Disassemble(f, CliApp.Symbols)));
        Assert.Equal(expected, c.StdoutText);
        Assert.Contains("return ERRNO(EACCES)", c.StdoutText);
        Assert.Contains("A = len", c.StdoutText);
        Assert.Equal("", c.StderrText);
        Assert.Equal(0, held.Status().TracerPid);
        Assert.Equal(11, held.Exit(11));
    }

    [Fact]
    public void Dump_raw_prints_the_instructions_as_C_initialisers()
    {
        using var held = HeldProcess.Start(KnownFilters.First(1));
        var (exit, c) = TestConsole.Run("dump", "--raw", Pid(held));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal($"filter 0 of 1 (newest first): 7 instructions\n{Disassembler.DisassembleRaw(KnownFilters.Oldest)}", c.StdoutText);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void Dump_o_writes_one_raw_file_per_filter_equal_to_what_was_installed()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        using var dir = new TempDir();
        string outDir = dir.File("filters");
        var (exit, c) = TestConsole.Run("dump", Pid(held), "-o", outDir);
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal("", c.StdoutText);
        for (int i = 0; i < 3; i++)
        {
            string path = Path.Combine(outDir, $"filter-{i}.bpf");
            Assert.Equal(BpfProgram.ToRaw(NewestFirst[i]), File.ReadAllBytes(path));
            Assert.Contains($"wrote {path}: filter {i} of 3 (newest first)", c.StderrText);
        }
        Assert.Equal(["filter-0.bpf", "filter-1.bpf", "filter-2.bpf"], Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
        // The files emulate like the live stack: getgid is refused by the newest filter.
        var files = Enumerable.Range(0, 3).Select(i => Path.Combine(outDir, $"filter-{i}.bpf"));
        var (emulated, e) = TestConsole.Run(["emulate", "--newest-first", .. files, "-s", "getgid"]);
        Assert.Equal(0, emulated);
        Assert.Contains("action:   ERRNO(EACCES)", e.StdoutText);
        Assert.Equal((-1L, 13), held.Call(KnownFilters.Getgid));
        Assert.Equal(12, held.Exit(12));
    }

    [Fact]
    public void Dump_o_refuses_to_overwrite_without_force_and_notes_files_left_from_a_bigger_stack()
    {
        using var dir = new TempDir();
        using (var three = HeldProcess.Start(KnownFilters.InstallationOrder))
        {
            Assert.Equal(ExitCodes.Success, TestConsole.Run("dump", Pid(three), "-o", dir.PathName).Exit);
            Assert.Equal(0, three.Exit(0));
        }
        using var one = HeldProcess.Start(KnownFilters.First(1));
        var before = File.ReadAllBytes(dir.File("filter-0.bpf"));

        var (refused, c) = TestConsole.Run("dump", Pid(one), "-o", dir.PathName);
        Assert.Equal(ExitCodes.OutputFailed, refused);
        Assert.Contains("filter-0.bpf already exists; pass --force", c.StderrText);
        Assert.Equal(before, File.ReadAllBytes(dir.File("filter-0.bpf")));

        var (forced, f) = TestConsole.Run("dump", Pid(one), "-o", dir.PathName, "--force");
        Assert.Equal(ExitCodes.Success, forced);
        Assert.Equal(BpfProgram.ToRaw(KnownFilters.Oldest), File.ReadAllBytes(dir.File("filter-0.bpf")));
        Assert.Contains("filter-1.bpf is left from an earlier dump; this process has 1 filter", f.StderrText);
        Assert.Contains("filter-2.bpf is left from an earlier dump", f.StderrText);
        Assert.Equal(0, one.Exit(0));
    }

    [Fact]
    public void Dump_format_json_gives_pid_mode_count_and_every_instruction()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        var (exit, c) = TestConsole.Run("dump", Pid(held), "--format", "json");
        Assert.Equal(ExitCodes.Success, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var root = doc.RootElement;
        Assert.Equal(held.Pid, root.GetProperty("pid").GetInt32());
        Assert.Equal("filter", root.GetProperty("mode").GetString());
        Assert.Equal(3, root.GetProperty("filterCount").GetInt32());
        var filters = root.GetProperty("filters").EnumerateArray().ToArray();
        Assert.Equal(3, filters.Length);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(i, filters[i].GetProperty("index").GetInt32());
            Assert.Equal(NewestFirst[i].Length, filters[i].GetProperty("length").GetInt32());
            var ins = filters[i].GetProperty("instructions").EnumerateArray()
                .Select(x => new Instruction(x.GetProperty("code").GetUInt16(), x.GetProperty("jt").GetByte(), x.GetProperty("jf").GetByte(), x.GetProperty("k").GetUInt32()))
                .ToArray();
            Assert.Equal(NewestFirst[i], ins);
        }
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void Dump_of_a_process_without_filters_says_so_in_text_json_and_with_o()
    {
        using var held = HeldProcess.Start([]);
        var (exit, c) = TestConsole.Run("dump", Pid(held));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal($"process {held.Pid}: no seccomp filters (Seccomp: 0, disabled)\n", c.StdoutText);

        var (_, j) = TestConsole.Run("dump", Pid(held), "--format", "json");
        using var doc = JsonDocument.Parse(j.StdoutText);
        Assert.Equal("disabled", doc.RootElement.GetProperty("mode").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("filterCount").GetInt32());

        using var dir = new TempDir();
        var (written, o) = TestConsole.Run("dump", Pid(held), "-o", dir.File("none"));
        Assert.Equal(ExitCodes.Success, written);
        Assert.Contains("nothing written", o.StderrText);
        Assert.False(Directory.Exists(dir.File("none")));
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void Dump_of_a_pid_that_does_not_exist_exits_66()
    {
        int pid = ChildProcess.Run("true", []).Pid; // exited and reaped
        Assert.False(Directory.Exists($"/proc/{pid}"));
        var (exit, c) = TestConsole.Run("dump", pid.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(ExitCodes.ProcessNotFound, exit);
        Assert.Contains($"there is no process {pid}", c.StderrText);
        Assert.Equal("", c.StdoutText);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1", "--format", "json", "-o", "/tmp/x")]
    [InlineData("1", "--raw", "-o", "/tmp/x")]
    [InlineData("1", "--force")]
    [InlineData("1", "--timeout", "0")]
    public void Dump_usage_errors_exit_2(params string[] args)
    {
        var (exit, c) = TestConsole.Run(["dump", .. args]);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.NotEqual("", c.StderrText);
    }

    [Fact]
    public void Dump_help_documents_the_exit_codes_and_examples()
    {
        var (exit, c) = TestConsole.Run("dump", "--help");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("66 no such process, 75 refused: no thread could be stopped unnoticed", c.StdoutText);
        Assert.Contains("77 permission denied", c.StdoutText);
        Assert.Contains("What dump guarantees: the process runs on as if nothing happened", c.StdoutText);
        Assert.Contains("restart_syscall", c.StdoutText);
        Assert.Contains("--wait", c.StdoutText);
        Assert.Contains("--avoid-restart-syscall", c.StdoutText);
        Assert.Contains("seccompkit dump 1234 -o filters/", c.StdoutText);
        var (_, root) = TestConsole.Run("--help");
        Assert.Contains("dump       Read the filters of a running process", root.StdoutText);
    }

    [Fact]
    public void A_thread_whose_stop_the_program_would_see_is_refused_with_exit_75_naming_it_and_its_call()
    {
        using var held = HeldProcess.Start([KnownFilters.RefusingRestartSyscall(SeccompReturn.SECCOMP_RET_KILL_PROCESS)]);
        int tid = held.Block("epoll_wait", 1500);
        held.WaitUntilBlocked(tid, 232);
        string id = tid.ToString(CultureInfo.InvariantCulture);

        var (exit, c) = TestConsole.Run("dump", id, "--wait", "0.2");

        Assert.Equal(ExitCodes.DumpRefused, exit);
        Assert.Equal("", c.StdoutText);
        Assert.Contains($"thread {tid} of process {held.Pid} was not touched: it could not be stopped without the program", c.StderrText);
        Assert.Contains($"thread {tid} (seccomp-hold) is sleeping in epoll_wait: epoll_wait fails with EINTR", c.StderrText);
        Assert.Contains("(waited 0.2 s)", c.StderrText);
        Assert.Contains("--wait SECONDS", c.StderrText);
        Assert.Equal(0, held.Status().TracerPid);
        var (ret, errno, took) = held.Returned();
        Assert.Equal((0L, 0), (ret, errno));
        Assert.InRange(took, 1495, 1850);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void Avoid_restart_syscall_refuses_a_sleeping_thread_and_says_what_would_read_it()
    {
        using var held = HeldProcess.Start([KnownFilters.RefusingRestartSyscall(SeccompReturn.SECCOMP_RET_KILL_PROCESS)]);
        int tid = held.Block("nanosleep", 1000);
        held.WaitUntilBlocked(tid, 35);

        var (exit, c) = TestConsole.Run("dump", tid.ToString(CultureInfo.InvariantCulture), "--avoid-restart-syscall", "--wait", "0");

        Assert.Equal(ExitCodes.DumpRefused, exit);
        Assert.Contains("restart_syscall", c.StderrText);
        Assert.Contains("without --avoid-restart-syscall a thread asleep in a restart_syscall call would be read", c.StderrText);
        Assert.Equal(0L, held.Returned().Return);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void A_sleeping_thread_read_by_its_id_is_carried_through_restart_syscall_and_the_note_says_so()
    {
        var filter = KnownFilters.RefusingRestartSyscall(SeccompReturn.SECCOMP_RET_KILL_PROCESS);
        using var held = HeldProcess.Start([filter]);
        int tid = held.Block("clock_nanosleep", 1000);
        held.WaitUntilBlocked(tid, 230);

        var (exit, c) = TestConsole.Run("dump", tid.ToString(CultureInfo.InvariantCulture), "--format", "json");

        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains($"seccompkit: note: read thread {tid} (seccomp-hold), sleeping in clock_nanosleep (relative): clock_nanosleep returned -ERESTART_RESTARTBLOCK and its filters give restart_syscall KILL_PROCESS", c.StderrText);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var thread = doc.RootElement.GetProperty("thread");
        Assert.Equal(tid, thread.GetProperty("tid").GetInt32());
        Assert.Equal("restart-syscall", thread.GetProperty("forecast").GetString());
        Assert.Equal("restart-syscall-carried", thread.GetProperty("outcome").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("filterCount").GetInt32());
        var (ret, errno, took) = held.Returned();
        Assert.Equal((0L, 0), (ret, errno));
        Assert.InRange(took, 995, 1350);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void Threads_with_another_number_of_filters_are_warned_about_with_the_command_that_reads_them()
    {
        using var held = HeldProcess.Start(KnownFilters.First(1));
        int tid = held.Block("read_pipe", 0, threadFilter: KnownFilters.Middle);
        held.WaitUntilBlocked(tid, 0);

        var (exit, c) = TestConsole.Run("dump", Pid(held), "--format", "json");

        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains($"seccompkit: warning: thread {tid} (seccomp-hold) has 2 filters, not 1 like the thread read", c.StderrText);
        Assert.Contains($"'seccompkit dump {tid}' reads its own", c.StderrText);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var other = Assert.Single(doc.RootElement.GetProperty("threadsWithOtherFilterCounts").EnumerateArray().ToArray());
        Assert.Equal((tid, 2), (other.GetProperty("tid").GetInt32(), other.GetProperty("filters").GetInt32()));
        Assert.Equal(held.Pid, doc.RootElement.GetProperty("thread").GetProperty("tid").GetInt32());
        held.Wake();
        Assert.Equal(1L, held.Returned().Return);
        Assert.Equal(0, held.Exit(0));
    }

    // The refusals below come from the kernel, so they need seccompkit in a process with fewer rights than
    // the test's: the CLI runs as a child under setpriv (capabilities) or python3-seccomp (a filter).

    [Fact]
    public void Without_CAP_SYS_ADMIN_the_kernel_refuses_to_give_filters_and_dump_exits_77()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        var (exit, stdout, stderr) = RunCli(["setpriv", "--bounding-set", "-sys_admin", "--"], Pid(held));
        Assert.Equal(ExitCodes.PermissionDenied, exit);
        Assert.Contains("PTRACE_SECCOMP_GET_FILTER) failed: EACCES", stderr);
        Assert.Contains("needs CAP_SYS_ADMIN", stderr);
        Assert.Equal("", stdout);
        Assert.Equal(0, held.Status().TracerPid);
        Assert.Equal((-1L, 13), held.Call(KnownFilters.Getgid));
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void Without_CAP_SYS_PTRACE_attaching_is_refused_and_dump_exits_77()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        var (exit, _, stderr) = RunCli(["setpriv", "--bounding-set", "-sys_ptrace", "--"], Pid(held));
        Assert.Equal(ExitCodes.PermissionDenied, exit);
        // /proc/PID/task/TID/syscall needs the same ptrace right, so the refusal comes before anything is done.
        Assert.Contains($"reading /proc/{held.Pid}/task/{held.Pid}/syscall failed: EPERM", stderr);
        Assert.Contains("lacks CAP_SYS_PTRACE", stderr);
        Assert.Equal(0, held.Status().TracerPid);
        Assert.Equal(0, held.Exit(0));
    }

    [Fact]
    public void A_seccompkit_that_itself_runs_under_seccomp_is_refused_and_told_so()
    {
        using var held = HeldProcess.Start(KnownFilters.InstallationOrder);
        const string confine = "import os, sys, seccomp\nseccomp.SyscallFilter(seccomp.ALLOW).load()\nos.execvp(sys.argv[1], sys.argv[1:])";
        var (exit, _, stderr) = RunCli(["/usr/bin/python3", "-c", confine], Pid(held));
        Assert.True(exit == ExitCodes.PermissionDenied, $"exit {exit}: {stderr}");
        Assert.Contains("itself runs under seccomp (Seccomp: 2)", stderr);
        Assert.Equal(0, held.Exit(0));
    }

    private static string Pid(HeldProcess held) => held.Pid.ToString(CultureInfo.InvariantCulture);

    /// <summary>Runs <c>PREFIX... dotnet SeccompKit.Cli.dll dump PID</c>.</summary>
    private static (int Exit, string Stdout, string Stderr) RunCli(string[] prefix, string pid)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli.dll");
        try
        {
            var r = ChildProcess.Run(prefix[0], [.. prefix.Skip(1), "dotnet", cli, "dump", pid]);
            return (r.Exit, r.Out, r.Err);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message}; the permission tests need util-linux's setpriv and Debian's python3-seccomp: apt-get install util-linux python3-seccomp", e);
        }
    }
}
