using System.Diagnostics.CodeAnalysis;

namespace SeccompKit.Bpf;

/// <summary>
/// Names for the constants a seccomp program compares against: architectures (AUDIT_ARCH_*) and
/// syscall numbers per architecture. The Bpf layer knows nothing about syscalls (the Syscalls layer
/// implements this), so the disassembler and assembler take it as an optional service.
/// </summary>
public interface IBpfSymbols
{
    /// <summary>The name of an AUDIT_ARCH value, e.g. <c>AUDIT_ARCH_X86_64</c>.</summary>
    bool TryGetArchName(uint auditArch, [MaybeNullWhen(false)] out string name);

    /// <summary>The AUDIT_ARCH value of a name written by <see cref="TryGetArchName"/>.</summary>
    bool TryGetArchValue(string name, out uint auditArch);

    /// <summary>The syscall name for a number as seen in <c>seccomp_data.nr</c> under an arch.</summary>
    bool TryGetSyscallName(uint auditArch, int nr, [MaybeNullWhen(false)] out string name);

    /// <summary>The number in <c>seccomp_data.nr</c> for a syscall name under an arch.</summary>
    bool TryGetSyscallNumber(uint auditArch, string name, out int nr);
}
