using SeccompKit.Bpf;
using SeccompKit.Linux.Audit;
using SeccompKit.Policy;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// A process of a run (the program or a descendant) that died of SIGSYS, with what explains it: the kernel's audit record
/// (which syscall, which action) and what the run's policy decides for that syscall.
/// </summary>
/// <param name="Pid">The process (thread group id).</param>
/// <param name="IsProgram">The program itself (else a descendant).</param>
/// <param name="Record">The audit record naming the syscall; null when none came (no audit access, a SIGSYS sent by a
/// process, or a TRAP without a handler, which is logged only with SECCOMP_FILTER_FLAG_LOG).</param>
/// <param name="Decision">The policy's decision for that syscall, with zero arguments (the record has none); null without a record.</param>
public sealed record SeccompKill(int Pid, bool IsProgram, SeccompAuditRecord? Record, PolicyDecision? Decision)
{
    /// <summary>The syscall's name (or null: no record, or a number the tables do not know).</summary>
    public string? Syscall => Record?.SyscallName;

    /// <summary>The policy allows the syscall, so another filter of the stack killed it (the program's own, or one the launcher inherited).</summary>
    public bool ByAnotherFilter => Decision is { Action.Kind: SeccompAction.Allow or SeccompAction.Log };

    /// <summary>
    /// "personality (x86_64 syscall 135) at ip 0x…, action KILL_PROCESS; the rule `personality -> KILL_PROCESS` gives …",
    /// or null without a record.
    /// </summary>
    public string? Explanation => Record is not { } r || Decision is not { } d ? null
        : $"{r.Describe()} at ip 0x{r.InstructionPointer:x}, action {r.ActionName}; " + (ByAnotherFilter
            ? $"this policy allows it ({PolicyRunner.Because(d)}), so another filter of the stack killed it (the program's own, or one the launcher inherited)"
            : PolicyRunner.Because(d));
}
