using SeccompKit.Policy;
using SeccompKit.Policy.Language;

namespace SeccompKit.Tests.Policy.Language;

/// <summary>Every error names file:line:column, shows the line with a caret under the spot, and gives a hint.</summary>
public class PolicyLanguageErrorSpecs
{
    public static TheoryData<string, string, int, int, string, string> Errors => new()
    {
        // desc, text, line, column, message fragment, hint fragment
        { "unknown syscall", "default allow\nallow { opnat }", 2, 9, "unknown system call 'opnat'", "did you mean 'openat'" },
        { "syscall of another arch", "default allow\nallow { socketcall }", 2, 9, "unknown system call 'socketcall'", "exists on" },
        { "unknown argument name", "default allow\nallow { socket(famly == 1) }", 2, 16, "no argument named 'famly'", "family (int, 32-bit), type" },
        { "constant on the left", "default allow\nallow { socket(AF_INET == family) }", 2, 16, "no argument named 'AF_INET'", "put the argument on the left" },
        { "unknown constant", "default allow\nallow { socket(family == AF_INTE) }", 2, 26, "unknown constant 'AF_INTE'", "did you mean 'AF_INET'" },
        { "missing )", "default allow\nallow { read(fd == 1 }", 2, 22, "expected ')'", "conditions are comparisons" },
        { "missing }", "default allow\nallow { read", 2, 13, "expected ',' or '}'", "close the list" },
        { "missing comma", "default allow\nallow { read write }", 2, 14, "expected ',' or '}'", "commas" },
        { "no default", "allow { read }", 1, 1, "no default action", "default kill-process" },
        { "errno out of range", "default errno(5000)", 1, 15, "errno 5000 is out of range", "4095" },
        { "unknown errno name", "default errno(EPREM)", 1, 15, "unknown errno name 'EPREM'", "did you mean 'EPERM'" },
        { "unknown action", "default alow", 1, 9, "unknown action 'alow'", "did you mean 'allow'" },
        { "conflicting rules", "default allow\nallow { read }\nkill { read }", 3, 8, "conflicting rules for read", "keep one" },
        { "relational operator after a mask", "default allow\nallow { openat(flags & 3 < 2) }", 2, 26, "only be compared with == or !=", "equality" },
        { "value too wide for a 32-bit argument", "default allow\nallow { read(fd == 0x100000000) }", 2, 20, "does not fit the 32-bit argument 0", ":64" },
        { "bad width suffix", "default allow\nallow { read(fd:16 == 1) }", 2, 17, "width must be 32 or 64", "arg1:32" },
        { "argument index beyond six", "default allow\nallow { read(args[6] == 1) }", 2, 19, "out of range", "args[5]" },
        { "argument the syscall lacks", "default allow\nallow { getpid(arg0 == 1) }", 2, 9, "getpid has 0 arguments", "" },
        { "unknown set", "default allow\nallow { @fils }", 2, 9, "unknown set @fils", "define it" },
        { "set defined twice", "set @a = { read }\nset @a = { write }\ndefault allow", 2, 5, "already defined at <policy>:1:5", "another name" },
        { "default given twice", "default allow\ndefault log", 2, 1, "'default' is already given at <policy>:1:1", "remove one" },
        { "unknown architecture", "default allow\narchitectures x86_46", 2, 15, "unknown architecture 'x86_46'", "did you mean 'x86_64'" },
        { "ENOSYS cutoff for an uncovered arch", "default allow\nenosys-above aarch64 400", 2, 14, "aarch64, which the policy does not cover", "architectures" },
        { "unterminated string", "default allow\nlistener \"/run/x", 2, 10, "unterminated string", "close the string" },
        { "bad octal", "default allow\nallow { read(fd == 09) }", 2, 20, "not a valid octal number", "leading 0" },
        { "stray character", "default allow;", 1, 14, "unexpected character ';'", "no terminator" },
        { "rule outside a block", "default allow\nread", 2, 1, "unknown statement 'read'", "allow { read }" },
        { "comparison missing", "default allow\nallow { read(fd) }", 2, 16, "expected a comparison", "read(fd == 1)" },
        { "= instead of ==", "default allow\nallow { read(fd = 1) }", 2, 17, "expected a comparison", "use '=='" },
        { "condition that never holds", "default allow\nallow { read(!(fd & 0 == 0)) }", 2, 9, "can never hold", "remove the rule" },
        { "expansion beyond the limit", "default allow\nallow { mmap(addr & 0xfff != 1 && len & 0xfff != 1) }", 2, 9, "expands to more than 64 rules", "Split the item" },
        { "includes without a resolver", "default allow\ninclude \"x.policy\"", 2, 9, "includes are not available", "read it from a file" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Errors_point_at_the_spot_and_say_what_to_do(string desc, string text, int line, int column, string message, string hint)
    {
        _ = desc;
        var e = Assert.Throws<PolicyParseException>(() => PolicyLanguage.Parse(text));
        Assert.Equal(line, e.Line);
        Assert.Equal(column, e.Column);
        Assert.Equal($"<policy>:{line}:{column}", e.Location?.ToString());
        Assert.Contains(message, e.Problem);
        Assert.Contains(hint, e.Hint ?? "");
        var lines = e.Message.Split('\n');
        Assert.StartsWith($"<policy>:{line}:{column}: ", lines[0]);
        Assert.Equal("    " + text.Split('\n')[line - 1], lines[1]);
        Assert.Equal(new string(' ', 4 + column - 1) + "^", lines[2]);
    }

    [Fact]
    public void An_include_cycle_names_the_chain()
    {
        var files = new Dictionary<string, string>
        {
            ["a.policy"] = "default allow\ninclude \"b.policy\"",
            ["b.policy"] = "include \"a.policy\"",
        };
        var e = Assert.Throws<PolicyParseException>(() => PolicyLanguage.Parse(files["a.policy"], "a.policy", new InMemoryIncludeResolver(files)));
        Assert.Equal("b.policy", e.FileName);
        Assert.Contains("include cycle: a.policy -> b.policy -> a.policy", e.Problem);
        Assert.Equal(["a.policy:2:9"], e.IncludeChain);
        Assert.Contains("included from a.policy:2:9", e.Message);
    }

    [Fact]
    public void An_error_in_an_included_file_is_located_in_that_file()
    {
        var files = new Dictionary<string, string>
        {
            ["dir/main.policy"] = "default allow\ninclude \"sub/x.policy\"",
            ["dir/sub/x.policy"] = "\n\nallow { red }",
        };
        var e = Assert.Throws<PolicyParseException>(() => PolicyLanguage.Parse(files["dir/main.policy"], "dir/main.policy", new InMemoryIncludeResolver(files)));
        Assert.Equal("dir/sub/x.policy:3:9", e.Location?.ToString());
        Assert.Contains("did you mean 'read'", e.Hint);
    }

    [Fact]
    public void A_missing_include_says_where_it_looked()
    {
        var e = Assert.Throws<PolicyParseException>(() => PolicyLanguage.Parse("default allow\ninclude \"../x.policy\"", "p/main.policy", new InMemoryIncludeResolver(new Dictionary<string, string>())));
        Assert.Contains("looked for x.policy", e.Problem);
    }

    [Fact]
    public void Parse_errors_are_policy_exceptions() =>
        Assert.IsAssignableFrom<PolicyException>(Record.Exception(() => PolicyLanguage.Parse("nonsense")));
}
