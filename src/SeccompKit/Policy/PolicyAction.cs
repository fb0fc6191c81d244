using SeccompKit.Bpf;

namespace SeccompKit.Policy;

/// <summary>
/// What a rule (or the default) does with a system call: one of the kernel's eight actions with its
/// 16-bit data. Validated at construction: ERRNO takes 0..4095 (the kernel caps larger values at
/// MAX_ERRNO, so they are refused here rather than silently changed), TRAP and TRACE take 0..65535,
/// the other actions carry no data.
/// </summary>
public readonly record struct PolicyAction
{
    private PolicyAction(SeccompAction kind, ushort data)
    {
        Kind = kind;
        Data = data;
    }

    /// <summary>The action.</summary>
    public SeccompAction Kind { get; }

    /// <summary>The data: errno for ERRNO, the value the tracer or SIGSYS handler sees for TRACE and TRAP.</summary>
    public ushort Data { get; }

    /// <summary>Kill the whole process (SECCOMP_RET_KILL_PROCESS).</summary>
    public static PolicyAction KillProcess { get; } = new(SeccompAction.KillProcess, 0);
    /// <summary>Kill the calling thread (SECCOMP_RET_KILL_THREAD; OCI's SCMP_ACT_KILL).</summary>
    public static PolicyAction KillThread { get; } = new(SeccompAction.KillThread, 0);
    /// <summary>Hand the call to a user-space supervisor (SECCOMP_RET_USER_NOTIF).</summary>
    public static PolicyAction UserNotif { get; } = new(SeccompAction.UserNotif, 0);
    /// <summary>Allow and log (SECCOMP_RET_LOG).</summary>
    public static PolicyAction Log { get; } = new(SeccompAction.Log, 0);
    /// <summary>Allow (SECCOMP_RET_ALLOW).</summary>
    public static PolicyAction Allow { get; } = new(SeccompAction.Allow, 0);

    /// <summary>Fail the call with <paramref name="errno"/> (0..4095).</summary>
    public static PolicyAction Errno(int errno)
    {
        if (errno is < 0 or > SeccompReturn.MAX_ERRNO)
            throw new PolicyException($"errno {errno} is out of range: the kernel returns at most MAX_ERRNO ({SeccompReturn.MAX_ERRNO}); use a value from 0 to 4095, e.g. EPERM (1) or ENOSYS (38).");
        return new(SeccompAction.Errno, (ushort)errno);
    }

    /// <summary>Send SIGSYS; <paramref name="data"/> (0..65535) reaches the handler in <c>si_errno</c>.</summary>
    public static PolicyAction Trap(int data = 0) => new(SeccompAction.Trap, CheckData(data, "TRAP"));

    /// <summary>Notify a ptrace tracer; <paramref name="data"/> (0..65535) is what PTRACE_GETEVENTMSG returns.</summary>
    public static PolicyAction Trace(int data = 0) => new(SeccompAction.Trace, CheckData(data, "TRACE"));

    /// <summary>Creates an action of any kind; <paramref name="data"/> must be 0 for actions without data.</summary>
    public static PolicyAction Of(SeccompAction kind, int data = 0) => kind switch
    {
        SeccompAction.Errno => Errno(data),
        SeccompAction.Trap => Trap(data),
        SeccompAction.Trace => Trace(data),
        _ when data != 0 => throw new PolicyException($"{ActionNames.Of(kind)} takes no data (got {data}); only ERRNO, TRAP and TRACE carry a value."),
        SeccompAction.KillProcess => KillProcess,
        SeccompAction.KillThread => KillThread,
        SeccompAction.UserNotif => UserNotif,
        SeccompAction.Log => Log,
        SeccompAction.Allow => Allow,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Reads a filter return value back as an action; false for values that are not one of the eight known actions.</summary>
    public static bool TryFromReturnValue(uint value, out PolicyAction action)
    {
        var r = new SeccompResult(value);
        action = default;
        if (!r.IsKnownAction) return false;
        if (r.Action == SeccompAction.Errno && r.Data > SeccompReturn.MAX_ERRNO) return false;
        if (r.Action is not (SeccompAction.Errno or SeccompAction.Trap or SeccompAction.Trace) && r.Data != 0) return false;
        action = new PolicyAction(r.Action, r.Data);
        return true;
    }

    private static ushort CheckData(int data, string name) =>
        data is >= 0 and <= 0xffff ? (ushort)data
            : throw new PolicyException($"{name} data {data} is out of range: it is 16 bits, 0..65535.");

    /// <summary>The 32-bit value a filter returns for this action.</summary>
    public uint ReturnValue => Kind switch
    {
        SeccompAction.KillProcess => SeccompReturn.SECCOMP_RET_KILL_PROCESS,
        SeccompAction.KillThread => SeccompReturn.SECCOMP_RET_KILL_THREAD,
        SeccompAction.Trap => SeccompReturn.SECCOMP_RET_TRAP,
        SeccompAction.Errno => SeccompReturn.SECCOMP_RET_ERRNO,
        SeccompAction.UserNotif => SeccompReturn.SECCOMP_RET_USER_NOTIF,
        SeccompAction.Trace => SeccompReturn.SECCOMP_RET_TRACE,
        SeccompAction.Log => SeccompReturn.SECCOMP_RET_LOG,
        SeccompAction.Allow => SeccompReturn.SECCOMP_RET_ALLOW,
        _ => throw new InvalidOperationException(),
    } | Data;

    /// <summary>
    /// Kernel precedence key: lower is more restrictive (the action bits read as signed 32-bit, as the
    /// kernel compares results of stacked filters).
    /// </summary>
    public int Precedence => unchecked((int)(ReturnValue & SeccompReturn.SECCOMP_RET_ACTION_FULL));

    /// <summary>True for actions that let the call run (ALLOW, LOG).</summary>
    public bool LetsCallRun => Kind is SeccompAction.Allow or SeccompAction.Log;

    /// <summary><c>ALLOW</c>, <c>ERRNO(EPERM)</c>, <c>TRAP(5)</c>...</summary>
    public override string ToString() => ActionNames.Format(ReturnValue);
}
