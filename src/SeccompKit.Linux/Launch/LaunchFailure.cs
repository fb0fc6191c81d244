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
    /// <summary>
    /// The stage command's Main does not call <see cref="StageTwo.RunIfRequested"/> first: the process started as stage
    /// two ran the application instead, and launching from there would start another copy, and so on. The message says
    /// what to add to Main.
    /// </summary>
    StageNotHandled,
}
