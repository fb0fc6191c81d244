using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using SeccompKit.Linux.Kernel;

namespace SeccompKit.Linux.Audit;

/// <summary>Where a <see cref="SeccompAuditLog"/> reads records from.</summary>
public enum AuditSource
{
    /// <summary>The audit netlink socket's read-only multicast group (AUDIT_NLGRP_READLOG, 3.16+, needs CAP_AUDIT_READ): every record, not rate limited, whether or not auditd runs.</summary>
    NetlinkMulticast,
    /// <summary><c>/dev/kmsg</c>: the kernel log, where records go when no audit daemon runs. Rate limited (printk_ratelimit), so records can be missing.</summary>
    KernelLog,
}

/// <summary>
/// Collects AUDIT_SECCOMP records in the background from the moment it is opened, so that a process
/// killed by seccomp can be told which syscall killed it. Open it before starting the process.
/// </summary>
public sealed class SeccompAuditLog : IDisposable
{
    private const int NETLINK_AUDIT = 9;
    private const int AUDIT_NLGRP_READLOG = 1;
    private const int AUDIT_SECCOMP = 1326;

    private readonly SafeHandles.SafeFileDescriptorHandle? _socket;
    private readonly SafeHandles.SafeFileDescriptorHandle? _kmsg;
    private readonly BlockingCollection<SeccompAuditRecord> _records = new();
    private readonly Thread _reader;
    private volatile bool _disposed;

