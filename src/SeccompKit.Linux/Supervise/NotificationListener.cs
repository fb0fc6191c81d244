using System.Runtime.InteropServices;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.Notify;

namespace SeccompKit.Linux.Supervise;

/// <summary>What waiting on a listener found.</summary>
public enum ListenerEvent
{
    /// <summary>A notification is pending: receive it.</summary>
    Pending,
    /// <summary>No task uses the filter any more (POLLHUP): nothing will ever be notified again.</summary>
    Closed,
    /// <summary>The timeout passed with nothing to do.</summary>
    Timeout,
    /// <summary>The other descriptor waited on (a stop signal) became readable.</summary>
    Interrupted,
}

/// <summary>What one NOTIF_RECV gave.</summary>
internal enum ReceiveOutcome
{
    /// <summary>A notification.</summary>
    Received,
    /// <summary>ENOENT: the notification vanished, or no task uses the filter any more.</summary>
    Vanished,
    /// <summary>EINTR: a signal woke the receiving thread.</summary>
    Interrupted,
}

/// <summary>The outcome of answering a notification.</summary>
public enum SendResult
{
    /// <summary>The kernel took the answer; the target resumes with it.</summary>
    Sent,
    /// <summary>
    /// The notification no longer exists (ENOENT): the target was killed, or a signal interrupted its syscall (it
    /// will be restarted or fail with EINTR, and a restarted call is notified again with a new id).
    /// </summary>
    TargetGone,
}

/// <summary>
/// A seccomp user-notification listener: the descriptor a filter installed with NEW_LISTENER returns
/// (seccomp_unotify(2)). Receives notifications and answers them; safe to use from one receiving thread, while
/// <see cref="IsValid"/> may be called from any thread.
/// </summary>
/// <remarks>
/// The receive buffer is native memory of the size the kernel reports (GET_NOTIF_SIZES), zeroed before every
/// receive: the kernel requires a zeroed buffer (NOTIF_RECV fails with EINVAL otherwise) and a newer kernel may
/// have a larger struct than the 80 bytes this code reads.
/// </remarks>
public sealed unsafe class NotificationListener : IDisposable
{
    private readonly SafeFileDescriptorHandle _fd;
    private readonly int _notifSize;
    private readonly int _respSize;
    private void* _buffer;
    private bool _bufferFreed;

    /// <summary>Takes ownership of a listener descriptor (from <see cref="SeccompKernel.InstallFilter"/> or a launch).</summary>
    public NotificationListener(SafeFileDescriptorHandle listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (listener.IsInvalid || listener.IsClosed) throw new ArgumentException("the listener handle is closed or invalid", nameof(listener));
        HostSupport.EnsureSupported();
        _fd = listener;
        var sizes = KernelFeatures.GetNotifSizes();
        if (sizes.Notif < sizeof(seccomp_notif) || sizes.Response < sizeof(seccomp_notif_resp))
            throw new SeccompException($"this kernel's notification structs ({sizes.Notif}/{sizes.Response} bytes) are smaller than seccomp_unotify(2) documents (80/24); refusing to use them");
        if (sizes.Notif > 4096 || sizes.Response > 4096)
            throw new SeccompException($"this kernel's notification structs ({sizes.Notif}/{sizes.Response} bytes) are larger than a page; refusing to use them");
        _notifSize = sizes.Notif;
        _respSize = sizes.Response;
        _buffer = NativeMemory.AlignedAlloc((nuint)Math.Max(_notifSize, _respSize), 16);
    }

    /// <summary>The descriptor (for poll in a caller's own loop; do not close it).</summary>
    public SafeFileDescriptorHandle Handle => _fd;

    /// <summary>Whether SYNC_WAKE_UP is on (<see cref="TryEnableSyncWakeUp"/>).</summary>
    public bool SyncWakeUp { get; private set; }

    /// <summary>
    /// Asks the kernel to switch directly between target and supervisor (SECCOMP_IOCTL_NOTIF_SET_FLAGS with
    /// SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, Linux 6.6): much lower latency when the supervisor answers at once.
    /// Returns false on a kernel without it (EINVAL/ENOTTY).
    /// </summary>
    public bool TryEnableSyncWakeUp()
    {
        int r = Ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS, (void*)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
        if (r == 0) return SyncWakeUp = true;
        var e = Errors.Last();
        if (e is Errno.EINVAL or Errno.ENOTTY) return false;
        throw new ErrnoException("ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS)", e, "");
    }

