using System.Runtime.InteropServices;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Tests.Kernel;

/// <summary>The kernel layer is x86_64-only today, and says so on any other host instead of making x86_64's calls there.</summary>
public class HostSupportSpecs
{
    [Theory]
    [InlineData(Architecture.Arm64, true, "this process runs arm64 (aarch64) code")]
    [InlineData(Architecture.Arm, true, "this process runs 32-bit arm code")]
    [InlineData(Architecture.X86, true, "this process runs 32-bit x86 code")]
    [InlineData(Architecture.RiscV64, true, "this process runs riscv64 code")]
    [InlineData(Architecture.X64, false, "not Linux")]
    [InlineData(Architecture.Arm64, false, "not Linux")]
    public void Other_hosts_are_refused_with_what_works_there(Architecture architecture, bool isLinux, string names)
    {
        var message = HostSupport.Refusal(architecture, isLinux);
        Assert.NotNull(message);
        Assert.Contains("supports only x86_64 Linux hosts today", message);
        Assert.Contains(names, message);
        Assert.Contains("What works on any host is the pure core", message);
    }

    [Fact]
    public void An_x86_64_Linux_process_is_supported() => Assert.Null(HostSupport.Refusal(Architecture.X64, isLinux: true));

    [Fact]
    public void This_host_is_supported_so_every_entry_point_goes_on()
    {
        // The suites run on x86_64 Linux (CI too): the check must let them through, and does not throw.
        Assert.True(HostSupport.IsSupported);
        HostSupport.EnsureSupported();
        Assert.True(SeccompKernel.Mode is SeccompMode.Disabled or SeccompMode.Filter);
    }

    [Fact]
    public void The_refusal_is_a_SeccompException_with_the_message() =>
        Assert.Equal("m", Assert.IsAssignableFrom<SeccompException>(new UnsupportedHostException("m")).Message);
}
