namespace SeccompKit.Cli.Io;

/// <summary>Writes a command's text result where <c>-o</c> says.</summary>
internal static class TextOutput
{
    /// <summary>Writes <paramref name="text"/> to standard output (<paramref name="path"/> null or <c>-</c>) or to the file; a failure to write is exit code <see cref="ExitCodes.OutputFailed"/>.</summary>
    public static void Write(ICliConsole console, string? path, string text)
    {
        if (path is null or "-")
        {
            console.Out.Write(text);
            return;
        }
        try { File.WriteAllText(path, text); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliInputException($"{path}: cannot write: {e.Message}", ExitCodes.OutputFailed);
        }
    }
}
