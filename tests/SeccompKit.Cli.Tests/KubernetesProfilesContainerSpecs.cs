using System.Text.Json.Nodes;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// What <c>convert --to kubelet</c> and <c>--to spo</c> write reaches the node's runtime as a profile it runs: the
/// installed runc and crun start a busybox container under the Localhost profile, and under the file the
/// security-profiles-operator saves from the SeccompProfile's spec, with the policy's meaning (mkdir refused with EACCES,
/// the rest allowed). And the warning about errnoRet is real: the spec copied unchanged, errnoRet a string as the CRD
/// types it, makes runc refuse the container (security-profiles-operator issue 1769, reproduced here) and crun 1.8.1
/// silently return EPERM instead.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class KubernetesProfilesContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-k8s-").FullName;

    private const string Policy = "default allow\non-bad-arch kill-thread\nerrno(EACCES) { mkdir, mkdirat }\n";
    private static readonly OciContainerSpec Workload = new("/bin/sh", "-c", "mkdir /tmp/k8s-probe 2>&1; echo done");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Runtimes() => InstalledRuntime.Names();

    private static OciRuntime Runtime(string name) => InstalledRuntime.Require(name);

    private string Convert(string runtime, params string[] args)
    {
        string input = Path.Combine(_dir, "app.policy");
        File.WriteAllText(input, Policy);
        string outFile = Path.Combine(_dir, $"out-{Guid.NewGuid():n}");
        var r = CliProcess.Run(_dir, TimeSpan.FromSeconds(120), ["convert", input, "--for", runtime, "-o", outFile, .. args]);
        output.WriteLine($"$ seccompkit convert {string.Join(' ', args)}: exit {r.Exit}\n{r.Err}");
        Assert.True(r.Exit == 0, r.Err);
        return File.ReadAllText(outFile);
    }

    private OciRunResult RunUnder(OciRuntime runtime, JsonNode seccomp)
    {
        var run = fixture.Bundle.Run(runtime, Workload.WithSeccomp(seccomp), Timeout);
        output.WriteLine($"{runtime.Name}: {run}");
        return run;
    }

    private static void AssertPolicyMeaning(OciRunResult run)
    {
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Permission denied", run.Stdout, StringComparison.Ordinal); // EACCES from the filter
        Assert.EndsWith("done\n", run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void The_kubelet_Localhost_profile_runs_a_container_with_the_policys_meaning(string name)
    {
        var runtime = Runtime(name);
        AssertPolicyMeaning(RunUnder(runtime, JsonNode.Parse(Convert(name, "--to", "kubelet"))!));
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void The_SeccompProfile_spec_runs_a_container_with_the_policys_meaning_once_errnoRet_is_a_number(string name)
    {
        var runtime = Runtime(name);
        string yaml = Convert(name, "--to", "spo", "--name", "app");
        Assert.Empty(KubernetesSchemas.SeccompProfileErrors(yaml));
        var spec = KubernetesSchemas.YamlToJson(yaml).Single()!["spec"]!.AsObject();

        // As an operator that converts errnoRet writes the node's file: the profile runs with the policy's meaning.
        var converted = spec.DeepClone().AsObject();
        foreach (var e in converted["syscalls"]!.AsArray())
            if (e!["errnoRet"] is JsonValue r) e["errnoRet"] = ulong.Parse((string)r!, System.Globalization.CultureInfo.InvariantCulture);
        AssertPolicyMeaning(RunUnder(runtime, converted));

        // As security-profiles-operator at the CRD's commit writes it (spec marshalled as is, errnoRet a JSON string):
        // runc refuses the profile and the container never runs (containerd and CRI-O, which decode the file with the
        // same Go types before any runtime sees it, refuse it too: issue 1769); crun 1.8.1 runs it but ignores the
        // string, so mkdir fails with EPERM instead of the policy's EACCES. Either way, not the policy: convert warns.
        Assert.Contains(spec["syscalls"]!.AsArray(), e => e!["errnoRet"] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String);
        var verbatim = RunUnder(runtime, spec.DeepClone());
        if (name == "runc")
        {
            Assert.NotEqual(0, verbatim.ExitCode);
            Assert.Contains("cannot unmarshal string", verbatim.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("done", verbatim.Stdout, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(0, verbatim.ExitCode);
            Assert.Contains("Operation not permitted", verbatim.Stdout, StringComparison.Ordinal);
        }
    }
}
