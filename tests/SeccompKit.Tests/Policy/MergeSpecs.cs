using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy;

/// <summary>
/// <see cref="PolicyMerger.Union"/>: the merge allows exactly what one of its inputs allows. Verdicts come from the
/// compiled filters run in the interpreter (the oracle), and every successful merge is also checked whole by
/// <see cref="MergeVerifier"/>.
/// </summary>
public class MergeSpecs(ITestOutputHelper output)
{
    private static readonly uint X64 = Architecture.X86_64.AuditArch;

    private static SeccompPolicy P(string text) => PolicyLanguage.Parse(text);

    /// <summary>What the compiled policy returns for a call of <paramref name="name"/> on <paramref name="abi"/>.</summary>
    private static string Run(SeccompPolicy p, string name, Architecture? abi = null, params ulong[] args)
    {
        abi ??= Architecture.X86_64;
        var program = PolicyCompiler.Compile(p).Program;
        return ActionNames.Format(Interpreter.Evaluate(program, new SeccompData(abi.Syscalls.GetNumber(name), abi.AuditArch, 0, args)));
    }

    private MergeResult Merge(params SeccompPolicy[] inputs) => MergeWith(null, inputs);

    /// <summary>Merges, prints the notes, and checks the whole merge by emulation.</summary>
    private MergeResult MergeWith(MergeOptions? options, params SeccompPolicy[] inputs)
    {
        var result = PolicyMerger.Union(inputs, options);
        foreach (var n in result.Notes) output.WriteLine(n.ToString());
        var v = MergeVerifier.Verify(result, new MergeVerifyOptions { CrossCheckEvaluator = true });
        output.WriteLine($"verified on {v.InputsChecked} inputs, {v.Mismatches} mismatches");
        Assert.True(v.Verified, string.Join("\n", v.Examples));
        Assert.True(v.InputsChecked > 300, $"only {v.InputsChecked} inputs");
        return result;
    }

    private static string Rules(SeccompPolicy p) => string.Join("; ", p.Rules);

    [Fact]
    public void The_merge_allows_what_either_input_allows_and_refuses_the_rest_with_the_common_default()
    {
        var a = P("default errno(EPERM)\nallow { read, write, openat(flags & O_ACCMODE == O_RDONLY) }");
        var b = P("default errno(EPERM)\nallow { read, close, openat(flags & O_ACCMODE == O_WRONLY) }");
        var m = Merge(a, b).Policy;
        Assert.Equal("ALLOW", Run(m, "write"));                              // a only
        Assert.Equal("ALLOW", Run(m, "close"));                              // b only
        Assert.Equal("ALLOW", Run(m, "openat", null, 0, 0, 0));              // O_RDONLY: a
        Assert.Equal("ALLOW", Run(m, "openat", null, 0, 0, 1));              // O_WRONLY: b
        Assert.Equal("ERRNO(EPERM)", Run(m, "openat", null, 0, 0, 2));       // O_RDWR: neither
        Assert.Equal("ERRNO(EPERM)", Run(m, "mkdir"));                       // neither
        Assert.Equal("KILL_PROCESS", ActionNames.Format(Interpreter.Evaluate(PolicyCompiler.Compile(m).Program, new SeccompData(0, Architecture.Aarch64.AuditArch))));
        Assert.Equal("close -> ALLOW; openat(arg2:32 & 0x3 == 0x0) -> ALLOW; openat(arg2:32 & 0x3 == 0x1) -> ALLOW; read -> ALLOW; write -> ALLOW", Rules(m));
    }

    [Fact]
    public void An_unconditional_allow_absorbs_the_conditional_allows_of_the_same_syscall_and_says_so()
    {
        var a = P("default kill-process\nallow { read, openat(flags & O_ACCMODE == O_RDONLY), socket(family == AF_UNIX) }");
        var b = P("default kill-process\nallow { openat, socket(family == AF_UNIX), socket(family == AF_INET) }");
        var r = Merge(a, b);
        Assert.Equal("openat -> ALLOW; read -> ALLOW; socket(arg0:32 == 0x1) -> ALLOW; socket(arg0:32 == 0x2) -> ALLOW", Rules(r.Policy));
        var note = Assert.Single(r.Notes);
        Assert.Equal("openat", note.Location);
        Assert.Contains("`openat -> ALLOW` (input 2) covers 1 narrower rule of input 1", note.Message);
        Assert.Equal(3, r.SyscallCount);
        Assert.Equal(1, r.ConditionalSyscallCount);
    }

