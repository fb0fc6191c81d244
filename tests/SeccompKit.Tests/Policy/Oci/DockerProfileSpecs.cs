using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Oci;

public class DockerProfileSpecs(ITestOutputHelper output)
{
    private static PolicyAction Eval(SeccompPolicy p, Architecture abi, string name, params ulong[] args) =>
        PolicyEvaluator.Evaluate(p, new SeccompData(abi.Syscalls.GetNumber(name), abi.AuditArch, 0, args)).Action;

    private void Print(IEnumerable<PolicyDiagnostic> notes)
    {
        foreach (var n in notes) output.WriteLine(n.ToString());
    }

    [Fact]
    public void Docker_default_profile_resolves_for_x86_64_with_default_capabilities()
    {
        var (policy, notes) = DockerProfile.Resolve(OciTestData.DockerDefault);
        Print(notes);
        Assert.Equal(["x86_64", "x86", "x32"], policy.Architectures.Select(a => a.Name));
        Assert.Equal(PolicyAction.Errno(1), policy.DefaultAction);
        Assert.Equal(PolicyFlags.SpecAllow, policy.Flags);
        Assert.Equal(PolicyAction.Allow, Eval(policy, Architecture.X86_64, "read"));
        Assert.Equal(PolicyAction.Errno(1), Eval(policy, Architecture.X86_64, "mount"));     // needs CAP_SYS_ADMIN
        Assert.Equal(PolicyAction.Errno(38), Eval(policy, Architecture.X86_64, "clone3"));   // moby: ENOSYS so glibc falls back to clone
        Assert.Equal(PolicyAction.Allow, Eval(policy, Architecture.X86, "chown32"));
        // The only warnings: recv/send have no number on the x86 family (libseccomp maps them to socketcall on x86).
        Assert.Equal(["recv", "send"], notes.Where(n => n.Severity == DiagnosticSeverity.Warning).Select(n => n.Message.Split('\'')[1]));
        // ENOSYS stub on every listed arch, above the largest named number.
        Assert.Equal([Architecture.X32, Architecture.X86, Architecture.X86_64], policy.EnosysAbove.Keys);
        var above = PolicyEvaluator.Evaluate(policy, new SeccompData((int)policy.EnosysAbove[Architecture.X86_64] + 1, Architecture.X86_64.AuditArch));
        Assert.Equal(DecisionReason.NewerSyscall, above.Reason);
        // Other ABIs are killed (libseccomp's bad-arch default, which runc keeps).
        Assert.Equal(PolicyAction.KillThread, PolicyEvaluator.Evaluate(policy, new SeccompData(0, Architecture.Aarch64.AuditArch)).Action);
    }

    [Fact]
    public void Docker_clone_is_restricted_without_CAP_SYS_ADMIN_and_free_with_it()
    {
        var (plain, _) = DockerProfile.Resolve(OciTestData.DockerDefault);
        var (admin, _) = DockerProfile.Resolve(OciTestData.DockerDefault, new() { Capabilities = [.. DockerProfile.DockerDefaultCapabilities, "CAP_SYS_ADMIN"] });
        const ulong CloneNewUser = 0x10000000;
        Assert.Equal(PolicyAction.Errno(1), Eval(plain, Architecture.X86_64, "clone", CloneNewUser));
        Assert.Equal(PolicyAction.Allow, Eval(plain, Architecture.X86_64, "clone", 0x11));
        Assert.Equal(PolicyAction.Allow, Eval(admin, Architecture.X86_64, "clone", CloneNewUser));
        Assert.Equal(PolicyAction.Allow, Eval(admin, Architecture.X86_64, "mount"));
        Assert.Equal(PolicyAction.Allow, Eval(admin, Architecture.X86_64, "setns"));
    }

    public static TheoryData<string, string, string, PolicyAction> CapabilityCases => new()
    {
        { "ptrace needs kernel 4.8 (met)", "", "ptrace", PolicyAction.Allow },
        { "CAP_SYS_PTRACE adds process_vm_writev", "CAP_SYS_PTRACE", "process_vm_writev", PolicyAction.Allow },
        { "without it, process_vm_writev is refused", "", "process_vm_writev", PolicyAction.Errno(1) },
        { "CAP_SYS_MODULE adds init_module", "CAP_SYS_MODULE", "init_module", PolicyAction.Allow },
        { "CAP_SYS_TIME adds settimeofday", "CAP_SYS_TIME", "settimeofday", PolicyAction.Allow },
        { "CAP_SYS_BOOT adds reboot", "CAP_SYS_BOOT", "reboot", PolicyAction.Allow },
        { "CAP_SYS_ADMIN adds bpf", "CAP_SYS_ADMIN", "bpf", PolicyAction.Allow },
    };

