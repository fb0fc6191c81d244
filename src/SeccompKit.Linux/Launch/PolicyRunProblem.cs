namespace SeccompKit.Linux.Launch;

/// <summary>Why a policy cannot run a program (<see cref="PolicyRunException"/>); found before anything runs.</summary>
public enum PolicyRunProblem
{
    /// <summary>The policy does not cover this machine's architecture: every syscall would get the bad-arch action.</summary>
    ArchitectureMissing,
    /// <summary>The policy sends syscalls to a supervisor (notify), which <see cref="PolicyRunner"/> does not provide.</summary>
    NeedsSupervisor,
    /// <summary>The policy refuses execve, so no program can start under it.</summary>
    ExecveRefused,
    /// <summary>The policy cannot be compiled to a filter (e.g. longer than the kernel's 4096 instructions).</summary>
    CompileFailed,
}
