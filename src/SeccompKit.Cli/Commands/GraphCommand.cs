using System.CommandLine;
using SeccompKit.Analysis.Graph;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Graphviz;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit graph INPUT --format dot|svg [-o FILE]</c>: the control-flow graph of a filter or a stack.</summary>
public static class GraphCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var input = new Argument<string>("INPUT") { Description = "A policy (OCI/Docker/podman JSON or .policy: drawn as compiled), a BPF program (raw or disasm text), a directory 'dump -o' wrote, or pid:N; - for standard input" };
        var format = new Option<string>("--format") { Description = "dot (Graphviz source) or svg (rendered by Graphviz's dot: apt-get install graphviz)", DefaultValueFactory = _ => "svg" };
        format.AcceptOnlyFromAmong("dot", "svg");
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the graph (- or absent: standard output)" };
        var force = OutputFile.ForceOption();
        var direction = new Option<string>("--direction") { Description = "left-right (pc 0 on the left; the default: filters are wide, shallow trees) or top-down", DefaultValueFactory = _ => "left-right" };
        direction.AcceptOnlyFromAmong("top-down", "left-right");
        var leaves = new Option<string>("--leaves") { Description = "per-branch (a return drawn beside each branch reaching it: no long edges) or shared (one node per action)", DefaultValueFactory = _ => "per-branch" };
        leaves.AcceptOnlyFromAmong("per-branch", "shared");
        var timeout = new Option<double>("--timeout") { Description = "Seconds Graphviz may take to lay out the SVG (default 60)", DefaultValueFactory = _ => GraphvizRenderer.DefaultTimeout.TotalSeconds };
        var inputFormat = FilterInput.FormatOption();
        var cmd = new Command("graph",
            "Draw the control-flow graph of a seccomp filter: basic blocks as nodes holding their instructions as\n" +
            "'seccompkit disasm' prints them, syscall and arch names on the edges (a syscall number is named under\n" +
            "the arch the path has checked), the action on each return (ALLOW green, ERRNO orange, KILL red).\n" +
            "Solid edges: the condition holds (or always); dashed: it fails. A stack (a 'dump -o' directory or\n" +
            "pid:N) is drawn as one cluster per filter, newest first. SVG needs Graphviz (apt-get install graphviz);\n" +
            "--format dot writes the source for any Graphviz tool.\n\n" +
            "Exit status: 0 written, 1 the kernel would refuse the filter, 2 usage error, 3 bad input or Graphviz\n" +
            "missing or failing, 4 the output could not be written (or exists: --force).\n\n" +
            "Examples:\n" +
            "  seccompkit graph data/profiles/docker-default.json -o docker.svg\n" +
            "  seccompkit graph filter.bpf --format dot | dot -Tpng > filter.png\n" +
            "  seccompkit graph filters/ --direction left-right -o stack.svg      # a stack saved by dump -o\n" +
            "  sudo seccompkit graph pid:1234 -o live.svg")
        { input, format, output, force, direction, leaves, timeout, inputFormat };
        cmd.SetAction(parse =>
        {
            bool svg = parse.GetValue(format) == "svg";
            double seconds = parse.GetValue(timeout);
            if (!(seconds > 0) || seconds > 3600)
                throw new CliInputException($"--timeout {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}: give a number of seconds above 0 and at most 3600", ExitCodes.Usage);
            var target = OutputFile.Check(parse.GetValue(output), parse.GetValue(force));
            var read = FilterInput.Read(parse.GetRequiredValue(input), parse.GetValue(inputFormat), console);
            var options = new GraphOptions
            {
                Direction = parse.GetValue(direction) == "left-right" ? GraphDirection.LeftRight : GraphDirection.TopDown,
                Leaves = parse.GetValue(leaves) == "shared" ? LeafStyle.Shared : LeafStyle.PerBranch,
            };
            string dot = FilterGraph.Build(read.NewestFirst, CliApp.Symbols).ToDot(options);
            if (!svg)
            {
                target.Write(console, dot);
                return ExitCodes.Success;
            }
            byte[] image;
            try { image = GraphvizRenderer.Render(dot, "svg", TimeSpan.FromSeconds(seconds)); }
            catch (GraphvizException e) { throw new CliInputException(e.Message, ExitCodes.BadInput); }
            target.Write(console, image);
            return ExitCodes.Success;
        });
        return cmd;
    }
}
