namespace SeccompKit.Linux.Launch;

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
