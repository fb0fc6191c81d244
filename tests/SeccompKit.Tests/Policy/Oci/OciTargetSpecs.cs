using CsCheck;
using GenerateSyscallTables;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Oci;

/// <summary>
/// Profiles for a named runtime version: what each version accepts (<see cref="OciTarget"/>), what the exporter writes for
/// it, and that the runtime reads the result back with the policy's meaning (<see cref="OciImporter"/> with the same target).
/// </summary>
public sealed class OciTargetSpecs
{
    private static readonly OciTarget Runc110 = OciTarget.Get("runc", "1.1.0");
    private static readonly OciTarget Runc115 = OciTarget.Get("runc", "1.1.5");
    private static readonly OciTarget Runc1115 = OciTarget.Get("runc", "1.1.15");
    private static readonly OciTarget Runc120 = OciTarget.Get("runc", "1.2.0");
    private static readonly OciTarget Runc150 = OciTarget.Get("runc", "1.5.0");
    private static readonly OciTarget Crun15 = OciTarget.Get("crun", "1.5");
    private static readonly OciTarget Crun181 = OciTarget.Get("crun", "1.8.1");

    public static TheoryData<string, OciTarget> Targets => new()
    {
        { "runc 1.1.0", Runc110 }, { "runc 1.1.5", Runc115 }, { "runc 1.1.15", Runc1115 }, { "runc 1.2.0", Runc120 },
        { "runc 1.5.0", Runc150 }, { "crun 1.5", Crun15 }, { "crun 1.8.1", Crun181 },
    };

    private static OciTarget Parse(string text, string? installed = null) => OciTarget.Parse(text, _ => installed);

    private static OciImportOptions For(OciTarget t) => new() { Target = t };

    // ---------------------------------------------------------------- naming a target

    public static TheoryData<string, string, string?, string, string> Names => new()
    {
        // desc, --for value, installed version line, expected target, expected model range
        { "a version", "runc@1.1.5", null, "runc 1.1.5", "runc 1.1.3-1.1.7" },
        { "Debian's version suffix", "runc@1.1.5+ds1", null, "runc 1.1.5", "runc 1.1.3-1.1.7" },
        { "two numbers", "RUNC@1.2", null, "runc 1.2.0", "runc 1.2.0-1.4.3" },
        { "crun", "crun@1.8.1", null, "crun 1.8.1", "crun 1.6.0-1.29.1" },
        { "the installed version", "crun", "crun version 1.8.1", "crun 1.8.1", "crun 1.6.0-1.29.1" },
        { "the installed runc", "runc", "runc version 1.1.5+ds1", "runc 1.1.5", "runc 1.1.3-1.1.7" },
    };

    [Theory, MemberData(nameof(Names))]
    public void A_target_is_named_as_runtime_at_version_or_by_runtime_for_the_installed_one(string desc, string text, string? installed, string target, string range)
    {
        _ = desc;
        var t = Parse(text, installed);
        Assert.Equal(target, t.ToString());
        Assert.Equal(range, t.Model.Range);
    }

    public static TheoryData<string, string, string?, string> BadNames => new()
    {
        { "unknown runtime", "podman", null, "no model of the OCI runtime 'podman'" },
        { "too old", "runc@1.0.0", null, "from 1.1.0 to 1.5.1" },
        { "newer than read", "runc@1.9.0", null, "no model of runc 1.9.0" },
        { "not a version", "crun@latest", null, "'latest' is not a version" },
        { "not installed", "runc", null, "runc is not installed here" },
    };

    [Theory, MemberData(nameof(BadNames))]
    public void An_unknown_target_is_refused_with_what_is_known(string desc, string text, string? installed, string mentions)
    {
        _ = desc;
        var e = Assert.Throws<UnknownOciTargetException>(() => Parse(text, installed));
        Assert.Contains(mentions, e.Message);
        Assert.Contains("known: crun 1.0.0-1.29.1, runc 1.1.0-1.5.1", e.Message);
    }

