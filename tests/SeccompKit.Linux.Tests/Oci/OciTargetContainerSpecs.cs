using System.Diagnostics;
using System.Text.Json.Nodes;
using SeccompKit.Policy;
using SeccompKit.Policy.Oci;

namespace SeccompKit.Linux.Tests.Oci;

/// <summary>
/// The model of what each runtime version accepts (<see cref="OciTarget"/>), held against the runc and crun installed
/// here: for each <c>linux.seccomp</c> variant, reading it for the installed version (<see cref="OciImporter"/> with that
/// target) refuses it exactly when the runtime refuses to start the container, and the filter flags it reads are the ones
/// the runtime passes to the kernel (seen with strace: <c>seccomp(SECCOMP_SET_MODE_FILTER, FLAGS, ...)</c>, or
/// <c>prctl(PR_SET_SECCOMP)</c> for none).
/// </summary>
[Trait("Category", "Kernel")]
public sealed class OciTargetContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static TheoryData<string, string, string> Variants()
    {
        var data = new TheoryData<string, string, string>();
        string[] variants =
        [
            """{"defaultAction": "SCMP_ACT_ALLOW"}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": []}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_RISCV64"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_LOONGARCH64"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_S390X"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PPC64"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPSEL"]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"}]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_KILL_THREAD"}]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_BOGUS"}]}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5, "flags": []}""",
            """{"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "syscalls": [{"names": ["ptrace"], "action": "SCMP_ACT_TRAP", "errnoRet": 5}]}""",
        ];
        foreach (var runtime in new[] { "runc", "crun" })
            for (int i = 0; i < variants.Length; i++)
                data.Add(runtime, $"variant {i + 1}", variants[i]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void The_installed_runtime_accepts_what_its_model_accepts_and_installs_the_flags_it_reads(string runtimeName, string desc, string seccomp)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        Assert.SkipUnless(File.Exists("/usr/bin/strace"), "strace is missing (apt-get install -y strace): it shows the flags the runtime passes to seccomp(2)");
        var target = OciTarget.Get(runtimeName, runtime.Version);

        PolicyException? refusal = null;
        SeccompPolicy? read = null;
        try { read = OciImporter.Import(seccomp, new OciImportOptions { Target = target }).Policy; }
        catch (PolicyException e) { refusal = e; }

        string trace = Path.Combine(fixture.Bundle.Dir.FullName, $"strace-{Guid.NewGuid():n}.txt");
        var run = fixture.Bundle.Run(runtime, new OciContainerSpec("/bin/echo", "hi").WithSeccomp(JsonNode.Parse(seccomp)), Timeout,
            wrap: psi => Strace(psi, trace));
        var installed = InstalledFlags(File.ReadAllLines(trace));
        File.Delete(trace);
        output.WriteLine($"{target} ({target.Model.Range}), {desc}: {seccomp}\n  model: {(refusal is null ? $"accepted, flags {read!.Flags}" : $"refused: {refusal.Message}")}\n  runtime: {run}\n  seccomp(2) flags: {installed?.ToString() ?? "(no filter installed)"}");

        if (refusal is not null)
        {
            Assert.NotEqual(0, run.ExitCode);
            Assert.Null(installed);
            return;
        }
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("hi\n", run.Stdout);
        Assert.Equal(read!.Flags, installed);
    }

    private static ProcessStartInfo Strace(ProcessStartInfo runtime, string output)
    {
        var psi = new ProcessStartInfo("strace", ["-f", "-qq", "-e", "trace=seccomp,prctl", "-o", output, runtime.FileName, .. runtime.ArgumentList])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        return psi;
    }

    /// <summary>
    /// The flags of the filter the runtime installed: the last successful <c>seccomp(SECCOMP_SET_MODE_FILTER, FLAGS, {len=...})</c>
    /// (crun retries without flags when the kernel refuses some), or none for <c>prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ...)</c>
    /// (runc 1.1 without flags); null when no filter was installed.
    /// </summary>
    private static PolicyFlags? InstalledFlags(string[] lines)
    {
        PolicyFlags? flags = null;
        foreach (var line in lines)
        {
            bool ok = !line.Contains("= -1 ", StringComparison.Ordinal);
            if (line.Contains("prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, {len=", StringComparison.Ordinal) && ok) flags = PolicyFlags.None;
            int at = line.IndexOf("seccomp(SECCOMP_SET_MODE_FILTER, ", StringComparison.Ordinal);
            if (at < 0 || !line.Contains("{len=", StringComparison.Ordinal) || !ok) continue;
            string names = line[(at + "seccomp(SECCOMP_SET_MODE_FILTER, ".Length)..].Split(',')[0];
            var f = PolicyFlags.None;
            foreach (var n in names.Split('|'))
                f |= n switch
                {
                    "0" => PolicyFlags.None,
                    "SECCOMP_FILTER_FLAG_TSYNC" => PolicyFlags.Tsync,
                    "SECCOMP_FILTER_FLAG_LOG" => PolicyFlags.Log,
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => PolicyFlags.SpecAllow,
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" => PolicyFlags.WaitKillableRecv,
                    _ => throw new InvalidOperationException($"unexpected seccomp flag in strace output: {line}"),
                };
            flags = f;
        }
        return flags;
    }
}
