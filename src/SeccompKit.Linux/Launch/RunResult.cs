using SeccompKit.Linux.Audit;

namespace SeccompKit.Linux.Launch;

/// <summary>How a program run under a policy ended (<see cref="PolicyRun.Wait"/>).</summary>
/// <param name="ProgramPath">The resolved path of the program.</param>
/// <param name="Pid">Its process id.</param>
/// <param name="Status">Its exit status or the signal that killed it.</param>
/// <param name="Kills">The seccomp kills explained: the program's first (when it died of SIGSYS), then its descendants'.</param>
/// <param name="Logged">With <see cref="RunOptions.Log"/>: the audit records of every logged action that was not a kill,
/// of the program and its descendants; else empty.</param>
/// <param name="AuditUnavailableReason">Why the audit log could not be read (no syscall can be named), or null.</param>
public sealed record RunResult(string ProgramPath, int Pid, ExitStatus Status, IReadOnlyList<SeccompKill> Kills,
    IReadOnlyList<SeccompAuditRecord> Logged, string? AuditUnavailableReason);
