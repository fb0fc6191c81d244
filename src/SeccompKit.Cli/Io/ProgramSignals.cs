using System.Runtime.InteropServices;
using SeccompKit.Linux.Launch;

namespace SeccompKit.Cli.Io;

/// <summary>What `run` and `learn` share about the program they start: signals while it runs, and launch failures.</summary>
internal static class ProgramSignals
{
    /// <summary>
    /// While the result lives: Ctrl-C and Ctrl-\ reach the program from the terminal (same process group), so seccompkit
    /// only ignores them; a SIGTERM or SIGHUP sent to seccompkit alone is passed on to the program.
    /// </summary>
    public static IDisposable ForwardTo(SandboxedProcess process) => new Registrations(
    [
        PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true),
        PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => c.Cancel = true),
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; process.Signal(15); }),
        PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; process.Signal(1); }),
    ]);

    /// <summary>Prints a launch failure (the program did not run) and returns its exit code (120-127).</summary>
    public static int LaunchFailed(string command, LaunchException e, ICliConsole console)
    {
        console.Error.WriteLine($"seccompkit: {command}: {e.Message}");
        return e.Failure switch
        {
            LaunchFailure.ProgramNotFound => ExitCodes.RunNotFound,
            LaunchFailure.ProgramNotExecutable => ExitCodes.RunCannotExecute,
            LaunchFailure.NoNewPrivilegesDenied => ExitCodes.RunNoNewPrivsDenied,
            LaunchFailure.FilterRefused => ExitCodes.RunFilterRefused,
            _ => ExitCodes.RunLaunchFailed,
        };
    }

    private sealed class Registrations(PosixSignalRegistration[] all) : IDisposable
    {
        public void Dispose()
        {
            foreach (var r in all) r.Dispose();
        }
    }
}
