using SeccompKit.Bpf;
using SeccompKit.Linux.Inspect;
using SeccompKit.Linux.Tests.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Inspect;

/// <summary>
/// <see cref="FilterDump"/> on the init process of a real runc container: the filter runc (with libseccomp)
/// built from an OCI profile must mean, under our interpreter, what SeccompKit's OCI importer says the profile
/// means — on every syscall of every ABI the profile covers — and the container must run on undisturbed.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class RuncDumpSpecs(ITestOutputHelper output)
{
    /// <summary>The errno profile of ../shared/docs/OCI-RUNTIMES.md: everything allowed but mkdir.</summary>
    private const string MkdirErrnoProfile = """
        {
          "defaultAction": "SCMP_ACT_ALLOW",
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          "syscalls": [ { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 } ]
        }
        """;

    private static readonly string[] WaitForLine = ["/bin/sh", "-c", "echo ready; read x; exit 7"];

    [Fact]
    public void A_runc_container_with_the_mkdir_errno_profile_has_one_filter_that_means_the_profile()
    {
        using var container = RuncContainer.Start(MkdirErrnoProfile, WaitForLine, "ready");
        var (status, pid) = container.State();
        Assert.Equal("running", status);
        Assert.Equal((2, 1), KernelFeatures.StatusOf(pid));

        var filters = FilterDump.Read(pid);

        var filter = Assert.Single(filters);
        uint x86_64 = Architecture.X86_64.AuditArch;
        Assert.Equal(0x0005_0001u, Interpreter.Evaluate(filter, new SeccompData(Architecture.X86_64.Syscalls.GetNumber("mkdir"), x86_64)));
        Assert.Equal(0x7fff_0000u, Interpreter.Evaluate(filter, new SeccompData(Architecture.X86_64.Syscalls.GetNumber("getpid"), x86_64)));
        AssertMeansProfile(filter, MkdirErrnoProfile);
        // The container runs on: still running, and it ends with its own status when told.
        Assert.Equal("running", container.State().Status);
        container.Send("go");
        Assert.Equal(7, container.WaitForExit());
    }

    [Fact]
    public void A_runc_container_with_dockers_default_profile_converted_by_SeccompKit_has_one_filter_that_means_the_profile()
    {
        var options = new DockerResolveOptions
        {
            Architecture = Architecture.X86_64,
            Capabilities = [.. DockerProfile.DockerDefaultCapabilities],
            KernelVersion = Environment.OSVersion.Version.ToString(),
        };
        var docker = File.ReadAllText(Path.Combine(ProfilePolicies.ProfileDirectory(), "docker-default.json"));
        string profile = OciJson.Write(DockerProfile.ResolveToOci(docker, options).Seccomp);
        using var container = RuncContainer.Start(profile, WaitForLine, "ready");
        var (_, pid) = container.State();

        var filter = Assert.Single(FilterDump.Read(pid));

        Assert.True(filter.Length > 100, $"Docker's profile gave only {filter.Length} instructions");
        AssertMeansProfile(filter, profile);
        Assert.Equal("running", container.State().Status);
        container.Send("go");
        Assert.Equal(7, container.WaitForExit());
    }

    /// <summary>
    /// The dumped filter against <see cref="PolicyEvaluator"/> on the profile as <see cref="OciImporter"/> reads it
    /// (runc's meaning, ENOSYS stub included) over every syscall of each covered ABI, unknown numbers, foreign
    /// arches and argument values around the profile's constants.
    /// </summary>
    private void AssertMeansProfile(BpfProgram filter, string profile)
    {
        var (policy, _) = OciImporter.Import(profile, new OciImportOptions { Native = Architecture.X86_64 });
        int vectors = 0;
        var mismatches = new List<string>();
        foreach (var data in VectorGenerator.For(policy, sweepArgsEverywhere: false))
        {
            vectors++;
            uint got = Interpreter.Evaluate(filter, data);
            var want = PolicyEvaluator.Evaluate(policy, data);
            if (got != want.Action.ReturnValue && mismatches.Count < 20)
                mismatches.Add($"{data}: the dumped filter gives {new SeccompResult(got)}, the profile says {want.Action} ({want.Reason}, {want.Syscall})");
        }
        output.WriteLine($"{vectors} vectors, {mismatches.Count} mismatches (first 20 kept), filter of {filter.Length} instructions");
        Assert.True(vectors > 1000, $"only {vectors} vectors");
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
    }
}
