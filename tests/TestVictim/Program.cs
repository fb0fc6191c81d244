// TestVictim: deterministic child-process behaviours for the kernel tests. Each command prints KEY=VALUE lines.
//   tsync THREADS           filter the whole process (TSYNC) while THREADS threads wait; every thread then calls
//                           getppid, which the filter answers with ERRNO(77); prints one line per thread.
//   tsync-conflict          a thread installs its own filter first; TSYNC must fail naming that thread.
//   nnp                     prints no_new_privs and the seccomp mode before and after ApplyToCurrentProcess.
//   pad-full -- CMD ARGS    fills the filter stack with allow-all filters until not even a 1-instruction filter fits
//                           (the kernel's 32768-instruction budget), then execvp's CMD.
//   deny-nnp -- CMD ARGS    (root) installs, without no_new_privs, a filter that fails prctl(PR_SET_NO_NEW_PRIVS)
//                           with EPERM, as a confining security module might, then execvp's CMD.
//   launch PROGRAM ARGS     runs PROGRAM under an allow-all-but-personality-kill filter with SandboxLauncher, with this
//                           executable as stage two; prints the exit status.
//   forgetful-launch PIDS   launches `/bin/echo the program must not run` the same way, but as an application whose Main
//                           forgets StageTwo.RunIfRequested and ignores the rest of its arguments: stage two is this executable
//                           with "forgetful-launch PIDS" before the marker, so the copy started as stage two runs this command
//                           again. Each copy appends its pid to the file PIDS first (and stops at 10, so that a
//                           broken guard fails the test instead of filling the machine); prints pid= and the failure.
//   forgetful-exit          launches /bin/true with stage two "exit-quietly": an application that ignores its arguments and exits 0.
//   abandon-listener FILE   launches `/bin/sh -c ': > FILE'` under a filter that notifies execve (and allows the rest),
//                           takes the listener, prints pid= (stage two) and exits without answering: a supervisor that
//                           dies after the hand-over, before it answered stage two's execve.
//   agent SOCKET OUTPUT     a .NET program serving containers with SeccompAgent.RunAsync until SIGTERM, as `seccompkit agent`
//                           does; its session lets every notified call run and writes OUTPUT/ID.count.json; prints events.
using System.Globalization;
using System.Runtime.InteropServices;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.BpfOpcodes;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Launch;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Supervise;

if (StageTwo.RunIfRequested(args)) return 99;

switch (args.FirstOrDefault())
{
    case "tsync": return Tsync(int.Parse(args[1], CultureInfo.InvariantCulture));
    case "tsync-conflict": return TsyncConflict();
    case "nnp": return Nnp();
    case "pad-full": return PadFull(args[2..]);
    case "launch": return Launch(args[1], args[2..]);
    case "forgetful-launch": return ForgetfulLaunch(args[1]);
    case "forgetful-exit": return Launch("/bin/true", [], new StageCommand(Environment.ProcessPath!, ["exit-quietly"]));
    case "exit-quietly": return 0;
    case "agent": return Agent(args[1], args[2]);
    case "deny-nnp": return DenyNnp(args[2..]);
    case "abandon-listener": return AbandonListener(args[1]);
    default:
        Console.Error.WriteLine("usage: TestVictim tsync N | tsync-conflict | nnp | pad-full -- CMD... | launch PROGRAM ARGS... | forgetful-launch PIDS | forgetful-exit");
        return 2;
}

// getppid (x86_64 110) → ERRNO(77); everything else allowed. The arch is not checked: the victim only makes native calls.
static BpfProgram GetppidErrno77() => BpfProgram.Create(
[
    Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                  // A = nr
    Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 110, 0, 1),          // getppid?
    Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ERRNO | 77),
    Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW),
]);

static string Getppid()
{
    long r = Native.syscall(110);
    return r >= 0 ? "ok" : "errno" + Marshal.GetLastPInvokeError().ToString(CultureInfo.InvariantCulture);
}

