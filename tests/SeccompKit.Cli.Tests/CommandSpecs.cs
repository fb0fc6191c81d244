using CsCheck;
using System.Text.Json;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Cli.Tests;

public sealed class DisasmSpecs
{
    [Fact]
    public void Disasm_prints_fields_labels_syscall_and_arch_names_and_actions()
    {
        using var dir = new TempDir();
        var file = Samples.WriteRaw(dir, "f.bpf", Samples.AllowList);
        var (exit, c) = TestConsole.Run("disasm", file);
        Assert.Equal(ExitCodes.Success, exit);
        var text = c.StdoutText;
        Assert.Contains("A = arch", text);
        Assert.Contains("if (A != AUDIT_ARCH_X86_64) goto L10", text);
        Assert.Contains("A = sys_number", text);
        Assert.Contains("if (A == openat) goto L8", text);
        Assert.Contains("if (A == read) goto L9", text);
        Assert.Contains("return ERRNO(EPERM)", text);
        Assert.Contains("return KILL_PROCESS", text);
        Assert.Contains("L9:", text);
        Assert.Equal("", c.StderrText);
    }

    [Fact]
    public void Disasm_then_asm_gives_back_the_same_bytes_in_both_forms()
    {
        using var dir = new TempDir();
        var file = Samples.WriteRaw(dir, "f.bpf", Samples.AllowList);
        foreach (var raw in new[] { false, true })
        {
            var (exit, c) = raw ? TestConsole.Run("disasm", "--raw", file) : TestConsole.Run("disasm", file);
            Assert.Equal(0, exit);
            var listing = dir.File(raw ? "raw.txt" : "text.txt");
            File.WriteAllText(listing, c.StdoutText);
            var (exit2, c2) = TestConsole.Run("asm", listing);
            Assert.Equal(0, exit2);
            Assert.Equal(File.ReadAllBytes(file), c2.StdoutBytes);
        }
    }

    [Fact]
    public void Disasm_reads_standard_input_and_notes_a_program_the_kernel_would_refuse()
    {
        var bad = BpfProgram.ToRaw([Instruction.Stmt(BPF_LD | BPF_B | BPF_ABS, 0), Instruction.Stmt(BPF_RET | BPF_A, 0)]);
        var (exit, c) = TestConsole.RunWith(bad, "disasm", "-");
        Assert.Equal(0, exit);
        Assert.Contains("{ 0x30, 0, 0, 0x00000000 }", c.StdoutText);
        Assert.Contains("kernel would refuse", c.StderrText);
        Assert.Contains("NotAllowedInSeccomp", c.StderrText);
    }
}

public sealed class AsmSpecs
{
    [Fact]
    public void Asm_writes_a_file_with_o_and_refuses_a_terminal()
    {
        using var dir = new TempDir();
        var src = dir.File("p.txt");
        File.WriteAllText(src, "A = sys_number\nif (A == 39) goto allow\nreturn ERRNO(EPERM)\nallow:\nreturn ALLOW\n");
        var outFile = dir.File("p.bpf");
        var (exit, c) = TestConsole.Run("asm", src, "-o", outFile);
        Assert.Equal(0, exit);
        var prog = BpfProgram.FromRaw(File.ReadAllBytes(outFile));
        Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Interpreter.Evaluate(prog, new SeccompData(39, 0xc000003e)));
        Assert.Equal(SeccompReturn.SECCOMP_RET_ERRNO | 1, Interpreter.Evaluate(prog, new SeccompData(40, 0xc000003e)));
        Assert.Contains("wrote 4 instructions", c.StderrText);

