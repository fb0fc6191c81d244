using SeccompKit.Cli;
using SeccompKit.Cli.Io;

return CliApp.Run(args, SystemConsole.Instance);
