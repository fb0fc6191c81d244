using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Tests.Learning;

/// <summary>
/// Random learning runs through <see cref="SyscallRecorder"/> and <see cref="ProfileSynthesizer"/>; the compiled profile,
/// run in the interpreter (the oracle), must allow every recorded call and nothing else (<see cref="LearnedProfileModel"/>).
/// </summary>
public class LearnedProfileProperties
{
    private static string Describe(LearningScenario scenario, SeccompPolicy policy) =>
        $"{scenario}\npolicy:\n{SeccompKit.Policy.Language.PolicyLanguage.Print(policy)}";

    [Fact]
    public void The_profile_allows_every_recorded_call_and_refuses_every_other()
    {
        long probes = 0, scenarios = 0;
        LearningGenerators.Scenarios(withUnknown: true, withExtra: true).Sample(scenario =>
        {
            var calls = scenario.Record();
            var synthesis = ProfileSynthesizer.Synthesize(calls, scenario.Options);
            var policy = synthesis.Policy;
            var filter = PolicyCompiler.Compile(policy).Program;
            var model = new LearnedProfileModel(calls, scenario.Options);

            // (a) Every recorded call of a syscall the profile can name runs: exactly ALLOW, not merely "not killed".
            foreach (var c in scenario.Calls)
            {
                var d = new SeccompData(c.Nr, c.Arch, c.Ip, c.Args);
                uint got = Interpreter.Evaluate(filter, d);
                if (got != model.Expected(d)) Assert.Fail($"recorded {c}: filter {ActionNames.Format(got)}, model {ActionNames.Format(model.Expected(d))}\n{Describe(scenario, policy)}");
                // A recorded clone3 is answered ENOSYS with Clone3Rule.Enosys (a real learner never records it then: it answers it ENOSYS).
                bool named = SyscallRecorder.ResolveAbi(c.Arch, c.Nr) is { } abi && abi.Syscalls.TryGetName(c.Nr, out var callName)
                    && !(callName == "clone3" && scenario.Options.Clone3 == Clone3Rule.Enosys);
                if (named && got != SeccompReturn.SECCOMP_RET_ALLOW) Assert.Fail($"recorded {c} is refused: {ActionNames.Format(got)}\n{Describe(scenario, policy)}");
            }

            // (a, f) ReplayCheck agrees: it refuses exactly the recorded vectors the model refuses (unknown numbers and ABIs).
            var replay = ReplayCheck.Run(policy, calls);
            var expectedRefused = calls.Syscalls
                .SelectMany(s => s.Samples.Concat(s.Values.Select(v => v.Representative)).Distinct().Select(v => new SeccompData(s.Nr, s.AuditArch, s.FirstInstructionPointer, v.ToArray())))
                .Where(d => !LearnedProfileModel.LetsRun(model.Expected(d))).ToHashSet();
            Assert.Equal(calls.Syscalls.Sum(s => s.Samples.Concat(s.Values.Select(v => v.Representative)).Distinct().Count()), replay.Replayed);
            if (!expectedRefused.SetEquals(replay.Refused.Select(r => r.Data))) Assert.Fail($"replay refused {replay.Refused.Length}, model {expectedRefused.Count}\n{Describe(scenario, policy)}");
            Assert.Equal(expectedRefused.Count == 0, replay.AllAllowed);
            foreach (var (s, _, _) in replay.Refused) Assert.True(s.Abi is null || s.Name is null || s.Name == "clone3", $"{s.Display} refused");

            // (f) Each syscall the profile cannot name gets a note.
            foreach (var s in calls.Syscalls.Where(s => s.Abi is null || s.Name is null))
                Assert.Contains(synthesis.Notes, n => n.Contains(s.Abi is null ? $"0x{s.AuditArch:x8}" : s.Display, StringComparison.Ordinal));

            // (b) Everything else: unseen syscalls and unseen value tuples get the default action, other ABIs are killed.
            foreach (var d in LearningGenerators.Probes(scenario, new Random(scenario.Calls.Length * 7919 + (int)calls.Total)))
            {
                uint got = Interpreter.Evaluate(filter, d), expected = model.Expected(d);
                if (got != expected)
                    Assert.Fail($"probe {d}: filter {ActionNames.Format(got)}, model {ActionNames.Format(expected)}\n{Describe(scenario, policy)}");
                probes++;
            }

            // (c) It names nothing that was not recorded (or asked for as extra, or in the baseline, or clone3's ENOSYS).
            Assert.Subset(model.Names, policy.SyscallNames.ToHashSet());
            Assert.Equal(model.Names.Order(StringComparer.Ordinal), policy.SyscallNames.Order(StringComparer.Ordinal));

            // (d) Without argument learning, one unconditional rule per name.
            if (scenario.Options.Arguments == ArgumentMode.None)
            {
                Assert.All(policy.Rules, r => Assert.True(r.IsUnconditional, r.ToString()));
                Assert.Equal(policy.Rules.Length, policy.SyscallNames.Count());
            }
            // Every rule allows but clone3's ERRNO(ENOSYS); conditions only on the security arguments, one rule per distinct tuple.
            Assert.All(policy.Rules, r => Assert.Equal(r.Syscall == "clone3" && scenario.Options.Clone3 == Clone3Rule.Enosys ? PolicyAction.Errno(38) : PolicyAction.Allow, r.Action));
            // The baseline is named exactly when asked for (every member one of the covered ABIs has).
            var covered = policy.EffectiveArchitectures;
            foreach (var b in LearnedBaseline.All.Where(b => covered.Any(a => a.Syscalls.Contains(b.Syscall))))
                Assert.Equal(scenario.Options.Baseline || calls.Syscalls.Any(x => x.Name == b.Syscall) || scenario.Options.Extra.Any(e => e.Syscall == b.Syscall),
                    policy.SyscallNames.Contains(b.Syscall));
            foreach (var name in policy.SyscallNames.Where(model.IsConditional))
            {
                var spec = SecurityArguments.For(name, scenario.OpenFlags);
                var rules = policy.RulesFor(name);
                Assert.All(rules, r => Assert.Equal(spec.Select(a => a.Index), r.Conditions.Select(c => c.Index)));
                Assert.Equal(rules.Length, rules.Select(r => string.Join(",", r.Conditions.Select(c => c.Value))).Distinct().Count());
            }
            Interlocked.Increment(ref scenarios);
        }, iter: 200, threads: 1);
        TestContext.Current.SendDiagnosticMessage($"learned-profile property: {scenarios} scenarios, {probes} probes, 0 mismatches");
    }

