using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace SeccompKit.Cli.Io;

/// <summary>
/// The JSON documents the CLI serializes from objects, with System.Text.Json's source generator: no reflection
/// at run time, so the NativeAOT binary writes exactly what the JIT build writes. Every JSON document the CLI prints is
/// a record here (or a library record such as <see cref="Learning.LearnReport"/>): one style, no hand-written writers.
/// Absent fields are null with <see cref="JsonIgnoreCondition.WhenWritingNull"/>; fields that are null but present
/// (<c>"syscall": null</c>) have no attribute.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CompileReportJson))]
[JsonSerializable(typeof(MergeReportJson))]
[JsonSerializable(typeof(Learning.LearnReport))]
[JsonSerializable(typeof(CheckReportJson))]
[JsonSerializable(typeof(EmulateJson))]
[JsonSerializable(typeof(EmulateAllJson))]
[JsonSerializable(typeof(DumpJson))]
[JsonSerializable(typeof(FeaturesJson))]
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

/// <summary><c>seccompkit check --format json</c>: the verdict, each file's, and the stack's when several are too long together.</summary>
internal sealed record CheckReportJson(bool Accepted, ImmutableArray<CheckFilterJson> Filters,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StackError);

/// <summary>One file of <see cref="CheckReportJson"/>; <c>pc</c>, <c>rule</c> and <c>message</c> only when it is refused.</summary>
internal sealed record CheckFilterJson(string File, int Instructions, bool Accepted,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Pc,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Rule,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Message);

/// <summary><c>seccompkit emulate --format json</c>: the stack's result, the deciding filter's path, each filter's run, the input.</summary>
internal sealed record EmulateJson(uint Value, string Action, ushort Data, string Text, int Executed, ImmutableArray<int> Path, int Filter, bool Exempt,
    ImmutableArray<EmulateFilterJson> Filters, EmulateInputJson Input);

/// <summary>One FILE's own run in <see cref="EmulateJson"/>.</summary>
internal sealed record EmulateFilterJson(string File, uint Value, string Action, ushort Data, int Executed, ImmutableArray<int> Path);

/// <summary>The call emulated (<c>syscall</c> null when the arch's table has no such number).</summary>
internal sealed record EmulateInputJson(string Arch, uint AuditArch, int Nr, string? Syscall, ulong InstructionPointer, ImmutableArray<ulong> Args);

/// <summary><c>seccompkit emulate --all --format json</c>: every syscall of the arch.</summary>
internal sealed record EmulateAllJson(string Arch, uint AuditArch, ImmutableArray<EmulateAllSyscallJson> Syscalls);

/// <summary>One syscall of <see cref="EmulateAllJson"/>, and whether the kernel's action cache allows it without running the filters.</summary>
internal sealed record EmulateAllSyscallJson(int Nr, string Syscall, uint Value, string Action, ushort Data, string Text, bool Cached);

/// <summary><c>seccompkit dump --format json</c>; <c>thread</c> is absent when nothing was stopped.</summary>
internal sealed record DumpJson(int Pid, string Mode, int FilterCount, ImmutableArray<DumpFilterJson> Filters,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DumpThreadJson? Thread,
    ImmutableArray<DumpOtherThreadJson> ThreadsWithOtherFilterCounts);

/// <summary>One filter (index 0 = newest) of <see cref="DumpJson"/>.</summary>
internal sealed record DumpFilterJson(int Index, int Length, ImmutableArray<InstructionJson> Instructions);

/// <summary>One <c>struct sock_filter</c>.</summary>
internal sealed record InstructionJson(ushort Code, byte Jt, byte Jf, uint K);

/// <summary>The thread dump stopped: what it was doing, what was forecast and what happened.</summary>
internal sealed record DumpThreadJson(int Tid, string Name, string State, string Was, string Forecast, string Outcome, string Detail);

/// <summary>A thread under another filter stack than the one read.</summary>
internal sealed record DumpOtherThreadJson(int Tid, string Name, int Filters);

/// <summary><c>seccompkit features --format json</c>: actions and flags by kernel name, notification sizes (null before Linux 5.0).</summary>
internal sealed record FeaturesJson(string Kernel, Dictionary<string, bool> Actions, Dictionary<string, bool> Flags, NotifSizesJson? NotifSizes,
    ImmutableArray<string> ActionsLogged);

/// <summary>SECCOMP_GET_NOTIF_SIZES, named as the kernel's structs.</summary>
internal sealed record NotifSizesJson(
    [property: JsonPropertyName("seccomp_notif")] int Notif,
    [property: JsonPropertyName("seccomp_notif_resp")] int Response,
    [property: JsonPropertyName("seccomp_data")] int Data);
