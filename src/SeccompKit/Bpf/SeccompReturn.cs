namespace SeccompKit.Bpf;

#pragma warning disable CA1707 // Kernel names mirrored verbatim (include/uapi/linux/seccomp.h).

/// <summary>
/// The actions a seccomp filter can return (<c>include/uapi/linux/seccomp.h</c>). The high 16 bits
/// select the action, the low 16 bits are its data (errno, trap or trace value).
/// </summary>
public static class SeccompReturn
{
    /// <summary>Kill the whole process (since 4.14).</summary>
    public const uint SECCOMP_RET_KILL_PROCESS = 0x80000000;
    /// <summary>Kill the calling thread (the original <c>SECCOMP_RET_KILL</c>).</summary>
    public const uint SECCOMP_RET_KILL_THREAD = 0x00000000;
    /// <summary>Skip the call and send SIGSYS with <c>si_errno</c> = data.</summary>
    public const uint SECCOMP_RET_TRAP = 0x00030000;
    /// <summary>Skip the call and return <c>-data</c> (capped at 4095).</summary>
    public const uint SECCOMP_RET_ERRNO = 0x00050000;
    /// <summary>Let a user-space supervisor decide (since 5.0).</summary>
    public const uint SECCOMP_RET_USER_NOTIF = 0x7fc00000;
    /// <summary>Hand to a ptrace tracer (<c>PTRACE_EVENT_SECCOMP</c>); ENOSYS without one.</summary>
    public const uint SECCOMP_RET_TRACE = 0x7ff00000;
    /// <summary>Allow and log (since 4.14).</summary>
    public const uint SECCOMP_RET_LOG = 0x7ffc0000;
    /// <summary>Allow.</summary>
    public const uint SECCOMP_RET_ALLOW = 0x7fff0000;
    /// <summary>Mask of the action part, signed-compared for precedence.</summary>
    public const uint SECCOMP_RET_ACTION_FULL = 0xffff0000;
    /// <summary>Mask of the action part without the KILL_PROCESS bit.</summary>
    public const uint SECCOMP_RET_ACTION = 0x7fff0000;
    /// <summary>Mask of the data part.</summary>
    public const uint SECCOMP_RET_DATA = 0x0000ffff;

    /// <summary>Largest errno an ERRNO action can return (<c>MAX_ERRNO</c>); larger data is capped to it.</summary>
    public const int MAX_ERRNO = 4095;
}

/// <summary>The actions the kernel carries out, after unknown values are mapped to KILL_PROCESS.</summary>
public enum SeccompAction
{
    /// <summary>Kill the process.</summary>
    KillProcess,
    /// <summary>Kill the thread.</summary>
    KillThread,
    /// <summary>Send SIGSYS.</summary>
    Trap,
    /// <summary>Return an errno.</summary>
    Errno,
    /// <summary>Notify a supervisor.</summary>
    UserNotif,
    /// <summary>Notify a ptrace tracer.</summary>
    Trace,
    /// <summary>Allow and log.</summary>
    Log,
    /// <summary>Allow.</summary>
    Allow,
}

/// <summary>
/// A filter's 32-bit return value with the kernel's reading of it: which action runs, with what data.
/// </summary>
/// <param name="Value">The raw 32-bit value the program returned.</param>
public readonly record struct SeccompResult(uint Value)
{
    /// <summary>The action part (<c>value &amp; SECCOMP_RET_ACTION_FULL</c>).</summary>
    public uint ActionBits => Value & SeccompReturn.SECCOMP_RET_ACTION_FULL;

    /// <summary>The data part (low 16 bits).</summary>
    public ushort Data => (ushort)(Value & SeccompReturn.SECCOMP_RET_DATA);

    /// <summary>True when the action part is one the kernel knows; otherwise it acts as KILL_PROCESS.</summary>
    public bool IsKnownAction => ActionBits is SeccompReturn.SECCOMP_RET_KILL_PROCESS or SeccompReturn.SECCOMP_RET_KILL_THREAD
        or SeccompReturn.SECCOMP_RET_TRAP or SeccompReturn.SECCOMP_RET_ERRNO or SeccompReturn.SECCOMP_RET_USER_NOTIF
        or SeccompReturn.SECCOMP_RET_TRACE or SeccompReturn.SECCOMP_RET_LOG or SeccompReturn.SECCOMP_RET_ALLOW;

    /// <summary>
    /// The action the kernel carries out. <c>__seccomp_filter</c> switches on the action part and its
    /// <c>default:</c> branch kills the process, so unknown values act as KILL_PROCESS.
    /// </summary>
    public SeccompAction Action => ActionBits switch
    {
        SeccompReturn.SECCOMP_RET_KILL_THREAD => SeccompAction.KillThread,
        SeccompReturn.SECCOMP_RET_TRAP => SeccompAction.Trap,
        SeccompReturn.SECCOMP_RET_ERRNO => SeccompAction.Errno,
        SeccompReturn.SECCOMP_RET_USER_NOTIF => SeccompAction.UserNotif,
        SeccompReturn.SECCOMP_RET_TRACE => SeccompAction.Trace,
        SeccompReturn.SECCOMP_RET_LOG => SeccompAction.Log,
        SeccompReturn.SECCOMP_RET_ALLOW => SeccompAction.Allow,
        _ => SeccompAction.KillProcess,
    };

    /// <summary>The kernel's name of the action without <c>SECCOMP_RET_</c> (e.g. <c>ERRNO</c>), as carried out.</summary>
    public string ActionName => ActionNames.Of(Action);

    /// <summary>For ERRNO: the errno the system call returns (data capped at <see cref="SeccompReturn.MAX_ERRNO"/>).</summary>
    public int EffectiveErrno => Math.Min((int)Data, SeccompReturn.MAX_ERRNO);

    /// <summary>
    /// Precedence key: the kernel keeps the result whose action part, read as signed 32-bit, is lowest.
    /// </summary>
    public int PrecedenceKey => unchecked((int)ActionBits);

    /// <summary>Readable form: <c>ALLOW</c>, <c>ERRNO(EPERM)</c>, <c>TRAP(5)</c>, <c>KILL_PROCESS(unknown 0x12340000)</c>.</summary>
    public override string ToString() => ActionNames.Format(Value);
}

