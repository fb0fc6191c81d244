namespace SeccompKit.TestKit;

/// <summary>
/// A .NET program of the repository that tests run as a child (e.g. bench/learn's round-trip program), without the test
/// project referencing it: located in its own bin/ folder of the tests' configuration, and built there with
/// <c>dotnet build</c> when missing or older than a source of it or of the libraries. ./test.sh builds the whole
/// solution first, so only a focused run builds it here.
/// </summary>
public static class DotnetProgram
{
    private static readonly Lock Gate = new();

    /// <summary>The apphost of the project in <paramref name="projectDir"/> (relative to the repository root), built when needed.</summary>
    /// <param name="projectDir">e.g. <c>bench/learn/SeccompKit.LearnBench</c>; the project file is named after the folder.</param>
    public static string Locate(string projectDir)
    {
        string dir = Repo.Path(projectDir);
        string name = Path.GetFileName(dir);
        string apphost = Path.Combine(dir, "bin", Repo.Configuration, "net10.0", name);
        lock (Gate)
        {
            if (!File.Exists(apphost) || Stale(apphost, dir))
            {
                var build = ChildProcess.Run("dotnet", ["build", Path.Combine(dir, name + ".csproj"), "-c", Repo.Configuration, "--nologo", "-v", "q"],
                    new ProcessOptions { Timeout = TimeSpan.FromMinutes(10) });
                if (build.Exit != 0 || !File.Exists(apphost))
                    throw new InvalidOperationException($"dotnet build {projectDir} -c {Repo.Configuration} failed (exit {build.Exit}):\n{build.Out}{build.Err}");
            }
            return apphost;
        }
    }

    /// <summary>Whether a C# file or project file of the program or of src/ is newer than its build.</summary>
    private static bool Stale(string apphost, string projectDir)
    {
        // The newest assembly of the build: a source change rewrites the library's copy even when the program's own
        // assembly is left as it was.
        var built = Directory.EnumerateFiles(Path.GetDirectoryName(apphost)!, "*.dll").Append(apphost).Max(File.GetLastWriteTimeUtc);
        return new[] { projectDir, Repo.Path("src", "SeccompKit"), Repo.Path("src", "SeccompKit.Linux") }
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs*", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Any(f => File.GetLastWriteTimeUtc(f) > built);
    }
}
