using System.Runtime.InteropServices;
using SeccompKit.Agent;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using static SeccompKit.Linux.Interop.Notify;
using Sock = SeccompKit.Linux.Interop.Socket;

namespace SeccompKit.Linux.Agent;

/// <summary>What a runtime sent on one connection: the payload bytes and the SCM_RIGHTS descriptors, in order.</summary>
/// <param name="Payload">The bytes of the payload (a complete JSON value, possibly with trailing whitespace).</param>
/// <param name="Descriptors">Every descriptor received, owned by the caller (each one must be used or disposed).</param>
/// <param name="Sender">The process that sent the first bytes (SCM_CREDENTIALS, vouched for by the kernel at sendmsg), or null if none came.</param>
internal sealed record ReceivedMessage(byte[] Payload, List<SafeFileDescriptorHandle> Descriptors, PeerCredentials? Sender) : IDisposable
{
    public void Dispose()
    {
        foreach (var d in Descriptors) d.Dispose();
    }
}

/// <summary>
/// Reads a runtime's one message from an accepted connection: SO_PEERCRED, then recvmsg with a bounded data buffer
/// and a control buffer for <see cref="AgentPayload.MaxFds"/> descriptors (MSG_CMSG_CLOEXEC, so no descriptor leaks into
/// a program the agent's sessions start), until the JSON is complete, with a deadline.
/// </summary>
/// <remarks>
/// A stream socket may split one sendmsg into several reads (the kernel ends a read at the buffer that carried the
/// descriptors, unix_stream_read_generic), so reading goes on while the JSON is incomplete, bounded by
/// <see cref="AgentPayload.MaxSize"/> and the deadline. Every descriptor received is owned from the moment recvmsg
/// returns, so a refusal at any later step closes them all.
/// </remarks>
internal static unsafe class ListenerReceiver
{
    private const int FirstBuffer = 16 * 1024;
    // CMSG_SPACE(MaxFds * sizeof(int)) = 16-byte header + 64 bytes of ints, plus CMSG_SPACE(sizeof(struct ucred)) = 32
    // for SCM_CREDENTIALS; twice that leaves room for anything else a peer adds (it is then MSG_CTRUNC, refused).
    private const int ControlSize = 2 * (16 + AgentPayload.MaxFds * sizeof(int) + 32);

    /// <summary>The credentials the kernel recorded for the peer at connect (socket(7) SO_PEERCRED).</summary>
    public static PeerCredentials PeerOf(SafeFileDescriptorHandle connection)
    {
        Sock.ucred cred = default;
        uint len = (uint)sizeof(Sock.ucred);
        // SAFETY: `cred` and `len` are locals alive for the call; the kernel writes at most `len` bytes.
        if (Sock.getsockopt(connection.Fd, SOL_SOCKET, Sock.SO_PEERCRED, &cred, &len) != 0)
            throw new ErrnoException("getsockopt(SO_PEERCRED)", Errors.Last(), "");
        return new PeerCredentials(cred.pid, cred.uid, cred.gid);
    }

