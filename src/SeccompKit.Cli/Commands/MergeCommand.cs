using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;

namespace SeccompKit.Cli.Commands;

/// <summary><c>seccompkit merge A B [C...]</c>: the union of several profiles, checked by emulation before it is written.</summary>
public static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console) => Create(console, m => MergeVerifier.Verify(m));

    /// <summary>Builds the command with another verifier (tests use it to reach the refusal of an unverified merge).</summary>
    internal static Command Create(ICliConsole console, Func<MergeResult, MergeVerification> verify)
    {
        var files = new Argument<string[]>("FILE")
        {
            Description = "Profiles to merge (two or more): OCI JSON, Docker/podman profiles or .policy files, in any mix; - for standard input (once)",
            Arity = ArgumentArity.OneOrMore,
        };
        var to = new Option<ConvertTarget>("--to") { Description = "Output: auto (OCI JSON when every input is JSON, else the policy language), oci, policy", DefaultValueFactory = _ => ConvertTarget.Auto };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the merged profile (default standard output)" };
        var force = OutputFile.ForceOption();
        var defaultAction = new Option<string?>("--default-action") { Description = "Read every input as if this were its default action (errno(EPERM), kill-process, trap...): needed when their defaults differ" };
        var badArch = new Option<string?>("--bad-arch-action") { Description = "Read every input as if this were its action for other architectures (kill-thread is OCI's, kill-process the policy language's default)" };
        var forRuntime = OciOutput.ForOption(" (for OCI output)");
        var reportJson = new Option<bool>("--report-json") { Description = "Print a JSON report (counts, verification, notes) to standard output; the profile then goes to -o FILE" };
        var policy = new PolicyOptions();
        var cmd = new Command("merge",
            "Merge profiles, typically learned from several runs of one program, into one that allows exactly the calls one\n" +
            "of them allows (the union). Rules are sorted by syscall; an unconditional allow absorbs conditional ones; identical\n" +
            "rules are kept once; architectures, flags and ENOSYS cutoffs are united. Each input decides only calls of the\n" +
            "architectures it covers. A call no input allows gets the inputs' common answer: when they would disagree (different\n" +
            "default actions, a refusing rule only some inputs have, rules that would reach an architecture only other inputs\n" +
            "cover) the merge is refused with the reason and the option that resolves it (--default-action, --bad-arch-action,\n" +
            "--arch to read every input with the same architectures).\n\n" +
            "Before anything is written, every input and the merge are compiled and run in the BPF interpreter on every\n" +
            "syscall of every architecture, with arguments at the boundaries of every condition; the merge must allow exactly\n" +
            "what an input allows and refuse the rest as the inputs do. A summary goes to standard error.\n\n" +
            "Examples:\n" +
            "  seccompkit merge run1.json run2.json run3.json -o app.json      # OCI in, OCI out\n" +
            "  seccompkit merge a.policy b.policy > app.policy\n" +
            "  seccompkit merge learned.json app.policy --to policy --bad-arch-action kill-thread\n" +
            "  seccompkit merge a.json b.json --default-action 'errno(EPERM)' --arch x86_64,x86,x32 -o merged.json\n" +
            "  seccompkit merge a.json b.json -o merged.json --report-json | jq .verification\n\n" +
            "Exit status: 0 merged and verified, 2 bad command line, 3 an input cannot be read or the inputs cannot be merged\n" +
            "(the message says why), 4 the output cannot be written, 5 the merge failed verification (a bug in seccompkit;\n" +
            "nothing is written; examples are printed).")
        { files, to, output, force, defaultAction, badArch, forRuntime, reportJson };
        foreach (var o in policy.All) cmd.Add(o);
        cmd.SetAction(parse =>
        {
            var paths = parse.GetRequiredValue(files);
            if (paths.Length < 2)
                throw new CliInputException($"merge needs two or more profiles, got only {paths[0]}; to rewrite one profile use `seccompkit convert`", ExitCodes.Usage);
            string? outPath = parse.GetValue(output);
            bool json = parse.GetValue(reportJson);
            if (json && outPath == "-")
                throw new CliInputException("the report goes to standard output, so the profile cannot: write it with -o FILE", ExitCodes.Usage);
            if (paths.Count(p => p == "-") > 1)
                throw new CliInputException("standard input (-) can be read only once; save the other profile to a file", ExitCodes.Usage);
            var destination = OutputFile.Check(outPath, parse.GetValue(force));
            var options = new MergeOptions
            {
                InputNames = paths,
                DefaultAction = ParseAction(parse.GetValue(defaultAction), "--default-action"),
                BadArchAction = ParseAction(parse.GetValue(badArch), "--bad-arch-action"),
            };

            var loaded = paths.Select(p => policy.Load(parse, p, console)).ToList();
            var merged = PolicyMerger.Union([.. loaded.Select(l => l.Policy)], options);
            if (!parse.GetValue(policy.Quiet))
                foreach (var n in merged.Notes) console.Error.WriteLine($"seccompkit: merge: {n}");
            var verification = verify(merged);
            if (!verification.Verified)
            {
                console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"seccompkit: internal error: the merge does not mean the union of its inputs on {verification.Mismatches:N0} of {verification.InputsChecked:N0} inputs checked by emulation; nothing was written. Please report this with the input files. Examples:"));
                foreach (var m in verification.Examples) console.Error.WriteLine($"  {m.Describe(paths)}");
                if (json) WriteReport(console, paths, merged, verification, null, null);
                return ExitCodes.MergeNotVerified;
            }

            var target = parse.GetValue(to);
            if (target == ConvertTarget.Auto) target = loaded.All(l => l.Format != PolicyFormat.Policy) ? ConvertTarget.Oci : ConvertTarget.Policy;
            string text = target == ConvertTarget.Oci
                ? OciOutput.Export(merged.Policy, OciOutput.Target(parse.GetValue(forRuntime), console, "merge"), console, "merge", parse.GetValue(policy.Quiet)).Json
                : PolicyLanguage.Print(merged.Policy);
            if (!text.EndsWith('\n')) text += "\n";
            // With --report-json and no -o, standard output holds the report only.
            if (!json || outPath is not null) destination.Write(console, text);

            string either = paths.Length == 2 ? "either input" : "one of the inputs";
            console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seccompkit: merged {paths.Length} profiles: {merged.SyscallCount} syscalls ({merged.ConditionalSyscallCount} with argument conditions); " +
                $"verified by emulation on {verification.InputsChecked:N0} inputs: the merge allows exactly what {either} allows"));
            if (json) WriteReport(console, paths, merged, verification, outPath is null or "-" ? null : outPath, target == ConvertTarget.Oci ? "oci" : "policy");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static PolicyAction? ParseAction(string? text, string option) => text is null ? null : CliActions.Parse(text, option);

    private static void WriteReport(ICliConsole console, string[] paths, MergeResult merged, MergeVerification verification, string? outPath, string? format)
    {
        var p = merged.Policy;
        var doc = new MergeReportJson(
            [.. paths], outPath, format, merged.SyscallCount, merged.ConditionalSyscallCount,
            [.. p.EffectiveArchitectures.Select(a => a.Name)], p.DefaultAction.ToString(), p.BadArchAction.ToString(),
            new MergeVerificationJson(verification.Verified, verification.InputsChecked, verification.Mismatches,
                [.. verification.Examples.Select(m => new MergeMismatchJson(
                    m.Abi?.Name, m.Input.Arch, m.Input.Nr, m.Syscall, [.. m.Input.Args.Select(a => $"0x{a:x}")], ActionNames.Format(m.Merged),
                    [.. m.Inputs.Select(v => v is uint x ? ActionNames.Format(x) : null)], m.Problem))]),
            [.. merged.Notes.Select(n => new MergeNoteJson(n.Location, n.Message))]);
        console.Out.WriteLine(JsonSerializer.Serialize(doc, CliJsonContext.Default.MergeReportJson));
    }
}
