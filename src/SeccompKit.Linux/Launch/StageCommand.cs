namespace SeccompKit.Linux.Launch;

/// <summary>The command that starts stage two: an executable that calls <see cref="StageTwo.RunIfRequested"/> first, and the arguments before the marker.</summary>
/// <param name="Executable">The path to execute.</param>
/// <param name="PrefixArguments">Arguments before <see cref="StageTwo.Marker"/> (for <c>dotnet app.dll</c>: the dll path).</param>
public sealed record StageCommand(string Executable, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>The file name of the dedicated stage-two binary that build-aot.sh publishes beside <c>seccompkit</c>.</summary>
    public const string DedicatedName = "seccompkit-stage";

    /// <summary>
    /// The default: the dedicated stage-two binary <see cref="DedicatedName"/> when it sits beside this program's executable
    /// (a NativeAOT binary of just <see cref="StageTwo"/>, which starts in about a quarter of the CLI's time: the fixed cost
    /// of <c>run</c> and <c>learn</c>), else <see cref="ForCurrentProcess"/>. The dedicated binary is used only if it is a
    /// regular file of root or the caller that neither group nor others can write: it is executed with the filter and
    /// the program's arguments, so a copy others could replace would run in the program's place.
    /// </summary>
    /// <exception cref="LaunchException">The dedicated binary is there but others could replace it (<see cref="LaunchFailure.StageFailed"/>): fix its owner or mode, or remove it.</exception>
    public static StageCommand Default()
    {
        string? exe = Environment.ProcessPath;
        if (exe is null || Path.GetFileNameWithoutExtension(exe) == "dotnet") return ForCurrentProcess();
        return Beside(exe) ?? ForCurrentProcess();
    }

    /// <summary>The dedicated stage binary in <paramref name="executable"/>'s directory, or null when there is none.</summary>
    /// <exception cref="LaunchException">It is there but unsafe to execute.</exception>
    internal static StageCommand? Beside(string executable)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(executable)) ?? "/";
        string stage = Path.Combine(dir, DedicatedName);
        var status = Kernel.FileStatus.Of(stage);
        if (status is null) return null;
        string? problem = status.Kind != Kernel.FileKind.Regular ? "is not a regular file"
            : !status.BelongsToRootOr(Kernel.AtomicFile.CallerUid) ? $"belongs to another user (uid {status.Uid})"
            : status.OthersCanWrite ? $"can be written by {((status.Mode & 0x2) != 0 ? "anyone" : "its group")} (mode {status.OctalMode})"
            : (status.Mode & 0x49) == 0 ? "is not executable"
            : null;
        if (problem is not null)
            throw new LaunchException(LaunchFailure.StageFailed,
                $"{stage}, the stage that installs the filter and starts the program, {problem}; seccompkit does not run it: make it root's or yours and not writable by others (chmod go-w), or remove it (seccompkit then starts a copy of itself instead)");
        return new StageCommand(stage, []);
    }

    /// <summary>
    /// This very program: the NativeAOT binary or apphost itself, or <c>dotnet</c> plus the entry assembly when
    /// run as <c>dotnet app.dll</c>. Its Main must call <see cref="StageTwo.RunIfRequested"/> first.
    /// </summary>
    public static StageCommand ForCurrentProcess()
    {
        string exe = Environment.ProcessPath ?? throw new LaunchException(LaunchFailure.StageFailed, "cannot find this program's own executable (Environment.ProcessPath is null)");
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
        {
            string dll = Environment.GetCommandLineArgs()[0];
            return new StageCommand(exe, [dll]);
        }
        return new StageCommand(exe, []);
    }
}