    /// <summary>Receives the payload and descriptors, or refuses.</summary>
    /// <exception cref="ConnectionRefusedException">Timeout, early close, too large, truncated descriptors.</exception>
    public static ReceivedMessage Receive(SafeFileDescriptorHandle connection, TimeSpan timeout, int stopFd)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var fds = new List<SafeFileDescriptorHandle>();
        var buffer = new byte[FirstBuffer];
        int length = 0;
        PeerCredentials? sender = null;
        byte* control = stackalloc byte[ControlSize];
        try
        {
            while (true)
            {
                int left = (int)Math.Max(0, deadline - Environment.TickCount64);
                if (!WaitReadable(connection.Fd, stopFd, left))
                    throw new ConnectionRefusedException(RefusalReason.Timeout, length == 0
                        ? $"the peer sent nothing within {timeout.TotalSeconds:0.#} s of connecting"
                        : $"the peer sent {length} bytes of an incomplete payload and then nothing within {timeout.TotalSeconds:0.#} s");
                if (length == buffer.Length)
                {
                    if (buffer.Length > AgentPayload.MaxSize)
                        throw new ConnectionRefusedException(RefusalReason.Payload, $"the payload is larger than {AgentPayload.MaxSize} bytes");
                    Array.Resize(ref buffer, Math.Min(buffer.Length * 4, AgentPayload.MaxSize + 1));
                }
                int flags;
                nint n;
                fixed (byte* data = buffer)
                {
                    var iov = new iovec { iov_base = data + length, iov_len = (nuint)(buffer.Length - length) };
                    NativeMemory.Clear(control, ControlSize);
                    var msg = new msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = ControlSize };
                    // SAFETY: `msg`, `iov` are locals; iov points into the pinned `buffer` past the bytes read, with its remaining
                    // length; msg_control is the ControlSize stack buffer. All outlive the call.
                    (n, var e) = Errors.RetryEintr((connection.Fd, (nint)(&msg)), static a => recvmsg(a.Fd, (msghdr*)a.Item2, MSG_CMSG_CLOEXEC | Sock.MSG_DONTWAIT));
                    if (n < 0)
                    {
                        if (e == Errno.EAGAIN) continue;
                        throw new ConnectionRefusedException(RefusalReason.Closed, $"recvmsg failed: {new ErrnoException("recvmsg", e, "").Message}");
                    }
                    flags = msg.msg_flags;
                    // Take ownership of every descriptor before any check can throw.
                    var credentials = Collect(&msg, fds);
                    sender ??= credentials;
                }
                if ((flags & Sock.MSG_CTRUNC) != 0)
                    throw new ConnectionRefusedException(RefusalReason.Descriptors, $"the peer sent more descriptors than the {AgentPayload.MaxFds} the agent takes (MSG_CTRUNC; the kernel closed those that did not fit)");
                if ((flags & Sock.MSG_TRUNC) != 0)
                    throw new ConnectionRefusedException(RefusalReason.Payload, "the message was truncated (MSG_TRUNC)");
                if (n == 0)
                    throw new ConnectionRefusedException(RefusalReason.Closed, length == 0
                        ? "the peer closed the connection without sending a payload"
                        : $"the peer closed the connection after {length} bytes of an incomplete payload");
                length += (int)n;
                if (length > AgentPayload.MaxSize)
                    throw new ConnectionRefusedException(RefusalReason.Payload, $"the payload is larger than {AgentPayload.MaxSize} bytes");
                if (AgentPayload.CompleteLength(buffer.AsSpan(0, length)) >= 0)
                    return new ReceivedMessage(buffer[..length], fds, sender);
            }
        }
        catch
        {
            foreach (var d in fds) d.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes every SCM_RIGHTS descriptor of <paramref name="msg"/> and returns its SCM_CREDENTIALS, if any (cmsg(3):
    /// CMSG_FIRSTHDR/CMSG_NXTHDR by hand).
    /// </summary>
    private static PeerCredentials? Collect(msghdr* msg, List<SafeFileDescriptorHandle> fds)
    {
        PeerCredentials? credentials = null;
        byte* p = (byte*)msg->msg_control;
        byte* end = p + msg->msg_controllen;
        while (p + sizeof(cmsghdr) <= end)
        {
            // SAFETY: `p` lies within the control buffer the kernel filled (msg_controllen bytes), checked above for a whole header.
            var h = (cmsghdr*)p;
            if (h->cmsg_len < (nuint)sizeof(cmsghdr) || p + h->cmsg_len > end) break;
            if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
            {
                int count = (int)((h->cmsg_len - (nuint)sizeof(cmsghdr)) / sizeof(int));
                int* data = (int*)(p + sizeof(cmsghdr));
                for (int i = 0; i < count; i++) fds.Add(new SafeFileDescriptorHandle(data[i]));
            }
            else if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == Sock.SCM_CREDENTIALS && h->cmsg_len >= (nuint)(sizeof(cmsghdr) + sizeof(Sock.ucred)))
            {
                var c = (Sock.ucred*)(p + sizeof(cmsghdr));
                credentials = new PeerCredentials(c->pid, c->uid, c->gid);
            }
            p += (h->cmsg_len + 7) & ~(nuint)7; // CMSG_ALIGN
        }
        return credentials;
    }

    /// <summary>poll(2) for readable data, the stop descriptor, or the timeout; false on timeout or stop.</summary>
    private static bool WaitReadable(int fd, int stopFd, int timeoutMs)
    {
        var fds = stackalloc Interop.Netlink.pollfd[2];
        fds[0] = new Interop.Netlink.pollfd { fd = fd, events = POLLIN };
        fds[1] = new Interop.Netlink.pollfd { fd = stopFd, events = POLLIN };
        // SAFETY: two pollfd structs on the stack, alive for the call.
        var (n, e) = Errors.RetryEintr(((nint)fds, timeoutMs), static a => poll((Interop.Netlink.pollfd*)a.Item1, 2, a.timeoutMs));
        if (n < 0) throw new ErrnoException("poll(connection)", e, "");
        if (fds[1].revents != 0) throw new ConnectionRefusedException(RefusalReason.Stopping, "the agent is stopping");
        return n > 0;
    }
}
