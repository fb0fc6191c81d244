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
