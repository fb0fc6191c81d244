using System.Globalization;
using SeccompKit.Linux.Interop;

namespace SeccompKit.Linux.Kernel;

/// <summary>
/// The resource limits (getrlimit(2)) that can stop seccompkit part way: checked at start so that a limit too tight
/// is a clear refusal before anything is done (and before any program runs), never an exception from deep inside
/// the runtime.
/// </summary>
/// <remarks>
/// Measured (issue 17): under RLIMIT_NOFILE the NativeAOT binary needs 16 descriptors for every command (run and
/// learn included); the JIT build (<c>dotnet SeccompKit.Cli.dll</c>) maps two per assembly it loads and needs about
/// 66. Under RLIMIT_NPROC (which counts every thread of the user's processes, and does not apply to root) the NativeAOT
/// learn needs 8 tasks (itself, runtime threads, stage two, the program), the JIT build 16; a command that launches
/// nothing one more than the runtime's own threads. The minimums below are those with a margin.
/// </remarks>
public static class ResourceLimits
{
    /// <summary>
    /// Whether this is the JIT build: it needs more descriptors and threads than the NativeAOT binary. The host sets
    /// TRUSTED_PLATFORM_ASSEMBLIES (the assemblies it may load) for the JIT only; RuntimeFeature.IsDynamicCodeSupported
    /// cannot tell, as PublishAot sets it false in the JIT build's runtimeconfig too.
    /// </summary>
    private static bool Jit => AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is not null;

    /// <summary>The open-file limit seccompkit needs at least.</summary>
    public static int NeededFiles => Jit ? 128 : 32;

    /// <summary>How many more tasks (threads, processes) of its user seccompkit needs room for under RLIMIT_NPROC to launch a program.</summary>
    public static int NeededTasks => Jit ? 32 : 16;

    /// <summary>The same for a command that launches nothing (the runtime's own threads: the console's signal thread...).</summary>
    public static int NeededTasksWithoutLaunch => 2;

    /// <summary>
    /// Why seccompkit cannot work under this process's limits, or null; <paramref name="launches"/>: the command starts a
    /// program (run, learn), which needs more tasks. Raises the open-file soft limit up to the hard one first if needed
    /// (any process may). Never throws.
    /// </summary>
    public static unsafe string? StartupProblem(bool launches)
    {
        var files = Get(Limits.RLIMIT_NOFILE);
        if (files is { } f && f.Soft < (ulong)NeededFiles)
        {
            var raised = new Limits.rlimit { rlim_cur = Math.Min(f.Hard, (ulong)NeededFiles), rlim_max = f.Hard };
            // SAFETY: `raised` is a local of the kernel's struct rlimit layout, alive for the call.
            Limits.setrlimit(Limits.RLIMIT_NOFILE, &raised);
            if (f.Hard < (ulong)NeededFiles)
                return $"the open-file limit (RLIMIT_NOFILE) is {f.Hard}, and seccompkit needs at least {NeededFiles}: raise it (ulimit -n {NeededFiles}, or prlimit --nofile) and try again";
        }
        if (ProcessLimitProblem(launches ? NeededTasks : NeededTasksWithoutLaunch) is { } tasks) return tasks;
        return null;
    }

    /// <summary>
    /// Why a process or thread could not be started, when RLIMIT_NPROC is the likely cause (the user's tasks leave less
    /// than <paramref name="needed"/> free), or null. Root (real uid 0) is not limited by it (fork(2), clone(2)).
    /// </summary>
    public static string? ProcessLimitProblem(int needed = 2)
    {
        if (Limits.getuid() == 0) return null;
        if (Get(Limits.RLIMIT_NPROC) is not { } p || p.Soft >= 4096) return null; // high limits: not worth a scan of /proc at every start
        int used = TasksOfUser(Limits.getuid());
        if ((long)p.Soft - used >= needed) return null;
        return $"the process limit (RLIMIT_NPROC={p.Soft}) is reached or too close: this user runs {used} processes and threads, and seccompkit needs {needed} more: raise it (ulimit -u) or end some, and try again";
    }

    /// <summary>Whether the stack limit (RLIMIT_STACK, the main thread's stack) is below 1 MiB: the JIT compiler alone can overflow 64 KiB.</summary>
    public static bool SmallStack => Get(Limits.RLIMIT_STACK) is { } s && s.Soft < 1 << 20;

    private static unsafe (ulong Soft, ulong Hard)? Get(int resource)
    {
        var r = new Limits.rlimit();
        // SAFETY: `r` is a local of the kernel's struct rlimit layout for the kernel to fill.
        if (Limits.getrlimit(resource, &r) != 0) return null;
        return r.rlim_cur == Limits.RLIM_INFINITY ? null : (r.rlim_cur, r.rlim_max);
    }

    /// <summary>The tasks (threads) of the processes whose real uid is <paramref name="uid"/>: what RLIMIT_NPROC counts.</summary>
    private static int TasksOfUser(uint uid)
    {
        int count = 0;
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                string name = Path.GetFileName(dir);
                if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
                try
                {
                    uint? real = null;
                    int threads = 0;
                    foreach (var line in File.ReadLines(Path.Combine(dir, "status")))
                    {
                        if (line.StartsWith("Uid:", StringComparison.Ordinal))
                            real = uint.Parse(line.AsSpan(4).Trim().ToString().Split('\t')[0], CultureInfo.InvariantCulture);
                        else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                            threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
                    }
                    if (real == uid) count += Math.Max(threads, 1);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { } // gone meanwhile
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return count;
    }
}
