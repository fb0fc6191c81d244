using System.CommandLine;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit disasm FILE [--raw]</c>: a filter as readable text.</summary>
public static class DisasmCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var file = new Argument<string>("FILE") { Description = "Filter to read: raw struct sock_filter array or text; - for standard input" };
        var raw = new Option<bool>("--raw") { Description = "Print one { code, jt, jf, k } line per instruction instead of the readable form" };
        var inputFormat = CliApp.InputFormatOption();
        var cmd = new Command("disasm",
            "Print a seccomp filter as readable text: pc, labels for jump targets, loads spelled as fields\n" +
            "(A = sys_number, A = args[1] >> 32), syscall and arch names where the program compares them,\n" +
            "and actions spelled out (return ERRNO(EPERM)). 'seccompkit asm' reads the output back to the same bytes.\n\n" +
            "Examples:\n" +
            "  seccompkit disasm filter.bpf\n" +
            "  seccompkit disasm --raw filter.bpf > filter.txt\n" +
            "  python3 -c '...export_bpf(sys.stdout)' | seccompkit disasm -")
        { file, raw, inputFormat };
        cmd.SetAction(parse =>
        {
            // Disassembly does not validate: reading a filter the kernel would refuse is how one finds out why.
            var ins = ProgramInput.Read(parse.GetRequiredValue(file), parse.GetValue(inputFormat), console, CliApp.Symbols);
            console.Out.Write(parse.GetValue(raw) ? Disassembler.DisassembleRaw(ins) : Disassembler.Disassemble(ins, CliApp.Symbols));
            var error = Validator.Validate(ins);
            if (error is not null) console.Error.WriteLine($"seccompkit: note: the kernel would refuse this filter: {error}");
            return ExitCodes.Success;
        });
        return cmd;
    }
}
