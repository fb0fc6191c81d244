using SeccompKit.Linux;
using SeccompKit.Linux.Inspect;

namespace SeccompKit.Cli.Io;

/// <summary>Reading a live process's filters for <c>dump PID</c> and the analysis commands' <c>pid:N</c>, with one mapping of failures to exit codes.</summary>
public static class LiveFilters
{
    /// <summary>Reads the filters; refusals and errno failures become the documented exit codes.</summary>
    public static FilterDumpResult Read(int pid, FilterDumpOptions options)
    {
        try
        {
            return FilterDump.ReadInstructions(pid, options);
        }
        catch (DumpRefusedException e)
        {
            throw new CliInputException(
                $"{e.Message}\nTry again when it is busy, or wait longer for a harmless moment with --wait SECONDS" +
                (options.AvoidRestartSyscall && e.Threads.Any(t => t.Forecast == InterruptionForecast.RestartSyscall)
                    ? "; without --avoid-restart-syscall a thread asleep in a restart_syscall call would be read (carried through that call)"
                    : "") + ".",
                ExitCodes.DumpRefused);
        }
        catch (ErrnoException e) when (e.Errno == Errno.ESRCH)
        {
            throw new CliInputException(e.Message, ExitCodes.ProcessNotFound);
        }
        catch (ErrnoException e) when (e.Errno is Errno.EPERM or Errno.EACCES)
        {
            throw new CliInputException(e.Message, ExitCodes.PermissionDenied);
        }
    }

}
