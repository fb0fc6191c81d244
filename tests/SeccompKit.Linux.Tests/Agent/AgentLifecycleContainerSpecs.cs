using System.Diagnostics;
using SeccompKit.Linux.Agent;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// The agent's life with real containers: stopped while containers run (results written, then their notified calls
/// fail ENOSYS and nothing hangs), a container killed in the middle of a notified call, twenty containers at once, and
/// runtimes started while no agent listens (a stale socket of a killed agent, or none) failing cleanly.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class AgentLifecycleContainerSpecs(ITestOutputHelper output, BusyboxBundleFixture fixture) : IClassFixture<BusyboxBundleFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Runtimes() => ["runc", "crun"];

    [Theory]
    [MemberData(nameof(Runtimes))]
    public async Task Stopping_the_agent_writes_each_running_containers_results_then_its_notified_calls_fail_ENOSYS(string runtimeName)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var host = AgentHost.Start(c => new CountingSession(c));
        try
        {
            // mkdir every 50 ms until one fails: served (Continue) while the agent runs, ENOSYS once it stopped.
            const string Script = "i=0; while [ $i -lt 400 ]; do rm -rf /tmp/z; mkdir /tmp/z 2>/tmp/err || { echo \"failed after $i: $(cat /tmp/err)\"; exit 0; }; i=$((i+1)); usleep 50000; done; echo never failed";
            var spec = new OciContainerSpec("/bin/sh", "-c", Script).WithSeccomp(host.Seccomp("learn", "mkdir", "mkdirat"));
            var run = Task.Run(() => fixture.Bundle.Run(runtime, spec, Timeout), TestContext.Current.CancellationToken);
            var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
            await Task.Delay(500, TestContext.Current.CancellationToken); // a few calls served

            var clock = Stopwatch.StartNew();
            host.Agent.Stop();
            output.WriteLine($"Stop took {clock.ElapsedMilliseconds} ms");
            var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, TimeSpan.Zero);
            Assert.Equal(ContainerEnd.AgentStopped, finished.End);
            var (end, counts, _) = CountingSession.Read(host.OutputDirectory, serving.ContainerId!);
            Assert.Equal("AgentStopped", end);
            Assert.True(counts.Values.Sum() >= 3, $"only {counts.Values.Sum()} calls were served before the stop");
            Assert.False(File.Exists(host.SocketPath), "the socket file was not removed");

            // WaitAsync throws TimeoutException if the container hung after the agent stopped.
            var r = await run.WaitAsync(Timeout, TestContext.Current.CancellationToken);
            output.WriteLine($"{runtimeName}: {r}");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("Function not implemented", r.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            host.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public async Task SIGTERM_to_an_agent_process_with_a_container_running_writes_its_results_and_exits_0(string runtimeName)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var dir = Directory.CreateTempSubdirectory("skagent-");
        try
        {
            string socket = Path.Combine(dir.FullName, "agent.sock"), outputDir = Path.Combine(dir.FullName, "out");
            Directory.CreateDirectory(outputDir);
            // TestVictim's `agent` runs SeccompAgent.RunAsync until SIGTERM, as `seccompkit agent` does (whose sessions
            // are the learn/complain/supervise ones: this one only counts).
            using var agent = ChildProcess.Start(Launch.Victim.Path, ["agent", socket, outputDir], new ProcessOptions { Timeout = Timeout });
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!File.Exists(socket) && DateTime.UtcNow < deadline) await Task.Delay(20, TestContext.Current.CancellationToken);
            Assert.True(File.Exists(socket), "the agent process did not create its socket");

            const string Script = "i=0; while [ $i -lt 400 ]; do rm -rf /tmp/t; mkdir /tmp/t 2>/tmp/err || { echo \"failed after $i: $(cat /tmp/err)\"; exit 0; }; i=$((i+1)); usleep 50000; done; echo never failed";
            var spec = new OciContainerSpec("/bin/sh", "-c", Script).WithSeccomp(AgentHost.SeccompFor(socket, "learn", "mkdir", "mkdirat"));
            var run = Task.Run(() => fixture.Bundle.Run(runtime, spec, Timeout), TestContext.Current.CancellationToken);
            await Task.Delay(1500, TestContext.Current.CancellationToken); // served a while

            Assert.Equal(0, ChildProcess.Run("/bin/kill", ["-TERM", agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]).Exit);
            var stopped = agent.Wait();
            output.WriteLine($"agent: exit {stopped.Exit}\n{stopped.Out}{stopped.Err}");
            Assert.Equal(0, stopped.Exit);
            Assert.False(File.Exists(socket), "the socket was not removed");
            var results = Directory.GetFiles(outputDir, "*.count.json");
            var written = Assert.Single(results);
            string text = File.ReadAllText(written);
            output.WriteLine($"{Path.GetFileName(written)}: {text}");
            Assert.Contains("\"end\":\"AgentStopped\"", text, StringComparison.Ordinal);

            var r = await run.WaitAsync(Timeout, TestContext.Current.CancellationToken);
            output.WriteLine($"{runtimeName}: {r}");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("Function not implemented", r.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public async Task A_container_killed_in_a_notified_call_ends_its_supervision_and_the_agent_serves_the_next(string runtimeName)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        using var hold = new ManualResetEventSlim();
        using var arrived = new ManualResetEventSlim();
        int sessions = 0;
        try
        {
            // The first container's calls are held by its handler until released; later containers' are not.
            using var host = AgentHost.Start(c => Interlocked.Increment(ref sessions) == 1 ? new CountingSession(c, hold, _ => arrived.Set()) : new CountingSession(c));
            var spec = new OciContainerSpec("/bin/sh", "-c", "rm -rf /tmp/k; mkdir /tmp/k; echo returned").WithSeccomp(host.Seccomp("learn", "mkdir", "mkdirat"));
            var run = Task.Run(() => fixture.Bundle.Run(runtime, spec, Timeout), TestContext.Current.CancellationToken);
            var serving = host.WaitFor(e => e.Kind == AgentEventKind.Serving, Timeout);
            Assert.True(arrived.Wait(Timeout, TestContext.Current.CancellationToken), "the mkdir never arrived");

            // The container's shell is blocked in mkdir, its notification held by the handler: kill it.
            Assert.Equal(0, ChildProcess.Run("/bin/kill", ["-KILL", serving.Pid!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]).Exit);
            await Task.Delay(200, TestContext.Current.CancellationToken);
            hold.Set(); // the answer now finds no target (ENOENT): counted as gone, never an error
            var finished = host.WaitFor(AgentEventKind.Finished, serving.ContainerId!, Timeout);
            Assert.Equal(ContainerEnd.Exited, finished.End);
            var killed = await run.WaitAsync(Timeout, TestContext.Current.CancellationToken);
            output.WriteLine($"killed: {killed}; {finished.Message}");
            Assert.DoesNotContain("returned", killed.Stdout, StringComparison.Ordinal);
            Assert.Equal(128 + 9, killed.ExitCode);

            var next = host.Run(fixture.Bundle, runtime, new OciContainerSpec("/bin/sh", "-c", "rm -rf /tmp/n; mkdir /tmp/n && echo next").WithSeccomp(host.Seccomp("learn", "mkdir", "mkdirat")), Timeout);
            output.WriteLine($"next: {next}");
            Assert.Equal("next\n", next.Stdout);
            var second = host.WaitFor(e => e.Kind == AgentEventKind.Finished && e.ContainerId != serving.ContainerId, Timeout);
            Assert.Equal(ContainerEnd.Exited, second.End);
            Assert.DoesNotContain(host.Events, e => e.Kind is AgentEventKind.Refused or AgentEventKind.SessionFault);
        }
        finally
        {
            hold.Set();
        }
    }

    [Fact]
    public async Task Twenty_containers_at_once_are_each_served_to_their_exit()
    {
        Assert.SkipUnless(OciRuntime.Runc.IsInstalled && OciRuntime.Crun.IsInstalled, OciRuntime.Runc.WhyMissing + OciRuntime.Crun.WhyMissing);
        using var host = AgentHost.Start(c => new CountingSession(c));
        var bundles = Enumerable.Range(0, 20).Select(_ => OciBundle.Create()).ToList();
        try
        {
            var clock = Stopwatch.StartNew();
            var runs = bundles.Select((b, i) => Task.Run(() =>
                b.Run(i % 2 == 0 ? OciRuntime.Runc : OciRuntime.Crun,
                    new OciContainerSpec("/bin/sh", "-c", $"mkdir /tmp/c{i} && usleep 300000 && mkdir /tmp/c{i}/x && echo ok{i}").WithSeccomp(host.Seccomp("learn", "mkdir", "mkdirat")),
                    TimeSpan.FromSeconds(120)), TestContext.Current.CancellationToken)).ToArray();
            var results = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(150), TestContext.Current.CancellationToken);
            output.WriteLine($"20 containers in {clock.ElapsedMilliseconds} ms");
            for (int i = 0; i < runs.Length; i++)
            {
                var r = results[i];
                Assert.True(r.ExitCode == 0 && r.Stdout == $"ok{i}\n", $"container {i}: {r}");
            }
            var deadline = DateTime.UtcNow + Timeout;
            while (host.Events.Count(e => e.Kind == AgentEventKind.Finished) < 20 && DateTime.UtcNow < deadline) Thread.Sleep(50);
            var ends = host.Events.Where(e => e.Kind == AgentEventKind.Finished).ToList();
            Assert.Equal(20, ends.Count);
            Assert.Equal(20, ends.Select(e => e.ContainerId).Distinct().Count());
            Assert.All(ends, e => Assert.Equal(ContainerEnd.Exited, e.End));
            Assert.All(ends, e => Assert.Equal(2, CountingSession.Read(host.OutputDirectory, e.ContainerId!).Counts.Values.Sum()));
            Assert.DoesNotContain(host.Events, e => e.Kind is AgentEventKind.Refused or AgentEventKind.SessionFault);
        }
        finally
        {
            foreach (var b in bundles) b.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void With_no_agent_listening_the_runtime_fails_cleanly_with_exit_1(string runtimeName)
    {
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        var dir = Directory.CreateTempSubdirectory("skagent-");
        try
        {
            // 1. No socket at all.
            string missing = Path.Combine(dir.FullName, "none.sock");
            var spec = new OciContainerSpec("/bin/echo", "ran");
            var r = fixture.Bundle.Run(runtime, spec.WithSeccomp(AgentHost.SeccompFor(missing, "learn", "mkdir")), TimeSpan.FromSeconds(20));
            output.WriteLine($"no socket: {r}");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal("", r.Stdout);

            // 2. The stale socket of a killed agent (bound, then its process gone: nobody accepts): the same failure.
            string stale = Path.Combine(dir.FullName, "agent.sock");
            MakeStaleSocket(stale);
            r = fixture.Bundle.Run(runtime, spec.WithSeccomp(AgentHost.SeccompFor(stale, "learn", "mkdir")), TimeSpan.FromSeconds(20));
            output.WriteLine($"stale socket: {r}");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal("", r.Stdout);

            // 3. A new agent on the stale path replaces the socket and serves.
            Directory.CreateDirectory(Path.Combine(dir.FullName, "out"));
            using (var agent = SeccompAgent.Start(new AgentOptions { SocketPath = stale, OutputDirectory = Path.Combine(dir.FullName, "out"), Sessions = c => new CountingSession(c) }))
            {
                r = fixture.Bundle.Run(runtime, new OciContainerSpec("/bin/sh", "-c", "rm -rf /tmp/r; mkdir /tmp/r && echo served").WithSeccomp(AgentHost.SeccompFor(stale, "learn", "mkdir", "mkdirat")), TimeSpan.FromSeconds(20));
                output.WriteLine($"after restart: {r}");
                Assert.Equal("served\n", r.Stdout);
            }
            Assert.False(File.Exists(stale));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>A socket file nobody accepts on: what a SIGKILLed agent leaves. Made by a child that binds and exits.</summary>
    internal static void MakeStaleSocket(string path)
    {
        var r = ChildProcess.Run(AgentPeer.Python, ["-c", $"import socket; s = socket.socket(socket.AF_UNIX); s.bind({System.Text.Json.JsonSerializer.Serialize(path)}); s.listen(1)"]);
        Assert.True(r.Exit == 0 && File.Exists(path), $"could not make a stale socket: {r.Err}");
    }

    [Theory]
    [MemberData(nameof(Runtimes))]
    public void A_refused_container_whose_profile_notifies_everything_fails_at_once_instead_of_hanging(string runtimeName)
    {
        // crun 1.8.1's container init keeps its own copy of the listener until it executes the program, blocked in a
        // notified wait4 meanwhile: an agent that only closed its copy left such a container hanging for ever. The agent
        // answers a refused container's calls ENOSYS instead, so the runtime fails (the program never runs) and returns.
        var runtime = OciRuntime.Named(runtimeName);
        Assert.SkipUnless(runtime.IsInstalled, runtime.WhyMissing);
        using var host = AgentHost.Start(_ => throw new SeccompException("this agent refuses every container"));
        var target = SeccompKit.Linux.Runtimes.InstalledRuntimes.Parse(runtimeName);
        var profile = SeccompKit.Agent.AgentProfile.For(new SeccompKit.Agent.ContainerMode.Learn(), target, host.SocketPath);
        var spec = new OciContainerSpec("/bin/sh", "-c", "echo the-program-ran").WithSeccomp(System.Text.Json.Nodes.JsonNode.Parse(profile.Oci.Json));
        var clock = Stopwatch.StartNew();
        var r = fixture.Bundle.Run(runtime, spec, TimeSpan.FromSeconds(30)); // TimeoutException if it hangs
        output.WriteLine($"{runtimeName}: {r} after {clock.ElapsedMilliseconds} ms");
        var refused = host.WaitFor(e => e.Kind == AgentEventKind.Refused, TimeSpan.FromSeconds(5));
        Assert.Equal(RefusalReason.Session, refused.Reason);
        Assert.DoesNotContain("the-program-ran", r.Stdout, StringComparison.Ordinal);
        Assert.NotEqual(0, r.ExitCode);
    }
}
