using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SeccompKit.Syscalls;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// The runs of <see cref="ContainerSignalSpecs"/>: busybox's shell learned once per runtime with <c>seccompkit learn
/// --for runc|crun --default-action kill-process</c> (run on the host from the bundle's rootfs, without any signal),
/// then every case started at once, four at a time, in bundles that never change while they run (one per runtime and
/// variant: bare, without <c>linux.seccomp</c>, and under the learned profile).
/// </summary>
public sealed class ContainerSignalRuns : IDisposable
{
    private const int AtOnce = 4;
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "SeccompKit.Cli");
    private readonly Dictionary<(string Runtime, string Variant), OciBundle> _bundles = [];
    private readonly Dictionary<(string Runtime, string Event, string Variant), Task<JobResult>> _runs = [];
    private readonly SemaphoreSlim _slots = new(AtOnce);

    public ContainerSignalRuns()
    {
        if (OciBundle.WhyUnavailable.Length > 0) { WhyUnavailable = OciBundle.WhyUnavailable; return; }
        SignalHelpers.EnoughThreads();
        foreach (var runtime in ContainerSignalSpecs.Runtimes.Select(OciRuntime.Named).Where(r => r.IsInstalled))
        {
            var spec = new OciContainerSpec(["/bin/sh", "-c", ContainerSignalSpecs.Script]);
            foreach (var variant in new[] { "bare", "under", "no-baseline" })
            {
                var bundle = _bundles[(runtime.Name, variant)] = OciBundle.Create();
                bundle.WriteConfig(runtime, variant == "bare" ? spec : spec.WithSeccomp(JsonNode.Parse(File.ReadAllText(Learn(runtime.Name, bundle, variant == "under")))));
            }
            var cases = ContainerSignalSpecs.Events.SelectMany(ev => new[] { (ev, "bare"), (ev, "under") })
                .Concat(ContainerSignalSpecs.ControlEvents.Select(ev => (ev, "no-baseline")));
            foreach (var (ev, variant) in cases)
            {
                var bundle = _bundles[(runtime.Name, variant)];
                _runs[(runtime.Name, ev, variant)] = SignalHelpers.OnOwnThread(_slots, () => ContainerSignalSpecs.Run(runtime, bundle, ev, variant != "bare"));
            }
        }
    }

    /// <summary>Why no container runs here (empty when they do).</summary>
    public string WhyUnavailable { get; } = "";

    /// <summary>The run of a case: bare, under the learned profile, or under the profile learned with --no-baseline.</summary>
    internal Task<JobResult> Of(string runtime, string ev, string variant) => _runs[(runtime, ev, variant)];

    /// <summary>busybox's shell, learned on the host from the rootfs (the same static binary the container runs).</summary>
    private static string Learn(string runtime, OciBundle bundle, bool baseline)
    {
        string profile = Path.Combine(bundle.Dir.FullName, $"learned-{runtime}.json");
        // Standard input stays open, as in the container: `read -t` times out.
        using var learn = ChildProcess.Start(Cli, ["learn", "-q", "--for", runtime, "--default-action", "kill-process", "-o", profile, .. baseline ? [] : new[] { "--no-baseline" }, "--",
                Path.Combine(bundle.Rootfs, "bin", "busybox"), "sh", "-c", ContainerSignalSpecs.Script],
            new ProcessOptions { Interactive = true, WorkingDirectory = bundle.Dir.FullName, Timeout = TimeSpan.FromSeconds(60) });
        var r = learn.Wait();
        if (r.Exit != 0 || r.Out != "ready\ndone:1\n")
            throw new InvalidOperationException($"learn --for {runtime} exited {r.Exit}, stdout [{r.Out}]: {r.Err}");
        return profile;
    }

    public void Dispose()
    {
        try { Task.WaitAll([.. _runs.Values], TimeSpan.FromMinutes(2)); } catch (AggregateException) { }
        foreach (var b in _bundles.Values) b.Dispose();
    }
}

