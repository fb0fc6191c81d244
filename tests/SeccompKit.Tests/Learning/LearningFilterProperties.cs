using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;
using SeccompKit.Tests.Compiler;
using SeccompKit.Tests.Policy.Oci;
using PolicyGenerator = SeccompKit.TestKit.PolicyGenerator;

namespace SeccompKit.Tests.Learning;

/// <summary>
/// <see cref="LearningFilter.NotifyUnless"/>: a learner is notified of exactly the calls the base profile would not let
/// run. Checked in the interpreter on the two compiled filters: where the base lets a call run (ALLOW or LOG) the notify
/// filter returns the very same value, and everywhere else USER_NOTIF, but for the base's ERRNO(ENOSYS) on clone3, kept.
/// </summary>
public class LearningFilterProperties
{
    private static void AssertNotifiesWhatTheBaseRefuses(SeccompPolicy basePolicy, BpfProgram baseFilter, BpfProgram notifyFilter, SeccompData d, Func<string> describe)
    {
        uint b = Interpreter.Evaluate(baseFilter, d), n = Interpreter.Evaluate(notifyFilter, d);
        // The one exception: a base whose only clone3 rule is an unconditional ERRNO(ENOSYS) (Docker's) keeps it.
        var decision = PolicyEvaluator.Evaluate(basePolicy, d);
        var clone3Rules = basePolicy.RulesFor("clone3");
        bool clone3Enosys = decision.Reason == DecisionReason.Rule && decision.Rule!.Syscall == "clone3" && clone3Rules.Length == 1
            && clone3Rules[0].IsUnconditional && decision.Action == PolicyAction.Errno(38);
        uint expected = LearnedProfileModel.LetsRun(b) || clone3Enosys ? b : SeccompReturn.SECCOMP_RET_USER_NOTIF;
        if (n != expected)
            Assert.Fail($"{d}: base {ActionNames.Format(b)}, notify filter {ActionNames.Format(n)} (expected {ActionNames.Format(expected)})\n{describe()}");
    }

    private static readonly Lazy<SeccompPolicy> Docker = new(() => DockerProfile.Resolve(OciTestData.DockerDefault).Policy);

    [Fact]
    public void Over_the_Docker_profile_it_notifies_exactly_what_Docker_refuses_on_every_number_and_its_argument_constants()
    {
        var docker = Docker.Value;
        var baseFilter = PolicyCompiler.Compile(docker).Program;
        var notifyFilter = PolicyCompiler.Compile(LearningFilter.NotifyUnless(docker)).Program;
        int count = 0, notified = 0;
        foreach (var d in OciTestData.Vectors(docker))
        {
            AssertNotifiesWhatTheBaseRefuses(docker, baseFilter, notifyFilter, d, () => "base: Docker's default profile");
            if (Interpreter.Evaluate(notifyFilter, d) == SeccompReturn.SECCOMP_RET_USER_NOTIF) notified++;
            count++;
        }
        TestContext.Current.SendDiagnosticMessage($"notify-unless(docker): {count} vectors, {notified} notified");
        Assert.True(count > 1500 && notified > 500 && notified < count - 500, $"{count} vectors, {notified} notified");
    }

