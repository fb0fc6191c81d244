using System.Diagnostics;
using SeccompKit.Agent;
using SeccompKit.Linux.Agent;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>Rulesets that play the hostile parts of the supervise tests.</summary>
internal static class Hostile
{
    /// <summary>
    /// <paramref name="spec"/>'s own handler, except that each caller is SIGKILLed after the agent read its path and opened
    /// its /proc entries, and before the agent checks the notification and acts (the hook waits until the kernel dropped it).
    /// </summary>
    public static SupervisionRuleset KillingTheCallerBeforeActing(RulesetSpec spec) =>
        new("killing", spec.Syscalls, ctx => new RulesetHandler(spec, ctx)
        {
            BeforeValidation = (n, context) =>
            {
                Interop.Proc.kill(n.Pid, 9);
                var wait = Stopwatch.StartNew();
                while (context.IsValid() && wait.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
            },
        });
}
