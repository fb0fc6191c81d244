using System.CommandLine;
using SeccompKit.Analysis;
using SeccompKit.Analysis.Diff;
using SeccompKit.Cli.Io;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit diff A B</c>: where two filters, stacks or policies behave differently.</summary>
public static class DiffCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var a = new Argument<string>("A") { Description = "Before: a raw or text BPF filter, a policy (OCI/Docker JSON or .policy), a `dump -o` directory or pid:N" };
        var b = new Argument<string>("B") { Description = "After: the same kinds; the two formats may differ" };
        var format = CliApp.OutputFormatOption();
        var inputFormat = FilterInput.FormatOption();
        var cmd = new Command("diff",
            "Compare two inputs by behaviour, exactly: for each ABI, the syscalls (and numbers outside the table, and\n" +
            "unknown arch values) and argument regions whose outcome differs, as\n" +
            "  ABI SYSCALL: CONDITIONS: BEFORE -> AFTER\n" +
            "computed on both explanations (A's regions intersected with B's) and checked by emulating an example input\n" +
            "of each region on both. Exit 0 when they behave the same everywhere, 1 when not, 2 usage, 3 bad input.\n" +
            "JSON (--format json): schema seccompkit-diff/1, described in docs/EXPLAIN.md.\n\n" +
            "Examples:\n" +
            "  seccompkit diff docker-default.json podman-default.json\n" +
            "  seccompkit diff profile.json filter.bpf            # a profile against the filter a runtime installed\n" +
            "  sudo seccompkit diff profile.json pid:1234 --format json")
        { a, b, format, inputFormat };
        cmd.SetAction(parse =>
        {
            var left = FilterInput.Read(parse.GetRequiredValue(a), parse.GetValue(inputFormat), console);
            var right = FilterInput.Read(parse.GetRequiredValue(b), parse.GetValue(inputFormat), console);
            var explainedLeft = AnalysisLimit.Named(left.Name, () => FilterExplainer.Explain(left.Stack));
            var explainedRight = AnalysisLimit.Named(right.Name, () => FilterExplainer.Explain(right.Stack));
            var d = AnalysisLimit.Named($"{left.Name} against {right.Name}", () => FilterDiff.Compare(explainedLeft, explainedRight));
            console.Out.Write(parse.GetValue(format) == OutputFormat.Json ? FilterDiff.Json(d) : FilterDiff.Text(d));
            if (parse.GetValue(format) != OutputFormat.Json)
                console.Error.WriteLine(d.Equal ? $"seccompkit: diff: {left.Name} and {right.Name} behave the same on every input"
                    : $"seccompkit: diff: {d.Entries.Length} region(s) differ");
            return d.Equal ? ExitCodes.Success : ExitCodes.Differences;
        });
        return cmd;
    }
}
