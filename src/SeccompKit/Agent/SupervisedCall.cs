using System.Collections.Immutable;
using System.Text.Json;

namespace SeccompKit.Agent;

/// <summary>What became of one supervised call.</summary>
public enum SupervisedResult
{
    /// <summary>The agent performed it (a node created, a filesystem mounted); the call returned 0.</summary>
    Performed,
    /// <summary>It was let run as the caller (a FIFO, a whiteout: no privilege needed, decided from registers only).</summary>
    Continued,
    /// <summary>The ruleset refused it; it failed with the ruleset's errno.</summary>
    Refused,
    /// <summary>The agent tried and the kernel refused (EEXIST, EACCES...); the call failed with that errno.</summary>
    Failed,
    /// <summary>The caller died or was interrupted before the agent acted; nothing was done.</summary>
    TargetGone,
}

/// <summary>One decision of a supervise session, as <c>OUTPUT/&lt;id&gt;.supervise.json</c> lists it.</summary>
/// <param name="Syscall">The syscall's name.</param>
/// <param name="Pid">The calling thread (agent's pid namespace).</param>
/// <param name="Path">The path or mount target, when read.</param>
/// <param name="Object">The device (<c>c 1:3</c>) or filesystem type and source (<c>tmpfs from none</c>), when known.</param>
/// <param name="Result">What happened.</param>
/// <param name="Errno">The errno the call failed with (0 when it did not fail).</param>
/// <param name="Reason">Why, in a few words (for refusals and failures).</param>
public sealed record SupervisedCall(string Syscall, int Pid, string? Path, string? Object, SupervisedResult Result, int Errno, string? Reason);

/// <summary>The content of <c>OUTPUT/&lt;id&gt;.supervise.json</c>: every decision of one container's supervise session.</summary>
/// <param name="ContainerId">The container id.</param>
/// <param name="Ruleset">The ruleset name.</param>
/// <param name="End">Why the session ended: "exited" or "agent-stopped".</param>
/// <param name="Calls">The decisions in order (at most <see cref="MaxCalls"/>).</param>
/// <param name="Dropped">Decisions beyond <see cref="MaxCalls"/>, counted but not listed.</param>
public sealed record SuperviseReport(string ContainerId, string Ruleset, string End, ImmutableArray<SupervisedCall> Calls, long Dropped)
{
    /// <summary>How many decisions a report lists (a container looping on refused calls must not exhaust the agent's memory).</summary>
    public const int MaxCalls = 10_000;

    /// <summary>The report as indented JSON (UTF-8).</summary>
    public byte[] ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("container", ContainerId);
            w.WriteString("ruleset", Ruleset);
            w.WriteString("end", End);
            w.WriteStartObject("counts");
            foreach (var g in Calls.GroupBy(c => c.Result).OrderBy(g => g.Key))
                w.WriteNumber(Name(g.Key), g.Count());
            w.WriteNumber("dropped", Dropped);
            w.WriteEndObject();
            w.WriteStartArray("calls");
            foreach (var c in Calls)
            {
                w.WriteStartObject();
                w.WriteString("syscall", c.Syscall);
                w.WriteNumber("pid", c.Pid);
                if (c.Path is not null) w.WriteString("path", c.Path);
                if (c.Object is not null) w.WriteString(c.Syscall == "mount" ? "filesystem" : "device", c.Object);
                w.WriteString("result", Name(c.Result));
                if (c.Errno != 0) w.WriteString("errno", Bpf.ErrnoNames.TryGetName(c.Errno, out var n) ? n : c.Errno.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (c.Reason is not null) w.WriteString("reason", c.Reason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>The JSON name of a result: performed, continued, refused, failed, target-gone.</summary>
    public static string Name(SupervisedResult r) => r switch
    {
        SupervisedResult.Performed => "performed",
        SupervisedResult.Continued => "continued",
        SupervisedResult.Refused => "refused",
        SupervisedResult.Failed => "failed",
        _ => "target-gone",
    };
}
