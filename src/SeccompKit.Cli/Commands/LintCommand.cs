using System.Collections.Immutable;
using System.CommandLine;
using SeccompKit.Analysis;
using SeccompKit.Analysis.Lint;
using SeccompKit.Cli.Io;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Oci;
using SeccompKit.Linux.Runtimes;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit lint INPUT</c>: findings on a policy (bypasses, gaps, dangerous allows, dead rules), as text, JSON or SARIF.</summary>
public static class LintCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var input = new Argument<string>("INPUT") { Description = "A policy: OCI linux.seccomp JSON (or config.json), a Docker/podman profile, or a .policy file; - for standard input" };
        var format = new Option<string>("--format") { Description = "text (one line per finding and its fix), json, or sarif (SARIF 2.1.0 for code scanning)", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json", "sarif");
        var failOn = new Option<string>("--fail-on") { Description = "Exit 1 when a finding is at least this severe: error (default), warning, or never", DefaultValueFactory = _ => "error" };
        failOn.AcceptOnlyFromAmong("error", "warning", "never");
        var ignore = new Option<string[]>("--ignore") { Description = "Suppress a rule: SK301 everywhere, or SK301=$.syscalls[4] (a JSON path prefix) or SK301=FILE:LINE; repeatable. One that matches nothing is reported (SK001)", HelpName = "ID[=WHERE]", AllowMultipleArgumentsPerToken = false };
        var runtime = new Option<string?>("--runtime") { Description = "The container runtime the profile is for (runc or crun[@VERSION]): also checks NOTIFY on the syscalls it makes itself after installing the filter (SK604)", HelpName = "RUNTIME[@VERSION]" };
        var inputFormat = FilterInput.FormatOption();
        var rules = new Option<bool>("--rules") { Description = "List the rule catalog (ID, severity, name, what it finds) and exit" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the report to FILE (atomically) instead of standard output" };
        var force = OutputFile.ForceOption();
        input.Arity = ArgumentArity.ZeroOrOne;
        var cmd = new Command("lint",
            "Find what a policy lets through or gets wrong: x32/i386 bypasses, gaps in deny-lists (execveat next to a\n" +
            "refused execve, io_uring next to refused reads), dangerous allows (ptrace, bpf, mount, namespaces...), 64-bit\n" +
            "compares of 32-bit arguments, rules that never apply, EPERM where ENOSYS is needed (clone3), NOTIFY on the\n" +
            "runtime's own syscalls. Each finding has an ID (SK123), a severity, file:line:column (or the JSON path), why,\n" +
            "and the fix as a policy statement or JSON edit. The catalog with sources: docs/LINT.md, or --rules.\n\n" +
            "Suppress in the policy language with a comment on the rule's line or alone on the line above:\n" +
            "  # lint: ignore SK301 (we debug in this sandbox)\n" +
            "JSON profiles cannot carry comments or extra fields (OCI is strict): use --ignore ID[=JSONPATH].\n\n" +
            "Exit status: 0 no finding at the --fail-on level, 1 findings at that level (error by default; warning; never\n" +
            "gives 0 always), 2 usage, 3 unreadable input (or a filter the kernel would refuse), 6 a filter no policy can\n" +
            "express and no arch finding at that level (the lint was partial).\n\n" +
            "A BPF input (a raw or disasm program, a dump -o directory, pid:N) is linted as the policy it behaves as\n" +
            "(seccompkit explain), each finding at the return that decides it (filter N pc M). For a filter doing what no\n" +
            "policy can express (no arch check, an x32 hole...), the reasons go to stderr and only the arch checks run:\n" +
            "SK101 (other arches reach ALLOW) and SK102 (a call refused on x86_64 runs on x32 or i386).\n\n" +
            "Examples:\n" +
            "  seccompkit lint data/profiles/docker-default.json\n" +
            "  seccompkit lint app.policy --fail-on warning                     # CI: fail on warnings too\n" +
            "  seccompkit lint profile.json --format sarif -o lint.sarif       # upload to code scanning\n" +
            "  seccompkit lint agent.json --runtime runc@1.1.5                 # NOTIFY on runc's own syscalls\n" +
            "  seccompkit lint profile.json --ignore 'SK301=$.syscalls[0]'     # accepted finding\n" +
            "  sudo seccompkit lint pid:1234                                   # the filters a process runs under\n" +
            "  seccompkit lint --rules")
        { input, format, failOn, ignore, runtime, inputFormat, rules, output, force };
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(rules))
            {
                foreach (var r in LintRules.All)
                    console.Out.WriteLine($"{r.Id}  {LintRules.SeverityName(r.Severity),-7}  {r.Name,-36}  {r.Summary}");
                return ExitCodes.Success;
            }
            string spec = parse.GetValue(input) ?? throw new CliInputException("give the policy to lint (a file, or - for standard input), or --rules for the catalog", ExitCodes.Usage);
            var target = parse.GetValue(output) is { } o ? OutputFile.Check(o, parse.GetValue(force)) : null;
            var ignores = ImmutableArray.CreateBuilder<LintIgnore>();
            foreach (var text in parse.GetValue(ignore) ?? [])
            {
                try { ignores.Add(LintIgnore.Parse(text)); }
                catch (PolicyException e) { throw new CliInputException($"--ignore {text}: {e.Message}", ExitCodes.Usage); }
            }
            OciTarget? runtimeTarget = null;
            if (parse.GetValue(runtime) is { } rt)
            {
                try { runtimeTarget = InstalledRuntimes.Parse(rt); }
                catch (UnknownOciTargetException e) { throw new CliInputException($"--runtime {rt}: {e.Message}", ExitCodes.Usage); }
            }

            var read = FilterInput.Read(spec, parse.GetValue(inputFormat), console);
            var lintOptions = new LintOptions { Runtime = runtimeTarget, Ignore = ignores.ToImmutable() };
            LintReport report;
            bool complete = true;
            if (read.Kind == FilterInputKind.Policy)
            {
                var loaded = read.Policy!;
                bool json = loaded.Format is not PolicyFormat.Policy;
                report = PolicyLinter.Lint(new LintInput(loaded.Policy)
                {
                    SourceKind = json ? LintSourceKind.Json : LintSourceKind.PolicyLanguage,
                    FileName = PolicyInput.FileName(spec) ?? PolicyFile.StandardInputName,
                    Text = read.PolicyText,
                    ReadOtherFile = ReadIncluded,
                }, lintOptions);
            }
            else
            {
                // A filter is linted through explain (PolicyLinter.LintFilter). What no policy can express is listed, not
                // guessed at: only the arch checks run then, and the exit code says the lint was partial.
                var result = AnalysisLimit.Named(spec, () => PolicyLinter.LintFilter(read.Stack, spec, lintOptions));
                report = result.Report;
                complete = result.Complete;
                if (!complete)
                {
                    foreach (var p in result.Recovery.Problems) console.Error.WriteLine($"seccompkit: {spec}: {p.Where}: {p.What}");
                    console.Error.WriteLine($"seccompkit: {spec}: this {read.Description} does things a policy cannot express (above), so only the arch checks (SK101, SK102) ran; run `seccompkit explain {spec}` to read it");
                }
            }

            string rendered = parse.GetValue(format) switch
            {
                "json" => LintReportWriter.Json(report) + "\n",
                "sarif" => LintReportWriter.Sarif(report, typeof(LintCommand).Assembly.GetName().Version?.ToString(3) ?? "0") + "\n",
                _ => LintReportWriter.Text(report),
            };
            if (target is null) console.Out.Write(rendered);
            else target.Write(console, rendered);

            var threshold = parse.GetValue(failOn) switch { "warning" => (LintSeverity?)LintSeverity.Warning, "never" => null, _ => LintSeverity.Error };
            if (threshold is { } t && report.HasAtLeast(t)) return ExitCodes.LintFindings;
            return complete ? ExitCodes.Success : ExitCodes.NotExpressible;
        });
        return cmd;
    }

    private static string? ReadIncluded(string file)
    {
        try { return InputFile.ReadAllText(file); }
        catch (InputFileException) { return null; }
    }
}
