using SeccompKit.Linux.Audit;

namespace SeccompKit.Linux.Tests.Audit;

/// <summary>Parsing AUDIT_SECCOMP records as netlink and the kernel log deliver them (texts seen on this kernel).</summary>
public sealed class SeccompAuditRecordSpecs
{
    [Fact]
    public void A_netlink_kill_record_parses()
    {
        var r = SeccompAuditRecord.TryParse("audit(1795479598.787:49095): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19061 comm=\"kill\" exe=\"/tmp/k/kill\" sig=31 arch=c000003e syscall=110 compat=0 ip=0x7f12b3d0e829 code=0x80000000");
        Assert.NotNull(r);
        Assert.Equal(19061, r.Pid);
        Assert.Equal("kill", r.Comm);
        Assert.Equal("/tmp/k/kill", r.Exe);
        Assert.Equal(31, r.Signal);
        Assert.Equal(0xc000003eu, r.AuditArch);
        Assert.Equal("getppid", r.SyscallName);
        Assert.Equal(0x7f12b3d0e829ul, r.InstructionPointer);
        Assert.True(r.IsKill);
        Assert.Equal("KILL_PROCESS", r.ActionName);
    }

    [Theory]
    [InlineData("audit: type=1326 audit(1795479584.275:49094): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=7 comm=\"a b\" exe=\"/x y\" sig=0 arch=c000003e syscall=83 compat=0 ip=0x1 code=0x50000", "mkdir", "ERRNO", false)]
    [InlineData("audit(1.1:2): pid=7 comm=\"t\" exe=\"/t\" sig=31 arch=c000003e syscall=135 compat=0 ip=0x1 code=0x0", "personality", "KILL_THREAD", true)]
    [InlineData("audit(1.1:2): pid=7 comm=\"t\" exe=\"/t\" sig=0 arch=40000003 syscall=1 compat=1 ip=0x1 code=0x7ffc0000", "exit", "LOG", false)]
    [InlineData("audit(1.1:2): pid=7 comm=\"t\" exe=\"/t\" sig=0 arch=c000003e syscall=1073741825 compat=0 ip=0x1 code=0x30000", "write", "TRAP", false)]
    public void Records_name_the_syscall_per_abi(string text, string syscall, string action, bool kill)
    {
        var r = SeccompAuditRecord.TryParse(text.StartsWith("audit: ", StringComparison.Ordinal) ? text["audit: ".Length..] : text);
        Assert.NotNull(r);
        Assert.Equal(syscall, r.SyscallName);
        Assert.Equal(action, r.ActionName);
        Assert.Equal(kill, r.IsKill);
    }

    [Theory]
    [InlineData("type=1300 audit(1.1:2): arch=c000003e syscall=59 success=yes")]
    [InlineData("audit(1.1:2): pid=x syscall=1 arch=c000003e code=0x0")]
    [InlineData("garbage")]
    [InlineData("")]
    public void Other_or_broken_records_are_not_parsed(string text) => Assert.Null(SeccompAuditRecord.TryParse(text));

    [Fact]
    public void An_unknown_arch_is_described_by_its_number()
    {
        var r = SeccompAuditRecord.TryParse("audit(1.1:2): pid=7 comm=\"t\" exe=\"/t\" sig=31 arch=12345678 syscall=5 compat=0 ip=0x1 code=0x80000000")!;
        Assert.Null(r.SyscallName);
        Assert.Equal("syscall 5 (arch 0x12345678)", r.Describe());
    }
}
