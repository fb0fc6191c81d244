using System.CommandLine;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Cli.Commands;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Tests;

public sealed class MergeSpecs
{
    /// <summary>Two profiles as a learning tool writes them after two runs of one program.</summary>
    private const string Run1 = """
        { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "flags": [],
          "syscalls": [ { "names": ["read", "write", "close", "mmap", "brk", "exit_group", "openat", "execve"], "action": "SCMP_ACT_ALLOW" },
                        { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": 21505, "op": "SCMP_CMP_EQ" } ] } ] }
        """;

    private const string Run2 = """
        { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "flags": [],
          "syscalls": [ { "names": ["read", "write", "close", "mmap", "munmap", "exit_group", "rseq", "execve"], "action": "SCMP_ACT_ALLOW" },
                        { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": 21523, "op": "SCMP_CMP_EQ" } ] },
                        { "names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 4294967295, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ" } ] } ] }
        """;

    private static (string A, string B) Write(TempDir dir, string a = Run1, string b = Run2, string ext = "json")
    {
        File.WriteAllText(dir.File($"run1.{ext}"), a);
        File.WriteAllText(dir.File($"run2.{ext}"), b);
        return (dir.File($"run1.{ext}"), dir.File($"run2.{ext}"));
    }

    private static string Call(SeccompPolicy p, string name, params ulong[] args)
    {
        var abi = Architecture.X86_64;
        return ActionNames.Format(Interpreter.Evaluate(PolicyCompiler.Compile(p).Program, new SeccompData(abi.Syscalls.GetNumber(name), abi.AuditArch, 0, args)));
    }