    [Fact]
    public void Without_a_name_the_installed_runc_is_the_target_when_modelled_else_runc_1_1_5()
    {
        Assert.Equal(("runc 1.2.0", (string?)null), Resolve("runc version 1.2.0"));
        Assert.Equal(("runc 1.1.5", (string?)null), Resolve(null));
        var (target, note) = Resolve("runc version 9.0.0");
        Assert.Equal("runc 1.1.5", target);
        Assert.Contains("is not modelled", note);

        static (string, string?) Resolve(string? installed)
        {
            var (t, n) = OciTarget.Resolve(name => name == "runc" ? installed : null);
            return (t.ToString(), n);
        }
    }

    [Fact]
    public void Rows_of_one_runtime_do_not_overlap_and_every_row_is_reachable()
    {
        foreach (var g in OciTarget.Models.GroupBy(m => m.Runtime))
        {
            var rows = g.OrderBy(m => m.From).ToList();
            for (int i = 1; i < rows.Count; i++) Assert.True(rows[i - 1].Through < rows[i].From, $"{rows[i - 1].Range} overlaps {rows[i].Range}");
            foreach (var m in rows) Assert.Same(m, OciTarget.Get(m.Runtime, m.From.ToString()).Model);
        }
    }

    // ---------------------------------------------------------------- what each target gets written

    private static SeccompPolicy Flagged(PolicyFlags flags) => new(PolicyAction.Allow,
        [new("mount", PolicyAction.UserNotif), new("read", PolicyAction.Errno(1), [new ArgCondition(0, ArgOperator.Equal, 99)])],
        [Architecture.X86_64], PolicyAction.KillThread, flags, "/run/agent.sock");

