using CsCheck;
using SeccompKit.Agent;
using SeccompKit.Bpf;
using SeccompKit.Compiler;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Policy.Runtimes;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Agent;

/// <summary>
/// <see cref="AgentProfile.For"/>: every mode × runtime writes a section the runtime's own reading accepts
/// (<see cref="OciImporter"/> with the target), and the filter it means, compiled and run in the BPF interpreter on every
/// syscall of x86_64, x86 and x32, notifies exactly what the profile claims and decides everything else as the mode says.
/// </summary>
public sealed class AgentProfileSpecs
{
    private const string Socket = "/run/seccompkit/agent.sock";
    private static readonly uint Notify = PolicyAction.UserNotif.ReturnValue, Allow = PolicyAction.Allow.ReturnValue;
    private static readonly Architecture[] Abis = [Architecture.X86_64, Architecture.X86, Architecture.X32];

    public static TheoryData<string> Targets() => new("runc@1.1.5", "crun@1.8.1");

    private static OciTarget Target(string text) => OciTarget.Parse(text, _ => null);

    /// <summary>The section as the runtime reads it, compiled: what the container's filter does.</summary>
    private static (SeccompPolicy Read, BpfProgram Program) AsRuntimeReadsIt(AgentProfile profile)
    {
        var (read, _) = OciImporter.Import(profile.Oci.Json, new OciImportOptions { Target = profile.Target });
        Assert.Equal(Socket, read.ListenerPath);
        Assert.Equal(profile.Mode.ToString(), read.ListenerMetadata);
        return (read, PolicyCompiler.Compile(read).Program);
    }

    private static IEnumerable<(Architecture Abi, SyscallEntry Call)> EverySyscall() =>
        Abis.SelectMany(a => a.Syscalls.All.Select(e => (a, e)));

    private static uint Run(BpfProgram program, Architecture abi, int nr, params ulong[] args) =>
        Interpreter.Evaluate(program, new SeccompData(nr, abi.AuditArch, 0, args));

    [Theory]
    [MemberData(nameof(Targets))]
    public void Learn_notifies_every_syscall_but_what_the_runtime_cannot_have_notified_and_clone3(string targetText)
    {
        var target = Target(targetText);
        var profile = AgentProfile.For(new ContainerMode.Learn(), target, Socket);
        var (_, program) = AsRuntimeReadsIt(profile);
        var withheld = RuntimeSyscalls.For(target).BeforeHandoff!.Syscalls.Keys.ToHashSet();
        Assert.Equal([.. withheld.Append("clone3").Order(StringComparer.Ordinal)], profile.NotNotified.Keys);
        foreach (var (abi, call) in EverySyscall())
        {
            uint expected = call.Name == "clone3" ? PolicyAction.Errno(38).ReturnValue : withheld.Contains(call.Name) ? Allow : Notify;
            Assert.True(expected == Run(program, abi, call.Number), $"{abi.Name} {call.Name}: expected 0x{expected:x8}, got 0x{Run(program, abi, call.Number):x8}");
        }
    }

    [Fact]
    public void Learn_for_runc_1_1_names_every_syscall_since_runc_refuses_notify_as_the_default_and_allows_write_unnotified()
    {
        var runc = AgentProfile.For(new ContainerMode.Learn(), Target("runc@1.1.5"), Socket);
        Assert.Equal("SCMP_ACT_ALLOW", runc.Oci.Seccomp.DefaultAction);
        Assert.Contains("write", runc.NotNotified.Keys);
        var crun = AgentProfile.For(new ContainerMode.Learn(), Target("crun@1.8.1"), Socket);
        Assert.Equal("SCMP_ACT_NOTIFY", crun.Oci.Seccomp.DefaultAction);
        Assert.DoesNotContain("write", crun.NotNotified.Keys);
    }

    private static readonly string[] Names = ["mkdir", "mkdirat", "mount", "write", "ptrace", "personality", "openat", "socket", "kill", "chmod", "unshare", "setns"];

    private static readonly Gen<PolicyAction> Refusing = Gen.Int[0, 3].Select(i => i switch { 0 => PolicyAction.Errno(1), 1 => PolicyAction.Errno(13), 2 => PolicyAction.KillProcess, _ => PolicyAction.Trap() });

