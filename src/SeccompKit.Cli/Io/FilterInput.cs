using System.Collections.Immutable;
using System.Text.RegularExpressions;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Linux.Inspect;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;

namespace SeccompKit.Cli.Io;

/// <summary>What kind of thing an input to <c>explain</c>, <c>lint</c>, <c>diff</c> or <c>graph</c> was.</summary>
public enum FilterInputKind
{
    /// <summary>A policy: OCI/Docker/podman JSON or the policy language; <see cref="FilterInput.Policy"/> holds it.</summary>
    Policy,
    /// <summary>One BPF program, raw or as <c>disasm</c> text.</summary>
    Program,
    /// <summary>A stack of programs: a directory <c>dump -o</c> wrote (<c>filter-N.bpf</c>, 0 the newest).</summary>
    SavedStack,
    /// <summary>The filters of a live process (<c>pid:N</c>), read as <c>dump</c> reads them.</summary>
    LiveProcess,
}

/// <summary>
/// One input of the analysis commands, whatever its format: a policy file, a BPF program, a saved stack, or a live
/// process. Every input has the filter stack the kernel would run (<see cref="NewestFirst"/>: a policy's is the one
/// filter <c>compile</c> makes of it); policies also keep the policy itself, with its source locations, for findings
/// that point into the file.
/// </summary>
public sealed partial class FilterInput
{
    // Io sits below the commands and CliApp (ArchitectureSpecs), so it keeps its own syscall names.
    private static readonly IBpfSymbols Symbols = new SeccompKit.Syscalls.SyscallSymbols();

    private FilterInput(string name, FilterInputKind kind, ImmutableArray<BpfProgram> newestFirst, LoadedPolicy? policy, string? policyText = null)
    {
        Name = name;
        Kind = kind;
        NewestFirst = newestFirst;
        Policy = policy;
        PolicyText = policyText;
    }

    /// <summary>How the user named it: the path, "-" for standard input, or <c>pid:N</c>.</summary>
    public string Name { get; }

    /// <summary>What it was.</summary>
    public FilterInputKind Kind { get; }

    /// <summary>The filters, newest first (the order the kernel runs them): one for a policy or a program file.</summary>
    public ImmutableArray<BpfProgram> NewestFirst { get; }

    /// <summary>The stack of <see cref="NewestFirst"/>.</summary>
    public FilterStack Stack => new(NewestFirst);

    /// <summary>The policy, for <see cref="FilterInputKind.Policy"/> inputs; null otherwise.</summary>
    public LoadedPolicy? Policy { get; }

    /// <summary>The text a policy input was read from (standard input can be read once only), for findings that quote or locate it; null otherwise.</summary>
    public string? PolicyText { get; }

    /// <summary>"policy (oci)", "BPF program (43 instructions)", "stack of 2 filters", "live process 1234 (2 filters)".</summary>
    public string Description => Kind switch
    {
        FilterInputKind.Policy => $"policy ({PolicyFile.FormatName(Policy!.Format)})",
        FilterInputKind.Program => $"BPF program ({NewestFirst[0].Length} instructions)",
        FilterInputKind.SavedStack => $"stack of {NewestFirst.Length} filter(s) saved by dump",
        _ => $"live process {Name[4..]} ({NewestFirst.Length} filter(s))",
    };

    /// <summary>The <c>--input-format</c> option of the analysis commands (explain, diff, lint, graph).</summary>
    public static System.CommandLine.Option<FilterInputFormat> FormatOption() => new("--input-format")
    {
        Description = "How INPUT is encoded: auto (NUL bytes: raw BPF; a BPF statement first, as disasm writes it: text; else a policy), raw, text, policy",
        DefaultValueFactory = _ => FilterInputFormat.Auto,
    };

