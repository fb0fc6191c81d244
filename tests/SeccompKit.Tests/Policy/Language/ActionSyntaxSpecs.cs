using SeccompKit.Policy;
using SeccompKit.Policy.Language;

namespace SeccompKit.Tests.Policy.Language;

/// <summary>
/// <see cref="PolicyLanguage.ParseAction"/>: one action syntax wherever an action is typed (learn --default-action, merge,
/// run --default-action), the policy language's, with the older spellings still read.
/// </summary>
public class ActionSyntaxSpecs
{
    public static TheoryData<string, string, PolicyAction> Accepted => new()
    {
        { "policy language: errno with a name", "errno(EPERM)", PolicyAction.Errno(1) },
        { "policy language: errno with a number", "errno(13)", PolicyAction.Errno(13) },
        { "policy language: kill-process", "kill-process", PolicyAction.KillProcess },
        { "policy language: kill is kill-process", "kill", PolicyAction.KillProcess },
        { "policy language: kill-thread", "kill-thread", PolicyAction.KillThread },
        { "policy language: trap with data", "trap(5)", PolicyAction.Trap(5) },
        { "policy language: trap alone", "trap", PolicyAction.Trap() },
        { "policy language: trace", "trace(7)", PolicyAction.Trace(7) },
        { "policy language: log", "log", PolicyAction.Log },
        { "policy language: allow", "allow", PolicyAction.Allow },
        { "policy language: notify", "notify", PolicyAction.UserNotif },
        { "spaces around", "  errno( EACCES ) ", PolicyAction.Errno(13) },
        { "old: errno alone is EPERM (Docker's)", "errno", PolicyAction.Errno(1) },
        { "old: errno:NAME", "errno:EACCES", PolicyAction.Errno(13) },
        { "old: errno:number", "errno:38", PolicyAction.Errno(38) },
        { "old: kill_process", "kill_process", PolicyAction.KillProcess },
        { "old: kill_thread", "kill_thread", PolicyAction.KillThread },
        { "kernel name as seccompkit prints it", "ERRNO(EPERM)", PolicyAction.Errno(1) },
        { "kernel name without data", "KILL_PROCESS", PolicyAction.KillProcess },
        { "kernel trap with data", "TRAP(3)", PolicyAction.Trap(3) },
        { "OCI name: SCMP_ACT_ERRNO is EPERM", "SCMP_ACT_ERRNO", PolicyAction.Errno(1) },
        { "OCI name: SCMP_ACT_KILL is kill-thread", "SCMP_ACT_KILL", PolicyAction.KillThread },
        { "OCI name: SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_PROCESS", PolicyAction.KillProcess },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Reads_every_spelling(string desc, string text, PolicyAction expected)
    {
        _ = desc;
        Assert.Equal(expected, PolicyLanguage.ParseAction(text));
    }

    public static TheoryData<string, string, string> Refused => new()
    {
        { "unknown action, with a suggestion", "errnoo", "unknown action 'errnoo'" },
        { "unknown errno name", "errno(EBOGUS)", "unknown errno name 'EBOGUS'" },
        { "errno out of range", "errno(5000)", "out of range" },
        { "trap data out of range", "trap(70000)", "out of range" },
        { "two actions", "allow log", "after the action" },
        { "empty", "", "expected an action" },
        { "old form with a bad name", "errno:EBOGUS", "unknown errno name 'EBOGUS'" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refuses_what_is_not_one_action_with_the_problem_and_a_hint(string desc, string text, string problem)
    {
        _ = desc;
        var e = Assert.Throws<PolicyParseException>(() => PolicyLanguage.ParseAction(text, "--default-action"));
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        Assert.Equal("--default-action", e.FileName);
        Assert.False(string.IsNullOrWhiteSpace(e.Hint), "every refusal says what to write instead");
    }
}