/// <summary>
/// Issue 12, item 2, for containers: a busybox container under runc and under crun, with a profile learned by
/// <c>seccompkit learn --for runc|crun</c> without any signal, meets signals, stops, a freeze, a ptrace attach and
/// <c>seccompkit dump</c> as it does without a profile: same exit status, output and errors. Signals go to the container
/// as its runtime sends them (<c>runc kill</c>, <c>crun kill</c>: to its init, pid 1 in its namespace, which ignores
/// those it has no handler for, hence the traps), stops to its init from the host, and the freeze is
/// <c>runc pause</c>/<c>resume</c> (the cgroup freezer). The init waits in <c>read -t 1.5</c>: poll(2) with a timeout,
/// which a stop, a freeze or a ptrace interrupt resume through restart_syscall.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class ContainerSignalSpecs(ContainerSignalRuns runs, ITestOutputHelper output) : IClassFixture<ContainerSignalRuns>
{
    public static readonly string[] Runtimes = ["runc", "crun"];

    /// <summary>The container's process: traps for the signals a runtime sends, then a 1.5 s wait on standard input.</summary>
    public const string Script = "trap 'echo trapped TERM; exit 3' TERM; trap 'echo trapped INT; exit 4' INT; trap 'echo trapped HUP; exit 5' HUP; " +
        "trap 'echo winch' WINCH; echo ready; read -t 1.5 line; echo done:$?";

    public static readonly string[] Events =
    [
        "SIGTERM (RUNTIME kill)",
        "SIGINT (RUNTIME kill)",
        "SIGHUP (RUNTIME kill)",
        "SIGWINCH (RUNTIME kill)",
        "SIGSTOP, SIGCONT to the container's init",
        "RUNTIME pause, RUNTIME resume (freezer)",
        "ptrace attach and detach of the init (strace -f -p)",
        "seccompkit dump of the init",
    ];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var r in Runtimes)
            foreach (var e in Events) data.Add(r, e);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_busybox_container_meets_the_event_under_its_learned_profile_as_without_it(string runtime, string ev)
    {
        Assert.SkipWhen(runs.WhyUnavailable.Length > 0, runs.WhyUnavailable);
        var r = OciRuntime.Named(runtime);
        Assert.SkipUnless(r.IsInstalled, r.WhyMissing);
        var (bare, under) = (await runs.Of(runtime, ev, "bare"), await runs.Of(runtime, ev, "under"));
        output.WriteLine($"{runtime} {r.Version}, {ev}\n  bare:  {bare}\n  under: {under}");
        Assert.True(bare.Exit == under.Exit, $"exit status differs:\n  bare:  {bare}\n  under: {under}");
        Assert.Equal(bare.Out, under.Out);
        Assert.Equal(bare.Err, under.Err);
    }

    /// <summary>The events that resume the init's poll through restart_syscall.</summary>
    public static readonly string[] ControlEvents =
    [
        "SIGSTOP, SIGCONT to the container's init",
        "RUNTIME pause, RUNTIME resume (freezer)",
        "ptrace attach and detach of the init (strace -f -p)",
        "seccompkit dump of the init",
    ];

    public static TheoryData<string, string> Controls()
    {
        var data = new TheoryData<string, string>();
        foreach (var r in Runtimes)
            foreach (var e in ControlEvents) data.Add(r, e);
        return data;
    }

    /// <summary>
    /// The controls: under a profile learned with <c>--no-baseline</c> (neither the program nor runc/crun's set has
    /// restart_syscall) the same stop, freeze and attach kill the container's init with SIGSYS (exit 159): the events
    /// above do reach the kernel path the baseline covers. <c>seccompkit dump</c> carries the restart past the filters
    /// (FilterDump), so it leaves even that container as it is without a profile.
    /// </summary>
    [Theory]
    [MemberData(nameof(Controls))]
    public async Task Without_the_baseline_the_same_events_kill_the_container(string runtime, string ev)
    {
        Assert.SkipWhen(runs.WhyUnavailable.Length > 0, runs.WhyUnavailable);
        var r = OciRuntime.Named(runtime);
        Assert.SkipUnless(r.IsInstalled, r.WhyMissing);
        var killed = await runs.Of(runtime, ev, "no-baseline");
        output.WriteLine($"{runtime} {r.Version}, {ev}, learned with --no-baseline: {killed}");
        if (ev == "seccompkit dump of the init")
        {
            var bare = await runs.Of(runtime, ev, "bare");
            Assert.True(bare == killed, $"{runtime}, {ev}, without the baseline: {killed}; bare: {bare}");
            return;
        }
        Assert.True(killed.Exit == 159, $"{runtime}, {ev}, without the baseline: {killed}");
        Assert.Equal("ready\n", killed.Out);
    }

    /// <summary>Runs the container to its end, delivering the event once its init printed "ready" and waits in poll.</summary>
    internal static JobResult Run(OciRuntime runtime, OciBundle bundle, string ev, bool filtered)
    {
        string id = $"sk-sig-{runtime.Name}-{Guid.NewGuid():n}"[..32];
        string pidFile = Path.Combine(bundle.Dir.FullName, id + ".pid");
        using var run = Process.Start(runtime.Command("run", "--bundle", bundle.Dir.FullName, "--pid-file", pidFile, id))!;
        var stderr = run.StandardError.ReadToEndAsync();
        try
        {
            var ready = run.StandardOutput.ReadLineAsync();
            if (!ready.Wait(TimeSpan.FromSeconds(30)) || ready.Result != "ready")
                throw new Xunit.Sdk.XunitException($"{runtime.Name} run: no \"ready\" ({(ready.IsCompleted ? $"[{ready.Result}]" : "timeout")}); stderr {(stderr.IsCompleted ? stderr.Result : "")}");
            int init = 0;
            Assert.True(Procfs.WaitFor(() => File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out init), TimeSpan.FromSeconds(10)), "no pid file");
            long poll = Architecture.X86_64.Syscalls.GetNumber("poll");
            Assert.True(Procfs.WaitFor(() => Procfs.State(init) == 'S' && Procfs.BlockedIn(init, init) == poll, TimeSpan.FromSeconds(10)),
                $"the init (pid {init}) never waited in poll: {Procfs.State(init)} in {Procfs.BlockedIn(init, init)}");
            Deliver(runtime, id, init, ev, filtered);
            var rest = run.StandardOutput.ReadToEndAsync();
            if (!run.WaitForExit(30_000) || !rest.Wait(TimeSpan.FromSeconds(30)))
                throw new TimeoutException($"{runtime.Name} run {id} did not end");
            run.WaitForExit();
            return new JobResult(run.ExitCode, ready.Result + "\n" + rest.Result, stderr.Result);
        }
        finally
        {
            if (!run.HasExited) run.Kill(entireProcessTree: true);
            run.StandardInput.Close();
            try { runtime.Exec(TimeSpan.FromSeconds(20), "delete", "-f", id); } catch (TimeoutException) { }
            File.Delete(pidFile);
        }
    }

    private static void Deliver(OciRuntime runtime, string id, int init, string ev, bool filtered)
    {
        void Runtime(params string[] args)
        {
            var (code, _, err) = runtime.Exec(TimeSpan.FromSeconds(20), args);
            Assert.True(code == 0, $"{runtime.Name} {string.Join(' ', args)}: exit {code}: {err}");
        }
        switch (ev)
        {
            case "SIGTERM (RUNTIME kill)": Runtime("kill", id, "TERM"); break;
            case "SIGINT (RUNTIME kill)": Runtime("kill", id, "INT"); break;
            case "SIGHUP (RUNTIME kill)": Runtime("kill", id, "HUP"); break;
            case "SIGWINCH (RUNTIME kill)": Runtime("kill", id, "WINCH"); break;
            case "SIGSTOP, SIGCONT to the container's init": SignalEvents.StopThenContinue(init, init, 19); break;
            case "RUNTIME pause, RUNTIME resume (freezer)":
                Runtime("pause", id);
                Runtime("resume", id);
                break;
            case "ptrace attach and detach of the init (strace -f -p)": SignalEvents.Strace(init); break;
            case "seccompkit dump of the init": SignalEvents.Dump(init, filtered); break;
            default: throw new ArgumentException($"unknown event {ev}", nameof(ev));
        }
    }
}
