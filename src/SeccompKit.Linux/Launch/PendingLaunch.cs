using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// A program whose stage two is running and waiting for its filter (<see cref="SandboxLauncher.Prepare"/>).
/// <see cref="Start"/> hands the filter over; <see cref="Dispose"/> without <see cref="Start"/> stops stage two.
/// </summary>
public sealed class PendingLaunch : IDisposable
{
    private readonly SandboxedProcess _process;
    private readonly StageChannel _channel;
    private bool _started;

    internal PendingLaunch(SandboxedProcess process, SafeFileDescriptorHandle filter, SafeFileDescriptorHandle status)
    {
        _process = process;
        _channel = new StageChannel(process, filter, status);
    }

    /// <summary>The resolved path of the program.</summary>
    public string Path => _process.Path;

    /// <summary>The process id of stage two, which becomes the program's when it runs.</summary>
    public int Pid => _process.Pid;

    /// <summary>
    /// Sends the filter; returns once the program runs under it, or throws <see cref="LaunchException"/> if any step
    /// failed (the program did not run). Call once.
    /// </summary>
    public SandboxedProcess Start(BpfProgram filter, SeccompFilterFlags flags = SeccompFilterFlags.None, bool setNoNewPrivileges = true)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (_started) throw new InvalidOperationException("this launch has already been started");
        if ((flags & SeccompFilterFlags.NewListener) != 0)
            throw new ArgumentException("use StartSupervised for a filter with a listener: it hands the listener to the caller before the program runs", nameof(flags));
        _started = true;
        try
        {
            _channel.SendFilter(filter, flags, setNoNewPrivileges);
            _channel.AwaitExec(flags, filter.Length);
        }
        catch
        {
            Abort();
            throw;
        }
        finally
        {
            _channel.Dispose();
        }
        return _process;
    }

    /// <summary>
    /// Installs <paramref name="filter"/> with a listener (NEW_LISTENER is added to <paramref name="flags"/>) and returns as
    /// soon as the listener is in the caller's hands, before the program runs: stage two is then waiting to execve, and
    /// execve itself may be notified. Start serving the listener (<see cref="Supervise.NotificationSupervisor"/>), then call
    /// <see cref="SupervisedLaunch.WaitUntilRunning"/>. Throws <see cref="LaunchException"/> if any step failed (the program
    /// did not run).
    /// </summary>
    /// <remarks>
    /// The hand-over cannot deadlock on notified syscalls: the filter goes on one thread of stage two only (no TSYNC), which
    /// then makes no syscall until the listener has left the process. An unfiltered thread of stage two sends the
    /// descriptor on the status socket (SCM_RIGHTS) and only then does the filtered thread call execve.
    /// </remarks>
    public SupervisedLaunch StartSupervised(BpfProgram filter, SeccompFilterFlags flags = SeccompFilterFlags.None, bool setNoNewPrivileges = true)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (_started) throw new InvalidOperationException("this launch has already been started");
        if ((flags & SeccompFilterFlags.Tsync) != 0)
            throw new ArgumentException("TSYNC would filter the thread that hands the listener over; it is meaningless across execve anyway", nameof(flags));
        _started = true;
        flags |= SeccompFilterFlags.NewListener;
        SafeFileDescriptorHandle listenerFd;
        try
        {
            _channel.SendFilter(filter, flags, setNoNewPrivileges);
            listenerFd = _channel.AwaitListener(flags, filter.Length);
        }
        catch
        {
            Abort();
            _channel.Dispose();
            throw;
        }
        try
        {
            var listener = new Supervise.NotificationListener(listenerFd);
            return new SupervisedLaunch(_process, listener, _channel, flags, filter.Length);
        }
        catch
        {
            listenerFd.Dispose();
            _channel.Dispose();
            _process.Kill();
            try { _process.WaitForExit(); } catch (ErrnoException) { }
            throw;
        }
    }

    /// <summary>Stops stage two if <see cref="Start"/> was not called (it has not run the program: it waits for the filter).</summary>
    public void Dispose()
    {
        if (_started) return;
        _started = true;
        Abort();
        _channel.Dispose();
    }

    private void Abort()
    {
        _process.Kill();
        try { _process.WaitForExit(); }
        catch (ErrnoException) { }
    }
}