    public static TheoryData<string, OciTarget, string[], string[]> FlagsWritten => new()
    {
        // desc, target, flags written, flags dropped with a warning (TSYNC is only a note: nothing changes for a container)
        { "runc 1.1 refuses every flag", Runc115, [], ["log", "spec-allow", "wait-killable-recv"] },
        { "runc 1.2 knows three", Runc120, ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"], ["wait-killable-recv"] },
        { "crun before 1.6 knows three", Crun15, ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"], ["wait-killable-recv"] },
        { "crun 1.8 knows all four", Crun181, ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"], [] },
    };

    [Theory, MemberData(nameof(FlagsWritten))]
    public void Only_the_flags_a_target_knows_are_written_and_each_one_dropped_is_a_warning(string desc, OciTarget target, string[] written, string[] dropped)
    {
        _ = desc;
        var all = PolicyFlags.Tsync | PolicyFlags.Log | PolicyFlags.SpecAllow | PolicyFlags.WaitKillableRecv;
        var export = OciExporter.Export(Flagged(all), target);
        Assert.Equal(written, export.Seccomp.Flags);
        var warnings = export.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning).Select(d => d.Message).ToList();
        Assert.Equal(dropped.Length, warnings.Count);
        foreach (var f in dropped) Assert.Contains(warnings, w => w.Contains($"`flags {f}` is dropped: {target}", StringComparison.Ordinal));
        var (back, _) = OciImporter.Import(export.Json, For(target));
        Assert.Equal(export.Effective.Flags, back.Flags);
        Assert.Null(OciTestData.FirstDifference(export.Effective, back));
    }

    [Theory, MemberData(nameof(Targets))]
    public void No_flags_are_written_as_an_empty_list_because_an_absent_one_means_spec_allow_to_runc_1_2_and_crun(string desc, OciTarget target)
    {
        _ = desc;
        var export = OciExporter.Export(Flagged(PolicyFlags.None), target);
        Assert.NotNull(export.Seccomp.Flags);
        Assert.Empty(export.Seccomp.Flags!);
        Assert.Contains("\"flags\": []", export.Json);
        Assert.Equal(PolicyFlags.None, OciImporter.Import(export.Json, For(target)).Policy.Flags);
        Assert.DoesNotContain(export.Diagnostics, d => d.Severity == DiagnosticSeverity.Warning);
    }

    public static TheoryData<string, OciTarget, PolicyFlags> AbsentFlags => new()
    {
        // Measured with strace on this machine: runc 1.1.5 calls prctl(PR_SET_SECCOMP) (no flags) for an absent list;
        // crun 1.8.1 calls seccomp(SET_MODE_FILTER, SPEC_ALLOW) for an absent list and 0 for "flags": [].
        { "runc 1.1", Runc115, PolicyFlags.None }, { "runc 1.2", Runc120, PolicyFlags.SpecAllow }, { "crun", Crun181, PolicyFlags.SpecAllow },
    };

    [Theory, MemberData(nameof(AbsentFlags))]
    public void An_absent_flags_list_is_read_as_each_target_reads_it(string desc, OciTarget target, PolicyFlags meaning)
    {
        _ = desc;
        Assert.Equal(meaning, OciImporter.Import("""{"defaultAction": "SCMP_ACT_ALLOW"}""", For(target)).Policy.Flags);
    }

    [Fact]
    public void Runc_1_1_refuses_a_profile_with_any_flag_when_read_for_it()
    {
        var e = Assert.Throws<PolicyException>(() => OciImporter.Import("""{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}""", For(Runc115)));
        Assert.Contains("seccomp flags are not yet supported by runc", e.Message);
        Assert.Equal("$.flags", e.Location?.JsonPath);
    }

    [Fact]
    public void Kill_thread_is_SCMP_ACT_KILL_to_runc_before_1_1_3_which_knows_no_kill_process()
    {
        var thread = new SeccompPolicy(PolicyAction.Allow, [new("ptrace", PolicyAction.KillThread)], [Architecture.X86_64], PolicyAction.KillThread);
        Assert.Equal("SCMP_ACT_KILL", OciExporter.Export(thread, Runc110).Seccomp.Syscalls![0].Action);
        Assert.Equal("SCMP_ACT_KILL_THREAD", OciExporter.Export(thread, Runc115).Seccomp.Syscalls![0].Action);
        var process = new SeccompPolicy(PolicyAction.Allow, [new("ptrace", PolicyAction.KillProcess)], [Architecture.X86_64], PolicyAction.KillThread);
        var e = Assert.Throws<OciExportException>(() => OciExporter.Export(process, Runc110));
        Assert.Contains("runc 1.1.0 does not know SCMP_ACT_KILL_PROCESS", e.Message);
        Assert.Equal("SCMP_ACT_KILL_PROCESS", OciExporter.Export(process, Runc115).Seccomp.Syscalls![0].Action);
    }

    public static TheoryData<string, OciTarget, Architecture, string?> ArchitectureCases => new()
    {
        // desc, target, the second architecture beside x86_64, the refusal (null: written)
        { "riscv64 before runc 1.1.8", Runc115, Architecture.Riscv64, "cannot filter for riscv64" },
        { "riscv64 from runc 1.1.8", OciTarget.Get("runc", "1.1.8"), Architecture.Riscv64, null },
        { "loongarch64 from runc 1.5", Runc150, Architecture.Loongarch64, null },
        { "loongarch64 needs libseccomp 2.6 for crun", Crun181, Architecture.Loongarch64, "cannot filter for loongarch64" },
        { "a big-endian arch beside x86_64", Runc120, Architecture.S390X, "libseccomp refuses to mix byte orders" },
        { "big-endian mips too", Crun181, Architecture.Mips, "libseccomp refuses to mix byte orders" },
        { "little-endian aarch64", Crun181, Architecture.Aarch64, null },
    };

    [Theory, MemberData(nameof(ArchitectureCases))]
    public void Architectures_are_those_the_target_knows_and_of_the_native_byte_order(string desc, OciTarget target, Architecture other, string? refusal)
    {
        _ = desc;
        var p = new SeccompPolicy(PolicyAction.Allow, [], [Architecture.X86_64, other], PolicyAction.KillThread);
        if (refusal is null)
        {
            var export = OciExporter.Export(p, target);
            Assert.Contains(OciNames.ArchitectureName(other)!, export.Seccomp.Architectures!);
        }
        else Assert.Contains(refusal, Assert.Throws<OciExportException>(() => OciExporter.Export(p, target)).Message);
    }

    [Fact]
    public void Importing_a_big_endian_architecture_beside_a_little_endian_native_one_is_refused_as_runc_and_crun_do()
    {
        var e = Assert.Throws<PolicyException>(() => OciImporter.Import("""{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_S390X"]}"""));
        Assert.Equal("$.architectures[1]", e.Location?.JsonPath);
        Assert.Contains("EDOM", e.Message);
    }

    // ---------------------------------------------------------------- ENOSYS

    private static readonly SeccompPolicy Unsaid = new(PolicyAction.Errno(1), [new("read", PolicyAction.Allow), new("openat2", PolicyAction.Allow)],
        [Architecture.X86_64, Architecture.X86], PolicyAction.KillThread);

    public static TheoryData<string, OciTarget, string> EnosysAdopted => new()
    {
        // desc, target, the cutoffs it gives a policy that says none (openat2 is 437 on both)
        { "runc 1.1.5 stubs the listed x86 only", Runc115, "x86 437" },
        { "runc 1.1.15 stubs the native arch too", Runc1115, "x86 437, x86_64 437" },
        { "runc 1.2 likewise", Runc120, "x86 437, x86_64 437" },
        { "crun has no stub", Crun181, "" },
    };

    [Theory, MemberData(nameof(EnosysAdopted))]
    public void A_policy_silent_on_ENOSYS_takes_the_targets_stub_with_a_note(string desc, OciTarget target, string cutoffs)
    {
        _ = desc;
        var export = OciExporter.Export(Unsaid, target);
        Assert.Equal(cutoffs, string.Join(", ", export.Effective.EnosysAbove.Select(p => $"{p.Key.Name} {p.Value}")));
        Assert.Equal(export.Effective.EnosysAbove.Count, export.Diagnostics.Count(d => d.Message.Contains("returns ENOSYS", StringComparison.Ordinal)));
        var (back, _) = OciImporter.Import(export.Json, For(target));
        Assert.Equal(export.Effective.EnosysAbove, back.EnosysAbove);
        Assert.Null(OciTestData.FirstDifference(export.Effective, back));
    }

    [Fact]
    public void Crun_drops_the_policys_ENOSYS_cutoffs_with_a_warning_unless_a_rule_lies_above_them()
    {
        var cut = new Dictionary<Architecture, uint> { [Architecture.X86] = 437 };
        var export = OciExporter.Export(Unsaid.WithEnosysAbove(cut), Crun181);
        Assert.Empty(export.Effective.EnosysAbove);
        Assert.Contains(export.Diagnostics, d => d.Severity == DiagnosticSeverity.Warning && d.Message.Contains("crun 1.8.1 has no ENOSYS stub", StringComparison.Ordinal));
        var below = Unsaid.WithEnosysAbove(new Dictionary<Architecture, uint> { [Architecture.X86] = 400 });
        var e = Assert.Throws<OciExportException>(() => OciExporter.Export(below, Crun181));
        Assert.Contains("which includes openat2", e.Message);
    }

    // ---------------------------------------------------------------- notify

    [Fact]
    public void Notify_as_the_default_or_for_write_is_refused_by_runc_only()
    {
        var p = new SeccompPolicy(PolicyAction.UserNotif, [new("write", PolicyAction.UserNotif), new("read", PolicyAction.Allow)], [Architecture.X86_64],
            PolicyAction.KillThread, listenerPath: "/run/agent.sock");
        var e = Assert.Throws<OciExportException>(() => OciExporter.Export(p, Runc115));
        Assert.Equal(2, e.Problems.Length);
        var export = OciExporter.Export(p, Crun181);
        Assert.Equal("SCMP_ACT_NOTIFY", export.Seccomp.DefaultAction);
        var (back, _) = OciImporter.Import(export.Json, For(Crun181));
        Assert.Null(OciTestData.FirstDifference(p, back));
    }

    [Fact]
    public void Crun_refuses_errnoRet_on_an_action_runc_ignores_it_for()
    {
        const string json = """{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5}""";
        Assert.Contains(OciImporter.Import(json, For(Runc115)).Diagnostics, d => d.Message.Contains("errnoRet is ignored", StringComparison.Ordinal));
        Assert.Contains("errno value specified", Assert.Throws<PolicyException>(() => OciImporter.Import(json, For(Crun181))).Message);
    }

    // ---------------------------------------------------------------- the policy language's own examples

    private static string Root => TableGenerator.FindRoot(AppContext.BaseDirectory);

    /// <summary>The bodies of a Markdown file's fenced blocks, in order (a fence opens with ``` and an optional language, and closes with ```).</summary>
    private static List<string> FencedBlocks(string doc)
    {
        var blocks = new List<string>();
        List<string>? open = null;
        foreach (var line in File.ReadAllText(Path.Combine(Root, doc)).ReplaceLineEndings("\n").Split('\n'))
        {
            if (!line.StartsWith("```", StringComparison.Ordinal)) { open?.Add(line); continue; }
            if (open is null) open = [];
            else { blocks.Add(string.Join("\n", open) + "\n"); open = null; }
        }
        return blocks;
    }

    private static readonly string[] Documents = ["README.md", "docs/POLICY-LANGUAGE.md"];

    /// <summary>Every fenced block of README.md and docs/POLICY-LANGUAGE.md that is a policy (its first statement is <c>default</c>).</summary>
    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var doc in Documents)
        {
            var blocks = FencedBlocks(doc);
            for (int n = 0; n < blocks.Count; n++)
            {
                var first = blocks[n].Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
                if (first is not null && first.StartsWith("default ", StringComparison.Ordinal)) data.Add($"{doc}#{n + 1}");
            }
        }
        return data;
    }

