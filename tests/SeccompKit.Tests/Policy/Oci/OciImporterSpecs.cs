using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Oci;

public class OciImporterSpecs
{
    private static (SeccompPolicy Policy, IReadOnlyList<PolicyDiagnostic> Notes) Import(string json) => OciImporter.Import(json);

    private static PolicyAction Eval(SeccompPolicy p, string name, params ulong[] args) =>
        PolicyEvaluator.Evaluate(p, new SeccompData(Architecture.X86_64.Syscalls.GetNumber(name), Architecture.X86_64.AuditArch, 0, args)).Action;

    private static string Entry(string action, string names = "\"read\"", string extra = "") =>
        $$"""{ "names": [{{names}}], "action": "{{action}}"{{extra}} }""";

    private static string Profile(string defaultAction, params string[] entries) =>
        $$"""{ "defaultAction": "{{defaultAction}}", "flags": [], "syscalls": [{{string.Join(",", entries)}}] }""";

    // ---------------------------------------------------------------- actions

    public static TheoryData<string, string, PolicyAction> Actions => new()
    {
        { "SCMP_ACT_KILL is KILL_THREAD", "\"action\": \"SCMP_ACT_KILL\"", PolicyAction.KillThread },
        { "SCMP_ACT_KILL_THREAD", "\"action\": \"SCMP_ACT_KILL_THREAD\"", PolicyAction.KillThread },
        { "SCMP_ACT_KILL_PROCESS", "\"action\": \"SCMP_ACT_KILL_PROCESS\"", PolicyAction.KillProcess },
        { "SCMP_ACT_TRAP", "\"action\": \"SCMP_ACT_TRAP\"", PolicyAction.Trap() },
        { "ERRNO defaults to EPERM", "\"action\": \"SCMP_ACT_ERRNO\"", PolicyAction.Errno(1) },
        { "ERRNO takes errnoRet", "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38", PolicyAction.Errno(38) },
        { "ERRNO 0 means success without running", "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 0", PolicyAction.Errno(0) },
        { "TRACE defaults to data 1 (EPERM)", "\"action\": \"SCMP_ACT_TRACE\"", PolicyAction.Trace(1) },
        { "TRACE takes errnoRet as data", "\"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 4242", PolicyAction.Trace(4242) },
        { "SCMP_ACT_LOG", "\"action\": \"SCMP_ACT_LOG\"", PolicyAction.Log },
        { "SCMP_ACT_NOTIFY is USER_NOTIF", "\"action\": \"SCMP_ACT_NOTIFY\"", PolicyAction.UserNotif },
        { "errnoRet is ignored for TRAP", "\"action\": \"SCMP_ACT_TRAP\", \"errnoRet\": 5", PolicyAction.Trap() },
        { "errnoRet keeps its low 16 bits (int16 cast)", "\"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 65537", PolicyAction.Trace(1) },
        { "the kernel caps ERRNO at 4095", "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5000", PolicyAction.Errno(4095) },
    };

    [Theory, MemberData(nameof(Actions))]
    public void Rule_actions_map_like_runc_getAction(string desc, string actionJson, PolicyAction expected)
    {
        _ = desc;
        var (p, _) = Import($$"""{ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock", "syscalls": [ { "names": ["read"], {{actionJson}} } ] }""");
        Assert.Equal(expected, Eval(p, "read"));
    }

    [Theory]
    [InlineData("SCMP_ACT_ERRNO", null, 1)]
    [InlineData("SCMP_ACT_ERRNO", 38, 38)]
    public void DefaultErrnoRet_applies_to_the_default_action(string action, int? ret, int expected)
    {
        var extra = ret is null ? "" : $", \"defaultErrnoRet\": {ret}";
        var (p, _) = Import($$"""{ "defaultAction": "{{action}}"{{extra}}, "syscalls": [] , "flags": []}""");
        Assert.Equal(PolicyAction.Errno(expected), p.DefaultAction);
        Assert.Equal(PolicyAction.Errno(expected), Eval(p, "read"));
    }

