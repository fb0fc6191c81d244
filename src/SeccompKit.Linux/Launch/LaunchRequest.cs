using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Launch;

/// <summary>What to start and under which filter.</summary>
public sealed record LaunchRequest
{
    /// <summary>Creates a request for <paramref name="program"/> (a path, or a name searched on PATH) with its arguments.</summary>
    public LaunchRequest(string program, IReadOnlyList<string> arguments, BpfProgram filter)
    {
        Program = program;
        Arguments = arguments;
        Filter = filter ?? throw new ArgumentNullException(nameof(filter));
    }

    /// <summary>The program: a path, or a name searched on PATH like execvp(3).</summary>
    public string Program { get; }

    /// <summary>Its arguments (not including argv[0], which is <see cref="Program"/> as given).</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>The filter, installed on the new process just before execve.</summary>
    public BpfProgram Filter { get; }

    /// <summary>Filter flags; <see cref="SeccompFilterFlags.Log"/> logs every action but ALLOW.</summary>
    public SeccompFilterFlags Flags { get; init; }

    /// <summary>Set no_new_privs first (required unless the caller has CAP_SYS_ADMIN). Default true.</summary>
    public bool SetNoNewPrivileges { get; init; } = true;

    /// <summary>
    /// Told the process id as soon as the process exists, before it can run the program: e.g. a <see cref="KillObserver"/>
    /// (opened by the caller before the launch) that then explains a seccomp kill. Null: nobody watches. The launcher
    /// opens nothing of its own for diagnostics.
    /// </summary>
    public ILaunchObserver? Observer { get; init; }

    /// <summary>How to start stage two; default <see cref="StageCommand.Default"/>.</summary>
    public StageCommand? Stage { get; init; }
}
