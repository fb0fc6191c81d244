using System.Text;
using SeccompKit.Compiler;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Supervise;
using SeccompKit.Linux.Tests.Launch;
using SeccompKit.Policy;

namespace SeccompKit.Linux.Tests.Supervise;

/// <summary>Runs a real program under a notifying filter, supervised in this process; stage two is TestVictim's.</summary>
internal static class Supervised
{
    public sealed record Result(ExitStatus Status, string Out, string Err, SupervisorStatistics Stats, SupervisorExit Exit, List<Exception> Faults);

    /// <summary>A policy: ALLOW by default, USER_NOTIF for <paramref name="notified"/> (or notify everything when null).</summary>
    public static SeccompPolicy Notify(params string[]? notified) => notified is null
        ? new SeccompPolicy(PolicyAction.UserNotif, [])
        : new SeccompPolicy(PolicyAction.Allow, notified.Select(n => new SyscallRule(n, PolicyAction.UserNotif)));

    public static Result Run(SeccompPolicy policy, INotificationHandler handler, string program, params string[] args) =>
        Run(policy, handler, null, program, args);

    public static Result Run(SeccompPolicy policy, INotificationHandler handler, Action<SandboxedProcess>? whileRunning, string program, params string[] args) =>
        Run(policy, handler, 1, whileRunning, program, args);

    /// <summary>As above, with <see cref="NotificationSupervisor.MaxConcurrency"/> set to <paramref name="concurrency"/>.</summary>
    public static Result Run(SeccompPolicy policy, INotificationHandler handler, int concurrency, Action<SandboxedProcess>? whileRunning, string program, params string[] args) =>
        Run(policy, handler, concurrency, SeccompKit.Linux.Kernel.SeccompFilterFlags.None, whileRunning, program, args);

    /// <summary>As above, the filter installed with <paramref name="flags"/> (NEW_LISTENER is added).</summary>
    public static Result Run(SeccompPolicy policy, INotificationHandler handler, int concurrency, SeccompKit.Linux.Kernel.SeccompFilterFlags flags, Action<SandboxedProcess>? whileRunning, string program, params string[] args)
    {
        var compiled = PolicyCompiler.Compile(policy);
        string dir = Directory.CreateTempSubdirectory("skit-sup").FullName;
        string outFile = Path.Combine(dir, "out"), errFile = Path.Combine(dir, "err");
        // The program's output goes to files through a small sh wrapper (which runs under the same filter, then execs it).
        var faults = new List<Exception>();
        // A static program gets the static busybox sh as its wrapper, so that no dynamic loader opens libraries.
        string[] shell = program == "/bin/busybox" ? ["/bin/busybox", "sh"] : ["/bin/sh"];
        using var pending = SandboxLauncher.Prepare(shell[0], [.. shell[1..], "-c", $"exec \"$0\" \"$@\" >'{outFile}' 2>'{errFile}' </dev/null", program, .. args],
            stage: new StageCommand(Victim.Path, []));
        var launch = pending.StartSupervised(compiled.Program, flags);
        using var listener = launch.Listener;
        using var supervisor = new NotificationSupervisor(listener, handler) { Faulted = (_, e) => { lock (faults) faults.Add(e); }, MaxConcurrency = concurrency };
        var loop = supervisor.Start();
        var process = launch.WaitUntilRunning();
        whileRunning?.Invoke(process);
        var status = process.WaitForExit();
        if (!loop.Wait(TimeSpan.FromSeconds(20))) throw new TimeoutException("the supervisor did not see POLLHUP after the program exited");
        process.Dispose();
        string o = File.Exists(outFile) ? File.ReadAllText(outFile) : "", e = File.Exists(errFile) ? File.ReadAllText(errFile) : "";
        Directory.Delete(dir, true);
        return new Result(status, o, e, supervisor.Statistics, loop.Result, faults);
    }

    /// <summary>
    /// Performs the open(at) of notification <paramref name="n"/> in the supervisor and injects the result: the safe way to
    /// allow an open whose path was read (absolute paths only; flags and mode as the target passed them).
    /// </summary>
    public static NotificationResponse OpenOnBehalf(in SeccompNotification n, NotificationContext ctx, int openatNr)
    {
        bool at = n.Nr == openatNr;
        string? path = ctx.ReadString(n.Arg(at ? 1 : 0));
        if (path is null || !path.StartsWith('/')) return NotificationResponse.Fail(Errno.EINVAL);
        int fd = OpenRaw(path, (int)n.Arg(at ? 2 : 1), (int)n.Arg(at ? 3 : 2));
        return fd < 0 ? NotificationResponse.Fail((Errno)System.Runtime.InteropServices.Marshal.GetLastPInvokeError())
            : NotificationResponse.InjectFd(new SafeHandles.SafeFileDescriptorHandle(fd), closeOnExec: (n.Arg(at ? 2 : 1) & 0x80000) != 0);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenRaw([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    /// <summary>A handler from a lambda.</summary>
    public sealed class Handler(Func<SeccompNotification, NotificationContext, NotificationResponse> decide) : INotificationHandler
    {
        public NotificationResponse Handle(in SeccompNotification notification, NotificationContext context) => decide(notification, context);
    }
}
