namespace SeccompKit.Linux.Launch;

/// <summary>The command that starts stage two: an executable that calls <see cref="StageTwo.RunIfRequested"/> first, and the arguments before the marker.</summary>
/// <param name="Executable">The path to execute.</param>
/// <param name="PrefixArguments">Arguments before <see cref="StageTwo.Marker"/> (for <c>dotnet app.dll</c>: the dll path).</param>
public sealed record StageCommand(string Executable, IReadOnlyList<string> PrefixArguments)
{
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
