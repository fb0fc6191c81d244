using System.Text;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Cli.Io;

/// <summary>
/// Where a command writes a file (<c>-o FILE</c>), with one rule for every command: the place is checked before any
/// work is done (a learn run is not wasted on a directory that does not exist), an existing file is replaced only with
/// <c>--force</c>, and the file is written atomically: to a temporary file in the same directory, flushed to disk,
/// then renamed over the target, so a reader (or a crash, a full disk, a signal) never sees a partial file and a
/// failed write leaves the old file as it was. <c>-</c> is standard output. Devices and pipes (<c>/dev/stdout</c>, a
/// FIFO) of the caller or root are written in place: there is nothing to replace.
/// </summary>
/// <remarks>
/// Nothing another user controls can redirect the write (seccompkit often runs as root): the directory written into
/// and every directory above it must belong to the caller or root and not be writable by group or others unless sticky
/// (<see cref="AtomicFile.DirectoryPathProblem"/>);
/// a symbolic link given as FILE is followed only when it belongs to the caller or root and sits in such a directory
/// (the file it points to is replaced and the link stays); a file name seccompkit chooses itself (dump's
/// <c>filter-N.bpf</c>) is never followed: a link there is refused. The temporary file is created with
/// O_EXCL|O_NOFOLLOW and renamed, so a link planted after the check is replaced, never written through.
/// </remarks>
internal sealed class OutputFile
{
    private OutputFile(string? path, string display, bool force, bool inPlace)
    {
        Path = path;
        Display = display;
        Force = force;
        InPlace = inPlace;
    }

    /// <summary>The file to write (links resolved), or null for standard output.</summary>
    public string? Path { get; }

    /// <summary>The path as the user gave it, for messages.</summary>
    public string Display { get; }

    /// <summary>Whether an existing file may be replaced.</summary>
    public bool Force { get; }

    /// <summary>A device or pipe: written in place, not replaced.</summary>
    public bool InPlace { get; }

    /// <summary>Standard output.</summary>
    public bool IsStandardOutput => Path is null;

    /// <summary>The <c>--force</c> option every command that writes a file has.</summary>
    public static System.CommandLine.Option<bool> ForceOption() =>
        new("--force") { Description = "Replace the -o file if it exists (it is written atomically either way: never a partial file)" };

