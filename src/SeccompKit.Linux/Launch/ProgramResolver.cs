namespace SeccompKit.Linux.Launch;

/// <summary>Finds a program the way execvp(3) does, so that errors can be reported before anything is started.</summary>
public static class ProgramResolver
{
    /// <summary>execvp's search path when PATH is unset (glibc: confstr(_CS_PATH)).</summary>
    public const string DefaultPath = "/bin:/usr/bin";

    private const int X_OK = 1;

    /// <summary>
    /// The absolute or relative path execve should get for <paramref name="program"/>: itself when it contains a
    /// slash, else the first executable regular file named so in <c>PATH</c>. Throws <see cref="LaunchException"/>
    /// (ProgramNotFound or ProgramNotExecutable) with advice.
    /// </summary>
    public static string Resolve(string program, string? path = null)
    {
        if (string.IsNullOrEmpty(program))
            throw new LaunchException(LaunchFailure.ProgramNotFound, "no program given: name one after --");
        if (program.Contains('/'))
        {
            CheckExecutable(program, program);
            return program;
        }
        path ??= Environment.GetEnvironmentVariable("PATH") ?? DefaultPath;
        string? firstDenied = null;
        foreach (var dir in path.Split(':'))
        {
            // An empty PATH element means the current directory (execvp(3)).
            var candidate = Path.Combine(dir.Length == 0 ? "." : dir, program);
            if (!File.Exists(candidate)) continue;
            if (access(candidate, X_OK) == 0) return candidate;
            firstDenied ??= candidate;
        }
        if (firstDenied is not null)
            throw new LaunchException(LaunchFailure.ProgramNotExecutable, $"{firstDenied}: found on PATH but not executable (chmod +x it, or give another path)", Errno.EACCES);
        throw new LaunchException(LaunchFailure.ProgramNotFound, $"{program}: command not found on PATH ({path}); give a path such as ./{program} or /usr/bin/{program}", Errno.ENOENT);
    }

    private static void CheckExecutable(string given, string path)
    {
        if (Directory.Exists(path))
            throw new LaunchException(LaunchFailure.ProgramNotExecutable, $"{given}: is a directory, not a program", (Errno)21);
        if (!File.Exists(path))
            throw new LaunchException(LaunchFailure.ProgramNotFound, $"{given}: no such file", Errno.ENOENT);
        if (access(path, X_OK) != 0)
            throw new LaunchException(LaunchFailure.ProgramNotExecutable, $"{given}: not executable (permission denied; chmod +x it, or check the mount is not noexec)", Errno.EACCES);
    }

    private static int access(string path, int mode) => Interop.Proc.access(path, mode);
}
