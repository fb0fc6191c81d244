namespace SeccompKit.Cli.Io;

/// <summary>Words of a command line the user can paste back into a shell.</summary>
internal static class ShellWords
{
    /// <summary>A word as a POSIX shell reads it back: bare when safe, else in single quotes.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";
}