/// <summary>Names and formatting of seccomp actions.</summary>
public static class ActionNames
{
    /// <summary>The kernel's name (as in <c>/proc/sys/kernel/seccomp/actions_avail</c>, upper case).</summary>
    public static string Of(SeccompAction action) => action switch
    {
        SeccompAction.KillProcess => "KILL_PROCESS",
        SeccompAction.KillThread => "KILL_THREAD",
        SeccompAction.Trap => "TRAP",
        SeccompAction.Errno => "ERRNO",
        SeccompAction.UserNotif => "USER_NOTIF",
        SeccompAction.Trace => "TRACE",
        SeccompAction.Log => "LOG",
        SeccompAction.Allow => "ALLOW",
        _ => throw new ArgumentOutOfRangeException(nameof(action)),
    };

    /// <summary>Parses a name (case-insensitive, with or without <c>SECCOMP_RET_</c>; <c>KILL</c> means KILL_THREAD).</summary>
    public static bool TryParse(string name, out uint actionBits)
    {
        var n = name.Trim().ToUpperInvariant();
        if (n.StartsWith("SECCOMP_RET_", StringComparison.Ordinal)) n = n["SECCOMP_RET_".Length..];
        actionBits = n switch
        {
            "KILL_PROCESS" => SeccompReturn.SECCOMP_RET_KILL_PROCESS,
            "KILL_THREAD" or "KILL" => SeccompReturn.SECCOMP_RET_KILL_THREAD,
            "TRAP" => SeccompReturn.SECCOMP_RET_TRAP,
            "ERRNO" => SeccompReturn.SECCOMP_RET_ERRNO,
            "USER_NOTIF" => SeccompReturn.SECCOMP_RET_USER_NOTIF,
            "TRACE" => SeccompReturn.SECCOMP_RET_TRACE,
            "LOG" => SeccompReturn.SECCOMP_RET_LOG,
            "ALLOW" => SeccompReturn.SECCOMP_RET_ALLOW,
            _ => 1,
        };
        return actionBits != 1;
    }

    /// <summary>
    /// Formats a return value so that <see cref="TryParseValue"/> reads it back exactly:
    /// <c>ALLOW</c>, <c>ERRNO(EPERM)</c>, <c>ERRNO(4095)</c>, <c>TRAP(7)</c>, <c>0x12345678</c> for unknown actions.
    /// </summary>
    public static string Format(uint value)
    {
        var r = new SeccompResult(value);
        if (!r.IsKnownAction) return $"0x{value:x8}";
        var name = Of(r.Action);
        if (r.Data == 0 && r.Action != SeccompAction.Errno) return name;
        if (r.Action == SeccompAction.Errno)
            return ErrnoNames.TryGetName(r.Data, out var e) ? $"{name}({e})" : $"{name}({r.Data})";
        return $"{name}({r.Data})";
    }

    /// <summary>Parses what <see cref="Format"/> writes (also a plain number, decimal or 0x hex).</summary>
    public static bool TryParseValue(string text, out uint value)
    {
        var t = text.Trim();
        value = 0;
        if (TryParseNumber(t, out value)) return true;
        var open = t.IndexOf('(');
        string name = open < 0 ? t : t[..open];
        if (!TryParse(name, out var bits)) return false;
        uint data = 0;
        if (open >= 0)
        {
            if (!t.EndsWith(')')) return false;
            var inner = t[(open + 1)..^1].Trim();
            if (ErrnoNames.TryGetNumber(inner, out var en)) data = (uint)en;
            else if (!TryParseNumber(inner, out data) || data > 0xffff) return false;
        }
        value = bits | data;
        return true;
    }

    private static bool TryParseNumber(string t, out uint value)
    {
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return uint.TryParse(t.AsSpan(2), System.Globalization.NumberStyles.HexNumber, null, out value);
        return uint.TryParse(t, System.Globalization.NumberStyles.None, null, out value);
    }
}
