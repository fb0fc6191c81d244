using CsCheck;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Oci;

public class OciExporterSpecs
{
    private static readonly Architecture[] X86Family = [Architecture.X86_64, Architecture.X86, Architecture.X32];

    [Fact]
    public void Rules_with_the_same_action_and_conditions_share_one_names_entry_in_first_appearance_order()
    {
        var p = new SeccompPolicy(PolicyAction.Errno(1),
            [new("read", PolicyAction.Allow), new("write", PolicyAction.Allow), new("mount", PolicyAction.Errno(5)), new("close", PolicyAction.Allow)],
            [Architecture.X86_64], PolicyAction.KillThread);
        var oci = OciExporter.Export(p, OciTarget.Default).Seccomp;
        Assert.Equal([["read", "write", "close"], ["mount"]], oci.Syscalls!.Select(s => s.Names.ToArray()));
        Assert.Equal("SCMP_ACT_ERRNO", oci.DefaultAction);
        Assert.Equal(1ul, oci.DefaultErrnoRet);
        Assert.Null(oci.Architectures);
        Assert.Empty(oci.Flags!);
    }

    [Fact]
    public void Every_field_is_written_in_a_stable_indented_form()
    {
        var p = new SeccompPolicy(PolicyAction.Allow,
            [new("openat", PolicyAction.Trace(7), [new ArgCondition(2, ArgOperator.MaskedEqual, value: 1, mask: 3), new ArgCondition(0, ArgOperator.NotEqual, 5)]),
             new("mkdir", PolicyAction.UserNotif)],
            [Architecture.X86_64, Architecture.Aarch64], PolicyAction.KillThread, PolicyFlags.Log | PolicyFlags.Tsync, "/run/agent.sock", "meta");
        var runc12 = OciTarget.Get("runc", "1.2.0");
        var text = OciExporter.Export(p, runc12).Json;
        Assert.Equal("""
            {
              "defaultAction": "SCMP_ACT_ALLOW",
              "architectures": [
                "SCMP_ARCH_X86_64",
                "SCMP_ARCH_AARCH64"
              ],
              "flags": [
                "SECCOMP_FILTER_FLAG_TSYNC",
                "SECCOMP_FILTER_FLAG_LOG"
              ],
              "listenerPath": "/run/agent.sock",
              "listenerMetadata": "meta",
              "syscalls": [
                {
                  "names": [
                    "openat"
                  ],
                  "action": "SCMP_ACT_TRACE",
                  "errnoRet": 7,
                  "args": [
                    {
                      "index": 2,
                      "value": 3,
                      "valueTwo": 1,
                      "op": "SCMP_CMP_MASKED_EQ"
                    },
                    {
                      "index": 0,
                      "value": 5,
                      "valueTwo": 0,
                      "op": "SCMP_CMP_NE"
                    }
                  ]
                },
                {
                  "names": [
                    "mkdir"
                  ],
                  "action": "SCMP_ACT_NOTIFY"
                }
              ]
            }

            """.Replace("\r", ""), text);
        var (back, _) = OciImporter.Import(text, new OciImportOptions { Target = runc12 });
        Assert.Null(OciTestData.FirstDifference(p, back));
        Assert.Equal(p.Flags, back.Flags);
    }

    /// <summary>A policy with runc's fixed bad-arch action, so that only the property under test is inexpressible.</summary>
    private static SeccompPolicy P(PolicyAction d, IEnumerable<SyscallRule> rules, IEnumerable<Architecture>? architectures = null,
        string? listenerPath = null, IReadOnlyDictionary<Architecture, uint>? enosysAbove = null) =>
        new(d, rules, architectures, PolicyAction.KillThread, PolicyFlags.None, listenerPath, null, enosysAbove);

