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
        var pid = new Argument<int>("PID") { Description = "The process to read, as the host sees it (for a container: 'runc state ID' gives its init's pid); a thread id reads that thread only" };
        var output = new Option<string?>("--output", "-o") { Description = "Write each filter as a raw file DIR/filter-N.bpf (N = 0 is the newest) instead of printing" };
        var force = new Option<bool>("--force") { Description = "With -o: overwrite existing filter-N.bpf files" };
        var raw = new Option<bool>("--raw") { Description = "Print one { code, jt, jf, k } line per instruction instead of the readable form" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the chosen thread to stop (default 10)", DefaultValueFactory = _ => FilterDump.DefaultStopTimeout.TotalSeconds };
        var wait = new Option<double>("--wait") { Description = "Seconds to wait for a thread that can be stopped unnoticed when none can right now (default 3; 0: look once)", DefaultValueFactory = _ => FilterDump.DefaultSafeThreadWait.TotalSeconds };
        var avoidRestart = new Option<bool>("--avoid-restart-syscall") { Description = "Never choose a thread asleep in nanosleep, relative clock_nanosleep, poll or a futex wait with a timeout (whose stop needs restart_syscall carried through with its filters suspended): wait for another thread, or refuse (exit 75)" };
        var format = CliApp.OutputFormatOption();
        var cmd = new Command("dump",
            "Read every seccomp filter of a running process with ptrace(PTRACE_SECCOMP_GET_FILTER) and print\n" +
            "them newest first (the order the kernel runs them), each as 'seccompkit disasm' prints it; or save\n" +
            "them as raw files with -o. Needs root (CAP_SYS_PTRACE and CAP_SYS_ADMIN), and seccompkit must not\n" +
            "itself run under seccomp.\n\n" +
            "What dump guarantees: the process runs on as if nothing happened. The kernel shows filters only of a\n" +
            "thread in a ptrace stop, and stopping a thread wakes the system call it sleeps in as a signal would:\n" +
            "some calls are simply made again, but epoll_wait, semop, sigtimedwait, io_getevents and socket calls\n" +
            "with a timeout fail with EINTR, and nanosleep, clock_nanosleep, poll and futex waits with a timeout go\n" +
            "on through the restart_syscall system call, which a learned profile may refuse (failing the sleep or\n" +
            "killing the process). So dump first reads what every thread is doing (/proc/PID/task/TID/syscall,\n" +
            "without touching it) and stops only one thread whose stop is harmless; the others run on. A thread\n" +
            "asleep in a restart_syscall call is used only when no better one exists: its filters are read, and\n" +
            "if they refuse restart_syscall the thread is carried through that one call with its filters suspended\n" +
            "(PTRACE_O_SUSPEND_SECCOMP; no code of the program runs unfiltered). If no thread can be stopped\n" +
            "unnoticed, dump waits up to --wait seconds for one, then refuses without having touched the process\n" +
            "(exit 75), naming each thread, its call and why. What the stop actually interrupted is checked from\n" +
            "the thread's registers and dealt with the same way. Signals that arrive meanwhile are handed back\n" +
            "(those the process ignores are dropped, as they would have been), and a stopped process stays\n" +
            "stopped. Notes on stderr say which thread was read when it matters, and warn when threads have\n" +
            "different numbers of filters (filters installed without TSYNC): pass a thread id to read that\n" +
            "thread's own.\n\n" +
            "Text output: 'filter N of M (newest first): L instructions', then the listing. JSON fields: pid,\n" +
            "mode (disabled, strict, filter), filterCount, filters[] { index (0 = newest), length,\n" +
            "instructions[] { code, jt, jf, k } }, thread { tid, name, state, was, forecast, outcome, detail }\n" +
            "(absent when nothing was stopped), threadsWithOtherFilterCounts[] { tid, name, filters }.\n\n" +
            "Exit status: 0 done (also when the process has no filters), 2 usage error, 3 the filters could not\n" +
            "be read (e.g. the chosen thread did not stop in time; it was let go as it was), 4 a file could not be\n" +
            "written (or exists: --force), 66 no such process, 75 refused: no thread could be stopped unnoticed\n" +
            "(nothing was done; try again, or with a longer --wait), 77 permission denied (the message says why:\n" +
            "not root, already traced, ...).\n\n" +
            "Examples:\n" +
            "  sudo seccompkit dump 1234\n" +
            "  sudo seccompkit dump $(runc state mycontainer | jq .pid)\n" +
            "  sudo seccompkit dump 1234 -o filters/ && seccompkit emulate --newest-first $(ls -v filters/*.bpf) -s mkdir\n" +
            "  sudo seccompkit dump 1234 --format json | jq '.filters[0].length, .thread'\n" +
            "  sudo seccompkit dump 1240                      # thread 1240 of process 1234: its own filters\n" +
            "  sudo seccompkit dump 1234 --wait 30            # a busy event loop: wait up to 30 s for a harmless moment\n" +
            "  sudo seccompkit dump 1234 --avoid-restart-syscall --wait 0   # only a thread needing no help, or exit 75")
        { pid, output, force, raw, timeout, wait, avoidRestart, format };
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
            double waitSeconds = parse.GetValue(wait);
            if (!(waitSeconds >= 0) || waitSeconds > 3600)
                throw new CliInputException($"--wait {waitSeconds.ToString(CultureInfo.InvariantCulture)}: give a number of seconds from 0 to 3600", ExitCodes.Usage);

            var dump = LiveFilters.Read(target, new FilterDumpOptions
            {
                StopTimeout = TimeSpan.FromSeconds(seconds),
                SafeThreadWait = TimeSpan.FromSeconds(waitSeconds),
                AvoidRestartSyscall = parse.GetValue(avoidRestart),
            });
            WriteNotes(console, dump);
            if (dir is not null) WriteFiles(console, dump, dir, parse.GetValue(force));
            else if (json) WriteJson(console, dump);
            else WriteText(console, dump, parse.GetValue(raw));
            return ExitCodes.Success;
        });
        return cmd;
    }

    /// <summary>The dump's notes on stderr; a thread under another stack gets the command that reads its own filters.</summary>
    private static void WriteNotes(ICliConsole console, FilterDumpResult dump)
    {
        foreach (var n in dump.Notes)
            console.Error.WriteLine($"seccompkit: {(n.Kind == DumpNoteKind.Warning ? "warning" : "note")}: {n.Message}" +
                (n.OtherThread is { } other ? $"; 'seccompkit dump {other.Tid.ToString(CultureInfo.InvariantCulture)}' reads its own" : ""));
    }

    private static string Kebab(string pascal) => string.Concat(pascal.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));

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
        var doc = new DumpJson(dump.Pid, ModeName(dump.Mode), dump.Filters.Count,
            [.. dump.Filters.Select((f, i) => new DumpFilterJson(i, f.Length, [.. f.Select(ins => new InstructionJson(ins.Code, ins.Jt, ins.Jf, ins.K))]))],
            dump.Thread is { } t
                ? new DumpThreadJson(t.Before.Tid, t.Before.Name, t.Before.State.ToString(), t.Before.Doing, Kebab(t.Before.Forecast.ToString()), Kebab(t.Outcome.ToString()), t.Detail)
                : null,
            [.. dump.ThreadsWithOtherFilterCounts.Select(o => new DumpOtherThreadJson(o.Tid, o.Name, o.SeccompFilters))]);
        console.Out.WriteLine(JsonSerializer.Serialize(doc, CliJsonContext.Default.DumpJson));
    }

    private static void WriteFiles(ICliConsole console, FilterDumpResult dump, string dir, bool force)
    {
        if (dump.Filters.Count == 0)
        {
            console.Error.WriteLine($"seccompkit: {NoFilters(dump)}; nothing written");
            return;
        }
        var paths = Enumerable.Range(0, dump.Filters.Count).Select(i => Path.Combine(dir, $"filter-{i}.bpf")).ToArray();
        // DIR itself: a link to it is followed only if it is the caller's or root's in a directory nobody else controls
        // (as for -o FILE); the files in it are named by seccompkit, so a link or anything but a file there is refused.
        if (new DirectoryInfo(dir).LinkTarget is not null)
        {
            var link = FileStatus.Of(dir, followLinks: false);
            string? parentProblem = OutputFile.DirectoryRefusal(Path.GetDirectoryName(Path.GetFullPath(dir))!);
            if (link is null || (link.Uid != AtomicFile.CallerUid && link.Uid != 0) || parentProblem is not null)
                throw new CliInputException($"-o {dir} is a symbolic link {(parentProblem is null ? $"that belongs to another user (uid {link?.Uid})" : $"in a directory another user controls ({parentProblem})")}; seccompkit does not follow it: give the directory itself", ExitCodes.OutputFailed);
        }
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException($"{dir}: cannot create the directory: {e.Message}", ExitCodes.OutputFailed);
        }
        // Check every file before writing any, so a refusal leaves the directory as it was; each is then written
        // atomically (OutputFile: a temporary file renamed over it), as every command writes its files.
        var targets = paths.Select(p => OutputFile.Check(p, force, ExitCodes.OutputFailed, "-o DIR", followLinks: false)).ToArray();
        for (int i = 0; i < paths.Length; i++)
        {
            ImmutableArray<Instruction> ins = dump.Filters[i];
            targets[i].Write(console, BpfProgram.ToRaw(ins.AsSpan()));
            console.Error.WriteLine($"seccompkit: wrote {paths[i]}: {Heading(i, paths.Length, ins.Length)}");
        }
        // Files of an earlier dump of a process with more filters would read as part of this stack.
        for (int i = paths.Length; File.Exists(Path.Combine(dir, $"filter-{i}.bpf")); i++)
            console.Error.WriteLine($"seccompkit: note: {Path.Combine(dir, $"filter-{i}.bpf")} is left from an earlier dump; this process has {paths.Length} filter{(paths.Length == 1 ? "" : "s")}");
    }
}
