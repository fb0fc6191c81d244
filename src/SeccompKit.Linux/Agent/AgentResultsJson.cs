using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeccompKit.Linux.Agent;

/// <summary>The result files' JSON (camelCase, indented), generated at build time so the library stays AOT-compatible.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ContainerLearnReport))]
[JsonSerializable(typeof(ContainerComplainReport))]
internal sealed partial class AgentResultsJson : JsonSerializerContext
{
    /// <summary>
    /// The context the sessions write with: nulls left out (an OCI entry without errnoRet), and "+" or "&lt;" not
    /// escaped (a file for people and jq, not for embedding in HTML).
    /// </summary>
    public static AgentResultsJson Files { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
