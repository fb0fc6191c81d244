using System.Globalization;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Audit;

/// <summary>
/// One AUDIT_SECCOMP (type 1326) record: the kernel writes it when a filter returns KILL_PROCESS or
/// KILL_THREAD, and for every other action but ALLOW when the filter has FLAG_LOG (or returns LOG), as long as
/// the action is listed in <c>/proc/sys/kernel/seccomp/actions_logged</c>. Arguments are not in the record.
/// </summary>
/// <param name="Pid">The thread group (process) id, in the initial pid namespace.</param>
/// <param name="Comm">The thread's name.</param>
/// <param name="Exe">The executable path.</param>
/// <param name="Signal">The signal that follows (31 for a kill, 0 otherwise).</param>
/// <param name="AuditArch">The AUDIT_ARCH_* of the call.</param>
/// <param name="Syscall">The syscall number as the filter saw it.</param>
/// <param name="Compat">1 for a compat (32-bit) call.</param>
/// <param name="InstructionPointer">The address after the syscall instruction.</param>
/// <param name="Action">The action part of the filter's return value (the <c>code=</c> field; the kernel logs <c>ret &amp; SECCOMP_RET_ACTION_FULL</c>).</param>
public sealed record SeccompAuditRecord(int Pid, string Comm, string Exe, int Signal, uint AuditArch, int Syscall, int Compat, ulong InstructionPointer, uint Action)
{
    /// <summary>The architecture, when SeccompKit knows the AUDIT_ARCH value.</summary>
    public Architecture? Architecture =>
        Syscalls.Architecture.TryFromAuditArch(AuditArch, out var a)
            ? (a == Syscalls.Architecture.X86_64 && Syscall >= 0 && (Syscall & Syscalls.Architecture.X32SyscallBit) != 0 ? Syscalls.Architecture.X32 : a)
            : null;

    /// <summary>The syscall's name in <see cref="Architecture"/>'s table, or null.</summary>
    public string? SyscallName =>
        Architecture is { } a && a.Syscalls.TryGetName(Syscall, out var n) ? n : null;

    /// <summary>"personality (x86_64 135)" or "syscall 999 (arch 0x...)".</summary>
    public string Describe() => SyscallName is { } n
        ? $"{n} ({Architecture!.Name} syscall {Syscall})"
        : Architecture is { } a ? $"syscall {Syscall} ({a.Name}, not in SeccompKit's table)" : $"syscall {Syscall} (arch 0x{AuditArch:x8})";

    /// <summary>The action (KILL_PROCESS, ERRNO, ...). The record carries only the action, not its data (errno value).</summary>
    public string ActionName => Action switch
    {
        SeccompReturn.SECCOMP_RET_KILL_PROCESS => "KILL_PROCESS",
        _ => (Action & SeccompReturn.SECCOMP_RET_ACTION_FULL) switch
        {
            SeccompReturn.SECCOMP_RET_KILL_THREAD => "KILL_THREAD",
            SeccompReturn.SECCOMP_RET_TRAP => "TRAP",
            SeccompReturn.SECCOMP_RET_ERRNO => "ERRNO",
            SeccompReturn.SECCOMP_RET_USER_NOTIF => "USER_NOTIF",
            SeccompReturn.SECCOMP_RET_TRACE => "TRACE",
            SeccompReturn.SECCOMP_RET_LOG => "LOG",
            SeccompReturn.SECCOMP_RET_ALLOW => "ALLOW",
            _ => $"0x{Action:x8}",
        },
    };

    /// <summary>Is this a kill (KILL_PROCESS or KILL_THREAD)?</summary>
    public bool IsKill => Action == SeccompReturn.SECCOMP_RET_KILL_PROCESS || (Action & SeccompReturn.SECCOMP_RET_ACTION_FULL) == SeccompReturn.SECCOMP_RET_KILL_THREAD;

    /// <summary>
    /// Parses the text of a type 1326 record, as netlink delivers it
    /// (<c>audit(1795479598.787:49095): auid=... pid=19061 comm="kill" exe="/tmp/k/kill" sig=31 arch=c000003e syscall=110 compat=0 ip=0x7f12b3d0e829 code=0x80000000</c>)
    /// or as the kernel log shows it (prefixed <c>audit: type=1326 </c>). Returns null for any other text.
    /// </summary>
    public static SeccompAuditRecord? TryParse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && text[i] == ' ') i++;
            int eq = text.IndexOf('=', i);
            if (eq < 0) break;
            int keyStart = text.LastIndexOf(' ', eq) + 1;
            if (keyStart < i) keyStart = i;
            string key = text[keyStart..eq];
            int v = eq + 1;
            string value;
            if (v < text.Length && text[v] == '"')
            {
                int end = text.IndexOf('"', v + 1);
                if (end < 0) return null;
                value = text[(v + 1)..end];
                i = end + 1;
            }
            else
            {
                int end = text.IndexOf(' ', v);
                if (end < 0) end = text.Length;
                value = text[v..end];
                i = end;
            }
            fields[key] = value;
        }
        if (fields.TryGetValue("type", out var type) && type != "1326") return null;
        if (!fields.TryGetValue("pid", out var pid) || !fields.TryGetValue("syscall", out var nr) || !fields.TryGetValue("arch", out var arch) ||
            !fields.TryGetValue("code", out var code)) return null;
        try
        {
            return new SeccompAuditRecord(
                int.Parse(pid, CultureInfo.InvariantCulture),
                fields.GetValueOrDefault("comm", ""),
                fields.GetValueOrDefault("exe", ""),
                int.Parse(fields.GetValueOrDefault("sig", "0"), CultureInfo.InvariantCulture),
                uint.Parse(arch, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                // The kernel prints the number as a signed long: -1 and x32 numbers appear as they are.
                unchecked((int)long.Parse(nr, CultureInfo.InvariantCulture)),
                int.Parse(fields.GetValueOrDefault("compat", "0"), CultureInfo.InvariantCulture),
                ulong.Parse(StripHex(fields.GetValueOrDefault("ip", "0x0")), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                uint.Parse(StripHex(code), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return null;
        }
    }

    private static string StripHex(string s) => s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s;
}
