using System.Diagnostics;
using SeccompKit.Bpf;
using SeccompKit.Linux.Tests.Kernel;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>
/// Compiled policies in the real kernel: SeccompKit's filter (and libseccomp's, as a control) for the Docker
/// and podman profiles and for random policies is installed in a child of native/seccomp-probe ('R' request),
/// which issues real <c>syscall</c> / <c>int $0x80</c> calls; what the child sees must be what
/// <see cref="Interpreter"/> says the filter returns (and what the policy oracle says).
/// <para>
/// The probe must never run a real system call with arbitrary arguments, so every action that would let
/// the call run or stop elsewhere is mapped to a distinct errno before compiling (ALLOW → 4000, LOG → 4001,
/// USER_NOTIF → 4002, TRACE → 4003, TRAP → 4004); ERRNO and the two KILLs stay. The filter's structure —
/// arch dispatch, number search, argument checks — is unchanged by that.
/// </para>
/// </summary>
public sealed class CompilerVsKernelSpecs(SeccompProbeFixture probe, LibseccompFixture lib, ITestOutputHelper output) : IClassFixture<LibseccompFixture>
{
    /// <summary>The probe-safe stand-in for an action.</summary>
    public static PolicyAction Safe(PolicyAction a) => a.Kind switch
    {
        SeccompAction.Allow => PolicyAction.Errno(4000),
        SeccompAction.Log => PolicyAction.Errno(4001),
        SeccompAction.UserNotif => PolicyAction.Errno(4002),
        SeccompAction.Trace => PolicyAction.Errno(4003),
        SeccompAction.Trap => PolicyAction.Errno(4004),
        _ => a,
    };

    /// <summary>The policy with every action replaced by <see cref="Safe"/>.</summary>
    public static SeccompPolicy ProbeSafe(SeccompPolicy p) =>
        new(Safe(p.DefaultAction), p.Rules.Select(r => new SyscallRule(r.Syscall, Safe(r.Action), r.Conditions)), p.Architectures, Safe(p.BadArchAction));

    /// <summary>A probed call for a vector the probe can issue (AUDIT_ARCH_X86_64 via syscall, AUDIT_ARCH_I386 via int $0x80), else null.</summary>
    private static ProbeCall? ToCall(SeccompData d)
    {
        if (d.Nr == -1) return null; // the kernel's "no system call" marker
        if (d.Arch == KernelModel.AuditArchX86_64)
        {
            if (d.Nr is FilterStack.X86_64Uretprobe or FilterStack.X86_64Uprobe) return null; // never filtered, really run
            return new ProbeCall(ProbeAbi.Syscall64, unchecked((ulong)(long)d.Nr), [.. d.Args]);
        }
        if (d.Arch == KernelModel.AuditArchI386) return new ProbeCall(ProbeAbi.Int80, unchecked((ulong)(long)d.Nr), [.. d.Args]);
        return null;
    }

    [Fact]
    public void Compiled_profiles_and_random_policies_do_in_the_kernel_what_the_interpreter_says()
    {
        var sw = Stopwatch.StartNew();
        int seed = ProgramGenerator.SeedFromEnvironment();
        output.WriteLine($"seed 0x{seed:x} (set SECCOMPKIT_KERNEL_SEED=0x{seed:x} to reproduce)");
        var rng = new Random(seed);
        var cases = new List<(string Name, SeccompPolicy Policy, int Calls)>();
        foreach (var (name, _, _) in ProfilePolicies.Profiles)
            cases.Add((name, ProbeSafe(lib.CommonPart(ProfilePolicies.Load(name)).Policy), 1500));
        var gen = new PolicyGenerator(rng);
        for (int i = 0; i < 90; i++)
        {
            var pool = lib.Pools[i % 3]; // the x86 family sets: [x86_64], [x86_64, x86, x32], [x86]
            cases.Add(($"random {i} ({string.Join(",", pool.Abis)})", ProbeSafe(gen.Next(pool)), 40));
        }

        var requests = new List<(string Name, string Engine, SeccompPolicy Policy, BpfProgram Program, ProbeRequest Request)>();
        foreach (var (name, policy, count) in cases)
        {
            var calls = VectorGenerator.For(policy, sweepArgsEverywhere: false).Select(ToCall).OfType<ProbeCall>()
                .OrderBy(_ => rng.Next()).Take(count).ToArray();
            var ours = OurCompiler.Compile(policy, optimize: true);
            var theirs = lib.Compiler.Compile(LibseccompPolicyWriter.Write(policy, allowMixedConditionalActions: true), 1);
            requests.Add((name, "SeccompKit", policy, ours, new ProbeRequest([[.. ours.Instructions]], calls)));
            requests.Add((name, "libseccomp -O1", policy, theirs, new ProbeRequest([[.. theirs.Instructions]], calls)));
        }

        using var p = probe.Start();
        var responses = p.Run(requests.Select(r => r.Request).ToArray());
        int total = 0, killed = 0, errno = 0, installFailures = 0, mismatches = 0, oracleMismatches = 0;
        foreach (var ((name, engine, policy, program, request), response) in requests.Zip(responses))
        {
            if (response.Install[0] != 0)
            {
                installFailures++;
                output.WriteLine($"INSTALL FAILED: {name} ({engine}): errno {response.Install[0]}");
                continue;
            }
            for (int c = 0; c < request.Calls.Count; c++)
            {
                var data = KernelModel.ToSeccompData(request.Calls[c], p.Addresses);
                uint value = Interpreter.Evaluate(program, data);
                var expected = KernelModel.Expected(value);
                var kernel = response.Outcomes[c];
                total++;
                if (kernel.Kind == ProbeOutcomeKind.Killed) killed++; else errno++;
                if (engine == "SeccompKit" && PolicyEvaluator.EvaluateValue(policy, data) != value)
                {
                    oracleMismatches++;
                    output.WriteLine($"ORACLE MISMATCH: {name}: {data}: filter 0x{value:x8}, policy {PolicyEvaluator.Evaluate(policy, data).Action}");
                }
                if (kernel == expected) continue;
                if (++mismatches <= 10)
                    output.WriteLine($"MISMATCH: {name} ({engine}): {request.Calls[c]}\n  kernel: {kernel}\n  interpreter: {expected} (0x{value:x8})");
            }
        }
        KernelModel.ReportCounts(output, $"compiler-vs-kernel: {cases.Count} policies (docker, podman, {cases.Count - 2} random) x 2 compilers, {total} calls " +
            $"({errno} errno, {killed} killed by SIGSYS), {mismatches} mismatches, {oracleMismatches} oracle mismatches, {installFailures} install failures, {sw.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(0, installFailures);
        Assert.Equal(0, mismatches);
        Assert.Equal(0, oracleMismatches);
        Assert.True(total >= 8000, $"only {total} calls");
    }
}
