using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Linux;
using SeccompKit.Linux.Inspect;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit dump PID [-o DIR]</c>: the filters of a live process.</summary>
public static class DumpCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var pid = new Argument<int>("PID") { Description = "The process (or thread) to read, as the host sees it (for a container: 'runc state ID' gives its init's pid)" };
        var output = new Option<string?>("--output", "-o") { Description = "Write each filter as a raw file DIR/filter-N.bpf (N = 0 is the newest) instead of printing" };
        var force = new Option<bool>("--force") { Description = "With -o: overwrite existing filter-N.bpf files" };
        var raw = new Option<bool>("--raw") { Description = "Print one { code, jt, jf, k } line per instruction instead of the readable form" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the process to stop (default 10)", DefaultValueFactory = _ => FilterDump.DefaultStopTimeout.TotalSeconds };
        var format = CliApp.OutputFormatOption();
        var cmd = new Command("dump",
            "Read every seccomp filter of a running process with ptrace(PTRACE_SECCOMP_GET_FILTER) and print\n" +
            "them newest first (the order the kernel runs them), each as 'seccompkit disasm' prints it; or save\n" +
            "them as raw files with -o. Needs root (CAP_SYS_PTRACE and CAP_SYS_ADMIN), and seccompkit must not\n" +
            "itself run under seccomp. The process is stopped for about a millisecond (PTRACE_SEIZE,\n" +
            "PTRACE_INTERRUPT, read, PTRACE_DETACH) and then runs on as before; a stopped process stays stopped.\n\n" +
            "Text output: 'filter N of M (newest first): L instructions', then the listing. JSON fields: pid,\n" +
            "mode (disabled, strict, filter), filterCount, filters[] { index (0 = newest), length,\n" +
            "instructions[] { code, jt, jf, k } }.\n\n" +
            "Exit status: 0 done (also when the process has no filters), 2 usage error, 3 the filters could not\n" +
            "be read (e.g. the process did not stop in time), 4 a file could not be written (or exists: --force),\n" +
            "66 no such process, 77 permission denied (the message says why: not root, already traced, ...).\n\n" +
            "Examples:\n" +
            "  sudo seccompkit dump 1234\n" +
            "  sudo seccompkit dump $(runc state mycontainer | jq .pid)\n" +
            "  sudo seccompkit dump 1234 -o filters/ && seccompkit emulate --newest-first $(ls -v filters/*.bpf) -s mkdir\n" +
            "  sudo seccompkit dump 1234 --format json | jq '.filters[0].length'")
        { pid, output, force, raw, timeout, format };
        cmd.SetAction(parse =>
        {
            int target = parse.GetValue(pid);
            if (target <= 0) throw new CliInputException($"PID must be a positive process id, not {target}", ExitCodes.Usage);
            string? dir = parse.GetValue(output);
            bool json = parse.GetValue(format) == OutputFormat.Json;
            if (dir is not null && (json || parse.GetValue(raw)))
                throw new CliInputException("-o writes raw filter files; --format and --raw only shape what is printed, so leave them out with -o", ExitCodes.Usage);
            if (dir is null && parse.GetValue(force))
                throw new CliInputException("--force only applies to -o DIR", ExitCodes.Usage);
            double seconds = parse.GetValue(timeout);
            if (!(seconds > 0) || seconds > 3600)
                throw new CliInputException($"--timeout {seconds.ToString(CultureInfo.InvariantCulture)}: give a number of seconds above 0 and at most 3600", ExitCodes.Usage);

            var dump = Read(target, TimeSpan.FromSeconds(seconds));
            if (dir is not null) WriteFiles(console, dump, dir, parse.GetValue(force));
            else if (json) WriteJson(console, dump);
            else WriteText(console, dump, parse.GetValue(raw));
            return ExitCodes.Success;
        });
        return cmd;
    }

    /// <summary>Reads the filters; errno failures become the documented exit codes.</summary>
    private static FilterDumpResult Read(int pid, TimeSpan timeout)
    {
        try
        {
            return FilterDump.ReadInstructions(pid, timeout);
        }
        catch (ErrnoException e) when (e.Errno == Errno.ESRCH)
        {
            throw new CliInputException(e.Message, ExitCodes.ProcessNotFound);
        }
        catch (ErrnoException e) when (e.Errno is Errno.EPERM or Errno.EACCES)
        {
            throw new CliInputException(e.Message, ExitCodes.PermissionDenied);
        }
    }

    private static string ModeName(SeccompMode mode) => mode switch
    {
        SeccompMode.Disabled => "disabled",
        SeccompMode.Strict => "strict",
        SeccompMode.Filter => "filter",
        _ => ((int)mode).ToString(CultureInfo.InvariantCulture),
    };

    private static string NoFilters(FilterDumpResult dump) => dump.Mode == SeccompMode.Strict
        ? $"process {dump.Pid}: strict mode (SECCOMP_MODE_STRICT): no filters; only read, write, _exit and sigreturn are allowed"
        : $"process {dump.Pid}: no seccomp filters (Seccomp: {(int)dump.Mode}, {ModeName(dump.Mode)})";

    private static string Heading(int index, int count, int length) =>
        $"filter {index} of {count} (newest first): {length} instruction{(length == 1 ? "" : "s")}";

    private static void WriteText(ICliConsole console, FilterDumpResult dump, bool raw)
    {
        var o = console.Out;
        if (dump.Filters.Count == 0)
        {
            o.WriteLine(NoFilters(dump));
            return;
        }
        for (int i = 0; i < dump.Filters.Count; i++)
        {
            var ins = dump.Filters[i].AsSpan();
            if (i > 0) o.WriteLine();
            o.WriteLine(Heading(i, dump.Filters.Count, ins.Length));
            o.Write(raw ? Disassembler.DisassembleRaw(ins) : Disassembler.Disassemble(ins, CliApp.Symbols));
            // The kernel accepted every filter it holds, so this only fires on a validator bug.
            if (Validator.Validate(ins) is { } error)
                console.Error.WriteLine($"seccompkit: note: filter {i} fails SeccompKit's validator although the kernel loaded it ({error}); please report this");
        }
    }

    private static void WriteJson(ICliConsole console, FilterDumpResult dump)
    {
        using var w = new Utf8JsonWriter(CheckCommand.Stream(console), new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteNumber("pid", dump.Pid);
        w.WriteString("mode", ModeName(dump.Mode));
        w.WriteNumber("filterCount", dump.Filters.Count);
        w.WriteStartArray("filters");
        for (int i = 0; i < dump.Filters.Count; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("index", i);
            w.WriteNumber("length", dump.Filters[i].Length);
            w.WriteStartArray("instructions");
            foreach (var ins in dump.Filters[i])
            {
                w.WriteStartObject();
                w.WriteNumber("code", ins.Code);
                w.WriteNumber("jt", ins.Jt);
                w.WriteNumber("jf", ins.Jf);
                w.WriteNumber("k", ins.K);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        console.Out.WriteLine();
    }

    private static void WriteFiles(ICliConsole console, FilterDumpResult dump, string dir, bool force)
    {
        if (dump.Filters.Count == 0)
        {
            console.Error.WriteLine($"seccompkit: {NoFilters(dump)}; nothing written");
            return;
        }
        var paths = Enumerable.Range(0, dump.Filters.Count).Select(i => Path.Combine(dir, $"filter-{i}.bpf")).ToArray();
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException($"{dir}: cannot create the directory: {e.Message}", ExitCodes.OutputFailed);
        }
        // Check every file before writing any, so a refusal leaves the directory as it was.
        if (!force && paths.FirstOrDefault(File.Exists) is { } existing)
            throw new CliInputException($"{existing} already exists; pass --force to overwrite, or choose another -o DIR", ExitCodes.OutputFailed);
        for (int i = 0; i < paths.Length; i++)
        {
            ImmutableArray<Instruction> ins = dump.Filters[i];
            try { File.WriteAllBytes(paths[i], BpfProgram.ToRaw(ins.AsSpan())); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliInputException($"{paths[i]}: cannot write: {e.Message}", ExitCodes.OutputFailed);
            }
            console.Error.WriteLine($"seccompkit: wrote {paths[i]}: {Heading(i, paths.Length, ins.Length)}");
        }
        // Files of an earlier dump of a process with more filters would read as part of this stack.
        for (int i = paths.Length; File.Exists(Path.Combine(dir, $"filter-{i}.bpf")); i++)
            console.Error.WriteLine($"seccompkit: note: {Path.Combine(dir, $"filter-{i}.bpf")} is left from an earlier dump; this process has {paths.Length} filter{(paths.Length == 1 ? "" : "s")}");
    }
}
