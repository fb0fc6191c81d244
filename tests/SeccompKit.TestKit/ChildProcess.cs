using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace SeccompKit.TestKit;

/// <summary>How a child process ended: its exit code, standard output and standard error, and its pid.</summary>
/// <param name="Exit">The exit code (128+N when a signal N ended it, as a shell reports it: .NET gives that).</param>
/// <param name="Out">Everything it wrote to standard output (what was left after the caller's own reads, when interactive).</param>
/// <param name="Err">Everything it wrote to standard error.</param>
public sealed record ProcessResult(int Exit, string Out, string Err)
{
    /// <summary>Standard output as bytes (for binary output; <see cref="Out"/> is their UTF-8 decoding).</summary>
    public byte[] OutBytes { get; init; } = [];

    /// <summary>The child's pid (the program's: <c>setsid</c> and <c>setpriv</c> exec it in place).</summary>
    public int Pid { get; init; }
}

/// <summary>What a child process gets besides its command line.</summary>
public sealed record ProcessOptions
{
    /// <summary>The working directory (null: the test host's).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// Written to standard input, which is then closed. Null: standard input is closed at once (a program never waits on
    /// the test host's), unless <see cref="Interactive"/>.
    /// </summary>
    public string? Stdin { get; init; }

    /// <summary>Variables set for the child (over the inherited environment).</summary>
    public IReadOnlyDictionary<string, string>? Env { get; init; }

    /// <summary>Variables removed from the inherited environment (before <see cref="Env"/> is applied).</summary>
    public IReadOnlyList<string>? Unset { get; init; }

    /// <summary>How long the child may run, from its start; after it the child (and its group) is killed and <see cref="ChildProcess.Wait"/> throws <see cref="TimeoutException"/>.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Runs the child as the leader of a new session and process group (<c>setsid</c>, which execs it in place), like a
    /// shell job; a timeout then kills the whole group, not only the processes still below the child.
    /// </summary>
    public bool NewProcessGroup { get; init; }

    /// <summary>Runs the child as this uid and gid, with no supplementary groups (<c>setpriv --reuid --regid --clear-groups</c>; needs root).</summary>
    public int? AsUid { get; init; }

    /// <summary>
    /// Leaves standard input open (after <see cref="Stdin"/>, if any) and standard output unread for the caller
    /// (<see cref="ChildProcess.Process"/>): <see cref="ChildProcess.Wait"/> collects the rest of the output; standard
    /// input stays open until the caller closes it or the child is disposed (a <c>read -t</c> times out rather than
    /// seeing EOF). Standard error is always collected.
    /// </summary>
    public bool Interactive { get; init; }
}

/// <summary>
/// The tests' one way to run a program: arguments as a list (no shell), standard output and error collected
/// concurrently (a full pipe never blocks the child), a time limit that kills the child's tree or group, and the
/// options the suites need (stdin, environment, working directory, uid, own process group).
/// </summary>
public sealed partial class ChildProcess : IDisposable
{
    private const int SIGKILL = 9;

    private readonly ProcessOptions _options;
    private readonly Stopwatch _clock;
    private readonly Task<string> _stderr;
    private Task<byte[]>? _stdout;
    private bool _disposed;

    private ChildProcess(Process process, string commandLine, ProcessOptions options, Stopwatch clock)
    {
        Process = process;
        CommandLine = commandLine;
        _options = options;
        _clock = clock;
        _stderr = process.StandardError.ReadToEndAsync();
        if (!options.Interactive)
        {
            _stdout = ReadAll(process.StandardOutput.BaseStream);
            try
            {
                if (options.Stdin is not null) process.StandardInput.Write(options.Stdin);
                process.StandardInput.Close();
            }
            catch (IOException) { } // EPIPE: the child ended without reading all of it; Wait reports how it ended
        }
        else if (options.Stdin is not null)
        {
            process.StandardInput.Write(options.Stdin);
            process.StandardInput.Flush();
        }
    }

