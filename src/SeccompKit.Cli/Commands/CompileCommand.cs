using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SeccompKit.Bpf;
using SeccompKit.Cli.Io;
using SeccompKit.Compiler;

namespace SeccompKit.Cli.Commands;

/// <summary>How <c>compile</c> writes the filter.</summary>
public enum CompileOutput
{
    /// <summary>Raw <c>struct sock_filter</c> array, as <c>seccomp_export_bpf</c> writes (host byte order).</summary>
    Bpf,
    /// <summary>The readable listing <c>seccompkit disasm</c> prints (assembles back to the same bytes).</summary>
    Text,
    /// <summary>A C-like view that reads like the policy.</summary>
    PseudoC,
}

/// <summary><c>seccompkit compile POLICY -o out.bpf</c>: a policy (OCI, Docker, or the policy language) to a BPF filter.</summary>
public static class CompileCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(ICliConsole console)
    {
        var file = new Argument<string>("POLICY") { Description = "Policy file: OCI linux.seccomp JSON (or config.json), a Docker/podman profile, or a .policy file; - for standard input" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to write the filter (- for standard output)" };
        var format = new Option<string>("--format") { Description = "bpf (raw, libseccomp-compatible), text (disasm listing), pseudo-c (reads like the policy)", DefaultValueFactory = _ => "bpf" };
        format.AcceptOnlyFromAmong("bpf", "text", "pseudo-c");
        var report = new Option<bool>("--report") { Description = "Print length, worst-case path and action-cache coverage per arch to standard output" };
        var reportJson = new Option<bool>("--report-json") { Description = "Like --report, as one JSON document" };
        var force = OutputFile.ForceOption();
        var noOptimize = new Option<bool>("--no-optimize") { Description = "Skip the optimisation passes (the output still means the same)" };
        var policy = new PolicyOptions();
        var cmd = new Command("compile",
            "Compile a policy to a seccomp BPF filter: arch dispatch, a binary search over runs of syscall numbers with\n" +
            "the same outcome, and 64-bit argument checks. Syscalls allowed whatever their arguments stay eligible for\n" +
            "the kernel's action cache. OCI and Docker input is read exactly as runc (and Docker) read it; what they\n" +
            "skip is reported on standard error.\n\n" +
            "Examples:\n" +
            "  seccompkit compile profile.json -o filter.bpf                 # OCI or Docker JSON, auto-detected\n" +
            "  seccompkit compile default.json --arch aarch64 --cap CAP_SYS_ADMIN -o arm.bpf\n" +
            "  seccompkit compile app.policy --format pseudo-c -o -          # read what the filter does\n" +
            "  seccompkit compile app.policy --report                        # length, paths, cached syscalls\n" +
            "  seccompkit compile app.policy -o app.bpf --report-json > report.json")
        { file, output, format, report, reportJson, noOptimize, force };
        foreach (var o in policy.All) cmd.Add(o);
        cmd.SetAction(parse =>
        {
            string path = parse.GetRequiredValue(file);
            string? outPath = parse.GetValue(output);
            bool wantReport = parse.GetValue(report) || parse.GetValue(reportJson);
            if (outPath is null && !wantReport)
                throw new CliInputException("say where the filter goes: -o FILE (or -o - for standard output), or ask only for --report", ExitCodes.Usage);
            if (outPath == "-" && wantReport)
                throw new CliInputException("the report goes to standard output, so the filter cannot: write it with -o FILE", ExitCodes.Usage);

            var target = outPath is null ? null : OutputFile.Check(outPath, parse.GetValue(force));
            var (p, _) = policy.Load(parse, path, console);
            var compiled = PolicyCompiler.Compile(p, new CompileOptions { Optimize = !parse.GetValue(noOptimize) });

            if (target is not null)
            {
                var fmt = parse.GetValue(format) switch { "text" => CompileOutput.Text, "pseudo-c" => CompileOutput.PseudoC, _ => CompileOutput.Bpf };
                byte[] bytes = fmt switch
                {
                    CompileOutput.Bpf => BpfProgram.ToRaw(compiled.Program.Instructions.AsSpan()),
                    CompileOutput.Text => System.Text.Encoding.UTF8.GetBytes(Disassembler.Disassemble(compiled.Program.Instructions.AsSpan(), CliApp.Symbols)),
                    _ => System.Text.Encoding.UTF8.GetBytes(PseudoCode.Render(compiled)),
                };
                if (target.IsStandardOutput && fmt == CompileOutput.Bpf && console.IsOutputTerminal)
                    throw new CliInputException("refusing to write a binary filter to a terminal; use -o FILE or --format text", ExitCodes.Usage);
                target.Write(console, bytes);
            }
            if (parse.GetValue(reportJson)) WriteJson(console, compiled);
            else if (wantReport) WriteText(console, compiled);
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static void WriteText(ICliConsole console, CompiledPolicy compiled)
    {
        var r = compiled.Report;
        var o = console.Out;
        o.WriteLine(FormattableString.Invariant($"length: {r.Length} instructions ({r.KernelLength} after the kernel's eBPF conversion; limit 4096 per filter)"));
        o.WriteLine(FormattableString.Invariant($"{"arch",-12} {"syscalls",8} {"mean path",9} {"worst path",10}  {"cached",-16} worst syscall"));
        foreach (var a in r.Abis)
        {
            string cached = a.KernelCaches ? $"{a.Cached.Length}/{a.CacheableByPolicy.Length}" : "not cached";
            o.WriteLine(FormattableString.Invariant($"{a.Abi.Name,-12} {a.Syscalls,8} {a.MeanPath,9:F2} {a.WorstPath,10}  {cached,-16} {a.WorstSyscall}"));
        }
        o.WriteLine("paths count instructions executed, taking the longer branch wherever arguments decide;");
        o.WriteLine("cached = syscalls the kernel's action cache skips the filter for / syscalls the policy allows whatever their arguments.");
        foreach (var a in r.Abis.Where(a => a.KernelCaches && a.Cached.Length != a.CacheableByPolicy.Length))
            o.WriteLine(FormattableString.Invariant($"{a.Abi.Name}: not cached although always allowed: {string.Join(" ", a.CacheableByPolicy.Except(a.Cached))}"));
    }

    private static void WriteJson(ICliConsole console, CompiledPolicy compiled)
    {
        var r = compiled.Report;
        var doc = new CompileReportJson(r.Length, r.KernelLength, [.. r.Abis.Select(a => new AbiReportJson(
            a.Abi.Name, a.Syscalls, Math.Round(a.MeanPath, 3), a.WorstPath, a.WorstSyscall, a.KernelCaches, a.Cached, a.CacheableByPolicy))]);
        console.Out.WriteLine(JsonSerializer.Serialize(doc, CliJsonContext.Default.CompileReportJson));
    }
}
