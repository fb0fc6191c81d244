using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>
/// The one writer under every output file (the CLI's -o, dump -o DIR, the agent's results), run as root against names
/// another user (uid 65534) planted or a directory that user controls (issue 17, defect 6): refused, and the file a
/// planted link points to keeps its content and owner.
/// </summary>
public sealed class AtomicFileSafetySpecs : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("seccompkit-atomic-");
    private readonly string _victim;

    public AtomicFileSafetySpecs()
    {
        string safe = Path.Combine(_dir.FullName, "root-only");
        Directory.CreateDirectory(safe);
        _victim = Path.Combine(safe, "precious");
        File.WriteAllText(_victim, "precious\n");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static void Sh(string command) => Assert.Equal(0, ChildProcess.Run("sh", ["-c", command]).Exit);

    private string Dir(string name, string mode, int owner)
    {
        string dir = Path.Combine(_dir.FullName, name);
        Directory.CreateDirectory(dir);
        Sh($"chown {owner}:{owner} '{dir}' && chmod {mode} '{dir}'");
        return dir;
    }

    [Theory]
    [InlineData("1777", 0)]
    [InlineData("0700", 0)]
    public void A_planted_link_at_the_target_is_refused_not_followed_nor_replaced(string mode, int owner)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string dir = Dir("out", mode, owner);
        string link = Path.Combine(dir, "c1.learn.json");
        File.CreateSymbolicLink(link, _victim);
        Sh($"chown -h 65534:65534 '{link}'");
        var e = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(link, "{}\n"u8, overwrite: true));
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
        Assert.Equal("precious\n", File.ReadAllText(_victim));
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal(["c1.learn.json"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName)); // no temporary left
    }

    [Theory]
    [InlineData("0755", 65534)]
    [InlineData("0777", 0)]
    [InlineData("0770", 0)]
    public void A_directory_another_user_controls_is_refused(string mode, int owner)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string dir = Dir("out", mode, owner);
        var e = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(dir, "r.json"), "{}\n"u8, overwrite: true));
        Assert.Contains(owner == 0 ? "can write the directory" : "belongs to another user (uid 65534)", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir));
    }

    private string RootOnly => Path.GetDirectoryName(_victim)!;

    private void Link(string link, string target, int owner)
    {
        File.CreateSymbolicLink(link, target);
        Sh($"chown -h {owner}:{owner} '{link}'");
    }

    [Fact]
    public void A_directory_above_that_another_user_owns_is_refused_whether_the_way_below_is_a_planted_link_or_roots_own()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string evil = Dir("evil", "0755", 65534);
        // The attacker put a link to a directory only root can write where root expects a directory of the way.
        string inner = Path.Combine(evil, "inner");
        Link(inner, RootOnly, 65534);
        var e = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(inner, "precious"), "owned\n"u8, overwrite: true));
        Assert.Contains($"{evil}, a directory on its path: the directory belongs to another user (uid 65534)", e.Message, StringComparison.Ordinal);
        Assert.Equal("precious\n", File.ReadAllText(_victim));
        // A directory of root's below it is refused too: its owner can move it aside and put the link there at any time.
        string real = Path.Combine(evil, "real");
        Directory.CreateDirectory(real);
        e = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(real, "r.json"), "{}\n"u8, overwrite: true));
        Assert.Contains($"{evil}, a directory on its path", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(real));
        Assert.Contains("a directory on its path", AtomicFile.DirectoryPathProblem(real), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0777")]
    [InlineData("0770")]
    public void A_directory_above_that_others_can_write_without_the_sticky_bit_is_refused(string mode)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string open = Dir("open", mode, 0);
        string below = Path.Combine(open, "below");
        Directory.CreateDirectory(below);
        var e = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(below, "r.json"), "{}\n"u8, overwrite: true));
        Assert.Contains($"{open}, a directory on its path: {(mode == "0777" ? "anyone" : "its group")} can write the directory", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(below));
    }

    [Fact]
    public void In_a_sticky_directory_another_users_link_is_not_followed_and_roots_own_is()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string tmp = Dir("tmp", "1777", 0);
        string planted = Path.Combine(tmp, "out");
        Link(planted, RootOnly, 65534);
        var e = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(planted, "precious"), "owned\n"u8, overwrite: true));
        Assert.Contains($"{planted} is a symbolic link of another user (uid 65534)", e.Message, StringComparison.Ordinal);
        Assert.Equal("precious\n", File.ReadAllText(_victim));
        // Root's own relative link there (with "..") leads where root meant.
        string mine = Path.Combine(tmp, "mine");
        Link(mine, "../root-only", 0);
        AtomicFile.Write(Path.Combine(mine, "new"), "n"u8, overwrite: false);
        Assert.Equal("n", File.ReadAllText(Path.Combine(RootOnly, "new")));
    }

    [Fact]
    public void Links_in_directories_nobody_else_can_write_are_followed_in_chains_and_a_loop_is_an_error()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string links = Dir("links", "0755", 0);
        // A link such a directory holds could only have been made by root, even if another user owns it (lchown).
        Link(Path.Combine(links, "abs"), RootOnly, 65534);
        Link(Path.Combine(links, "chain"), "abs", 0);
        AtomicFile.Write(Path.Combine(links, "chain", "via-chain"), "c"u8, overwrite: false);
        Assert.Equal("c", File.ReadAllText(Path.Combine(RootOnly, "via-chain")));
        Link(Path.Combine(links, "loop"), "loop", 0);
        var e = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(links, "loop", "x"), "x"u8, overwrite: false));
        Assert.Contains("too many symbolic links", e.Message, StringComparison.Ordinal);
        var missing = Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(links, "none", "x"), "x"u8, overwrite: false));
        Assert.Contains("no such file or directory", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_agent_refuses_an_output_directory_another_user_owns_before_it_starts()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "chown needs root (CI runs as root)");
        string dir = Dir("agent-out", "0755", 65534);
        var e = Assert.Throws<AgentStartException>(() => SeccompAgent.Start(new AgentOptions
        {
            SocketPath = Path.Combine(_dir.FullName, "agent.sock"),
            OutputDirectory = dir,
            Sessions = c => throw new InvalidOperationException("no container expected"),
        }));
        Assert.Equal(AgentStartProblem.OutputDirectory, e.Problem);
        Assert.Contains("belongs to another user", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_is_replaced_by_rename_keeping_its_permissions_and_a_new_one_is_not_replaced_without_overwrite()
    {
        string dir = Path.Combine(_dir.FullName, "mine");
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, "f");
        File.WriteAllText(file, "old");
        Sh($"chmod 0600 '{file}'");
        Assert.Throws<IOException>(() => AtomicFile.Write(file, "new"u8, overwrite: false));
        Assert.Equal("old", File.ReadAllText(file));
        AtomicFile.Write(file, "new"u8, overwrite: true);
        Assert.Equal("new", File.ReadAllText(file));
        Assert.Equal(0x180, FileStatus.Of(file)!.Mode); // 0600 kept
        AtomicFile.Write(Path.Combine(dir, "g"), "g"u8, overwrite: false);
        Assert.Equal(["f", "g"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order());
    }
}