    /// <summary>The running child (its standard input and output are the caller's when <see cref="ProcessOptions.Interactive"/>).</summary>
    public Process Process { get; }

    /// <summary>The child's pid.</summary>
    public int Pid => Process.Id;

    /// <summary>The command line as started (with any setsid/setpriv prefix), for messages.</summary>
    public string CommandLine { get; }

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/> to its end.</summary>
    public static ProcessResult Run(string file, IEnumerable<string> args, ProcessOptions? options = null)
    {
        using var child = Start(file, args, options);
        return child.Wait();
    }

    /// <summary>Runs <c>argv[0]</c> with the rest of <paramref name="argv"/> to its end.</summary>
    public static ProcessResult Run(IReadOnlyList<string> argv, ProcessOptions? options = null) => Run(argv[0], argv.Skip(1), options);

    /// <summary>Starts <paramref name="file"/> with <paramref name="args"/>; <see cref="Wait"/> for its end.</summary>
    /// <exception cref="InvalidOperationException">The program could not be started (not installed).</exception>
    public static ChildProcess Start(string file, IEnumerable<string> args, ProcessOptions? options = null)
    {
        options ??= new ProcessOptions();
        var argv = new List<string>();
        if (options.NewProcessGroup) argv.Add("setsid");
        if (options.AsUid is { } uid) argv.AddRange(["setpriv", $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--"]);
        argv.Add(file);
        argv.AddRange(args);
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (options.WorkingDirectory is not null) psi.WorkingDirectory = options.WorkingDirectory;
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var name in options.Unset ?? []) psi.Environment.Remove(name);
        foreach (var (name, value) in options.Env ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        string commandLine = string.Join(' ', argv);
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {commandLine}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"could not start {argv[0]} ({e.Message}): is it installed?", e);
        }
        return new ChildProcess(process, commandLine, options, clock);
    }

    /// <summary>Waits for the child's end and the end of its output (within what is left of the time limit).</summary>
    /// <exception cref="TimeoutException">The time limit passed; the child (and its group) was killed.</exception>
    public ProcessResult Wait()
    {
        _stdout ??= Process.StandardOutput.ReadToEndAsync().ContinueWith(t => Encoding.UTF8.GetBytes(t.Result), TaskScheduler.Default);
        var left = _options.Timeout - _clock.Elapsed;
        // A descendant that outlives the child may hold the pipes open: the output must end within the limit too.
        if (left <= TimeSpan.Zero || !Process.WaitForExit(left) || !Task.WaitAll([_stdout!, _stderr], Positive(_options.Timeout - _clock.Elapsed)))
        {
            // What the tree was doing, read before it is killed: a hang seen once in CI says where it was.
            string tree = HungProcesses.Describe(Process.Id);
            Kill();
            throw new TimeoutException($"{CommandLine} did not end within {_options.Timeout.TotalSeconds:0.#} s; its processes were:\n{tree}");
        }
        Process.WaitForExit();
        var output = _stdout.Result;
        return new ProcessResult(Process.ExitCode, Encoding.UTF8.GetString(output), _stderr.Result) { Pid = Process.Id, OutBytes = output };
    }

    /// <summary>Kills the child with SIGKILL: its process group when it has one of its own, and every process below it.</summary>
    public void Kill()
    {
        if (_options.NewProcessGroup) _ = kill(-Process.Id, SIGKILL); // ESRCH when the group is gone: nothing to kill
        try { Process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } // already reaped
    }

    /// <summary>Kills the child if it still runs (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { if (!Process.HasExited) Kill(); }
        catch (InvalidOperationException) { }
        try { Process.StandardInput.Close(); } catch (IOException) { } // EPIPE: the child is gone
        Process.Dispose();
    }

    private static async Task<byte[]> ReadAll(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static TimeSpan Positive(TimeSpan t) => t > TimeSpan.Zero ? t : TimeSpan.Zero;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
