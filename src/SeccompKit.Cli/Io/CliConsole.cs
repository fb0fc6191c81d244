using SeccompKit.Analysis;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Cli.Io;

/// <summary>The streams a command uses, so tests can run the tool in-process.</summary>
public interface ICliConsole
{
    /// <summary>Data output (text).</summary>
    TextWriter Out { get; }
    /// <summary>Diagnostics.</summary>
    TextWriter Error { get; }
    /// <summary>Binary data output (the same stream as <see cref="Out"/>).</summary>
    Stream OpenStandardOutput();
    /// <summary>Standard input, for a FILE argument of <c>-</c>.</summary>
    Stream OpenStandardInput();
    /// <summary>True when standard output is a terminal (binary output is refused there).</summary>
    bool IsOutputTerminal { get; }
}

/// <summary>
/// The process's real console. A standard stream that was closed at start and that the runtime took before Main
/// (<see cref="StandardStreams"/>) is treated as closed: writes are dropped and input is empty. Diagnostics never
/// fail: a standard error that cannot be written (EBADF, EIO on a hung-up terminal) drops them rather than turning
/// an error report into a crash. A broken pipe needs nothing here: .NET's console ignores EPIPE (SIGPIPE is ignored
/// by the runtime), so <c>seccompkit disasm f.bpf | head -1</c> ends normally with its own exit status.
/// </summary>
public sealed class SystemConsole : ICliConsole
{
    /// <summary>The single instance.</summary>
    public static readonly SystemConsole Instance = new();
    private readonly TextWriter _error = new DiagnosticWriter(() => StandardStreams.IsUsable(2) ? Console.Error : TextWriter.Null);
    private SystemConsole() { }
    /// <inheritdoc />
    public TextWriter Out => StandardStreams.IsUsable(1) ? Console.Out : TextWriter.Null;
    /// <inheritdoc />
    public TextWriter Error => _error;
    /// <inheritdoc />
    public Stream OpenStandardOutput() => StandardStreams.IsUsable(1) ? Console.OpenStandardOutput() : Stream.Null;
    /// <inheritdoc />
    public Stream OpenStandardInput() => StandardStreams.IsUsable(0) ? Console.OpenStandardInput() : Stream.Null;
    /// <inheritdoc />
    public bool IsOutputTerminal => StandardStreams.IsUsable(1) && !Console.IsOutputRedirected;

    /// <summary>
    /// Standard error through .NET's console; when that cannot start (no descriptor or thread left for its set-up:
    /// Win32Exception) the text goes to descriptor 2 with write(2) directly; what cannot be written at all is dropped
    /// (the exit status still says what happened).
    /// </summary>
    private sealed class DiagnosticWriter(Func<TextWriter> inner) : TextWriter
    {
        private bool _raw;
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
        public override void Write(char value) => Try(w => w.Write(value), value.ToString());
        public override void Write(string? value) => Try(w => w.Write(value), value);
        public override void Write(char[] buffer, int index, int count) => Try(w => w.Write(buffer, index, count), new string(buffer, index, count));
        public override void WriteLine(string? value) => Try(w => w.WriteLine(value), value + "\n");
        public override void WriteLine() => Try(w => w.WriteLine(), "\n");
        public override void Flush() => Try(w => w.Flush(), null);

        private void Try(Action<TextWriter> write, string? text)
        {
            if (!_raw)
            {
                // EBADF surfaces as UnauthorizedAccessException ("Access to the path is denied"), other errnos as IOException.
                try { write(inner()); return; }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
                catch (System.ComponentModel.Win32Exception) { _raw = true; }
            }
            if (text is not null) StandardStreams.WriteError(text);
        }
    }
}

/// <summary>An input or output problem the user can fix; the message says how.</summary>
public sealed class CliInputException : SeccompException
{
    /// <summary>Creates the exception.</summary>
    public CliInputException(string message, int exitCode = ExitCodes.BadInput) : base(message) => ExitCode = exitCode;
    /// <summary>The exit status to use.</summary>
    public int ExitCode { get; }
}

/// <summary>Analyses (explain, diff, lint of a filter) whose work bound was passed, refused naming the input.</summary>
public static class AnalysisLimit
{
    /// <summary>Runs <paramref name="analyse"/>; its <see cref="AnalysisLimitException"/> becomes exit 3 naming <paramref name="input"/>.</summary>
    /// <exception cref="CliInputException">The analysis passed its work bound.</exception>
    public static T Named<T>(string input, Func<T> analyse)
    {
        ArgumentNullException.ThrowIfNull(analyse);
        try { return analyse(); }
        catch (AnalysisLimitException e) { throw new CliInputException($"{input}: {e.Message}"); }
    }
}
