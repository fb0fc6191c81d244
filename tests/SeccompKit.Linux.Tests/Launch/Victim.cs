using System.Diagnostics;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>Runs tests/TestVictim (built with the tests) and captures its output.</summary>
internal static class Victim
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        string configuration = AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "SeccompKit.slnx"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
        var path = System.IO.Path.Combine(dir.FullName, "tests", "TestVictim", "bin", configuration, "net10.0", "TestVictim");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: build tests/TestVictim (dotnet build -c {configuration})");
        return path;
    }

    /// <summary>Runs the victim; returns exit code, stdout, stderr.</summary>
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(true); throw new TimeoutException("TestVictim " + string.Join(' ', args)); }
        return (p.ExitCode, output, err.Result);
    }

    /// <summary>The KEY=VALUE pairs of the output (the first '=' splits).</summary>
    public static Dictionary<string, string> Pairs(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Contains('=')).Take(line.StartsWith("message=", StringComparison.Ordinal) ? 0 : 99))
            .Select(w => w.Split('=', 2)).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
}
