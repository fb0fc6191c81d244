using System.Globalization;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// Writers run as root against a directory another user (uid 65534, nobody) controls or planted links in (issue 17,
/// defect 6): the write is refused with the command's output exit code, and the file a planted link points to keeps its
/// content and owner. The test process is root (CI); the "attacker" is simulated with chown/lchown.
/// </summary>
public sealed class HostileOutputSpecs : IDisposable
{
    private const int Nobody = 65534;
    private static readonly string Docker = Repo.Path("data", "profiles", "docker-default.json");
    private readonly TempDir _root = new();
    private readonly string _victim;

    public HostileOutputSpecs()
    {
        // A file only root may write, somewhere the attacker cannot reach: what the planted links point to.
        string safe = _root.File("root-only");
        Directory.CreateDirectory(safe);
        _victim = Path.Combine(safe, "precious");
        File.WriteAllText(_victim, "precious\n");
        Sh($"chmod 0644 {Q(_victim)}");
    }

    public void Dispose() => _root.Dispose();

    private static void Sh(string command) => Assert.Equal(0, ChildProcess.Run("sh", ["-c", command]).Exit);

    private static string Q(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A directory with <paramref name="mode"/> owned by <paramref name="owner"/>.</summary>
    private string Dir(string name, string mode, int owner)
    {
        string dir = _root.File(name);
        Directory.CreateDirectory(dir);
        Sh($"chown {owner}:{owner} {Q(dir)} && chmod {mode} {Q(dir)}");
        return dir;
    }

    /// <summary>A symbolic link <paramref name="link"/> to the victim, owned (lchown) by the attacker.</summary>
    private void Plant(string link)
    {
        File.CreateSymbolicLink(link, _victim);
        Sh($"chown -h {Nobody}:{Nobody} {Q(link)}");
    }

    private void AssertVictimUntouched()
    {
        Assert.Equal("precious\n", File.ReadAllText(_victim));
        var st = SeccompKit.Linux.Kernel.FileStatus.Of(_victim, followLinks: false)!;
        Assert.Equal(SeccompKit.Linux.Kernel.FileKind.Regular, st.Kind);
        Assert.Equal(0u, st.Uid);
    }

    private static string Pid(HeldProcess held) => held.Pid.ToString(CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("0755", Nobody)] // the attacker's own directory
    [InlineData("0777", 0)]      // root's, but anyone can write it (not sticky)
    [InlineData("1777", 0)]      // root's and sticky like /tmp: the directory is accepted, the planted link is not
    public void Dump_o_force_never_writes_through_a_link_another_user_planted(string mode, int owner)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "dump and chown need root (CI runs as root)");
        using var held = HeldProcess.Start(KnownFilters.First(1));
        string dir = Dir("out", mode, owner);
        string link = Path.Combine(dir, "filter-0.bpf");
        Plant(link);
        var (exit, c) = TestConsole.Run("dump", Pid(held), "-o", dir, "--force");
        Assert.Equal(ExitCodes.OutputFailed, exit);
        Assert.Contains(owner == Nobody ? "belongs to another user (uid 65534)" : mode == "0777" ? "can write the directory" : "symbolic link", c.StderrText);
        AssertVictimUntouched();
        Assert.NotNull(new FileInfo(link).LinkTarget); // the planted link is left as it was
        Assert.Equal(12, held.Exit(12));
    }

    [Fact]
    public void Dump_o_DIR_that_is_a_link_another_user_planted_is_not_followed()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "dump and chown need root (CI runs as root)");
        using var held = HeldProcess.Start(KnownFilters.First(1));
        string sticky = Dir("tmp", "1777", 0);
        string target = Path.GetDirectoryName(_victim)!;
        string link = Path.Combine(sticky, "filters");
        File.CreateSymbolicLink(link, target);
        Sh($"chown -h {Nobody}:{Nobody} {Q(link)}");
        var (exit, c) = TestConsole.Run("dump", Pid(held), "-o", link, "--force");
        Assert.Equal(ExitCodes.OutputFailed, exit);
        Assert.Contains("symbolic link", c.StderrText);
        Assert.False(File.Exists(Path.Combine(target, "filter-0.bpf")));
        Assert.Equal(12, held.Exit(12));
    }

    [Fact]
    public void Compile_o_force_refuses_a_link_another_user_owns_even_in_a_sticky_directory()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string dir = Dir("tmp", "1777", 0);
        string link = Path.Combine(dir, "docker.bpf");
        Plant(link);
        var (exit, c) = TestConsole.Run("compile", Docker, "-q", "-o", link, "--force");
        Assert.Equal(ExitCodes.OutputFailed, exit);
        Assert.Contains("belongs to another user (uid 65534)", c.StderrText);
        AssertVictimUntouched();
    }

    [Theory]
    [InlineData("0755", Nobody)]
    [InlineData("0775", 0)]
    public void Compile_and_learn_refuse_a_directory_another_user_controls_before_any_work(string mode, int owner)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string dir = Dir("shared", mode, owner);
        var (exit, c) = TestConsole.Run("compile", Docker, "-q", "-o", Path.Combine(dir, "f.bpf"));
        Assert.Equal(ExitCodes.OutputFailed, exit);
        Assert.Contains("refusing to write into", c.StderrText);
        string marker = _root.File("ran");
        var learn = CliProcess.Run(_root.PathName, "learn", "-q", "-o", Path.Combine(dir, "p.json"), "--", "sh", "-c", $"touch {Q(marker)}");
        Assert.Equal(ExitCodes.LearnProfileFailed, learn.Exit);
        Assert.Contains("refusing to write into", learn.Err);
        Assert.False(File.Exists(marker)); // refused before the program ran
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    [Fact]
    public void Compile_and_learn_refuse_a_way_through_a_directory_another_user_owns_before_any_work()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        // The attacker's directory holds a link to root's directory where root expects a directory of its own.
        string evil = Dir("evil", "0755", Nobody);
        string inner = Path.Combine(evil, "inner");
        File.CreateSymbolicLink(inner, Path.GetDirectoryName(_victim)!);
        Sh($"chown -h {Nobody}:{Nobody} {Q(inner)}");
        var (exit, c) = TestConsole.Run("compile", Docker, "-q", "-o", Path.Combine(inner, "precious"), "--force");
        Assert.Equal(ExitCodes.OutputFailed, exit);
        Assert.Contains($"{evil}, a directory on its path: the directory belongs to another user (uid 65534)", c.StderrText);
        AssertVictimUntouched();
        string marker = _root.File("ran");
        var learn = CliProcess.Run(_root.PathName, "learn", "-q", "-o", Path.Combine(inner, "p.json"), "--", "sh", "-c", $"touch {Q(marker)}");
        Assert.Equal(ExitCodes.LearnProfileFailed, learn.Exit);
        Assert.Contains("a directory on its path", learn.Err);
        Assert.False(File.Exists(marker)); // refused before the program ran
        Assert.Equal(["precious"], Directory.GetFileSystemEntries(Path.GetDirectoryName(_victim)!).Select(Path.GetFileName));
    }

    [Fact]
    public void A_sticky_directory_of_root_is_accepted_and_the_file_is_replaced_not_written_through()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string dir = Dir("tmp", "1777", 0);
        string file = Path.Combine(dir, "f.bpf");
        File.WriteAllText(file, "old");
        // Another user's hard link to the old file would see a write in place; a rename leaves it the old content.
        string other = Dir("other", "0755", 0);
        Sh($"ln {Q(file)} {Q(Path.Combine(other, "hard"))}");
        var (exit, c) = TestConsole.Run("compile", Docker, "-q", "-o", file, "--force");
        Assert.True(exit == 0, c.StderrText);
        Assert.NotEqual("old", File.ReadAllText(file));
        Assert.Equal("old", File.ReadAllText(Path.Combine(other, "hard")));
        Assert.Equal(["f.bpf"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName)); // no temporary left
    }

    [Fact]
    public void The_callers_own_link_in_its_own_directory_is_still_followed()
    {
        string dir = _root.File("mine");
        Directory.CreateDirectory(dir);
        string real = Path.Combine(dir, "real.bpf"), link = Path.Combine(dir, "link.bpf");
        File.WriteAllText(real, "old");
        File.CreateSymbolicLink(link, real);
        var (exit, c) = TestConsole.Run("compile", Docker, "-q", "-o", link, "--force");
        Assert.True(exit == 0, c.StderrText);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.NotEqual("old", File.ReadAllText(real));
    }
}