    public static TheoryData<string, Func<SeccompPolicy>, string> Inexpressible => new()
    {
        { "32-bit conditions multiplying past the limit", () => P(PolicyAction.Allow, [new("read", PolicyAction.Errno(1), [new ArgCondition(0, ArgOperator.NotEqual, 3, width: ArgumentWidth.Bits32), new ArgCondition(2, ArgOperator.NotEqual, 3, width: ArgumentWidth.Bits32)])]), "more than 64 OCI rules" },
        { "bad-arch action", () => new(PolicyAction.Allow, [], badArchAction: PolicyAction.KillProcess), "KILL_THREAD" },
        { "trap data", () => P(PolicyAction.Allow, [new("read", PolicyAction.Trap(3))]), "data 0" },
        { "default trap data", () => P(PolicyAction.Trap(3), []), "data 0" },
        { "notify default", () => P(PolicyAction.UserNotif, [], listenerPath: "/a"), "default" },
        { "notify on write", () => P(PolicyAction.Allow, [new("write", PolicyAction.UserNotif)], listenerPath: "/a"), "write" },
        { "notify without listener", () => P(PolicyAction.Allow, [new("mkdir", PolicyAction.UserNotif)]), "listenerPath" },
        { "native arch missing", () => P(PolicyAction.Allow, [], [Architecture.Aarch64]), "native" },
        { "arch runc lacks", () => P(PolicyAction.Allow, [], [Architecture.X86_64, Architecture.M68k]), "m68k" },
        { "AND on one argument", () => P(PolicyAction.Allow, [new("read", PolicyAction.Errno(1), [new ArgCondition(0, ArgOperator.GreaterOrEqual, 3), new ArgCondition(0, ArgOperator.LessOrEqual, 9)])]), "alternatives" },
        { "stronger conditional under unconditional", () => P(PolicyAction.Errno(1), [new("write", PolicyAction.Allow), new("write", PolicyAction.KillProcess, [new ArgCondition(0, ArgOperator.Equal, 3)])]), "override every conditional" },
        { "default-action rule overriding a weaker one", () => P(PolicyAction.Errno(1), [new("write", PolicyAction.Allow, [new ArgCondition(0, ArgOperator.Equal, 3)]), new("write", PolicyAction.Errno(1), [new ArgCondition(1, ArgOperator.Equal, 3)])]), "is the default" },
        { "cutoff below the rules", () => P(PolicyAction.Errno(1), [new("openat2", PolicyAction.Allow)], [Architecture.X86_64], enosysAbove: new Dictionary<Architecture, uint> { [Architecture.X86_64] = 3 }), "derives the cutoff" },
        { "cutoff with an allowing default", () => P(PolicyAction.Allow, [new("read", PolicyAction.Errno(1))], [Architecture.X86_64], enosysAbove: new Dictionary<Architecture, uint> { [Architecture.X86_64] = 400 }), "no ENOSYS stub" },
    };

    [Theory, MemberData(nameof(Inexpressible))]
    public void Meanings_OCI_cannot_express_are_refused_with_a_reason(string desc, Func<SeccompPolicy> make, string mentions)
    {
        _ = desc;
        var e = Assert.Throws<OciExportException>(() => OciExporter.Export(make(), OciTarget.Default));
        Assert.Contains(mentions, e.Message);
        Assert.Single(e.Problems);
        Assert.DoesNotMatch(@"With[A-Z]|PolicyAction\.|OciImportOptions|\(\)", e.Message); // statements and options, not C# members
    }

    [Fact]
    public void A_cutoff_above_the_named_syscalls_is_expressed_with_a_default_action_entry()
    {
        var p = new SeccompPolicy(PolicyAction.Errno(1), [new("read", PolicyAction.Allow)], [Architecture.X86_64], PolicyAction.KillThread,
            enosysAbove: new Dictionary<Architecture, uint> { [Architecture.X86_64] = 435 });
        var oci = OciExporter.Export(p, OciTarget.Default).Seccomp;
        Assert.Contains(oci.Syscalls!, s => s.Names.SequenceEqual(["clone3"]) && s.Action == "SCMP_ACT_ERRNO");
        var (back, _) = OciImporter.Import(OciJson.Write(oci));
        Assert.Equal(p.EnosysAbove, back.EnosysAbove);
        Assert.Null(OciTestData.FirstDifference(p, back));
    }

    // ---------------------------------------------------------------- round trips

    [Theory]
    [InlineData("docker", "x86_64")]
    [InlineData("docker", "aarch64")]
    [InlineData("docker", "s390x")]
    [InlineData("podman", "x86_64")]
    [InlineData("podman", "aarch64")]
    public void Real_profiles_round_trip_with_the_same_meaning_and_stable_text(string which, string arch)
    {
        var a = Architecture.Get(arch);
        var (p, _) = which == "docker"
            ? DockerProfile.Resolve(OciTestData.DockerDefault, new() { Architecture = a })
            : DockerProfile.Resolve(OciTestData.PodmanDefault, new() { Architecture = a, Engine = DockerEngine.Podman });
        var options = new OciImportOptions { Native = a, Target = OciTarget.Default };
        var export = OciExporter.Export(p, OciTarget.Default, a);
        var (back, _) = OciImporter.Import(export.Json, options);
        Assert.Null(OciTestData.FirstDifference(p, back));
        Assert.Null(OciTestData.FirstDifference(export.Effective, back));
        Assert.Equal(export.Json, OciExporter.Export(back, OciTarget.Default, a).Json);
    }

