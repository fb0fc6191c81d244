using System.CommandLine;
using SeccompKit.Analysis;
using SeccompKit.Cli.Io;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Cli.Commands;

/// <summary>What <c>explain</c> writes.</summary>
public enum ExplainOutput
{
    /// <summary>The summary (text or JSON by <c>--format</c>).</summary>
    Summary,
    /// <summary>A policy-language file that compiles to the same behaviour.</summary>
    Policy,
    /// <summary>An OCI <c>linux.seccomp</c> profile that runtime compiles to the same behaviour.</summary>
    Oci,
}

/// <summary><c>seccompkit explain INPUT</c>: any filter or stack back to rules.</summary>
public static class ExplainCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var input = new Argument<string>("INPUT") { Description = "A raw or disasm-text BPF filter, a policy (OCI/Docker JSON or .policy), a directory `dump -o` wrote (a stack), or pid:N (a live process); - for standard input" };
        var to = new Option<ExplainOutput>("--to") { Description = "summary (default), policy (the policy language) or oci (OCI linux.seccomp JSON): a policy that compiles to the same behaviour", DefaultValueFactory = _ => ExplainOutput.Summary };
        var format = CliApp.OutputFormatOption();
        var inputFormat = FilterInput.FormatOption();
        var output = new Option<string?>("--output", "-o") { Description = "Write to FILE (atomically) instead of standard output" };
        var force = OutputFile.ForceOption();
        var partial = new Option<bool>("--partial") { Description = "With --to: write the policy even when it cannot express everything (the problems are still printed and the exit status is still 6)" };
        var forRuntime = OciOutput.ForOption(" (for --to oci)");
        var cmd = new Command("explain",
            "Read any valid filter or stack back to rules: for every ABI, each syscall's outcome as disjoint regions over\n" +
            "seccomp_data (nr, arch, the instruction pointer, each half of each argument), each with its action and the pc\n" +
            "of the ret that decided it. Found by exploring the program's paths symbolically (ALU, X, scratch memory and\n" +
            "JSET included); a comparison that is not a condition on one word, or a computed return value, is kept as an\n" +
            "opaque condition and reported as inexpressible, never dropped. A stack combines like the kernel (lowest\n" +
            "action wins, the newest filter on ties). Syscalls with the same outcome are grouped; numbers outside an\n" +
            "ABI's table are shown as ranges. ABIs treated like an unknown arch are folded into one line.\n\n" +
            "--to policy and --to oci write a policy that compiles to the same behaviour (checked by emulation at every\n" +
            "region boundary); what a policy cannot express is listed on standard error and the exit status is 6.\n\n" +
            "Exit codes: 0 done, 2 usage, 3 bad input, 4 output failed, 6 not expressible as a policy (with --to).\n" +
            "JSON (--format json): schema seccompkit-explain/1, described in docs/EXPLAIN.md.\n\n" +
            "Examples:\n" +
            "  seccompkit explain filter.bpf                          # the summary\n" +
            "  seccompkit explain docker-default.json --format json   # a profile, compiled then explained\n" +
            "  seccompkit explain filter.bpf --to policy -o app.policy\n" +
            "  seccompkit explain filter.bpf --to oci --for runc@1.1.5 -o profile.json\n" +
            "  sudo seccompkit explain pid:1234                       # the stack a process runs under")
        { input, to, format, inputFormat, output, force, partial, forRuntime };
        cmd.SetAction(parse =>
        {
            var target = parse.GetValue(output) is { } o ? OutputFile.Check(o, parse.GetValue(force)) : null;
            var loaded = FilterInput.Read(parse.GetRequiredValue(input), parse.GetValue(inputFormat), console);
            var explanation = AnalysisLimit.Named(loaded.Name, () => FilterExplainer.Explain(loaded.Stack));
            var mode = parse.GetValue(to);
            if (mode == ExplainOutput.Summary)
            {
                string text = parse.GetValue(format) == OutputFormat.Json ? ExplanationText.Json(explanation, AnalysisLimit.Named(loaded.Name, () => PolicyRecovery.Recover(explanation))) : ExplanationText.Text(explanation);
                Write(console, target, text);
                return ExitCodes.Success;
            }
            var recovered = AnalysisLimit.Named(loaded.Name, () => PolicyRecovery.Recover(explanation));
            foreach (var p in recovered.Problems)
                console.Error.WriteLine($"seccompkit: explain: {loaded.Name}: cannot express: {p}");
            bool exact = recovered.IsExact;
            if (recovered.Policy is null || (!exact && !parse.GetValue(partial)))
            {
                console.Error.WriteLine($"seccompkit: explain: {loaded.Name}: {recovered.Problems.Length} problem(s); nothing written (--partial writes the policy without them)");
                return ExitCodes.NotExpressible;
            }
            string result;
            if (mode == ExplainOutput.Policy) result = PolicyLanguage.Print(recovered.Policy);
            else
            {
                try { result = OciOutput.Export(recovered.Policy, OciOutput.Target(parse.GetValue(forRuntime), console, "explain"), console, "explain", quiet: true).Json; }
                catch (OciExportException e)
                {
                    console.Error.WriteLine($"seccompkit: explain: {loaded.Name}: the OCI target cannot express the recovered policy: {e.Message}");
                    return ExitCodes.NotExpressible;
                }
            }
            Write(console, target, result);
            return exact ? ExitCodes.Success : ExitCodes.NotExpressible;
        });
        return cmd;
    }

    private static void Write(ICliConsole console, OutputFile? target, string text)
    {
        if (target is null) console.Out.Write(text);
        else target.Write(console, text);
    }

}
