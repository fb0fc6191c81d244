using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace SeccompKit.Cli.Tests;

/// <summary>The C helpers of the signal tests (Signals/*.c), built with gcc once per test run.</summary>
internal static class SignalHelpers
{
    private static readonly Lazy<string> Dir = new(Build);

    /// <summary>Signals/jobctl.c: runs a program as a job-control shell runs a foreground job.</summary>
    public static string JobControl => Path.Combine(Dir.Value, "jobctl");

    /// <summary>Signals/signal-threads.c: three sleeping threads, SIGWINCH and SIGCHLD handlers.</summary>
    public static string Threads => Path.Combine(Dir.Value, "signal-threads");

    /// <summary>
    /// The signal suites run many cases at once, each a thread that waits on processes (synchronously: a case must not
    /// lose its time slot to an await). Reading their pipes asynchronously needs thread-pool threads besides, and the pool
    /// adds threads slowly (about one a second) once all are blocked: a 1.5 s sleep could end before a case looked.
    /// </summary>
    public static void EnoughThreads()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        if (workers < 64) ThreadPool.SetMinThreads(64, Math.Max(io, 64));
    }

    /// <summary>Runs <paramref name="work"/> on a thread of its own, after <paramref name="slots"/> gives it a turn.</summary>
    public static Task<T> OnOwnThread<T>(SemaphoreSlim slots, Func<T> work) =>
        Task.Factory.StartNew(() =>
        {
            slots.Wait();
            try { return work(); }
            finally { slots.Release(); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static string Build()
    {
        var dir = Directory.CreateTempSubdirectory("seccompkit-signal-helpers-").FullName;
        foreach (var (name, flags) in new[] { ("jobctl", new[] { "-Wextra" }), ("signal-threads", new[] { "-Wextra", "-pthread" }) })
            NativeHelper.Compile(Path.Combine(AppContext.BaseDirectory, "Signals", name + ".c"), Path.Combine(dir, name), flags, []);
        return dir;
    }
}

/// <summary>What /proc says about a process and its threads (the tests run as root, so every process is readable).</summary>
internal static partial class Procfs
{
    /// <summary>The state letter of a task (R, S, D, T, t, Z...), or null when it is gone.</summary>
    public static char? State(int pid, int? tid = null)
    {
        try
        {
            var stat = File.ReadAllText(tid is { } t ? $"/proc/{pid}/task/{t}/stat" : $"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Gone or a zombie: it will run no more.</summary>
    public static bool Ended(int pid) => State(pid) is null or 'Z' or 'X';

    /// <summary>The thread ids of a process (empty when it is gone).</summary>
    public static int[] Threads(int pid)
    {
        try { return [.. Directory.GetDirectories($"/proc/{pid}/task").Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture))]; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>The syscall number a thread is blocked in (/proc/PID/task/TID/syscall), or null when it runs or is gone.</summary>
    public static long? BlockedIn(int pid, int tid)
    {
        try
        {
            var first = File.ReadAllText($"/proc/{pid}/task/{tid}/syscall").Split(' ')[0].Trim();
            return long.TryParse(first, CultureInfo.InvariantCulture, out var nr) && nr >= 0 ? nr : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The children of a process, whichever of its threads started them.</summary>
    public static int[] Children(int pid) =>
        [.. Threads(pid).SelectMany(t =>
        {
            try { return File.ReadAllText($"/proc/{pid}/task/{t}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
        }).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).Distinct()];

    /// <summary>Every process below <paramref name="pid"/>, nearest first.</summary>
    public static List<int> Descendants(int pid)
    {
        var all = new List<int>();
        for (var level = Children(pid).ToList(); level.Count > 0; level = [.. level.SelectMany(Children)]) all.AddRange(level);
        return all;
    }

    /// <summary>/proc/PID/cmdline (NUL-separated), or empty when it is gone.</summary>
    public static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    /// <summary>Polls <paramref name="condition"/> every 2 ms until it holds; false after <paramref name="timeout"/>.</summary>
    public static bool WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) return false;
            Thread.Sleep(2);
        }
        return true;
    }

    /// <summary>kill(2): a negative pid is a process group.</summary>
    public static void Kill(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>kill(2) of a process that may have ended meanwhile: false if it had.</summary>
    public static bool TryKill(int pid, int signal) => kill(pid, signal) == 0;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}

/// <summary>How a job ended, as a shell reports it.</summary>
internal sealed record JobResult(int Exit, string Out, string Err)
{
    public override string ToString() => $"exit {Exit}, stdout [{Out.TrimEnd()}], stderr [{Err.TrimEnd()}]";
}

/// <summary>
/// A command run as a foreground job (Signals/jobctl.c): its own process group in a new session, standard input kept open
/// until <see cref="Finish"/>. <see cref="Leader"/> is the group (the command: seccompkit, or the bare program);
/// <see cref="Program"/> is the program itself (the leader, or seccompkit's child that stage two became).
/// </summary>
internal sealed class Job : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Process _shell;
    private readonly Task<string> _stderr;
    private readonly StringBuilder _stdout = new();
    private readonly string _command;

    private Job(Process shell, string command)
    {
        _shell = shell;
        _command = command;
        _stderr = shell.StandardError.ReadToEndAsync();
    }

    /// <summary>The job's process (and process group) id.</summary>
    public int Leader { get; private set; }

    /// <summary>The program's pid (known after <see cref="WaitUntilReady"/>).</summary>
    public int Program { get; private set; }

    /// <summary>Starts <paramref name="argv"/> under jobctl; <paramref name="viaSeccompkit"/>: the program is the leader's child.</summary>
    public static Job Start(IReadOnlyList<string> argv, string cwd, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(SignalHelpers.JobControl)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = cwd,
        };
        foreach (var a in argv) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var job = new Job(Process.Start(psi)!, string.Join(' ', argv));
        Assert.True(Procfs.WaitFor(() => Procfs.Children(job._shell.Id).Length > 0 || job._shell.HasExited, Patience), $"jobctl did not start {job._command}");
        job.Leader = Procfs.Children(job._shell.Id).FirstOrDefault();
        return job;
    }

    /// <summary>
    /// Waits for the line "ready" on standard output, then until the program's main thread is blocked in syscall
    /// <paramref name="blockedIn"/> and every other thread of it is asleep in some syscall: the deterministic point
    /// at which the tests deliver their event.
    /// </summary>
    public void WaitUntilReady(long blockedIn, bool viaSeccompkit)
    {
        var line = _shell.StandardOutput.ReadLineAsync();
        if (!line.Wait(Patience) || line.Result != "ready")
            throw new Xunit.Sdk.XunitException($"{_command}: no \"ready\" line ({(line.IsCompleted ? $"got [{line.Result}]" : "timeout")}); stderr: {Stderr()}");
        _stdout.Append(line.Result).Append('\n');
        if (viaSeccompkit)
        {
            // Stage two became the program: seccompkit's only child.
            Assert.True(Procfs.WaitFor(() => Procfs.Children(Leader).Length == 1, Patience), $"seccompkit (pid {Leader}) has no single child: {string.Join(' ', Procfs.Children(Leader))}");
            Program = Procfs.Children(Leader)[0];
        }
        else Program = Leader;
        bool blocked = Procfs.WaitFor(() =>
        {
            var threads = Procfs.Threads(Program);
            return threads.Length > 0 && Procfs.BlockedIn(Program, Program) == blockedIn
                && threads.All(t => Procfs.State(Program, t) == 'S' && Procfs.BlockedIn(Program, t) is not null);
        }, Patience);
        Assert.True(blocked, $"{_command}: pid {Program} never blocked in syscall {blockedIn} with every thread asleep " +
            $"({string.Join(", ", Procfs.Threads(Program).Select(t => $"{t}: {Procfs.State(Program, t)} in {Procfs.BlockedIn(Program, t)}"))})");
    }

    /// <summary>Writes <paramref name="stdin"/> (if the program still reads), closes standard input, waits for the end.</summary>
    public JobResult Finish(string stdin = "")
    {
        try
        {
            _shell.StandardInput.Write(stdin);
            _shell.StandardInput.Close();
        }
        catch (IOException) { } // the program ended and closed the pipe: nothing more to read
        var rest = _shell.StandardOutput.ReadToEndAsync();
        if (!_shell.WaitForExit(Patience) || !rest.Wait(Patience))
        {
            Kill();
            throw new TimeoutException($"{_command} did not end within {Patience.TotalSeconds} s; stdout so far [{_stdout}]");
        }
        _shell.WaitForExit();
        return new JobResult(_shell.ExitCode, _stdout + rest.Result, _stderr.Result);
    }

    private string Stderr() => _stderr.IsCompleted ? _stderr.Result : "(still open)";

    private void Kill()
    {
        if (Leader > 0) try { Procfs.Kill(-Leader, 9); } catch (InvalidOperationException) { }
        try { _shell.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        if (!_shell.HasExited) Kill();
        _shell.Dispose();
    }
}

/// <summary>The events the signal tests deliver that take more than a kill(2).</summary>
internal static class SignalEvents
{
    /// <summary>Stops <paramref name="target"/> (a pid, or -group) with <paramref name="stop"/>, waits until every thread of <paramref name="program"/> is stopped, continues it.</summary>
    public static void StopThenContinue(int target, int program, int stop)
    {
        Procfs.Kill(target, stop);
        // Every thread in a group stop, then continued: the kernel restarts what they slept in.
        Assert.True(Procfs.WaitFor(() => Procfs.Threads(program).All(t => Procfs.State(program, t) == 'T'), TimeSpan.FromSeconds(10)),
            $"pid {program} did not stop on signal {stop}");
        Procfs.Kill(target, 18);
        Assert.True(Procfs.WaitFor(() => Procfs.State(program) != 'T', TimeSpan.FromSeconds(10)), $"pid {program} did not continue");
    }

    /// <summary>strace seizes every thread (PTRACE_SEIZE, PTRACE_INTERRUPT), follows its syscalls, and detaches on SIGINT.</summary>
    public static void Strace(int pid)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("strace", ["-f", "-o", "/dev/null", "-p", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardError = true, RedirectStandardOutput = true,
        };
        using var strace = System.Diagnostics.Process.Start(psi)!;
        var attached = strace.StandardError.ReadLineAsync();
        Assert.True(attached.Wait(TimeSpan.FromSeconds(10)) && attached.Result?.Contains("attached", StringComparison.Ordinal) == true,
            $"strace -p {pid}: {(attached.IsCompleted ? attached.Result : "no message")}");
        // Every thread stopped and resumed once under the tracer before it lets go. strace ends by itself when the tracee
        // dies (the controls), else detaches on SIGINT and exits 130.
        Thread.Sleep(20);
        if (!strace.HasExited) Procfs.TryKill(strace.Id, 2);
        var rest = strace.StandardError.ReadToEndAsync();
        Assert.True(strace.WaitForExit(10_000), "strace did not detach");
        Assert.True(strace.ExitCode is 0 or 130, $"strace exited {strace.ExitCode}: {rest.Result}");
    }

    /// <summary><c>seccompkit dump</c> in this process: PTRACE_SEIZE, PTRACE_INTERRUPT, read the filters, PTRACE_DETACH.</summary>
    public static void Dump(int pid, bool filtered)
    {
        var (exit, c) = TestConsole.Run("dump", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(exit == 0, c.StderrText);
        // Bare there is no filter, and dump reads /proc's Seccomp: 0 without attaching: the bare run is left alone.
        if (filtered) Assert.StartsWith("filter 0 of 1 (newest first)", c.StdoutText);
        else Assert.Contains("no seccomp filters", c.StdoutText + c.StderrText);
    }
}
