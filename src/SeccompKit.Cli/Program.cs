using SeccompKit.Cli;
using SeccompKit.Cli.Io;
using SeccompKit.Linux.Launch;

// `seccompkit run` re-executes this binary as the launcher's stage two, which installs the filter and
// execve's the program; it must be handled before anything else starts (and never returns).
if (StageTwo.RunIfRequested(args)) return ExitCodes.InternalError;
return CliApp.Run(args, SystemConsole.Instance);
