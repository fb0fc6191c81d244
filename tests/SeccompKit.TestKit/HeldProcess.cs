using System.Diagnostics;
using System.Globalization;
using SeccompKit.Bpf;

namespace SeccompKit.TestKit;

/// <summary>
/// Drives native/seccomp-hold (protocol at the top of native/seccomp-hold.c): a process holding known filters
/// that answers commands on stdin. <see cref="Pid"/> is the helper's child, a grandchild of the test process,
/// so that .NET's SIGCHLD handling never sees its ptrace stops. Shared by the library and CLI tests (SeccompKit.TestKit).
/// </summary>
public sealed class HeldProcess : IDisposable
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(20);
    private static readonly Lazy<string> Helper = new(BuildHelper);

    private readonly Process _helper;
    private readonly DirectoryInfo _dir;
    private readonly Task<string> _stderr;
    private bool _exited;

    private HeldProcess(Process helper, DirectoryInfo dir, int pid)
    {
        _helper = helper;
        _dir = dir;
        _stderr = helper.StandardError.ReadToEndAsync();
        Pid = pid;
    }

    /// <summary>The process holding the filters.</summary>
    public int Pid { get; }

    /// <summary>The helper binary (built from native/seccomp-hold.c on first use).</summary>
    public static string HelperPath => Helper.Value;

    /// <summary>
    /// Starts a process that installs <paramref name="filtersOldestFirst"/> in that order and waits for commands;
    /// with <paramref name="stopped"/> it stops itself (SIGSTOP) once the filters are in.
    /// </summary>
    public static HeldProcess Start(IReadOnlyList<Instruction[]> filtersOldestFirst, bool stopped = false)
    {
        var dir = Directory.CreateTempSubdirectory("seccompkit-hold-");
        var psi = new ProcessStartInfo(HelperPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (stopped) psi.ArgumentList.Add("--stop");
        for (int i = 0; i < filtersOldestFirst.Count; i++)
        {
            var file = Path.Combine(dir.FullName, $"installed-{i}.bpf");
            File.WriteAllBytes(file, BpfProgram.ToRaw(filtersOldestFirst[i]));
            psi.ArgumentList.Add(file);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {HelperPath}");
        var ready = ReadLine(process, "ready");
        if (ready is null || !ready.StartsWith("ready ", StringComparison.Ordinal))
        {
            process.WaitForExit(5000);
            throw new InvalidOperationException($"seccomp-hold did not get ready (said '{ready}', exit {(process.HasExited ? process.ExitCode : -1)}): {process.StandardError.ReadToEnd()}");
        }
        return new HeldProcess(process, dir, int.Parse(ready[6..], CultureInfo.InvariantCulture));
    }

    /// <summary>Issues <c>syscall(nr, 0, ...)</c> in the held process: its return value and errno.</summary>
    public (long Return, int Errno) Call(int nr)
    {
        var answer = Ask($"call {nr}");
        var parts = answer.Split(' ');
        if (parts.Length != 4 || parts[0] != "ret") throw new InvalidOperationException($"unexpected answer to 'call {nr}': {answer}");
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[3], CultureInfo.InvariantCulture));
    }

    /// <summary>How many SIGRTMIN+1 the held process has handled.</summary>
    public int Signals()
    {
        var answer = Ask("signals");
        return int.Parse(answer["signals ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>Sends a command and returns the first line of its answer.</summary>
    public string Ask(string command)
    {
        Send(command);
        return ReadLine(command);
    }

    /// <summary>Sends one command line.</summary>
    public void Send(string command)
    {
        _helper.StandardInput.WriteLine(command);
        _helper.StandardInput.Flush();
    }

    /// <summary>Reads one answer line, failing after a timeout.</summary>
    public string ReadLine(string what) =>
        ReadLine(_helper, what) ?? throw new InvalidOperationException($"seccomp-hold ended before answering '{what}' (exit {ExitCodeOrNone()}): {StderrSoFar()}");

    /// <summary>Tells the held process to exit with <paramref name="code"/>; returns the status the helper reports for it.</summary>
    public int Exit(int code)
    {
        Send($"exit {code}");
        if (!_helper.WaitForExit(AnswerTimeout)) throw new TimeoutException("seccomp-hold did not exit when told");
        _exited = true;
        return _helper.ExitCode;
    }

    /// <summary>The <c>State:</c> letter and <c>TracerPid:</c> of the held process.</summary>
    public (char State, int TracerPid) Status()
    {
        char state = '?';
        int tracer = -1;
        foreach (var line in File.ReadAllLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("State:", StringComparison.Ordinal)) state = line[6..].Trim()[0];
            else if (line.StartsWith("TracerPid:", StringComparison.Ordinal)) tracer = int.Parse(line[10..].Trim(), CultureInfo.InvariantCulture);
        }
        return (state, tracer);
    }

    /// <summary>
    /// <c>block KIND MS [FILE]</c>: a second thread of the held process blocks in system call <paramref name="kind"/>
    /// (native/seccomp-hold.c lists the kinds), after installing <paramref name="threadFilter"/> on itself only if given.
    /// Returns its thread id once it is about to make the call (see <see cref="WaitUntilBlocked"/>).
    /// </summary>
    public int Block(string kind, int ms, Instruction[]? threadFilter = null)
    {
        string command = $"block {kind} {ms.ToString(CultureInfo.InvariantCulture)}";
        if (threadFilter is not null)
        {
            var file = Path.Combine(_dir.FullName, $"thread-{Guid.NewGuid():n}.bpf");
            File.WriteAllBytes(file, BpfProgram.ToRaw(threadFilter));
            command += " " + file;
        }
        var answer = Ask(command);
        if (!answer.StartsWith("blocking ", StringComparison.Ordinal)) throw new InvalidOperationException($"'{command}' was answered '{answer}'");
        // notify kinds: the thread says "blocking" before its call; wait until the main thread has received the
        // notification, or an interrupt could withdraw one still queued (then nothing received is withdrawn).
        if (kind.StartsWith("notify", StringComparison.Ordinal) && ReadLine(command) is var received && received != "received")
            throw new InvalidOperationException($"'{command}' said '{received}' instead of 'received'");
        return int.Parse(answer["blocking ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// <c>loop KIND N SPIN MS</c>: a second thread alternates <paramref name="spinMicroseconds"/> of busy work with
    /// the call <paramref name="kind"/> (timeout <paramref name="ms"/>), <paramref name="count"/> times. Returns its
    /// thread id; <see cref="Looped"/> reads its summary.
    /// </summary>
    public int Loop(string kind, int count, int spinMicroseconds, int ms)
    {
        var answer = Ask(FormattableString.Invariant($"loop {kind} {count} {spinMicroseconds} {ms}"));
        if (!answer.StartsWith("looping ", StringComparison.Ordinal)) throw new InvalidOperationException($"'loop {kind}' was answered '{answer}'");
        return int.Parse(answer["looping ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>Ends the wait of the last blocked thread started the normal way for its kind (<c>wake</c>).</summary>
    public void Wake() => Send("wake");

    /// <summary>Ends the wait of blocked thread <paramref name="tid"/> (<c>wake TID</c>).</summary>
    public void Wake(int tid) => Send(FormattableString.Invariant($"wake {tid}"));

    /// <summary>Reads a blocked thread's <c>returned R errno E ms T tid TID</c> line.</summary>
    public (long Return, int Errno, long Milliseconds) Returned()
    {
        var (ret, errno, ms, _) = ReturnedWithTid();
        return (ret, errno, ms);
    }

    /// <summary>Reads a blocked thread's <c>returned R errno E ms T tid TID</c> line, with the thread's id.</summary>
    public (long Return, int Errno, long Milliseconds, int Tid) ReturnedWithTid()
    {
        var answer = ReadLine("returned");
        var p = answer.Split(' ');
        if (p.Length != 8 || p[0] != "returned") throw new InvalidOperationException($"expected 'returned R errno E ms T tid TID', got '{answer}'");
        return (long.Parse(p[1], CultureInfo.InvariantCulture), int.Parse(p[3], CultureInfo.InvariantCulture), long.Parse(p[5], CultureInfo.InvariantCulture), int.Parse(p[7], CultureInfo.InvariantCulture));
    }

    /// <summary>Reads the looping thread's <c>looped N bad B ms T</c> line.</summary>
    public (long Calls, long Bad, long Milliseconds) Looped()
    {
        var answer = ReadLine("looped");
        var p = answer.Split(' ');
        if (p.Length != 6 || p[0] != "looped") throw new InvalidOperationException($"expected 'looped N bad B ms T', got '{answer}'");
        return (long.Parse(p[1], CultureInfo.InvariantCulture), long.Parse(p[3], CultureInfo.InvariantCulture), long.Parse(p[5], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Waits until thread <paramref name="tid"/> sleeps (state S or D) in system call <paramref name="nr"/>, as
    /// <c>/proc/PID/task/TID/syscall</c> shows it.
    /// </summary>
    public void WaitUntilBlocked(int tid, int nr)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (!Directory.Exists($"/proc/{Pid}/task/{tid}"))
                throw new NotSeenBlockedException($"thread {tid} ended before it was seen blocked in syscall {nr} (its call returned at once, or this test was not scheduled for the call's whole timeout)");
            var (state, syscall) = ThreadState(tid);
            if (state is 'S' or 'D' && syscall == nr) return;
            if (clock.Elapsed > AnswerTimeout) throw new TimeoutException($"thread {tid} did not block in syscall {nr} (state {state}, syscall {syscall})");
            Thread.Sleep(2);
        }
    }

    /// <summary>The state letter of a thread of the held process and the number of the system call it is in (-1: none; -2: running).</summary>
    public (char State, int Syscall) ThreadState(int tid)
    {
        string task = $"/proc/{Pid}/task/{tid}";
        string stat = File.ReadAllText($"{task}/stat");
        char state = stat[stat.LastIndexOf(')') + 2];
        string first = File.ReadAllText($"{task}/syscall").Split(' ', '\n')[0];
        return (state, first == "running" ? -2 : int.Parse(first, CultureInfo.InvariantCulture));
    }

    /// <summary>Sends a signal with kill(1) (the tests have no P/Invoke of their own).</summary>
    public void Signal(string name)
    {
        var kill = ChildProcess.Run("kill", ["-s", name, Pid.ToString(CultureInfo.InvariantCulture)]);
        if (kill.Exit != 0) throw new InvalidOperationException($"kill -s {name} {Pid} failed with {kill.Exit}: {kill.Err}");
    }

    private static string? ReadLine(Process p, string what)
    {
        var read = p.StandardOutput.ReadLineAsync();
        if (!read.Wait(AnswerTimeout)) throw new TimeoutException($"seccomp-hold did not answer '{what}' within {AnswerTimeout.TotalSeconds} s");
        return read.Result;
    }

    private string ExitCodeOrNone() => _helper.HasExited ? _helper.ExitCode.ToString(CultureInfo.InvariantCulture) : "none yet";

    private string StderrSoFar() => _stderr.IsCompleted ? _stderr.Result : "(stderr still open)";

    /// <summary>Kills whatever still runs and removes the filter files.</summary>
    public void Dispose()
    {
        if (!_exited && !_helper.HasExited)
        {
            try { Process.GetProcessById(Pid).Kill(); } catch (Exception e) when (e is ArgumentException or InvalidOperationException) { }
            if (!_helper.WaitForExit(5000)) _helper.Kill();
        }
        _helper.Dispose();
        try { _dir.Delete(recursive: true); } catch (IOException) { }
    }

    private static string BuildHelper() => NativeHelper.Build("seccomp-hold", ["-pthread"], []);
}

/// <summary>
/// A timed call ended before the test saw it blocked: under a loaded machine the test thread may not run for the whole
/// timeout. A precondition of the experiment, not its outcome: a test may try again.
/// </summary>
public sealed class NotSeenBlockedException(string message) : InvalidOperationException(message);
