using CsCheck;
using SeccompKit.Bpf;
using static SeccompKit.Bpf.SeccompReturn;

namespace SeccompKit.Tests.Bpf;

public class SeccompResultSpecs
{
    /// <summary>(desc, value, action carried out, known?, data, kernel name).</summary>
    public static TheoryData<string, uint, SeccompAction, bool, ushort, string> Actions => new()
    {
        { "KILL_PROCESS", SECCOMP_RET_KILL_PROCESS, SeccompAction.KillProcess, true, 0, "KILL_PROCESS" },
        { "KILL_PROCESS keeps its data", SECCOMP_RET_KILL_PROCESS | 9, SeccompAction.KillProcess, true, 9, "KILL_PROCESS" },
        { "KILL_THREAD is 0", SECCOMP_RET_KILL_THREAD, SeccompAction.KillThread, true, 0, "KILL_THREAD" },
        { "TRAP with data", SECCOMP_RET_TRAP | 0x1234, SeccompAction.Trap, true, 0x1234, "TRAP" },
        { "ERRNO with data", SECCOMP_RET_ERRNO | 13, SeccompAction.Errno, true, 13, "ERRNO" },
        { "USER_NOTIF", SECCOMP_RET_USER_NOTIF, SeccompAction.UserNotif, true, 0, "USER_NOTIF" },
        { "TRACE with data", SECCOMP_RET_TRACE | 0xffff, SeccompAction.Trace, true, 0xffff, "TRACE" },
        { "LOG", SECCOMP_RET_LOG, SeccompAction.Log, true, 0, "LOG" },
        { "ALLOW", SECCOMP_RET_ALLOW, SeccompAction.Allow, true, 0, "ALLOW" },
        { "ALLOW with data is still ALLOW", SECCOMP_RET_ALLOW | 1, SeccompAction.Allow, true, 1, "ALLOW" },
        { "unknown 0x00010000 acts as KILL_PROCESS", 0x00010000, SeccompAction.KillProcess, false, 0, "KILL_PROCESS" },
        { "unknown 0x7ffe0000 (between LOG and ALLOW) acts as KILL_PROCESS", 0x7ffe0005, SeccompAction.KillProcess, false, 5, "KILL_PROCESS" },
        { "unknown 0xffff0000 acts as KILL_PROCESS", 0xffff0000, SeccompAction.KillProcess, false, 0, "KILL_PROCESS" },
        { "unknown 0x80010000 (KILL_PROCESS bit plus more) acts as KILL_PROCESS", 0x80010000, SeccompAction.KillProcess, false, 0, "KILL_PROCESS" },
        { "the old SECCOMP_RET_ACK idea 0x7ffd0000 was never merged", 0x7ffd0000, SeccompAction.KillProcess, false, 0, "KILL_PROCESS" },
    };

    [Theory]
    [MemberData(nameof(Actions))]
    public void The_action_part_decides_what_the_kernel_does(string desc, uint value, SeccompAction action, bool known, ushort data, string name)
    {
        var r = new SeccompResult(value);
        Assert.True(action == r.Action, desc);
        Assert.Equal(known, r.IsKnownAction);
        Assert.Equal(data, r.Data);
        Assert.Equal(name, r.ActionName);
        Assert.Equal(value & 0xffff0000, r.ActionBits);
        Assert.Equal(unchecked((int)(value & 0xffff0000)), r.PrecedenceKey);
    }

    /// <summary>(desc, ERRNO data, errno the syscall returns).</summary>
    public static TheoryData<string, ushort, int> Errnos => new()
    {
        { "0 returns 0", 0, 0 },
        { "EPERM", 1, 1 },
        { "4095 is the largest errno", 4095, 4095 },
        { "4096 is capped", 4096, 4095 },
        { "0xffff is capped", 0xffff, 4095 },
    };

    [Theory]
    [MemberData(nameof(Errnos))]
    public void ERRNO_data_is_capped_at_MAX_ERRNO(string desc, ushort data, int errno)
    {
        Assert.True(errno == new SeccompResult(SECCOMP_RET_ERRNO | data).EffectiveErrno, desc);
    }

