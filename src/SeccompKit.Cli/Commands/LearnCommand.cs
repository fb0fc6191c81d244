using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Learning;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Learn;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit learn -o FILE -- PROGRAM ARGS...</c>: record what a program needs and write the minimal profile.</summary>
public static class LearnCommand
{
    /// <summary>What learn writes to -o.</summary>
    public enum LearnFormat
    {
        /// <summary>OCI linux.seccomp JSON (runc, crun, podman, Docker).</summary>
        Oci,
        /// <summary>SeccompKit's policy language.</summary>
        Policy,
        /// <summary>A JSON report: counts, argument values, replay check, and the profile (OCI) inside.</summary>
        Json,
    }

    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the profile (or the --format json report); - for standard output, after the program's own output" };
        var format = new Option<LearnFormat>("--format") { Description = "oci (default): OCI JSON; policy: the policy language; json: a machine-readable report with the profile inside (no progress)", DefaultValueFactory = _ => LearnFormat.Oci };
        var from = new Option<string?>("--from") { Description = "A profile (OCI/Docker JSON or .policy) whose allowed calls are not notified; the result is that profile plus what is new" };
        var args = new Option<string>("--args") { Description = "auto (default): argument conditions for clone, socket, ioctl, prctl, fcntl, personality, mmap/mprotect from the values seen; none: syscalls only", DefaultValueFactory = _ => "auto" };
        var openFlags = new Option<bool>("--open-flags") { Description = "Also record open/openat flags and write them as conditions (with --args auto)" };
        var defaultAction = new Option<string>("--default-action") { Description = "The action for everything not learned, as in a policy: errno(EPERM) (the default, as Docker), errno(EACCES), kill-process, kill-thread, trap, log", DefaultValueFactory = _ => "errno(EPERM)" };
        var forRuntime = OciOutput.ForOption(". With --for, the profile also allows the syscalls that runtime makes itself after installing a container's filter (measured once per runtime version; data/runtimes), so it starts the container");
        var force = new Option<bool>("--force") { Description = "Replace the -o file if it exists (without it, learn refuses before running the program)" };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "Leave out the baseline (rt_sigreturn, restart_syscall, exit_group, the vDSO fallbacks, futex...): allow only what the run made" };
        var allowClone3 = new Option<bool>("--allow-clone3") { Description = "Let clone3 run while learning and allow it in the profile (its flags cannot be checked); by default it is answered ENOSYS, as Docker does" };
        var noNnp = new Option<bool>("--no-nnp") { Description = "As root only: do not set no_new_privs, so set-user-ID, set-group-ID and file-capability programs keep their privileges" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress and no summary (errors, warnings and the replay verdict only)" };
        var command = new Argument<string[]>("PROGRAM") { Description = "The program and its arguments (after --)", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("learn",
            "Run a program and write the minimal seccomp profile it needs. Every syscall of the program, its threads,\n" +
            "children and execs is sent to seccompkit by user notification (SECCOMP_RET_USER_NOTIF) and let run unchanged;\n" +
            "seccompkit records the syscalls per ABI and, for those whose arguments decide security, the values seen. No\n" +
            "ptrace, no audit log, no root: seccomp needs only no_new_privs. Before writing, every recorded call is replayed\n" +
            "through the compiled profile in seccompkit's BPF interpreter; the profile is written only if all are allowed.\n" +
            "The profile allows nothing that was not called, but for a small baseline. Run the program through everything it\n" +
            "must do; learn again with --from to add what a second run needs (only new calls are notified), or merge profiles\n" +
            "with `merge`.\n\n" +
            "Examples:\n" +
            "  seccompkit learn -o ls.json -- ls -la /\n" +
            "  seccompkit run --profile ls.json -- ls -la /          # the same output, nothing refused\n" +
            "  seccompkit learn --from ls.json -o ls2.json -- ls -R /etc\n" +
            "  seccompkit learn --format policy -o app.policy --open-flags -- ./app --selftest\n" +
            "  seccompkit learn --format json -o report.json -- python3 -c 'import json'\n" +
            "  seccompkit learn --default-action kill-process -o strict.json -- ./tool   # a missed call kills, loudly\n" +
            "  seccompkit learn --for runc -o box.json -- rootfs/bin/busybox sh -c 'echo hi'   # for config.json's linux.seccomp\n\n" +
            "The baseline: a profile learned from one quiet run also allows what any program may need without having made\n" +
            "it then: rt_sigreturn (every signal handler returns through it), restart_syscall (the kernel resumes a sleep\n" +
            "with it after Ctrl-Z/SIGCONT, a debugger or `seccompkit dump`), exit_group and exit (a run ended by a signal\n" +
            "never exits), the vDSO's clock calls (real syscalls on machines whose clock source has no vDSO), futex and\n" +
            "sched_yield (lock contention is timing), and getpid, gettid, getppid and getpgrp (they cannot fail, so nobody\n" +
            "checks them: refused, getpid returns -1 and kill(getpid(), sig) signals every process). The summary names\n" +
            "what it added; --no-baseline leaves it out.\n\n" +
            "Namespaces stay closed unless learned: clone, unshare and setns are allowed only with the namespace flags\n" +
            "seen (CLONE_NEW*), and clone3, whose flags no filter can read, is answered ENOSYS while learning and in the\n" +
            "profile (glibc then falls back to clone, which the profile checks), as Docker does; --allow-clone3 allows it.\n\n" +
            "no_new_privs: seccomp needs it unless the caller is root, and under it set-user-ID, set-group-ID and\n" +
            "file-capability programs (su, passwd, chage, ping) run without their privileges, so what is learned is their\n" +
            "unprivileged behaviour (often a failure). learn warns when the program executes one; as root, --no-nnp runs\n" +
            "it without no_new_privs (root needs none to install a filter).\n\n" +
            "A profile for a container must also allow what the runtime does between installing the filter and exec'ing\n" +
            "the container's process (runc's Go runtime: futex, capset, setuid...). --for runc|crun[@VERSION] adds the set measured\n" +
            "for that runtime (tools/measure-runtime-syscalls.sh, docs/RUNTIME-SYSCALLS.md); the summary names them. The OCI\n" +
            "profile is written for that runtime version (without --for: the installed runc, else runc 1.1.5): only what it\n" +
            "accepts, e.g. no flags for runc 1.1, and its ENOSYS answer for syscalls newer than the profile.\n\n" +
            "Standard input, output and error, the environment and signals are the program's, as with `run`. On a terminal,\n" +
            "progress and a summary go to standard error. Nothing is lost on shutdown: SIGTERM, SIGINT or SIGHUP to\n" +
            "seccompkit or its process group (timeout, systemd, Ctrl-C) never end seccompkit before the profile of what\n" +
            "the program did is written. Sent to the group they reach the program as without seccompkit; sent to seccompkit\n" +
            "alone, SIGTERM and SIGHUP are passed on, SIGINT is not (a terminal sends it to the whole group). Once the\n" +
            "program has ended, after such a signal or on one, learn stops waiting for descendants that outlive it.\n" +
            "A second such signal while the program runs (Ctrl-C twice) kills it (SIGKILL) and writes the profile of\n" +
            "what it did until then, whatever it and its descendants do with the first.\n" +
            "The -o file is checked before the program runs and written atomically (never a partial file);\n" +
            "an existing one is replaced only with --force.\n\n" +
            "Exit status: the program's own (128 + signal if killed). Before the program runs: 2 bad command line,\n" +
            "121 the --from profile cannot be read (or no profile learned on it can be written as OCI for the target:\n" +
            "checked before the run; --format policy writes it), 124 the -o file cannot be written (or exists: --force),\n" +
            "120/123/125/126/127 as for `run`, 128 + signal if a signal came first. After: 124 the profile could not be\n" +
            "written or failed its replay check (nothing is written then).")
        { output, format, from, args, openFlags, defaultAction, forRuntime, force, noBaseline, allowClone3, noNnp, quiet, command };
        cmd.SetAction(parse =>
        {
            // First: from now on no SIGTERM/SIGINT/SIGHUP ends seccompkit before the profile is written.
            using var signals = ProgramSignals.Catch();
            string[] argv = parse.GetValue(command) ?? [];
            string? outPath = parse.GetValue(output);
            var fmt = parse.GetValue(format);
            if (outPath is null)
                throw new CliInputException("give -o FILE for the profile (the program's own output uses standard output); -o - writes it to standard output after the program's output", ExitCodes.Usage);
            var argMode = parse.GetValue(args) switch
            {
                "auto" => ArgumentMode.Auto,
                "none" => ArgumentMode.None,
                var other => throw new CliInputException($"--args {other}: use auto or none", ExitCodes.Usage),
            };
            var deflt = CliActions.Parse(parse.GetValue(defaultAction)!, "--default-action");
            bool quietMode = parse.GetValue(quiet) || fmt == LearnFormat.Json;
            bool nnp = !parse.GetValue(noNnp);
            if (!nnp && !Environment.IsPrivilegedProcess)
                throw new CliInputException("--no-nnp needs root: without CAP_SYS_ADMIN the kernel installs a filter only under no_new_privs (seccomp(2)); run learn as root, or without --no-nnp", ExitCodes.Usage);
            var destination = OutputFile.Check(outPath, parse.GetValue(force), ExitCodes.LearnProfileFailed);
            Policy.Runtimes.RuntimeSyscallSet? runtime = null;
            var target = OciOutput.Target(parse.GetValue(forRuntime), console, "learn");
            if (parse.GetValue(forRuntime) is { } rt)
            {
                try { runtime = Policy.Runtimes.RuntimeSyscalls.For(target); }
                catch (Policy.Runtimes.UnknownRuntimeException e) { throw new CliInputException($"--for {rt}: {e.Message}", ExitCodes.Usage); }
                if (runtime.Mismatch(target) is { } mismatch)
                    console.Error.WriteLine($"seccompkit: learn: warning: --for {rt}: {mismatch}");
            }

            SeccompPolicy? basePolicy = null;
            if (parse.GetValue(from) is { } basePath)
            {
                try { basePolicy = PolicyInput.Load(basePath, new PolicyFileOptions(), console).Policy; }
                catch (PolicyFileException e) { throw new CliInputException(e.Message, ExitCodes.RunPolicyInvalid); }
                // A policy error that carries its file already names it in its message.
                catch (PolicyException e) when (e.Location?.File is not null) { throw new CliInputException(e.Message, ExitCodes.RunPolicyInvalid); }
                catch (SeccompException e) when (e is not CliInputException) { throw new CliInputException($"{basePath}: {e.Message}", ExitCodes.RunPolicyInvalid); }
                catch (CliInputException e) { throw new CliInputException(e.Message, ExitCodes.RunPolicyInvalid); }
            }

            using var observer = new LearnProgressObserver(signals, quietMode, console);
            LearnResult result;
            try
            {
                result = Learner.Learn(new LearnRequest
                {
                    Program = argv[0],
                    Arguments = argv[1..],
                    Base = basePolicy,
                    DefaultAction = deflt,
                    ArgumentConditions = argMode,
                    OpenFlags = parse.GetValue(openFlags),
                    Runtime = runtime,
                    Target = target,
                    Baseline = !parse.GetValue(noBaseline),
                    AllowClone3 = parse.GetValue(allowClone3),
                    NoNewPrivileges = nnp,
                    ExportsOci = fmt != LearnFormat.Policy,
                }, observer);
            }
            catch (LaunchException e) { return signals.LaunchFailed("learn", e, console); }
            catch (Policy.Oci.OciExportException e)
            {
                // Thrown before the program runs: what the --from profile alone decides about the OCI output.
                console.Error.WriteLine($"seccompkit: learn: --from {parse.GetValue(from)}: no profile learned on it can be written as OCI for {e.Target} " +
                    $"(fix the base, or learn with --format policy); the program was not run. {e.Problems.Length} problem(s):");
                foreach (var problem in e.Problems) console.Error.WriteLine("  " + problem.ToString().Replace("\n", "\n  ", StringComparison.Ordinal));
                return ExitCodes.RunPolicyInvalid;
            }
            if (observer.NotRecorded(result, "learn", console) is { } code) return code;
            if (signals.Forced is { } forced)
                console.Error.WriteLine($"seccompkit: learn: a second {ExitStatus.SignalName(forced)}: stopped the program (SIGKILL); the profile holds what it did until then");
            if (!result.Complete)
                console.Error.WriteLine($"seccompkit: learn: stopped learning on {ExitStatus.SignalName(signals.Received ?? 0)}; descendants still running are no longer supervised: their calls that the learning filter notifies now fail with ENOSYS");
            var learned = result.Learned!;
            var profile = learned.Profile;
            if (!quietMode) WriteSummary(result, learned.Synthesis, console);
            if (!quietMode && runtime is not null)
                console.Error.WriteLine($"seccompkit: learn: --for {runtime.Runtime}: {runtime.Syscalls.Length} syscalls {runtime.Runtime} {runtime.Version} makes after installing the filter" +
                    (learned.RuntimeAdded.Length > 0 ? $"; added {learned.RuntimeAdded.Length} the program did not make: {string.Join(", ", learned.RuntimeAdded)}" : "; the program made them all"));
            foreach (var note in learned.Synthesis.Notes) console.Error.WriteLine($"seccompkit: learn: note: {note}");
            WritePrivilegeWarnings(result, console);
            if (result.VanishedNotifications > 0 && !quietMode)
                console.Error.WriteLine($"seccompkit: learn: note: {result.VanishedNotifications.ToString("N0", CultureInfo.InvariantCulture)} notified call(s) ended before seccompkit received them: their thread was killed, or a signal interrupted the call first. " +
                    "The kernel then fails the call with EINTR if the program's signal handler lacks SA_RESTART, even a call that natively never fails so (fork, close): " +
                    "a limit of seccomp user notification (docs/KERNEL-FINDINGS.md). If the program failed where it normally succeeds, learn it again.");
            var replay = learned.Replay;
            if (!replay.AllAllowed)
            {
                console.Error.WriteLine($"seccompkit: learn: the profile would refuse {replay.Refused.Length} recorded call(s); it was not written:");
                foreach (var (s, data, action) in replay.Refused.Take(20))
                    console.Error.WriteLine($"  {s.Display} {data} -> {action}");
                return ExitCodes.LearnProfileFailed;
            }
            string text;
            try
            {
                if (fmt == LearnFormat.Policy) text = PolicyLanguage.Print(profile);
                else
                {
                    var export = result.ExportOci();
                    OciOutput.Report(export, console, "learn", quietMode);
                    text = fmt == LearnFormat.Json ? JsonSerializer.Serialize(result.Report(export, programKilled: signals.Forced is not null), CliJsonContext.Default.LearnReport) : export.Json;
                }
            }
            catch (PolicyException e)
            {
                console.Error.WriteLine($"seccompkit: learn: the profile cannot be written as {fmt.ToString().ToLowerInvariant()}: {e.Message}");
                return ExitCodes.LearnProfileFailed;
            }
            if (!text.EndsWith('\n')) text += "\n";
            destination.Write(console, text, ExitCodes.LearnProfileFailed);
            if (fmt != LearnFormat.Json)
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"seccompkit: learn: replayed {replay.Replayed} distinct recorded call(s) through the profile: all allowed; wrote {(destination.IsStandardOutput ? "the profile" : destination.Display)} ({profile.SyscallNames.Count()} syscalls, {profile.Rules.Count(r => !r.IsUnconditional)} rule(s) with argument conditions)"));
            return result.Status.ShellCode;
        });
        return cmd;
    }

    /// <summary>Warns about set-id and file-capability programs that ran without their privileges (no_new_privs).</summary>
    private static void WritePrivilegeWarnings(LearnResult result, ICliConsole console)
    {
        foreach (var p in result.PrivilegedExecs)
            console.Error.WriteLine(result.NoNewPrivileges
                ? $"seccompkit: learn: warning: {p.Path} is {p.Describe()}, but under no_new_privs (which seccomp needs without root) it ran without those privileges: " +
                  $"what was learned is its unprivileged behaviour. {(Environment.IsPrivilegedProcess ? "Learn again with --no-nnp to run it with them." : "As root, learn with --no-nnp to run it with them.")}"
                : $"seccompkit: learn: note: {p.Path} is {p.Describe()} and ran with those privileges (--no-nnp)");
    }

    private static void WriteSummary(LearnResult result, SynthesisResult synthesis, ICliConsole console)
    {
        var (calls, elapsed, status) = (result.Calls, result.Elapsed, result.Status);
        var e = console.Error;
        e.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seccompkit: learn: {calls.Total:N0} notified call(s) of {calls.Syscalls.Length} distinct syscall(s) in {elapsed.TotalSeconds:0.00} s ({calls.Total / Math.Max(elapsed.TotalSeconds, 0.001):N0}/s{(result.SyncWakeUp ? ", sync wake-up" : "")}); the program ended with {status.Describe()}"));
        e.WriteLine(FormattableString.Invariant($"  {"calls",10}  {"abi",-7} {"syscall",-22} values seen (security arguments)"));
        foreach (var s in calls.Syscalls.OrderByDescending(s => s.Count).ThenBy(s => s.Display, StringComparer.Ordinal))
            e.WriteLine(FormattableString.Invariant($"  {s.Count,10:N0}  {s.Abi?.Name ?? "?",-7} {s.Display,-22} {LearnedText.Values(s)}").TrimEnd());
        if (!synthesis.Baseline.IsEmpty)
            e.WriteLine($"seccompkit: learn: baseline: also allowed though the program did not make them ({synthesis.Baseline.Length}; --no-baseline leaves them out): " +
                string.Join("; ", synthesis.Baseline.GroupBy(b => b.Group).Select(g => $"{g.Key}: {string.Join(", ", g.Select(b => b.Syscall))}")));
        if (result.Clone3Refused > 0)
            e.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seccompkit: learn: clone3 was answered ENOSYS {result.Clone3Refused:N0} time(s), as the profile answers it: the program fell back to clone, whose namespace flags the profile checks (--allow-clone3 allows clone3 instead)"));
    }

    /// <summary>Signals as every program-running command handles them, plus the progress line and the note about descendants.</summary>
    private sealed class LearnProgressObserver(ProgramSignals signals, bool quiet, ICliConsole console)
        : SignalLearnObserver(signals, () => { }, signal => console.Error.WriteLine((Console.IsErrorRedirected ? "" : "\r\x1b[2K") +
            $"seccompkit: learn: the program runs on after {ExitStatus.SignalName(signal)}; send it again (Ctrl-C) to stop it and write the profile of what it did")), IDisposable
    {
        private ProgressLine? _progress;

        public override void Started(LearningSession session)
        {
            base.Started(session);
            if (!quiet && !Console.IsErrorRedirected) _progress = new ProgressLine(session, Path.GetFileName(session.Process.Path), console);
        }

        public override void DescendantsOutlive()
        {
            _progress?.Pause();
            if (!quiet) console.Error.WriteLine("seccompkit: learn: the program exited; still learning from its descendants that run on (stop them, or press Ctrl-C to stop learning and write the profile)");
        }

        public override void Stopped() => Dispose();

        public void Dispose()
        {
            _progress?.Dispose();
            _progress = null;
        }
    }

    /// <summary>The live line on a terminal: calls, distinct syscalls, notifications per second.</summary>
    private sealed class ProgressLine : IDisposable
    {
        private readonly Timer _timer;
        private readonly LearningSession _session;
        private readonly string _name;
        private readonly ICliConsole _console;
        private long _lastCalls;
        private int _lastDistinct;
        private bool _paused;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _lastTick;

        public ProgressLine(LearningSession session, string name, ICliConsole console)
        {
            _session = session;
            _name = name;
            _console = console;
            _timer = new Timer(_ => Tick(), null, 250, 250);
        }

        private void Tick()
        {
            lock (this)
            {
                if (_paused) return;
                var p = _session.Progress;
                var now = _clock.Elapsed;
                double rate = (p.Calls - _lastCalls) / Math.Max((now - _lastTick).TotalSeconds, 0.001);
                int fresh = p.Distinct - _lastDistinct;
                _lastCalls = p.Calls; _lastDistinct = p.Distinct; _lastTick = now;
                _console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r\x1b[2Klearning {_name}: {p.Calls:N0} calls, {p.Distinct} syscalls{(fresh > 0 ? $" (+{fresh} new)" : "")}, {rate:N0} notifications/s"));
            }
        }

        public void Pause()
        {
            lock (this)
            {
                if (!_paused) _console.Error.Write("\r\x1b[2K");
                _paused = true;
            }
        }

        public void Dispose()
        {
            _timer.Dispose();
            Pause();
        }
    }
}
