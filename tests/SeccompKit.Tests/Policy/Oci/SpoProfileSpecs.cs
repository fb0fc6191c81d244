using System.Text.Json.Nodes;
using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;
using SeccompKit.Tests.Learning;
using SeccompKit.TestKit;

namespace SeccompKit.Tests.Policy.Oci;

/// <summary>
/// The security-profiles-operator SeccompProfile writer: every object it writes is valid against the CRD
/// (data/k8s/seccompprofile-crd.yaml, read back by an independent YAML parser), its spec means on the node what the policy
/// means there, and what the CRD cannot hold is refused with the reason, never dropped.
/// </summary>
public class SpoProfileSpecs
{
    private static readonly OciTarget Runc115 = OciTarget.Get("runc", "1.1.5");
    private static readonly OciTarget Crun181 = OciTarget.Get("crun", "1.8.1");
    private static readonly OciTarget Runc120 = OciTarget.Get("runc", "1.2.0");

    /// <summary>
    /// The OCI JSON the operator's node daemon saves from the object's spec (it marshals spec with omitempty), with errnoRet
    /// read as the number it holds, then read by the node's runtime.
    /// </summary>
    private static SeccompPolicy OnTheNode(string yaml, OciTarget target)
    {
        var spec = KubernetesSchemas.YamlToJson(yaml).Single()!["spec"]!.AsObject();
        foreach (var e in spec["syscalls"]?.AsArray() ?? [])
            if (e!["errnoRet"] is JsonValue r) e["errnoRet"] = ulong.Parse((string)r!, System.Globalization.CultureInfo.InvariantCulture);
        if (spec["flags"] is JsonArray { Count: 0 }) spec.Remove("flags");
        return OciImporter.Import(spec.ToJsonString(), new OciImportOptions { Target = target }).Policy;
    }

    private static void AssertValid(string yaml)
    {
        var errors = KubernetesSchemas.SeccompProfileErrors(yaml);
        Assert.True(errors.Count == 0, string.Join("\n", errors) + "\n" + yaml);
    }

    [Fact]
    public void A_learned_profile_is_written_as_readable_YAML_with_errnoRet_as_a_string()
    {
        var p = PolicyLanguage.Parse("""
            default errno(EPERM)
            on-bad-arch kill-thread
            architectures x86_64
            allow { read, write, exit_group, personality(personality == 0xffffffff) }
            errno(ENOSYS) { clone3 }
            """);
        var spo = SpoProfile.Export(p, "busybox-ls", Runc115, "team-a", Architecture.X86_64);
        Assert.Equal("""
            # Written by seccompkit for nodes running runc 1.1.5 (security-profiles-operator v1beta1 SeccompProfile)
            apiVersion: security-profiles-operator.x-k8s.io/v1beta1
            kind: SeccompProfile
            metadata:
              name: busybox-ls
              namespace: team-a
            spec:
              defaultAction: SCMP_ACT_ERRNO
              flags: []
              syscalls:
              - action: SCMP_ACT_ALLOW
                names:
                - read
                - write
                - exit_group
              - action: SCMP_ACT_ALLOW
                names:
                - personality
                args:
                - index: 0
                  value: 4294967295
                  valueTwo: 4294967295
                  op: SCMP_CMP_MASKED_EQ
              - action: SCMP_ACT_ERRNO
                errnoRet: "38"
                names:
                - clone3

            """.Replace("\r", ""), spo.Yaml);
        AssertValid(spo.Yaml);
        // The string errnoRet breaks the pod with operators that copy it unchanged: said, not hidden.
        Assert.Contains(spo.Diagnostics, d => d.Severity == DiagnosticSeverity.Warning && d.Message.Contains("issue 1769", StringComparison.Ordinal));
        Assert.Null(OciTestData.FirstDifference(p, OnTheNode(spo.Yaml, Runc115)));
    }