static int Tsync(int threads)
{
    using var ready = new CountdownEvent(threads);
    using var go = new ManualResetEventSlim();
    var results = new string[threads];
    var tids = new int[threads];
    var list = new List<Thread>();
    for (int i = 0; i < threads; i++)
    {
        int k = i;
        var t = new Thread(() =>
        {
            tids[k] = Native.gettid();
            ready.Signal();
            go.Wait();
            results[k] = Getppid();
        });
        t.Start();
        list.Add(t);
    }
    ready.Wait();
    Console.WriteLine($"before={Getppid()}");
    SeccompKernel.ApplyToCurrentProcess(GetppidErrno77());
    go.Set();
    foreach (var t in list) t.Join();
    for (int i = 0; i < threads; i++) Console.WriteLine($"thread{i}={results[i]} tid={tids[i]}");
    Console.WriteLine($"main={Getppid()}");
    // Threads created after the install inherit the filter, thread-pool threads too.
    string late = "";
    var lt = new Thread(() => late = Getppid());
    lt.Start();
    lt.Join();
    Console.WriteLine($"late={late}");
    Console.WriteLine($"pool={Task.Run(Getppid).Result}");
    Console.WriteLine($"threads_in_process={Directory.GetDirectories("/proc/self/task").Length}");
    int filtered = 0, total = 0;
    foreach (var task in Directory.GetDirectories("/proc/self/task"))
    {
        total++;
        var status = File.ReadAllLines(Path.Combine(task, "status"));
        if (status.Any(l => l.StartsWith("Seccomp:", StringComparison.Ordinal) && l.EndsWith('2'))) filtered++;
    }
    Console.WriteLine($"tasks_filtered={filtered}/{total}");
    return 0;
}

static int TsyncConflict()
{
    int tid = 0;
    using var installed = new ManualResetEventSlim();
    using var release = new ManualResetEventSlim();
    SeccompKernel.SetNoNewPrivileges();
    var t = new Thread(() =>
    {
        tid = Native.gettid();
        SeccompKernel.InstallFilter(GetppidErrno77()); // this thread only: its stack is no longer an ancestor of main's
        installed.Set();
        release.Wait();
    }) { Name = "own-filter" };
    t.Start();
    installed.Wait();
    try
    {
        SeccompKernel.ApplyToCurrentProcess(GetppidErrno77());
        Console.WriteLine("result=installed");
    }
    catch (ThreadSynchronizationException e)
    {
        Console.WriteLine($"result=refused reported_tid={e.ThreadId} expected_tid={tid} name={e.ThreadName}");
        Console.WriteLine($"main_after={Getppid()}"); // nothing was installed on main
        Console.WriteLine($"message={e.Message}");
    }
    release.Set();
    t.Join();
    return 0;
}

static int Nnp()
{
    Console.WriteLine($"nnp_before={SeccompKernel.NoNewPrivileges} mode_before={SeccompKernel.Mode}");
    SeccompKernel.ApplyToCurrentProcess(GetppidErrno77());
    Console.WriteLine($"nnp_after={SeccompKernel.NoNewPrivileges} mode_after={SeccompKernel.Mode}");
    return 0;
}

static int PadFull(string[] command)
{
    int installed = 0, instructions = 0;
    SeccompKernel.SetNoNewPrivileges();
    for (int length = 4096; length >= 1; length /= 2)
    {
        var body = new List<Instruction>();
        for (int i = 0; i < length - 1; i++) body.Add(Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0)); // A = nr, again
        body.Add(Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW));
        var program = BpfProgram.Create(body.ToArray());
        while (true)
        {
            try { SeccompKernel.InstallFilter(program, SeccompFilterFlags.Tsync); }
            catch (SeccompKit.Linux.ErrnoException e) when (e.Errno == SeccompKit.Linux.Errno.ENOMEM) { break; }
            installed++;
            instructions += length;
        }
    }
    Console.Error.WriteLine($"pad-full: {installed} filters, {instructions} instructions");
    var argv = command.Append(null).ToArray();
    Native.execvp(command[0], argv);
    Console.Error.WriteLine($"execvp {command[0]}: errno {Marshal.GetLastPInvokeError()}");
    return 127;
}

static int DenyNnp(string[] command)
{
    var filter = BpfProgram.Create(
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),                          // A = nr
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 157, 0, 3),                  // prctl?
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 16),                         // A = option (low half of args[0])
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 38, 0, 1),                   // PR_SET_NO_NEW_PRIVS?
        Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ERRNO | 1),  // EPERM
        Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW),
    ]);
    // Root holds CAP_SYS_ADMIN, so the filter goes on without no_new_privs (which would defeat the test).
    SeccompKernel.InstallFilter(filter, SeccompFilterFlags.Tsync);
    Native.execvp(command[0], command.Append(null).ToArray());
    Console.Error.WriteLine($"execvp {command[0]}: errno {Marshal.GetLastPInvokeError()}");
    return 127;
}

