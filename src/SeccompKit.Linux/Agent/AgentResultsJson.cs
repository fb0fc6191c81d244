using System.Text.Json.Serialization;

namespace SeccompKit.Linux.Agent;

/// <summary>The result files' JSON (camelCase, indented), generated at build time so the library stays AOT-compatible.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ContainerLearnReport))]
[JsonSerializable(typeof(ContainerComplainReport))]
internal sealed partial class AgentResultsJson : JsonSerializerContext;
