namespace SeccompKit.Linux.Tests.Launch;

/// <summary>Runs tests/TestVictim (built with the tests) and captures its output.</summary>
internal static class Victim
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        var path = Repo.Path("tests", "TestVictim", "bin", Repo.Configuration, "net10.0", "TestVictim");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: build tests/TestVictim (dotnet build -c {Repo.Configuration})");
        return path;
    }

    /// <summary>Runs the victim; returns exit code, stdout, stderr.</summary>
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var r = ChildProcess.Run(Path, args, new ProcessOptions { Timeout = TimeSpan.FromSeconds(60) });
        return (r.Exit, r.Out, r.Err);
    }

    /// <summary>The KEY=VALUE pairs of the output (the first '=' splits).</summary>
    public static Dictionary<string, string> Pairs(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => w.Contains('=')).Take(line.StartsWith("message=", StringComparison.Ordinal) ? 0 : 99))
            .Select(w => w.Split('=', 2)).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
}
