using System.CommandLine;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit asm FILE [-o OUT]</c>: text back to a raw filter.</summary>
public static class AsmCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var file = new Argument<string>("FILE") { Description = "Text to assemble (disasm output, readable or --raw form); - for standard input" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the raw filter here instead of standard output" };
        var force = OutputFile.ForceOption();
        var noValidate = new Option<bool>("--no-validate") { Description = "Write the program even if the kernel would refuse it (for testing kernels and tools)" };
        var cmd = new Command("asm",
            "Assemble text into a raw filter (an array of 8-byte struct sock_filter, as seccomp_export_bpf writes),\n" +
            "validated like the kernel. Statements: 'A = sys_number', 'A = args[0] >> 32', 'X = A', 'A &= 0xff',\n" +
            "'mem[0] = A', 'if (A == openat) goto L5 else goto L7', 'if (!(A & 0x1)) goto L3', 'goto L9',\n" +
            "'return ERRNO(EPERM)', 'return A', or raw '{ 0x06, 0, 0, 0x7fff0000 }'. Labels are 'NAME:'.\n" +
            "Syscall names resolve under the arch the program checked ('if (A != AUDIT_ARCH_X86_64) goto ...').\n\n" +
            "Examples:\n" +
            "  seccompkit asm listing.txt -o filter.bpf\n" +
            "  seccompkit disasm filter.bpf | seccompkit asm - | cmp - filter.bpf")
        { file, output, noValidate, force };
        cmd.SetAction(parse =>
        {
            string path = parse.GetRequiredValue(file);
            var target = OutputFile.Check(parse.GetValue(output), parse.GetValue(force));
            var ins = ProgramInput.Read(path, InputFormat.Text, console, CliApp.Symbols);
            if (!parse.GetValue(noValidate))
            {
                var error = Validator.Validate(ins);
                if (error is not null)
                    throw new CliInputException($"{path}: the kernel would refuse this filter: {error} (pass --no-validate to write it anyway)", ExitCodes.FilterRefused);
            }
            byte[] bytes = BpfProgram.ToRaw(ins);
            if (target.IsStandardOutput && console.IsOutputTerminal)
                throw new CliInputException("refusing to write a binary filter to a terminal; use -o FILE or redirect standard output", ExitCodes.Usage);
            target.Write(console, bytes);
            if (!target.IsStandardOutput) console.Error.WriteLine($"seccompkit: wrote {ins.Length} instructions ({bytes.Length} bytes) to {target.Display}");
            return ExitCodes.Success;
        });
        return cmd;
    }
}
