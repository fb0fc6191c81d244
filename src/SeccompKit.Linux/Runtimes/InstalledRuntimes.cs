using System.ComponentModel;
using System.Diagnostics;
using SeccompKit.Linux.Launch;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Runtimes;

/// <summary>
/// The OCI runtimes installed on this machine, as their own <c>--version</c> reports them: what <c>--for runc</c> (no
/// version) and the OCI writers' default target mean (<see cref="OciTarget.Parse"/>, <see cref="OciTarget.Resolve"/>).
/// </summary>
public static class InstalledRuntimes
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The first line of <c>RUNTIME --version</c> ("runc version 1.1.5+ds1"), or null when the runtime is not on PATH,
    /// fails, or does not answer within 5 seconds (it is then killed). The answer is remembered for that very binary (same
    /// path, device, inode, size, mtime and ctime), so the runtime is started only the first time; see
    /// <c>RuntimeVersionCache</c>.
    /// </summary>
    public static string? VersionLine(string runtime) => VersionLine(runtime, RuntimeVersionCache.FilePath());

    /// <summary><see cref="VersionLine(string)"/> with the cache in <paramref name="cacheFile"/> (null: no cache).</summary>
    internal static string? VersionLine(string runtime, string? cacheFile)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        string binary;
        try { binary = Path.GetFullPath(ProgramResolver.Resolve(runtime)); }
        catch (LaunchException) { return null; } // not on PATH, or not executable
        string? identity = RuntimeVersionCache.Identity(binary);
        if (identity is not null && cacheFile is not null && RuntimeVersionCache.Lookup(cacheFile, binary, identity) is { } remembered) return remembered;
        string? line = Ask(binary);
        // Stored only if the binary did not change while it answered.
        if (line is not null && identity is not null && cacheFile is not null && RuntimeVersionCache.Identity(binary) == identity)
            RuntimeVersionCache.Store(cacheFile, binary, identity, line);
        return line;
    }

    private static string? Ask(string runtime)
    {
        try
        {
            var psi = new ProcessStartInfo(runtime, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p is null) return null;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(Timeout))
            {
                p.Kill(entireProcessTree: true);
                return null;
            }
            p.WaitForExit();
            string first = stdout.Result.Split('\n')[0].Trim();
            _ = stderr.Result;
            return p.ExitCode == 0 && first.Length > 0 ? first : null;
        }
        catch (Win32Exception) { return null; } // not on PATH, or not executable
    }

    /// <summary>The target a <c>--for</c> value names (<c>runc</c>, <c>runc@1.1.5</c>), asking this machine for a missing version.</summary>
    /// <exception cref="UnknownOciTargetException">Unknown runtime or version, or no version given and the runtime is not installed.</exception>
    public static OciTarget Parse(string forValue) => OciTarget.Parse(forValue, VersionLine);

    /// <summary>The target when none is named: the installed runc if modelled, else <see cref="OciTarget.Default"/> (with a note why).</summary>
    public static (OciTarget Target, string? Note) Default() => OciTarget.Resolve(VersionLine);
}
