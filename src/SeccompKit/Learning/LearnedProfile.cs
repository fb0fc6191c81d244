using System.Collections.Immutable;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;
using SeccompKit.Syscalls;

namespace SeccompKit.Learning;

/// <summary>How <see cref="LearnedProfile.Build"/> turns recorded calls into a profile.</summary>
public sealed record LearnedProfileOptions
{
    /// <summary>
    /// The profile the run was learned on top of (its allowed calls were not recorded): the result is that profile plus
    /// what is new (<see cref="LearnedProfile.Combine"/>), with its default action and architectures. Null: a profile from
    /// nothing.
    /// </summary>
    public SeccompPolicy? Base { get; init; }

    /// <summary>The action for everything not learned (ignored with <see cref="Base"/>, whose default is kept). Default ERRNO(EPERM), as Docker.</summary>
    public PolicyAction DefaultAction { get; init; } = PolicyAction.Errno(1);

    /// <summary>Argument conditions from the values seen (<see cref="ArgumentMode.Auto"/>, the default) or syscalls only.</summary>
    public ArgumentMode Arguments { get; init; } = ArgumentMode.Auto;

    /// <summary>Also allow what this container runtime calls after installing the filter (data/runtimes); null: nothing.</summary>
    public RuntimeSyscallSet? Runtime { get; init; }

    /// <summary>Allow <see cref="LearnedBaseline"/> although the run did not make it (default true).</summary>
    public bool Baseline { get; init; } = true;

    /// <summary>What the profile says about clone3 (default <see cref="Clone3Rule.Enosys"/>, as the learning run answered it).</summary>
    public Clone3Rule Clone3 { get; init; } = Clone3Rule.Enosys;

    /// <summary>The runtime the profile is written for (its ENOSYS stub for newer syscalls); default <see cref="OciTarget.Default"/>.</summary>
    public OciTarget? Target { get; init; }
}

/// <summary>
/// The profile learned from recorded calls, with what went into it and its proof: every recorded call replayed through
/// the compiled profile in the BPF interpreter (<see cref="ReplayCheck"/>). Write the profile only when
/// <see cref="Verified"/>.
/// </summary>
/// <param name="Profile">The profile (the base plus what is new, when there is a base).</param>
/// <param name="Synthesis">The synthesized part: its rules, notes and the baseline it added.</param>
/// <param name="Replay">The replay of every recorded call through <paramref name="Profile"/>.</param>
/// <param name="RuntimeAdded">The runtime's syscalls (<see cref="LearnedProfileOptions.Runtime"/>) the run did not make: allowed for the runtime alone.</param>
public sealed record LearnedProfile(SeccompPolicy Profile, SynthesisResult Synthesis, ReplayResult Replay, ImmutableArray<string> RuntimeAdded)
{
    /// <summary>Every recorded call is allowed by <see cref="Profile"/>.</summary>
    public bool Verified => Replay.AllAllowed;

    /// <summary>Synthesizes the profile for <paramref name="calls"/>, combines it with the base and replays every call through it.</summary>
    public static LearnedProfile Build(LearnedCalls calls, LearnedProfileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(calls);
        options ??= new LearnedProfileOptions();
        var runtime = options.Runtime;
        var synthesis = ProfileSynthesizer.Synthesize(calls, new SynthesisOptions
        {
            DefaultAction = options.Base?.DefaultAction ?? options.DefaultAction,
            Arguments = options.Arguments,
            Architectures = options.Base?.EffectiveArchitectures ?? [],
            Extra = runtime is null ? [] : [.. runtime.Syscalls.Select(n => (n, $"{runtime.Runtime} {runtime.Version} calls it after installing the filter"))],
            Baseline = options.Baseline,
            Clone3 = options.Clone3,
            Target = options.Target,
        });
        var profile = options.Base is null ? synthesis.Policy : Combine(options.Base, synthesis.Policy);
        var recorded = calls.Syscalls.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var added = runtime is null ? [] : runtime.Syscalls.Where(n => !recorded.Contains(n)).ToImmutableArray();
        return new LearnedProfile(profile, synthesis, ReplayCheck.Run(profile, calls), added);
    }

    /// <summary>
    /// The base profile plus the learned rules: what "learn with a base" means. The learned calls are exactly those the
    /// base refused, so for each learned syscall the base's refusing rules go (a call of it that was not learned then gets
    /// the base's default, still a refusal) and the learned ALLOW rules come in; everything else is the base's. runc's
    /// ENOSYS cutoffs are the larger of the two, as runc derives them from the highest number a profile names
    /// (libcontainer/seccomp/patchbpf, findLastSyscalls): on every ABI either side cuts, the cutoff is raised to the
    /// highest number the learned rules name there, and where only the learned side cuts, to the highest the base's rules
    /// name. So an OCI base that lists the native ABI (runc stubs every listed ABI; the learned part alone stubs the native
    /// one only for runc 1.1.15+) no longer answers ENOSYS to the learned calls above its own highest syscall (issue 17).
    /// The replay check then proves every recorded call is allowed.
    /// </summary>
    public static SeccompPolicy Combine(SeccompPolicy basePolicy, SeccompPolicy learned)
    {
        ArgumentNullException.ThrowIfNull(basePolicy);
        ArgumentNullException.ThrowIfNull(learned);
        var learnedNames = learned.SyscallNames.ToHashSet(StringComparer.Ordinal);
        var cutoffs = new Dictionary<Architecture, uint>(basePolicy.EnosysAbove);
        foreach (var (abi, n) in learned.EnosysAbove)
            cutoffs[abi] = cutoffs.TryGetValue(abi, out var b) ? Math.Max(b, n) : Math.Max(n, Highest(abi, basePolicy.Rules));
        foreach (var abi in cutoffs.Keys.ToList())
            cutoffs[abi] = Math.Max(cutoffs[abi], Highest(abi, learned.Rules));
        return new SeccompPolicy(basePolicy.DefaultAction,
            basePolicy.Rules.Where(r => r.Action.LetsCallRun || !learnedNames.Contains(r.Syscall)).Concat(learned.Rules),
            basePolicy.EffectiveArchitectures.Union(learned.EffectiveArchitectures), basePolicy.DeclaredBadArchAction, basePolicy.Flags,
            basePolicy.ListenerPath, basePolicy.ListenerMetadata, cutoffs.Count > 0 ? cutoffs : null);
    }

    /// <summary>The highest syscall number <paramref name="rules"/> name on <paramref name="abi"/> (0 for none).</summary>
    private static uint Highest(Architecture abi, IEnumerable<SyscallRule> rules) =>
        (uint)rules.Select(r => abi.Syscalls.TryGetNumber(r.Syscall, out int nr) ? nr : 0).DefaultIfEmpty(0).Max();
}
