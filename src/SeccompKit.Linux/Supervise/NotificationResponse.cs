using SeccompKit.Linux.SafeHandles;

namespace SeccompKit.Linux.Supervise;

/// <summary>What a supervisor answers for one notified syscall.</summary>
public enum ResponseKind
{
    /// <summary>Run the syscall for real (SECCOMP_USER_NOTIF_FLAG_CONTINUE). Refused after the handler read target memory.</summary>
    Continue,
    /// <summary>Fail the syscall with an errno; it does not run.</summary>
    Fail,
    /// <summary>Do not run the syscall; it returns a value the supervisor chose.</summary>
    Return,
    /// <summary>Put a descriptor of the supervisor's into the target and return its number as the syscall's result (ADDFD with SEND).</summary>
    InjectFd,
}

/// <summary>
/// A handler's answer. Made with <see cref="Continue"/>, <see cref="Fail"/>, <see cref="Return"/> or
/// <see cref="InjectFd"/>; a value type, so answering allocates nothing.
/// </summary>
/// <remarks>
/// The TOCTOU rule (seccomp_unotify(2), "Design goals; the use of SECCOMP_USER_NOTIF_FLAG_CONTINUE"): when the
/// kernel runs a continued syscall it reads the pointer arguments again, from memory the target (or another
/// thread of it) may have changed since the supervisor looked. So a decision that depended on memory behind a
/// pointer must never be <see cref="Continue"/>: the supervisor performs the operation itself and answers with
/// <see cref="Return"/> or <see cref="InjectFd"/>, or refuses with <see cref="Fail"/>. <see cref="NotificationSupervisor"/>
/// enforces it: after <see cref="NotificationContext"/> read target memory for the notification, a Continue is
/// answered with EPERM instead and reported as a handler fault.
/// </remarks>
public readonly struct NotificationResponse
{
    private NotificationResponse(ResponseKind kind, long value, Errno errno, SafeFileDescriptorHandle? fd, bool closeOnExec)
    {
        Kind = kind;
        Value = value;
        Errno = errno;
        Descriptor = fd;
        CloseOnExec = closeOnExec;
    }

    /// <summary>The kind of answer.</summary>
    public ResponseKind Kind { get; }

    /// <summary>For <see cref="ResponseKind.Return"/>: the syscall's return value.</summary>
    public long Value { get; }

    /// <summary>For <see cref="ResponseKind.Fail"/>: the errno the syscall fails with.</summary>
    public Errno Errno { get; }

    /// <summary>For <see cref="ResponseKind.InjectFd"/>: the supervisor's descriptor to copy into the target.</summary>
    public SafeFileDescriptorHandle? Descriptor { get; }

    /// <summary>For <see cref="ResponseKind.InjectFd"/>: set O_CLOEXEC on the target's copy.</summary>
    public bool CloseOnExec { get; }

    /// <summary>Let the syscall run as if no filter had stopped it. Never after a decision based on pointer arguments (see remarks).</summary>
    public static NotificationResponse Continue { get; } = new(ResponseKind.Continue, 0, 0, null, false);

    /// <summary>The syscall fails with <paramref name="errno"/> (1..4095) without running.</summary>
    public static NotificationResponse Fail(Errno errno) =>
        (int)errno is > 0 and <= 4095 ? new(ResponseKind.Fail, 0, errno, null, false)
        : throw new ArgumentOutOfRangeException(nameof(errno), (int)errno, "an errno response needs a value from 1 to 4095 (0 would mean success; use Return)");

    /// <summary>The syscall returns <paramref name="value"/> without running (it "succeeded" as far as the target knows).</summary>
    public static NotificationResponse Return(long value) => new(ResponseKind.Return, value, 0, null, false);

    /// <summary>
    /// Copies <paramref name="descriptor"/> into the target at its lowest free number and makes the syscall return that
    /// number, atomically (SECCOMP_ADDFD_FLAG_SEND, Linux 5.14): the way to answer open() or socket() on the target's behalf.
    /// </summary>
    public static NotificationResponse InjectFd(SafeFileDescriptorHandle descriptor, bool closeOnExec = true) =>
        new(ResponseKind.InjectFd, 0, 0, descriptor ?? throw new ArgumentNullException(nameof(descriptor)), closeOnExec);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ResponseKind.Fail => $"fail {Errno}",
        ResponseKind.Return => $"return {Value}",
        ResponseKind.InjectFd => $"inject fd {Descriptor?.Fd}",
        _ => "continue",
    };
}
