namespace SeccompKit.TestKit;

/// <summary>The SeccompKit checkout the tests run from (found above the test assembly by its SeccompKit.slnx).</summary>
public static class Repo
{
    private static readonly Lazy<string> RootDir = new(Find);

    /// <summary>The repository root.</summary>
    public static string Root => RootDir.Value;

    /// <summary>A path below the repository root, e.g. <c>Repo.Path("native", "seccomp-hold.c")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>The build configuration of the running tests (Debug or Release), from the test assembly's directory.</summary>
    public static string Configuration =>
        AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "SeccompKit.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"SeccompKit.slnx was not found above {AppContext.BaseDirectory}; run the tests from a SeccompKit checkout");
    }
}