    [Fact]
    public void Over_the_Docker_profile_it_notifies_exactly_what_Docker_refuses_on_random_calls()
    {
        var docker = Docker.Value;
        var baseFilter = PolicyCompiler.Compile(docker).Program;
        var notifyFilter = PolicyCompiler.Compile(LearningFilter.NotifyUnless(docker)).Program;
        var constants = docker.Rules.SelectMany(r => r.Conditions).SelectMany(c => new[] { c.Value, c.Mask, c.Value | c.Mask, c.Value + 1, c.Value - 1 })
            .Concat(PolicyGenerator.Interesting).Distinct().ToArray();
        var arg = Gen.Frequency((3, Gen.Int[0, constants.Length - 1].Select(i => constants[i])), (1, Gen.ULong), (1, Gen.ULong[0, 64]));
        Architecture[] abis = [Architecture.X86_64, Architecture.X86_64, Architecture.X86, Architecture.X32, Architecture.Aarch64];
        var call = Gen.Select(Gen.Int[0, abis.Length - 1], Gen.Int[0, 10_000], Gen.Int[0, 9], arg.Array[6]).Select((ai, pick, how, args) =>
        {
            var abi = abis[ai];
            var table = abi.Syscalls.All;
            int nr = how switch
            {
                < 6 => table[pick % table.Length].Number,                            // a named syscall
                < 8 => abi.SyscallNumberOffset + pick % 600,                         // anything near the table, gaps and past the ENOSYS cutoff
                8 => pick % 2 == 0 ? -1 : int.MaxValue,
                _ => pick,
            };
            return new SeccompData(nr, pick % 50 == 0 ? 0x1234_5678u : abi.AuditArch, 0, args);
        });
        call.Sample(d => AssertNotifiesWhatTheBaseRefuses(docker, baseFilter, notifyFilter, d, () => "base: Docker's default profile"), iter: 50_000, threads: 1);
    }

    [Fact]
    public void Without_a_base_every_call_of_every_ABI_is_notified()
    {
        var filter = PolicyCompiler.Compile(LearningFilter.NotifyUnless(null)).Program;
        Gen.Select(Gen.Int, Gen.UInt, Gen.ULong.Array[6]).Sample((nr, arch, args) =>
        {
            foreach (var a in new[] { arch, Architecture.X86_64.AuditArch, Architecture.X86.AuditArch })
                Assert.Equal(SeccompReturn.SECCOMP_RET_USER_NOTIF, Interpreter.Evaluate(filter, new SeccompData(nr, a, 0, args)));
        }, iter: 5_000, threads: 1);
    }

    /// <summary>
    /// The base with its ENOSYS cutoffs as runc makes them: none when the default lets calls run, and never below a
    /// number the rules name. Only such a stub is exact in a notify filter, which drops it: the calls above the cutoff
    /// are then refused by the default and notified. A stub that shadows an allowing default or rule (only a hand-written
    /// policy has one; OciExporter refuses it) would need a "notify every number above N" that no policy can say.
    /// </summary>
    private static SeccompPolicy RuncShaped(SeccompPolicy p) => p.WithEnosysAbove(p.DefaultAction.LetsCallRun
        ? new Dictionary<Architecture, uint>()
        : p.EnosysAbove.ToDictionary(e => e.Key, e => p.SyscallNames.Select(n => e.Key.Syscalls.TryGetNumber(n, out int nr) ? (uint)nr : 0u).Append(e.Value).Max()));

    [Fact]
    public void Over_random_bases_it_notifies_exactly_what_the_base_refuses()
    {
        long vectors = 0;
        PolicyGenerator.Policies.Select(RuncShaped).Sample(policy =>
        {
            var notify = LearningFilter.NotifyUnless(policy);
            Assert.All(notify.Rules, r => Assert.True(r.Action.LetsCallRun || r.Action == PolicyAction.UserNotif, r.ToString()));
            var baseFilter = PolicyCompiler.Compile(policy).Program;
            var notifyFilter = PolicyCompiler.Compile(notify).Program;
            foreach (var d in PolicyGenerator.Vectors(policy, new Random(policy.Rules.Length * 31 + (int)policy.DefaultAction.ReturnValue)))
            {
                AssertNotifiesWhatTheBaseRefuses(policy, baseFilter, notifyFilter, d, () =>
                    $"base: default {policy.DefaultAction}, arches {string.Join(",", policy.EffectiveArchitectures)}, bad-arch {policy.BadArchAction}, enosys {string.Join(",", policy.EnosysAbove)}\n" + string.Join("\n", policy.Rules));
                vectors++;
            }
        }, iter: 1000, threads: 1);
        TestContext.Current.SendDiagnosticMessage($"notify-unless(random bases): {vectors} vectors");
    }
}
