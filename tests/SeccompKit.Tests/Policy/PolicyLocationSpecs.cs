using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy;

/// <summary>
/// One validation path: <see cref="SeccompPolicy"/> alone validates a whole policy and says where as data (rule index,
/// syscall, argument, statement); the policy language and the OCI importer place that location in their input.
/// </summary>
public class PolicyLocationSpecs
{
    private static SyscallRule Rule(string syscall, PolicyAction action, params ArgCondition[] conditions) => new(syscall, action, conditions);

    public static TheoryData<string, Func<SeccompPolicy>, PolicyLocation, string, string> ModelErrors => new()
    {
        // desc, policy, location, problem fragment, hint fragment
        {
            "unknown syscall",
            () => new SeccompPolicy(PolicyAction.Allow, [Rule("read", PolicyAction.Allow), Rule("opnat", PolicyAction.Allow)]),
            PolicyLocation.AtRule(1, "opnat"), "unknown system call 'opnat' on x86_64", "did you mean 'openat'"
        },
        {
            "syscall of another architecture",
            () => new SeccompPolicy(PolicyAction.Allow, [Rule("socketcall", PolicyAction.Allow)]),
            PolicyLocation.AtRule(0, "socketcall"), "unknown system call 'socketcall'", "add one of those to the architectures"
        },
        {
            "condition on an argument the syscall lacks",
            () => new SeccompPolicy(PolicyAction.Allow, [Rule("getpid", PolicyAction.Allow, new ArgCondition(2, ArgOperator.Equal, 1))]),
            PolicyLocation.AtRule(0, "getpid", 2), "getpid has 0 arguments, so a condition on argument 2 compares an unused register", "remove the condition"
        },
        {
            "conflicting rules",
            () => new SeccompPolicy(PolicyAction.Allow, [Rule("read", PolicyAction.Allow), Rule("write", PolicyAction.Allow), Rule("read", PolicyAction.KillProcess)]),
            PolicyLocation.AtRule(2, "read"), "conflicting rules for read: KILL_PROCESS here, but ALLOW at rule 1 for the same calls", "keep one of the two"
        },
        {
            "ENOSYS cutoff for an uncovered architecture",
            () => new SeccompPolicy(PolicyAction.Allow, [], enosysAbove: new Dictionary<Architecture, uint> { [Architecture.Aarch64] = 400 }),
            PolicyLocation.AtStatement(PolicyStatement.EnosysAbove, Architecture.Aarch64), "an ENOSYS cutoff is given for aarch64, which the policy does not cover", "add aarch64 to the architectures"
        },
    };

    [Theory]
    [MemberData(nameof(ModelErrors))]
    public void The_model_locates_its_errors_as_data(string desc, Func<SeccompPolicy> build, PolicyLocation location, string problem, string hint)
    {
        _ = desc;
        var e = Assert.Throws<PolicyException>(build);
        Assert.Equal(location, e.Location);
        Assert.Contains(problem, e.Problem);
        Assert.Contains(hint, e.Hint);
        Assert.Equal($"{location}: {e.Problem}; {e.Hint}", e.Message);
    }

    [Fact]
    public void A_conflict_names_the_other_rule_by_where_it_was_written()
    {
        var e = Assert.Throws<PolicyException>(() => new SeccompPolicy(PolicyAction.Allow,
            [Rule("read", PolicyAction.Allow) with { Origin = "p.policy:2:9" }, Rule("read", PolicyAction.Errno(1)) with { Origin = "p.policy:3:15" }]));
        Assert.Contains("ERRNO(EPERM) here, but ALLOW at p.policy:2:9 for the same calls", e.Problem);
    }

    public static TheoryData<string, string, int, int, int, int?> LanguageErrors => new()
    {
        // desc, text, line, column, rule index the model named, argument
        { "unknown syscall after others", "default allow\nallow { read, write }\nallow { opnat }", 3, 9, 2, null },
        { "unused argument", "default allow\nallow { read,\n  getpid(arg1 == 1) }", 3, 3, 1, 1 },
        { "conflict", "default allow\nallow { read }\nkill { read }", 3, 8, 1, null },
    };

    [Theory]
    [MemberData(nameof(LanguageErrors))]
    public void The_parser_places_the_models_rule_at_its_item_without_reading_the_message(string desc, string text, int line, int column, int rule, int? argument)
    {
        _ = desc;
        var e = Assert.Throws<PolicyParseException>(() => PolicyLanguage.Parse(text, "p.policy"));
        Assert.Equal(PolicyLocation.AtSource("p.policy", line, column), e.Location! with { RuleIndex = null, Syscall = null, Argument = null });
        Assert.Equal(rule, e.Location!.RuleIndex);
        Assert.Equal(argument, e.Location.Argument);
        var model = Assert.IsType<PolicyException>(e.InnerException, exactMatch: true);
        Assert.Equal(model.Problem, e.Problem);
        Assert.Equal(model.Hint, e.Hint);
        Assert.StartsWith($"p.policy:{line}:{column}: {e.Problem}\n", e.Message);
    }

    [Fact]
    public void The_parser_places_an_ENOSYS_cutoff_error_at_its_statement_part()
    {
        var e = Assert.Throws<PolicyParseException>(() => PolicyLanguage.Parse("default allow\narchitectures x86_64\nenosys-above x86_64 400, aarch64 300", "p.policy"));
        Assert.Equal((3, 26), (e.Line, e.Column));
        Assert.Equal(PolicyStatement.EnosysAbove, e.Location!.Statement);
        Assert.Equal(Architecture.Aarch64, e.Location.Abi);
    }

    [Fact]
    public void The_OCI_importer_places_the_models_rule_at_its_JSON_path()
    {
        const string json = """{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read", "getpid"], "action": "SCMP_ACT_ERRNO", "args": [{"index":1,"value":3,"op":"SCMP_CMP_EQ"}] } ] }""";
        var e = Assert.Throws<PolicyException>(() => OciImporter.Import(json));
        Assert.Equal("$.syscalls[0].names[1]", e.Location!.JsonPath);
        Assert.Equal((1, "getpid", (int?)1), (e.Location.RuleIndex, e.Location.Syscall, e.Location.Argument));
        Assert.StartsWith("$.syscalls[0].names[1]: getpid has 0 arguments", e.Message);
        Assert.Contains("runc accepts such a condition", e.Hint);
    }

    public static TheoryData<PolicyLocation, string> Renderings => new()
    {
        { PolicyLocation.AtSource("a.policy", 3, 9), "a.policy:3:9" },
        { PolicyLocation.AtText(1, 17), "line 1, column 17" },
        { PolicyLocation.AtJsonPath("$.syscalls[0].names[1]"), "$.syscalls[0].names[1]" },
        { PolicyLocation.AtJsonPath("$.arch", "runc.json"), "runc.json: $.arch" },
        { PolicyLocation.InFile("/etc/x.policy"), "/etc/x.policy" },
        { PolicyLocation.AtRule(2, "openat"), "rule 3 (openat)" },
        { PolicyLocation.AtRule(0, "read", 4), "rule 1 (read, argument 4)" },
        { PolicyLocation.AtStatement(PolicyStatement.EnosysAbove, Architecture.X86), "enosys-above x86" },
        { PolicyLocation.AtRule(0, "read") with { JsonPath = "$.syscalls[0].names[0]" }, "$.syscalls[0].names[0]" },
    };

    [Theory]
    [MemberData(nameof(Renderings))]
    public void A_location_prints_its_most_precise_form(PolicyLocation location, string text) => Assert.Equal(text, location.ToString());
}
