namespace SeccompKit.TestKit;

/// <summary>
/// The C helpers the tests drive (native/*.c): built by native/build.sh, and built here with gcc when missing or older
/// than their source, so a focused test run works without it. A build goes to a temporary name that is then renamed,
/// so a concurrent test run never sees half a binary.
/// </summary>
public static class NativeHelper
{
    private static readonly Lock Gate = new();

    /// <summary>
    /// native/build/<paramref name="name"/> from native/<paramref name="name"/>.c, built when missing or stale with
    /// <c>gcc -O2 -Wall -Werror</c>, <paramref name="flags"/> before the source and <paramref name="libraries"/> after it.
    /// </summary>
    /// <param name="name">The helper, e.g. <c>seccomp-hold</c>.</param>
    /// <param name="flags">Extra compiler flags, e.g. <c>-Wextra</c>.</param>
    /// <param name="libraries">What to link, e.g. <c>-lseccomp</c>.</param>
    /// <param name="packages">The Debian packages the build needs besides gcc, named in the error when it fails.</param>
    public static string Build(string name, string[] flags, string[] libraries, string packages = "libc6-dev")
    {
        string source = Repo.Path("native", name + ".c");
        string target = Repo.Path("native", "build", name);
        lock (Gate)
        {
            if (File.Exists(target) && File.GetLastWriteTimeUtc(target) >= File.GetLastWriteTimeUtc(source)) return target;
            Compile(source, target, flags, libraries, $"install gcc and {packages}, or run native/build.sh");
            return target;
        }
    }

    /// <summary>Compiles <paramref name="source"/> to <paramref name="target"/> (always) with <c>gcc -O2 -Wall -Werror</c>.</summary>
    /// <param name="source">The C file.</param>
    /// <param name="target">The binary to write (atomically).</param>
    /// <param name="flags">Extra compiler flags.</param>
    /// <param name="libraries">What to link.</param>
    /// <param name="remedy">What to do when the build fails, for the error.</param>
    public static void Compile(string source, string target, string[] flags, string[] libraries, string remedy = "apt-get install gcc libc6-dev")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        string temp = target + "." + Environment.ProcessId + ".tmp";
        ProcessResult gcc;
        try
        {
            gcc = ChildProcess.Run("gcc", ["-O2", "-Wall", "-Werror", .. flags, "-o", temp, source, .. libraries]);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"gcc is needed to build {source} for the tests ({e.Message}): {remedy}", e);
        }
        if (gcc.Exit != 0)
        {
            File.Delete(temp);
            throw new InvalidOperationException($"building {source} failed (gcc exit {gcc.Exit}); {remedy}\n{gcc.Err}");
        }
        File.Move(temp, target, overwrite: true);
    }
}