    public static TheoryData<string, string, string, string> Refusals => new()
    {
        // desc, policy, where, what
        { "a default errno other than EPERM", "default errno(ENOSYS)\non-bad-arch kill-thread\nallow { read }\n", "<policy>:1:1", "has no defaultErrnoRet" },
        { "a 64-bit value of 2^63 or more", "default errno(EPERM)\non-bad-arch kill-thread\nallow { lseek(offset:64 == 0xffffffffffffffff) }\n", "spec.syscalls[0] (lseek).args[0].value", "int64" },
        { "a mask with the top bit", "default errno(EPERM)\non-bad-arch kill-thread\nallow { lseek((offset:64 & 0x8000000000000000) == 0) }\n", "spec.syscalls[0] (lseek).args[0].value", "does not fit" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void What_the_CRD_cannot_hold_is_refused_with_where_and_why(string desc, string policy, string where, string what)
    {
        var p = PolicyLanguage.Parse(policy);
        var e = Assert.Throws<SpoExportException>(() => SpoProfile.Export(p, "app", Runc115, native: Architecture.X86_64));
        Assert.Contains(e.Problems, x => x.Location.StartsWith(where, StringComparison.Ordinal) && x.Message.Contains(what, StringComparison.Ordinal));
        Assert.All(e.Problems, x => Assert.False(string.IsNullOrEmpty(x.Fix), desc));
    }

    public static TheoryData<string, string?> Names => new()
    {
        // name, problem (null: valid)
        { "busybox-ls", null },
        { "a.b-c", null },
        { "Busybox", "not a Kubernetes object name" },
        { "app_1", "not a Kubernetes object name" },
        { "-app", "not a Kubernetes object name" },
        { "", "empty" },
        { new string('a', 254), "253" },
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Names_are_checked_as_Kubernetes_object_names(string name, string? problem)
    {
        var why = SpoProfile.NameProblem(name);
        if (problem is null) Assert.Null(why);
        else Assert.Contains(problem, why);
    }

    [Fact]
    public void A_name_made_from_any_container_id_is_valid()
    {
        Gen.String.Sample(id => Assert.Null(SpoProfile.NameProblem(SpoProfile.NameFor(id))), iter: 2000);
        Assert.Equal("abc-def.1", SpoProfile.NameFor("ABC__def.1"));
        Assert.Equal("profile", SpoProfile.NameFor("__"));
    }

    [Fact]
    public void Strings_that_YAML_would_read_as_something_else_are_quoted()
    {
        foreach (var s in new[] { "yes", "on", "null", "1", "0x10", "a: b", "#x", "- x", "é\u0001\"\\\n", "\U0001F600", "" })
        {
            var back = KubernetesSchemas.YamlToJson("k: " + SpoProfile.Scalar(s) + "\n").Single()!["k"];
            Assert.Equal(s, (string?)back);
        }
        Assert.Equal("SCMP_ACT_ALLOW", SpoProfile.Scalar("SCMP_ACT_ALLOW"));
    }

    private static readonly Architecture[] X86Family = [Architecture.X86_64, Architecture.X86, Architecture.X32];

    private static readonly Gen<SeccompPolicy?> RandomPolicies =
        Gen.Select(PolicyGenerator.AnyAction, PolicyGenerator.Rule(X86Family).Array[0, 12], Gen.Int[1, 3], Gen.Enum<PolicyFlags>(), Gen.Bool)
            .Select((d, rules, n, flags, listener) =>
            {
                try
                {
                    var p = new SeccompPolicy(d, rules, X86Family[..n], PolicyAction.KillThread, flags, listener ? "/var/run/seccompkit/agent.sock" : null, listener ? "learn" : null);
                    return OciExporterAccess.WithoutCutoffCheck(p);
                }
                catch (PolicyException) { return null; }
            });

    /// <summary>Why the CRD cannot hold what the OCI export wrote, if anything.</summary>
    private static bool Unrepresentable(OciExport oci) =>
        oci.Seccomp.DefaultErrnoRet is { } d && d != 1
        || (oci.Seccomp.Syscalls ?? []).SelectMany(e => e.Args).Any(a => a.Value > long.MaxValue || a.ValueTwo > long.MaxValue);

    [Fact]
    public void Random_policies_are_written_valid_and_mean_the_same_on_the_node_or_are_refused_for_a_reason()
    {
        int written = 0, refused = 0;
        RandomPolicies.Sample(p =>
        {
            if (p is null) return;
            foreach (var target in new[] { Runc115, Runc120, Crun181 })
            {
                OciExport oci;
                try { oci = OciExporter.Export(p, target, Architecture.X86_64); }
                catch (OciExportException) { continue; }
                SpoExport spo;
                try { spo = SpoProfile.Export(p, "random", target, native: Architecture.X86_64); }
                catch (SpoExportException e)
                {
                    Assert.True(Unrepresentable(oci), $"refused without cause: {e.Message}\n{oci.Json}");
                    refused++;
                    continue;
                }
                Assert.False(Unrepresentable(oci), oci.Json);
                written++;
                AssertValid(spo.Yaml);
                var node = OnTheNode(spo.Yaml, target);
                // The same runtime reading the OCI export directly: the operator's detour changes nothing.
                var direct = OciImporter.Import(oci.Json, new OciImportOptions { Target = target }).Policy;
                Assert.True(OciTestData.FirstDifference(direct, node) is null, $"vs direct {target}: {OciTestData.FirstDifference(direct, node)}\n{spo.Yaml}");
                Assert.Equal(spo.Effective.Flags, node.Flags);
                Assert.Equal(p.ListenerPath, node.ListenerPath);
            }
        }, iter: 600);
        Assert.True(written > 200 && refused > 20, $"written {written}, refused {refused}");
    }

    [Fact]
    public void Learned_profiles_are_written_valid_and_mean_the_same_on_the_node()
    {
        int written = 0;
        LearningGenerators.Scenarios(withExtra: true).Sample(scenario =>
        {
            var policy = ProfileSynthesizer.Synthesize(scenario.Record(), scenario.Options).Policy;
            var oci = OciExporter.Export(policy, Runc115, Architecture.X86_64);
            if (Unrepresentable(oci))
            {
                Assert.Throws<SpoExportException>(() => SpoProfile.Export(policy, "learned", Runc115, native: Architecture.X86_64));
                return;
            }
            var spo = SpoProfile.Export(policy, "learned", Runc115, native: Architecture.X86_64);
            AssertValid(spo.Yaml);
            Assert.Null(OciTestData.FirstDifference(policy, OnTheNode(spo.Yaml, Runc115)));
            written++;
        }, iter: 150);
        Assert.True(written > 50, $"only {written} written");
    }

    [Fact]
    public void The_schema_check_refuses_what_the_API_server_refuses()
    {
        // The validator must be able to fail: an integer errnoRet, a value beyond int64, an unknown field, seven args.
        string Object(string syscall) => $"apiVersion: {SpoProfile.ApiVersion}\nkind: SeccompProfile\nmetadata:\n  name: x\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n{syscall}";
        Assert.Empty(KubernetesSchemas.SeccompProfileErrors(Object("  - action: SCMP_ACT_ERRNO\n    errnoRet: \"38\"\n    names: [clone3]\n")));
        Assert.NotEmpty(KubernetesSchemas.SeccompProfileErrors(Object("  - action: SCMP_ACT_ERRNO\n    errnoRet: 38\n    names: [clone3]\n")));
        Assert.NotEmpty(KubernetesSchemas.SeccompProfileErrors(Object("  - action: SCMP_ACT_ALLOW\n    names: [read]\n    args: [{index: 0, value: 9223372036854775808, op: SCMP_CMP_EQ}]\n")));
        Assert.NotEmpty(KubernetesSchemas.SeccompProfileErrors(Object("  - action: SCMP_ACT_ALLOW\n    name: read\n    names: [read]\n")));
        Assert.NotEmpty(KubernetesSchemas.SeccompProfileErrors(Object("  - action: SCMP_ACT_ALLOW\n    names: [read]\n    args: [" + string.Join(", ", Enumerable.Range(0, 7).Select(i => $"{{index: {i % 6}, op: SCMP_CMP_EQ}}")) + "]\n")));
        Assert.NotEmpty(KubernetesSchemas.SeccompProfileErrors(Object("  - action: SCMP_ACT_MAYBE\n    names: [read]\n")));
    }
}
