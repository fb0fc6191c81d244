using System.CommandLine;
using System.Globalization;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Launch;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit run --profile FILE -- PROGRAM ARGS...</c>: run a program under a policy, fail closed.</summary>
public static class RunCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var profile = new Option<string?>("--profile") { Description = "OCI linux.seccomp JSON, a config.json, or a Docker/podman profile (format auto-detected)" };
        var policyFile = new Option<string?>("--policy") { Description = "A policy in SeccompKit's policy language (.policy)" };
        var log = new Option<bool>("--log") { Description = "Install with SECCOMP_FILTER_FLAG_LOG: the kernel logs every action but ALLOW, and run prints a summary of what was refused" };
        var complain = new Option<bool>("--complain") { Description = "Complain mode: whatever the policy would refuse is allowed and reported (by user notification; no audit log, no root); at exit a report and a suggested profile patch" };
        var defaultAction = new Option<string?>("--default-action") { Description = $"Replace the policy's default action, written as in a policy: {CliActions.Syntax}" };
        var errnoDefault = new Option<string?>("--errno-default") { Description = "Replace the policy's default action with errno(E): a name (EPERM, ENOSYS), a number 0..4095 or errno(NAME); the same as --default-action 'errno(E)'" };
        var noNnp = new Option<bool>("--no-nnp") { Description = "As root only: do not set no_new_privs, so set-user-ID, set-group-ID and file-capability programs keep their privileges (root can install a filter without it)" };
        var forRuntime = OciOutput.ForOption(" (for the OCI entries of --complain's suggested patch)");
        var command = new Argument<string[]>("PROGRAM") { Description = "The program and its arguments (after --)", Arity = ArgumentArity.OneOrMore };
        var policy = new PolicyOptions();
        var cmd = new Command("run",
            "Run a program under a seccomp policy. The policy is compiled, then seccompkit starts a fresh copy of itself\n" +
            "that sets no_new_privs, installs the filter and execve's the program, so no code of seccompkit runs in the\n" +
            "program's process afterwards. If any step fails, the program does not run. Standard input, output and error,\n" +
            "the environment and the exit status are the program's; Ctrl-C reaches it directly and SIGTERM/SIGHUP sent to\n" +
            "seccompkit are passed on.\n\n" +
            "When the program is killed by SIGSYS, run names the syscall from the kernel's audit record (type 1326;\n" +
            "read from the audit netlink socket, needs root/CAP_AUDIT_READ, else /dev/kmsg). The kernel writes that record\n" +
            "for KILL_PROCESS and KILL_THREAD always, and for TRAP, ERRNO, TRACE and LOG only with --log. The record has\n" +
            "no arguments. Kills of child processes are named too when they are still visible as the record arrives.\n\n" +
            "Examples:\n" +
            "  seccompkit run --profile data/profiles/docker-default.json -- python3 -c 'print(42)'\n" +
            "  seccompkit run --policy app.policy -- ./server --port 8080\n" +
            "  seccompkit run --policy app.policy --log -- make test     # also list every refused syscall\n" +
            "  seccompkit run --profile default.json --default-action 'errno(EPERM)' -- tar xf a.tar\n" +
            "  seccompkit run --complain --profile app.json -- ./app     # what would app.json refuse? (nothing is refused)\n\n" +
            "Complain mode (--complain) installs the policy with every refusing action (and the default) turned into\n" +
            "USER_NOTIF: seccompkit receives each call the policy would refuse, lets it run (CONTINUE) and records it. At exit\n" +
            "it lists each would-be refusal (syscall, the action the policy gives, count, first pid, the security arguments\n" +
            "seen) and prints the rules to add. It reads no kernel log (SECCOMP_RET_LOG is not used) and needs no root.\n\n" +
            "no_new_privs: seccomp needs it unless the caller is root, and under it set-user-ID, set-group-ID and\n" +
            "file-capability programs (su, passwd, ping) run without their privileges. run warns when PROGRAM is one\n" +
            "(complain mode also for every such program it executes); as root, --no-nnp installs the filter without it.\n\n" +
            "Signals: SIGTERM and SIGHUP sent to seccompkit reach the program (a quarter of a second later, unless a copy\n" +
            "sent to the whole process group ended it first); SIGINT and SIGQUIT reach it from the\n" +
            "terminal. A signal that arrives before the program started stops the launch (the program never runs);\n" +
            "one that arrives after it ended never cuts the complain report or the kill explanation short.\n\n" +
            "Exit status: the program's own; if it is killed by a signal, 128 + the signal. Before the program runs:\n" +
            "  2 bad command line, 120 the kernel refused the filter, 121 the policy cannot be read or compiled,\n" +
            "  122 the policy does not cover this machine's architecture, 123 no_new_privs could not be set,\n" +
            "  125 the launcher failed, 126 the program cannot be executed, 127 the program was not found.\n" +
            "  159 (128 + SIGSYS): the program was killed by seccomp (or by an unhandled TRAP).")
        { profile, policyFile, log, complain, defaultAction, errnoDefault, noNnp, forRuntime, command };
        foreach (var o in policy.All) cmd.Add(o);
        cmd.SetAction(parse =>
        {
            // First: no SIGTERM/SIGINT/SIGHUP ends seccompkit from now on until the program's report is written.
            using var signals = ProgramSignals.Catch();
            string? profilePath = parse.GetValue(profile), policyPath = parse.GetValue(policyFile);
            if ((profilePath is null) == (policyPath is null))
                throw new CliInputException("give the policy with exactly one of --profile FILE (JSON) or --policy FILE (policy language)", ExitCodes.Usage);
            string[] argv = parse.GetValue(command) ?? [];
            bool nnp = !parse.GetValue(noNnp);
            if (!nnp && !Environment.IsPrivilegedProcess)
                throw new CliInputException("--no-nnp needs root: without CAP_SYS_ADMIN the kernel installs a filter only under no_new_privs (seccomp(2)); run as root, or without --no-nnp", ExitCodes.Usage);
            if (!parse.GetValue(complain) && parse.GetValue(forRuntime) is not null)
                throw new CliInputException("--for names the runtime of --complain's suggested patch; without --complain nothing is written for a runtime", ExitCodes.Usage);
            if (parse.GetValue(complain))
            {
                if (parse.GetValue(log)) throw new CliInputException("--complain and --log do not mix: complain mode reports through notification, not the kernel log", ExitCodes.Usage);
                var target = OciOutput.Target(parse.GetValue(forRuntime), console, "complain");
                return Complain(parse, policy, profilePath ?? policyPath!, DefaultOverride(parse, defaultAction, errnoDefault), argv, nnp, target, signals, console);
            }

            // Stage two starts first and waits for the filter, so its start-up overlaps reading and compiling the
            // policy. If anything below fails, disposing the pending run stops it: the program never runs.
            bool logMode = parse.GetValue(log);
            PendingPolicyRun pending;
            try { pending = PolicyRunner.Prepare(argv[0], argv[1..], new RunOptions { Log = logMode, SetNoNewPrivileges = nnp }); }
            catch (LaunchException e) { return signals.LaunchFailed("run", e, console); }
            using (pending)
            {
                var p = LoadPolicy(parse, policy, profilePath ?? policyPath!, console);
                if (DefaultOverride(parse, defaultAction, errnoDefault) is { } d) p = p.WithDefaultAction(d);
                PolicyRun run;
                try
                {
                    PolicyRunner.Check(p); // before the warning: a policy that cannot run anything is the first thing to fix
                    if (nnp) WarnIfPrivileged(pending.Path, console);
                    if (signals.Received is { } early) return ProgramSignals.NotStarted("run", early, console);
                    run = pending.Start(p);
                }
                catch (PolicyRunException e) { throw Refusal(e); }
                catch (LaunchException ex) { return signals.LaunchFailed("run", ex, console); }
                using (run)
                {
                    signals.ProgramRunning(run.Process);
                    run.Process.WaitForExit();
                    signals.ProgramEnded();
                    return Render(run.Wait(), logMode, console);
                }
            }
        });
        return cmd;
    }

    /// <summary>Under no_new_privs a set-id or file-capability program runs without its privileges: say so before it runs.</summary>
    private static void WarnIfPrivileged(string path, ICliConsole console)
    {
        if (Linux.Kernel.ExecPrivileges.Of(path) is { } p)
            console.Error.WriteLine($"seccompkit: run: warning: {path} is {p.Describe()}, but it runs under no_new_privs (which seccomp needs without root), so without those privileges" +
                (Environment.IsPrivilegedProcess ? "; --no-nnp runs it with them" : "; as root, --no-nnp runs it with them"));
    }

    private static int Complain(ParseResult parse, PolicyOptions options, string path, PolicyAction? defaultOverride, string[] argv, bool nnp, Policy.Oci.OciTarget target, ProgramSignals signals, ICliConsole console)
    {
        var p = LoadPolicy(parse, options, path, console);
        if (defaultOverride is { } d) p = p.WithDefaultAction(d);
        var observer = new SignalLearnObserver(signals,
            () => console.Error.WriteLine("seccompkit: complain: the program exited; still watching its descendants that run on (stop them, or press Ctrl-C to stop and report)"));
        Linux.Learn.ComplainResult result;
        try
        {
            result = Linux.Learn.Complainer.Complain(new Linux.Learn.ComplainRequest { Program = argv[0], Arguments = argv[1..], Policy = p, Target = target, NoNewPrivileges = nnp }, observer);
        }
        catch (PolicyRunException e) { throw Refusal(e); }
        catch (LaunchException e) { return signals.LaunchFailed("run", e, console); }
        if (observer.NotRecorded(result, "run", console) is { } code) return code;
        // As learn says it (issue 17): the program did not end by itself, the second signal killed it.
        if (signals.Forced is { } forced)
            console.Error.WriteLine($"seccompkit: complain: a second {ExitStatus.SignalName(forced)}: stopped the program (SIGKILL); the report holds what it did until then");
        if (!result.Complete)
            console.Error.WriteLine($"seccompkit: complain: stopped on {ExitStatus.SignalName(signals.Received ?? 0)}; descendants still running are no longer supervised: their calls that the policy would refuse now fail with ENOSYS");
        WriteComplaints(result.Report!, path, argv, Path.GetFileName(result.ProgramPath), console);
        foreach (var x in result.PrivilegedExecs)
            console.Error.WriteLine(nnp
                ? $"seccompkit: complain: warning: {x.Path} is {x.Describe()}, but under no_new_privs it ran without those privileges{(Environment.IsPrivilegedProcess ? "; --no-nnp runs it with them" : "")}"
                : $"seccompkit: complain: note: {x.Path} is {x.Describe()} and ran with those privileges (--no-nnp)");
        return result.Status.ShellCode;
    }

    private static void WriteComplaints(Learning.ComplainReport report, string path, string[] argv, string name, ICliConsole console)
    {
        var e = console.Error;
        if (report.RefusedNothing)
            e.WriteLine($"seccompkit: complain: {path} refused nothing that {name} did");
        else
        {
            e.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seccompkit: complain: {path} would have refused {report.Total:N0} call(s) of {report.Complaints.Length} syscall(s); they were allowed:"));
            e.WriteLine(FormattableString.Invariant($"  {"calls",8}  {"first pid",9}  {"syscall",-20} {"the policy would",-22} arguments that matter"));
            foreach (var (s, actions) in report.Complaints)
                e.WriteLine(FormattableString.Invariant($"  {s.Count,8:N0}  {s.FirstPid,9}  {s.Display,-20} {string.Join("/", actions),-22} {LearnedText.Values(s)}").TrimEnd());
        }
        if (report.Clone3Refused > 0)
            e.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seccompkit: complain: clone3 was answered ENOSYS {report.Clone3Refused:N0} time(s), as learned profiles answer it (the program fell back to clone, which the policy judged)"));
        var patch = report.Patch;
        if (patch.IsEmpty) return;
        if (!patch.Baseline.IsEmpty)
            e.WriteLine($"seccompkit: complain: {path} also refuses {patch.Baseline.Length} baseline syscall(s) any program may need without having made them in this run: " +
                string.Join(", ", patch.Baseline.Select(b => b.Syscall)) + " (see `seccompkit learn --help`)");
        if (report.PatchProblem is { } problem)
        {
            e.WriteLine($"seccompkit: complain: no suggested patch: {problem}");
            return;
        }
        e.WriteLine($"seccompkit: complain: suggested patch for {report.Target}: add these entries to the profile's \"syscalls\" (or write the patched profile with");
        e.WriteLine($"  seccompkit learn --from {ShellWords.Quote(path)} -o patched.json -- {string.Join(' ', argv.Select(ShellWords.Quote))}):");
        foreach (var entry in report.PatchEntries) e.WriteLine("  " + Policy.Oci.OciJson.WriteEntry(entry) + ",");
        foreach (var note in patch.Notes) e.WriteLine($"seccompkit: complain: note: {note}");
    }

    private static SeccompPolicy LoadPolicy(ParseResult parse, PolicyOptions options, string path, ICliConsole console)
    {
        try { return options.Load(parse, path, console, summarize: true).Policy; }
        catch (CliInputException e) when (e.ExitCode == ExitCodes.BadInput) { throw new CliInputException(e.Message, ExitCodes.RunPolicyInvalid); }
        catch (PolicyFileException e) { throw new CliInputException(e.Message, ExitCodes.RunPolicyInvalid); }
        // A PolicyException that knows its file (JSON readers and the policy language name it) is not named twice.
        catch (PolicyException e) when (e.Location?.File is not null) { throw new CliInputException(e.Message, ExitCodes.RunPolicyInvalid); }
        catch (SeccompException e) when (e is not CliInputException) { throw new CliInputException($"{path}: {e.Message}", ExitCodes.RunPolicyInvalid); }
    }

    /// <summary>--default-action or --errno-default (one of them), read before anything starts.</summary>
    private static PolicyAction? DefaultOverride(ParseResult parse, Option<string?> defaultAction, Option<string?> errnoDefault)
    {
        string? action = parse.GetValue(defaultAction), errno = parse.GetValue(errnoDefault);
        if (action is not null && errno is not null)
            throw new CliInputException("give the new default action once: --default-action ACTION or --errno-default ERRNO, not both", ExitCodes.Usage);
        return action is not null ? CliActions.Parse(action, "--default-action") : errno is not null ? CliActions.ParseErrno(errno, "--errno-default") : null;
    }

    /// <summary>A policy that cannot run a program here, as the CLI error with its exit code (and the CLI's own hint).</summary>
    private static CliInputException Refusal(PolicyRunException e) => e.Problem switch
    {
        PolicyRunProblem.ArchitectureMissing => new CliInputException(e.Message + $", or for a Docker profile pass --arch {Architecture.NativeHost.Name}", ExitCodes.RunArchMissing),
        PolicyRunProblem.ExecveRefused => new CliInputException(e.Message, ExitCodes.RunCannotExecute),
        _ => new CliInputException(e.Message, ExitCodes.RunPolicyInvalid),
    };

    /// <summary>How the program ended: each seccomp kill named (stderr), the --log summary, and the exit code.</summary>
    private static int Render(RunResult result, bool log, ICliConsole console)
    {
        string name = Path.GetFileName(result.ProgramPath);
        foreach (var kill in result.Kills)
        {
            string who = kill.IsProgram ? $"{name} (pid {kill.Pid})"
                : kill.Record is { } r ? $"{r.Comm} (pid {r.Pid}, a child of the program)" : $"pid {kill.Pid} (a child of the program)";
            console.Error.WriteLine(kill.Explanation is { } why
                ? $"seccompkit: {who} was killed by seccomp: {why}"
                : kill.IsProgram && result.AuditUnavailableReason is { } noAudit
                    ? $"seccompkit: {who} was killed by SIGSYS, most likely by the filter, but the syscall is unknown: the audit log cannot be read ({noAudit})"
                    : $"seccompkit: {who} was killed by SIGSYS, but no audit record names a syscall: not a seccomp kill{(kill.IsProgram ? " (a SIGSYS sent by a process)" : "")}, or a TRAP without a handler (logged only with --log)");
        }
        if (log) WriteLogSummary(result, console);
        return result.Status.KilledBySigsys ? ExitCodes.RunKilledBySeccomp : result.Status.ShellCode;
    }

    private static void WriteLogSummary(RunResult result, ICliConsole console)
    {
        if (result.AuditUnavailableReason is { } why)
        {
            console.Error.WriteLine($"seccompkit: --log: the kernel logged the refused syscalls, but seccompkit cannot read the audit log ({why})");
            return;
        }
        var records = result.Logged;
        var refused = records.Where(r => r.ActionName != "ALLOW").GroupBy(r => (r.ActionName, Name: r.SyscallName ?? r.Describe()))
            .OrderByDescending(g => g.Count()).ToList();
        if (refused.Count == 0)
        {
            console.Error.WriteLine("seccompkit: --log: the filter refused nothing");
            return;
        }
        console.Error.WriteLine($"seccompkit: --log: {records.Count} logged syscall(s) of the program and its children:");
        foreach (var g in refused)
            console.Error.WriteLine(FormattableString.Invariant($"  {g.Count(),6} × {g.Key.Name,-24} {g.Key.ActionName}"));
    }
}