    /// <summary>
    /// Waits until a notification is pending, every filtered task is gone, <paramref name="interruptFd"/> (if not -1)
    /// becomes readable, or <paramref name="timeoutMs"/> passes (-1: no timeout). Retries EINTR.
    /// </summary>
    public ListenerEvent Wait(int timeoutMs = -1, int interruptFd = -1)
    {
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            Interop.Netlink.pollfd* fds = stackalloc Interop.Netlink.pollfd[2];
            fds[0] = new Interop.Netlink.pollfd { fd = _fd.Fd, events = POLLIN };
            fds[1] = new Interop.Netlink.pollfd { fd = interruptFd, events = POLLIN };
            while (true)
            {
                // SAFETY: two pollfd structs on the stack (alive for the call, passed as their address); the kernel writes revents only.
                var (n, e) = Errors.RetryEintr(((nint)fds, interruptFd >= 0 ? 2UL : 1UL, timeoutMs),
                    static a => poll((Interop.Netlink.pollfd*)a.Item1, a.Item2, a.timeoutMs));
                if (n < 0) throw new ErrnoException("poll(listener)", e, "");
                if (n == 0) return ListenerEvent.Timeout;
                if (interruptFd >= 0 && fds[1].revents != 0) return ListenerEvent.Interrupted;
                // POLLIN wins over POLLHUP: a notification may still be pending when the last task exits... it cannot,
                // since a pending notification holds its task; but read what is there first regardless.
                if ((fds[0].revents & POLLIN) != 0) return ListenerEvent.Pending;
                if ((fds[0].revents & (POLLHUP | POLLERR)) != 0) return ListenerEvent.Closed;
                if ((fds[0].revents & POLLNVAL) != 0) throw new ObjectDisposedException(nameof(NotificationListener), "the listener descriptor is not open");
            }
        }
        finally
        {
            if (added) _fd.DangerousRelease();
        }
    }

    /// <summary>
    /// Receives one notification, waiting for one if none is pending. Returns false when the notification vanished
    /// before it could be read (ENOENT: its target was killed or interrupted); call again.
    /// </summary>
    public bool TryReceive(out SeccompNotification notification)
    {
        while (true)
        {
            switch (ReceiveOnce(_buffer, out notification))
            {
                case ReceiveOutcome.Received: return true;
                case ReceiveOutcome.Vanished: return false;
            }
        }
    }

    /// <summary>The size of the kernel's <c>struct seccomp_notif</c> (GET_NOTIF_SIZES): what a receive buffer must hold.</summary>
    internal int NotifSize => _notifSize;

    /// <summary>
    /// One NOTIF_RECV into <paramref name="buffer"/> (at least <see cref="NotifSize"/> bytes; zeroed here), blocking
    /// until a notification is pending. EINTR is returned as <see cref="ReceiveOutcome.Interrupted"/>, not retried: a
    /// supervisor is woken that way to stop. <see cref="ReceiveOutcome.Vanished"/> (ENOENT): the notification's target
    /// was interrupted or killed before it could be read, or (Linux 6.11+) no task uses the filter any more
    /// (<see cref="HasHungUp"/> tells which).
    /// </summary>
    internal ReceiveOutcome ReceiveOnce(void* buffer, out SeccompNotification notification)
    {
        int fd = AcquireDescriptor();
        try { return ReceiveOnce(fd, buffer, out notification); }
        finally { ReleaseDescriptor(); }
    }

    /// <summary>
    /// Takes a reference on the listener descriptor and returns its number, for a receive loop that then calls the
    /// <c>fd</c> overloads of <see cref="ReceiveOnce(int, void*, out SeccompNotification)"/> and <see cref="Send(int, ulong, in NotificationResponse)"/>
    /// without a reference count per call. The number stays valid (not closed, not reused) until
    /// <see cref="ReleaseDescriptor"/>; a <see cref="Dispose"/> meanwhile closes it only then.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The listener was closed.</exception>
    internal int AcquireDescriptor()
    {
        bool added = false;
        _fd.DangerousAddRef(ref added);
        return _fd.Fd;
    }

    /// <summary>Gives back the reference <see cref="AcquireDescriptor"/> took.</summary>
    internal void ReleaseDescriptor() => _fd.DangerousRelease();

    /// <summary><see cref="ReceiveOnce(void*, out SeccompNotification)"/> on <paramref name="fd"/>, which the caller holds (<see cref="AcquireDescriptor"/>).</summary>
    internal ReceiveOutcome ReceiveOnce(int fd, void* buffer, out SeccompNotification notification)
    {
        // NOTIF_RECV wants a zeroed buffer (seccomp_unotify(2)), also when it is tried again after EINTR.
        NativeMemory.Clear(buffer, (nuint)_notifSize);
        // SAFETY: `buffer` holds at least NotifSize bytes (the caller's contract); `fd` is held open by the caller.
        int r = Interop.Notify.ioctl_nolasterror(fd, SECCOMP_IOCTL_NOTIF_RECV, buffer);
        if (r != 0)
        {
            // Not retried on EINTR: a signal is how a supervisor thread is woken to stop (see the summary).
            var e = (Errno)Marshal.GetLastSystemError();
            notification = default;
            if (e == Errno.ENOENT) return ReceiveOutcome.Vanished;
            if (e == Errno.EINTR) return ReceiveOutcome.Interrupted;
            throw new ErrnoException("ioctl(SECCOMP_IOCTL_NOTIF_RECV)", e, "");
        }
        // SAFETY: `buffer` holds at least the kernel's seccomp_notif (sized from GET_NOTIF_SIZES), just filled by NOTIF_RECV;
        // the args span (6 u64) lies inside it and is copied by SeccompNotification before the buffer is reused.
        var n = (seccomp_notif*)buffer;
        notification = new SeccompNotification(n->id, (int)n->pid, n->nr, n->arch, n->instruction_pointer, new ReadOnlySpan<ulong>(n->args, 6));
        return ReceiveOutcome.Received;
    }

    /// <summary>Does the listener report POLLHUP (no task uses the filter any more)? Does not wait.</summary>
    internal bool HasHungUp()
    {
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            var fds = new Interop.Netlink.pollfd { fd = _fd.Fd, events = POLLIN };
            // SAFETY: one pollfd on the stack, alive for the call; timeout 0: poll only reports.
            var (n, e) = Errors.RetryEintr((nint)(&fds), static a => poll((Interop.Netlink.pollfd*)a, 1, 0));
            if (n < 0) throw new ErrnoException("poll(listener)", e, "");
            return (fds.revents & (POLLHUP | POLLERR)) != 0 && (fds.revents & POLLIN) == 0;
        }
        finally
        {
            if (added) _fd.DangerousRelease();
        }
    }

    /// <summary>Is notification <paramref name="id"/> still pending (its target alive and still in that syscall)? (NOTIF_ID_VALID)</summary>
    // SAFETY: `id` is a parameter (a local) that outlives the call; the kernel reads 8 bytes from it.
    public bool IsValid(ulong id) => Ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;

    /// <summary>Answers notification <paramref name="id"/> with <paramref name="response"/>.</summary>
    public SendResult Send(ulong id, in NotificationResponse response)
    {
        int fd = AcquireDescriptor();
        try { return Send(fd, id, response); }
        finally { ReleaseDescriptor(); }
    }

    /// <summary><see cref="Send(ulong, in NotificationResponse)"/> on <paramref name="fd"/>, which the caller holds (<see cref="AcquireDescriptor"/>).</summary>
    internal SendResult Send(int fd, ulong id, in NotificationResponse response)
    {
        if (response.Kind == ResponseKind.InjectFd)
        {
            int r = AddFd(id, response.Descriptor!, targetFd: null, response.CloseOnExec, send: true, out var e);
            return r >= 0 ? SendResult.Sent : e == Errno.ENOENT ? SendResult.TargetGone
                : throw new ErrnoException("ioctl(SECCOMP_IOCTL_NOTIF_ADDFD, SEND)", e, e == Errno.EINVAL ? "ADDFD with SEND needs Linux 5.14" : "");
        }
        seccomp_notif_resp resp = default;
        resp.id = id;
        switch (response.Kind)
        {
            case ResponseKind.Continue: resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE; break;
            case ResponseKind.Fail: resp.error = -(int)response.Errno; break;
            case ResponseKind.Return: resp.val = response.Value; break;
        }
        // SAFETY: `resp` is a local of the kernel's seccomp_notif_resp layout that outlives the call.
        return SendRaw(fd, &resp);
    }

    private SendResult SendRaw(int fd, seccomp_notif_resp* resp)
    {
        void* arg = resp;
        if (_respSize > sizeof(seccomp_notif_resp))
        {
            // A newer kernel's response struct is larger: send a zero-extended copy of ours (on this thread's stack, so
            // that several supervisor threads may answer at once; the size was bounded at construction).
            byte* copy = stackalloc byte[_respSize];
            new Span<byte>(copy, _respSize).Clear();
            *(seccomp_notif_resp*)copy = *resp;
            arg = copy;
        }
        // SAFETY: `arg` is the response (or its zero-extended copy) on this thread's stack, alive for the call; `fd` is held open by the caller.
        var (r, e) = Errors.IoctlRetryEintr(fd, SECCOMP_IOCTL_NOTIF_SEND, arg);
        if (r == 0) return SendResult.Sent;
        if (e == Errno.ENOENT) return SendResult.TargetGone;
        throw new ErrnoException("ioctl(SECCOMP_IOCTL_NOTIF_SEND)", e, e == Errno.EINPROGRESS ? "the notification was already answered" : "");
    }

    /// <summary>
    /// Copies <paramref name="descriptor"/> into the target of notification <paramref name="id"/> without answering it
    /// (SECCOMP_IOCTL_NOTIF_ADDFD, Linux 5.9): at <paramref name="targetFd"/> if given (SETFD, replacing what is there),
    /// else at the lowest free number. Returns the number in the target; the caller answers the notification after.
    /// </summary>
    public int AddFd(ulong id, SafeFileDescriptorHandle descriptor, int? targetFd = null, bool closeOnExec = true)
    {
        int r = AddFd(id, descriptor, targetFd, closeOnExec, send: false, out var e);
        if (r >= 0) return r;
        throw new ErrnoException("ioctl(SECCOMP_IOCTL_NOTIF_ADDFD)", e, e switch
        {
            Errno.ENOENT => "the target is gone (killed or interrupted)",
            Errno.EBADF => "the descriptor to inject is not open",
            Errno.EMFILE => "the target has no free descriptor (RLIMIT_NOFILE)",
            _ => "",
        });
    }

    private int AddFd(ulong id, SafeFileDescriptorHandle descriptor, int? targetFd, bool closeOnExec, bool send, out Errno errno)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        bool added = false;
        descriptor.DangerousAddRef(ref added);
        try
        {
            var addfd = new seccomp_notif_addfd
            {
                id = id,
                flags = (targetFd is not null ? SECCOMP_ADDFD_FLAG_SETFD : 0) | (send ? SECCOMP_ADDFD_FLAG_SEND : 0),
                srcfd = (uint)descriptor.Fd,
                newfd = (uint)(targetFd ?? 0),
                newfd_flags = closeOnExec ? 0x80000u /* O_CLOEXEC */ : 0,
            };
            // SAFETY: `addfd` is a local, alive for the call; its address is passed, not kept.
            (int r, errno) = Errors.RetryEintr((this, (nint)(&addfd)), static a => a.Item1.Ioctl(SECCOMP_IOCTL_NOTIF_ADDFD, (void*)a.Item2));
            return r;
        }
        finally
        {
            if (added) descriptor.DangerousRelease();
        }
    }

    private int Ioctl(ulong request, void* arg)
    {
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            // SAFETY: `arg` points at a struct of the request's size (or is the flag value for SET_FLAGS), alive for the call;
            // the AddRef keeps the descriptor number from being closed and reused meanwhile.
            return ioctl(_fd.Fd, request, arg);
        }
        finally
        {
            if (added) _fd.DangerousRelease();
        }
    }

    /// <summary>Closes the listener: pending and future notified syscalls of its filter fail with ENOSYS.</summary>
    public void Dispose()
    {
        _fd.Dispose();
        if (!_bufferFreed)
        {
            _bufferFreed = true;
            NativeMemory.AlignedFree(_buffer);
            _buffer = null;
        }
    }
}
