
namespace SeccompKit.Cli.Tests;

/// <summary>
/// One rule for every file seccompkit writes (learn, compile, convert, merge, asm): the place is checked before any work
/// (learn does not run the program for nothing), an existing file is replaced only with --force, and files are written
/// atomically, so a full disk or a failure never leaves a partial file and keeps the old one.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OutputSpecs : IDisposable
{
    private static readonly string Docker = CompileSpecs.Repo("data/profiles/docker-default.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-output-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A command that writes <c>-o OUT</c>, with the code it exits with when the output cannot be written.</summary>
    public static TheoryData<string, string[], int> Writers => new()
    {
        { "learn", ["learn", "-q", "-o", "OUT", "--", "sh", "-c", "touch ran"], 124 },
        { "compile", ["compile", Docker, "-o", "OUT"], 4 },
        { "convert", ["convert", Docker, "--to", "policy", "-o", "OUT"], 4 },
        { "merge", ["merge", Docker, Docker, "-q", "-o", "OUT"], 4 },
    };

    private static string[] With(string[] args, string output) => [.. args.Select(a => a == "OUT" ? output : a)];

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_missing_directory_is_refused_before_any_work(string command, string[] args, int code)
    {
        var r = CliProcess.Run(_dir, With(args, Path.Combine(_dir, "no-such-dir", "out")));
        Assert.Equal(code, r.Exit);
        Assert.Contains("does not exist; create it first", r.Err);
        Assert.False(File.Exists(Path.Combine(_dir, "ran")), $"{command} ran the program although it could not write its result");
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void An_existing_file_is_kept_without_force_and_replaced_with_it(string command, string[] args, int code)
    {
        string output = Path.Combine(_dir, "out");
        File.WriteAllText(output, "old");
        File.SetUnixFileMode(output, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var refused = CliProcess.Run(_dir, With(args, output));
        Assert.Equal(code, refused.Exit);
        Assert.Contains("already exists; pass --force to replace it", refused.Err);
        Assert.Equal("old", File.ReadAllText(output));
        Assert.False(File.Exists(Path.Combine(_dir, "ran")), $"{command} ran the program although it would not write its result");

        var forced = CliProcess.Run(_dir, [args[0], "--force", .. With(args, output)[1..]]);
        Assert.True(forced.Exit == 0, forced.Err);
        Assert.NotEqual("old", File.ReadAllText(output));
        // The replaced file keeps its permissions, and nothing temporary is left beside it.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(output));
        Assert.Empty(Directory.GetFiles(_dir, ".*"));
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_directory_as_output_is_refused(string command, string[] args, int code)
    {
        _ = command;
        var r = CliProcess.Run(_dir, With(args, _dir));
        Assert.Equal(code, r.Exit);
        Assert.Contains("is a directory; give a file name with -o", r.Err);
    }

    [Fact]
    public void A_symbolic_link_is_followed_and_stays_a_link()
    {
        string real = Path.Combine(_dir, "real.policy"), link = Path.Combine(_dir, "link.policy");
        File.WriteAllText(real, "old");
        File.CreateSymbolicLink(link, real);
        var r = CliProcess.Run(_dir, "convert", Docker, "--to", "policy", "-o", link, "--force");
        Assert.True(r.Exit == 0, r.Err);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Contains("default errno(EPERM)", File.ReadAllText(real));
    }

    [Fact]
    public void A_device_is_written_in_place_without_force()
    {
        var r = CliProcess.Run(_dir, "compile", Docker, "-o", "/dev/null");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Equal(0, Sh("test -c /dev/null")); // still a character device, not replaced by a file
    }

    [Fact]
    public void On_a_full_disk_nothing_partial_is_written_the_old_file_stays_and_learn_says_so()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "mounting a small tmpfs needs root (CI runs as root)");
        string mount = Path.Combine(_dir, "small");
        Directory.CreateDirectory(mount);
        Assert.Equal(0, Sh($"mount -t tmpfs -o size=64k tmpfs {mount}"));
        try
        {
            string old = Path.Combine(mount, "profile.json");
            File.WriteAllText(old, "{ \"old\": true }\n");
            // Fill the rest of the file system.
            Sh($"dd if=/dev/zero of={mount}/filler bs=4k count=64 2>/dev/null");
            var learn = CliProcess.Run(_dir, "learn", "-q", "--force", "-o", old, "--", "true");
            Assert.Equal(124, learn.Exit);
            Assert.Contains("cannot write", learn.Err);
            Assert.Contains("nothing was changed", learn.Err);
            Assert.Equal("{ \"old\": true }\n", File.ReadAllText(old));
            var compile = CliProcess.Run(_dir, "compile", Docker, "-o", Path.Combine(mount, "f.bpf"));
            Assert.Equal(4, compile.Exit);
            Assert.False(File.Exists(Path.Combine(mount, "f.bpf")));
            Assert.Empty(Directory.GetFiles(mount, ".*")); // no temporary file left
        }
        finally
        {
            Sh($"umount {mount}");
        }
    }

    private static int Sh(string command) => ChildProcess.Run("sh", ["-c", command]).Exit;
}