    [Fact]
    public void A_rule_whose_conditions_include_another_rules_is_dropped_and_identical_rules_in_any_condition_order_are_kept_once()
    {
        var a = P("default errno(EPERM)\nallow { socket(family == AF_INET && type == SOCK_STREAM), mmap(prot == 1 && flags == 2) }");
        var b = P("default errno(EPERM)\nallow { socket(family == AF_INET), mmap(flags == 2 && prot == 1) }");
        var m = Merge(a, b).Policy;
        Assert.Equal("mmap(arg2 == 0x1 && arg3 == 0x2) -> ALLOW; socket(arg0:32 == 0x2) -> ALLOW", Rules(m));
    }

    [Fact]
    public void Log_rules_win_over_allow_rules_they_cover_and_keep_the_call_running()
    {
        var a = P("default errno(EPERM)\nallow { read(fd == 0) }");
        var b = P("default errno(EPERM)\nlog { read }");
        var m = Merge(a, b).Policy;
        Assert.Equal("read -> LOG", Rules(m));
        // The other way round an ALLOW does not absorb a narrower LOG: where both match, LOG wins anyway.
        var m2 = Merge(P("default errno(EPERM)\nallow { read }"), P("default errno(EPERM)\nlog { read(fd == 0) }")).Policy;
        Assert.Equal("read -> ALLOW; read(arg0:32 == 0x0) -> LOG", Rules(m2));
    }

    [Fact]
    public void The_output_is_sorted_by_syscall_and_does_not_depend_on_the_inputs_order_and_merging_again_changes_nothing()
    {
        var a = P("default errno(EPERM)\nallow { write, read(fd == 3), read(fd == 1), openat }");
        var b = P("default errno(EPERM)\nallow { close, read(fd == 2), read(fd == 1), ioctl(cmd == 0x5401) }");
        var c = P("default errno(EPERM)\nallow { openat(flags == 0), brk }");
        var abc = Merge(a, b, c).Policy;
        Assert.Equal(["brk", "close", "ioctl", "openat", "read", "read", "read", "write"], abc.Rules.Select(r => r.Syscall));
        Assert.Equal(PolicyLanguage.Print(abc), PolicyLanguage.Print(Merge(c, a, b).Policy));
        Assert.Equal(PolicyLanguage.Print(abc), PolicyLanguage.Print(Merge(b, c, a).Policy));
        Assert.Equal(abc.Rules, Merge(abc).Policy.Rules);
        Assert.Equal(abc.Rules, Merge(abc, a).Policy.Rules);
        Assert.Equal(abc.Rules, Merge(abc, abc).Policy.Rules);
    }

    [Fact]
    public void Different_default_actions_are_refused_with_both_inputs_named_and_the_option_that_resolves_it()
    {
        var a = P("default errno(EPERM)\nallow { read }");
        var b = P("default kill-process\nallow { write }");
        var e = Assert.Throws<PolicyException>(() => PolicyMerger.Union([a, b], new MergeOptions { InputNames = ["a.policy", "b.policy"] }));
        Assert.Contains("different default actions (a.policy: ERRNO(EPERM), b.policy: KILL_PROCESS)", e.Message);
        Assert.DoesNotContain("MergeOptions", e.Message); // messages speak CLI, not C#
        Assert.Contains("--default-action", e.Message);

        var m = MergeWith(new MergeOptions { DefaultAction = PolicyAction.Errno(13) }, a, b).Policy;
        Assert.Equal(PolicyAction.Errno(13), m.DefaultAction);
        Assert.Equal("ERRNO(EACCES)", Run(m, "close"));
    }

    [Fact]
    public void Different_bad_architecture_actions_are_refused_unless_one_is_chosen()
    {
        var a = P("default errno(EPERM)\nallow { read }");
        var b = P("default errno(EPERM)\non-bad-arch kill-thread\nallow { write }");
        var e = Assert.Throws<PolicyException>(() => PolicyMerger.Union([a, b]));
        Assert.Contains("different bad-architecture actions (input 1: KILL_PROCESS, input 2: KILL_THREAD)", e.Message);
        Assert.Contains("--bad-arch-action", e.Message);
        var m = MergeWith(new MergeOptions { BadArchAction = PolicyAction.KillThread }, a, b).Policy;
        Assert.Equal(PolicyAction.KillThread, m.BadArchAction);
    }

