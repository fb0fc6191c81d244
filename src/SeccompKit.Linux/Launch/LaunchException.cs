namespace SeccompKit.Linux.Launch;

/// <summary>Why a program could not be started under a filter. The program did not run in any of these cases.</summary>
public enum LaunchFailure
{
    /// <summary>No such program (not a path, and not found on PATH).</summary>
    ProgramNotFound,
    /// <summary>The program exists but cannot be executed (not executable, a directory, wrong format).</summary>
    ProgramNotExecutable,
    /// <summary><c>prctl(PR_SET_NO_NEW_PRIVS)</c> failed in the new process.</summary>
    NoNewPrivilegesDenied,
    /// <summary>The kernel refused the filter (too long a stack, an unsupported flag, no no_new_privs).</summary>
    FilterRefused,
    /// <summary>The launcher's stage two could not start or broke its protocol.</summary>
    StageFailed,
}

/// <summary>A program could not be started under a filter; nothing of it ran.</summary>
public sealed class LaunchException : SeccompException
{
    /// <summary>Creates the exception.</summary>
    public LaunchException(LaunchFailure failure, string message, Errno errno = 0, int? stageSignal = null) : base(message)
    {
        Failure = failure;
        Errno = errno;
        StageSignal = stageSignal;
    }

    /// <summary>What went wrong.</summary>
    public LaunchFailure Failure { get; }

    /// <summary>The errno of the failed call, or 0.</summary>
    public Errno Errno { get; }

    /// <summary>
    /// The signal that ended the launcher's stage two before the program ran (a SIGINT or SIGTERM sent to the process
    /// group reaches it too), or null when it did not die of a signal.
    /// </summary>
    public int? StageSignal { get; }
}
