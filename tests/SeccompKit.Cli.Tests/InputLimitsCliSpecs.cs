using System.Diagnostics;
using System.Text;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// Issue 17, defects 1, 2 and 9 at the command line: bounded reading of every input, no internal error (70) on input,
/// and errors that name the file in our words.
/// </summary>
public sealed class InputLimitsCliSpecs
{
    private const string Valid = """{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }""";

    [Fact]
    public void An_argument_index_too_large_for_an_int_is_bad_input_not_an_internal_error()
    {
        var (exit, c) = TestConsole.RunWith(Encoding.UTF8.GetBytes("A = args[2147483648]\nreturn ALLOW\n"), "asm", "-");
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains("args[2147483648] does not exist", c.StderrText);
    }

    [Theory]
    [InlineData("check")]
    [InlineData("compile")]
    [InlineData("convert")]
    [InlineData("disasm")]
    public void A_directory_given_as_FILE_is_said_to_be_a_directory(string command)
    {
        using var dir = new TempDir();
        string[] args = command is "compile" ? [command, dir.PathName, "-o", dir.File("out.bpf")] : [command, dir.PathName];
        var (exit, c) = TestConsole.Run(args);
        Assert.True(exit is ExitCodes.BadInput, $"exit {exit}: {c.StderrText}");
        Assert.Contains($"{dir.PathName}: is a directory", c.StderrText);
        Assert.DoesNotContain("permission denied", c.StderrText);
    }

    [Fact]
    public void Run_with_a_directory_as_profile_says_so_with_its_own_exit_code()
    {
        using var dir = new TempDir();
        var (exit, c) = TestConsole.Run("run", "--profile", dir.PathName, "--", "/bin/true");
        Assert.Equal(ExitCodes.RunPolicyInvalid, exit);
        Assert.Contains($"{dir.PathName}: is a directory", c.StderrText);
    }

    [Theory]
    [InlineData("check", "/dev/zero")]
    [InlineData("disasm", "/dev/zero")]
    [InlineData("compile", "/dev/urandom")]
    public void An_endless_device_is_refused_at_the_size_limit(string command, string device)
    {
        var clock = Stopwatch.StartNew();
        var (exit, c) = command == "compile" ? TestConsole.Run(command, device, "-o", "-") : TestConsole.Run(command, device);
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains($"{device}: larger than 64 MiB", c.StderrText);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Standard_input_is_capped_at_the_same_size()
    {
        var (exit, c) = TestConsole.RunWith(new byte[64 * 1024 * 1024 + 1], "check", "-");
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains("standard input: larger than 64 MiB", c.StderrText);
    }

    [Fact]
    public void An_include_of_an_endless_device_is_refused_at_the_include()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("p.policy"), "default errno(EPERM)\ninclude \"/dev/zero\"\n");
        var (exit, c) = TestConsole.Run("compile", dir.File("p.policy"), "-o", dir.File("p.bpf"));
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains("p.policy:2:9: cannot read included file \"/dev/zero\": larger than 64 MiB", c.StderrText);
    }

    [Fact]
    public void A_JSON_syntax_error_in_merge_names_the_input_it_is_in_with_line_and_column_and_no_runtime_wording()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("good.json"), Valid);
        File.WriteAllText(dir.File("bad.json"), Valid + " x");
        foreach (var order in new[] { new[] { "good.json", "bad.json" }, ["bad.json", "good.json"] })
        {
            var (exit, c) = TestConsole.Run(["merge", "-q", .. order.Select(dir.File)]);
            Assert.Equal(ExitCodes.BadInput, exit);
            Assert.Contains($"{dir.File("bad.json")}:1:{Valid.Length + 2}: the text is not valid JSON", c.StderrText);
            Assert.DoesNotContain("LineNumber", c.StderrText);
            Assert.DoesNotContain("BytePositionInLine", c.StderrText);
        }
    }

    [Theory]
    [InlineData("compile")]
    [InlineData("convert")]
    public void A_JSON_value_error_names_the_file(string command)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("p.json"), """{ "defaultAction": "SCMP_ACT_X" }""");
        var (exit, c) = command == "compile" ? TestConsole.Run(command, dir.File("p.json"), "-o", dir.File("p.bpf")) : TestConsole.Run(command, dir.File("p.json"));
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains($"{dir.File("p.json")}: $.defaultAction: string SCMP_ACT_X is not a valid action", c.StderrText);
    }

    [Fact]
    public void Run_names_a_JSON_profile_once()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("p.json"), Valid + " x");
        var (exit, c) = TestConsole.Run("run", "--profile", dir.File("p.json"), "--", "/bin/true");
        Assert.Equal(ExitCodes.RunPolicyInvalid, exit);
        Assert.Single(c.StderrText.Split(dir.File("p.json")).Skip(1));
    }

    [Theory]
    [InlineData("[1,2,3]", "an array")]
    [InlineData("  [ ]", "an array")]
    public void JSON_that_is_not_a_profile_is_not_read_as_the_policy_language(string text, string found)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.json"), text);
        var (exit, c) = TestConsole.Run("compile", dir.File("x.json"), "-o", dir.File("x.bpf"));
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains($"{dir.File("x.json")}: this is JSON, but its top level is {found}, not a profile: expected an object", c.StderrText);
        Assert.DoesNotContain("expected a statement", c.StderrText);
    }

    [Fact]
    public void A_saved_stack_with_a_filter_number_too_large_for_an_int_is_bad_input()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("filter-0.bpf"), [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]); // return ALLOW
        File.WriteAllBytes(dir.File("filter-99999999999.bpf"), [0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
        var (exit, c) = TestConsole.Run("explain", dir.PathName);
        Assert.Equal(ExitCodes.BadInput, exit);
        Assert.Contains("filter-1.bpf is missing", c.StderrText);
    }
}