    [Fact]
    public void Architectures_are_united_and_an_input_decides_only_the_calls_of_the_architectures_it_covers()
    {
        var a = P("default errno(EPERM)\narchitectures x86_64, x86\nallow { read, write, exit_group }");
        var b = P("default errno(EPERM)\narchitectures x86_64, x32\nallow { read, write, exit_group }");
        var r = Merge(a, b);
        Assert.Equal([Architecture.X86, Architecture.X86_64, Architecture.X32], r.Policy.Architectures);
        Assert.Equal("ALLOW", Run(r.Policy, "exit_group", Architecture.X86));
        Assert.Equal("ALLOW", Run(r.Policy, "write", Architecture.X32));
        Assert.Contains(r.Notes, n => n.Location == "architectures" && n.Message.Contains("input 1 covers only x86_64, x86 and decides nothing about calls from the others"));
    }

    [Fact]
    public void Rules_that_would_reach_an_architecture_only_other_inputs_decide_are_refused_unless_the_architectures_are_restated()
    {
        // exit_group is allowed by b, which does not cover x86; on x86 only a decides, and a does not allow it.
        var a = P("default errno(EPERM)\narchitectures x86_64, x86\nallow { read }");
        var b = P("default errno(EPERM)\narchitectures x86_64\nallow { read, exit_group }");
        var e = Assert.Throws<PolicyException>(() => PolicyMerger.Union([a, b], new MergeOptions { InputNames = ["a", "b"] }));
        output.WriteLine(e.Message);
        Assert.Contains("would allow `exit_group -> ALLOW` on x86 because b allows it, but b does not cover it; a decides x86 calls", e.Message);
        Assert.Contains("--arch x86,x86_64", e.Message);

        var m = MergeWith(new MergeOptions { Architectures = [Architecture.X86_64, Architecture.X86] }, a, b).Policy;
        Assert.Equal("ALLOW", Run(m, "exit_group", Architecture.X86));
    }

    [Fact]
    public void A_refusing_rule_every_input_has_is_kept_and_one_only_some_inputs_have_is_refused_with_the_syscall_named()
    {
        var a = P("default errno(EPERM)\nallow { read }\nkill-process { ptrace }\nerrno(ENOSYS) { clone3 }");
        var b = P("default errno(EPERM)\nallow { write }\nkill-process { ptrace }\nerrno(ENOSYS) { clone3 }");
        var m = Merge(a, b).Policy;
        Assert.Equal("KILL_PROCESS", Run(m, "ptrace"));
        Assert.Equal("ERRNO(ENOSYS)", Run(m, "clone3"));

        var c = P("default errno(EPERM)\nallow { write }\nerrno(ENOSYS) { clone3 }");
        var e = Assert.Throws<PolicyException>(() => PolicyMerger.Union([a, c], new MergeOptions { InputNames = ["a", "c"] }));
        Assert.Contains("cannot merge the rules for ptrace: a refuses every ptrace call with KILL_PROCESS (`ptrace -> KILL_PROCESS`), but c has no rule for ptrace (its default ERRNO(EPERM) decides every call)", e.Message);
    }

    [Fact]
    public void A_rule_that_refuses_with_the_default_is_the_same_as_no_rule()
    {
        var a = P("default errno(EPERM)\nallow { read }\nerrno(EPERM) { mount }");
        var b = P("default errno(EPERM)\nallow { mount(flags == 0) }");
        var m = Merge(a, b).Policy;
        Assert.Equal("mount(arg3 == 0x0) -> ALLOW; read -> ALLOW", Rules(m));
    }

    [Fact]
    public void Partial_refusals_merge_only_when_every_input_has_the_same_rules_for_the_syscall()
    {
        const string Openat = "allow { openat }\nerrno(EACCES) { openat(flags & O_ACCMODE == O_RDWR) }";
        var a = P("default errno(EPERM)\nallow { read }\n" + Openat);
        var b = P("default errno(EPERM)\nallow { write }\n" + Openat);
        var m = Merge(a, b).Policy;
        Assert.Equal("ALLOW", Run(m, "openat", null, 0, 0, 0));
        Assert.Equal("ERRNO(EACCES)", Run(m, "openat", null, 0, 0, 2));

        var c = P("default errno(EPERM)\nallow { openat(flags == 0) }");
        var e = Assert.Throws<PolicyException>(() => PolicyMerger.Union([a, c]));
        Assert.Contains("cannot merge the rules for openat: input 1 has the rules `openat -> ALLOW`, `openat(arg2:32 & 0x3 == 0x2) -> ERRNO(EACCES)`, but input 2 only allows (`openat(arg2:32 == 0x0) -> ALLOW`)", e.Message);
    }

