using SeccompKit.Linux.Agent;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// Bad peers are refused, logged, and affect nothing else: after each, the same agent serves a good peer. The peers are
/// <see cref="AgentPeer"/> (a Python program under a real notify filter), so each refusal also shows what the peer's
/// notified calls do afterwards: ENOSYS, because the agent closed every descriptor it did not use.
/// </summary>
[Trait("Category", "Kernel")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AgentRefusalSpecs(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string Enosys = "mkdir errno 38";

    public static TheoryData<string, string[], RefusalReason, string, string> BadPeers() => new()
    {
        // desc, peer arguments (payload with {pid}/{id}), expected reason, a word of the message, the peer's mkdir afterwards
        { "malformed JSON", ["--payload", "{\"ociVersion\": \"1.0\", \"fds\": ]}", "--fds", "notify"], RefusalReason.Payload, "not valid JSON", Enosys },
        { "an incomplete payload, then silence", ["--payload", "{\"ociVersion\": \"1.0\", \"fds\": [", "--fds", "notify"], RefusalReason.Timeout, "incomplete payload", Enosys },
        { "a duplicate key", ["--payload", AgentPeer.ValidPayload.Replace("\"pid\":{pid},", "\"pid\":{pid},\"pid\":{pid},", StringComparison.Ordinal)], RefusalReason.Payload, "appears twice", Enosys },
        { "a container id that is no file name", ["--payload", AgentPeer.ValidPayload, "--id", "../etc"], RefusalReason.Payload, "$.state.id", Enosys },
        { "status running (crun exec)", ["--payload", AgentPeer.ValidPayload.Replace("creating", "running", StringComparison.Ordinal)], RefusalReason.Payload, "$.state.status", Enosys },
        { "no descriptor", ["--payload", AgentPeer.ValidPayload, "--fds", ""], RefusalReason.Descriptors, "but 0 arrived", "mkdir ok" },
        { "two descriptors for one name", ["--payload", AgentPeer.ValidPayload, "--fds", "notify,pipe"], RefusalReason.Descriptors, "but 2 arrived", Enosys },
        { "a pipe instead of the listener", ["--payload", AgentPeer.ValidPayload, "--fds", "pipe"], RefusalReason.Descriptors, "pipe:[", "mkdir ok" },
        { "metadata that names no mode", ["--payload", AgentPeer.ValidPayload.Replace("\"learn\"", "\"learn please\"", StringComparison.Ordinal)], RefusalReason.Mode, "names no agent mode", Enosys },
        { "a dead pid", ["--payload", AgentPeer.ValidPayload, "--pid", DeadPid()], RefusalReason.Pid, "does not exist", Enosys },
        { "a live pid that is not the runtime's", ["--payload", AgentPeer.ValidPayload, "--pid", "1"], RefusalReason.Pid, "process 1", Enosys },
    };

    [Theory]
    [MemberData(nameof(BadPeers))]
    public void A_bad_peer_is_refused_and_logged_and_the_agent_serves_the_next_one(string desc, string[] args, RefusalReason reason, string word, string mkdirAfter)
    {
        Assert.SkipUnless(AgentPeer.WhyMissing.Length == 0, AgentPeer.WhyMissing);
        using var host = AgentHost.Start(c => new CountingSession(c), o => o with { ReceiveTimeout = TimeSpan.FromSeconds(2) });

        var bad = AgentPeer.Run(host.SocketPath, [.. args, "--mkdir", Path.Combine(host.Directory, "bad"), "--mkdir-after", "0.3"]);
        output.WriteLine($"{desc}: peer exit {bad.Exit}: {bad.Out.Trim()} {bad.Err.Trim()}");
        var refused = host.WaitFor(e => e.Kind == AgentEventKind.Refused, Wait);
        output.WriteLine($"  {refused.Message}");
        Assert.Equal(reason, refused.Reason);
        Assert.Contains(word, refused.Message, StringComparison.Ordinal);
        Assert.Contains(mkdirAfter, bad.Out, StringComparison.Ordinal);

        var good = AgentPeer.Run(host.SocketPath, "--payload", AgentPeer.ValidPayload, "--id", "good", "--mkdir", Path.Combine(host.Directory, "good"));
        output.WriteLine($"  then a good peer: {good.Out.Trim()} {good.Err.Trim()}");
        Assert.Contains("mkdir ok", good.Out, StringComparison.Ordinal);
        var finished = host.WaitFor(AgentEventKind.Finished, "good", Wait);
        Assert.Equal(ContainerEnd.Exited, finished.End);
        Assert.Single(host.Events, e => e.Kind == AgentEventKind.Refused);
    }

    [Fact]
    public void A_peer_whose_uid_is_not_allowed_is_refused_by_SO_PEERCRED()
    {
        Assert.SkipUnless(AgentPeer.WhyMissing.Length == 0, AgentPeer.WhyMissing);
        // The socket must be reachable for uid 65534 to get as far as the uid check: give its group (nogroup) access.
        using var host = AgentHost.Start(c => new CountingSession(c), o => o with { Config = o.Config with { SocketGroup = "65534" } });
        Assert.Equal((UnixFileMode)0b110_110_000, File.GetUnixFileMode(host.SocketPath));
        File.SetUnixFileMode(host.Directory, (UnixFileMode)0b111_101_101); // the temporary directory is 0700

        var bad = AgentPeer.Run(host.SocketPath, "--payload", AgentPeer.ValidPayload, "--uid", "65534", "--mkdir", "/tmp/seccompkit-never", "--mkdir-after", "0.3");
        output.WriteLine($"peer: {bad.Out.Trim()} {bad.Err.Trim()}");
        var refused = host.WaitFor(e => e.Kind == AgentEventKind.Refused, Wait);
        output.WriteLine(refused.Message);
        Assert.Equal(RefusalReason.PeerUid, refused.Reason);
        Assert.Equal(65534u, refused.Peer!.Value.Uid);
        Assert.Contains("sent", bad.Out, StringComparison.Ordinal);
        Assert.Contains(Enosys, bad.Out, StringComparison.Ordinal);

        var good = AgentPeer.Run(host.SocketPath, "--payload", AgentPeer.ValidPayload, "--id", "good", "--mkdir", Path.Combine(host.Directory, "good"));
        Assert.Contains("mkdir ok", good.Out, StringComparison.Ordinal);
        host.WaitFor(AgentEventKind.Finished, "good", Wait);
    }

    [Fact]
    public void The_socket_is_created_0600_so_another_uid_cannot_even_connect()
    {
        Assert.SkipUnless(AgentPeer.WhyMissing.Length == 0, AgentPeer.WhyMissing);
        using var host = AgentHost.Start(c => new CountingSession(c));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(host.SocketPath));
        // The temporary directory is 0700; open it so that only the socket's own mode decides.
        File.SetUnixFileMode(host.Directory, (UnixFileMode)0b111_101_101);

        var bad = AgentPeer.Run(host.SocketPath, "--payload", AgentPeer.ValidPayload, "--uid", "65534", "--fds", "");
        output.WriteLine(bad.Out);
        Assert.Contains("connect failed errno 13", bad.Out, StringComparison.Ordinal); // EACCES
    }

    [Fact]
    public void A_silent_peer_is_refused_after_the_timeout_without_holding_up_other_peers()
    {
        Assert.SkipUnless(AgentPeer.WhyMissing.Length == 0, AgentPeer.WhyMissing);
        using var host = AgentHost.Start(c => new CountingSession(c), o => o with { ReceiveTimeout = TimeSpan.FromSeconds(2) });
        using var silent = AgentPeer.Start(host.SocketPath, "--silent", "20", "--fds", "");
        Thread.Sleep(300); // connected and silent

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var good = AgentPeer.Run(host.SocketPath, "--payload", AgentPeer.ValidPayload, "--id", "good", "--mkdir", Path.Combine(host.Directory, "good"));
        Assert.Contains("mkdir ok", good.Out, StringComparison.Ordinal);
        host.WaitFor(AgentEventKind.Finished, "good", Wait);
        output.WriteLine($"served a good peer {clock.ElapsedMilliseconds} ms after a silent one connected");
        Assert.DoesNotContain(host.Events, e => e.Kind == AgentEventKind.Refused);

        var refused = host.WaitFor(e => e.Kind == AgentEventKind.Refused, Wait);
        output.WriteLine(refused.Message);
        Assert.Equal(RefusalReason.Timeout, refused.Reason);
        var r = silent.Wait();
        Assert.Contains("agent closed the connection", r.Out, StringComparison.Ordinal);
    }

    /// <summary>The pid of a process that has exited and been reaped.</summary>
    private static string DeadPid()
    {
        var r = ChildProcess.Run("/bin/true", []);
        return r.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
