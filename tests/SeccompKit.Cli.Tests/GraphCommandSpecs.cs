using System.Xml.Linq;
using SeccompKit.TestKit;

namespace SeccompKit.Cli.Tests;

/// <summary><c>seccompkit graph</c> as a user runs it: DOT and SVG for every input kind, -o atomic, errors that say what to do.</summary>
public sealed class GraphCommandSpecs
{
    private static string Repo(string relative) => CompileSpecs.Repo(relative);

    [Fact]
    public void Graph_writes_DOT_of_a_profile_with_syscall_names_on_the_edges()
    {
        var (exit, c) = TestConsole.Run("graph", Repo("data/profiles/docker-default.json"), "--format", "dot");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.StartsWith("digraph seccomp {", c.StdoutText);
        Assert.Contains("rankdir=LR", c.StdoutText);
        Assert.Contains("[label=\" x86_64 \"]", c.StdoutText);
        Assert.Contains("[label=\" i386 \"]", c.StdoutText);
        Assert.Contains("label=\" nr ≥ ", c.StdoutText);
        Assert.Contains("label=\"ERRNO(EPERM)\"", c.StdoutText);
        Assert.Contains("label=\"ALLOW\"", c.StdoutText);
    }

    [Fact]
    public void Graph_writes_well_formed_SVG_to_a_file()
    {
        using var dir = new TempDir();
        var (exit, c) = TestConsole.Run("graph", Repo("data/peers/st/misc_alu.bpf"), "-o", dir.File("g.svg"));
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Equal("", c.StdoutText);
        var svg = XDocument.Load(dir.File("g.svg"));
        Assert.Equal("svg", svg.Root!.Name.LocalName);
        Assert.Equal([dir.File("g.svg")], Directory.GetFiles(dir.PathName)); // no temporary file left
    }

    [Fact]
    public void Graph_draws_a_saved_stack_as_clusters()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("stack"));
        File.Copy(Repo("data/peers/lsc/02-sim-basic.x86_64.bpf"), dir.File("stack/filter-0.bpf"));
        File.Copy(Repo("data/peers/lsc/01-sim-allow.x86_64.bpf"), dir.File("stack/filter-1.bpf"));
        var (exit, c) = TestConsole.Run("graph", dir.File("stack"), "--format", "dot", "--direction", "top-down", "--leaves", "shared");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("subgraph cluster_f0", c.StdoutText);
        Assert.Contains("subgraph cluster_f1", c.StdoutText);
        Assert.Contains("rankdir=TB", c.StdoutText);
    }

    [Fact]
    public void An_existing_output_is_kept_without_force_and_replaced_with_it()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("g.dot"), "old");
        var (exit, c) = TestConsole.Run("graph", Repo("data/peers/st/misc_alu.bpf"), "--format", "dot", "-o", dir.File("g.dot"));
        Assert.Equal(ExitCodes.OutputFailed, exit);
        Assert.Contains("already exists; pass --force", c.StderrText);
        Assert.Equal("old", File.ReadAllText(dir.File("g.dot")));
        var (exit2, _) = TestConsole.Run("graph", Repo("data/peers/st/misc_alu.bpf"), "--format", "dot", "-o", dir.File("g.dot"), "--force");
        Assert.Equal(ExitCodes.Success, exit2);
        Assert.StartsWith("digraph", File.ReadAllText(dir.File("g.dot")));
    }

    [Fact]
    public void Without_graphviz_SVG_fails_with_the_install_command_and_leaves_the_output_as_it_was()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("g.svg"), "old");
        // The dotnet host stays reachable through DOTNET_ROOT; PATH holds no dot.
        string dotnetRoot = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
        var r = ChildProcess.Run(CliProcess.Path, ["graph", Repo("data/peers/st/misc_alu.bpf"), "-o", dir.File("g.svg"), "--force"],
            new ProcessOptions { WorkingDirectory = dir.PathName, Env = new Dictionary<string, string> { ["PATH"] = dir.PathName, ["DOTNET_ROOT"] = dotnetRoot } });
        Assert.Equal(ExitCodes.BadInput, r.Exit);
        Assert.Contains("apt-get install graphviz", r.Err);
        Assert.Contains("--format dot", r.Err);
        Assert.Equal("old", File.ReadAllText(dir.File("g.svg")));
    }

    public static TheoryData<string, string[], int, string> Errors => new()
    {
        { "a missing file", ["graph", "/nonexistent/filter.bpf"], ExitCodes.BadInput, "no such file" },
        { "a filter the kernel refuses", ["graph", "@refused"], ExitCodes.BadInput, "the kernel would refuse this filter" },
        { "text that is neither BPF nor a policy", ["graph", "@garbage"], ExitCodes.BadInput, "garbage.policy:1" },
        { "an unknown format", ["graph", "@refused", "--format", "png"], ExitCodes.Usage, "png" },
        { "a directory without dump files", ["graph", "@dir"], ExitCodes.BadInput, "filter-N.bpf" },
        { "-o in a missing directory", ["graph", Repo("data/peers/st/misc_alu.bpf"), "-o", "/nonexistent/dir/g.svg"], ExitCodes.OutputFailed, "does not exist" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Bad_input_fails_with_a_located_message(string desc, string[] args, int expectedExit, string expectedMessage)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("refused.bpf"), [0x15, 0, 5, 0, 0, 0, 0, 0]); // a jump past the end, no return
        File.WriteAllText(dir.File("garbage.policy"), "this is not a policy\n");
        Directory.CreateDirectory(dir.File("empty"));
        var resolved = args.Select(a => a switch
        {
            "@refused" => dir.File("refused.bpf"),
            "@garbage" => dir.File("garbage.policy"),
            "@dir" => dir.File("empty"),
            _ => a,
        }).ToArray();
        var (exit, c) = TestConsole.Run(resolved);
        Assert.True(expectedExit == exit, $"{desc}: exit {exit}, stderr: {c.StderrText}");
        Assert.Contains(expectedMessage, c.StderrText);
        Assert.Equal("", c.StdoutText);
    }

    [Fact]
    public void Help_shows_examples()
    {
        var (exit, c) = TestConsole.Run("graph", "--help");
        Assert.Equal(ExitCodes.Success, exit);
        Assert.Contains("seccompkit graph data/profiles/docker-default.json -o docker.svg", c.StdoutText);
        Assert.Contains("apt-get install graphviz", c.StdoutText);
    }
}
