using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// The <c>run</c> workflow in one call: run a program under a <see cref="SeccompPolicy"/>, fail closed, and explain a
/// seccomp kill (which syscall, which rule). <see cref="Run"/> does it all; <see cref="Prepare"/> starts the launcher's
/// stage two first so that its start-up overlaps reading and compiling the policy.
/// </summary>
public static class PolicyRunner
{
    /// <summary>
    /// Runs <paramref name="program"/> (a path, or a name searched on PATH) with <paramref name="arguments"/> under
    /// <paramref name="policy"/> and waits for it to end.
    /// </summary>
    /// <exception cref="PolicyRunException">The policy cannot run a program here (<see cref="Check"/>) or cannot be compiled.</exception>
    /// <exception cref="LaunchException">The program could not be started under the filter. In both cases it did not run.</exception>
    public static RunResult Run(SeccompPolicy policy, string program, IReadOnlyList<string> arguments, RunOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var pending = Prepare(program, arguments, options);
        using var run = pending.Start(policy);
        return run.Wait();
    }

    /// <summary>
    /// Resolves the program, opens the kill observer (unless <see cref="RunOptions.Observer"/> is given) and starts stage
    /// two, which waits for the filter; <see cref="PendingPolicyRun.Start"/> gives it the policy. Disposing the pending
    /// run without starting it stops stage two: the program never runs.
    /// </summary>
    /// <exception cref="LaunchException">The program cannot be found, or stage two cannot start.</exception>
    public static PendingPolicyRun Prepare(string program, IReadOnlyList<string> arguments, RunOptions? options = null)
    {
        options ??= new RunOptions();
        var observer = options.Observer ?? KillObserver.Open();
        try
        {
            var launch = SandboxLauncher.Prepare(program, arguments, observer, options.Stage);
            return new PendingPolicyRun(launch, observer, ownsObserver: options.Observer is null, options);
        }
        catch
        {
            if (options.Observer is null) observer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses what cannot work, before anything runs: a policy without this machine's architecture, notify rules (no
    /// supervisor answers them: they would fail with ENOSYS), a policy that refuses execve.
    /// </summary>
    /// <exception cref="PolicyRunException">Says what to change in the policy.</exception>
    public static void Check(SeccompPolicy policy)
    {
        CheckArchitecture(policy);
        var host = Architecture.NativeHost;
        if (policy.DefaultAction.Kind == SeccompAction.UserNotif || policy.Rules.Any(r => r.Action.Kind == SeccompAction.UserNotif))
            throw new PolicyRunException(PolicyRunProblem.NeedsSupervisor,
                "the policy sends syscalls to a supervisor (notify / SCMP_ACT_NOTIFY), which a plain run does not provide: without one those syscalls fail with ENOSYS. " +
                "Give those rules another action");
        var execve = PolicyEvaluator.Evaluate(policy, new SeccompData(host.Syscalls.GetNumber("execve"), host.AuditArch));
        if (execve.Action.Kind is not (SeccompAction.Allow or SeccompAction.Log))
            throw new PolicyRunException(PolicyRunProblem.ExecveRefused,
                $"the policy does not allow execve ({Because(execve)}), so no program can start under it: allow execve");
    }

    /// <summary>
    /// Refuses a policy that does not cover this machine's architecture: every syscall of the program would get the
    /// policy's bad-arch action. The one check of it for every workflow that runs a program under a policy (run, complain).
    /// </summary>
    /// <exception cref="PolicyRunException"><see cref="PolicyRunProblem.ArchitectureMissing"/>, saying what to add.</exception>
    public static void CheckArchitecture(SeccompPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var host = Architecture.NativeHost;
        if (!policy.EffectiveArchitectures.Contains(host))
            throw new PolicyRunException(PolicyRunProblem.ArchitectureMissing,
                $"the policy covers {string.Join(", ", policy.EffectiveArchitectures.Select(a => a.Name))} but this machine is {host.Name}: every syscall would get the bad-arch action. " +
                $"Add {host.Name} to the policy's architectures (OCI: SCMP_ARCH_{host.Name.ToUpperInvariant()})");
    }

    /// <summary>
    /// The filter flags of a run: the policy's own flags as runc applies them (LOG and SPEC_ALLOW), LOG also when
    /// <paramref name="log"/>. TSYNC changes nothing here (execve leaves one thread) and WAIT_KILLABLE_RECV needs a
    /// listener, which a run refuses (<see cref="Check"/>).
    /// </summary>
    public static SeccompFilterFlags FilterFlags(SeccompPolicy policy, bool log)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return (log || policy.Flags.HasFlag(PolicyFlags.Log) ? SeccompFilterFlags.Log : 0)
            | (policy.Flags.HasFlag(PolicyFlags.SpecAllow) ? SeccompFilterFlags.SpecAllow : 0);
    }

    /// <summary>Why the policy decides as it does, in policy terms.</summary>
    internal static string Because(PolicyDecision d) => d.Reason switch
    {
        DecisionReason.Rule => $"the rule `{d.Rule}` gives {d.Action} (with zero arguments; the record has none)",
        DecisionReason.Default => $"the policy's default action is {d.Action}",
        DecisionReason.BadArch => $"the policy does not cover this ABI: bad-arch action {d.Action}",
        _ => $"newer than the policy: {d.Action}",
    };
}
