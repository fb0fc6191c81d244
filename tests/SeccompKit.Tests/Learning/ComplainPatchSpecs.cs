using SeccompKit.Bpf;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Learning;

/// <summary>
/// <see cref="ComplainPatch"/>: what complain mode suggests adding to a profile keeps the baseline and clone3's ENOSYS,
/// and adds nothing the profile already allows.
/// </summary>
public class ComplainPatchSpecs
{
    private static readonly Architecture X64 = Architecture.X86_64;

    internal static LearnedCalls Record(params (string Name, ulong[] Args)[] calls)
    {
        var r = new SyscallRecorder();
        foreach (var (name, args) in calls) r.Record(X64.AuditArch, X64.Syscalls.GetNumber(name), 100, 0, args);
        return r.Snapshot();
    }

    private static uint Run(SeccompPolicy p, string name, params ulong[] args) =>
        PolicyEvaluator.Evaluate(p, new SeccompData(X64.Syscalls.GetNumber(name), X64.AuditArch, 0, args)).Action.ReturnValue;

    [Fact]
    public void A_profile_without_the_baseline_gets_it_in_the_patch_and_the_patched_profile_allows_it()
    {
        var profile = PolicyLanguage.Parse("default errno(EPERM)\nallow { read, write, exit_group }\n");
        var patch = ComplainPatch.For(Record(("mkdir", [0, 0])), profile);
        Assert.Contains(patch.Rules, r => r.Syscall == "mkdir");
        Assert.Contains(patch.Baseline, b => b.Syscall == "rt_sigreturn");
        Assert.Contains(patch.Baseline, b => b.Syscall == "restart_syscall");
        Assert.DoesNotContain(patch.Baseline, b => b.Syscall == "exit_group"); // the profile allows it already
        Assert.DoesNotContain(patch.Rules, r => r.Syscall == "exit_group");
        var patched = new SeccompPolicy(profile.DefaultAction, profile.Rules.Concat(patch.Rules), profile.EffectiveArchitectures);
        Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Run(patched, "rt_sigreturn"));
        Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Run(patched, "mkdir"));
        // The patch of the patched profile is empty: nothing is suggested twice.
        Assert.True(ComplainPatch.For(Record(), patched).IsEmpty);
    }

    [Fact]
    public void An_unshare_would_be_refusal_is_patched_with_its_namespace_flags_only()
    {
        var profile = PolicyLanguage.Parse("default errno(EPERM)\nallow { read }\n");
        var patch = ComplainPatch.For(Record(("unshare", [0x20000])), profile);
        var unshare = Assert.Single(patch.Rules, r => r.Syscall == "unshare");
        Assert.False(unshare.IsUnconditional);
        var patched = new SeccompPolicy(profile.DefaultAction, profile.Rules.Concat(patch.Rules), profile.EffectiveArchitectures);
        Assert.Equal(SeccompReturn.SECCOMP_RET_ALLOW, Run(patched, "unshare", 0x20000));
        Assert.Equal(PolicyAction.Errno(1).ReturnValue, Run(patched, "unshare", 0x10000000)); // CLONE_NEWUSER stays closed
    }

    [Fact]
    public void Clone3_answered_ENOSYS_is_patched_with_ENOSYS_unless_the_profile_already_answers_so()
    {
        var refuses = PolicyLanguage.Parse("default errno(EPERM)\nallow { read }\n");
        var patch = ComplainPatch.For(Record(), refuses, clone3Refused: 3);
        Assert.Equal(PolicyAction.Errno(38), Assert.Single(patch.Rules, r => r.Syscall == "clone3").Action);

        var answers = PolicyLanguage.Parse("default errno(EPERM)\nallow { read }\nerrno(ENOSYS) { clone3 }\n");
        Assert.DoesNotContain(ComplainPatch.For(Record(), answers, clone3Refused: 3).Rules, r => r.Syscall == "clone3");
        // Not called: no clone3 rule is suggested.
        Assert.DoesNotContain(ComplainPatch.For(Record(), refuses).Rules, r => r.Syscall == "clone3");
    }
}

/// <summary><see cref="LearningFilter.NotifyUnless"/> with <c>watchExecs</c>: a learner sees every program executed.</summary>
public class LearningFilterSpecs
{
    [Fact]
    public void Watching_execs_notifies_execve_and_execveat_even_where_the_base_allows_them()
    {
        var x64 = Architecture.X86_64;
        var basePolicy = PolicyLanguage.Parse("default errno(EPERM)\nallow { execve, execveat, read }\n");
        var watching = LearningFilter.NotifyUnless(basePolicy, watchExecs: true);
        var plain = LearningFilter.NotifyUnless(basePolicy);
        foreach (var name in new[] { "execve", "execveat" })
        {
            var d = new SeccompData(x64.Syscalls.GetNumber(name), x64.AuditArch);
            Assert.Equal(PolicyAction.UserNotif, PolicyEvaluator.Evaluate(watching, d).Action);
            Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(plain, d).Action);
        }
        var read = new SeccompData(x64.Syscalls.GetNumber("read"), x64.AuditArch);
        Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(watching, read).Action);
    }
}