        var terminal = new TestConsole(terminal: true);
        Assert.Equal(ExitCodes.Usage, CliApp.Run(["asm", src], terminal));
        Assert.Contains("terminal", terminal.StderrText);
    }

    [Theory]
    [InlineData("undefined label", "A = arch\ngoto nowhere\nreturn ALLOW\n", "line 2", "never defined")]
    [InlineData("unknown statement", "A = arch\nfrobnicate\n", "line 2", "cannot read")]
    [InlineData("syscall name without an arch check", "A = sys_number\nif (A == openat) goto a\nreturn ALLOW\na:\nreturn ALLOW\n", "line 2", "arch")]
    [InlineData("refused by the kernel", "A = data[2]\nreturn A\n", "pc 0", "BadDataOffset")]
    public void Asm_names_the_line_or_pc_of_bad_input(string desc, string text, string where, string what)
    {
        using var dir = new TempDir();
        var src = dir.File("p.txt");
        File.WriteAllText(src, text);
        var (exit, c) = TestConsole.Run("asm", src, "-o", dir.File("o.bpf"));
        Assert.True(exit is ExitCodes.BadInput or ExitCodes.FilterRefused, desc);
        Assert.Contains(where, c.StderrText);
        Assert.Contains(what, c.StderrText);
        Assert.DoesNotContain("   at ", c.StderrText); // no stack trace
    }

    [Fact]
    public void Asm_no_validate_writes_a_refused_program()
    {
        using var dir = new TempDir();
        var src = dir.File("p.txt");
        File.WriteAllText(src, "A = data[2]\nreturn A\n");
        var (exit, _) = TestConsole.Run("asm", "--no-validate", src, "-o", dir.File("o.bpf"));
        Assert.Equal(0, exit);
        Assert.Equal(16, File.ReadAllBytes(dir.File("o.bpf")).Length);
    }
}

public sealed class CheckSpecs
{
    [Fact]
    public void Check_accepts_a_valid_filter_with_exit_0()
    {
        using var dir = new TempDir();
        var (exit, c) = TestConsole.Run("check", Samples.WriteRaw(dir, "f.bpf", Samples.AllowList));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("accepted (11 instructions)", c.StdoutText);
    }

    [Fact]
    public void Check_refuses_with_exit_1_and_names_pc_and_rule_in_text_and_json()
    {
        using var dir = new TempDir();
        var bad = Samples.WriteRaw(dir, "bad.bpf", [
            Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0), // A = sys_number
            Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0), // jt lands past the end
            Instruction.Stmt(BPF_RET | BPF_K, 0x7fff0000), // ALLOW
        ]);
        var (exit, c) = TestConsole.Run("check", bad);
        Assert.Equal(ExitCodes.FilterRefused, exit);
        Assert.Contains("pc 1", c.StdoutText);
        Assert.Contains("JumpOutOfRange", c.StdoutText);

        var (exitJ, cj) = TestConsole.Run("check", "--format", "json", bad);
        Assert.Equal(ExitCodes.FilterRefused, exitJ);
        using var doc = JsonDocument.Parse(cj.StdoutText);
        Assert.False(doc.RootElement.GetProperty("accepted").GetBoolean());
        var f = doc.RootElement.GetProperty("filters")[0];
        Assert.Equal(1, f.GetProperty("pc").GetInt32());
        Assert.Equal("JumpOutOfRange", f.GetProperty("rule").GetString());
    }

    [Theory]
    [InlineData("missing file", "/nonexistent/f.bpf", "no such file")]
    public void Check_reports_unreadable_input_with_exit_3(string desc, string path, string message)
    {
        var (exit, c) = TestConsole.Run("check", path);
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains(message, c.StderrText);
        Assert.True(c.StdoutText.Length == 0, desc);
    }

    [Fact]
    public void Check_reports_a_truncated_raw_file_with_its_offset()
    {
        using var dir = new TempDir();
        var path = dir.File("t.bpf");
        File.WriteAllBytes(path, [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f, 0x06, 0]);
        var (exit, c) = TestConsole.Run("check", path);
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains("offset 8", c.StderrText);
    }

    [Theory]
    [InlineData("unknown option", new[] { "check", "--frobnicate" })]
    [InlineData("unknown command", new[] { "frobnicate" })]
    [InlineData("option without its value", new[] { "emulate", "f.bpf", "--syscall" })]
    [InlineData("bad enum value", new[] { "check", "--format", "yaml", "f.bpf" })]
    public void Command_line_mistakes_are_usage_errors_with_exit_2(string desc, string[] args)
    {
        var (exit, c) = TestConsole.Run(args);
        Assert.True(exit == ExitCodes.Usage, $"{desc}: exit {exit}, stderr {c.StderrText}");
        Assert.Contains("--help", c.StderrText);
    }
}

