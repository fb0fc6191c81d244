using System.Text;
using SeccompKit.Agent;
using SeccompKit.Analysis;
using SeccompKit.Analysis.Diff;
using SeccompKit.Analysis.Graph;
using SeccompKit.Analysis.Lint;
using SeccompKit.Bpf;
using SeccompKit.Cli;
using SeccompKit.Cli.Io;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Fuzz;

/// <summary>
/// A check the fuzzer makes beyond "no unexpected exception" failed: a reader's output that its own reader refuses
/// (a printed policy that does not parse, an exported profile that does not import, a listing that does not assemble to
/// the same program), a merge that fails its verification, or an internal error exit from the command line.
/// </summary>
public sealed class FuzzCheckException(string message) : Exception(message);

/// <summary>A reader and the steps after reading, run on one input.</summary>
/// <param name="Name">Short name, as reports and <c>--targets</c> use it.</param>
/// <param name="Kinds">The seed kinds it draws inputs from.</param>
/// <param name="Weight">Its share of the inputs (relative).</param>
/// <param name="Run">Runs one input; returns normally when it was accepted, throws a <see cref="SeccompException"/> when it was refused.</param>
/// <param name="InputName">The name the input goes by in error messages, which must name it ('|' between alternatives; null: the reader takes no name).</param>
public sealed record Target(string Name, SeedKind[] Kinds, int Weight, Action<byte[], Random> Run, string? InputName);

/// <summary>The readers and the command line, each as a <see cref="Target"/>.</summary>
public sealed class Targets
{
    private static readonly IBpfSymbols Symbols = new SyscallSymbols();
    private readonly Corpus _corpus;
    private readonly string _repo;
    private readonly string _work;
    private readonly List<BpfProgram> _seedPrograms = [];
    private readonly Dictionary<BpfProgram, FilterExplanation> _seedExplanations = [];
    private readonly Dictionary<string, SeccompPolicy?> _seedPolicies = [];

    /// <summary>The input names errors must mention.</summary>
    public const string PolicyJsonName = "fuzz/input.json", PolicyTextName = "fuzz/input.policy", AgentConfigName = "agent-config.json";

    /// <summary>Creates the targets; <paramref name="work"/> is a scratch directory for the CLI's second input files.</summary>
    public Targets(Corpus corpus, string repo, string work)
    {
        _corpus = corpus;
        _repo = repo;
        _work = work;
        foreach (var s in corpus.Of(SeedKind.BpfRaw))
            if (BpfProgram.TryCreate(BpfProgram.ParseRaw(s.Bytes), out var p, out _)) _seedPrograms.Add(p!);
        All =
        [
            new("policy", [SeedKind.PolicyJson, SeedKind.PolicyText], 30, Policy, "fuzz/input"),
            // merge names its inputs by position ("input 1: ..."), as the command line lists them.
            new("merge", [SeedKind.PolicyJson, SeedKind.PolicyText], 4, Merge, "fuzz/input|input 1|input 2"),
            new("bpf-raw", [SeedKind.BpfRaw], 20, (b, r) => Bpf(b, r, raw: true), null),
            new("bpf-text", [SeedKind.BpfText], 20, (b, r) => Bpf(b, r, raw: false), null),
            new("agent-payload", [SeedKind.AgentPayload], 8, AgentPayloadTarget, null),
            new("agent-config", [SeedKind.AgentConfig], 4, AgentConfigTarget, AgentConfigName),
            // The second file of diff and merge is a seed written under the work directory: a message may name it.
            new("cli", [SeedKind.PolicyJson, SeedKind.PolicyText, SeedKind.BpfRaw, SeedKind.BpfText], 8, Cli, "-:|<stdin>|standard input|" + work),
        ];
    }

    /// <summary>Every target.</summary>
    public IReadOnlyList<Target> All { get; }

