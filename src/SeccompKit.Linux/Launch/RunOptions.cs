namespace SeccompKit.Linux.Launch;

/// <summary>How <see cref="PolicyRunner"/> runs a program.</summary>
public sealed record RunOptions
{
    /// <summary>
    /// Install with SECCOMP_FILTER_FLAG_LOG (as a policy's own <c>log</c> flag does): the kernel logs every action but
    /// ALLOW, and <see cref="RunResult.Logged"/> lists what the filter refused. Default false.
    /// </summary>
    public bool Log { get; init; }

    /// <summary>Set no_new_privs first (needed unless the caller has CAP_SYS_ADMIN). Default true.</summary>
    public bool SetNoNewPrivileges { get; init; } = true;

    /// <summary>
    /// The observer that explains kills, open before the run. Null (the default): the run opens a
    /// <see cref="KillObserver"/> of its own when it is prepared and closes it at the end.
    /// </summary>
    public KillObserver? Observer { get; init; }

    /// <summary>How to start the launcher's stage two; default <see cref="StageCommand.Default"/>.</summary>
    public StageCommand? Stage { get; init; }

    /// <summary>
    /// How long to wait for the kernel's audit record of a kill (records reach user space a little after the event,
    /// through the kauditd thread). Default 2 s.
    /// </summary>
    public TimeSpan AuditWait { get; init; } = TimeSpan.FromSeconds(2);
}
