using SeccompKit.Linux.Runtimes;

namespace SeccompKit.Linux.Tests.Runtimes;

/// <summary>
/// The installed runtime's version is asked once per binary and remembered: learn and the OCI writers no longer start runc
/// on every run. A fake runtime (a shell script) counts how often it was asked.
/// </summary>
public sealed class RuntimeVersionCacheSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sk-rtcache-").FullName;
    private string Runtime => Path.Combine(_dir, "fakerunc");
    private string Count => Path.Combine(_dir, "asked");
    private string Cache => Path.Combine(_dir, "cache", "seccompkit", "runtime-versions");

    public RuntimeVersionCacheSpecs() => WriteRuntime("1.1.5");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void WriteRuntime(string version)
    {
        File.WriteAllText(Runtime, $"#!/bin/sh\necho x >> '{Count}'\necho 'runc version {version}'\necho 'commit: none'\n");
        Chmod(Runtime, "755");
    }

    private static void Chmod(string path, string mode) => Assert.Equal(0, ChildProcess.Run("chmod", [mode, path]).Exit);

    private int Asked => File.Exists(Count) ? File.ReadAllLines(Count).Length : 0;

    [Fact]
    public void The_same_binary_is_asked_once_and_then_answered_from_the_cache()
    {
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal(1, Asked);
        Assert.Contains(Path.GetFullPath(Runtime), File.ReadAllText(Cache), StringComparison.Ordinal);
    }

    [Fact]
    public void A_replaced_or_changed_binary_is_asked_again()
    {
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        // An upgrade in place: same path, new contents (size and times change).
        WriteRuntime("1.2.0");
        Assert.Equal("runc version 1.2.0", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal(2, Asked);
        // A change of mode alone moves ctime: asked again too.
        Thread.Sleep(10);
        Chmod(Runtime, "750");
        Assert.Equal("runc version 1.2.0", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal(3, Asked);
        Assert.Equal("runc version 1.2.0", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal(3, Asked);
    }

    [Fact]
    public void A_cache_file_others_can_write_or_that_is_a_link_is_not_believed()
    {
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        string planted = File.ReadAllText(Cache).Replace("runc version 1.1.5", "runc version 9.9.9", StringComparison.Ordinal);
        File.WriteAllText(Cache, planted);
        Chmod(Cache, "666"); // anyone could have written it
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal(2, Asked);

        string elsewhere = Path.Combine(_dir, "elsewhere");
        File.WriteAllText(elsewhere, planted);
        File.Delete(Cache);
        File.CreateSymbolicLink(Cache, elsewhere);
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal(3, Asked);
        // The link itself was never written through.
        Assert.Contains("9.9.9", File.ReadAllText(elsewhere), StringComparison.Ordinal);
    }

    [Fact]
    public void A_cache_owned_by_another_user_is_not_believed()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        File.WriteAllText(Cache, File.ReadAllText(Cache).Replace("runc version 1.1.5", "runc version 9.9.9", StringComparison.Ordinal));
        Chmod(Cache, "644");
        Assert.Equal(0, ChildProcess.Run("chown", ["65534:65534", Cache]).Exit);
        Assert.NotEqual(0u, StatusOwner(Cache));
        Assert.Equal("runc version 1.1.5", InstalledRuntimes.VersionLine(Runtime, Cache));
        Assert.Equal(2, Asked);
    }

    private static uint StatusOwner(string path) => SeccompKit.Linux.Kernel.FileStatus.Of(path)!.Uid;

    [Fact]
    public void A_missing_runtime_has_no_version_and_no_entry()
    {
        Assert.Null(InstalledRuntimes.VersionLine(Path.Combine(_dir, "absent"), Cache));
        Assert.False(File.Exists(Cache));
    }
}