    [Fact]
    public void Errnoret_on_an_action_without_data_is_a_warning_with_its_path()
    {
        var (_, notes) = Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ALLOW", extra: ", \"errnoRet\": 3")));
        Assert.Contains(notes, n => n.Severity == DiagnosticSeverity.Warning && n.Location == "$.syscalls[0].errnoRet");
    }

    [Fact]
    public void Notify_as_default_action_is_refused()
    {
        var e = Assert.Throws<PolicyException>(() => Import(Profile("SCMP_ACT_NOTIFY")));
        Assert.Equal("$.defaultAction", e.Location?.JsonPath);
    }

    [Fact]
    public void Notify_on_write_is_refused_with_the_name_path()
    {
        var e = Assert.Throws<PolicyException>(() => Import("""{ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a", "syscalls": [ { "names": ["read", "write"], "action": "SCMP_ACT_NOTIFY" } ] }"""));
        Assert.Equal("$.syscalls[0].names[1]", e.Location?.JsonPath);
    }

    [Fact]
    public void Notify_without_listenerPath_is_refused_like_runc_create()
    {
        var e = Assert.Throws<PolicyException>(() => Import(Profile("SCMP_ACT_ALLOW", Entry("SCMP_ACT_NOTIFY"))));
        Assert.Equal("$.syscalls[0].action", e.Location?.JsonPath);
        Assert.Contains("listenerPath", e.Message);
    }

    [Fact]
    public void Listener_path_and_metadata_are_carried_into_the_policy()
    {
        var (p, _) = Import("""{ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock", "listenerMetadata": "hello", "syscalls": [ { "names": ["mkdir"], "action": "SCMP_ACT_NOTIFY" } ] }""");
        Assert.Equal("/run/a.sock", p.ListenerPath);
        Assert.Equal("hello", p.ListenerMetadata);
        Assert.Equal(PolicyAction.UserNotif, Eval(p, "mkdir"));
    }

    [Theory]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_BOGUS" } ] }""", "$.syscalls[0].action", "SCMP_ACT_ALLOW")]
    [InlineData("""{ "defaultAction": "allow" }""", "$.defaultAction", "SCMP_ACT_ERRNO")]
    [InlineData("""{ "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }""", "$.defaultAction", "not a valid action")]
    [InlineData("""{ }""", "$.defaultAction", "no seccomp filter")]
    public void Bad_actions_name_the_path_and_the_valid_spellings(string json, string location, string mentions)
    {
        var e = Assert.Throws<PolicyException>(() => Import(json));
        Assert.Equal(location, e.Location?.JsonPath);
        Assert.Contains(mentions, e.Message);
    }

    // ---------------------------------------------------------------- skipped rules

    [Fact]
    public void A_rule_whose_action_equals_the_default_is_skipped_with_a_note()
    {
        var (p, notes) = Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ERRNO", extra: ", \"errnoRet\": 1"), Entry("SCMP_ACT_ALLOW", "\"write\"")));
        Assert.Equal(["write"], p.Rules.Select(r => r.Syscall));
        Assert.Contains(notes, n => n.Severity == DiagnosticSeverity.Info && n.Location == "$.syscalls[0].action");
    }

    [Fact]
    public void Kill_and_kill_thread_count_as_the_same_action_for_skipping()
    {
        var (p, _) = Import(Profile("SCMP_ACT_KILL", Entry("SCMP_ACT_KILL_THREAD")));
        Assert.Empty(p.Rules);
    }

    [Fact]
    public void An_unknown_syscall_is_skipped_with_a_warning_and_a_suggestion()
    {
        var (p, notes) = Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ALLOW", "\"raed\", \"write\"")));
        Assert.Equal(["write"], p.Rules.Select(r => r.Syscall));
        var n = Assert.Single(notes, n => n.Location == "$.syscalls[0].names[0]");
        Assert.Equal(DiagnosticSeverity.Warning, n.Severity);
        Assert.Contains("'read'", n.Message);
    }

    [Fact]
    public void A_name_known_only_on_a_listed_sub_architecture_is_kept()
    {
        var (p, notes) = Import("""{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "syscalls": [ { "names": ["chown32"], "action": "SCMP_ACT_ALLOW" } ] }""");
        Assert.Single(p.Rules);
        Assert.DoesNotContain(notes, n => n.Severity == DiagnosticSeverity.Warning && n.Message.Contains("chown32"));
        Assert.Equal(PolicyAction.Allow, PolicyEvaluator.Evaluate(p, new SeccompData(Architecture.X86.Syscalls.GetNumber("chown32"), Architecture.X86.AuditArch)).Action);
    }

    [Fact]
    public void A_name_known_only_on_an_unlisted_architecture_is_skipped()
    {
        var (p, notes) = Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ALLOW", "\"chown32\"")));
        Assert.Empty(p.Rules);
        Assert.Contains(notes, n => n.Severity == DiagnosticSeverity.Warning && n.Message.Contains("It exists on") && n.Message.Contains("x86"));
    }

    [Fact]
    public void Multiplexed_names_are_reported_as_such()
    {
        var (_, notes) = Import("""{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [ { "names": ["recv"], "action": "SCMP_ACT_ALLOW" } ] }""");
        Assert.Contains(notes, n => n.Message.Contains("socketcall(call 10)"));
    }

    [Fact]
    public void An_empty_name_is_refused()
    {
        var e = Assert.Throws<PolicyException>(() => Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ALLOW", "\"\""))));
        Assert.Equal("$.syscalls[0].names[0]", e.Location?.JsonPath);
    }

    // ---------------------------------------------------------------- conditions

    public static TheoryData<string, string, ulong[], PolicyAction> Conditions => new()
    {
        // one condition per index: one AND rule
        { "AND holds", """[{"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":1,"value":4,"op":"SCMP_CMP_EQ"}]""", [3, 4], PolicyAction.Errno(5) },
        { "AND half true", """[{"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":1,"value":4,"op":"SCMP_CMP_EQ"}]""", [3, 0], PolicyAction.Allow },
        // the same index twice: each condition is its own rule (OR)
        { "repeated index is OR (first)", """[{"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":0,"value":7,"op":"SCMP_CMP_EQ"}]""", [3], PolicyAction.Errno(5) },
        { "repeated index is OR (second)", """[{"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":0,"value":7,"op":"SCMP_CMP_EQ"}]""", [7], PolicyAction.Errno(5) },
        { "repeated index is OR (neither)", """[{"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":0,"value":7,"op":"SCMP_CMP_EQ"}]""", [5], PolicyAction.Allow },
        { "repeat makes every condition an alternative", """[{"index":0,"value":3,"op":"SCMP_CMP_EQ"},{"index":0,"value":7,"op":"SCMP_CMP_EQ"},{"index":1,"value":9,"op":"SCMP_CMP_EQ"}]""", [0, 9], PolicyAction.Errno(5) },
        // operators, unsigned 64-bit
        { "NE", """[{"index":0,"value":3,"op":"SCMP_CMP_NE"}]""", [4], PolicyAction.Errno(5) },
        { "LT unsigned", """[{"index":0,"value":3,"op":"SCMP_CMP_LT"}]""", [ulong.MaxValue], PolicyAction.Allow },
        { "LE", """[{"index":0,"value":3,"op":"SCMP_CMP_LE"}]""", [3], PolicyAction.Errno(5) },
        { "GE", """[{"index":0,"value":3,"op":"SCMP_CMP_GE"}]""", [3], PolicyAction.Errno(5) },
        { "GT compares all 64 bits", """[{"index":0,"value":4294967295,"op":"SCMP_CMP_GT"}]""", [0x1_0000_0000], PolicyAction.Errno(5) },
        // MASKED_EQ: value is the mask, valueTwo the expected value
        { "MASKED_EQ matches", """[{"index":2,"value":255,"valueTwo":65,"op":"SCMP_CMP_MASKED_EQ"}]""", [0, 0, 0x1041], PolicyAction.Errno(5) },
        { "MASKED_EQ misses", """[{"index":2,"value":255,"valueTwo":65,"op":"SCMP_CMP_MASKED_EQ"}]""", [0, 0, 0x42], PolicyAction.Allow },
        // valueTwo is ignored outside MASKED_EQ
        { "valueTwo ignored for EQ", """[{"index":0,"value":3,"valueTwo":99,"op":"SCMP_CMP_EQ"}]""", [3], PolicyAction.Errno(5) },
    };

    [Theory, MemberData(nameof(Conditions))]
    public void Conditions_follow_runc_matchCall(string desc, string args, ulong[] callArgs, PolicyAction expected)
    {
        _ = desc;
        var (p, _) = Import(Profile("SCMP_ACT_ALLOW", $$"""{ "names": ["fchownat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": {{args}} }"""));
        Assert.All(p.Rules.SelectMany(r => r.Conditions), c => Assert.Equal(ArgumentWidth.Bits64, c.Width));
        Assert.Equal(expected, Eval(p, "fchownat", [.. callArgs, .. new ulong[6 - callArgs.Length]]));
    }

    [Fact]
    public void Masked_equal_reads_value_as_the_mask_and_valueTwo_as_the_expected_value()
    {
        var (p, _) = Import(Profile("SCMP_ACT_ALLOW", """{ "names": ["openat"], "action": "SCMP_ACT_ERRNO", "args": [{"index":2,"value":3,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}] }"""));
        Assert.Equal(new ArgCondition(2, ArgOperator.MaskedEqual, value: 1, mask: 3), Assert.Single(Assert.Single(p.Rules).Conditions));
    }

    [Fact]
    public void A_non_zero_valueTwo_outside_masked_equal_is_a_warning()
    {
        var (_, notes) = Import(Profile("SCMP_ACT_ALLOW", """{ "names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index":0,"value":3,"valueTwo":1,"op":"SCMP_CMP_EQ"}] }"""));
        Assert.Contains(notes, n => n.Severity == DiagnosticSeverity.Warning && n.Location == "$.syscalls[0].args[0].valueTwo");
    }

    [Theory]
    [InlineData("""{"index":0,"value":3,"op":"SCMP_CMP_BOGUS"}""", "$.syscalls[0].args[0].op", "SCMP_CMP_MASKED_EQ")]
    [InlineData("""{"index":6,"value":3,"op":"SCMP_CMP_EQ"}""", "$.syscalls[0].args[0].index", "0 to 5")]
    [InlineData("""{"index":-1,"value":3,"op":"SCMP_CMP_EQ"}""", "$.syscalls[0].args[0].index", "whole number")]
    [InlineData("""{"index":0,"value":1.5,"op":"SCMP_CMP_EQ"}""", "$.syscalls[0].args[0].value", "whole number")]
    [InlineData("""{"index":0,"value":"3","op":"SCMP_CMP_EQ"}""", "$.syscalls[0].args[0].value", "must be a number")]
    [InlineData("""{"index":0,"value":3,"op":3}""", "$.syscalls[0].args[0].op", "must be a string")]
    [InlineData("""{"index":0,"value":3}""", "$.syscalls[0].args[0].op", "not a valid operator")]
    public void Bad_conditions_name_their_json_path(string arg, string location, string mentions)
    {
        var e = Assert.Throws<PolicyException>(() => Import(Profile("SCMP_ACT_ALLOW", $$"""{ "names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{{arg}}] }""")));
        Assert.Equal(location, e.Location?.JsonPath);
        Assert.Contains(mentions, e.Message);
    }

    // ---------------------------------------------------------------- libseccomp's rule database

    [Fact]
    public void An_unconditional_rule_overrides_conditional_rules_with_a_warning_when_actions_differ()
    {
        var (p, notes) = Import(Profile("SCMP_ACT_ERRNO",
            """{ "names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": [{"index":1,"value":3,"op":"SCMP_CMP_EQ"}] }""",
            Entry("SCMP_ACT_ALLOW", "\"write\"")));
        Assert.Equal([new SyscallRule("write", PolicyAction.Allow)], p.Rules);
        Assert.Equal(PolicyAction.Allow, Eval(p, "write", 0, 3));
        var n = Assert.Single(notes, n => n.Severity == DiagnosticSeverity.Warning);
        Assert.Equal("$.syscalls[0].names[0]", n.Location);
        Assert.Contains("$.syscalls[1].names[0]", n.Message);
    }

    [Fact]
    public void Of_two_unconditional_rules_the_first_wins_as_in_libseccomp()
    {
        var (p, notes) = Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ALLOW", "\"setns\""), Entry("SCMP_ACT_KILL", "\"setns\"")));
        Assert.Equal(PolicyAction.Allow, Eval(p, "setns"));
        Assert.Contains(notes, n => n.Severity == DiagnosticSeverity.Warning && n.Location == "$.syscalls[1].names[0]");
    }

    [Fact]
    public void Two_conditional_rules_with_the_same_conditions_and_different_actions_fail_like_EEXIST()
    {
        const string cond = """, "args": [{"index":0,"value":3,"op":"SCMP_CMP_EQ"}]""";
        var e = Assert.Throws<PolicyException>(() => Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ALLOW", extra: cond), Entry("SCMP_ACT_KILL", extra: cond))));
        Assert.Equal("$.syscalls[1].names[0]", e.Location?.JsonPath);
        Assert.Contains("$.syscalls[0].names[0]", e.Message);
    }

    [Fact]
    public void Exact_duplicate_rules_are_kept_once()
    {
        var (p, _) = Import(Profile("SCMP_ACT_ERRNO", Entry("SCMP_ACT_ALLOW", "\"read\", \"read\""), Entry("SCMP_ACT_ALLOW")));
        Assert.Single(p.Rules);
    }

    [Fact]
    public void A_condition_past_the_syscalls_arguments_is_refused_with_its_path()
    {
        var e = Assert.Throws<PolicyException>(() => Import(Profile("SCMP_ACT_ALLOW", """{ "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "args": [{"index":0,"value":3,"op":"SCMP_CMP_EQ"}] }""")));
        Assert.Equal("$.syscalls[0].names[0]", e.Location?.JsonPath);
    }

    // ---------------------------------------------------------------- architectures

    public static TheoryData<string, string[], string[]> Architectures => new()
    {
        { "none: only the native arch", [], ["x86_64"] },
        { "native always first", ["SCMP_ARCH_X86"], ["x86_64", "x86"] },
        { "listed native is not duplicated", ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"], ["x86_64", "x32"] },
        { "foreign arches are added", ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"], ["x86_64", "aarch64", "arm"] },
        { "loongarch64", ["SCMP_ARCH_LOONGARCH64"], ["x86_64", "loongarch64"] },
    };

    [Theory, MemberData(nameof(Architectures))]
    public void Architectures_are_the_native_one_plus_the_listed_ones(string desc, string[] listed, string[] expected)
    {
        _ = desc;
        var arches = string.Join(",", listed.Select(a => $"\"{a}\""));
        var (p, _) = Import($$"""{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": [{{arches}}] }""");
        Assert.Equal(expected, p.Architectures.Select(a => a.Name));
        Assert.Equal(PolicyAction.KillThread, p.BadArchAction);
    }

    [Fact]
    public void The_native_architecture_can_be_chosen()
    {
        var (p, _) = OciImporter.Import("""{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_ARM"] }""", new() { Native = Architecture.Aarch64 });
        Assert.Equal(["aarch64", "arm"], p.Architectures.Select(a => a.Name));
    }

    [Theory]
    [InlineData("SCMP_ARCH_PARISC")]
    [InlineData("SCMP_ARCH_NATIVE")]
    [InlineData("scmp_arch_x86_64")]
    [InlineData("x86_64")]
    public void Unknown_architectures_are_refused_with_the_list(string arch)
    {
        var e = Assert.Throws<PolicyException>(() => Import($$"""{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "{{arch}}"] }"""));
        Assert.Equal("$.architectures[1]", e.Location?.JsonPath);
        Assert.Contains("SCMP_ARCH_RISCV64", e.Message);
    }

    // ---------------------------------------------------------------- ENOSYS stub

    [Fact]
    public void Listed_architectures_get_enosys_above_the_largest_named_syscall()
    {
        var (p, _) = Import("""
            { "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
              "syscalls": [ { "names": ["read", "openat2"], "action": "SCMP_ACT_ALLOW" },
                            { "names": ["close_range"], "action": "SCMP_ACT_ERRNO" } ] }
            """);
        foreach (var abi in new[] { Architecture.X86_64, Architecture.X86, Architecture.X32 })
            Assert.Equal((uint)new[] { "read", "openat2", "close_range" }.Max(abi.Syscalls.GetNumber), p.EnosysAbove[abi]);
        Assert.True((p.EnosysAbove[Architecture.X32] & Architecture.X32SyscallBit) != 0);
        var d = PolicyEvaluator.Evaluate(p, new SeccompData((int)p.EnosysAbove[Architecture.X86_64] + 1, Architecture.X86_64.AuditArch));
        Assert.Equal(PolicyEvaluator.Enosys, d.Action);
    }

    public static TheoryData<string, string, bool> EnosysCases => new()
    {
        { "ERRNO default gets the stub", """ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"] """, true },
        { "KILL default gets the stub", """ "defaultAction": "SCMP_ACT_KILL", "architectures": ["SCMP_ARCH_X86_64"] """, true },
        { "TRAP default gets the stub", """ "defaultAction": "SCMP_ACT_TRAP", "architectures": ["SCMP_ARCH_X86_64"] """, true },
        { "ERRNO(ENOSYS) default still gets it (runc compares with 0x50026)", """ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "architectures": ["SCMP_ARCH_X86_64"] """, true },
        { "ALLOW default: none", """ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"] """, false },
        { "LOG default: none", """ "defaultAction": "SCMP_ACT_LOG", "architectures": ["SCMP_ARCH_X86_64"] """, false },
        { "TRACE default: none", """ "defaultAction": "SCMP_ACT_TRACE", "architectures": ["SCMP_ARCH_X86_64"] """, false },
        { "no architectures listed: none", """ "defaultAction": "SCMP_ACT_ERRNO" """, false },
    };

    [Theory, MemberData(nameof(EnosysCases))]
    public void The_enosys_stub_follows_patchbpf_generatePatch(string desc, string head, bool stub)
    {
        _ = desc;
        var (p, _) = Import($$"""{ {{head}}, "syscalls": [ { "names": ["getpid"], "action": "SCMP_ACT_KILL_PROCESS" } ] }""");
        Assert.Equal(stub, p.EnosysAbove.ContainsKey(Architecture.X86_64));
    }

    [Fact]
    public void The_implicit_native_architecture_gets_no_stub_but_listed_ones_do()
    {
        var (p, _) = Import("""{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }""");
        Assert.False(p.EnosysAbove.ContainsKey(Architecture.X86_64));
        Assert.Equal((uint)Architecture.X86.Syscalls.GetNumber("read"), p.EnosysAbove[Architecture.X86]);
    }

    [Fact]
    public void Names_of_entries_skipped_for_the_default_action_still_count_for_the_cutoff()
    {
        var (p, _) = Import("""{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" }, { "names": ["openat2"], "action": "SCMP_ACT_ERRNO" } ] }""");
        Assert.Equal((uint)Architecture.X86_64.Syscalls.GetNumber("openat2"), p.EnosysAbove[Architecture.X86_64]);
    }

    [Fact]
    public void S390x_also_returns_enosys_for_number_zero()
    {
        var (p, _) = OciImporter.Import("""{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_S390X"], "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW" } ] }""", new() { Native = Architecture.S390X });
        Assert.Equal(PolicyEvaluator.Enosys, PolicyEvaluator.Evaluate(p, new SeccompData(0, Architecture.S390X.AuditArch)).Action);
    }

    [Fact]
    public void An_architecture_with_no_named_syscall_gets_no_stub_and_a_warning()
    {
        var (p, notes) = Import("""{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [ { "names": ["epoll_ctl_old"], "action": "SCMP_ACT_ALLOW" } ] }""");
        Assert.Empty(p.EnosysAbove);
        Assert.Contains(notes, n => n.Location == "$.architectures" && n.Message.Contains("x86"));
    }

    // ---------------------------------------------------------------- flags

    public static TheoryData<string, string, PolicyFlags> FlagCases => new()
    {
        { "absent: SPEC_ALLOW (specconv default)", "", PolicyFlags.SpecAllow },
        { "empty: none", ", \"flags\": []", PolicyFlags.None },
        { "LOG", ", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"]", PolicyFlags.Log },
        { "all four", ", \"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\", \"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]", PolicyFlags.Tsync | PolicyFlags.Log | PolicyFlags.SpecAllow | PolicyFlags.WaitKillableRecv },
    };

    [Theory, MemberData(nameof(FlagCases))]
    public void Flags_map_to_policy_flags(string desc, string flags, PolicyFlags expected)
    {
        _ = desc;
        var (p, _) = Import($$"""{ "defaultAction": "SCMP_ACT_ALLOW"{{flags}} }""");
        Assert.Equal(expected, p.Flags);
    }

    [Fact]
    public void An_unknown_flag_is_refused_like_runc()
    {
        var e = Assert.Throws<PolicyException>(() => Import("""{ "defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] }"""));
        Assert.Equal("$.flags[0]", e.Location?.JsonPath);
        Assert.Contains("is not known to runc", e.Message);
    }

    [Fact]
    public void Wait_killable_recv_is_accepted_with_a_warning_that_runc_refuses_it()
    {
        var (_, notes) = Import("""{ "defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }""");
        Assert.Contains(notes, n => n.Severity == DiagnosticSeverity.Warning && n.Location == "$.flags[0]");
    }

    // ---------------------------------------------------------------- JSON shape

    [Fact]
    public void Unknown_properties_are_warnings_with_their_path()
    {
        var (_, notes) = Import("""{ "defaultAction": "SCMP_ACT_ALLOW", "flags": [], "colour": 1, "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ERRNO", "comment": "x", "args": [ { "index": 0, "value": 1, "op": "SCMP_CMP_EQ", "extra": true } ] } ] }""");
        Assert.Equal(["$.colour", "$.syscalls[0].comment", "$.syscalls[0].args[0].extra"],
            notes.Where(n => n.Severity == DiagnosticSeverity.Warning).Select(n => n.Location));
    }

    [Fact]
    public void The_docker_name_field_is_ignored_by_runc_and_says_so()
    {
        var (p, notes) = Import("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "name": "read", "action": "SCMP_ACT_ERRNO" } ] }""");
        Assert.Empty(p.Rules);
        Assert.Contains(notes, n => n.Location == "$.syscalls[0].name" && n.Message.Contains("names"));
    }

    [Fact]
    public void Property_names_match_case_insensitively_like_go()
    {
        var (p, notes) = Import("""{ "DefaultAction": "SCMP_ACT_KILL_PROCESS" }""");
        Assert.Equal(PolicyAction.KillProcess, p.DefaultAction);
        Assert.Contains(notes, n => n.Location == "$.DefaultAction" && n.Severity == DiagnosticSeverity.Info);
    }

    [Fact]
    public void A_whole_config_json_is_accepted()
    {
        var (p, _) = Import("""{ "ociVersion": "1.2.0", "process": {}, "linux": { "seccomp": { "defaultAction": "SCMP_ACT_LOG" } } }""");
        Assert.Equal(PolicyAction.Log, p.DefaultAction);
    }

    [Theory]
    [InlineData("""{ "defaultAction": 1 }""", "$.defaultAction")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": "SCMP_ARCH_X86" }""", "$.architectures")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": "read" } ] }""", "$.syscalls[0].names")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read", 3] } ] }""", "$.syscalls[0].names[1]")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1 }""", "$.defaultErrnoRet")]
    [InlineData("""[1, 2]""", "$")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", """, "line 1, column")]
    public void Wrong_types_and_bad_json_are_located(string json, string location)
    {
        var e = Assert.Throws<PolicyException>(() => Import(json));
        Assert.StartsWith(location, e.Location?.ToString());
    }
}