static int ForgetfulLaunch(string pids)
{
    File.AppendAllText(pids, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
    if (File.ReadAllLines(pids).Length >= 10) return 3;
    Console.WriteLine(FormattableString.Invariant($"pid={Environment.ProcessId}"));
    return Launch("/bin/echo", ["the program must not run"], new StageCommand(Environment.ProcessPath!, ["forgetful-launch", pids]));
}

static int Launch(string program, string[] arguments, StageCommand? stage = null)
{
    // personality (x86_64 135) → KILL_PROCESS, the rest allowed (shells call getppid at start, nothing calls personality).
    var filter = BpfProgram.Create(
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 135, 0, 1),
        Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_KILL_PROCESS),
        Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW),
    ]);
    try
    {
        using var observer = KillObserver.Open();
        using var p = SandboxLauncher.Start(new LaunchRequest(program, arguments, filter) { Observer = observer, Stage = stage });
        var status = p.WaitForExit();
        Console.WriteLine($"status={status.Describe()}");
        if (status.KilledBySigsys && observer.FindKillRecord(p.Pid, TimeSpan.FromSeconds(2)) is { } r)
            Console.WriteLine($"killed_by={r.SyscallName} action={r.ActionName} pid_matches={r.Pid == p.Pid}");
        return 0;
    }
    catch (LaunchException e)
    {
        Console.WriteLine($"failure={e.Failure} errno={e.Errno}");
        if (stage is not null) Console.WriteLine("message=" + e.Message);
        return 0;
    }
}

static int AbandonListener(string file)
{
    // execve (x86_64 59) -> USER_NOTIF, the rest allowed.
    var filter = BpfProgram.Create(
    [
        Instruction.Stmt(BPF_LD | BPF_W | BPF_ABS, 0),
        Instruction.Jump(BPF_JMP | BPF_JEQ | BPF_K, 59, 0, 1),
        Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_USER_NOTIF),
        Instruction.Stmt(BPF_RET | BPF_K, SeccompReturn.SECCOMP_RET_ALLOW),
    ]);
    var pending = SandboxLauncher.Prepare("/bin/sh", ["-c", ": > " + file]);
    var launch = pending.StartSupervised(filter);
    Console.WriteLine($"pid={launch.Process.Pid}");
    Console.Out.Flush();
    // Dies with the listener in hand, stage two waiting in its notified execve (or about to call it).
    Native._exit(0);
    return 0;
}

// agent SOCKET OUTPUT: a .NET program serving containers with SeccompAgent.RunAsync until SIGTERM/SIGINT, as
// `seccompkit agent` does, with a session that lets every notified call run and counts them (OUTPUT/ID.count.json).
static int Agent(string socket, string output)
{
    using var stop = new CancellationTokenSource();
    using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
    SeccompAgent.RunAsync(new AgentOptions
    {
        SocketPath = socket,
        OutputDirectory = output,
        Sessions = c => new CountingAgentSession(c),
        Log = e => { lock (stop) Console.WriteLine($"event={e.Kind} {e.Message}"); },
    }, stop.Token).GetAwaiter().GetResult();
    return 0;
}

internal static partial class Native
{
    [DllImport("libc", SetLastError = true)]
    internal static extern long syscall(long nr);

    [DllImport("libc")]
    internal static extern int gettid();

    [DllImport("libc", SetLastError = true)]
    internal static extern int execvp(string file, string?[] argv);

    [DllImport("libc")]
    internal static extern void _exit(int status);
}

sealed class CountingAgentSession(AgentContainer container) : IContainerSession, INotificationHandler
{
    private int _count;

    public INotificationHandler Handler => this;

    public NotificationResponse Handle(in SeccompNotification notification, NotificationContext context)
    {
        Interlocked.Increment(ref _count);
        return NotificationResponse.Continue;
    }

    public ContainerOutcome Finish(ContainerEnd end)
    {
        string file = Path.Combine(container.OutputDirectory, container.Id + ".count.json");
        File.WriteAllText(file, $"{{\"end\":\"{end}\",\"count\":{_count}}}");
        return new ContainerOutcome($"{_count} calls", [file]);
    }

    public void Dispose() { }
}