    [Theory, MemberData(nameof(CapabilityCases))]
    public void Included_capabilities_add_their_syscalls(string desc, string cap, string syscall, PolicyAction expected)
    {
        _ = desc;
        IReadOnlyCollection<string> caps = cap.Length == 0 ? DockerProfile.DockerDefaultCapabilities : [.. DockerProfile.DockerDefaultCapabilities, cap];
        var (p, _) = DockerProfile.Resolve(OciTestData.DockerDefault, new() { Capabilities = caps });
        Assert.Equal(expected, Eval(p, Architecture.X86_64, syscall));
    }

    [Fact]
    public void Min_kernel_compares_major_and_minor_of_the_given_release()
    {
        var (old, _) = DockerProfile.Resolve(OciTestData.DockerDefault, new() { KernelVersion = "4.4.0-generic" });
        var (recent, _) = DockerProfile.Resolve(OciTestData.DockerDefault, new() { KernelVersion = "4.8-1-amd64" });
        Assert.Equal(PolicyAction.Errno(1), Eval(old, Architecture.X86_64, "ptrace"));
        Assert.Equal(PolicyAction.Allow, Eval(recent, Architecture.X86_64, "ptrace"));
    }

    [Theory]
    [InlineData("aarch64", new[] { "aarch64", "arm" })]
    [InlineData("s390x", new[] { "s390x", "s390" })]
    [InlineData("ppc64le", new[] { "ppc64le" })]
    [InlineData("riscv64", new[] { "riscv64" })]
    public void Docker_profile_resolves_for_other_architectures_through_archMap(string arch, string[] expected)
    {
        var a = Architecture.Get(arch);
        var (p, notes) = DockerProfile.Resolve(OciTestData.DockerDefault, new() { Architecture = a });
        Print(notes);
        Assert.Equal(expected, p.Architectures.Select(x => x.Name));
        Assert.Equal(PolicyAction.Allow, Eval(p, a, "read"));
        Assert.Equal(PolicyAction.Errno(1), Eval(p, a, "mount"));
    }

    [Fact]
    public void Arch_specific_entries_follow_the_host_arch()
    {
        var (x86, _) = DockerProfile.Resolve(OciTestData.DockerDefault);
        var (s390x, _) = DockerProfile.Resolve(OciTestData.DockerDefault, new() { Architecture = Architecture.S390X });
        Assert.Equal(PolicyAction.Allow, Eval(x86, Architecture.X86_64, "arch_prctl"));     // includes arches amd64, x32
        Assert.Equal(PolicyAction.Allow, Eval(s390x, Architecture.S390X, "s390_pci_mmio_read")); // includes arches s390, s390x
        Assert.Empty(x86.RulesFor("s390_pci_mmio_read"));
    }

    [Fact]
    public void Podman_default_profile_resolves_for_x86_64_with_its_errno_names()
    {
        var (policy, notes) = DockerProfile.Resolve(OciTestData.PodmanDefault, new() { Engine = DockerEngine.Podman });
        Print(notes);
        Assert.Equal(PolicyAction.Errno(38), policy.DefaultAction);                        // defaultErrno "ENOSYS"
        Assert.Equal(PolicyAction.Allow, Eval(policy, Architecture.X86_64, "mount"));      // podman allows mount and relies on capabilities
        Assert.Equal(PolicyAction.Errno(1), Eval(policy, Architecture.X86_64, "bpf"));     // errno "EPERM" without CAP_SYS_ADMIN
        // setns is in the big ALLOW list and again as ERRNO(EPERM) without CAP_SYS_ADMIN: libseccomp keeps the first.
        Assert.Equal(PolicyAction.Allow, Eval(policy, Architecture.X86_64, "setns"));
        Assert.Contains(notes, n => n.Severity == DiagnosticSeverity.Warning && n.Message.Contains("setns is already ALLOW"));
    }

    [Fact]
    public void Podmans_netlink_audit_socket_rule_is_live_without_CAP_AUDIT_WRITE()
    {
        // Checked against libseccomp 2.5.4's PFC output: these conditional rules do not override each other.
        var (p, _) = DockerProfile.Resolve(OciTestData.PodmanDefault, new() { Engine = DockerEngine.Podman });
        const ulong AF_NETLINK = 16, NETLINK_AUDIT = 9, AF_INET = 2;
        Assert.Equal(PolicyAction.Errno(22), Eval(p, Architecture.X86_64, "socket", AF_NETLINK, 3, NETLINK_AUDIT));
        Assert.Equal(PolicyAction.Allow, Eval(p, Architecture.X86_64, "socket", AF_NETLINK, 3, 0));
        Assert.Equal(PolicyAction.Allow, Eval(p, Architecture.X86_64, "socket", AF_INET, 1, 0));
        var (audit, _) = DockerProfile.Resolve(OciTestData.PodmanDefault, new() { Engine = DockerEngine.Podman, Capabilities = [.. DockerProfile.PodmanDefaultCapabilities, "CAP_AUDIT_WRITE"] });
        Assert.Equal(PolicyAction.Allow, Eval(audit, Architecture.X86_64, "socket", AF_NETLINK, 3, NETLINK_AUDIT));
    }

