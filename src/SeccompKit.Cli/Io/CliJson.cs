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
[JsonSerializable(typeof(MergeReportJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

/// <summary><c>seccompkit compile --report-json</c>: the filter's lengths and one entry per ABI.</summary>
internal sealed record CompileReportJson(int Length, int KernelLength, ImmutableArray<AbiReportJson> Architectures);

/// <summary>One ABI of <see cref="CompileReportJson"/>; the fields of <see cref="Compiler.AbiReport"/>, the mean path rounded to 3 places.</summary>
internal sealed record AbiReportJson(string Arch, int Syscalls, double MeanPath, int WorstPath, string WorstSyscall,
    bool KernelCaches, ImmutableArray<string> Cached, ImmutableArray<string> CacheableByPolicy);

/// <summary>
/// <c>seccompkit merge --report-json</c>: the inputs, where the profile went (<c>output</c> null: standard output or not
/// written), its size, the emulation check and the merge's notes.
/// </summary>
internal sealed record MergeReportJson(ImmutableArray<string> Inputs, string? Output, string? Format, int Syscalls, int ConditionalSyscalls,
    ImmutableArray<string> Architectures, string DefaultAction, string BadArchAction, MergeVerificationJson Verification, ImmutableArray<MergeNoteJson> Notes);

/// <summary>How many calls were run through every compiled input and the merge, and on how many the merge did not mean the union.</summary>
internal sealed record MergeVerificationJson(bool Verified, long Inputs, long Mismatches, ImmutableArray<MergeMismatchJson> Examples);

/// <summary>One call on which the merge did not mean the union; <c>inputs</c> holds each input's action, null where it does not decide the call.</summary>
internal sealed record MergeMismatchJson(string? Arch, uint AuditArch, int Nr, string? Syscall, ImmutableArray<string> Args, string Merged,
    ImmutableArray<string?> Inputs, string Problem);

/// <summary>A note of the merge: where (a syscall, an architecture, <c>flags</c>...) and what.</summary>
internal sealed record MergeNoteJson(string Location, string Message);
