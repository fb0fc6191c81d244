using System.Diagnostics;

namespace SeccompKit.Cli.Tests;

/// <summary>Runs the real seccompkit binary (the JIT apphost beside the tests) as a user would, in a directory.</summary>
internal static class CliProcess
{
    /// <summary>The CLI under test.</summary>
    public static string Path { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli");

    public sealed record Result(int Exit, string Out, string Err);

    /// <summary>Runs <c>seccompkit ARGS</c> in <paramref name="cwd"/> with standard input closed; fails the test after two minutes.</summary>
    public static Result Run(string cwd, params string[] args) => Run(cwd, TimeSpan.FromMinutes(2), args);

    /// <summary>Runs <c>seccompkit ARGS</c> in <paramref name="cwd"/>; killed (TimeoutException) after <paramref name="timeout"/>.</summary>
    public static Result Run(string cwd, TimeSpan timeout, params string[] args) => RunProgram(Path, cwd, timeout, args);

    /// <summary>Runs another program the tests build (e.g. the library sample) the same way.</summary>
    public static Result RunProgram(string program, string cwd, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = cwd };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException(program + " " + string.Join(' ', args)); }
        p.WaitForExit();
        return new Result(p.ExitCode, output, err.Result);
    }
}
