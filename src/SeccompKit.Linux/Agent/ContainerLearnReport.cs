using System.Collections.Immutable;
using System.Text.Json;
using SeccompKit.Learning;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// What the agent learned from one container (<c>OUTPUT/ID.report.json</c>, camelCase): how supervision ended, every
/// syscall recorded with the security-argument values seen, the replay check, what the runtime needs besides, and the
/// profile written (or why none was).
/// </summary>
/// <param name="Container">The container id.</param>
/// <param name="Runtime">The runtime that sent the listener ("runc", "crun"), or null.</param>
/// <param name="Target">The runtime version the profile is written for ("runc 1.1.5").</param>
/// <param name="End">"exited" (every task using the filter is gone) or "agentStopped" (the agent was stopped first).</param>
/// <param name="Complete">False when the agent stopped before the container exited: the profile holds only what it did until then.</param>
/// <param name="Received">When the agent received the container's listener.</param>
/// <param name="Finished">When supervision ended.</param>
/// <param name="Notifications">Calls notified and recorded.</param>
/// <param name="Syscalls">One entry per ABI and syscall number.</param>
/// <param name="Clone3Refused">How many clone3 calls were answered ENOSYS.</param>
/// <param name="Verified">Every recorded call replays as allowed through the profile (in the BPF interpreter).</param>
/// <param name="Replay">The replay check (null when nothing was recorded).</param>
/// <param name="RuntimeAdded">The runtime's own post-filter syscalls the container did not make, allowed for the runtime.</param>
/// <param name="Baseline">What the profile allows although the container did not make it.</param>
/// <param name="Notes">The synthesis's notes, and any about the target.</param>
/// <param name="PrivilegedExecs">Set-id and file-capability programs the container executed.</param>
/// <param name="ProfileFile">The profile written (<c>OUTPUT/ID.json</c>), or null.</param>
/// <param name="NotWritten">Why no profile was written (null when one was).</param>
/// <param name="Profile">The profile as OCI <c>linux.seccomp</c> JSON, or null.</param>
public sealed record ContainerLearnReport(
    string Container, string? Runtime, string Target, string End, bool Complete, DateTimeOffset Received, DateTimeOffset Finished,
    long Notifications, ImmutableArray<LearnReportSyscall> Syscalls, long Clone3Refused, bool Verified, LearnReportReplay? Replay,
    ImmutableArray<string> RuntimeAdded, ImmutableArray<BaselineSyscall> Baseline, ImmutableArray<string> Notes,
    ImmutableArray<LearnReportPrivilegedExec> PrivilegedExecs, string? ProfileFile, string? NotWritten, JsonElement? Profile);
