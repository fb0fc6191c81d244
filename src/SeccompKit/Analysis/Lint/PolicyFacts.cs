using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis.Lint;

/// <summary>Whether calls of one syscall through one ABI run: always, for some arguments, never, or the ABI lacks it.</summary>
internal enum Runs { Absent, Never, Sometimes, Always }

/// <summary>What a policy does with each syscall, as the checks ask it (<see cref="PolicyEvaluator"/>'s meaning).</summary>
internal sealed class PolicyFacts(SeccompPolicy policy)
{
    public SeccompPolicy Policy { get; } = policy;

    /// <summary>A default that lets calls run: the policy is a deny-list.</summary>
    public bool IsDenyList => Policy.DefaultAction.LetsCallRun;

    public bool Covers(Architecture abi) => Policy.EffectiveArchitectures.Contains(abi);

    /// <summary>
    /// Whether calls of <paramref name="syscall"/> through <paramref name="abi"/> run. Rules are weighed as the kernel's
    /// precedence does: any refusing rule (everything but ALLOW and LOG) beats a letting one, so an unconditional
    /// refusing rule means never; runc's ENOSYS cutoff comes before every rule.
    /// </summary>
    public Runs Outcome(string syscall, Architecture abi)
    {
        if (!abi.Syscalls.TryGetNumber(syscall, out int nr)) return Runs.Absent;
        if (Policy.IsAboveEnosysCutoff(abi, nr)) return Runs.Never;
        var rules = Policy.RulesFor(syscall);
        bool defaultRuns = Policy.DefaultAction.LetsCallRun;
        bool anyRefuse = false, unconditionalRefuse = false, anyLet = false, unconditionalLet = false;
        foreach (var r in rules)
        {
            if (r.Action.LetsCallRun) { anyLet = true; unconditionalLet |= r.IsUnconditional; }
            else { anyRefuse = true; unconditionalRefuse |= r.IsUnconditional; }
        }
        if (unconditionalRefuse) return Runs.Never;
        if (!anyRefuse && (defaultRuns || unconditionalLet)) return Runs.Always;
        return defaultRuns || anyLet ? Runs.Sometimes : Runs.Never;
    }

    /// <summary>The best outcome over the covered ABIs (Absent when no covered ABI has the syscall).</summary>
    public Runs Outcome(string syscall) =>
        Policy.EffectiveArchitectures.Select(a => Outcome(syscall, a)).DefaultIfEmpty(Runs.Absent).Max();

    /// <summary>The covered ABIs on which the syscall runs at least sometimes.</summary>
    public IEnumerable<Architecture> AbisWhereRuns(string syscall) =>
        Policy.EffectiveArchitectures.Where(a => Outcome(syscall, a) >= Runs.Sometimes);

    /// <summary>
    /// Whether the syscall is refused (at least for some arguments) on <paramref name="abi"/> by something other than
    /// ERRNO(ENOSYS), which asks callers to fall back and so is no refusal for the gap checks.
    /// </summary>
    public bool RefusedNotEnosys(string syscall, Architecture abi)
    {
        var o = Outcome(syscall, abi);
        if (o is Runs.Absent or Runs.Always) return false;
        if (abi.Syscalls.TryGetNumber(syscall, out int nr) && Policy.IsAboveEnosysCutoff(abi, nr)) return false;
        var refusing = Policy.RulesFor(syscall).Where(r => !r.Action.LetsCallRun).Select(r => r.Action).ToList();
        if (!Policy.DefaultAction.LetsCallRun && !Policy.RulesFor(syscall).Any(r => r.IsUnconditional)) refusing.Add(Policy.DefaultAction);
        return refusing.Any(a => a != PolicyEvaluator.Enosys);
    }

    /// <summary>The action the policy takes for a call with these arguments through <paramref name="abi"/> (exact: the evaluator).</summary>
    public PolicyAction Decide(string syscall, Architecture abi, params ulong[] args)
    {
        int nr = abi.Syscalls.GetNumber(syscall);
        var full = new ulong[6];
        args.CopyTo(full, 0);
        return PolicyEvaluator.Evaluate(Policy, new SeccompData(nr, abi.AuditArch, 0, full)).Action;
    }

    /// <summary>The first refusing rule of the syscall (where a gap finding points), or null when only the default refuses it.</summary>
    public SyscallRule? RefusingRule(string syscall) => Policy.RulesFor(syscall).FirstOrDefault(r => !r.Action.LetsCallRun);

    /// <summary>The first rule letting the syscall run, or null when the default lets it run.</summary>
    public SyscallRule? LettingRule(string syscall) => Policy.RulesFor(syscall).FirstOrDefault(r => r.Action.LetsCallRun);

    /// <summary>The action a refused syscall gets: its refusing rule's, or the default's.</summary>
    public PolicyAction RefusalOf(string syscall) =>
        RefusingRule(syscall)?.Action ?? (Policy.DefaultAction.LetsCallRun ? PolicyAction.Errno(1) : Policy.DefaultAction);
}