    /// <summary>
    /// Checks that <paramref name="path"/> can be written (its directory exists, is writable and no other user controls
    /// it; it is not a directory; it does not exist unless <paramref name="force"/>) and returns where to write. Null or
    /// <c>-</c> is standard output. With <paramref name="followLinks"/> false (a name seccompkit chose), an existing
    /// link or non-regular file there is refused.
    /// </summary>
    /// <exception cref="CliInputException">It cannot be written; the message says why and what to do; the code is <paramref name="exitCode"/>.</exception>
    public static OutputFile Check(string? path, bool force, int exitCode = ExitCodes.OutputFailed, string option = "-o", bool followLinks = true)
    {
        if (path is null or "-") return new OutputFile(null, "standard output", force, false);
        if (path.Length == 0) throw new CliInputException($"{option}: the file name is empty", ExitCodes.Usage);
        string target = System.IO.Path.GetFullPath(path);
        var info = new FileInfo(target);
        // A name seccompkit chose: the directory it is in decides first (another user's directory is refused whatever is in it).
        if (!followLinks && DirectoryRefusal(System.IO.Path.GetDirectoryName(target)!) is { } chosenDir)
            throw new CliInputException($"{path}: refusing to write into {System.IO.Path.GetDirectoryName(target)}: {chosenDir}", exitCode);
        if (info.LinkTarget is not null)
        {
            if (!followLinks) throw new CliInputException($"{path} {AtomicFile.TargetProblem(FileStatus.Of(target, followLinks: false))}", exitCode);
            // Replace what the link points to, not the link (as an editor saving through a link does), but only a link
            // nobody else could have planted or swapped: the caller's or root's, in a directory nobody else controls.
            var link = FileStatus.Of(target, followLinks: false);
            uint euid = AtomicFile.CallerUid;
            if (link is not null && link.Uid != euid && link.Uid != 0)
                throw new CliInputException($"{path} is a symbolic link that belongs to another user (uid {link.Uid}); seccompkit does not write through it: remove it, or give the file it should write with {option}", exitCode);
            if (DirectoryRefusal(System.IO.Path.GetDirectoryName(target)!) is { } linkDir)
                throw new CliInputException($"{path} is a symbolic link in a directory another user controls ({linkDir}); seccompkit does not follow it: give the file itself with {option}", exitCode);
            var final = info.ResolveLinkTarget(returnFinalTarget: true);
            if (final is null) throw new CliInputException($"{path}: the symbolic link cannot be followed; give the file itself with {option}", exitCode);
            target = final.FullName;
            info = new FileInfo(target);
        }
        if (Directory.Exists(target))
            throw new CliInputException($"{path} is a directory; give a file name with {option} (e.g. {System.IO.Path.Combine(path, "profile.json")})", exitCode);
        string dir = System.IO.Path.GetDirectoryName(target)!;
        for (string? d = dir; d is not null && !Directory.Exists(d); d = System.IO.Path.GetDirectoryName(d))
            if (File.Exists(d)) throw new CliInputException($"{path}: {d} is a file, not a directory; choose another {option}", exitCode);
        if (!Directory.Exists(dir))
            throw new CliInputException($"{path}: the directory {dir} does not exist; create it first (mkdir -p {ShellWords.Quote(dir)}) or choose another {option}", exitCode);
        if (info.Exists)
        {
            if (FileStatus.Of(target, followLinks: false) is { Kind: not FileKind.Regular } st)
            {
                if (!followLinks || st.Kind is FileKind.Directory or FileKind.SymbolicLink)
                    throw new CliInputException($"{path} {AtomicFile.TargetProblem(st)}", exitCode);
                // A device or pipe (/dev/stdout, /dev/null, a FIFO) is written in place: renaming over it would replace
                // it. Only the caller's or root's: another user's FIFO could stand for anything.
                uint euid = AtomicFile.CallerUid;
                if (st.Uid != euid && st.Uid != 0)
                    throw new CliInputException($"{path} is a {(st.Kind == FileKind.Fifo ? "named pipe" : "device")} of another user (uid {st.Uid}); seccompkit does not write into it: choose another {option}", exitCode);
                return new OutputFile(target, path, force, inPlace: true);
            }
            if (!force) throw new CliInputException($"{path} already exists; pass --force to replace it, or choose another {option}", exitCode);
        }
        if (DirectoryRefusal(dir) is { } problem)
            throw new CliInputException($"{path}: refusing to write into {dir}: {problem}", exitCode);
        if (!CanCreateIn(dir))
            throw new CliInputException($"{path}: cannot create files in {dir} (permission denied); choose another {option}", exitCode);
        return new OutputFile(target, path, force, inPlace: false);
    }

    /// <summary>Why <paramref name="dir"/> or a directory above it is controlled by another user (<see cref="AtomicFile.DirectoryPathProblem"/>), or null.</summary>
    internal static string? DirectoryRefusal(string dir) => AtomicFile.DirectoryPathProblem(dir);

    /// <summary>Writes <paramref name="text"/> (UTF-8).</summary>
    /// <exception cref="CliInputException">The write failed (disk full, permissions changed, the file appeared meanwhile without --force); nothing was changed.</exception>
    public void Write(ICliConsole console, string text, int exitCode = ExitCodes.OutputFailed)
    {
        if (IsStandardOutput)
        {
            console.Out.Flush();
            console.Out.Write(text);
            console.Out.Flush();
            return;
        }
        Write(Encoding.UTF8.GetBytes(text), exitCode);
    }

    /// <summary>Writes <paramref name="bytes"/>; standard output gets them raw.</summary>
    /// <exception cref="CliInputException">The write failed; nothing was changed.</exception>
    public void Write(ICliConsole console, byte[] bytes, int exitCode = ExitCodes.OutputFailed)
    {
        if (IsStandardOutput)
        {
            console.Out.Flush();
            using var stdout = console.OpenStandardOutput();
            stdout.Write(bytes);
            stdout.Flush();
            return;
        }
        Write(bytes, exitCode);
    }

    private void Write(byte[] bytes, int exitCode)
    {
        string target = Path!;
        if (InPlace)
        {
            try
            {
                using var f = new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                f.Write(bytes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliInputException($"{Display}: cannot write: {e.Message}", exitCode);
            }
            return;
        }
        try
        {
            // Without --force the rename refuses to replace a file that appeared since the check.
            AtomicFile.Write(target, bytes, overwrite: Force);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string why = File.Exists(target) && !Force && e is IOException ? "it was created meanwhile; pass --force to replace it" : e.Message;
            throw new CliInputException($"{Display}: cannot write: {why} (nothing was changed)", exitCode);
        }
    }

    private static bool CanCreateIn(string dir)
    {
        // access(2)-like test without writing: create and remove a probe file (effective ids, ACLs and read-only mounts count).
        string probe = System.IO.Path.Combine(dir, $".seccompkit-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
