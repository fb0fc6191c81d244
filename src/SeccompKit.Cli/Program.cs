using SeccompKit.Cli;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Launch;

// `seccompkit run` re-executes this binary as the launcher's stage two, which installs the filter and
// execve's the program; it must be handled before anything else starts (and never returns). It opens nothing when it
// is not stage two. Stage two itself needs no repair below: its launcher gives it descriptors 0, 1 and 2 open
// (repaired here, or /dev/null: SandboxLauncher), and it must run exactly the code it prepared before its filter.
if (StageTwo.RunIfRequested(args)) return ExitCodes.InternalError;
// Then, before anything opens a file: a closed standard input, output or error gets /dev/null, or the next file opened
// would take its number (diagnostics written into a profile, a pipe).
StandardStreams.Repair();
// Limits too tight to finish (RLIMIT_NOFILE, RLIMIT_NPROC) are refused before anything is done, without the console
// (which itself needs a descriptor and a thread): run and learn with their launch-failure code, the program not run.
bool launches = args is ["run" or "learn", ..];
if (ResourceLimits.StartupProblem(launches) is { } limit)
{
    StandardStreams.WriteError($"seccompkit: {limit}; {(launches ? "the program did not run" : "nothing was done")}\n");
    return launches ? ExitCodes.RunLaunchFailed : ExitCodes.ResourceLimit;
}
return CliApp.RunOnEnoughStack(args, SystemConsole.Instance);
