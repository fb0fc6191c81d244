using System.Diagnostics;

namespace SeccompKit.Cli.Tests;

/// <summary>The built seccompkit binary run as a child process (for commands that launch programs: learn, run --complain).</summary>
internal static class CliProcess
{
    /// <summary>The apphost next to the test assembly.</summary>
    public static string Path { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli");

    /// <summary>Runs <c>seccompkit ARGS</c> in <paramref name="workingDirectory"/>; killed (TimeoutException) after <paramref name="timeout"/>.</summary>
    public static (int Exit, string Out, string Err) Run(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException(string.Join(' ', args)); }
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }
}
