using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Oci;

public class DockerProfileSpecs(ITestOutputHelper output)
{
    private static PolicyAction Eval(SeccompPolicy p, Architecture abi, string name, params ulong[] args) =>
        PolicyEvaluator.Evaluate(p, new SeccompData(abi.Syscalls.GetNumber(name), abi.AuditArch, 0, args)).Action;

    [Fact]
    public void Docker_default_profile_resolves_for_x86_64_with_default_capabilities()
    {
        var (policy, notes) = DockerProfile.Resolve(OciTestData.DockerDefault);
        foreach (var n in notes) output.WriteLine(n.ToString());
        Assert.Equal(["x86_64", "x86", "x32"], policy.Architectures.Select(a => a.Name));
        Assert.Equal(PolicyAction.Errno(1), policy.DefaultAction);
        Assert.Equal(PolicyAction.Allow, Eval(policy, Architecture.X86_64, "read"));
        Assert.Equal(PolicyAction.Errno(1), Eval(policy, Architecture.X86_64, "mount"));
    }

    [Fact]
    public void Podman_default_profile_resolves_for_x86_64_and_reports_the_dead_socket_rule()
    {
        var (policy, notes) = DockerProfile.Resolve(OciTestData.PodmanDefault, new() { Engine = DockerEngine.Podman });
        foreach (var n in notes) output.WriteLine(n.ToString());
        Assert.Equal(PolicyAction.Errno(38), policy.DefaultAction);
    }
}
