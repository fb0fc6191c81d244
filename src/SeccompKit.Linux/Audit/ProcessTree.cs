using System.Buffers.Binary;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;

namespace SeccompKit.Linux.Audit;

/// <summary>
/// Follows every fork below one process with the kernel's process-events connector (NETLINK_CONNECTOR,
/// CN_IDX_PROC; root), so that audit records of short-lived children can be attributed even after those
/// children have been reaped. Start it before the root process forks anything.
/// </summary>
public sealed class ProcessTree : IDisposable
{
    private const int NETLINK_CONNECTOR = 11;
    private const uint CN_IDX_PROC = 1, CN_VAL_PROC = 1;
    private const uint PROC_CN_MCAST_LISTEN = 1;
    private const uint PROC_EVENT_FORK = 1;
    private const uint PROC_EVENT_EXIT = 0x80000000;
    private const int MSG_DONTWAIT = 0x40;

    private readonly SafeFileDescriptorHandle _socket;
    private readonly HashSet<int> _members = [];
    private readonly List<(int Parent, int Child)> _early = [];
    private readonly List<(int Tgid, int Tid, int ExitCode)> _exits = [];
    private readonly object _socketGate = new();
    private readonly Thread _reader;
    private volatile bool _disposed;
    private int _root;

    private ProcessTree(SafeFileDescriptorHandle socket)
    {
        _socket = socket;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "process events reader" };
        _reader.Start();
    }

    /// <summary>Subscribes to process events; null (with the reason) when this process may not (needs CAP_NET_ADMIN, init netns).</summary>
    public static unsafe ProcessTree? TryOpen(out string whyNot)
    {
        int fd = Interop.Netlink.socket(Interop.Netlink.AF_NETLINK, Interop.Netlink.SOCK_DGRAM | Interop.Netlink.SOCK_CLOEXEC, NETLINK_CONNECTOR);
        if (fd < 0) { whyNot = $"process events: socket: {Errors.Last()}"; return null; }
        var handle = new SafeFileDescriptorHandle(fd);
        var addr = new Interop.Netlink.sockaddr_nl { nl_family = Interop.Netlink.AF_NETLINK, nl_groups = CN_IDX_PROC };
        // SAFETY: `addr` is a local sockaddr_nl, alive for the call.
        if (Interop.Netlink.bind(fd, &addr, (uint)sizeof(Interop.Netlink.sockaddr_nl)) != 0)
        {
            whyNot = $"process events: bind: {Errors.Last()}";
            handle.Dispose();
            return null;
        }
        // nlmsghdr (16) + struct cn_msg { cb_id { u32 idx, val }, u32 seq, u32 ack, u16 len, u16 flags } (20) + u32 op.
        byte* msg = stackalloc byte[40];
        // SAFETY: `msg` is 40 bytes of stack; every write below goes through a span of those 40 bytes (bounds-checked).
        new Span<byte>(msg, 40).Clear();
        var m = new Span<byte>(msg, 40);
        BinaryPrimitives.WriteUInt32LittleEndian(m, 40);                 // nlmsg_len
        BinaryPrimitives.WriteUInt16LittleEndian(m[4..], 3);             // NLMSG_DONE: the connector takes one message
        BinaryPrimitives.WriteUInt32LittleEndian(m[16..], CN_IDX_PROC);
        BinaryPrimitives.WriteUInt32LittleEndian(m[20..], CN_VAL_PROC);
        BinaryPrimitives.WriteUInt16LittleEndian(m[32..], 4);            // cn_msg.len
        BinaryPrimitives.WriteUInt32LittleEndian(m[36..], PROC_CN_MCAST_LISTEN);
        // SAFETY: 40 bytes of stack, alive for the call.
        if (Interop.Netlink.send(fd, msg, 40, 0) != 40)
        {
            whyNot = $"process events: subscribe: {Errors.Last()}";
            handle.Dispose();
            return null;
        }
        whyNot = "";
        return new ProcessTree(handle);
    }

    /// <summary>Sets the root (the process started after <see cref="TryOpen"/>); forks seen before this are kept and applied.</summary>
    public void SetRoot(int pid)
    {
        lock (_members)
        {
            _root = pid;
            _members.Add(pid);
            // Forks may have been read before the root was known: apply them in order.
            foreach (var (parent, child) in _early)
                if (_members.Contains(parent)) _members.Add(child);
            _early.Clear();
        }
    }

    /// <summary>Is <paramref name="pid"/> (a thread group id) the root or one of its descendants seen so far?</summary>
    public bool Contains(int pid)
    {
        lock (_members) return _members.Contains(pid);
    }

    /// <summary>
    /// Reads every event already queued, on the calling thread. The connector queues an event on the socket when
    /// it happens, so after the root has been reaped this makes the picture complete up to that moment.
    /// </summary>
    public void Sync()
    {
        while (ReceiveOne(MSG_DONTWAIT)) { }
    }

    /// <summary>
    /// Members (thread group id, thread id) whose thread ended by SIGSYS: seccomp kills (or unhandled TRAPs) below the
    /// root. Call <see cref="Sync"/> first.
    /// </summary>
    public IReadOnlyList<(int Tgid, int Tid)> SigsysExits()
    {
        lock (_members)
            return _exits.Where(e => (e.ExitCode & 0x7f) == 31 && _members.Contains(e.Tgid)).Select(e => (e.Tgid, e.Tid)).Distinct().ToList();
    }

    private readonly byte[] _buffer = new byte[8192];

    private unsafe bool ReceiveOne(int flags)
    {
        lock (_socketGate)
        {
            nint n;
            fixed (byte* p = _buffer)
            {
                // SAFETY: `p` is pinned; the kernel writes at most _buffer.Length bytes.
                n = Interop.Netlink.recv(_socket.Fd, p, (nuint)_buffer.Length, flags);
            }
            if (n <= 0) return false; // EAGAIN: nothing queued; ENOBUFS: events were lost
            Parse(_buffer.AsSpan(0, (int)n));
            return true;
        }
    }

    private unsafe void ReadLoop()
    {
        while (!_disposed)
        {
            // Holding a reference keeps the descriptor open (and its number ours) while poll uses it; Dispose does not
            // wait for this thread, the close happens when the reference is released.
            bool added = false;
            try { _socket.DangerousAddRef(ref added); }
            catch (ObjectDisposedException) { return; }
            try
            {
                var pfd = new Interop.Netlink.pollfd { fd = _socket.Fd, events = Interop.Netlink.POLLIN };
                // SAFETY: `pfd` is a local pollfd, alive for the call; the fd is kept open by the reference above.
                if (Interop.Netlink.poll(&pfd, 1, 200) > 0 && !_disposed) ReceiveOne(MSG_DONTWAIT);
            }
            finally
            {
                if (added) _socket.DangerousRelease();
            }
        }
    }

    private void Parse(ReadOnlySpan<byte> data)
    {
        // nlmsghdr (16) + cn_msg (20) + struct proc_event { u32 what; u32 cpu; u64 timestamp_ns; union {
        //   fork: { pid parent_pid, parent_tgid, child_pid, child_tgid } } }
        while (data.Length >= 16 + 20 + 16 + 16)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
            if (len < 16 || len > data.Length) return;
            var ev = data[36..];
            uint what = BinaryPrimitives.ReadUInt32LittleEndian(ev);
            if (what == PROC_EVENT_EXIT && ev.Length >= 32)
            {
                // exit: { pid process_pid, process_tgid; u32 exit_code (a wait status), exit_signal; ... } at offset 16.
                int tid = BinaryPrimitives.ReadInt32LittleEndian(ev[16..]);
                int tgid = BinaryPrimitives.ReadInt32LittleEndian(ev[20..]);
                int code = BinaryPrimitives.ReadInt32LittleEndian(ev[24..]);
                if ((code & 0x7f) == 31) lock (_members) _exits.Add((tgid, tid, code));
            }
            if (what == PROC_EVENT_FORK && ev.Length >= 32)
            {
                int parentTgid = BinaryPrimitives.ReadInt32LittleEndian(ev[20..]);
                int childTgid = BinaryPrimitives.ReadInt32LittleEndian(ev[28..]);
                lock (_members)
                {
                    if (_root == 0) _early.Add((parentTgid, childTgid));
                    else if (_members.Contains(parentTgid)) _members.Add(childTgid);
                }
            }
            int next = (len + 3) & ~3;
            if (next >= data.Length) return;
            data = data[next..];
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _socket.Dispose();
    }
}
