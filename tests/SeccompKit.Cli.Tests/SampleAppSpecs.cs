namespace SeccompKit.Cli.Tests;

/// <summary>
/// The library sample (samples/SeccompKit.Samples) as built: a console app that uses only SeccompKit and
/// SeccompKit.Linux runs every workflow (load, compile, learn, run with the kill explained, complain, dump) and says
/// what each did. CI runs as root, so the dump sample runs too.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SampleAppSpecs
{
    private static string Sample => Path.Combine(CompileSpecs.Repo("samples/SeccompKit.Samples/bin"),
        AppContext.BaseDirectory.Contains("/Debug/", StringComparison.Ordinal) ? "Debug" : "Release", "net10.0", "SeccompKit.Samples");

    [Fact]
    public void The_sample_runs_every_workflow_through_the_libraries_alone()
    {
        var r = CliProcess.RunProgram(Sample, Path.GetTempPath(), TimeSpan.FromMinutes(2), CompileSpecs.Repo("data/profiles/docker-default.json"));

        Assert.True(r.Exit == 0, $"exit {r.Exit}\n{r.Out}\n{r.Err}");
        Assert.Contains("load: docker-default.json is a docker profile:", r.Out);
        Assert.Matches(@"compile: \d+ instructions", r.Out);
        Assert.Matches(@"learn: /bin/ls made \d+ distinct syscalls; profile of \d+ syscalls, replayed \d+ distinct calls through it: all allowed", r.Out);
        Assert.Contains("run: /bin/ls under its learned profile: exit status 0", r.Out);
        Assert.Contains("run: /bin/mkdir under the profile of ls: killed by signal 31 (SIGSYS)", r.Out);
        Assert.Matches(@"run: the kernel's audit record: mkdir \(x86_64 syscall 83\) at ip 0x[0-9a-f]+, action KILL_PROCESS; ", r.Out);
        Assert.Contains("complain: /bin/mkdir exit status 0; the profile would have refused 1 call(s): mkdir (KILL_PROCESS)", r.Out);
        Assert.Contains("complain: made the directory", r.Out);
        Assert.Contains("""complain: patch: {"names":["mkdir"],"action":"SCMP_ACT_ALLOW"}""", r.Out);
        Assert.Contains("agent: listening; the learn profile for runc 1.1.5 notifies everything but clone3, write, listenerPath ", r.Out);
        Assert.Contains("agent: stopped (2 events, last: stopped; removed ", r.Out);
        if (Environment.IsPrivilegedProcess) Assert.Matches(@"dump: pid \d+ has 1 filter\(s\); the newest is the compiled Docker profile", r.Out);
        Assert.EndsWith("samples: done\n", r.Out);
    }
}
