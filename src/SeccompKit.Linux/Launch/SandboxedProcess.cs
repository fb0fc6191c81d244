using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Proc;
using static SeccompKit.Linux.Interop.Ptrace;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// A program started by <see cref="SandboxLauncher"/>, running under its filter. What the kernel says about it (which
/// syscall killed it, its descendants) comes from the <see cref="ILaunchObserver"/> given to the launch, e.g. a
/// <see cref="KillObserver"/>.
/// </summary>
public sealed class SandboxedProcess : IDisposable
{
    private readonly object _gate = new();
    private ExitStatus? _status;

    internal SandboxedProcess(int pid, string path)
    {
        Pid = pid;
        Path = path;
    }

    /// <summary>The process id (the same process runs stage two, then the program).</summary>
    public int Pid { get; }

    /// <summary>The resolved path of the program.</summary>
    public string Path { get; }

    /// <summary>Sends <paramref name="signal"/> to the program, unless it has already been reaped.</summary>
    public void Signal(int signal)
    {
        lock (_gate)
        {
            if (_status is null) kill(Pid, signal);
        }
    }

    /// <summary>Kills the program (SIGKILL).</summary>
    public void Kill() => Signal(SIGKILL);

    /// <summary>Waits for the program to end (EINTR is retried) and reaps it.</summary>
    public unsafe ExitStatus WaitForExit()
    {
        if (_status is { } done) return done;
        // Wait without reaping (WNOWAIT), then reap and record the status under the lock Signal takes. Reaped outside it,
        // the pid was free for the kernel to reuse while _status still said "running", and a concurrent Signal (a SIGTERM
        // relayed by the CLI) could kill(2) whatever process got it next.
        siginfo_t info;
        // SAFETY: `info` is a local siginfo_t (128 bytes, as the kernel writes it), alive for every call.
        siginfo_t* infoAddress = &info;
        var (waited, e) = Errors.RetryEintr(() => waitid(P_PID, Pid, infoAddress, WEXITED | WNOWAIT));
        if (waited != 0)
            throw new ErrnoException($"waitid({Pid})", e, e == Errno.ECHILD ? "someone else reaped the program (is SIGCHLD ignored?)" : "");
        lock (_gate)
        {
            if (_status is { } reaped) return reaped;
            int status;
            // SAFETY: `status` is a local int the kernel fills. The program has exited (above): this returns at once.
            int* statusAddress = &status;
            var (r, errno) = Errors.RetryEintr(() => waitpid(Pid, statusAddress, 0));
            if (r != Pid)
                throw new ErrnoException($"waitpid({Pid})", errno, errno == Errno.ECHILD ? "someone else reaped the program (is SIGCHLD ignored?)" : "");
            var result = WIFEXITED(status) ? new ExitStatus(WEXITSTATUS(status), null, false) : new ExitStatus(null, WTERMSIG(status), WCOREDUMP(status));
            _status = result;
            return result;
        }
    }

    /// <summary>
    /// Nothing to release (the process is reaped by <see cref="WaitForExit"/>; diagnostics belong to the observer given
    /// to the launch); disposing neither stops nor reaps the program. Kept so that <c>using</c> scopes stay valid.
    /// </summary>
    public void Dispose() { }
}
