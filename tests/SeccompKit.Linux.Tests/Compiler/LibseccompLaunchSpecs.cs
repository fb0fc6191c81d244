using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>
/// native/libseccomp-launch, the C anchor of bench/launch: the filter it builds from OCI JSON the way runc does
/// means the policy (so the launch and per-syscall comparisons set the same filter against ours), and it runs a
/// program under it with the program's exit status.
/// </summary>
public sealed class LibseccompLaunchSpecs(LibseccompFixture lib) : IClassFixture<LibseccompFixture>
{
    [Theory]
    [InlineData("docker-default")]
    [InlineData("podman-default")]
    public void Its_filter_of_a_real_profile_gives_the_policys_action_for_every_vector(string profile)
    {
        // The OCI JSON is runc's input (cutoffs and all); libseccomp makes no ENOSYS cutoffs (runc patches them in
        // afterwards) and, like runc, the launcher skips names libseccomp does not know: the oracle is the policy
        // without both.
        var program = LibseccompLauncher.Export(OciExporter.Export(ProfilePolicies.LoadAsRunc(profile).Policy, OciTarget.Default).Json);
        var (policy, _) = lib.CommonPart(ProfilePolicies.Load(profile));
        long vectors = 0;
        var problems = new List<string>();
        foreach (var d in VectorGenerator.For(policy, sweepArgsEverywhere: true))
        {
            vectors++;
            uint expected = PolicyEvaluator.EvaluateValue(policy, d), actual = Interpreter.Evaluate(program, d);
            if (expected != actual && problems.Count < 20) problems.Add($"{d}: policy 0x{expected:x8}, libseccomp-launch 0x{actual:x8}");
        }
        Assert.True(vectors >= 100_000, $"only {vectors} vectors");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    public static TheoryData<string, string[], int, string> Launches => new()
    {
        { "the program's exit status", ["/bin/sh", "-c", "exit 7"], 7, "" },
        { "a program that is not there", ["/nonexistent/program"], 127, "/nonexistent/program: No such file or directory" },
    };

    [Theory]
    [MemberData(nameof(Launches))]
    public void It_runs_the_program_under_the_Docker_filter(string desc, string[] argv, int exit, string stderr)
    {
        Assert.NotEmpty(desc);
        var json = OciExporter.Export(ProfilePolicies.LoadAsRunc("docker-default").Policy, OciTarget.Default).Json;
        var (code, err) = LibseccompLauncher.Run(json, argv);
        Assert.Equal(exit, code);
        Assert.Contains(stderr, err);
    }

    [Fact]
    public void It_refuses_a_profile_it_cannot_read_with_exit_121_and_the_position()
    {
        var (code, err) = LibseccompLauncher.Run("{ \"defaultAction\": ", ["/bin/true"]);
        Assert.Equal(121, code);
        Assert.Contains("invalid JSON", err);
        Assert.Contains("line 1", err);
    }
}

/// <summary>Drives native/build/libseccomp-launch (built by native/build.sh; built here when missing or stale).</summary>
internal static class LibseccompLauncher
{
    private static readonly Lazy<string> Helper = new(Build);

    /// <summary>libseccomp's filter of the OCI JSON, as the launcher would load it (<c>--export</c>).</summary>
    public static BpfProgram Export(string ociJson)
    {
        var dir = Directory.CreateTempSubdirectory("libseccomp-launch");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "profile.json"), ociJson);
            var (code, err) = Exec(Helper.Value, ["--export", Path.Combine(dir.FullName, "filter.bpf"), Path.Combine(dir.FullName, "profile.json")]);
            if (code != 0) throw new InvalidOperationException($"libseccomp-launch --export failed with exit code {code}: {err.Trim()}");
            return BpfProgram.FromRaw(File.ReadAllBytes(Path.Combine(dir.FullName, "filter.bpf")));
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>Runs <paramref name="argv"/> under the filter of <paramref name="ociJson"/>: exit code and standard error.</summary>
    public static (int Code, string Stderr) Run(string ociJson, string[] argv)
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, ociJson);
            return Exec(Helper.Value, [file, "--", .. argv]);
        }
        finally { File.Delete(file); }
    }

    private static string Build() => NativeHelper.Build("libseccomp-launch", ["-Wextra"], ["-lseccomp", "-ljansson"], "libseccomp-dev and libjansson-dev");

    private static (int Code, string Stderr) Exec(string file, string[] args)
    {
        var r = ChildProcess.Run(file, args);
        return (r.Exit, r.Err);
    }
}