    /// <summary>Lossy UTF-8 with byte-order-mark detection, as <see cref="InputFile.ReadAllText(string)"/> decodes files.</summary>
    private static string Decode(byte[] bytes)
    {
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    private LoadedPolicy ParsePolicy(string text)
    {
        var format = PolicyFile.Detect(text);
        if (format == PolicyFormat.Policy)
        {
            // Includes from memory: a mutated include must not make the fuzzer read the machine's files.
            var resolver = new InMemoryIncludeResolver(new Dictionary<string, string> { ["/fuzz/inc.policy"] = "allow { read }\n" });
            return new LoadedPolicy(PolicyFormat.Policy, PolicyLanguage.Parse(text, "/" + PolicyTextName, resolver), []);
        }
        return PolicyFile.Parse(text, PolicyJsonName, new PolicyFileOptions
        {
            Format = format,
            // A fixed kernel release: the result must not depend on the machine the campaign runs on.
            Kernel = format is PolicyFormat.Docker or PolicyFormat.Podman ? "6.8.0" : null,
        });
    }

    /// <summary>Parse, compile (optimised or not), print and re-read, export to OCI and re-import, render, lint.</summary>
    private void Policy(byte[] input, Random rng)
    {
        var loaded = ParsePolicy(Decode(input));
        var policy = loaded.Policy;
        var compiled = PolicyCompiler.Compile(policy, new CompileOptions { Optimize = rng.Next(4) != 0 });
        _ = compiled.Program.Instructions.Length;
        string printed = PolicyLanguage.Print(policy);
        try { PolicyLanguage.Parse(printed, "printed.policy"); }
        catch (SeccompException e) { throw new FuzzCheckException($"the policy printed from an accepted input does not parse: {e.Message}\n--- printed ---\n{Head(printed)}"); }
        OciExport? export = null;
        try { export = OciExporter.Export(policy, OciTarget.Default); }
        catch (OciExportException) { } // a policy OCI cannot express: refused with a message, as convert does
        if (export is not null)
        {
            try { OciImporter.Import(export.Json); }
            catch (SeccompException e) { throw new FuzzCheckException($"the OCI profile exported from an accepted input does not import: {e.Message}\n--- exported ---\n{Head(export.Json)}"); }
        }
        if (rng.Next(4) == 0) _ = PseudoCode.Render(compiled);
        if (rng.Next(2) == 0) _ = PolicyLinter.Lint(new LintInput(policy));
    }

    private static string Head(string s) => s.Length > 4000 ? s[..4000] + "..." : s;

    /// <summary>The union of the mutated policy and an unmutated seed, verified by emulation as <c>merge</c> does.</summary>
    private void Merge(byte[] input, Random rng)
    {
        var a = ParsePolicy(Decode(input)).Policy;
        var seed = _corpus.OfKind(rng.Next(2) == 0 ? SeedKind.PolicyJson : SeedKind.PolicyText, rng);
        // The seed is read once per campaign (policies are immutable): reading a Docker profile costs milliseconds.
        SeccompPolicy? b;
        lock (_seedPolicies)
        {
            if (!_seedPolicies.TryGetValue(seed.Name, out b))
            {
                try { b = ParsePolicy(Decode(seed.Bytes)).Policy; }
                catch (SeccompException) { b = null; }
                _seedPolicies[seed.Name] = b;
            }
        }
        if (b is null) return;
        var inputs = rng.Next(2) == 0 ? new[] { a, b } : [b, a];
        var merged = PolicyMerger.Union(inputs);
        var verification = MergeVerifier.Verify(merged);
        if (!verification.Verified)
            throw new FuzzCheckException($"merge is not verified ({verification.Mismatches} mismatches): {string.Join("; ", verification.Examples.Take(3))}");
    }

    /// <summary>
    /// Read (raw records or a listing), disassemble both ways and re-assemble (the same instructions), validate; for a
    /// valid program run the interpreter on sample calls, explain it, recover a policy, lint it, draw it, and diff it
    /// against a seed program.
    /// </summary>
    private void Bpf(byte[] input, Random rng, bool raw)
    {
        var ins = raw ? BpfProgram.ParseRaw(input) : Assembler.Assemble(Decode(input), Symbols);
        if (!BpfProgram.TryCreate(ins, out var program, out var error))
        {
            _ = error!.ToString();
            _ = Disassembler.Disassemble(ins, Symbols); // disasm prints programs the kernel would refuse too
            return;
        }
        string text = Disassembler.Disassemble(ins, Symbols);
        string rawText = Disassembler.DisassembleRaw(ins);
        RoundTrip(ins, text, "disasm");
        RoundTrip(ins, rawText, "disasm --raw");
        _ = BpfProgram.ToRaw(ins);
        for (int i = 0; i < 4; i++)
        {
            var data = new SeccompData(rng.Next(3) == 0 ? rng.Next() : rng.Next(-1, 460), rng.Next(2) == 0 ? 0xc000003eu : (uint)rng.NextInt64(1L << 32),
                (ulong)rng.NextInt64(), (ulong)rng.NextInt64(), 0, ulong.MaxValue, (ulong)rng.Next(), 1UL << 32, 0x80000000);
            _ = Interpreter.Run(program!, data, trace: rng.Next(2) == 0);
        }
        // Explain and what builds on it are the costly steps (milliseconds, against microseconds for reading): one valid
        // program in 6 goes on, one in 48 above 512 instructions, so that a campaign reaches many inputs.
        if (rng.Next(6) != 0 || (program!.Length > 512 && rng.Next(8) != 0)) return;
        FilterExplanation explanation;
        try { explanation = FilterExplainer.Explain(program); }
        catch (AnalysisLimitException) { return; } // refused with a message, as explain does
        _ = ExplanationText.Text(explanation);
        switch (rng.Next(4))
        {
            case 0:
                var recovered = PolicyRecovery.Recover(explanation);
                if (recovered.Policy is { } p)
                {
                    string printed = PolicyLanguage.Print(p);
                    try { PolicyLanguage.Parse(printed, "recovered.policy"); }
                    catch (SeccompException e) { throw new FuzzCheckException($"the policy explain recovered does not parse: {e.Message}\n--- printed ---\n{Head(printed)}"); }
                }
                break;
            case 1: _ = PolicyLinter.LintFilter(new FilterStack([program]), "fuzz.bpf"); break;
            case 2: _ = FilterGraph.Build([program], Symbols).ToDot(); break;
            default:
                if (_seedPrograms.Count > 0)
                {
                    var other = _seedPrograms[rng.Next(_seedPrograms.Count)];
                    FilterExplanation otherExplained;
                    lock (_seedExplanations)
                        if (!_seedExplanations.TryGetValue(other, out otherExplained!)) _seedExplanations[other] = otherExplained = FilterExplainer.Explain(other);
                    _ = FilterDiff.Text(FilterDiff.Compare(explanation, otherExplained));
                }
                break;
        }
    }

    private static void RoundTrip(Instruction[] ins, string text, string how)
    {
        Instruction[] back;
        try { back = Assembler.Assemble(text, Symbols); }
        catch (SeccompException e) { throw new FuzzCheckException($"the {how} listing of a valid program does not assemble: {e.Message}\n--- listing ---\n{Head(text)}"); }
        if (!back.AsSpan().SequenceEqual(ins))
            throw new FuzzCheckException($"the {how} listing of a valid program assembles to a different program\n--- listing ---\n{Head(text)}");
    }

    /// <summary>The agent's reading of a runtime's message, and of the mode its listenerMetadata names.</summary>
    private static void AgentPayloadTarget(byte[] input, Random rng)
    {
        var payload = AgentPayload.Parse(input);
        // The captured payloads carry listenerMetadata "hello-metadata", which names no mode: the agent refuses the
        // container, not the payload, so the payload still counts as read.
        try { _ = ContainerMode.Parse(payload.Metadata, rng.Next(2) == 0 ? null : ContainerMode.Parse("learn", null)); }
        catch (ContainerModeException) { }
    }

    /// <summary>An agent configuration, read beside the corpus (its profiles name corpus files) and its rulesets.</summary>
    private void AgentConfigTarget(byte[] input, Random rng)
    {
        var config = AgentConfig.Parse(Decode(input), Path.Combine(_repo, "bench", "fuzz", "corpus", AgentConfigName));
        _ = RulesetSpec.FromConfig(config);
    }

    private static readonly string[][] PolicyCommands =
    [
        ["compile", "-"], ["compile", "-", "--format", "text"], ["compile", "-", "--report"], ["convert", "-", "--to", "policy"],
        ["convert", "-", "--to", "oci"], ["lint", "-"], ["lint", "-", "--format", "sarif"], ["explain", "-"],
        ["explain", "-", "--to", "policy"], ["graph", "-", "--format", "dot"], ["diff", "-", "@seed"], ["merge", "-", "@seed"],
    ];

    private static readonly string[][] ProgramCommands =
    [
        ["check", "-"], ["disasm", "-"], ["disasm", "-", "--raw"], ["asm", "-"], ["explain", "-"], ["explain", "-", "--to", "oci"],
        ["lint", "-"], ["graph", "-", "--format", "dot"], ["emulate", "-", "--syscall", "openat", "--args", "0,0x41"],
        ["diff", "-", "@seed"],
    ];

    /// <summary>
    /// The command line in-process, on standard input: the commands a user runs on such a file. Exit 70 (internal
    /// error) is a finding; so is any exception that escapes <see cref="CliApp.Run"/>.
    /// </summary>
    private void Cli(byte[] input, Random rng)
    {
        bool program = input.AsSpan().IndexOf((byte)0) >= 0 || FilterInput.LooksLikeBpfText(Decode(input));
        var pick = (program ? ProgramCommands : PolicyCommands)[rng.Next(program ? ProgramCommands.Length : PolicyCommands.Length)];
        var args = pick.Select(a => a == "@seed" ? SeedFile(program ? SeedKind.BpfRaw : SeedKind.PolicyJson, rng) : a).ToArray();
        if (Environment.GetEnvironmentVariable("SECCOMPKIT_FUZZ_VERBOSE") == "1") Console.Error.WriteLine($"cli: seccompkit {string.Join(' ', args)}");
        var console = new CapturingConsole(input);
        int exit = CliApp.Run(args, console);
        string err = console.ErrorText;
        if (exit == ExitCodes.InternalError || err.Contains("internal error", StringComparison.Ordinal))
            throw new FuzzCheckException($"seccompkit {string.Join(' ', args)}: exit {exit}\n{err}");
        if (exit == ExitCodes.BadInput) throw new CliRefusal(err);
    }

    private readonly Dictionary<string, string> _seedFiles = [];

    private string SeedFile(SeedKind kind, Random rng)
    {
        var seed = _corpus.OfKind(kind, rng);
        lock (_seedFiles)
        {
            if (_seedFiles.TryGetValue(seed.Name, out var path)) return path;
            path = Path.Combine(_work, $"seed-{_seedFiles.Count}{(kind == SeedKind.BpfRaw ? ".bpf" : ".json")}");
            File.WriteAllBytes(path, seed.Bytes);
            return _seedFiles[seed.Name] = path;
        }
    }
}

/// <summary>The command line refused the input (exit 3); the message is its standard error.</summary>
public sealed class CliRefusal(string message) : SeccompException(message);

/// <summary>An <see cref="ICliConsole"/> with standard input from memory and the output kept.</summary>
public sealed class CapturingConsole(byte[] stdin) : ICliConsole
{
    private readonly StringWriter _error = new();

    /// <inheritdoc/>
    public TextWriter Out { get; } = new StringWriter();
    /// <inheritdoc/>
    public TextWriter Error => _error;
    /// <summary>What was written to standard error.</summary>
    public string ErrorText => _error.ToString();
    /// <inheritdoc/>
    public Stream OpenStandardOutput() => new MemoryStream();
    /// <inheritdoc/>
    public Stream OpenStandardInput() => new MemoryStream(stdin, writable: false);
    /// <inheritdoc/>
    public bool IsOutputTerminal => false;
}