    [Fact]
    public void Podman_profile_resolves_for_aarch64()
    {
        var (p, _) = DockerProfile.Resolve(OciTestData.PodmanDefault, new() { Engine = DockerEngine.Podman, Architecture = Architecture.Aarch64 });
        Assert.Equal(["aarch64", "arm"], p.Architectures.Select(x => x.Name));
    }

    // ---------------------------------------------------------------- the resolver's own rules

    private static (SeccompPolicy, IReadOnlyList<PolicyDiagnostic>) R(string json, DockerResolveOptions? o = null) => DockerProfile.Resolve(json, o);

    [Fact]
    public void Name_and_names_together_are_refused()
    {
        var e = Assert.Throws<PolicyException>(() => R("""{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW" } ] }"""));
        Assert.Equal("$.syscalls[0]", e.Location?.JsonPath);
    }

    [Fact]
    public void The_single_name_form_is_accepted()
    {
        var (p, _) = R("""{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "name": "read", "action": "SCMP_ACT_ALLOW" } ] }""");
        Assert.Equal(PolicyAction.Allow, Eval(p, Architecture.X86_64, "read"));
    }

    [Fact]
    public void Architectures_and_archMap_together_are_refused()
    {
        var e = Assert.Throws<PolicyException>(() => R("""{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "archMap": [ { "architecture": "SCMP_ARCH_X86_64", "subArchitectures": [] } ] }"""));
        Assert.Equal("$.archMap", e.Location?.JsonPath);
    }

    public static TheoryData<string, string, bool> FilterCases => new()
    {
        { "includes arches: listed", """ "includes": { "arches": ["amd64"] } """, true },
        { "includes arches: other", """ "includes": { "arches": ["arm64"] } """, false },
        { "x32 is never a moby arch name", """ "includes": { "arches": ["x32"] } """, false },
        { "includes caps: ALL must be present", """ "includes": { "caps": ["CAP_KILL", "CAP_SYS_ADMIN"] } """, false },
        { "includes caps: present", """ "includes": { "caps": ["CAP_KILL", "CAP_CHOWN"] } """, true },
        { "excludes caps: ANY present excludes", """ "excludes": { "caps": ["CAP_SYS_ADMIN", "CAP_KILL"] } """, false },
        { "excludes caps: none present", """ "excludes": { "caps": ["CAP_SYS_ADMIN"] } """, true },
        { "excludes arches", """ "excludes": { "arches": ["amd64"] } """, false },
        { "includes minKernel met (equal)", """ "includes": { "minKernel": "6.18" } """, true },
        { "includes minKernel not met", """ "includes": { "minKernel": "6.19" } """, false },
        { "excludes minKernel met", """ "excludes": { "minKernel": "5.0" } """, false },
        { "empty minKernel means none", """ "includes": { "minKernel": "" } """, true },
    };

    [Theory, MemberData(nameof(FilterCases))]
    public void Includes_and_excludes_follow_moby_setupSeccomp(string desc, string filter, bool applies)
    {
        _ = desc;
        var (p, _) = R($$"""{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW", {{filter}} } ] }""");
        Assert.Equal(applies ? PolicyAction.Allow : PolicyAction.Errno(1), Eval(p, Architecture.X86_64, "read"));
    }

    [Theory]
    [InlineData("3")]
    [InlineData("3.")]
    [InlineData("0.0")]
    [InlineData("3.12.1")]
    [InlineData("4.15abc")]
    [InlineData("256.1")]
    public void Bad_min_kernel_values_are_refused_with_their_path(string version)
    {
        var e = Assert.Throws<PolicyException>(() => R($$"""{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": { "minKernel": "{{version}}" } } ] }"""));
        Assert.Equal("$.syscalls[0].includes.minKernel", e.Location?.JsonPath);
    }

    [Fact]
    public void Podman_errno_names_win_over_errnoRet_and_unknown_names_are_refused()
    {
        var o = new DockerResolveOptions { Engine = DockerEngine.Podman };
        var (p, _) = R("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES", "errnoRet": 1 } ] }""", o);
        Assert.Equal(PolicyAction.Errno(13), Eval(p, Architecture.X86_64, "read"));
        var e = Assert.Throws<PolicyException>(() => R("""{ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYSS" }""", o));
        Assert.Equal("$.defaultErrno", e.Location?.JsonPath);
        Assert.Contains("ENOSYS", e.Message);
    }

    [Fact]
    public void Moby_ignores_podmans_errno_field_with_a_warning()
    {
        var (p, notes) = R("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES" } ] }""");
        Assert.Equal(PolicyAction.Errno(1), Eval(p, Architecture.X86_64, "read"));
        Assert.Contains(notes, n => n.Location == "$.syscalls[0].errno");
    }

    [Fact]
    public void Resolved_profiles_serialize_as_oci_that_imports_identically()
    {
        var (oci, _) = DockerProfile.ResolveToOci(OciTestData.DockerDefault);
        var (direct, _) = OciImporter.Import(oci);
        var (viaText, _) = OciImporter.Import(OciJson.Write(oci));
        Assert.Null(OciTestData.FirstDifference(direct, viaText));
    }
}
