using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Oci;

/// <summary>The kubelet Localhost profile: the OCI profile for the node's runtime, enforcing on its own.</summary>
public class KubeletProfileSpecs
{
    private static readonly OciTarget Runc115 = OciTarget.Get("runc", "1.1.5");

    [Fact]
    public void An_enforcing_profile_is_the_OCI_profile_for_the_nodes_runtime_and_says_where_it_goes()
    {
        var p = PolicyLanguage.Parse("default errno(EPERM)\non-bad-arch kill-thread\nallow { read, write, exit_group }\nerrno(ENOSYS) { clone3 }\n");
        var kubelet = KubeletProfile.Export(p, Runc115, Architecture.X86_64);
        Assert.Equal(OciExporter.Export(p, Runc115, Architecture.X86_64).Json, kubelet.Json);
        Assert.Null(OciTestData.FirstDifference(p, OciImporter.Import(kubelet.Json, new OciImportOptions { Target = Runc115 }).Policy));
        // containerd decodes errnoRet as a JSON number (runtime-spec LinuxSyscall.ErrnoRet *uint), which the file has.
        Assert.Contains("\"errnoRet\": 38", kubelet.Json, StringComparison.Ordinal);
        Assert.Contains(kubelet.Diagnostics, d => d.Message.Contains(KubeletProfile.RootDirectory, StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string> Refusals => new()
    {
        // desc, policy, what the problem says
        { "a notify rule", "default errno(EPERM)\non-bad-arch kill-thread\nlistener \"/run/a.sock\"\nallow { read }\nnotify { mknod }\n", "mknod notifies a supervisor" },
        { "a listener", "default errno(EPERM)\non-bad-arch kill-thread\nlistener \"/run/a.sock\"\nallow { read }\n", "names a seccomp agent" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_profile_that_needs_an_agent_is_refused_with_the_statement_to_change(string desc, string policy, string what)
    {
        var e = Assert.Throws<OciExportException>(() => KubeletProfile.Export(PolicyLanguage.Parse(policy), Runc115, Architecture.X86_64));
        Assert.Contains(e.Problems, x => x.Message.Contains(what, StringComparison.Ordinal) && x.Location.StartsWith("<policy>:", StringComparison.Ordinal));
        Assert.All(e.Problems, x => Assert.False(string.IsNullOrEmpty(x.Fix), desc));
    }
}