public sealed class EmulateSpecs
{
    [Theory]
    [InlineData("openat is refused with EPERM", "openat", "ERRNO", 1u, 0x00050001u)]
    [InlineData("read is allowed", "read", "ALLOW", 0u, 0x7fff0000u)]
    [InlineData("a number works as well as a name", "1", "ALLOW", 0u, 0x7fff0000u)]
    [InlineData("anything else kills the process", "ptrace", "KILL_PROCESS", 0u, 0x80000000u)]
    public void Emulate_json_reports_value_action_data_and_executed(string desc, string syscall, string action, uint data, uint value)
    {
        using var dir = new TempDir();
        var file = Samples.WriteRaw(dir, "f.bpf", Samples.AllowList);
        var (exit, c) = TestConsole.Run("emulate", file, "--arch", "x86_64", "--syscall", syscall, "--format", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var root = doc.RootElement;
        Assert.Equal(value, root.GetProperty("value").GetUInt32());
        Assert.Equal(action, root.GetProperty("action").GetString());
        Assert.Equal(data, root.GetProperty("data").GetUInt32());
        Assert.True(root.GetProperty("executed").GetInt32() > 0, desc);
        Assert.Equal(root.GetProperty("executed").GetInt32(), root.GetProperty("path").GetArrayLength());
    }

    [Fact]
    public void Emulate_text_shows_action_path_and_count()
    {
        using var dir = new TempDir();
        var file = Samples.WriteRaw(dir, "f.bpf", Samples.AllowList);
        var (exit, c) = TestConsole.Run("emulate", file, "--syscall", "openat", "--args", "0,0x41");
        Assert.Equal(0, exit);
        Assert.Contains("action:   ERRNO(EPERM)", c.StdoutText);
        Assert.Contains("executed: 6 instructions", c.StdoutText);
        Assert.Contains("path:     0 1 2 3 4 8", c.StdoutText); // the RET at pc 8 counts too
    }

    [Fact]
    public void Emulate_a_stack_takes_the_most_restrictive_action_and_names_the_deciding_file()
    {
        using var dir = new TempDir();
        var allowAll = Samples.WriteRaw(dir, "allow.bpf", [Instruction.Stmt(BPF_RET | BPF_K, 0x7fff0000)]); // ALLOW
        var errnoAll = Samples.WriteRaw(dir, "errno.bpf", [Instruction.Stmt(BPF_RET | BPF_K, 0x00050002)]); // ERRNO(ENOENT)
        var (exit, c) = TestConsole.Run("emulate", allowAll, errnoAll, "--syscall", "read", "--format", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        Assert.Equal("ERRNO", doc.RootElement.GetProperty("action").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("data").GetInt32());
        Assert.Equal(1, doc.RootElement.GetProperty("filter").GetInt32()); // errno.bpf, the second FILE
        Assert.Equal(2, doc.RootElement.GetProperty("executed").GetInt32());
    }

    [Fact]
    public void Emulate_all_lists_every_syscall_of_the_arch()
    {
        using var dir = new TempDir();
        var file = Samples.WriteRaw(dir, "f.bpf", Samples.AllowList);
        var (exit, c) = TestConsole.Run("emulate", file, "--all", "--format", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var rows = doc.RootElement.GetProperty("syscalls").EnumerateArray().ToList();
        Assert.True(rows.Count > 350);
        Assert.Equal("ALLOW", rows.Single(r => r.GetProperty("syscall").GetString() == "write").GetProperty("action").GetString());
        Assert.Equal("ERRNO", rows.Single(r => r.GetProperty("syscall").GetString() == "openat").GetProperty("action").GetString());
        // uretprobe and uprobe never reach the filters on x86_64 (seccomp_uprobe_exception), so they read ALLOW.
        Assert.Equal("ALLOW", rows.Single(r => r.GetProperty("syscall").GetString() == "uretprobe").GetProperty("action").GetString());
        Assert.Equal("ALLOW", rows.Single(r => r.GetProperty("syscall").GetString() == "uprobe").GetProperty("action").GetString());
        Assert.Equal(rows.Count - 5, rows.Count(r => r.GetProperty("action").GetString() == "KILL_PROCESS"));
    }

    [Theory]
    [InlineData("misspelt syscall", "--syscall", "opnat", "openat")]
    [InlineData("unknown arch", "--arch", "x86-64", "x86_64")]
    [InlineData("too many args", "--args", "1,2,3,4,5,6,7", "at most 6")]
    public void Emulate_usage_errors_suggest_the_fix(string desc, string option, string value, string hint)
    {
        using var dir = new TempDir();
        var file = Samples.WriteRaw(dir, "f.bpf", Samples.AllowList);
        var args = option == "--syscall" ? new[] { "emulate", file, option, value } : new[] { "emulate", file, "--syscall", "read", option, value };
        var (exit, c) = TestConsole.Run(args);
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.True(c.StderrText.Contains(hint), $"{desc}: {c.StderrText}");
    }
}

public sealed class EmulateExemptionSpecs
{
    [Fact]
    public void Emulate_says_when_the_kernel_never_runs_the_filters()
    {
        using var dir = new TempDir();
        var file = Samples.WriteRaw(dir, "f.bpf", Samples.AllowList);
        var (exit, c) = TestConsole.Run("emulate", file, "--syscall", "uretprobe", "--format", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        Assert.True(doc.RootElement.GetProperty("exempt").GetBoolean());
        Assert.Equal("ALLOW", doc.RootElement.GetProperty("action").GetString());
        // What the filter itself would have said is still visible.
        Assert.Equal("KILL_PROCESS", doc.RootElement.GetProperty("filters")[0].GetProperty("action").GetString());

        var (exit2, c2) = TestConsole.Run("emulate", file, "--syscall", "uretprobe");
        Assert.Equal(0, exit2);
        Assert.Contains("never runs filters", c2.StdoutText);
    }
}

public sealed class EmulateCacheSpecs
{
    [Fact]
    public void Emulate_all_marks_the_syscalls_the_action_cache_allows()
    {
        using var dir = new TempDir();
        // An argument check on write makes write uncacheable although it is allowed for fd 1.
        var src = dir.File("p.txt");
        File.WriteAllText(src,
            "A = arch\nif (A != AUDIT_ARCH_X86_64) goto kill\nA = sys_number\n" +
            "if (A == read) goto allow\nif (A == write) goto check_fd\nreturn ERRNO(EPERM)\n" +
            "check_fd:\nA = args[0]\nif (A == 1) goto allow\nreturn ERRNO(EBADF)\nallow:\nreturn ALLOW\nkill:\nreturn KILL_PROCESS\n");
        var bpf = dir.File("p.bpf");
        Assert.Equal(0, TestConsole.Run("asm", src, "-o", bpf).Exit);
        var (exit, c) = TestConsole.Run("emulate", bpf, "--all", "--args", "1", "--format", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var rows = doc.RootElement.GetProperty("syscalls").EnumerateArray().ToDictionary(r => r.GetProperty("syscall").GetString()!);
        Assert.True(rows["read"].GetProperty("cached").GetBoolean());
        Assert.Equal("ALLOW", rows["write"].GetProperty("action").GetString());
        Assert.False(rows["write"].GetProperty("cached").GetBoolean());
        Assert.False(rows["openat"].GetProperty("cached").GetBoolean());
        Assert.True(rows["uretprobe"].GetProperty("cached").GetBoolean());
    }

    [Fact]
    public void Emulate_all_never_marks_x32_calls_cached()
    {
        using var dir = new TempDir();
        var allow = Samples.WriteRaw(dir, "allow.bpf", [Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW)]); // ALLOW
        var (exit, c) = TestConsole.Run("emulate", allow, "--all", "--arch", "x32", "--format", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var rows = doc.RootElement.GetProperty("syscalls").EnumerateArray().ToList();
        Assert.All(rows, r => Assert.Equal("ALLOW", r.GetProperty("action").GetString()));
        Assert.All(rows, r => Assert.False(r.GetProperty("cached").GetBoolean()));
        var (_, c64) = TestConsole.Run("emulate", allow, "--all", "--arch", "x86", "--format", "json");
        using var doc64 = JsonDocument.Parse(c64.StdoutText);
        Assert.All(doc64.RootElement.GetProperty("syscalls").EnumerateArray(), r => Assert.True(r.GetProperty("cached").GetBoolean()));
    }
}

public sealed class HelpSpecs
{
    [Fact]
    public void Top_level_help_lists_every_command_on_one_line()
    {
        var (exit, c) = TestConsole.Run("--help");
        Assert.Equal(0, exit);
        foreach (var cmd in new[] { "disasm", "asm", "emulate", "check" })
            Assert.Single(c.StdoutText.Split('\n'), l => l.StartsWith("  " + cmd + " ", StringComparison.Ordinal));
        Assert.Contains("Exit codes", c.StdoutText);
    }

    [Theory]
    [InlineData("disasm")]
    [InlineData("asm")]
    [InlineData("emulate")]
    [InlineData("check")]
    public void Every_command_help_teaches_with_examples(string command)
    {
        var (exit, c) = TestConsole.Run(command, "--help");
        Assert.Equal(0, exit);
        Assert.Contains("Examples:", c.StdoutText);
        Assert.Contains("seccompkit " + command, c.StdoutText);
    }
}

public sealed class CheckStackSpecs
{
    private static Instruction[] Filler(int n) =>
        [.. Enumerable.Repeat(Instruction.Stmt(BPF_LD | BPF_IMM, 0), n - 1), Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW)];

    [Theory]
    [InlineData("seven large filters fit", 7, ExitCodes.Success)]
    [InlineData("eight exceed MAX_INSNS_PER_PATH by the kernel's count", 8, ExitCodes.FilterRefused)]
    public void Check_applies_the_per_task_limit_to_several_files(string desc, int count, int expected)
    {
        using var dir = new TempDir();
        var files = Enumerable.Range(0, count).Select(i => Samples.WriteRaw(dir, $"f{i}.bpf", Filler(4092))).ToArray();
        var (exit, c) = TestConsole.Run(["check", .. files]);
        Assert.True(expected == exit, $"{desc}: exit {exit}\n{c.StdoutText}");
        if (expected != 0) Assert.Contains("ENOMEM", c.StdoutText);
    }
}

public sealed class InputFuzzSpecs
{
    [Fact]
    public void Arbitrary_input_files_never_cause_an_internal_error()
    {
        using var dir = new TempDir();
        var path = dir.File("in");
        int i = 0;
        Gen.OneOf(
            Gen.Byte.Array[0, 64],
            Gen.Byte[0, 0xb1].Array[1, 40].Select(b => b.SelectMany(x => new byte[] { x, 0, 0, 0, 6, 0, 0xff, 0x7f }).ToArray()),
            Gen.String[0, 80].Select(s => System.Text.Encoding.UTF8.GetBytes(s))).Sample(bytes =>
        {
            File.WriteAllBytes(path, bytes);
            foreach (var args in new[] { new[] { "check", path }, ["disasm", path], ["emulate", path, "--syscall", "read"] })
            {
                var (exit, c) = TestConsole.Run(args);
                Assert.True(exit is ExitCodes.Success or ExitCodes.FilterRefused or ExitCodes.BadInput,
                    $"{string.Join(' ', args)} on {Convert.ToHexString(bytes)}: exit {exit}\n{c.StderrText}");
                if (exit == ExitCodes.BadInput) Assert.StartsWith("seccompkit: ", c.StderrText);
            }
            i++;
        }, iter: 1_000, threads: 1);
        Assert.Equal(1_000, i);
    }
}