    private SeccompAuditLog(SafeHandles.SafeFileDescriptorHandle? socket, SafeHandles.SafeFileDescriptorHandle? kmsg)
    {
        _socket = socket;
        _kmsg = kmsg;
        Source = socket is not null ? AuditSource.NetlinkMulticast : AuditSource.KernelLog;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "seccomp audit reader" };
        _reader.Start();
    }

    /// <summary>
    /// Decides on arrival (in the reader thread) whether a record is kept; null keeps all. Deciding early matters
    /// when the answer depends on processes that may be gone later.
    /// </summary>
    public Func<SeccompAuditRecord, bool>? Keep { get; set; }

    /// <summary>Which source this log reads.</summary>
    public AuditSource Source { get; }

    /// <summary>
    /// Opens the audit netlink multicast group, or else <c>/dev/kmsg</c>. Returns null, with the reasons in
    /// <paramref name="whyNot"/>, when neither can be read (not root, or no audit in this namespace).
    /// </summary>
    public static SeccompAuditLog? TryOpen(out string whyNot)
    {
        string netlinkError;
        int sock = Interop.Netlink.socket(Interop.Netlink.AF_NETLINK, Interop.Netlink.SOCK_RAW | Interop.Netlink.SOCK_CLOEXEC, NETLINK_AUDIT);
        if (sock < 0)
        {
            netlinkError = $"audit netlink socket: {Errors.Last()}";
        }
        else
        {
            var sockHandle = new SafeHandles.SafeFileDescriptorHandle(sock);
            var addr = new Interop.Netlink.sockaddr_nl { nl_family = Interop.Netlink.AF_NETLINK, nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1) };
            int r;
            unsafe
            {
                // SAFETY: `addr` is a local of the kernel's 12-byte sockaddr_nl layout, alive for the call.
                r = Interop.Netlink.bind(sock, &addr, (uint)sizeof(Interop.Netlink.sockaddr_nl));
            }
            if (r == 0)
            {
                whyNot = "";
                return new SeccompAuditLog(sockHandle, null);
            }
            netlinkError = $"audit netlink multicast: {Errors.Last()} (needs CAP_AUDIT_READ in the initial namespaces)";
            sockHandle.Dispose();
        }

        int fd = Interop.Proc.open("/dev/kmsg", Interop.Proc.O_RDONLY | Interop.Proc.O_NONBLOCK | Interop.Proc.O_CLOEXEC);
        if (fd < 0)
        {
            whyNot = $"{netlinkError}; /dev/kmsg: {Errors.Last()} (needs root, or kernel.dmesg_restrict=0)";
            return null;
        }
        var handle = new SafeHandles.SafeFileDescriptorHandle(fd);
        // Skip what is already in the ring buffer: only records from now on are ours.
        Interop.Proc.lseek(fd, 0, Interop.Proc.SEEK_END);
        whyNot = "";
        return new SeccompAuditLog(null, handle);
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for a record that <paramref name="match"/> accepts (records reach
    /// user space asynchronously, through the kauditd thread, a little after the event) and returns it; records
    /// that do not match are kept for later calls.
    /// </summary>
    public SeccompAuditRecord? WaitFor(Func<SeccompAuditRecord, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_seen)
            {
                foreach (var r in _seen) if (match(r)) return r;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return null;
            if (_records.TryTake(out var next, left))
                lock (_seen) _seen.Add(next);
        }
    }

    /// <summary>
    /// Waits until no record has arrived for <paramref name="quiet"/> (at most <paramref name="max"/>): records trail
    /// the events by a few milliseconds, so call this after the process ends and before <see cref="Drain"/>.
    /// </summary>
    public void Settle(TimeSpan quiet, TimeSpan max)
    {
        var deadline = DateTime.UtcNow + max;
        while (DateTime.UtcNow < deadline)
        {
            if (!_records.TryTake(out var next, quiet)) return;
            lock (_seen) _seen.Add(next);
        }
    }

    /// <summary>Every record received so far (including those <see cref="WaitFor"/> already saw).</summary>
    public IReadOnlyList<SeccompAuditRecord> Drain()
    {
        while (_records.TryTake(out var r)) lock (_seen) _seen.Add(r);
        lock (_seen) return _seen.ToList();
    }

    private readonly List<SeccompAuditRecord> _seen = [];

    private void ReadLoop()
    {
        var buffer = new byte[16384];
        var handle = (SafeHandles.SafeFileDescriptorHandle?)_socket ?? _kmsg!;
        while (!_disposed)
        {
            // Holding a reference keeps the descriptor open (and its number ours) while poll/read use it; Dispose does
            // not wait for this thread, the close happens when the reference is released.
            bool added = false;
            try { handle.DangerousAddRef(ref added); }
            catch (ObjectDisposedException) { return; }
            bool idle;
            try
            {
                if (_socket is not null)
                {
                    int n = ReceiveNetlink(buffer);
                    if (n > 0) ParseNetlink(buffer.AsSpan(0, n));
                    idle = false;
                }
                else
                {
                    idle = !ReadKmsg(buffer);
                }
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
            if (idle) Thread.Sleep(20);
        }
    }

    private void ParseNetlink(ReadOnlySpan<byte> data)
    {
        // struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; } then the record text; messages are 4-aligned.
        while (data.Length >= 16)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
            int type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
            if (len < 16 || len > data.Length) return;
            if (type == AUDIT_SECCOMP)
            {
                var text = Encoding.UTF8.GetString(data[16..len]).TrimEnd('\0', '\n');
                if (SeccompAuditRecord.TryParse(text) is { } record && (Keep?.Invoke(record) ?? true)) _records.Add(record);
            }
            int next = (len + 3) & ~3;
            if (next >= data.Length) return;
            data = data[next..];
        }
    }

    /// <summary>Waits up to 200 ms for a datagram; 0 when none came (or ENOBUFS: the socket overflowed and records were lost).</summary>
    private unsafe int ReceiveNetlink(byte[] buffer)
    {
        var pfd = new Interop.Netlink.pollfd { fd = _socket!.Fd, events = Interop.Netlink.POLLIN };
        // SAFETY: `pfd` is a local pollfd, alive for the call; one entry.
        if (Interop.Netlink.poll(&pfd, 1, 200) <= 0) return 0;
        fixed (byte* p = buffer)
        {
            // SAFETY: `p` is pinned for the call; the kernel writes at most buffer.Length bytes.
            return (int)Interop.Netlink.recv(_socket.Fd, p, (nuint)buffer.Length, 0);
        }
    }

    private unsafe bool ReadKmsg(byte[] buffer)
    {
        nint n;
        fixed (byte* p = buffer)
        {
            // SAFETY: `p` is pinned for the call and the kernel writes at most buffer.Length bytes (one record per read).
            n = Interop.Proc.read(_kmsg!.Fd, p, (nuint)buffer.Length);
        }
        if (n <= 0) return false; // EAGAIN (nothing new) or EPIPE (records overwritten): try again later.
        // "PRI,SEQ,TIME,FLAGS;audit: type=1326 audit(...): ... code=0x80000000\n"
        var line = Encoding.UTF8.GetString(buffer, 0, (int)n);
        int semi = line.IndexOf(';');
        var message = semi >= 0 ? line[(semi + 1)..] : line;
        message = message.Split('\n')[0];
        if (message.StartsWith("audit: type=1326 ", StringComparison.Ordinal) && SeccompAuditRecord.TryParse(message["audit: ".Length..]) is { } record
            && (Keep?.Invoke(record) ?? true))
            _records.Add(record);
        return true;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _socket?.Dispose();
        _kmsg?.Dispose();
    }
}
