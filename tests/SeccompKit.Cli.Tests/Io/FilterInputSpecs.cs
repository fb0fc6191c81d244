using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Compiler;
using SeccompKit.Policy.Files;

namespace SeccompKit.Cli.Tests.Io;

/// <summary>
/// The one reader of explain, lint, diff and graph inputs: each format is recognised from its content, a policy keeps
/// its compiled filter, a dump -o directory is a stack in the right order, and bad input says what to do.
/// </summary>
public sealed class FilterInputSpecs : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sk-filterinput-");
    private static readonly string Docker = Repo.Path("data", "profiles", "docker-default.json");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, byte[] content)
    {
        string path = Path.Combine(_dir.FullName, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static BpfProgram Compile(string policyText) =>
        PolicyCompiler.Compile(PolicyFile.Parse(policyText, null).Policy).Program;

    private const string MkdirPolicy = "default allow\nerrno(EPERM) { mkdir, mkdirat }\n";

    [Fact]
    public void A_policy_file_is_read_as_a_policy_and_carries_the_filter_compile_makes_of_it()
    {
        var c = new TestConsole();
        var input = FilterInput.Read(Write("p.policy", System.Text.Encoding.UTF8.GetBytes(MkdirPolicy)), FilterInputFormat.Auto, c);
        Assert.Equal(FilterInputKind.Policy, input.Kind);
        Assert.Equal(PolicyFormat.Policy, input.Policy!.Format);
        Assert.Equal(Compile(MkdirPolicy), Assert.Single(input.NewestFirst));
        Assert.Equal("policy (policy)", input.Description);

        var docker = FilterInput.Read(Docker, FilterInputFormat.Auto, c);
        Assert.Equal(FilterInputKind.Policy, docker.Kind);
        Assert.Equal(PolicyFormat.Docker, docker.Policy!.Format);
    }

    [Fact]
    public void Raw_and_disasm_text_programs_are_read_as_programs_and_agree()
    {
        var program = Compile(MkdirPolicy);
        var c = new TestConsole();
        var raw = FilterInput.Read(Write("f.bpf", program.ToRaw()), FilterInputFormat.Auto, c);
        Assert.Equal(FilterInputKind.Program, raw.Kind);
        Assert.Equal(program, Assert.Single(raw.NewestFirst));
        Assert.Null(raw.Policy);

        string text = Disassembler.Disassemble(program.Instructions.AsSpan(), CliApp.Symbols);
        var fromText = FilterInput.Read(Write("f.txt", System.Text.Encoding.UTF8.GetBytes(text)), FilterInputFormat.Auto, c);
        Assert.Equal(FilterInputKind.Program, fromText.Kind);
        Assert.Equal(program, Assert.Single(fromText.NewestFirst));

        var stdin = FilterInput.Read("-", FilterInputFormat.Auto, new TestConsole(program.ToRaw()));
        Assert.Equal(program, Assert.Single(stdin.NewestFirst));
    }

    [Theory]
    [InlineData("  0: A = arch\n  1: if (A == AUDIT_ARCH_X86_64) goto L4\n", true)]
    [InlineData("  # a comment\nL4:\n  4: A = sys_number\n", true)]
    [InlineData("A = args[0] >> 32\n", true)]
    [InlineData("X = A\n", true)]
    [InlineData("M[3] = A\n", true)]
    [InlineData("A &= 0xff\n", true)]
    [InlineData("return ALLOW\n", true)]
    [InlineData("goto L5\n", true)]
    [InlineData("{ 0x06, 0, 0, 0x7fff0000 },\n", true)]
    [InlineData("default allow\nerrno(EPERM) { mkdir }\n", false)]
    [InlineData("# ret in a comment\nallow { read }\n", false)]
    [InlineData("set @files = { read }\n", false)]
    [InlineData("", false)]
    public void Disasm_text_is_told_from_the_policy_language_by_its_first_statement(string text, bool bpf) =>
        Assert.Equal(bpf, FilterInput.LooksLikeBpfText(text));

    [Fact]
    public void A_directory_dump_wrote_is_a_stack_newest_first_and_gaps_are_refused()
    {
        var newest = Compile(MkdirPolicy);
        var oldest = Compile("default allow\nerrno(EACCES) { rmdir }\n");
        string dir = Path.Combine(_dir.FullName, "filters");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "filter-0.bpf"), newest.ToRaw());
        File.WriteAllBytes(Path.Combine(dir, "filter-1.bpf"), oldest.ToRaw());
        var input = FilterInput.Read(dir, FilterInputFormat.Auto, new TestConsole());
        Assert.Equal(FilterInputKind.SavedStack, input.Kind);
        Assert.Equal([newest, oldest], input.NewestFirst);

        File.Move(Path.Combine(dir, "filter-1.bpf"), Path.Combine(dir, "filter-2.bpf"));
        var gap = Assert.Throws<CliInputException>(() => FilterInput.Read(dir, FilterInputFormat.Auto, new TestConsole()));
        Assert.Contains("filter-1.bpf is missing", gap.Message);

        string empty = Path.Combine(_dir.FullName, "empty");
        Directory.CreateDirectory(empty);
        var none = Assert.Throws<CliInputException>(() => FilterInput.Read(empty, FilterInputFormat.Auto, new TestConsole()));
        Assert.Contains("seccompkit dump PID -o DIR", none.Message);
    }

    [Fact]
    public void Bad_inputs_say_what_is_wrong_and_what_to_do()
    {
        var c = new TestConsole();
        Assert.Contains("no such file", Assert.Throws<CliInputException>(() => FilterInput.Read(Path.Combine(_dir.FullName, "nope"), FilterInputFormat.Auto, c)).Message);
        Assert.Contains("the file is empty", Assert.Throws<CliInputException>(() => FilterInput.Read(Write("e", []), FilterInputFormat.Auto, c)).Message);
        var odd = Assert.Throws<CliInputException>(() => FilterInput.Read(Write("odd.bpf", [6, 0, 0, 0, 0, 0, 0xff]), FilterInputFormat.Auto, c));
        Assert.Contains("--input-format", odd.Message);
        // A program the kernel would refuse (no return at the end) is refused with the validator's reason.
        var refused = Assert.Throws<CliInputException>(() => FilterInput.Read(Write("bad.txt", "A = sys_number\n"u8.ToArray()), FilterInputFormat.Auto, c));
        Assert.Equal(ExitCodes.BadInput, refused.ExitCode);
        Assert.Equal(ExitCodes.Usage, Assert.Throws<CliInputException>(() => FilterInput.Read("pid:x", FilterInputFormat.Auto, c)).ExitCode);
        // A policy with an error keeps its file:line location.
        var policy = Assert.ThrowsAny<SeccompException>(() => FilterInput.Read(Write("bad.policy", "default allow\nallow { nosuchcall }\n"u8.ToArray()), FilterInputFormat.Auto, c));
        Assert.Contains("bad.policy:2", policy.Message);
    }
}
