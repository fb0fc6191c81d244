namespace SeccompKit.Cli.Tests;

/// <summary>
/// What SECCOMP_FILTER_FLAG_SPEC_ALLOW (which an OCI export for runc 1.1 drops with a warning) changes on this kernel:
/// seccomp forces the speculative store bypass mitigation on a filtered task only in the kernel's "seccomp" SSB mode
/// (arch/x86/kernel/cpu/bugs.c, ssb_select_mitigation); in "prctl" mode a filter changes nothing, flag or not.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class SpecAllowSpecs : IDisposable
{
    private const string Vulnerability = "/sys/devices/system/cpu/vulnerabilities/spec_store_bypass";
    private readonly string _dir = Directory.CreateTempSubdirectory("seccompkit-specallow-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Status(string flags)
    {
        File.WriteAllText(Path.Combine(_dir, "p.policy"), $"default allow\n{flags}");
        var r = CliProcess.Run(_dir, TimeSpan.FromSeconds(60), "run", "--policy", "p.policy", "--", "/bin/grep", "Speculation_Store_Bypass", "/proc/self/status");
        Assert.True(r.Exit == 0, r.Err);
        return r.Out.Trim();
    }

    [Fact]
    public void Spec_allow_matters_only_when_the_kernel_mitigates_seccomp_tasks()
    {
        string mode = File.Exists(Vulnerability) ? File.ReadAllText(Vulnerability).Trim() : "";
        Assert.SkipWhen(mode is "" or "Not affected", $"this CPU is not affected by speculative store bypass ({Vulnerability}: '{mode}')");
        string without = Status(""), with = Status("flags spec-allow\n");
        if (mode.Contains("seccomp", StringComparison.Ordinal))
        {
            // "... disabled via prctl and seccomp": a filter without the flag forces the mitigation on.
            Assert.Equal("Speculation_Store_Bypass:\tthread force mitigated", without);
            Assert.Equal("Speculation_Store_Bypass:\tthread vulnerable", with);
        }
        else
            Assert.Equal(with, without); // this machine (6.18): "Mitigation: Speculative Store Bypass disabled via prctl"
    }
}
