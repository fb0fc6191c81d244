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

/// <summary>The process's real console.</summary>
public sealed class SystemConsole : ICliConsole
{
    /// <summary>The single instance.</summary>
    public static readonly SystemConsole Instance = new();
    private SystemConsole() { }
    /// <inheritdoc />
    public TextWriter Out => Console.Out;
    /// <inheritdoc />
    public TextWriter Error => Console.Error;
    /// <inheritdoc />
    public Stream OpenStandardOutput() => Console.OpenStandardOutput();
    /// <inheritdoc />
    public Stream OpenStandardInput() => Console.OpenStandardInput();
    /// <inheritdoc />
    public bool IsOutputTerminal => !Console.IsOutputRedirected;
}

/// <summary>An input or output problem the user can fix; the message says how.</summary>
public sealed class CliInputException : SeccompException
{
    /// <summary>Creates the exception.</summary>
    public CliInputException(string message, int exitCode = ExitCodes.BadInput) : base(message) => ExitCode = exitCode;
    /// <summary>The exit status to use.</summary>
    public int ExitCode { get; }
}
