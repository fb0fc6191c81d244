using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Learning;

/// <summary>What complain mode suggests adding to a profile.</summary>
/// <param name="Rules">The rules to add (ALLOW with the conditions seen, clone3's ERRNO(ENOSYS), the baseline).</param>
/// <param name="Baseline">The <see cref="LearnedBaseline"/> members the profile refuses, included in <see cref="Rules"/> although the run did not make them.</param>
/// <param name="Notes">Things the user should know.</param>
/// <param name="AsPolicy">The rules as a policy with the profile's default action and ABIs, for writing them out (e.g. as OCI entries).</param>
public sealed record ComplainPatch(ImmutableArray<SyscallRule> Rules, ImmutableArray<BaselineSyscall> Baseline, ImmutableArray<string> Notes, SeccompPolicy AsPolicy)
{
    /// <summary>Nothing to add.</summary>
    public bool IsEmpty => Rules.IsEmpty;

    /// <summary>
    /// The patch for <paramref name="policy"/> after a complain run that recorded <paramref name="refused"/> (the calls the
    /// policy would have refused) and answered clone3 ENOSYS <paramref name="clone3Refused"/> times: rules for what was
    /// refused, the baseline members the policy refuses (a learned profile needs them whatever the run did), and clone3's
    /// ERRNO(ENOSYS) when the program called it and the policy does not already answer it so.
    /// </summary>
    /// <param name="refused">The calls the policy would have refused.</param>
    /// <param name="policy">The policy complained about.</param>
    /// <param name="clone3Refused">How many clone3 calls were answered ENOSYS.</param>
    /// <param name="target">The runtime the patch is for (its ENOSYS stub); default <see cref="OciTarget.Default"/>.</param>
    public static ComplainPatch For(LearnedCalls refused, SeccompPolicy policy, long clone3Refused = 0, OciTarget? target = null)
    {
        ArgumentNullException.ThrowIfNull(refused);
        ArgumentNullException.ThrowIfNull(policy);
        var host = policy.EffectiveArchitectures.Contains(Architecture.NativeHost) ? Architecture.NativeHost : policy.EffectiveArchitectures[0];
        bool Refuses(string syscall) => host.Syscalls.TryGetNumber(syscall, out int nr)
            && !PolicyEvaluator.Evaluate(policy, new SeccompData(nr, host.AuditArch)).Action.LetsCallRun;
        bool clone3Answered = host.Syscalls.TryGetNumber("clone3", out int c3)
            && PolicyEvaluator.Evaluate(policy, new SeccompData(c3, host.AuditArch)).Action == PolicyAction.Errno(38);
        var synthesis = ProfileSynthesizer.Synthesize(refused, new SynthesisOptions
        {
            DefaultAction = policy.DefaultAction,
            Architectures = policy.EffectiveArchitectures,
            Clone3 = clone3Refused > 0 && !clone3Answered ? Clone3Rule.Enosys : Clone3Rule.Omit,
            Target = target,
        });
        var baseline = synthesis.Baseline.Where(b => Refuses(b.Syscall)).ToImmutableArray();
        var dropped = synthesis.Baseline.Select(b => b.Syscall).Except(baseline.Select(b => b.Syscall), StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal);
        var rules = synthesis.Policy.Rules.Where(r => !dropped.Contains(r.Syscall)).ToImmutableArray();
        var arches = synthesis.Policy.EffectiveArchitectures;
        var asPolicy = new SeccompPolicy(policy.DefaultAction, rules, arches, synthesis.Policy.BadArchAction,
            enosysAbove: ProfileSynthesizer.EnosysStub(target ?? OciTarget.Default, policy.DefaultAction, arches, rules));
        return new ComplainPatch(rules, baseline, synthesis.Notes, asPolicy);
    }
}