    [Fact]
    public void The_profile_exports_to_OCI_and_reads_back_with_the_same_meaning()
    {
        // learn writes OCI JSON by default: what runc reads back must be the profile that passed the replay check.
        LearningGenerators.Scenarios().Sample(scenario =>
        {
            var calls = scenario.Record();
            var policy = ProfileSynthesizer.Synthesize(calls, scenario.Options).Policy;
            string json;
            try { json = OciExporter.Export(policy, OciTarget.Default).Json; }
            catch (PolicyException e) { throw new InvalidOperationException($"{e.Message}\n{Describe(scenario, policy)}", e); }
            var back = OciImporter.Import(json, new OciImportOptions { Target = OciTarget.Default }).Policy;
            var filter = PolicyCompiler.Compile(policy).Program;
            var filterBack = PolicyCompiler.Compile(back).Program;
            var model = new LearnedProfileModel(calls, scenario.Options);
            foreach (var d in LearningGenerators.Probes(scenario, new Random(scenario.Calls.Length))
                         .Concat(scenario.Calls.Select(c => new SeccompData(c.Nr, c.Arch, 0, c.Args))))
            {
                uint a = Interpreter.Evaluate(filter, d), b = Interpreter.Evaluate(filterBack, d);
                if (a != b) Assert.Fail($"{d}: profile {ActionNames.Format(a)}, after OCI round trip {ActionNames.Format(b)}\n{json}");
                Assert.Equal(model.Expected(d), a);
            }
        }, iter: 80, threads: 1);
    }
}