    /// <summary>(desc, value, text).</summary>
    public static TheoryData<string, uint, string> Formats => new()
    {
        { "KILL_PROCESS", 0x80000000, "KILL_PROCESS" },
        { "KILL_PROCESS with data", 0x80000007, "KILL_PROCESS(7)" },
        { "KILL_THREAD", 0, "KILL_THREAD" },
        { "KILL_THREAD with data", 0x0000ffff, "KILL_THREAD(65535)" },
        { "TRAP", 0x00030000, "TRAP" },
        { "TRAP with data", 0x00030005, "TRAP(5)" },
        { "ERRNO 0 keeps its parentheses", 0x00050000, "ERRNO(0)" },
        { "ERRNO by name", 0x00050001, "ERRNO(EPERM)" },
        { "ERRNO above the names", 0x00050fff, "ERRNO(4095)" },
        { "ERRNO above MAX_ERRNO keeps the raw data", 0x0005ffff, "ERRNO(65535)" },
        { "USER_NOTIF", 0x7fc00000, "USER_NOTIF" },
        { "TRACE with data", 0x7ff00010, "TRACE(16)" },
        { "LOG", 0x7ffc0000, "LOG" },
        { "ALLOW", 0x7fff0000, "ALLOW" },
        { "ALLOW with data", 0x7fff0002, "ALLOW(2)" },
        { "unknown action as hex", 0x12345678, "0x12345678" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Format_writes_what_TryParseValue_reads_back(string desc, uint value, string text)
    {
        Assert.True(text == ActionNames.Format(value), $"{desc}: {ActionNames.Format(value)}");
        Assert.Equal(text, new SeccompResult(value).ToString());
        Assert.True(ActionNames.TryParseValue(text, out var back), desc);
        Assert.Equal(value, back);
    }

    /// <summary>(desc, text, value or null when refused).</summary>
    public static TheoryData<string, string, uint?> Parses => new()
    {
        { "SECCOMP_RET_ prefix", "SECCOMP_RET_ALLOW", SECCOMP_RET_ALLOW },
        { "lower case", "errno(eacces)", SECCOMP_RET_ERRNO | 13 },
        { "KILL means KILL_THREAD", "KILL", SECCOMP_RET_KILL_THREAD },
        { "errno alias", "ERRNO(EWOULDBLOCK)", SECCOMP_RET_ERRNO | 11 },
        { "hex data", "TRAP(0x10)", SECCOMP_RET_TRAP | 16 },
        { "plain decimal", "2147418112", SECCOMP_RET_ALLOW },
        { "plain hex", "0x7ffc0000", SECCOMP_RET_LOG },
        { "spaces around", "  LOG  ", SECCOMP_RET_LOG },
        { "data wider than 16 bits is refused", "ERRNO(65536)", null },
        { "an unknown name is refused", "DENY", null },
        { "an unknown errno name is refused", "ERRNO(ENOTANERRNO)", null },
        { "a missing parenthesis is refused", "ERRNO(EPERM", null },
        { "empty data is refused", "TRAP()", null },
        { "a negative number is refused", "-1", null },
    };

    [Theory]
    [MemberData(nameof(Parses))]
    public void TryParseValue_reads_names_numbers_and_aliases(string desc, string text, uint? expected)
    {
        bool ok = ActionNames.TryParseValue(text, out var value);
        Assert.True(ok == expected.HasValue, $"{desc}: parsed={ok} value=0x{value:x8}");
        if (expected is uint e) Assert.Equal(e, value);
    }

    [Fact]
    public void Every_action_with_every_data_shape_round_trips()
    {
        uint[] actions = [SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
            SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW];
        foreach (var action in actions)
            foreach (uint data in (uint[])[0, 1, 9, 10, 133, 134, 4095, 4096, 0x8000, 0xffff])
            {
                uint v = action | data;
                Assert.True(ActionNames.TryParseValue(ActionNames.Format(v), out var back), ActionNames.Format(v));
                Assert.Equal(v, back);
            }
    }

    [Fact]
    public void Every_errno_name_maps_back_to_its_number()
    {
        Assert.NotEmpty(ErrnoNames.All);
        foreach (var (number, name) in ErrnoNames.All)
        {
            Assert.True(ErrnoNames.TryGetNumber(name, out var n), name);
            Assert.Equal(number, n);
        }
    }

    [Fact]
    public void Format_and_TryParseValue_round_trip_for_random_values()
    {
        // Half the values get a known action part so the named forms are exercised too.
        var known = Gen.OneOf<uint>(SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
            SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW);
        var gen = Gen.OneOf<uint>(Gen.UInt, Gen.Select(known, Gen.UShort, (a, d) => a | d));
        gen.Sample(v =>
        {
            var text = ActionNames.Format(v);
            Assert.True(ActionNames.TryParseValue(text, out var back), text);
            Assert.Equal(v, back);
        }, iter: 20_000);
    }
}
