using System.Diagnostics.CodeAnalysis;
using SeccompKit.Bpf;

namespace SeccompKit.Syscalls;

/// <summary>
/// Names for the disassembler and assembler: AUDIT_ARCH_* names as <c>include/uapi/linux/audit.h</c> spells
/// them, and syscall names from every architecture's table. x32 shares AUDIT_ARCH_X86_64 with x86_64, so an
/// arch value names x86_64 and x32 numbers (with <c>__X32_SYSCALL_BIT</c>) stay numeric.
/// </summary>
public sealed class SyscallSymbols : IBpfSymbols
{
    private static readonly Dictionary<uint, string> NameByValue = BuildNames();
    private static readonly Dictionary<string, uint> ValueByName =
        NameByValue.ToDictionary(p => p.Value, p => p.Key, StringComparer.OrdinalIgnoreCase);

    private static Dictionary<uint, string> BuildNames()
    {
        var d = new Dictionary<uint, string>();
        foreach (var arch in Architecture.All)
        {
            if (arch == Architecture.X32) continue; // same value as x86_64
            string kernelName = arch.Name switch
            {
                "x86" => "I386",
                "sh" => "SHEL", // audit.h: AUDIT_ARCH_SH is big-endian, AUDIT_ARCH_SHEL little-endian
                "sheb" => "SH",
                _ => arch.Name.ToUpperInvariant(),
            };
            d.TryAdd(arch.AuditArch, "AUDIT_ARCH_" + kernelName);
        }
        return d;
    }

    /// <inheritdoc />
    public bool TryGetArchName(uint auditArch, [MaybeNullWhen(false)] out string name) => NameByValue.TryGetValue(auditArch, out name);

    /// <inheritdoc />
    public bool TryGetArchValue(string name, out uint auditArch) => ValueByName.TryGetValue(name, out auditArch);

    /// <inheritdoc />
    public bool TryGetSyscallName(uint auditArch, int nr, [MaybeNullWhen(false)] out string name)
    {
        name = null;
        return Architecture.TryFromAuditArch(auditArch, out var arch) && arch.Syscalls.TryGetName(nr, out name);
    }

    /// <inheritdoc />
    public bool TryGetSyscallNumber(uint auditArch, string name, out int nr)
    {
        nr = 0;
        return Architecture.TryFromAuditArch(auditArch, out var arch) && arch.Syscalls.TryGetNumber(name, out nr);
    }
}
