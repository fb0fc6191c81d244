using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// A program whose filter is installed with a listener that the caller now holds (<see cref="PendingLaunch.StartSupervised"/>).
/// Serve <see cref="Listener"/> first, then <see cref="WaitUntilRunning"/>: execve may itself wait for an answer.
/// </summary>
public sealed class SupervisedLaunch : IDisposable
{
    private readonly SandboxedProcess _process;
    private readonly SeccompFilterFlags _flags;
    private readonly int _filterLength;
    private StageChannel? _channel;

    internal SupervisedLaunch(SandboxedProcess process, Supervise.NotificationListener listener, StageChannel channel, SeccompFilterFlags flags, int filterLength)
    {
        _process = process;
        Listener = listener;
        _channel = channel;
        _flags = flags;
        _filterLength = filterLength;
    }

    /// <summary>The listener of the program's filter. Owned by the caller: dispose it when the supervision ends.</summary>
    public Supervise.NotificationListener Listener { get; }

    /// <summary>The process (stage two until execve, then the program).</summary>
    public SandboxedProcess Process => _process;

    /// <summary>
    /// Waits until execve has succeeded (the program runs) or throws <see cref="LaunchException"/> if it failed. The
    /// listener must be served meanwhile when the filter notifies execve.
    /// </summary>
    public SandboxedProcess WaitUntilRunning()
    {
        if (_channel is not { } channel) return _process;
        try
        {
            channel.AwaitExec(_flags, _filterLength, ready: true);
        }
        finally
        {
            channel.Dispose();
            _channel = null;
        }
        return _process;
    }

    /// <summary>Closes the status channel if <see cref="WaitUntilRunning"/> was not called (does not stop the program or close the listener).</summary>
    public void Dispose()
    {
        _channel?.Dispose();
        _channel = null;
    }
}
