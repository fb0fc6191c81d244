using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeccompKit.Learning;

/// <summary>
/// Everything a learning run found, as data for programs (<c>seccompkit learn --format json</c> writes it with camelCase
/// names, in this order): the command, how it ended, the calls recorded with the security-argument values seen, the
/// replay check, the notes and baseline of the synthesis, and the profile.
/// </summary>
/// <param name="Command">The program and its arguments.</param>
/// <param name="Exit">How it ended.</param>
/// <param name="Partial">
/// Learning ended early: seccompkit killed the program (a second Ctrl-C), or stopped waiting for descendants still
/// running. The profile then holds only what was done until then; false when the program and every descendant ended.
/// </param>
/// <param name="Seconds">From the start of the program to the end of learning, rounded to milliseconds.</param>
/// <param name="Notifications">Calls notified and recorded.</param>
/// <param name="SyncWakeUp">Whether the listener ran with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP.</param>
/// <param name="Syscalls">One entry per ABI and syscall number.</param>
/// <param name="Replay">The replay check.</param>
/// <param name="Notes">The synthesis's notes.</param>
/// <param name="Baseline">What the profile allows although the program did not make it.</param>
/// <param name="Clone3Refused">How many clone3 calls were answered ENOSYS.</param>
/// <param name="NoNewPrivileges">Whether the program ran under no_new_privs.</param>
/// <param name="PrivilegedExecs">Set-id and file-capability programs it executed.</param>
/// <param name="Profile">The learned profile as OCI <c>linux.seccomp</c> JSON.</param>
public sealed record LearnReport(
    ImmutableArray<string> Command, LearnReportExit Exit, bool Partial, double Seconds, long Notifications, bool SyncWakeUp,
    ImmutableArray<LearnReportSyscall> Syscalls, LearnReportReplay Replay, ImmutableArray<string> Notes,
    ImmutableArray<BaselineSyscall> Baseline, long Clone3Refused, bool NoNewPrivileges,
    ImmutableArray<LearnReportPrivilegedExec> PrivilegedExecs, JsonElement Profile)
{
    /// <summary>
    /// Notified calls that ended before they were answered (their thread killed, or interrupted by a signal before the
    /// supervisor received them, which the program sees as EINTR where the call natively is not interrupted). Written
    /// after <see cref="Profile"/>.
    /// </summary>
    public long VanishedNotifications { get; init; }
}

/// <summary>How the program ended: its exit code, or the signal that killed it (the other null).</summary>
/// <param name="Code">The exit code, or null.</param>
/// <param name="Signal">The signal number, or null.</param>
public sealed record LearnReportExit(int? Code, int? Signal);

/// <summary>One recorded syscall of <see cref="LearnReport"/>.</summary>
/// <param name="Abi">The ABI's name, or null for an unknown AUDIT_ARCH.</param>
/// <param name="Nr">The syscall number as the filter saw it.</param>
/// <param name="Name">The name, or null when the ABI's table has no such number.</param>
/// <param name="Count">Calls made.</param>
/// <param name="FirstPid">The thread that made the first.</param>
/// <param name="Arguments">The security arguments recorded; null (and left out) when none are.</param>
/// <param name="TooManyValues">With <paramref name="Arguments"/>: more distinct values than are kept (conditions dropped).</param>
/// <param name="Values">With <paramref name="Arguments"/>: the distinct masked values and how often each was seen.</param>
public sealed record LearnReportSyscall(
    string? Abi, int Nr, string? Name, long Count, int FirstPid,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableArray<RecordedArgument>? Arguments,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? TooManyValues,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableArray<LearnReportValues>? Values)
{
    /// <summary>The entry for <paramref name="s"/>.</summary>
    public static LearnReportSyscall From(LearnedSyscall s)
    {
        ArgumentNullException.ThrowIfNull(s);
        bool args = !s.Arguments.IsDefaultOrEmpty;
        return new(s.Abi?.Name, s.Nr, s.Name, s.Count, s.FirstPid, args ? s.Arguments : null, args ? s.TooManyValues : null,
            args ? [.. s.Values.Select(v => new LearnReportValues([.. Enumerable.Range(0, s.Arguments.Length).Select(i => v.Values[i])], v.Count))] : null);
    }
}

/// <summary>One distinct tuple of security-argument values.</summary>
/// <param name="Values">The masked values, one per recorded argument.</param>
/// <param name="Count">How many calls had them.</param>
public sealed record LearnReportValues(ImmutableArray<ulong> Values, long Count);

/// <summary>The replay check: distinct recorded calls replayed through the profile, and how many it refused.</summary>
/// <param name="Replayed">Calls replayed.</param>
/// <param name="Refused">Calls the profile refused (0 for a profile that may be written).</param>
public sealed record LearnReportReplay(int Replayed, int Refused);

/// <summary>A set-id or file-capability program the learned program executed.</summary>
/// <param name="Path">As passed to execve.</param>
/// <param name="Pid">The caller.</param>
/// <param name="SetUid">Set-user-ID.</param>
/// <param name="SetGid">Set-group-ID.</param>
/// <param name="FileCapabilities">Has file capabilities.</param>
/// <param name="Uid">The file's owner.</param>
/// <param name="Gid">The file's group.</param>
public sealed record LearnReportPrivilegedExec(string Path, int Pid, bool SetUid, bool SetGid, bool FileCapabilities, uint Uid, uint Gid);
