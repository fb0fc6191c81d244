using System.CommandLine;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit check FILE...</c>: would the kernel accept these filters?</summary>
public static class CheckCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var files = new Argument<string[]>("FILE") { Description = "Filters to check (raw or text); - for standard input", Arity = ArgumentArity.OneOrMore };
        var inputFormat = CliApp.InputFormatOption();
        var format = CliApp.OutputFormatOption();
        var cmd = new Command("check",
            "Validate filters exactly as the kernel does when seccomp(SECCOMP_SET_MODE_FILTER) loads them\n" +
            "(bpf_check_classic + seccomp_check_filter): allowed opcodes, LD W ABS aligned and below 64, jump\n" +
            "targets in range, scratch memory written before read, no division by constant 0, shifts below 32,\n" +
            "1..4096 instructions, last instruction RET. With several files (installation order, oldest\n" +
            "first), also the per-task limit: 32768 instructions of the kernel's converted (eBPF) lengths,\n" +
            "plus 4 per older filter.\n\n" +
            "Exit status: 0 accepted, 1 refused (the pc and rule are printed), 3 unreadable input.\n\n" +
            "Examples:\n" +
            "  seccompkit check filter.bpf\n" +
            "  seccompkit check --format json filter.bpf | jq .rule")
        { files, inputFormat, format };
        cmd.SetAction(parse =>
        {
            var paths = parse.GetRequiredValue(files);
            bool json = parse.GetValue(format) == OutputFormat.Json;
            var results = new List<(string Path, int Length, ValidationError? Error)>();
            var valid = new List<BpfProgram>();
            foreach (var p in paths)
            {
                var ins = ProgramInput.Read(p, parse.GetValue(inputFormat), console, CliApp.Symbols);
                BpfProgram.TryCreate(ins, out var program, out var error);
                if (program is not null) valid.Add(program);
                results.Add((p, ins.Length, error));
            }
            // The per-task limit counts the kernel's converted (eBPF) lengths; it is only defined for valid filters.
            int total = valid.Count == results.Count ? FilterStack.ChargedLength(valid.AsEnumerable().Reverse()) : 0;
            bool stackTooBig = results.Count > 1 && total > FilterStack.MaxInstructionsPerPath;
            bool ok = results.All(r => r.Error is null) && !stackTooBig;
            if (json)
            {
                console.Out.WriteLine(JsonSerializer.Serialize(new CheckReportJson(ok,
                    [.. results.Select(r => new CheckFilterJson(r.Path, r.Length, r.Error is null, r.Error?.Pc, r.Error?.Rule.ToString(), r.Error?.Message))],
                    stackTooBig ? StackMessage(total) : null), CliJsonContext.Default.CheckReportJson));
            }
            else
            {
                foreach (var r in results)
                    console.Out.WriteLine(r.Error is null
                        ? $"{r.Path}: accepted ({r.Length} instructions)"
                        : $"{r.Path}: refused: {r.Error}");
                if (stackTooBig) console.Out.WriteLine($"stack: refused: {StackMessage(total)}");
            }
            return ok ? ExitCodes.Success : ExitCodes.FilterRefused;
        });
        return cmd;
    }

    private static string StackMessage(int total) =>
        $"the stack charges {total} instructions (the kernel's converted lengths plus 4 per older filter); the kernel allows {FilterStack.MaxInstructionsPerPath} (ENOMEM)";
}
