// The C# side of bench/learn/run.sh, through SeccompKit.Linux's public API; this executable is its own launcher's
// stage two (StageTwo.RunIfRequested first).
//
//   SeccompKit.LearnBench rtt --label L [--sync] [--respond continue|return] [--concurrency N] -- PROGRAM [ARGS...]
//     The notification round trip, the job native/notify-rtt's `supervise` mode does with libseccomp: starts PROGRAM
//     (native/notify-rtt target ...) with SandboxLauncher under a filter that allows everything and notifies getppid,
//     optionally with SYNC_WAKE_UP, answers each notification from a NotificationSupervisor with Continue or
//     Return(4242), and prints one JSON line of the same shape after the program has exited. --concurrency sets
//     NotificationSupervisor.MaxConcurrency (bench/notify's many-target runs; native/notify-rtt many is the program).
//
//   SeccompKit.LearnBench learn --label L --out FILE [--sync on|off] -- PROGRAM [ARGS...]
//     What `seccompkit learn` does up to the recording (LearningSession: notify every syscall, answer Continue,
//     record), with SYNC_WAKE_UP on or off (the CLI always asks for it), timed from the filter's installation to the
//     end of supervision, with this process's and its children's CPU time and context switches (getrusage) split
//     into supervisor and program. Appends one JSON line to FILE (the program keeps standard output).
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SeccompKit.Compiler;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Learn;
using SeccompKit.Linux.Supervise;
using SeccompKit.Policy;

if (StageTwo.RunIfRequested(args)) return 0;

const string Usage =
    "usage: SeccompKit.LearnBench rtt --label L [--sync] [--respond continue|return] [--concurrency N] -- PROGRAM [ARGS...]\n" +
    "       SeccompKit.LearnBench learn --label L --out FILE [--sync on|off] -- PROGRAM [ARGS...]";
if (args.Length < 1 || args[0] is not ("rtt" or "learn")) { Console.Error.WriteLine(Usage); return 2; }
bool learnMode = args[0] == "learn";
string? label = null, outFile = null;
bool sync = learnMode, returnValue = false;
int concurrency = 1;
int i = 1;
for (; i < args.Length; i++)
{
    if (args[i] == "--label" && i + 1 < args.Length) label = args[++i];
    else if (!learnMode && args[i] == "--sync") sync = true;
    else if (learnMode && args[i] == "--sync" && i + 1 < args.Length && args[i + 1] is "on" or "off") sync = args[++i] == "on";
    else if (learnMode && args[i] == "--out" && i + 1 < args.Length) outFile = args[++i];
    else if (!learnMode && args[i] == "--respond" && i + 1 < args.Length && args[i + 1] is "continue" or "return") returnValue = args[++i] == "return";
    else if (!learnMode && args[i] == "--concurrency" && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out concurrency)) i++;
    else if (args[i] == "--") { i++; break; }
    else { Console.Error.WriteLine(Usage); return 2; }
}
if (label is null || label.Contains('"') || label.Contains('\\') || i >= args.Length || (learnMode && outFile is null)) { Console.Error.WriteLine(Usage); return 2; }
string program = args[i];
string[] programArgs = args[(i + 1)..];
return learnMode ? Bench.Learn(label, outFile!, sync, program, programArgs) : Bench.RoundTrip(label, sync, returnValue, concurrency, program, programArgs);