    [Fact]
    public void An_input_that_allows_every_call_of_a_syscall_overrides_another_inputs_partial_refusal()
    {
        var a = P("default errno(EPERM)\nallow { openat }\nerrno(EACCES) { openat(flags & O_ACCMODE == O_RDWR) }");
        var b = P("default errno(EPERM)\nallow { openat }");
        var r = Merge(a, b);
        Assert.Equal("openat -> ALLOW", Rules(r.Policy));
        Assert.Contains(r.Notes, n => n.Location == "openat" && n.Message.Contains("input 2 allows every call, so the refusing rules of input 1 are not kept"));
    }

    [Fact]
    public void Deny_lists_merge_to_what_every_input_refuses()
    {
        var a = P("default allow\nkill-process { ptrace, mount }");
        var b = P("default allow\nkill-process { ptrace }\nerrno(EPERM) { reboot }");
        var m = Merge(a, b).Policy;
        Assert.Equal("ptrace -> KILL_PROCESS", Rules(m));
        Assert.Equal("ALLOW", Run(m, "mount"));
    }

    [Fact]
    public void The_enosys_cutoff_is_the_largest_when_every_input_has_one_and_none_when_one_has_none()
    {
        var a = P("default errno(EPERM)\nenosys-above x86_64 300\nallow { read }");
        var b = P("default errno(EPERM)\nenosys-above x86_64 334\nallow { rseq }");
        var r = Merge(a, b);
        Assert.Equal(334u, r.Policy.EnosysAbove[Architecture.X86_64]);
        Assert.Equal("ALLOW", Run(r.Policy, "rseq"));          // 334: above a's cutoff, so only b decides
        Assert.Equal("ERRNO(ENOSYS)", Run(r.Policy, "clone3")); // 435: above both

        var c = P("default errno(EPERM)\nallow { write }");
        var r2 = Merge(a, c);
        Assert.Empty(r2.Policy.EnosysAbove);
        Assert.Equal("ERRNO(EPERM)", Run(r2.Policy, "clone3"));
        Assert.Contains(r2.Notes, n => n.Location == "x86_64" && n.Message.Contains("no ENOSYS cutoff"));
    }

    [Fact]
    public void Flags_are_united_and_the_listener_is_kept_but_two_different_listeners_are_refused()
    {
        var a = P("default errno(EPERM)\nflags tsync\nlistener \"/run/agent.sock\"\nallow { read }\nnotify { mount }");
        var b = P("default errno(EPERM)\nflags log\nallow { read }\nnotify { mount }");
        var m = Merge(a, b).Policy;
        Assert.Equal(PolicyFlags.Tsync | PolicyFlags.Log, m.Flags);
        Assert.Equal("/run/agent.sock", m.ListenerPath);
        var c = P("default errno(EPERM)\nlistener \"/run/other.sock\"\nallow { read }\nnotify { mount }");
        var e = Assert.Throws<PolicyException>(() => PolicyMerger.Union([a, c]));
        Assert.Contains("different seccomp listeners (input 1: /run/agent.sock, input 2: /run/other.sock)", e.Message);
    }

    [Fact]
    public void Thirty_two_bit_and_sixty_four_bit_conditions_stay_apart_and_the_verifier_probes_the_upper_half()
    {
        var a = P("default errno(EPERM)\nallow { personality(personality == 0xffffffff) }");   // int: low 32 bits
        var b = P("default errno(EPERM)\nallow { personality(personality:64 == 8) }");
        var m = Merge(a, b).Policy;
        Assert.Equal("personality(arg0:32 == 0xffffffff) -> ALLOW; personality(arg0 == 0x8) -> ALLOW", Rules(m));
        Assert.Equal("ALLOW", Run(m, "personality", null, 0xdead_beef_ffff_ffff));
        Assert.Equal("ERRNO(EPERM)", Run(m, "personality", null, 0x1_0000_0008));
        var vectors = MergeVerifier.Vectors([a, b], m).Where(d => d.Arch == X64 && d.Nr == Architecture.X86_64.Syscalls.GetNumber("personality")).Select(d => d.Args[0]).ToHashSet();
        Assert.Superset(new HashSet<ulong> { 8, 7, 9, 0xffff_ffff, 0xffff_ffff_ffff_ffff, 0x1_ffff_ffff, 0x1_0000_0008, 0xffff_ffff_0000_0008, 0 }, vectors);
    }

