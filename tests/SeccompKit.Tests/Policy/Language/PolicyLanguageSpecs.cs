using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Language;

/// <summary>What each construct of the policy language means, as the rules it produces.</summary>
public class PolicyLanguageSpecs
{
    private static string Rules(string body) =>
        string.Join("; ", PolicyLanguage.Parse("default kill-process\n" + body).Rules.Select(r => r.ToString()));

    public static TheoryData<string, string, string> Conditions => new()
    {
        // desc, policy body, rules (SyscallRule.ToString, joined with "; ")
        { "an unconditional item", "allow { read }", "read -> ALLOW" },
        { "named int argument compares 32 bits", "allow { read(fd == 1) }", "read(arg0:32 == 0x1) -> ALLOW" },
        { "named pointer-sized argument compares 64 bits", "allow { read(count < 4096) }", "read(arg2 < 0x1000) -> ALLOW" },
        { "positional argN uses the signature width", "allow { socket(arg0 == 2) }", "socket(arg0:32 == 0x2) -> ALLOW" },
        { "args[N] is always positional", "allow { prctl(args[2] == 1) }", "prctl(arg2 == 0x1) -> ALLOW" },
        { "prctl's own arg2 name means index 1", "allow { prctl(arg2 == 1) }", "prctl(arg1 == 0x1) -> ALLOW" },
        { ":64 widens a 32-bit argument", "allow { read(fd:64 == 1) }", "read(arg0 == 0x1) -> ALLOW" },
        { ":32 narrows a 64-bit argument", "allow { read(count:32 == 1) }", "read(arg2:32 == 0x1) -> ALLOW" },
        { "negative numbers are 32-bit two's complement on int", "allow { openat(dfd == -100) }", "openat(arg0:32 == 0xffffff9c) -> ALLOW" },
        { "AT_FDCWD is -100 at the argument's width", "allow { openat(dfd == AT_FDCWD) }", "openat(arg0:32 == 0xffffff9c) -> ALLOW" },
        { "negative numbers are 64-bit two's complement on long", "allow { lseek(offset == -1) }", "lseek(arg1 == 0xffffffffffffffff) -> ALLOW" },
        { "every comparison operator", "allow { read(fd != 1 && fd < 2 && fd <= 3 && fd > 4 && fd >= 5) }", "read(arg0:32 != 0x1 && arg0:32 < 0x2 && arg0:32 <= 0x3 && arg0:32 > 0x4 && arg0:32 >= 0x5) -> ALLOW" },
        { "mask binds to the argument before ==", "allow { openat(flags & O_ACCMODE == O_RDONLY) }", "openat(arg2:32 & 0x3 == 0x0) -> ALLOW" },
        { "parenthesized masked operand", "allow { openat((flags & O_ACCMODE) == O_WRONLY) }", "openat(arg2:32 & 0x3 == 0x1) -> ALLOW" },
        { "bare mask means any of its bits set", "allow { clone(clone_flags & (CLONE_NEWNS|CLONE_NEWUSER)) }", "clone(arg0 & 0x20000 == 0x20000) -> ALLOW; clone(arg0 & 0x10000000 == 0x10000000) -> ALLOW" },
        { "masked != becomes one rule per differing bit", "allow { openat(flags & 3 != 1) }", "openat(arg2:32 & 0x1 == 0x0) -> ALLOW; openat(arg2:32 & 0x2 == 0x2) -> ALLOW" },
        { "|| makes several rules", "allow { socket(family == AF_INET || family == AF_INET6) }", "socket(arg0:32 == 0x2) -> ALLOW; socket(arg0:32 == 0xa) -> ALLOW" },
        { "in is a list of alternatives", "allow { socket(family in { AF_UNIX, AF_INET }) }", "socket(arg0:32 == 0x1) -> ALLOW; socket(arg0:32 == 0x2) -> ALLOW" },
        { "&& distributes over a parenthesized ||", "allow { socket((family == 1 || family == 2) && type == SOCK_STREAM) }", "socket(arg0:32 == 0x1 && arg1:32 == 0x1) -> ALLOW; socket(arg0:32 == 0x2 && arg1:32 == 0x1) -> ALLOW" },
        { "! inverts a comparison", "allow { read(!(fd < 3)) }", "read(arg0:32 >= 0x3) -> ALLOW" },
        { "! applies De Morgan", "allow { read(!(fd == 1 || fd == 2)) }", "read(arg0:32 != 0x1 && arg0:32 != 0x2) -> ALLOW" },
        { "! on a mask asks for the bits clear", "allow { clone(!(clone_flags & CLONE_NEWUSER)) }", "clone(arg0 & 0x10000000 == 0x0) -> ALLOW" },
        { "! on in is a conjunction of !=", "allow { socket(!(family in { 1, 2 })) }", "socket(arg0:32 != 0x1 && arg0:32 != 0x2) -> ALLOW" },
        { "an always-true alternative makes the rule unconditional", "allow { openat(flags & 1 != 2 || flags == 0) }", "openat -> ALLOW" },
        { "constants combine with |", "allow { socket(type == SOCK_STREAM|SOCK_CLOEXEC) }", "socket(arg1:32 == 0x80001) -> ALLOW" },
        { "hex, octal, 0o and binary numbers", "allow { openat(mode == 0x1ff || mode == 0755 || mode == 0o644 || mode == 0b101) }", "openat(arg3:32 == 0x1ff) -> ALLOW; openat(arg3:32 == 0x1ed) -> ALLOW; openat(arg3:32 == 0x1a4) -> ALLOW; openat(arg3:32 == 0x5) -> ALLOW" },
        { "sets expand in place", "set @io = { read, write(fd == 1) }\nallow { @io, close }", "read -> ALLOW; write(arg0:32 == 0x1) -> ALLOW; close -> ALLOW" },
        { "a duplicate item is one rule", "allow { read, read }", "read -> ALLOW" },
        { "comments and trailing commas", "# c\nallow { read, # r\n write, }", "read -> ALLOW; write -> ALLOW" },
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void A_condition_lowers_to_the_expected_rules(string desc, string body, string expected)
    {
        _ = desc;
        Assert.Equal(expected, Rules(body));
    }

    public static TheoryData<string, string, string> ActionTexts => new()
    {
        { "allow", "allow", "ALLOW" },
        { "log", "log", "LOG" },
        { "kill is kill-process", "kill", "KILL_PROCESS" },
        { "kill-process", "kill-process", "KILL_PROCESS" },
        { "kill-thread", "kill-thread", "KILL_THREAD" },
        { "trap without data", "trap", "TRAP" },
        { "trap with data", "trap(7)", "TRAP(7)" },
        { "trace", "trace(65535)", "TRACE(65535)" },
        { "errno by name", "errno(EACCES)", "ERRNO(EACCES)" },
        { "errno by number", "errno(38)", "ERRNO(ENOSYS)" },
        { "notify", "notify", "USER_NOTIF" },
    };

    [Theory]
    [MemberData(nameof(ActionTexts))]
    public void Actions_are_spelled_as_documented(string desc, string text, string expected)
    {
        _ = desc;
        var p = PolicyLanguage.Parse($"default {text}\n{text} {{ read }}");
        Assert.Equal(expected, p.DefaultAction.ToString());
        Assert.Equal(expected, p.Rules[0].Action.ToString());
    }

    [Fact]
    public void A_syscall_with_more_rules_than_a_condition_may_expand_to_prints_as_several_items_that_read_back()
    {
        // 70 alternatives of two conditions each for one syscall and action (a recovered filter had this for personality):
        // one item would expand beyond PolicyLanguage.MaxAlternatives and not parse.
        var rules = Enumerable.Range(0, 70).Select(i => new SyscallRule("personality", PolicyAction.Allow,
            [new ArgCondition(0, ArgOperator.MaskedEqual, 0x10, 0x10), new ArgCondition(0, ArgOperator.LessOrEqual, 373 + (ulong)i * 4)]));
        var policy = new SeccompPolicy(PolicyAction.Errno(1), rules, [Architecture.X86_64]);
        var text = PolicyLanguage.Print(policy);
        var back = PolicyLanguage.Parse(text);
        Assert.Equal(70, back.Rules.Count(r => r.Syscall == "personality"));
        Assert.Equal(text, PolicyLanguage.Print(back));
    }

    [Fact]
    public void Header_statements_set_every_field_of_the_model()
    {
        var p = PolicyLanguage.Parse("""
            default errno(EPERM)
            architectures x86_64, x86, x32
            on-bad-arch kill-thread
            flags tsync, log, spec-allow, wait-killable-recv
            listener "/run/agent.sock"
            listener-metadata "a \"quoted\" \\ text\n"
            enosys-above x86_64 462, x86 462
            """);
        Assert.Equal(PolicyAction.Errno(1), p.DefaultAction);
        Assert.Equal([Architecture.X86_64, Architecture.X86, Architecture.X32], p.Architectures);
        Assert.Equal(PolicyAction.KillThread, p.BadArchAction);
        Assert.Equal(PolicyFlags.Tsync | PolicyFlags.Log | PolicyFlags.SpecAllow | PolicyFlags.WaitKillableRecv, p.Flags);
        Assert.Equal("/run/agent.sock", p.ListenerPath);
        Assert.Equal("a \"quoted\" \\ text\n", p.ListenerMetadata);
        Assert.Equal(462u, p.EnosysAbove[Architecture.X86_64]);
        Assert.Equal(462u, p.EnosysAbove[Architecture.X86]);
    }

    [Fact]
    public void Includes_resolve_relative_to_the_including_file_and_share_sets()
    {
        var files = new Dictionary<string, string>
        {
            ["policies/main.policy"] = "default kill-process\ninclude \"lib/io.policy\"\nallow { @io }",
            ["policies/lib/io.policy"] = "include \"../base.policy\"\nset @io = { read, write }",
            ["policies/base.policy"] = "allow { close }",
        };
        var p = PolicyLanguage.Parse(files["policies/main.policy"], "policies/main.policy", new InMemoryIncludeResolver(files));
        Assert.Equal(["close", "read", "write"], p.Rules.Select(r => r.Syscall));
    }

    [Fact]
    public void The_printer_writes_the_canonical_golden_text()
    {
        var p = PolicyLanguage.Parse("""
            default errno(EPERM)
            architectures x86_64, x32
            listener "/run/agent.sock"
            kill-process { ptrace }
            allow { write(fd == 1 || fd == 2), read, openat(flags & O_ACCMODE == O_RDONLY && dfd == AT_FDCWD) }
            allow { socket(family == AF_INET && type == SOCK_STREAM|SOCK_CLOEXEC), mmap(prot & PROT_EXEC == 0), clone(!(clone_flags & (CLONE_NEWUSER|CLONE_NEWNS))) }
            errno(ENOSYS) { clone3 }
            notify { mount }
            allow { fcntl(cmd == F_GETFL), kill(sig == SIGTERM), lseek(offset:32 == 0x12345 && arg0 == 3) }
            """);
        const string golden = """
            default errno(EPERM)
            architectures x86_64, x32
            listener "/run/agent.sock"

            allow {
                clone(clone_flags & (CLONE_NEWNS|CLONE_NEWUSER) == 0),
                fcntl(cmd == F_GETFL),
                kill(sig == SIGTERM),
                lseek(fd == 3 && offset:32 == 0x12345),
                mmap(prot & PROT_EXEC == 0),
                openat(dfd == AT_FDCWD && flags & O_ACCMODE == O_RDONLY),
                read,
                socket(family == AF_INET && type == SOCK_STREAM|SOCK_CLOEXEC),
                write(fd == 1 || fd == 2),
            }

            notify {
                mount,
            }

            errno(ENOSYS) {
                clone3,
            }

            kill-process {
                ptrace,
            }

            """;
        Assert.Equal(golden.ReplaceLineEndings("\n"), PolicyLanguage.Print(p));
    }

    [Fact]
    public void Equal_precedence_actions_keep_their_order_for_one_syscall()
    {
        // errno(EACCES) and errno(EPERM) tie in precedence, so the earlier rule decides: the printer
        // must not swap the blocks.
        var p = PolicyLanguage.Parse("default allow\nerrno(EACCES) { read(fd == 1) }\nerrno(EPERM) { read(count == 1) }");
        var text = PolicyLanguage.Print(p);
        Assert.True(text.IndexOf("errno(EACCES)", StringComparison.Ordinal) < text.IndexOf("errno(EPERM)", StringComparison.Ordinal), text);
        var again = PolicyLanguage.Parse(text);
        var d = new SeccompKit.Bpf.SeccompData(Architecture.X86_64.Syscalls.GetNumber("read"), Architecture.X86_64.AuditArch, 0, 1, 0, 1, 0, 0, 0);
        Assert.Equal(PolicyEvaluator.Evaluate(p, d).Action, PolicyEvaluator.Evaluate(again, d).Action);
    }

    private const ulong Low32 = 0xffff_ffff;

    /// <summary>Rules as learn writes them: MASKED_EQ with 0xffffffff on int arguments (SecurityArguments), plus runc-style masks.</summary>
    public static TheoryData<string, SyscallRule, string> LearnedRules => new()
    {
        { "open flags", new("openat", PolicyAction.Allow, [new(2, ArgOperator.MaskedEqual, 0, Low32)]), "openat(flags == O_RDONLY)" },
        { "open flags with bits", new("openat", PolicyAction.Allow, [new(2, ArgOperator.MaskedEqual, 0x80241, Low32)]), "openat(flags == O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC)" },
        { "terminal ioctl", new("ioctl", PolicyAction.Allow, [new(1, ArgOperator.MaskedEqual, 0x5401, Low32)]), "ioctl(cmd == TCGETS)" },
        { "window size ioctl", new("ioctl", PolicyAction.Allow, [new(1, ArgOperator.MaskedEqual, 0x5413, Low32)]), "ioctl(cmd == TIOCGWINSZ)" },
        { "an _IOR ioctl above 31 bits", new("ioctl", PolicyAction.Allow, [new(1, ArgOperator.MaskedEqual, 0x80045430, Low32)]), "ioctl(cmd == TIOCGPTN)" },
        { "an ioctl without a name", new("ioctl", PolicyAction.Allow, [new(1, ArgOperator.MaskedEqual, 0x1234, Low32)]), "ioctl(cmd == 0x1234)" },
        { "fcntl command", new("fcntl", PolicyAction.Allow, [new(1, ArgOperator.MaskedEqual, 3, Low32)]), "fcntl(cmd == F_GETFL)" },
        { "socket triple", new("socket", PolicyAction.Allow, [new(0, ArgOperator.MaskedEqual, 1, Low32), new(1, ArgOperator.MaskedEqual, 1, 0xf), new(2, ArgOperator.MaskedEqual, 0, Low32)]),
            "socket(family == AF_UNIX && type & 0xf == SOCK_STREAM && protocol == 0)" },
        { "prctl option", new("prctl", PolicyAction.Allow, [new(0, ArgOperator.MaskedEqual, 38, Low32)]), "prctl(option == PR_SET_NO_NEW_PRIVS)" },
        { "mmap prot on a 64-bit argument", new("mmap", PolicyAction.Allow, [new(2, ArgOperator.MaskedEqual, 3, Low32)]), "mmap(prot:32 == PROT_READ|PROT_WRITE)" },
        { "clone namespace mask", new("clone", PolicyAction.Allow, [new(0, ArgOperator.MaskedEqual, 0, 0x7E02_0000)]),
            "clone(clone_flags & (CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET) == 0)" },
        { "negative dfd", new("openat", PolicyAction.Allow, [new(0, ArgOperator.MaskedEqual, 0xffffff9c, Low32)]), "openat(dfd == AT_FDCWD)" },
        { "a 32-bit mask at 32 bits needs no suffix", new("mmap", PolicyAction.Allow, [new(2, ArgOperator.MaskedEqual, 0, 4, ArgumentWidth.Bits32)]), "mmap(prot & PROT_EXEC == 0)" },
        { "a wide mask keeps its width", new("lseek", PolicyAction.Allow, [new(1, ArgOperator.MaskedEqual, 0, 0xffff_ffff_0000_0000)]), "lseek(offset & 0xffffffff00000000 == 0)" },
    };

    [Theory]
    [MemberData(nameof(LearnedRules))]
    public void Learned_rules_print_as_comparisons_that_parse_back_to_the_same_meaning(string desc, SyscallRule rule, string item)
    {
        _ = desc;
        var p = new SeccompPolicy(PolicyAction.Errno(1), [rule], [Architecture.X86_64, Architecture.X86]);
        var text = PolicyLanguage.Print(p);
        Assert.Contains($"    {item},\n", text);
        var back = PolicyLanguage.Parse(text);
        Assert.Null(SeccompKit.Tests.Policy.Oci.OciTestData.FirstDifference(p, back));
        Assert.Equal(text, PolicyLanguage.Print(back));
    }

    [Fact]
    public void Rules_that_print_alike_keep_only_the_one_that_decides()
    {
        // fd:32 == 1 and fd & 0xffffffff == 1 are the same condition; the more restrictive rule wins, so only it is written
        // (two blocks with the same item would be conflicting rules when read back).
        var p = new SeccompPolicy(PolicyAction.Allow,
            [new("read", PolicyAction.Errno(5), [new(0, ArgOperator.Equal, 1, width: ArgumentWidth.Bits32)]),
             new("read", PolicyAction.KillProcess, [new(0, ArgOperator.MaskedEqual, 1, Low32)])]);
        var text = PolicyLanguage.Print(p);
        Assert.DoesNotContain("errno", text);
        Assert.Null(SeccompKit.Tests.Policy.Oci.OciTestData.FirstDifference(p, PolicyLanguage.Parse(text)));
    }

    [Fact]
    public void A_declared_bad_arch_action_is_printed_even_when_it_is_the_default_one()
    {
        var declared = PolicyLanguage.Parse("default allow\non-bad-arch kill-process\n");
        var silent = PolicyLanguage.Parse("default allow\n");
        Assert.Equal(PolicyAction.KillProcess, declared.DeclaredBadArchAction);
        Assert.Null(silent.DeclaredBadArchAction);
        Assert.Equal(PolicyAction.KillProcess, silent.BadArchAction);
        Assert.Contains("on-bad-arch kill-process", PolicyLanguage.Print(declared));
        Assert.DoesNotContain("on-bad-arch", PolicyLanguage.Print(silent));
    }

    [Fact]
    public void Parsed_rules_and_statements_keep_their_file_line_and_column()
    {
        var p = PolicyLanguage.Parse("default allow\non-bad-arch kill-thread\nflags log\nerrno(EPERM) {\n  read,\n  write(fd == 1 || fd == 2) }\n", "app.policy");
        Assert.Equal(["app.policy:5:3", "app.policy:6:3", "app.policy:6:3"], p.Rules.Select(r => r.Origin));
        Assert.Equal("app.policy:1:1", p.Origins.DefaultAction);
        Assert.Equal("app.policy:2:1", p.Origins.BadArchAction);
        Assert.Equal("app.policy:3:1", p.Origins.Flags);
    }

    public static TheoryData<string, string, ulong, ArgumentWidth, string> Symbols => new()
    {
        { "exact single constant", "AF", 10UL, ArgumentWidth.Bits32, "AF_INET6" },
        { "first alias wins", "AF", 1UL, ArgumentWidth.Bits32, "AF_UNIX" },
        { "enum plus flags", "O", 0x80241UL, ArgumentWidth.Bits32, "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC" },
        { "multi-bit flag first", "O", 0x410000UL, ArgumentWidth.Bits32, "O_TMPFILE" },
        { "negative constant at 32 bits", "AT_FDCWD", 0xffffff9cUL, ArgumentWidth.Bits32, "AT_FDCWD" },
    };

    [Theory]
    [MemberData(nameof(Symbols))]
    public void Values_print_symbolically_only_when_exact(string desc, string family, ulong value, ArgumentWidth width, string expected)
    {
        _ = desc;
        Assert.Equal(expected, PolicyPrinter.Symbolic(family, value, width));
    }

    [Fact]
    public void Values_without_an_exact_spelling_stay_numeric()
    {
        Assert.Null(PolicyPrinter.Symbolic("AF", 99, ArgumentWidth.Bits32));
        Assert.Null(PolicyPrinter.Symbolic("SOCK", 7, ArgumentWidth.Bits32));
    }
}
