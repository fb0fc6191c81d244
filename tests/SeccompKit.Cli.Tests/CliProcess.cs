namespace SeccompKit.Cli.Tests;

/// <summary>Runs the real seccompkit binary (the JIT apphost beside the tests) as a user would, in a directory.</summary>
internal static class CliProcess
{
    /// <summary>The CLI under test.</summary>
    public static string Path { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli");

    /// <summary>Runs <c>seccompkit ARGS</c> in <paramref name="cwd"/> with standard input closed; fails the test after two minutes.</summary>
    public static ProcessResult Run(string cwd, params string[] args) => Run(cwd, TimeSpan.FromMinutes(2), args);

    /// <summary>Runs <c>seccompkit ARGS</c> in <paramref name="cwd"/>; killed (TimeoutException) after <paramref name="timeout"/>.</summary>
    public static ProcessResult Run(string cwd, TimeSpan timeout, params string[] args) =>
        ChildProcess.Run(Path, args, new ProcessOptions { WorkingDirectory = cwd, Timeout = timeout });

    /// <summary>Runs another program the tests build (e.g. the library sample) the same way.</summary>
    public static ProcessResult RunProgram(string program, string cwd, TimeSpan timeout, params string[] args) =>
        ChildProcess.Run(program, args, new ProcessOptions { WorkingDirectory = cwd, Timeout = timeout });
}
