using SeccompKit.Learning;
using SeccompKit.Linux.Launch;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Learn;

/// <summary>What <see cref="Complainer.Complain"/> runs, under which policy.</summary>
public sealed record ComplainRequest
{
    /// <summary>The program: a path, or a name looked up in PATH.</summary>
    public required string Program { get; init; }

    /// <summary>Its arguments (after the program name).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The policy complained about. It must cover this machine's architecture.</summary>
    public required SeccompPolicy Policy { get; init; }

    /// <summary>The runtime the suggested patch is written for; default <see cref="OciTarget.Default"/>.</summary>
    public OciTarget? Target { get; init; }

    /// <summary>Set no_new_privs (default true); only root may install a filter without it (seccomp(2)).</summary>
    public bool NoNewPrivileges { get; init; } = true;

    /// <summary>How to start stage two; default <see cref="StageCommand.Default"/>.</summary>
    public StageCommand? Stage { get; init; }
}

/// <summary>A complain run and what it found (<see cref="Report"/> is null unless the program ran).</summary>
public sealed class ComplainResult : LearningRun
{
    internal ComplainResult(LearningRun run, ComplainReport? report) : base(run) => Report = report;

    /// <summary>Each call the policy would have refused and the patch that lets the program run, as data.</summary>
    public ComplainReport? Report { get; }
}

/// <summary>
/// Complain mode in one call: runs a program under a policy whose refusing actions all become user notifications, lets
/// each such call run and records it, then reports what the policy would have refused and the rules to add
/// (<see cref="ComplainReport"/>). Reads no kernel log and needs no root.
/// </summary>
public static class Complainer
{
    /// <summary>Runs <see cref="ComplainRequest.Program"/> under <see cref="ComplainRequest.Policy"/> in complain mode.</summary>
    /// <exception cref="PolicyRunException">The policy does not cover this machine's architecture (every call would get its
    /// bad-arch action): <see cref="PolicyRunProblem.ArchitectureMissing"/>, the same check as <see cref="PolicyRunner.CheckArchitecture"/>.</exception>
    /// <exception cref="LaunchException">The program could not be started.</exception>
    public static ComplainResult Complain(ComplainRequest request, LearnObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var policy = request.Policy;
        PolicyRunner.CheckArchitecture(policy);
        var run = LearningRun.Record(request.Program, request.Arguments,
            new LearnOptions { Base = policy, NoNewPrivileges = request.NoNewPrivileges, Stage = request.Stage }, observer ?? new LearnObserver());
        var report = run.Outcome == LearnOutcome.Recorded ? ComplainReport.For(run.Calls, policy, run.Clone3Refused, request.Target) : null;
        return new ComplainResult(run, report);
    }
}
