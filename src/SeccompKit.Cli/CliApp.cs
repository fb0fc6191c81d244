using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using SeccompKit.Bpf;
using SeccompKit.Cli.Commands;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Agent;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli;

/// <summary>Builds the <c>seccompkit</c> command tree and runs it with SeccompKit's error and exit-code conventions.</summary>
public static class CliApp
{
    /// <summary>Symbol names for disassembly and assembly: every architecture's syscall table.</summary>
    public static readonly IBpfSymbols Symbols = new SyscallSymbols();

    /// <summary>Runs the tool; returns the exit status (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, ICliConsole console)
    {
        var root = new RootCommand(
            "SeccompKit: build, learn, check, apply and supervise Linux seccomp filters.\n\n" +
            "Examples:\n" +
            "  seccompkit disasm filter.bpf                      # readable listing of a raw filter\n" +
            "  seccompkit emulate filter.bpf --arch x86_64 --syscall openat --args 0,0x41\n" +
            "  seccompkit emulate filter.bpf --all               # action of every x86_64 syscall\n" +
            "  seccompkit check filter.bpf && echo accepted      # would the kernel load it?\n" +
            "  seccompkit asm listing.txt -o filter.bpf          # text back to a raw filter\n" +
            "  seccompkit run --profile docker.json -- ls -la    # run a program under a policy\n" +
            "  seccompkit merge run1.json run2.json -o app.json  # the union of two learned profiles\n" +
            "  sudo seccompkit dump 1234                         # the filters of a running process\n\n" +
            "Exit codes: 0 ok, 1 the kernel would refuse the filter, 2 usage error, 3 bad input, 4 output failed,\n" +
            "5 a merge failed its verification (a bug; nothing written),\n" +
            "66 no such process, 70 internal error, 77 permission denied;\n" +
            "run passes on the program's status and has its own codes for failures before the program starts (see run --help).");
        var summaries = new (Command Command, string Summary)[]
        {
            (DisasmCommand.Create(console), "Print a filter as readable text (or --raw { code, jt, jf, k } lines)"),
            (AsmCommand.Create(console), "Assemble that text back to a raw filter, validated like the kernel"),
            (EmulateCommand.Create(console), "Run a filter or a stack on a syscall exactly as the kernel would"),
            (CheckCommand.Create(console), "Would the kernel accept these filters? Exit 0 yes, 1 no (pc and rule)"),
            (CompileCommand.Create(console), "Compile a policy (OCI, Docker, or .policy) to BPF; --report for paths and cache"),
            (ConvertCommand.Create(console), "Convert between OCI/Docker JSON and the policy language"),
            (MergeCommand.Create(console), "Merge profiles into their union (e.g. learned from several runs), verified by emulation"),
            (RunCommand.Create(console), "Run a program under a policy (fails closed; names the syscall of a seccomp kill)"),
            (FeaturesCommand.Create(console), "What this kernel's seccomp supports: actions, filter flags, notification sizes"),
            (LearnCommand.Create(console), "Run a program and write the minimal profile it needs (user notification, no root)"),
            (DumpCommand.Create(console), "Read the filters of a running process (ptrace, root), newest first; -o DIR saves them"),
            (ExplainCommand.Create(console), "Any filter or stack back to rules per ABI; --to policy|oci writes a policy that behaves the same"),
            (DiffCommand.Create(console), "Where two filters, stacks or policies behave differently (exit 1), exactly, per ABI and argument region"),
            (LintCommand.Create(console), "Find bypasses, gaps, dangerous allows and dead rules in a policy (text, JSON, SARIF)"),
            (GraphCommand.Create(console), "Draw a filter's control-flow graph (DOT or SVG): syscall names on edges, actions on leaves"),
            // Subcommands of agent (agent profile) are passed here, one argument each.
            (AgentCommand.Create(console, c => AgentModeSessions.Default(c), AgentProfileCommand.Create(console)), "The OCI seccomp agent: learn, complain or supervise runc/crun/podman containers"),
        };
        foreach (var (command, _) in summaries) root.Add(command);
        // The top-level help lists one line per command; each command's own --help has the full text and examples.
        var helpOption = root.Options.OfType<HelpOption>().First();
        helpOption.Action = new RootHelpAction(root, helpOption.Action!, summaries.Select(p => (p.Command.Name, p.Summary)).ToArray(), console);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) console.Error.WriteLine($"seccompkit: {e.Message}");
            console.Error.WriteLine("Run 'seccompkit --help' (or 'seccompkit COMMAND --help') for usage and examples.");
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false });
        }
        catch (CliInputException e)
        {
            console.Error.WriteLine($"seccompkit: {e.Message}");
            return e.ExitCode;
        }
        catch (SeccompException e)
        {
            console.Error.WriteLine($"seccompkit: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            console.Error.WriteLine($"seccompkit: internal error: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("SECCOMPKIT_DEBUG") == "1") console.Error.WriteLine(e);
            else console.Error.WriteLine("Please report this with the command line; set SECCOMPKIT_DEBUG=1 for the stack trace.");
            return ExitCodes.InternalError;
        }
    }

    /// <summary>The shared <c>--input-format</c> option.</summary>
    internal static Option<InputFormat> InputFormatOption() => new("--input-format")
    {
        Description = "How FILE is encoded: auto (NUL bytes mean raw, else text), raw (struct sock_filter array), text (disasm output)",
        DefaultValueFactory = _ => InputFormat.Auto,
    };

    /// <summary>The shared <c>--format</c> option.</summary>
    internal static Option<OutputFormat> OutputFormatOption() => new("--format")
    {
        Description = "Output as text (for people) or json (for programs)",
        DefaultValueFactory = _ => OutputFormat.Text,
    };
}

/// <summary>Output encodings.</summary>
public enum OutputFormat
{
    /// <summary>Readable text.</summary>
    Text,
    /// <summary>One JSON document.</summary>
    Json,
}

/// <summary>Writes a compact top-level help; any other command's help is the library's default.</summary>
internal sealed class RootHelpAction(RootCommand root, CommandLineAction defaultHelp, (string Name, string Summary)[] commands, ICliConsole console)
    : SynchronousCommandLineAction
{
    public override bool ClearsParseErrors => true;

    public override int Invoke(ParseResult parseResult)
    {
        if (parseResult.CommandResult.Command != root)
            return defaultHelp is SynchronousCommandLineAction sync ? sync.Invoke(parseResult) : ExitCodes.InternalError;
        var o = console.Out;
        o.WriteLine(root.Description);
        o.WriteLine();
        o.WriteLine("Usage: seccompkit COMMAND [options]    (seccompkit COMMAND --help for details and examples)");
        o.WriteLine();
        o.WriteLine("Commands:");
        foreach (var (name, summary) in commands) o.WriteLine($"  {name,-10} {summary}");
        o.WriteLine();
        o.WriteLine("Options:");
        o.WriteLine("  -h, --help   Show help");
        o.WriteLine("  --version    Show the version");
        return ExitCodes.Success;
    }
}