    [Fact]
    public void Merge_writes_the_union_of_two_OCI_profiles_as_OCI_to_standard_output_and_one_summary_line_to_standard_error()
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir);
        var (exit, c) = TestConsole.Run("merge", a, b, "-q");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        Assert.Matches(@"^seccompkit: merged 2 profiles: 12 syscalls \(2 with argument conditions\); verified by emulation on [\d,]+ inputs: the merge allows exactly what either input allows\n$", c.StderrText);

        var merged = OciImporter.Import(c.StdoutText).Policy;
        Assert.Equal("ALLOW", Call(merged, "brk"));                           // run 1
        Assert.Equal("ALLOW", Call(merged, "munmap"));                        // run 2
        Assert.Equal("ALLOW", Call(merged, "ioctl", 1, 21505));               // TCGETS, run 1
        Assert.Equal("ALLOW", Call(merged, "ioctl", 1, 21523));               // TIOCGWINSZ, run 2
        Assert.Equal("ERRNO(EPERM)", Call(merged, "ioctl", 1, 21524));
        Assert.Equal("ALLOW", Call(merged, "personality", 0xffff_ffff_0000_0008));
        Assert.Equal("ERRNO(EPERM)", Call(merged, "personality", 0));
        Assert.Equal("ERRNO(EPERM)", Call(merged, "mkdir"));
        Assert.Equal("ERRNO(ENOSYS)", Call(merged, "clone3"));               // above both runs' syscalls: runc's stub
        Assert.Equal(0, MergeVerifier.Verify([OciImporter.Import(Run1).Policy, OciImporter.Import(Run2).Policy], merged).Mismatches);
    }

    [Fact]
    public void The_merged_OCI_file_written_with_o_reimports_compiles_and_merging_it_again_changes_nothing()
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir);
        var (exit, c) = TestConsole.Run("merge", a, b, "-o", dir.File("merged.json"));
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        Assert.Equal("", c.StdoutText);
        Assert.Contains("seccompkit: merge: note: x86_64: ERRNO(ENOSYS) above 334", c.StderrText);   // notes unless -q

        var (exit2, c2) = TestConsole.Run("compile", dir.File("merged.json"), "-o", dir.File("merged.bpf"));
        Assert.True(exit2 == ExitCodes.Success, c2.StderrText);
        var program = BpfProgram.FromRaw(File.ReadAllBytes(dir.File("merged.bpf")));
        Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Interpreter.Evaluate(program, new SeccompData(Architecture.X86.Syscalls.GetNumber("rseq"), Architecture.X86.AuditArch)));

        var (exit3, c3) = TestConsole.Run("merge", dir.File("merged.json"), a, "-q");
        Assert.True(exit3 == ExitCodes.Success, c3.StderrText);
        Assert.Equal(File.ReadAllText(dir.File("merged.json")), c3.StdoutText);
    }

    [Fact]
    public void Policy_files_merge_to_the_policy_language_and_to_OCI_when_asked()
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir, "default errno(EPERM)\nallow { read, openat(flags & O_ACCMODE == O_RDONLY) }\n",
                                "default errno(EPERM)\nallow { write, openat }\n", "policy");
        var (exit, c) = TestConsole.Run("merge", a, b, "-q");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        Assert.Equal("default errno(EPERM)\n\nallow {\n    openat,\n    read,\n    write,\n}\n", c.StdoutText);

        // Neither input says what calls from other architectures get, so the OCI export takes the runtime's KILL_THREAD
        // (with a note); an input declaring another one is refused, and the option restates the inputs.
        var (exit2, c2) = TestConsole.Run("merge", a, b, "--to", "oci", "--for", "runc@1.1.5");
        Assert.True(exit2 == ExitCodes.Success, c2.StderrText);
        Assert.Contains("runc 1.1.5's KILL_THREAD", c2.StderrText);
        var declared = dir.File("declared.policy");
        File.WriteAllText(declared, "default errno(EPERM)\non-bad-arch kill-process\nallow { read }\n");
        var (exit4, c4) = TestConsole.Run("merge", declared, declared, "--to", "oci", "--for", "runc@1.1.5", "-q");
        Assert.Equal(ExitCodes.BadInput, exit4);
        Assert.Contains("`on-bad-arch kill-thread`", c4.StderrText);
        var (exit3, c3) = TestConsole.Run("merge", a, b, "--to", "oci", "--bad-arch-action", "kill-thread", "-q", "-o", dir.File("m.json"));
        Assert.True(exit3 == ExitCodes.Success, c3.StderrText);
        Assert.Equal("ALLOW", Call(OciImporter.Import(File.ReadAllText(dir.File("m.json"))).Policy, "openat", 0, 0, 2));
    }

    [Fact]
    public void Inputs_in_different_formats_merge_to_the_policy_language()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("app.policy"), "default errno(EPERM)\narchitectures x86_64, x86, x32\non-bad-arch kill-thread\nallow { read, write, getpid }\n");
        File.WriteAllText(dir.File("run1.json"), Run1);
        var (exit, c) = TestConsole.Run("merge", dir.File("run1.json"), dir.File("app.policy"), "-q");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        var merged = PolicyLanguage.Parse(c.StdoutText);
        Assert.Equal("ALLOW", Call(merged, "getpid"));
        Assert.Equal("ALLOW", Call(merged, "brk"));
    }

    [Fact]
    public void Different_defaults_are_refused_with_both_files_named_and_merge_with_default_action()
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir, b: Run2.Replace("\"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1", "\"SCMP_ACT_KILL_PROCESS\""));
        var (exit, c) = TestConsole.Run("merge", a, b, "-o", dir.File("out.json"), "-q");
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains($"different default actions ({a}: ERRNO(EPERM), {b}: KILL_PROCESS)", c.StderrText);
        Assert.Contains("--default-action", c.StderrText);
        Assert.False(File.Exists(dir.File("out.json")));

        var (exit2, c2) = TestConsole.Run("merge", a, b, "--default-action", "errno(EACCES)", "-q");
        Assert.True(exit2 == ExitCodes.Success, c2.StderrText);
        Assert.Equal("ERRNO(EACCES)", Call(OciImporter.Import(c2.StdoutText).Policy, "mkdir"));
        var (exit3, c3) = TestConsole.Run("merge", a, b, "--default-action", "KILL_PROCESS", "-q");
        Assert.True(exit3 == ExitCodes.Success, c3.StderrText);
    }

    [Fact]
    public void A_refusing_rule_only_one_input_has_is_refused_with_the_syscall_named()
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir, "default errno(EPERM)\nallow { read }\nkill-process { ptrace }\n", "default errno(EPERM)\nallow { write }\n", "policy");
        var (exit, c) = TestConsole.Run("merge", a, b);
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains($"cannot merge the rules for ptrace: {a} refuses every ptrace call with KILL_PROCESS", c.StderrText);
        Assert.Equal("", c.StdoutText);
    }

    public static TheoryData<string, string[], int, string> Refusals => new()
    {
        // desc, arguments after "merge" (A and B stand for two valid files), exit code, text on standard error
        { "a missing file is named", ["A", "missing.json"], ExitCodes.BadInput, "missing.json: no such file" },
        { "one file is not a merge", ["A"], ExitCodes.Usage, "merge needs two or more profiles" },
        { "no file", [], ExitCodes.Usage, "Required argument 'FILE' missing" },
        { "an unknown default action", ["A", "B", "--default-action", "errnoo"], ExitCodes.Usage, "--default-action errnoo: unknown action 'errnoo'" },
        { "the report and the profile cannot share standard output", ["A", "B", "--report-json", "-o", "-"], ExitCodes.Usage, "-o FILE" },
        { "standard input only once", ["-", "-"], ExitCodes.Usage, "only once" },
        { "an unwritable output", ["A", "B", "-o", "/proc/version/merged.json"], ExitCodes.OutputFailed, "/proc/version is a file, not a directory" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Merge_refuses_with_a_reason_and_an_exit_code(string desc, string[] args, int code, string expected)
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir);
        var argv = args.Select(x => x switch { "A" => a, "B" => b, "missing.json" => dir.File("missing.json"), _ => x }).ToArray();
        var (exit, c) = TestConsole.Run(["merge", .. argv]);
        Assert.True(code == exit, $"{desc}: exit {exit}: {c.StderrText}");
        Assert.Contains(expected, c.StderrText);
        Assert.Equal("", c.StdoutText);
    }

    [Fact]
    public void Report_json_gives_counts_verification_and_notes_and_the_profile_goes_to_o()
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir);
        var (exit, c) = TestConsole.Run("merge", a, b, "-o", dir.File("m.json"), "--report-json", "-q");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        using var doc = JsonDocument.Parse(c.StdoutText);
        var r = doc.RootElement;
        Assert.Equal([a, b], r.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(dir.File("m.json"), r.GetProperty("output").GetString());
        Assert.Equal("oci", r.GetProperty("format").GetString());
        Assert.Equal(12, r.GetProperty("syscalls").GetInt32());
        Assert.Equal(2, r.GetProperty("conditionalSyscalls").GetInt32());
        Assert.Equal(["x86", "x86_64", "x32"], r.GetProperty("architectures").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("ERRNO(EPERM)", r.GetProperty("defaultAction").GetString());
        var v = r.GetProperty("verification");
        Assert.True(v.GetProperty("verified").GetBoolean());
        Assert.True(v.GetProperty("inputs").GetInt64() > 1000);
        Assert.Equal(0, v.GetProperty("mismatches").GetInt64());
        Assert.Contains(r.GetProperty("notes").EnumerateArray(), n => n.GetProperty("location").GetString() == "x86_64");
        Assert.True(File.Exists(dir.File("m.json")));
    }

    [Fact]
    public void A_merge_that_fails_verification_exits_5_writes_nothing_and_prints_examples()
    {
        using var dir = new TempDir();
        var (a, b) = Write(dir);
        var console = new TestConsole();
        // A verifier that checks the inputs against a wrong merge (one that allows mkdir too), as a merger bug would.
        var wrong = OciImporter.Import(Run1.Replace("\"execve\"", "\"execve\", \"mkdir\"")).Policy;
        var command = MergeCommand.Create(console, r => MergeVerifier.Verify(r.Inputs, wrong));
        var root = new RootCommand { command };
        int exit = root.Parse(["merge", a, b, "-o", dir.File("m.json"), "--report-json", "-q"])
            .Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Error });
        Assert.Equal(ExitCodes.MergeNotVerified, exit);
        Assert.False(File.Exists(dir.File("m.json")));
        Assert.Contains("internal error: the merge does not mean the union of its inputs on", console.StderrText);
        Assert.Contains($"x86 mkdir (nr 39) args [0x0, 0x0, 0x0, 0x0, 0x0, 0x0]: merge ALLOW; {a} ERRNO(EPERM), {b} ERRNO(EPERM): the merge allows it but no input that decides it does", console.StderrText);
        using var doc = JsonDocument.Parse(console.StdoutText);
        Assert.False(doc.RootElement.GetProperty("verification").GetProperty("verified").GetBoolean());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("output").ValueKind);
    }

    [Fact]
    public void Merge_reads_one_input_from_standard_input()
    {
        using var dir = new TempDir();
        var (a, _) = Write(dir);
        var (exit, c) = TestConsole.RunWith(System.Text.Encoding.UTF8.GetBytes(Run2), "merge", a, "-", "-q");
        Assert.True(exit == ExitCodes.Success, c.StderrText);
        Assert.Contains("\"munmap\"", c.StdoutText);
    }

    [Fact]
    public void Merge_help_has_examples_and_exit_codes_and_the_top_level_help_lists_merge()
    {
        var (exit, c) = TestConsole.Run("merge", "--help");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("seccompkit merge run1.json run2.json run3.json -o app.json", c.StdoutText);
        Assert.Contains("5 the merge failed verification", c.StdoutText);
        Assert.Contains("--default-action", c.StdoutText);
        var (_, top) = TestConsole.Run("--help");
        Assert.Contains("merge ", top.StdoutText);
    }
}
