using System.Text;
using CsCheck;
using SeccompKit.Agent;
using SeccompKit.TestKit;

namespace SeccompKit.Tests.Agent;

/// <summary>
/// <see cref="AgentPayload.Parse"/>: the payloads runc, crun and podman really sent are accepted as they are; anything
/// else is refused with an <see cref="AgentPayloadException"/> naming the JSON path, and nothing (random mutations,
/// lone surrogates, invalid UTF-8) makes it throw anything else.
/// </summary>
public sealed class AgentPayloadSpecs
{
    private static readonly string SampleDir = Repo.Path("data", "agent-payloads");

    public static TheoryData<string, string, int, string?, string, int> Samples() => new()
    {
        // file, ociVersion, pid, metadata, id, annotation count
        { "payload-runc.raw", "1.0.2-dev", 6165, "hello-metadata", "r-notify", 0 },
        { "payload-crun.raw", "0.2.0", 5768, "hello-metadata", "c-notify", 0 },
        { "payload-podman-runc.raw", "1.0.2-dev", 11348, "from-podman", "7a1ac913d51dff51287fde41eb2aa7421450d159692d6115d3d7320211cabb64", 9 },
        { "payload-podman-crun.raw", "0.2.0", 11514, "from-podman", "feb2bed3810444e3f5f9b77e20898cc360b755938a6877bec72d9968f8aaaeec", 9 },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Every_payload_a_runtime_sent_is_accepted_as_it_is(string file, string ociVersion, int pid, string? metadata, string id, int annotations)
    {
        var bytes = File.ReadAllBytes(Path.Combine(SampleDir, file));
        Assert.Equal(bytes.Length, AgentPayload.CompleteLength(bytes) + (bytes[^1] == '\n' ? 1 : 0));
        var p = AgentPayload.Parse(bytes);
        Assert.Equal(ociVersion, p.OciVersion);
        Assert.Equal([AgentPayload.SeccompFdName], p.Fds);
        Assert.Equal(pid, p.Pid);
        Assert.Equal(pid, p.State.Pid);
        Assert.Equal(metadata, p.Metadata);
        Assert.Equal(id, p.State.Id);
        Assert.Equal("creating", p.State.Status);
        Assert.Equal(annotations, p.State.Annotations.Count);
    }

    private const string Valid = """{"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":42,"metadata":"learn","state":{"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":42,"bundle":"/b"}}""";

    public static TheoryData<string, string, string, string> Refused() => new()
    {
        // desc, payload, JSON path, a word of the problem
        { "empty", "", "$", "empty" },
        { "not JSON", "hello", "$", "not valid JSON" },
        { "an array", "[]", "$", "must be an object" },
        { "trailing garbage", Valid + "x", "$", "not valid JSON" },
        { "an unknown top-level field", Valid.Replace("\"pid\":42,", "\"pid\":42,\"extra\":1,", StringComparison.Ordinal), "$.extra", "unknown field" },
        { "a duplicate key", Valid.Replace("\"pid\":42,", "\"pid\":42,\"pid\":42,", StringComparison.Ordinal), "$.pid", "appears twice" },
        { "a duplicate key in state", Valid.Replace("\"id\":\"c1\",", "\"id\":\"c1\",\"id\":\"c2\",", StringComparison.Ordinal), "$.state.id", "appears twice" },
        { "no ociVersion", Valid.Replace("\"ociVersion\":\"1.0.2-dev\",\"fds\"", "\"fds\"", StringComparison.Ordinal), "$.ociVersion", "missing" },
        { "fds not an array", Valid.Replace("[\"seccompFd\"]", "\"seccompFd\"", StringComparison.Ordinal), "$.fds", "must be an array" },
        { "fds empty", Valid.Replace("[\"seccompFd\"]", "[]", StringComparison.Ordinal), "$.fds", "empty" },
        { "fds without seccompFd", Valid.Replace("[\"seccompFd\"]", "[\"other\"]", StringComparison.Ordinal), "$.fds", "does not name \"seccompFd\"" },
        { "a name twice in fds", Valid.Replace("[\"seccompFd\"]", "[\"seccompFd\",\"seccompFd\"]", StringComparison.Ordinal), "$.fds[1]", "named twice" },
        { "a number in fds", Valid.Replace("[\"seccompFd\"]", "[\"seccompFd\",3]", StringComparison.Ordinal), "$.fds[1]", "must be a string" },
        { "pid a string", Valid.Replace("\"pid\":42,\"metadata\"", "\"pid\":\"42\",\"metadata\"", StringComparison.Ordinal), "$.pid", "must be a process id" },
        { "pid 0", Valid.Replace("42", "0", StringComparison.Ordinal), "$.pid", "not a process id" },
        { "pid negative", Valid.Replace("42", "-5", StringComparison.Ordinal), "$.pid", "not a process id" },
        { "pid a fraction", Valid.Replace("42", "4.2", StringComparison.Ordinal), "$.pid", "not a process id" },
        { "pid beyond 32 bits", Valid.Replace("42", "4294967338", StringComparison.Ordinal), "$.pid", "not a process id" },
        { "pids that differ", Valid.Replace("\"pid\":42,\"bundle\"", "\"pid\":43,\"bundle\"", StringComparison.Ordinal), "$.pid", "$.state.pid is 43" },
        { "metadata a number", Valid.Replace("\"learn\"", "7", StringComparison.Ordinal), "$.metadata", "must be a string" },
        { "no state", Valid[..Valid.IndexOf(",\"state\"", StringComparison.Ordinal)] + "}", "$.state", "missing" },
        { "no bundle", Valid.Replace(",\"bundle\":\"/b\"", "", StringComparison.Ordinal), "$.state.bundle", "missing" },
        { "status running", Valid.Replace("creating", "running", StringComparison.Ordinal), "$.state.status", "\"running\"" },
        { "an id with a slash", Valid.Replace("\"c1\"", "\"a/b\"", StringComparison.Ordinal), "$.state.id", "not a safe container id" },
        { "an id ..", Valid.Replace("\"c1\"", "\"..\"", StringComparison.Ordinal), "$.state.id", "not a safe container id" },
        { "an id with a newline", Valid.Replace("\"c1\"", "\"c1\\n\"", StringComparison.Ordinal), "$.state.id", "not a safe container id" },
        { "an id of 129 characters", Valid.Replace("\"c1\"", "\"" + new string('a', 129) + "\"", StringComparison.Ordinal), "$.state.id", "not a safe container id" },
        { "annotations not strings", Valid.Replace("\"bundle\":\"/b\"", "\"bundle\":\"/b\",\"annotations\":{\"a\":1}", StringComparison.Ordinal), "$.state.annotations[\"a\"]", "must be a string" },
        { "a lone surrogate in the id", Valid.Replace("\"c1\"", "\"\\ud800\"", StringComparison.Ordinal), "$", "not valid Unicode" },
        { "a lone surrogate in a key", Valid.Replace("\"bundle\":\"/b\"", "\"bundle\":\"/b\",\"\\udc00\":1", StringComparison.Ordinal), "$", "not valid Unicode" },
        { "deeper than 8 levels", Valid.Replace("\"bundle\":\"/b\"", "\"bundle\":\"/b\",\"x\":[[[[[[[[1]]]]]]]]", StringComparison.Ordinal), "$", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void A_payload_that_breaks_a_rule_is_refused_with_its_JSON_path(string desc, string payload, string path, string word)
    {
        var e = Assert.Throws<AgentPayloadException>(() => AgentPayload.Parse(Encoding.UTF8.GetBytes(payload)));
        Assert.True(e.JsonPath == path, $"{desc}: path {e.JsonPath}, expected {path}: {e.Message}");
        Assert.Contains(word, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void State_may_carry_fields_the_agent_does_not_read_as_runtime_spec_allows()
    {
        var p = AgentPayload.Parse(Encoding.UTF8.GetBytes(Valid.Replace("\"bundle\":\"/b\"", "\"bundle\":\"/b\",\"created\":\"2026-01-01\"", StringComparison.Ordinal)));
        Assert.Equal("c1", p.State.Id);
    }

    [Fact]
    public void Invalid_UTF8_is_refused()
    {
        var bytes = Encoding.UTF8.GetBytes(Valid);
        int at = Valid.IndexOf("c1", StringComparison.Ordinal);
        bytes[at] = 0xff;
        var e = Assert.Throws<AgentPayloadException>(() => AgentPayload.Parse(bytes));
        Assert.Equal("$", e.JsonPath);
    }

    [Fact]
    public void A_payload_over_the_size_cap_is_refused_before_it_is_parsed()
    {
        var e = Assert.Throws<AgentPayloadException>(() => AgentPayload.Parse(new byte[AgentPayload.MaxSize + 1]));
        Assert.Contains("more than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_payload_with_annotations_of_Kubernetes_size_fits_the_cap()
    {
        // Kubernetes allows 256 KiB of annotations per pod; the cap must admit them.
        string big = new('x', 250 * 1024);
        var p = AgentPayload.Parse(Encoding.UTF8.GetBytes(Valid.Replace("\"bundle\":\"/b\"", $"\"bundle\":\"/b\",\"annotations\":{{\"k\":\"{big}\"}}", StringComparison.Ordinal)));
        Assert.Equal(big.Length, p.State.Annotations["k"].Length);
    }

    public static TheoryData<string, int> Prefixes() => new()
    {
        { "", -1 }, { "{", -1 }, { "{\"a\":", -1 }, { "{\"a\":\"x", -1 }, { "{\"a\":1}", 7 }, { "{\"a\":1}\n", 7 }, { "{\"a\":[1,{}]} {", 12 }, { "x", 1 },
    };

    [Theory]
    [MemberData(nameof(Prefixes))]
    public void CompleteLength_says_when_a_stream_holds_a_whole_JSON_value(string text, int expected) =>
        Assert.Equal(expected, AgentPayload.CompleteLength(Encoding.UTF8.GetBytes(text)));

    private static readonly byte[][] SampleBytes = [.. Directory.GetFiles(SampleDir, "*.raw").Order().Select(File.ReadAllBytes)];

    private static readonly byte[] Significant = [(byte)'"', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'\\', (byte)'u', (byte)'0', 0xff, 0xed, 0xa0, 0x80, (byte)'-', (byte)'9', (byte)'.'];

    /// <summary>Byte-level mutations of the real payloads: flips, deletions, insertions of JSON-significant bytes, truncation.</summary>
    private static readonly Gen<byte[]> Mutated =
        Gen.Select(Gen.Int[0, SampleBytes.Length - 1], Gen.Select(Gen.Int[0, 3], Gen.Int[0, 2000], Gen.Int[0, Significant.Length - 1].Select(i => Significant[i])).Array[1, 6])
            .Select((sample, edits) =>
            {
                var bytes = new List<byte>(SampleBytes[sample]);
                foreach (var (kind, where, value) in edits)
                {
                    if (bytes.Count == 0) break;
                    int i = where % bytes.Count;
                    switch (kind)
                    {
                        case 0: bytes[i] = value; break;
                        case 1: bytes.RemoveAt(i); break;
                        case 2: bytes.Insert(i, value); break;
                        default: bytes.RemoveRange(i, bytes.Count - i); break;
                    }
                }
                return bytes.ToArray();
            });

    [Fact]
    public void Mutated_payloads_are_accepted_or_refused_with_an_AgentPayloadException_never_anything_else() =>
        Mutated.Sample(bytes =>
        {
            try
            {
                var p = AgentPayload.Parse(bytes);
                // Whatever is accepted obeys the rules.
                Assert.Equal(p.Pid, p.State.Pid);
                Assert.Matches("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", p.State.Id);
                Assert.Contains(AgentPayload.SeccompFdName, p.Fds);
            }
            catch (AgentPayloadException e)
            {
                Assert.StartsWith("$", e.JsonPath, StringComparison.Ordinal);
            }
            _ = AgentPayload.CompleteLength(bytes); // never throws either
        }, iter: 20_000);

    /// <summary>Random strings (any UTF-16, lone surrogates included) put in every string position of a valid payload.</summary>
    [Fact]
    public void Any_string_in_any_field_is_accepted_or_refused_with_an_AgentPayloadException() =>
        Gen.Select(Gen.Int[0, 6], Gen.Char.Array[0, 40].Select(c => new string(c))).Sample((field, text) =>
        {
            string escaped = string.Concat(text.Select(c => $"\\u{(int)c:x4}"));
            string[] targets = ["\"1.0.2-dev\"", "\"seccompFd\"", "\"learn\"", "\"c1\"", "\"creating\"", "\"/b\"", "\"fds\""];
            string payload = Valid.Replace(targets[field], "\"" + escaped + "\"", StringComparison.Ordinal);
            try { AgentPayload.Parse(Encoding.UTF8.GetBytes(payload)); }
            catch (AgentPayloadException) { }
        }, iter: 5_000);
}