    [Fact]
    public void The_verifier_probes_masked_conditions_with_and_without_the_mask_bits()
    {
        var a = P("default errno(EPERM)\nallow { openat(flags:64 & 0x3 == 0x1) }");
        var m = PolicyMerger.Union([a]).Policy;
        var args = MergeVerifier.Vectors([a], m).Where(d => d.Arch == X64 && d.Nr == 257).Select(d => d.Args[2]).ToHashSet();
        Assert.Superset(new HashSet<ulong> { 1, 0, 2, 3, 0xffff_ffff_ffff_fffd, 0xffff_ffff_0000_0001, 0x1_0000_0001 }, args);
    }

    public static TheoryData<string, string, string> WrongMerges => new()
    {
        // desc, the "merged" policy handed to the verifier, a problem it must report
        { "allows more than either input", "default errno(EPERM)\nallow { read, write, mkdir }", "the merge allows it but no input that decides it does" },
        { "allows less", "default errno(EPERM)\nallow { read }", "an input allows it but the merge does not" },
        { "refuses with another action", "default errno(EACCES)\nallow { read, write }", "the merge returns ERRNO(EACCES) where the inputs return ERRNO(EPERM)" },
        { "loses an argument condition", "default errno(EPERM)\nallow { read, write(fd == 1) }", "an input allows it but the merge does not" },
        { "drops an architecture", "default errno(EPERM)\narchitectures x86\nallow { read, write }", "an input allows it but the merge does not" },
    };

    [Theory]
    [MemberData(nameof(WrongMerges))]
    public void The_verifier_reports_a_merge_that_does_not_mean_the_union(string desc, string merged, string problem)
    {
        _ = desc;
        var a = P("default errno(EPERM)\nallow { read }");
        var b = P("default errno(EPERM)\nallow { write }");
        var v = MergeVerifier.Verify([a, b], P(merged), new MergeVerifyOptions { MaxExamples = 10_000 });
        Assert.False(v.Verified);
        Assert.True(v.Mismatches > 0);
        Assert.Contains(v.Examples, x => x.Problem == problem);
        output.WriteLine(v.Examples[0].ToString());
    }

    [Fact]
    public void Two_learned_allow_list_profiles_in_OCI_form_merge_and_export_back_to_OCI()
    {
        static string Profile(string names, string extra) => $$"""
            { "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
              "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
              "syscalls": [ { "names": [{{names}}], "action": "SCMP_ACT_ALLOW" }{{extra}} ] }
            """;
        var run1 = OciImporter.Import(Profile("\"read\", \"write\", \"close\", \"mmap\", \"brk\", \"exit_group\", \"openat\"",
            """, { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": 21505, "op": "SCMP_CMP_EQ" } ] }""")).Policy;
        var run2 = OciImporter.Import(Profile("\"read\", \"write\", \"close\", \"mmap\", \"munmap\", \"exit_group\", \"rseq\"",
            """, { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": 21523, "op": "SCMP_CMP_EQ" } ] }""" +
            """, { "names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 4294967295, "valueTwo": 4294967295, "op": "SCMP_CMP_MASKED_EQ" } ] }""")).Policy;
        var r = Merge(run1, run2);
        Assert.Equal(11, r.SyscallCount);
        Assert.Equal(2, r.ConditionalSyscallCount);
        Assert.Equal(run2.EnosysAbove[Architecture.X86_64], r.Policy.EnosysAbove[Architecture.X86_64]); // rseq (334) is the largest
        var back = OciImporter.Import(OciExporter.Export(r.Policy, OciTarget.Default).Json).Policy;
        Assert.Equal(r.Policy.Rules, PolicyMerger.Union([back]).Policy.Rules);      // the same rules, in the merge's order
        Assert.Equal(0, MergeVerifier.Verify([r.Policy], back).Mismatches);        // and the same meaning
    }

    [Fact]
    public void Docker_default_resolved_with_and_without_CAP_SYS_ADMIN_merges_to_the_wider_profile()
    {
        var (plain, _) = DockerProfile.Resolve(Oci.OciTestData.DockerDefault);
        var (admin, _) = DockerProfile.Resolve(Oci.OciTestData.DockerDefault, new() { Capabilities = [.. DockerProfile.DockerDefaultCapabilities, "CAP_SYS_ADMIN"] });
        var m = Merge(plain, admin).Policy;
        Assert.Equal("ALLOW", Run(m, "mount"));
        Assert.Equal("ALLOW", Run(m, "clone", null, 0x10000000));
        Assert.Equal(0, MergeVerifier.Verify([admin], m).Mismatches);
    }
}
