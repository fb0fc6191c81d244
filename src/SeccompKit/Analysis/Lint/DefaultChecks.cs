using System.Globalization;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Runtimes;

namespace SeccompKit.Analysis.Lint;

/// <summary>SK601-SK604: the default action, syscalls newer than the profile, and what the container runtime needs.</summary>
internal static class DefaultChecks
{
    public static IEnumerable<LintFinding> Run(LintContext c, LintOptions options)
    {
        var p = c.Policy;
        var f = c.Facts;
        var def = p.DefaultAction;
        if (def.Kind == SeccompAction.Errno && def != PolicyEvaluator.Enosys)
        {
            var uncut = p.EffectiveArchitectures.Where(a => !p.EnosysAbove.ContainsKey(a)).ToList();
            if (uncut.Count > 0)
            {
                var cutoffs = uncut.Select(a => string.Create(CultureInfo.InvariantCulture,
                    $"{a.Name} {p.SyscallNames.Select(n => a.Syscalls.TryGetNumber(n, out int nr) ? nr : -1).DefaultIfEmpty(-1).Max()}")).Where(s => !s.EndsWith(" -1", StringComparison.Ordinal));
                yield return c.Finding(LintRules.NoEnosysForNew, c.Map.AtStatement(PolicyStatement.DefaultAction),
                    $"syscalls newer than the profile get the default {def} on {string.Join(", ", uncut.Select(a => a.Name))} (no ENOSYS cutoff), so programs probing them do not fall back",
                    c.Fix.LanguageOnly($"enosys-above {string.Join(", ", cutoffs)}",
                        "give the syscalls newer than the profile \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38, or use a runtime that adds the ENOSYS stub (runc does; seccompkit convert --target shows which versions)"));
            }
        }

        if (p.EffectiveArchitectures.FirstOrDefault(a => a.Syscalls.Contains("clone3") && f.Outcome("clone", a) >= Runs.Sometimes) is { } abi)
        {
            var action = f.Decide("clone3", abi);
            if (action.Kind == SeccompAction.Errno && action != PolicyEvaluator.Enosys)
                yield return c.Finding(LintRules.Clone3Errno, c.RefusalPlace("clone3"),
                    $"clone3 gets {action} on {abi.Name} while clone runs: glibc 2.34+ tries clone3 first and falls back to clone only on ENOSYS, so threads and processes cannot be created",
                    Clone3Fix(c), "clone3", "clone");
        }

        if (def.Kind == SeccompAction.KillThread)
            yield return c.Finding(LintRules.KillThreadDefault, c.Map.AtStatement(PolicyStatement.DefaultAction),
                "the default action KILL_THREAD kills only the calling thread; the process goes on without it",
                c.Fix.Default(PolicyAction.KillProcess));

        if (options.Runtime is { } target)
            foreach (var finding in RuntimeNotify(c, target)) yield return finding;
    }

    // A refusing clone3 rule must go, not be joined by a second one: in the language the most restrictive rule would
    // still win, and in OCI libseccomp keeps the first unconditional rule of a syscall.
    private static string Clone3Fix(LintContext c) => c.Facts.RefusingRule("clone3") is { } r
        ? $"{c.Fix.Remove(r, c.Map.At(r.Origin))}; then {c.Fix.Give(["clone3"], PolicyEvaluator.Enosys)}"
        : c.Fix.Give(["clone3"], PolicyEvaluator.Enosys);

    private static IEnumerable<LintFinding> RuntimeNotify(LintContext c, Policy.Oci.OciTarget target)
    {
        var p = c.Policy;
        bool notifies = p.DefaultAction.Kind == SeccompAction.UserNotif || p.Rules.Any(r => r.Action.Kind == SeccompAction.UserNotif);
        if (!notifies) yield break;
        var set = RuntimeSyscalls.For(target);
        var handoff = set.BeforeHandoff;
        if (handoff is null) yield break;
        string version = set.Mismatch(target) is { } m ? $" (note: {m})" : "";
        if (p.DefaultAction.Kind == SeccompAction.UserNotif && (!handoff.DefaultNotify || target.Model.RefusesNotifyDefaultAndWrite))
            yield return c.Finding(LintRules.NotifyRuntimeSyscall, c.Map.AtStatement(PolicyStatement.DefaultAction),
                $"{target} refuses NOTIFY as the default action (it still makes syscalls itself after installing the filter, before the agent has the descriptor){version}",
                c.Fix.Default(PolicyAction.Errno(1)) + " and notify only chosen syscalls");
        foreach (var (name, why) in handoff.Syscalls)
        {
            if (!set.Architecture.Syscalls.Contains(name) || !p.EffectiveArchitectures.Contains(set.Architecture)) continue;
            bool notified = p.RulesFor(name).Any(r => r.Action.Kind == SeccompAction.UserNotif)
                || (p.DefaultAction.Kind == SeccompAction.UserNotif && !p.RulesFor(name).Any(r => r.IsUnconditional));
            if (!notified) continue;
            var rule = p.RulesFor(name).FirstOrDefault(r => r.Action.Kind == SeccompAction.UserNotif);
            yield return c.Finding(LintRules.NotifyRuntimeSyscall, rule is null ? c.Map.AtStatement(PolicyStatement.DefaultAction) : c.Map.At(rule.Origin),
                $"{name} is notified, but {target} makes it itself before the agent has the notification descriptor: {why}{version}",
                rule is null ? c.Fix.Give([name], PolicyAction.Allow)
                    : $"{c.Fix.Remove(rule, c.Map.At(rule.Origin))}; then {c.Fix.Give([name], PolicyAction.Allow)}", name);
        }
    }
}
