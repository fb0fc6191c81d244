using System.Runtime.InteropServices;
using System.Text;
using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.Notify;

namespace SeccompKit.Linux.Supervise;

/// <summary>
/// The target's memory is gone or no longer what the notification was about: the target died, or a signal
/// interrupted its syscall, between the notification and the read (NOTIF_ID_VALID failed). Nothing read may be
/// trusted; there is nobody left to answer.
/// </summary>
public sealed class TargetGoneException : SeccompException
{
    /// <summary>Creates the exception for notification <paramref name="id"/>.</summary>
    public TargetGoneException(ulong id, int pid)
        : base($"the target of notification {id} (thread {pid}) died or was interrupted while the supervisor read its memory; what was read is not trusted") { }
}

/// <summary>
/// What a handler may do besides answering: read the target's memory safely. One instance is reused for every
/// notification of a <see cref="NotificationSupervisor"/> (no allocation per notification).
/// </summary>
/// <remarks>
/// Every read goes through process_vm_readv(2) and is followed by NOTIF_ID_VALID (seccomp_unotify(2)): a pid can be
/// reused, and a target that died or was interrupted may have a different process behind its pid by the time we
/// read, so data is returned only once the notification is known to be still pending, else
/// <see cref="TargetGoneException"/>. A read marks the notification as inspected, after which the supervisor
/// refuses to answer it with <see cref="NotificationResponse.Continue"/> (the TOCTOU rule, see
/// <see cref="NotificationResponse"/>). <see cref="ReadForRecord"/> is the one exception, for recorders that
/// only log what they saw and never decide by it.
/// </remarks>
public sealed unsafe class NotificationContext
{
    private readonly NotificationListener _listener;
    private SeccompNotification _current;

    internal NotificationContext(NotificationListener listener) => _listener = listener;

    /// <summary>Did the handler read target memory for the current notification (so Continue is refused)?</summary>
    public bool MemoryWasRead { get; private set; }

    internal void Reset(in SeccompNotification notification)
    {
        _current = notification;
        MemoryWasRead = false;
    }

    /// <summary>
    /// Copies <paramref name="descriptor"/> into the target of the current notification without answering it
    /// (NOTIF_ADDFD): at <paramref name="targetFd"/> (SETFD, replacing what is there) or the lowest free number. Returns the
    /// number in the target; answer afterwards, e.g. <c>Return(number)</c>. For "open on the target's behalf" prefer
    /// <see cref="NotificationResponse.InjectFd"/>, which adds and answers atomically.
    /// </summary>
    public int AddFd(SafeHandles.SafeFileDescriptorHandle descriptor, int? targetFd = null, bool closeOnExec = true) =>
        _listener.AddFd(_current.Id, descriptor, targetFd, closeOnExec);

    /// <summary>Is the current notification still pending (NOTIF_ID_VALID)?</summary>
    public bool IsValid() => _listener.IsValid(_current.Id);

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes at <paramref name="address"/> in the target; returns how many
    /// were readable (fewer at an unmapped page). Throws <see cref="TargetGoneException"/> if the target is gone.
    /// Marks the notification inspected: it can no longer be answered with Continue.
    /// </summary>
    public int Read(ulong address, Span<byte> destination)
    {
        MemoryWasRead = true;
        return ReadChecked(address, destination);
    }

    /// <summary>
    /// Reads a NUL-terminated string (a path, a name) of at most <paramref name="maxBytes"/> bytes at
    /// <paramref name="address"/>. Returns null when the memory is unreadable or no NUL came within the limit.
    /// Marks the notification inspected. Allocates the string.
    /// </summary>
    public string? ReadString(ulong address, int maxBytes = 4096)
    {
        MemoryWasRead = true;
        byte[] buffer = new byte[maxBytes];
        int n = ReadChecked(address, buffer);
        int nul = Array.IndexOf(buffer, (byte)0, 0, n);
        return nul < 0 ? null : Encoding.UTF8.GetString(buffer, 0, nul);
    }

    /// <summary>Reads a struct of type <typeparamref name="T"/> at <paramref name="address"/>; false if not all of it is readable. Marks the notification inspected.</summary>
    public bool TryRead<T>(ulong address, out T value) where T : unmanaged
    {
        MemoryWasRead = true;
        T v = default;
        // SAFETY: `v` is an unmanaged local of sizeof(T) bytes, alive while the span is used (ReadChecked does not keep it).
        int n = ReadChecked(address, new Span<byte>(&v, sizeof(T)));
        value = v;
        return n == sizeof(T);
    }

    /// <summary>
    /// Reads target memory for recording only: unlike <see cref="Read"/> it does not mark the notification inspected,
    /// so the caller may still answer Continue. The caller promises that nothing read here decides the answer (a
    /// learner or an audit log may use it; a policy may not). Still checked with NOTIF_ID_VALID.
    /// </summary>
    public int ReadForRecord(ulong address, Span<byte> destination) => ReadChecked(address, destination);

    private int ReadChecked(ulong address, Span<byte> destination)
    {
        if (destination.IsEmpty) return 0;
        nint n;
        fixed (byte* p = destination)
        {
            var local = new iovec { iov_base = p, iov_len = (nuint)destination.Length };
            var remote = new iovec { iov_base = (void*)address, iov_len = (nuint)destination.Length };
            // SAFETY: `local` is the pinned destination span; `remote` is only an address in the target, which the kernel
            // checks (EFAULT for unmapped memory, never a fault here).
            n = process_vm_readv(_current.Pid, &local, 1, &remote, 1, 0);
        }
        var errno = n < 0 ? Errors.Last() : 0;
        // Check after the read (seccomp_unotify(2)): only if the notification is still pending was the pid still our target
        // during the read.
        if (!_listener.IsValid(_current.Id)) throw new TargetGoneException(_current.Id, _current.Pid);
        if (n >= 0) return (int)n;
        if (errno == Errno.EFAULT) return 0;
        if (errno == Errno.ESRCH) throw new TargetGoneException(_current.Id, _current.Pid);
        throw new ErrnoException("process_vm_readv", errno, errno == Errno.EPERM
            ? "the supervisor may not read the target's memory (it needs ptrace access: same user, or CAP_SYS_PTRACE)" : "");
    }
}
