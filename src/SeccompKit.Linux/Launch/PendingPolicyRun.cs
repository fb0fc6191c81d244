using SeccompKit.Compiler;
using SeccompKit.Policy;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// A run whose stage two waits for its filter (<see cref="PolicyRunner.Prepare"/>). <see cref="Start"/> checks and
/// compiles the policy and starts the program under it; <see cref="Dispose"/> without <see cref="Start"/> stops stage two.
/// </summary>
public sealed class PendingPolicyRun : IDisposable
{
    private readonly PendingLaunch _launch;
    private readonly KillObserver _observer;
    private readonly RunOptions _options;
    private bool _ownsObserver;

    internal PendingPolicyRun(PendingLaunch launch, KillObserver observer, bool ownsObserver, RunOptions options)
    {
        _launch = launch;
        _observer = observer;
        _ownsObserver = ownsObserver;
        _options = options;
    }

    /// <summary>The resolved path of the program.</summary>
    public string Path => _launch.Path;

    /// <summary>
    /// Checks the policy (<see cref="PolicyRunner.Check"/>), compiles it, and starts the program under it with
    /// <see cref="PolicyRunner.FilterFlags"/>; returns once the program runs. Call once.
    /// </summary>
    /// <exception cref="PolicyRunException">The policy cannot run a program here, or cannot be compiled.</exception>
    /// <exception cref="LaunchException">A launch step failed. In both cases the program did not run (dispose this to stop stage two).</exception>
    public PolicyRun Start(SeccompPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        PolicyRunner.Check(policy);
        CompiledPolicy compiled;
        try { compiled = PolicyCompiler.Compile(policy); }
        catch (SeccompException e) { throw new PolicyRunException(PolicyRunProblem.CompileFailed, e.Message); }
        var process = _launch.Start(compiled.Program, PolicyRunner.FilterFlags(policy, _options.Log), _options.SetNoNewPrivileges);
        bool owns = _ownsObserver;
        _ownsObserver = false; // the run owns it now
        return new PolicyRun(process, policy, _observer, owns, _options);
    }

    /// <summary>Stops stage two if <see cref="Start"/> was not called, and closes the observer the run opened.</summary>
    public void Dispose()
    {
        _launch.Dispose();
        if (_ownsObserver) _observer.Dispose();
        _ownsObserver = false;
    }
}
