using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using SeccompKit.Bpf;
using SeccompKit.Cli.Commands;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Kernel;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli;

/// <summary>Builds the <c>seccompkit</c> command tree and runs it with SeccompKit's error and exit-code conventions.</summary>
public static class CliApp
{
    /// <summary>Symbol names for disassembly and assembly: every architecture's syscall table.</summary>
    public static readonly IBpfSymbols Symbols = new SyscallSymbols();

    /// <summary>
    /// <see cref="Run"/>, on a thread with an 8 MiB stack when the main thread's (RLIMIT_STACK, <c>ulimit -s</c>) is under
    /// 1 MiB: the JIT compiler overflowed 64 KiB in a static constructor (issue 17). Without a thread to spare it runs here.
    /// </summary>
    public static int RunOnEnoughStack(string[] args, ICliConsole console)
    {
        if (!ResourceLimits.SmallStack) return Run(args, console);
        int status = ExitCodes.InternalError;
        var thread = new Thread(() => status = Run(args, console), maxStackSize: 8 << 20) { Name = "seccompkit" };
        try { thread.Start(); }
        catch (OutOfMemoryException) { return Run(args, console); } // no thread left (RLIMIT_NPROC): try on this stack
        thread.Join();
        return status;
    }

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
            "66 no such process, 70 internal error, 71 a resource limit (RLIMIT_NOFILE, RLIMIT_NPROC) too tight, 77 permission denied;\n" +
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
        catch (Exception e) when (ResourceExhaustion(e) is { } what)
        {
            // A descriptor or thread could not be had part way (the start-up check leaves room, but other programs use
            // the same per-user limits): a refusal naming the limit, not an internal error.
            bool launches = args is ["run" or "learn", ..];
            console.Error.WriteLine($"seccompkit: {what}; nothing was written");
            return launches ? ExitCodes.RunLaunchFailed : ExitCodes.ResourceLimit;
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

    /// <summary>
    /// What limit <paramref name="e"/> (or an exception inside it) ran into: no descriptor left (EMFILE, ENFILE, seen as
    /// IOException, Win32Exception or an assembly that could not be loaded), or no thread (EAGAIN from clone, seen as
    /// an OutOfMemoryException from Thread.Start); null for anything else.
    /// </summary>
    internal static string? ResourceExhaustion(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            bool files = x switch
            {
                Linux.ErrnoException { Errno: Linux.Errno.EMFILE or (Linux.Errno)23 } => true,
                System.ComponentModel.Win32Exception { NativeErrorCode: 24 or 23 } => true,
                IOException io when io.HResult is 24 or 23 || io.Message.Contains("Too many open files", StringComparison.Ordinal) => true,
                _ => false,
            };
            if (files)
                return $"no file descriptor left: the open-file limit (RLIMIT_NOFILE, ulimit -n) is reached; raise it and try again";
            bool threads = x switch
            {
                Linux.ErrnoException { Errno: Linux.Errno.EAGAIN, Call: "clone" or "posix_spawn" } => true,
                System.ComponentModel.Win32Exception { NativeErrorCode: 11 } => true,
                OutOfMemoryException oom when oom.StackTrace?.Contains("Thread.Start", StringComparison.Ordinal) == true => true,
                _ => false,
            };
            if (threads)
                return ResourceLimits.ProcessLimitProblem() ?? "cannot start a thread: the process limit (RLIMIT_NPROC, ulimit -u) or memory is exhausted; try again";
        }
        return null;
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
