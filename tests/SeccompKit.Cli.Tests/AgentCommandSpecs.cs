using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace SeccompKit.Cli.Tests;

/// <summary>
/// <c>seccompkit agent</c> as a user runs it: it refuses to start, with its documented exit code and nothing created,
/// when the socket or the output or the config cannot be used; it logs one line per event; SIGTERM stops it with
/// exit 0 and removes its socket; after a SIGKILL its stale socket is replaced by the next agent.
/// </summary>
[Trait("Category", "Kernel")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AgentCommandSpecs(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("skagent-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string At(string name) => Path.Combine(_dir.FullName, name);

    public static TheoryData<string, string[], int, string> Refusals() => new()
    {
        // desc, arguments ({dir} is the test's directory), exit code, a word of the message
        { "no --socket", ["agent", "-o", "{dir}/out"], 2, "--socket PATH is required" },
        { "no --output", ["agent", "--socket", "{dir}/a.sock"], 2, "--output DIR is required" },
        { "a missing output directory", ["agent", "--socket", "{dir}/a.sock", "-o", "{dir}/missing"], 73, "no such directory" },
        { "an output that is a file", ["agent", "--socket", "{dir}/a.sock", "-o", "{dir}/file"], 73, "no such directory" },
        { "a socket path that is a file", ["agent", "--socket", "{dir}/file", "-o", "{dir}/out"], 69, "is a regular file, not a socket" },
        { "a socket path whose directory is missing", ["agent", "--socket", "{dir}/none/a.sock", "-o", "{dir}/out"], 69, "its directory does not exist" },
        { "a socket path over 107 bytes", ["agent", "--socket", "{dir}/" + new string('s', 120), "-o", "{dir}/out"], 69, "at most 107" },
        { "a config that is not JSON", ["agent", "--socket", "{dir}/a.sock", "-o", "{dir}/out", "--config", "{dir}/file"], 78, "not valid JSON" },
        { "a config with an unknown field", ["agent", "--socket", "{dir}/a.sock", "-o", "{dir}/out", "--config", "{dir}/typo.json"], 78, "$.allowedUid: unknown field" },
        { "a socket group that does not exist", ["agent", "--socket", "{dir}/a.sock", "-o", "{dir}/out", "--config", "{dir}/group.json"], 78, "no such group" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void An_unusable_socket_output_or_config_stops_the_agent_before_it_listens(string desc, string[] args, int code, string word)
    {
        Directory.CreateDirectory(At("out"));
        File.WriteAllText(At("file"), "not json");
        File.WriteAllText(At("typo.json"), """{"allowedUid": [0]}""");
        File.WriteAllText(At("group.json"), """{"socketGroup": "no-such-group-here"}""");
        var r = CliProcess.Run(_dir.FullName, Wait, [.. args.Select(a => a.Replace("{dir}", _dir.FullName, StringComparison.Ordinal))]);
        output.WriteLine($"{desc}: exit {r.Exit}: {r.Err.Trim()}");
        Assert.Equal(code, r.Exit);
        Assert.Contains(word, r.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(At("a.sock")), "a socket was created");
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void A_second_agent_on_a_socket_in_use_exits_69_and_leaves_the_first_serving()
    {
        Directory.CreateDirectory(At("out"));
        using var first = StartAgent("--socket", At("a.sock"), "-o", At("out"));
        WaitForSocket(At("a.sock"));
        var second = CliProcess.Run(_dir.FullName, Wait, "agent", "--socket", At("a.sock"), "-o", At("out"));
        output.WriteLine(second.Err);
        Assert.Equal(69, second.Exit);
        Assert.Contains("another process accepts connections on it", second.Err, StringComparison.Ordinal);
        Assert.True(File.Exists(At("a.sock")));
        Terminate(first);
    }

    [Fact]
    public void SIGTERM_stops_the_agent_with_exit_0_and_removes_the_socket_and_each_event_is_one_log_line()
    {
        Directory.CreateDirectory(At("out"));
        using var agent = StartAgent("--socket", At("a.sock"), "-o", At("out"));
        WaitForSocket(At("a.sock"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(At("a.sock")));
        SendGarbage(At("a.sock"));
        var r = Terminate(agent);
        output.WriteLine(r.Err);
        Assert.Equal(0, r.Exit);
        Assert.False(File.Exists(At("a.sock")), "the socket was not removed");
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Collection(lines,
            l => Assert.Matches(@"^\d{4}-\d\d-\d\dT[\d:.]+Z listening: listening on .*a\.sock \(mode 0600, allowed uids 0, ", l),
            l => Assert.Matches(@"Z refused: refused connection \(peer pid \d+ uid 0\): payload \$: not valid JSON", l),
            l => Assert.Matches(@"Z stopped: stopped; removed ", l));
    }

    [Fact]
    public void With_format_json_each_event_is_one_JSON_line()
    {
        Directory.CreateDirectory(At("out"));
        using var agent = StartAgent("--socket", At("a.sock"), "-o", At("out"), "--format", "json", "--allow-uid", "0", "--allow-uid", "1000");
        WaitForSocket(At("a.sock"));
        SendGarbage(At("a.sock"));
        var r = Terminate(agent);
        Assert.Equal(0, r.Exit);
        var events = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["listening", "refused", "stopped"], events.Select(e => e.GetProperty("event").GetString()));
        Assert.Contains("allowed uids 0,1000", events[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("Payload", events[1].GetProperty("reason").GetString());
        Assert.Equal(0, events[1].GetProperty("peerUid").GetInt32());
    }

    [Fact]
    public void After_a_SIGKILL_the_stale_socket_is_replaced_by_the_next_agent()
    {
        Directory.CreateDirectory(At("out"));
        using (var killed = StartAgent("--socket", At("a.sock"), "-o", At("out")))
        {
            WaitForSocket(At("a.sock"));
            killed.Kill();
            killed.Wait();
        }
        Assert.True(File.Exists(At("a.sock")), "a SIGKILLed agent cannot remove its socket");
        using var next = StartAgent("--socket", At("a.sock"), "-o", At("out"));
        SendGarbage(At("a.sock")); // connects once the new agent accepts
        var r = Terminate(next);
        output.WriteLine(r.Err);
        Assert.Equal(0, r.Exit);
        Assert.Contains("listening on", r.Err, StringComparison.Ordinal);
        Assert.Contains("refused connection", r.Err, StringComparison.Ordinal);
    }

    private ChildProcess StartAgent(params string[] args) =>
        ChildProcess.Start(CliProcess.Path, ["agent", .. args], new ProcessOptions { WorkingDirectory = _dir.FullName, Timeout = TimeSpan.FromMinutes(1) });

    private static ProcessResult Terminate(ChildProcess agent)
    {
        Assert.Equal(0, ChildProcess.Run("/bin/kill", ["-TERM", agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]).Exit);
        return agent.Wait();
    }

    private static void WaitForSocket(string path)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!File.Exists(path))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the agent did not create {path}");
            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// Connects (retrying while nobody accepts: the agent is still starting, or the socket is a killed agent's) and
    /// sends a payload that is not JSON (complete, so it is refused at once), then waits for the agent to close.
    /// </summary>
    private static void SendGarbage(string path)
    {
        var deadline = DateTime.UtcNow + Wait;
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        while (true)
        {
            try
            {
                s.Connect(new UnixDomainSocketEndPoint(path));
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
        }
        s.Send(Encoding.UTF8.GetBytes("nonsense"));
        s.ReceiveTimeout = 10_000;
        Assert.Equal(0, s.Receive(new byte[1])); // the agent closed the connection
    }
}