    private static readonly string[] Names = ["read", "write", "openat", "close", "mmap", "ioctl", "socket", "clone", "futex", "kill", "openat2", "chown32", "mount"];

    private static readonly Gen<PolicyAction> AnyAction = Gen.OneOf(
        Gen.Const(PolicyAction.Allow), Gen.Const(PolicyAction.Log), Gen.Const(PolicyAction.KillProcess), Gen.Const(PolicyAction.KillThread),
        Gen.Const(PolicyAction.Trap()), Gen.Int[0, 4095].Select(PolicyAction.Errno), Gen.Int[0, 65535].Select(PolicyAction.Trace), Gen.Const(PolicyAction.UserNotif));

    private static readonly Gen<ArgCondition> AnyCondition = Gen.Select(Gen.Int[0, 2], Gen.Enum<ArgOperator>(),
        Gen.OneOf(Gen.ULong[0, 10], Gen.ULong, Gen.Const(0xffffffffUL)), Gen.OneOf(Gen.ULong[0, 15], Gen.ULong))
        .Select((i, op, v, m) => op == ArgOperator.MaskedEqual ? new ArgCondition(i, op, v & m, m) : new ArgCondition(i, op, v));

    private static readonly Gen<SyscallRule> AnyRule = Gen.Select(Gen.Int[0, Names.Length - 1].Select(i => Names[i]), AnyAction, AnyCondition.Array[0, 2])
        .Select((n, a, c) => new SyscallRule(n, a, c.DistinctBy(x => x.Index)));

    private static readonly Gen<SeccompPolicy?> AnyPolicy =
        Gen.Select(AnyAction, AnyRule.Array[0, 8], Gen.Int[1, 3].Select(n => X86Family[..n]), Gen.Enum<PolicyFlags>())
        .Select((d, rules, arches, flags) =>
        {
            try
            {
                var p = new SeccompPolicy(d, rules, arches, PolicyAction.KillThread, flags, "/run/a.sock");
                // Give it the cutoffs runc would compute, so that the stub is expressible.
                var oci = OciExporterAccess.WithoutCutoffCheck(p);
                return oci;
            }
            catch (PolicyException) { return null; }
        });

    [Fact]
    public void Import_of_export_means_the_same_for_random_policies()
    {
        int exported = 0;
        AnyPolicy.Sample(p =>
        {
            if (p is null) return;
            string text;
            try { text = OciExporter.Export(p, OciTarget.Default).Json; }
            catch (OciExportException) { return; }
            exported++;
            var (back, _) = OciImporter.Import(text);
            Assert.True(OciTestData.FirstDifference(p, back) is null, $"{OciTestData.FirstDifference(p, back)}\n{text}");
            // Export(Import(x)) is stable: exporting the re-imported policy again gives the same text.
            var text2 = OciExporter.Export(back, OciTarget.Default).Json;
            Assert.Equal(text2, OciExporter.Export(OciImporter.Import(text2).Policy, OciTarget.Default).Json);
        }, iter: 800);
        Assert.True(exported > 100, $"only {exported} random policies were exportable");
    }
}

/// <summary>Test helper: completes a random policy with the ENOSYS cutoffs runc would derive from its names.</summary>
internal static class OciExporterAccess
{
    public static SeccompPolicy WithoutCutoffCheck(SeccompPolicy p)
    {
        if (p.DefaultAction.Kind is SeccompKit.Bpf.SeccompAction.Allow or SeccompKit.Bpf.SeccompAction.Log or SeccompKit.Bpf.SeccompAction.Trace) return p;
        var cut = new Dictionary<Architecture, uint>();
        foreach (var a in p.EffectiveArchitectures.Where(a => a != Architecture.X86_64))
        {
            int max = p.Rules.Select(r => a.Syscalls.TryGetNumber(r.Syscall, out int n) ? n : 0).DefaultIfEmpty(0).Max();
            if (max > 0) cut[a] = (uint)max;
        }
        return p.WithEnosysAbove(cut);
    }
}
