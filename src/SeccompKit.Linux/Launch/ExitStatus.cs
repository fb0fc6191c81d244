using System.Globalization;

namespace SeccompKit.Linux.Launch;

/// <summary>How a process ended.</summary>
/// <param name="ExitCode">Its exit status, when it exited.</param>
/// <param name="Signal">The signal that killed it, when it was killed.</param>
/// <param name="CoreDumped">Whether a core was dumped.</param>
public readonly record struct ExitStatus(int? ExitCode, int? Signal, bool CoreDumped)
{
    /// <summary>SIGSYS, the signal of a seccomp kill (and of an unhandled TRAP).</summary>
    public const int SIGSYS = 31;

    /// <summary>What a shell would report: the exit code, or 128 + the signal.</summary>
    public int ShellCode => ExitCode ?? 128 + (Signal ?? 0);

    /// <summary>Killed by SIGSYS?</summary>
    public bool KilledBySigsys => Signal == SIGSYS;

    /// <summary>"exit status 3" or "killed by signal 31 (SIGSYS)".</summary>
    public string Describe() => ExitCode is { } c
        ? string.Create(CultureInfo.InvariantCulture, $"exit status {c}")
        : string.Create(CultureInfo.InvariantCulture, $"killed by signal {Signal} ({SignalName(Signal ?? 0)}){(CoreDumped ? ", core dumped" : "")}");

    /// <summary>The conventional name of a Linux x86_64 signal number.</summary>
    public static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 5 => "SIGTRAP", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE",
        9 => "SIGKILL", 10 => "SIGUSR1", 11 => "SIGSEGV", 12 => "SIGUSR2", 13 => "SIGPIPE", 14 => "SIGALRM", 15 => "SIGTERM",
        24 => "SIGXCPU", 25 => "SIGXFSZ", 31 => "SIGSYS",
        _ => "signal " + signal.ToString(CultureInfo.InvariantCulture),
    };
}