    /// <summary>
    /// Reads <paramref name="spec"/>: <c>pid:N</c> reads the live process's filters (root, as <c>dump</c>); a directory is
    /// a stack <c>dump -o</c> saved; a file (or "-", standard input) is a raw BPF program when it contains a NUL byte,
    /// <c>disasm</c> text when its first statement is a BPF instruction, and a policy otherwise (JSON: OCI, Docker or
    /// podman; text: the policy language). <paramref name="format"/> forces the choice.
    /// </summary>
    /// <exception cref="CliInputException">The input cannot be read or is not a valid filter or policy; the message says which and why.</exception>
    /// <exception cref="PolicyException">A policy input is not a valid policy (file:line or JSON path in the message).</exception>
    public static FilterInput Read(string spec, FilterInputFormat format, ICliConsole console)
    {
        if (spec.StartsWith("pid:", StringComparison.Ordinal))
        {
            if (!int.TryParse(spec.AsSpan(4), out int pid) || pid <= 0)
                throw new CliInputException($"{spec}: expected pid:N with N a process id (e.g. pid:1234)", ExitCodes.Usage);
            if (format != FilterInputFormat.Auto)
                throw new CliInputException($"{spec}: --input-format does not apply to a live process", ExitCodes.Usage);
            // As `dump PID` reads them, with its exit codes (no such process 66, permission denied 77, refused 75).
            var dump = LiveFilters.Read(pid, new FilterDumpOptions { StopTimeout = FilterDump.DefaultStopTimeout });
            var filters = dump.Filters.Select((f, i) => Validate(f.AsSpan(), $"{spec} filter {i}")).ToList();
            if (filters.Count == 0)
                throw new CliInputException($"{spec}: process {pid} has no seccomp filter");
            return new FilterInput(spec, FilterInputKind.LiveProcess, [.. filters], null);
        }
        if (spec != "-" && Directory.Exists(spec)) return ReadSavedStack(spec, format, console);

        string? text = null;
        if (format is FilterInputFormat.Auto or FilterInputFormat.Policy)
        {
            byte[] bytes = ProgramInput.ReadBytes(spec, console);
            bool binary = Array.IndexOf(bytes, (byte)0) >= 0;
            if (format == FilterInputFormat.Policy || (!binary && !LooksLikeBpfText(text = DecodeText(bytes, spec))))
            {
                text ??= DecodeText(bytes, spec);
                var loaded = PolicyFile.Parse(text, PolicyInput.FileName(spec));
                PolicyInput.Report(loaded.Diagnostics, spec, console, quiet: true);
                var compiled = PolicyCompiler.Compile(loaded.Policy);
                return new FilterInput(spec, FilterInputKind.Policy, [compiled.Program], loaded, text);
            }
            var program = binary ? ParseRaw(bytes, spec) : AssembleText(text!, spec);
            return new FilterInput(spec, FilterInputKind.Program, [Validate(program, spec)], null);
        }
        var instructions = ProgramInput.Read(spec, format == FilterInputFormat.Raw ? InputFormat.Raw : InputFormat.Text, console, Symbols);
        return new FilterInput(spec, FilterInputKind.Program, [Validate(instructions, spec)], null);
    }

