using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace SeccompKit.Cli.Io;

/// <summary>
/// The JSON documents the CLI serializes from objects, with System.Text.Json's source generator: no reflection
/// at run time, so the NativeAOT binary writes exactly what the JIT build writes. (Commands that stream their
/// output use <see cref="System.Text.Json.Utf8JsonWriter"/> directly and need no entry here.)
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CompileReportJson))]
[JsonSerializable(typeof(System.Text.Json.JsonElement))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

/// <summary><c>seccompkit compile --report-json</c>: the filter's lengths and one entry per ABI.</summary>
internal sealed record CompileReportJson(int Length, int KernelLength, ImmutableArray<AbiReportJson> Architectures);

/// <summary>One ABI of <see cref="CompileReportJson"/>; the fields of <see cref="Compiler.AbiReport"/>, the mean path rounded to 3 places.</summary>
internal sealed record AbiReportJson(string Arch, int Syscalls, double MeanPath, int WorstPath, string WorstSyscall,
    bool KernelCaches, ImmutableArray<string> Cached, ImmutableArray<string> CacheableByPolicy);
