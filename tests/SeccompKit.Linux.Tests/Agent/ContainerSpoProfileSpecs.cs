using SeccompKit.Linux.Agent;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>The agent's SeccompProfile output for a container: named after its id, for the runtime that sent it.</summary>
public sealed class ContainerSpoProfileSpecs
{
    private static readonly SeccompKit.Policy.SeccompPolicy Learned =
        PolicyLanguage.Parse("default errno(EPERM)\non-bad-arch kill-thread\narchitectures x86_64, x86, x32\nallow { read, write, exit_group, execve }\n");

    [Theory]
    [InlineData("runc")]
    [InlineData("crun")]
    public void A_containers_profile_is_a_valid_SeccompProfile_for_the_installed_version_of_its_runtime(string runtime)
    {
        var installed = SeccompKit.Linux.Runtimes.InstalledRuntimes.VersionLine(runtime);
        Assert.SkipWhen(installed is null, $"{runtime} is not installed (apt-get install -y {runtime})");
        var spo = ContainerSpoProfile.For("Web_Server-1a2b", runtime, Learned);
        Assert.Equal("web-server-1a2b", spo.Name);
        Assert.Equal(runtime, spo.Oci.Target.Runtime);
        Assert.Contains(spo.Oci.Target.Version.ToString(), installed, StringComparison.Ordinal);
        Assert.Empty(KubernetesSchemas.SeccompProfileErrors(spo.Yaml));
        Assert.Equal("Web_Server-1a2b.spo.yaml", ContainerSpoProfile.FileName("Web_Server-1a2b"));
    }

    [Fact]
    public void A_profile_the_CRD_cannot_hold_is_refused_with_its_reason()
    {
        var p = PolicyLanguage.Parse("default errno(ENOSYS)\non-bad-arch kill-thread\nallow { read }\n");
        var e = Assert.Throws<SpoExportException>(() => ContainerSpoProfile.For("c1", "runc", p));
        Assert.Contains("defaultErrnoRet", e.Message, StringComparison.Ordinal);
    }
}