internal static class Bench
{
    public static int RoundTrip(string label, bool sync, bool returnValue, int concurrency, string program, string[] programArgs)
    {
        var policy = new SeccompPolicy(PolicyAction.Allow, [new SyscallRule("getppid", PolicyAction.UserNotif)]);
        var filter = PolicyCompiler.Compile(policy).Program;
        using var pending = SandboxLauncher.Prepare(program, programArgs, observer: null, StageCommand.ForCurrentProcess());
        var launch = pending.StartSupervised(filter);
        using var listener = launch.Listener;
        if (sync && !listener.TryEnableSyncWakeUp())
        {
            Console.Error.WriteLine("SeccompKit.LearnBench: this kernel has no SYNC_WAKE_UP (Linux 6.6)");
            launch.Process.Kill();
            launch.Process.WaitForExit();
            return 120;
        }
        var answer = returnValue ? NotificationResponse.Return(4242) : NotificationResponse.Continue;
        using var supervisor = new NotificationSupervisor(listener, new Answer(answer)) { MaxConcurrency = concurrency };
        var loop = supervisor.Start();
        using var process = launch.WaitUntilRunning();
        var status = process.WaitForExit();
        var exit = loop.GetAwaiter().GetResult();
        var stats = supervisor.Statistics;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"role\": \"supervisor\", \"label\": \"{label}\", \"impl\": \"seccompkit\", \"threads\": {concurrency}, \"blocking\": {Json(supervisor.BlockingReceive)}, \"pid\": {Environment.ProcessId}, \"sync\": {Json(listener.SyncWakeUp)}, " +
            $"\"respond\": \"{(returnValue ? "return" : "continue")}\", \"notifications\": {stats.Answered}, \"targetsGone\": {stats.TargetsGone}, " +
            $"\"loopExit\": \"{exit}\", \"exit\": {status.ShellCode}}}"));
        return status.ShellCode;
    }

    public static int Learn(string label, string outFile, bool sync, string program, string[] programArgs)
    {
        using var pending = LearningSession.Prepare(program, programArgs, new LearnOptions { SyncWakeUp = sync, Stage = StageCommand.ForCurrentProcess() });
        var self0 = Usage(RUSAGE_SELF);
        var clock = Stopwatch.StartNew();
        using var session = pending.Start();
        var status = session.WaitForExit();
        clock.Stop();
        var self = Usage(RUSAGE_SELF) - self0;
        var children = Usage(RUSAGE_CHILDREN); // the program only: stage two is the same process (it execs the program)
        var stats = session.Statistics;
        File.AppendAllText(outFile, string.Create(CultureInfo.InvariantCulture,
            $"{{\"label\": \"{label}\", \"sync\": {Json(session.SyncWakeUp)}, \"seconds\": {clock.Elapsed.TotalSeconds:0.######}, " +
            $"\"notifications\": {stats.Answered}, \"received\": {stats.Received}, \"targetsGone\": {stats.TargetsGone}, " +
            $"\"supervisor\": {self.ToJson()}, \"program\": {children.ToJson()}, \"exit\": {status.ShellCode}}}\n"));
        return status.ShellCode;
    }

    private static string Json(bool b) => b ? "true" : "false";

    private const int RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1;

    private readonly record struct Times(double UserS, double SysS, long Voluntary, long Involuntary)
    {
        public static Times operator -(Times a, Times b) => new(a.UserS - b.UserS, a.SysS - b.SysS, a.Voluntary - b.Voluntary, a.Involuntary - b.Involuntary);

        public string ToJson() => string.Create(CultureInfo.InvariantCulture,
            $"{{\"userS\": {UserS:0.######}, \"sysS\": {SysS:0.######}, \"voluntarySwitches\": {Voluntary}, \"involuntarySwitches\": {Involuntary}}}");
    }

    private static Times Usage(int who)
    {
        if (getrusage(who, out var r) != 0) throw new InvalidOperationException($"getrusage: errno {Marshal.GetLastPInvokeError()}");
        return new(r.ru_utime.Seconds, r.ru_stime.Seconds, r.ru_nvcsw, r.ru_nivcsw);
    }

#pragma warning disable CS8981 // C names verbatim (STYLE)
    // struct timeval and struct rusage (getrusage(2)), x86_64: two struct timeval, then 14 longs.
    [StructLayout(LayoutKind.Sequential)]
    private struct timeval
    {
        public long tv_sec, tv_usec;
        public readonly double Seconds => tv_sec + tv_usec / 1e6;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct rusage
    {
        public timeval ru_utime, ru_stime;
        public long ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt, ru_nswap, ru_inblock, ru_oublock, ru_msgsnd, ru_msgrcv, ru_nsignals, ru_nvcsw, ru_nivcsw;
    }

#pragma warning restore CS8981

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, out rusage usage);
}

/// <summary>Answers every notification the same way.</summary>
internal sealed class Answer(NotificationResponse response) : INotificationHandler
{
    public NotificationResponse Handle(in SeccompNotification notification, NotificationContext context) => response;
}
