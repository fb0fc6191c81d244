using System.Collections.Immutable;
using SeccompKit.Policy;
using SeccompKit.Policy.Files;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Io;

/// <summary>The command line's side of reading policy files: standard input, --arch values, printing the reader's notes.</summary>
public static class PolicyInput
{
    /// <summary>Reads <paramref name="path"/> ("-" = standard input) and loads it (<see cref="PolicyFile.Parse"/>).</summary>
    public static LoadedPolicy Load(string path, PolicyFileOptions options, ICliConsole console) =>
        PolicyFile.Parse(ReadText(path, console), FileName(path), options);

    /// <summary>How errors name standard input ("-").</summary>
    public const string StandardInputName = "standard input";

    /// <summary>The file <paramref name="path"/> names for <see cref="PolicyFile"/>: null for standard input ("-").</summary>
    public static string? FileName(string path) => path == "-" ? null : path;

    /// <summary>Writes the notes to standard error, one per line.</summary>
    public static void Report(ImmutableArray<PolicyDiagnostic> diagnostics, string path, ICliConsole console, bool quiet)
    {
        foreach (var d in diagnostics)
        {
            if (quiet && d.Severity == DiagnosticSeverity.Info) continue;
            console.Error.WriteLine($"seccompkit: {path}: {d}");
        }
    }

    /// <summary>Reads a policy file or standard input ("-") as text.</summary>
    /// <exception cref="PolicyFileException">The file cannot be read (the message names it and says why).</exception>
    public static string ReadText(string path, ICliConsole console)
    {
        if (path != "-") return PolicyFile.Read(path);
        using var stdin = console.OpenStandardInput();
        try { return InputFile.ReadStreamText(stdin, StandardInputName); }
        catch (InputFileException e) { throw new PolicyFileException(e.File, e.Reason); }
    }

    /// <summary>Parses an --arch value.</summary>
    public static Architecture ParseArch(string name)
    {
        if (Architecture.TryGet(name, out var a)) return a;
        try { return Architecture.Get(name); }
        catch (SeccompException e) { throw new CliInputException($"--arch: {e.Message}", ExitCodes.Usage); }
    }
}
