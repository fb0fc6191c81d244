using SeccompKit.Bpf;

namespace SeccompKit.Linux.Tests;

public sealed class KernelFeaturesSpecs
{
    [Fact]
    public void Notification_structure_sizes_match_the_documented_layout()
    {
        var sizes = KernelFeatures.GetNotifSizes();
        Assert.Equal(new NotifSizes(80, 24, SeccompData.Size), sizes);
    }

    public static TheoryData<string, uint> Actions() => new()
    {
        { "kill_process", SeccompReturn.SECCOMP_RET_KILL_PROCESS },
        { "kill_thread", SeccompReturn.SECCOMP_RET_KILL_THREAD },
        { "trap", SeccompReturn.SECCOMP_RET_TRAP },
        { "errno", SeccompReturn.SECCOMP_RET_ERRNO },
        { "user_notif", SeccompReturn.SECCOMP_RET_USER_NOTIF },
        { "trace", SeccompReturn.SECCOMP_RET_TRACE },
        { "log", SeccompReturn.SECCOMP_RET_LOG },
        { "allow", SeccompReturn.SECCOMP_RET_ALLOW },
    };

    [Theory]
    [MemberData(nameof(Actions))]
    public void Every_action_listed_in_proc_is_reported_available_by_the_kernel(string procName, uint action)
    {
        bool listed = KernelFeatures.ActionsAvailFromProc().Contains(procName);
        Assert.Equal(listed, KernelFeatures.IsActionAvailable(action));
        Assert.True(listed, $"{procName} missing from actions_avail on this kernel (6.18 has them all)");
    }

    [Fact]
    public void An_unknown_action_is_reported_unavailable()
    {
        Assert.False(KernelFeatures.IsActionAvailable(0x12340000));
    }

    [Fact]
    public void The_test_process_itself_runs_without_seccomp()
    {
        var (mode, filters) = KernelFeatures.StatusOf(Environment.ProcessId);
        Assert.Equal(0, mode);
        Assert.Equal(0, filters);
    }
}