    private static SeccompPolicy LoadExample(string name)
    {
        var (doc, n) = (name[..name.IndexOf('#')], int.Parse(name[(name.IndexOf('#') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var body = FencedBlocks(doc)[n - 1];
        // The docs' example includes "common.policy"; give it one.
        var files = new Dictionary<string, string> { ["example.policy"] = body, ["common.policy"] = "allow { exit_group, brk }\n" };
        return PolicyLanguage.Parse(body, "example.policy", new InMemoryIncludeResolver(files));
    }

    [Fact]
    public void Both_documents_have_policy_examples()
    {
        var names = Examples().Select(row => row.Data).ToList();
        Assert.All(Documents, doc => Assert.Contains(names, n => n.StartsWith(doc + "#", StringComparison.Ordinal)));
    }

    [Theory, MemberData(nameof(Examples))]
    public void The_documents_examples_export_for_every_target_and_mean_the_same_there(string example)
    {
        var p = LoadExample(example);
        // runc 1.1.0-1.1.2 know no SCMP_ACT_KILL_PROCESS, which the examples use.
        foreach (var target in new[] { Runc115, Runc1115, Runc120, Runc150, Crun15, Crun181 })
        {
            var export = OciExporter.Export(p, target);
            var (back, _) = OciImporter.Import(export.Json, For(target));
            Assert.True(OciTestData.FirstDifference(export.Effective, back) is null, $"{target}: {OciTestData.FirstDifference(export.Effective, back)}\n{export.Json}");
            // The effective policy is the example itself, with only what the runtime decides where the example is silent
            // (ENOSYS cutoffs, the bad-arch action) or what it cannot carry (flags; crun's missing stub).
            var expected = new SeccompPolicy(p.DefaultAction, p.Rules, p.EffectiveArchitectures, PolicyAction.KillThread, export.Effective.Flags,
                p.ListenerPath, p.ListenerMetadata, export.Effective.EnosysAbove);
            Assert.Null(OciTestData.FirstDifference(expected, export.Effective));
            foreach (var (abi, cutoff) in p.EnosysAbove)
                Assert.True(target.Model.EnosysStub == OciEnosysStub.None || export.Effective.EnosysAbove[abi] == cutoff);
        }
    }

    // ---------------------------------------------------------------- every problem at once, located

    [Fact]
    public void Every_blocking_problem_is_reported_at_once_with_its_file_line_and_the_statement_that_fixes_it()
    {
        const string text = """
            default trap(3)
            architectures x86_64, s390x
            on-bad-arch kill-process
            flags log
            allow { read(count >= 3 && count <= 9) }
            notify { mount }
            """;
        var p = PolicyLanguage.Parse(text, "app.policy");
        var e = Assert.Throws<OciExportException>(() => OciExporter.Export(p, Runc115));
        var byLocation = e.Problems.ToLookup(x => x.Location);
        Assert.Contains("`on-bad-arch kill-thread`", byLocation["app.policy:3:1"].Single().Fix);
        Assert.Contains("`default trap`", byLocation["app.policy:1:1"].Single().Fix);
        Assert.Contains("remove s390x from `architectures`", byLocation["app.policy:2:1"].Single().Fix);
        Assert.Contains("compares count twice", byLocation["app.policy:5:9"].Single().Message);
        Assert.Contains("`listener", byLocation["listener"].Single().Fix);
        Assert.Equal(5, e.Problems.Length);
        Assert.StartsWith("the policy cannot be written as OCI for runc 1.1.5 (5 problems):", e.Message);
        Assert.DoesNotMatch(@"With[A-Z]|PolicyAction\.|\(\)", e.Message);
    }

    // ---------------------------------------------------------------- 32-bit conditions

    private static readonly Gen<ArgCondition> Condition32 = Gen.Select(Gen.Int[0, 2], Gen.Enum<ArgOperator>(),
        Gen.OneOf(Gen.UInt[0, 10], Gen.UInt, Gen.Const(0xffffffffu), Gen.Const(0x80000000u), Gen.Const(0x7fffffffu)), Gen.OneOf(Gen.UInt[0, 15], Gen.UInt, Gen.Const(0xffffffffu)))
        .Select((i, op, v, m) => op == ArgOperator.MaskedEqual
            ? new ArgCondition(i, op, v & m, m, ArgumentWidth.Bits32)
            : new ArgCondition(i, op, v, width: ArgumentWidth.Bits32));

    [Fact]
    public void A_32_bit_condition_becomes_masks_that_mean_the_same_on_64_and_32_bit_abis()
    {
        var args = Gen.OneOf(Gen.ULong, Gen.UInt.Select(u => (ulong)u), Gen.UInt.Select(u => 0xffff_ffff_0000_0000UL | u), Gen.ULong[0, 20]);
        Gen.Select(Condition32, args.Array[16]).Sample((c, values) =>
        {
            var alternatives = OciConditions.Lower([c], 64)!;
            foreach (var abi in new[] { Architecture.X86_64, Architecture.X86, Architecture.X32 })
                foreach (var raw in values.Concat([c.Value, c.Value + 1, c.Value - 1, c.Value | 0xdead_0000_0000_0000]))
                {
                    bool want = c.Matches(raw, abi);
                    bool got = alternatives.Any(all => all.All(x => x.Width == ArgumentWidth.Bits64 && x.Mask <= uint.MaxValue && x.Matches(raw, abi)));
                    Assert.True(want == got, $"{c} on {abi.Name} with 0x{raw:x}: {want} vs {got}");
                }
        }, iter: 3000);
    }

    private static readonly string[] Names32 = ["read", "write", "openat", "socket", "fcntl", "ioctl", "personality", "kill", "lseek"];

    private static readonly Gen<SeccompPolicy?> Policy32 =
        Gen.Select(Gen.Int[0, Names32.Length - 1].Select(i => Names32[i]), Gen.OneOf(Gen.Const(PolicyAction.Errno(1)), Gen.Const(PolicyAction.KillProcess), Gen.Const(PolicyAction.Errno(13))),
                Condition32.Array[0, 2]).Array[1, 6]
            .Select(rules =>
            {
                try
                {
                    return new SeccompPolicy(PolicyAction.Allow, rules.Select(r => new SyscallRule(r.Item1, r.Item2, r.Item3)),
                        [Architecture.X86_64, Architecture.X86, Architecture.X32], PolicyAction.KillThread);
                }
                catch (PolicyException) { return null; }
            });

    [Fact]
    public void Policies_with_32_bit_conditions_of_every_operator_export_with_the_same_meaning_for_every_target()
    {
        int exported = 0;
        Policy32.Sample(p =>
        {
            if (p is null) return;
            foreach (var target in new[] { Runc115, Runc120, Crun181 })
            {
                OciExport export;
                try { export = OciExporter.Export(p, target); }
                catch (OciExportException e) when (e.Problems.All(x => x.Message.Contains("OCI rules", StringComparison.Ordinal) || x.Message.Contains("unconditional", StringComparison.Ordinal)))
                { continue; }
                exported++;
                var (back, _) = OciImporter.Import(export.Json, For(target));
                Assert.True(OciTestData.FirstDifference(p, back) is null, $"{target}: {OciTestData.FirstDifference(p, back)}\n{PolicyLanguage.Print(p)}\n{export.Json}");
            }
        }, iter: 400);
        Assert.True(exported > 300, $"only {exported} exports");
    }

    [Fact]
    public void A_32_bit_range_on_one_argument_becomes_one_masked_comparison_per_aligned_block()
    {
        var p = PolicyLanguage.Parse("default allow\non-bad-arch kill-thread\nerrno(EPERM) { read(fd >= 3 && fd <= 8) }\n");
        var export = OciExporter.Export(p, Runc115);
        // 3, 4..7, 8: "equal above bit i" blocks, each one entry with one condition on fd.
        Assert.Equal(["0xffffffff == 0x3", "0xfffffffc == 0x4", "0xffffffff == 0x8"],
            export.Seccomp.Syscalls!.Select(e => $"0x{e.Args.Single().Value:x} == 0x{e.Args.Single().ValueTwo:x}"));
        Assert.Null(OciTestData.FirstDifference(p, OciImporter.Import(export.Json, For(Runc115)).Policy));
    }

    [Fact]
    public void The_README_condition_on_personality_is_one_masked_comparison_per_value()
    {
        var p = PolicyLanguage.Parse("default errno(EPERM)\non-bad-arch kill-thread\nallow { personality(personality in { 0, 0x8, 0xffffffff }), openat(dfd == AT_FDCWD) }\n");
        var entries = OciExporter.Export(p, Runc115).Seccomp.Syscalls!;
        Assert.Equal(["0xffffffff & == 0x0", "0xffffffff & == 0x8", "0xffffffff & == 0xffffffff", "0xffffffff & == 0xffffff9c"],
            entries.SelectMany(e => e.Args).Select(a => $"0x{a.Value:x} & == 0x{a.ValueTwo:x}"));
        Assert.All(entries.SelectMany(e => e.Args), a => Assert.Equal("SCMP_CMP_MASKED_EQ", a.Op));
    }

    [Fact]
    public void An_undeclared_bad_arch_action_takes_kill_thread_with_a_note_and_a_declared_other_one_is_refused()
    {
        var silent = PolicyLanguage.Parse("default allow\n");
        var export = OciExporter.Export(silent, Runc115);
        Assert.Equal(PolicyAction.KillThread, export.Effective.BadArchAction);
        Assert.Contains(export.Diagnostics, d => d.Severity == DiagnosticSeverity.Info && d.Location == "on-bad-arch");
        var declared = PolicyLanguage.Parse("default allow\non-bad-arch trap\n", "x.policy");
        var e = Assert.Throws<OciExportException>(() => OciExporter.Export(declared, Runc115));
        Assert.Equal("x.policy:2:1", e.Problems.Single().Location);
    }

    [Fact]
    public void Measured_runtime_syscalls_say_when_they_were_measured_for_another_version()
    {
        var set = SeccompKit.Policy.Runtimes.RuntimeSyscalls.For(Runc115);
        Assert.Null(set.Mismatch(Runc115));
        Assert.Contains("measured for runc 1.1.5+ds1, not runc 1.2.0", set.Mismatch(Runc120));
    }
}