    /// <summary>A profile to complain about: a default, and unconditional or conditional (on arg0) rules on distinct syscalls.</summary>
    private static readonly Gen<SeccompPolicy> Profiles =
        Gen.Select(Gen.OneOf(Gen.Const(PolicyAction.Allow), Refusing), Gen.Shuffle(Names, 1, 6), Gen.OneOf(Gen.Const(PolicyAction.Allow), Refusing).Array[6], Gen.Bool.Array[6], Gen.ULong[0, 3].Array[6])
            .Select((d, names, actions, conditional, values) => new SeccompPolicy(d,
                names.Select((n, i) => new SyscallRule(n, actions[i], conditional[i] ? [new ArgCondition(0, ArgOperator.Equal, values[i])] : null))
                    .Where(r => r.Action != d), Abis, PolicyAction.KillThread));

    [Theory]
    [MemberData(nameof(Targets))]
    public void Complain_notifies_exactly_what_the_profile_refuses_and_leaves_everything_else_to_it(string targetText)
    {
        var target = Target(targetText);
        var withheld = RuntimeSyscalls.For(target).BeforeHandoff!.Syscalls.Keys.ToHashSet();
        Profiles.Sample(p =>
        {
            var profile = AgentProfile.For(new ContainerMode.Complain("p"), target, Socket, new AgentProfileOptions { Profile = p });
            var (_, program) = AsRuntimeReadsIt(profile);
            var pProgram = PolicyCompiler.Compile(p).Program;
            foreach (var (abi, call) in EverySyscall())
                foreach (ulong arg0 in new ulong[] { 0, 1, 2, 3, 7 })
                {
                    uint original = Run(pProgram, abi, call.Number, arg0), complained = Run(program, abi, call.Number, arg0);
                    bool refuses = !PolicyAction.TryFromReturnValue(original, out var a) || !a.LetsCallRun;
                    // Kept as the profile decides: what the runtime cannot have notified, and (runc, which cannot notify a
                    // default) a call of a syscall with conditional rules only that none of them matches.
                    bool keeps = withheld.Contains(call.Name) || (profile.NotNotified.ContainsKey(call.Name)
                        && PolicyEvaluator.Evaluate(p, new SeccompData(call.Number, abi.AuditArch, 0, arg0)).Rule is null);
                    uint expected = refuses && !keeps ? Notify : original;
                    if (expected != complained)
                        throw new Xunit.Sdk.XunitException($"{abi.Name} {call.Name}({arg0}): the profile gives 0x{original:x8}, complain 0x{complained:x8}, expected 0x{expected:x8}");
                }
        }, iter: 40);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Supervise_notifies_exactly_the_rulesets_syscalls_over_an_allow_everything_base(string targetText)
    {
        var target = Target(targetText);
        var withheld = RuntimeSyscalls.For(target).BeforeHandoff!.Syscalls.Keys.ToHashSet();
        Gen.Shuffle(Names.Where(n => !withheld.Contains(n)).ToArray(), 1, 5).Sample(notify =>
        {
            var profile = AgentProfile.For(new ContainerMode.Supervise("r"), target, Socket, new AgentProfileOptions { Notify = notify });
            var (_, program) = AsRuntimeReadsIt(profile);
            foreach (var (abi, call) in EverySyscall())
                Assert.Equal(notify.Contains(call.Name) ? Notify : Allow, Run(program, abi, call.Number));
        }, iter: 20);
    }

    [Fact]
    public void Supervise_refuses_a_syscall_the_runtime_cannot_notify_naming_it_and_the_ruleset()
    {
        var e = Assert.Throws<AgentProfileException>(() =>
            AgentProfile.For(new ContainerMode.Supervise("logs"), Target("runc@1.1.5"), Socket, new AgentProfileOptions { Notify = ["write", "mkdir"] }));
        Assert.Contains("write", e.Message);
        Assert.Contains("supervise:logs", e.Message);
    }

    [Theory]
    [InlineData("agent.sock", "not absolute")]
    [InlineData("/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", "at most 107")]
    public void A_socket_path_the_runtime_cannot_connect_to_is_refused(string socket, string why)
    {
        var e = Assert.Throws<AgentProfileException>(() => AgentProfile.For(new ContainerMode.Learn(), Target("crun@1.8.1"), socket));
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Complain_needs_the_profile_and_refuses_one_that_already_notifies()
    {
        Assert.Throws<AgentProfileException>(() => AgentProfile.For(new ContainerMode.Complain("p"), Target("crun@1.8.1"), Socket));
        var notifying = new SeccompPolicy(PolicyAction.Allow, [new SyscallRule("mkdir", PolicyAction.UserNotif)], Abis, listenerPath: "/x.sock");
        var e = Assert.Throws<AgentProfileException>(() =>
            AgentProfile.For(new ContainerMode.Complain("p"), Target("crun@1.8.1"), Socket, new AgentProfileOptions { Profile = notifying }));
        Assert.Contains("already notifies", e.Message);
    }
}