    private static FilterInput ReadSavedStack(string dir, FilterInputFormat format, ICliConsole console)
    {
        if (format is not (FilterInputFormat.Auto or FilterInputFormat.Raw))
            throw new CliInputException($"{dir}: a directory is read as the raw filter-N.bpf files dump -o writes; leave out --input-format or give raw", ExitCodes.Usage);
        var files = Directory.GetFiles(dir)
            .Select(f => (Path: f, Match: SavedFilterName().Match(Path.GetFileName(f))))
            .Where(f => f.Match.Success)
            // Numbers too large for an int (filter-99999999999.bpf) sort last and are then reported as a gap.
            .OrderBy(f => int.TryParse(f.Match.Groups[1].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : int.MaxValue)
            .ThenBy(f => f.Match.Groups[1].Value, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new CliInputException($"{dir}: a directory input must hold the filter-N.bpf files `seccompkit dump PID -o DIR` writes (filter-0.bpf is the newest); none found");
        for (int i = 0; i < files.Count; i++)
            if (files[i].Match.Groups[1].Value != i.ToString(System.Globalization.CultureInfo.InvariantCulture))
                throw new CliInputException($"{dir}: filter-{i}.bpf is missing (the files must be numbered 0, 1, 2... without gaps, 0 the newest)");
        var programs = files.Select(f => Validate(ProgramInput.Read(f.Path, InputFormat.Raw, console, Symbols), f.Path)).ToImmutableArray();
        return new FilterInput(dir, FilterInputKind.SavedStack, programs, null);
    }

    [GeneratedRegex(@"^filter-(\d+)\.bpf$")]
    private static partial Regex SavedFilterName();

    private static string DecodeText(byte[] bytes, string spec)
    {
        if (bytes.Length == 0)
            throw new CliInputException($"{spec}: the file is empty; expected a policy (OCI/Docker JSON or the policy language) or a BPF program");
        try { return new System.Text.UTF8Encoding(false, true).GetString(bytes); }
        catch (System.Text.DecoderFallbackException)
        {
            throw new CliInputException($"{spec}: not UTF-8 text and contains no NUL byte; if it is a raw BPF program, pass --input-format raw");
        }
    }

    /// <summary>
    /// Whether the first statement of <paramref name="text"/> (comments, blank lines and label lines skipped) is a BPF
    /// statement as <c>disasm</c> writes it (readable: <c>0: A = arch</c>, <c>if (A == openat) goto L5</c>,
    /// <c>return ALLOW</c>; raw: <c>{ 0x20, 0, 0, 0x4 }</c>), rather than a policy-language statement. No policy
    /// statement starts with <c>A</c>, <c>X</c> or <c>M[n]</c> and an assignment, <c>if (</c>, <c>goto</c> or <c>return</c>.
    /// </summary>
    public static bool LooksLikeBpfText(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw;
            int hash = line.IndexOf('#');
            if (hash >= 0) line = line[..hash];
            int slash = line.IndexOf("//", StringComparison.Ordinal);
            if (slash >= 0) line = line[..slash];
            line = line.Trim();
            if (line.Length == 0 || LabelLine().IsMatch(line)) continue;
            return BpfStatement().IsMatch(line);
        }
        return false;
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*:$")]
    private static partial Regex LabelLine();

    // An optional "12:" pc or "label:" prefix, then an assignment to A, X or M[n], a conditional or plain jump, a
    // return, or the raw { code, jt, jf, k } form.
    [GeneratedRegex(@"^(?:[A-Za-z0-9_]+:\s*)?(?:\{\s*(?:0x[0-9a-fA-F]+|\d+)\s*,|(?:A|X|M\s*\[\s*\d+\s*\])\s*(?:[-+*/%&|^]|<<|>>)?=|if\s*\(|goto\s|return\b)")]
    private static partial Regex BpfStatement();

    private static Instruction[] ParseRaw(byte[] bytes, string spec)
    {
        try { return BpfProgram.ParseRaw(bytes); }
        catch (BpfFormatException e) { throw new CliInputException($"{spec}: {e.Message} (read as a raw BPF program because it contains NUL bytes; pass --input-format text or policy if it is not)"); }
    }

    private static Instruction[] AssembleText(string text, string spec)
    {
        try { return Assembler.Assemble(text, Symbols); }
        catch (BpfFormatException e) { throw new CliInputException($"{spec}: {e.Message}"); }
    }

    private static BpfProgram Validate(ReadOnlySpan<Instruction> instructions, string spec)
    {
        if (!BpfProgram.TryCreate(instructions, out var program, out var error))
            // Not FilterRefused (1): for diff and lint, 1 means differences and findings. A filter the kernel refuses is bad input.
            throw new CliInputException($"{spec}: the kernel would refuse this filter: {error}", ExitCodes.BadInput);
        return program!;
    }

}

/// <summary>How an analysis input is encoded (<c>--input-format</c>).</summary>
public enum FilterInputFormat
{
    /// <summary>Decide from the content (see <see cref="FilterInput.Read"/>).</summary>
    Auto,
    /// <summary>A raw BPF program (8-byte <c>struct sock_filter</c> entries).</summary>
    Raw,
    /// <summary>A BPF program as <c>disasm</c> text.</summary>
    Text,
    /// <summary>A policy: OCI/Docker/podman JSON or the policy language.</summary>
    Policy,
}
