namespace SeccompKit.Cli.Tests;

/// <summary>The container runtimes the CLI's container specs run on, skipped (with the reason) only where truly absent.</summary>
internal static class InstalledRuntime
{
    /// <summary>runc and crun, the runtimes Debian installs (CI installs both).</summary>
    public static TheoryData<string> Names() => new("runc", "crun");

    /// <summary>The runtime <paramref name="name"/>, skipping the test when it or the busybox bundle is missing.</summary>
    public static OciRuntime Require(string name)
    {
        var runtime = OciRuntime.Named(name);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        Assert.SkipUnless(OciBundle.WhyUnavailable.Length == 0, OciBundle.WhyUnavailable);
        return runtime;
    }
}
