namespace SeccompKit.Linux.Launch;

/// <summary>
/// A collaborator the launcher is given (<see cref="LaunchRequest.Observer"/>, <see cref="SandboxLauncher.Prepare"/>) to
/// watch the launched process: the launcher tells it the process id right after starting stage two, which cannot run
/// the program (nor fork) before it has received its filter, so an observer that was collecting before the launch
/// misses nothing of the program. <see cref="KillObserver"/> is the one SeccompKit provides.
/// </summary>
public interface ILaunchObserver
{
    /// <summary>
    /// The launched process exists with id <paramref name="pid"/> (stage two now, the program after execve: the same
    /// process). Called once, on the launching thread. If it throws, the launch is stopped (the program does not run)
    /// and the exception propagates.
    /// </summary>
    void Started(int pid);
}
