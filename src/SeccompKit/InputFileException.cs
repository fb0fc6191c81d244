namespace SeccompKit;

/// <summary>
/// An input file that cannot be read within <see cref="InputFile"/>'s limits: missing, a directory, not readable, too
/// large, endless, or too many open files. The message is <c>file: reason</c>.
/// </summary>
public sealed class InputFileException : SeccompException
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public InputFileException(string file, string reason) : base($"{file}: {reason}")
    {
        File = file;
        Reason = reason;
    }

    /// <summary>The file as it was named (or "standard input").</summary>
    public string File { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Reason { get; }
}
