using SeccompKit.Bpf;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.SafeHandles;
using Step = SeccompKit.Linux.Launch.StageWire.Step;

namespace SeccompKit.Linux.Launch;

/// <summary>
/// The parent's ends of the launcher's two channels to one stage two: the filter pipe (written once, then closed) and
/// the status socket (read until execve closes it). Speaks <see cref="StageWire"/>; owns both descriptors.
/// </summary>
internal sealed class StageChannel : IDisposable
{
    private readonly SandboxedProcess _process;
    private SafeFileDescriptorHandle? _filter;
    private SafeFileDescriptorHandle? _status;

    internal StageChannel(SandboxedProcess process, SafeFileDescriptorHandle filter, SafeFileDescriptorHandle status)
    {
        _process = process;
        _filter = filter;
        _status = status;
    }

    /// <summary>
    /// Writes the filter message and closes the pipe: stage two accepts the message only whole and followed by end of
    /// file. The whole message fits in the pipe (16 + 4096 × 8 bytes &lt; 64 KiB): the write does not wait for stage two.
    /// </summary>
    internal void SendFilter(BpfProgram filter, SeccompFilterFlags flags, bool setNoNewPrivileges)
    {
        var filterPipe = _filter ?? throw new InvalidOperationException("the filter was already sent");
        byte[] message = StageWire.EncodeFilter(flags, setNoNewPrivileges, filter.ToRaw());
        try { WriteAll(filterPipe, message); }
        catch (ErrnoException e) when (e.Errno == Errno.EPIPE)
        {
            // Stage two is gone before it read the filter (killed, e.g. by a SIGINT or SIGTERM sent to the process group).
            var status = _process.WaitForExit();
            throw new LaunchException(LaunchFailure.StageFailed,
                $"the launcher's stage two ended before it read the filter ({status.Describe()}); the program did not run", Errno.EPIPE, status.Signal);
        }
        finally
        {
            filterPipe.Dispose();
            _filter = null;
        }
    }

    /// <summary>
    /// Reads stage two's status records until the socket closes (execve succeeded) or a failure is reported.
    /// <paramref name="ready"/>: the Ready record was already read.
    /// </summary>
    internal void AwaitExec(SeccompFilterFlags flags, int filterLength, bool ready = false)
    {
        while (true)
        {
            var (record, passed) = ReadRecord();
            passed?.Dispose(); // only a Listener record carries a descriptor, and it is not awaited here
            if (record is not { } r)
            {
                if (ready) return; // closed by a successful execve
                var status = _process.WaitForExit();
                throw new LaunchException(LaunchFailure.StageFailed,
                    $"the launcher's stage two ended before installing the filter ({status.Describe()}) without saying why; the program did not run. " +
                    "If the stage command is an application of yours, its Main must begin with `if (StageTwo.RunIfRequested(args)) return 0;`",
                    stageSignal: status.Signal);
            }
            if (r.Step == Step.Ready)
            {
                ready = true;
                continue;
            }
            throw Failure(r, flags, filterLength);
        }
    }

    /// <summary>Reads stage two's records until the listener arrives (the filter is on, execve has not run yet).</summary>
    internal SafeFileDescriptorHandle AwaitListener(SeccompFilterFlags flags, int filterLength)
    {
        while (true)
        {
            var (record, passed) = ReadRecord();
            if (record is { Step: Step.Listener })
            {
                if (passed is not null) return passed;
                _process.Kill();
                _process.WaitForExit();
                throw new LaunchException(LaunchFailure.StageFailed, "the launcher's stage two announced the listener but no descriptor came with it; the program was stopped before it ran");
            }
            passed?.Dispose();
            if (record is not { } r)
            {
                var status = _process.WaitForExit();
                throw new LaunchException(LaunchFailure.StageFailed,
                    $"the launcher's stage two ended before handing over the listener ({status.Describe()}); the program did not run",
                    stageSignal: status.Signal);
            }
            if (r.Step == Step.Ready) continue;
            throw Failure(r, flags, filterLength);
        }
    }

    /// <summary>
    /// One status record and the descriptor that came with it (SCM_RIGHTS, close-on-exec), or no record at end of file.
    /// A malformed record stops stage two and throws: the program never runs after a protocol error.
    /// </summary>
    private unsafe (StageWire.Status? Record, SafeFileDescriptorHandle? Passed) ReadRecord()
    {
        var socket = _status ?? throw new InvalidOperationException("the status channel is closed");
        byte* record = stackalloc byte[StageWire.StatusSize];
        byte* control = stackalloc byte[Interop.Notify.CmsgSpaceOneFd];
        int got = 0;
        SafeFileDescriptorHandle? passed = null;
        try
        {
            while (got < StageWire.StatusSize)
            {
                var iov = new Interop.Notify.iovec { iov_base = record + got, iov_len = (nuint)(StageWire.StatusSize - got) };
                var msg = new Interop.Notify.msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = Interop.Notify.CmsgSpaceOneFd };
                // SAFETY: the record (StatusSize bytes, `got` of them filled: the iovec covers the rest), iovec, msghdr and
                // control buffer are stack memory alive for the call; MSG_CMSG_CLOEXEC makes a received descriptor
                // close-on-exec at once, so no program we start later inherits it. A retry after EINTR sends the same
                // msghdr: an interrupted recvmsg received nothing.
                var (n, e) = Errors.RetryEintr((socket, (nint)(&msg)), static a =>
                    Interop.Notify.recvmsg(a.socket.Fd, (Interop.Notify.msghdr*)a.Item2, Interop.Notify.MSG_CMSG_CLOEXEC));
                if (msg.msg_controllen >= (nuint)Interop.Notify.CmsgLenOneFd)
                {
                    // SAFETY: the kernel says (msg_controllen) that at least one cmsghdr and an int were written to `control`.
                    var cmsg = (Interop.Notify.cmsghdr*)control;
                    if (cmsg->cmsg_level == Interop.Notify.SOL_SOCKET && cmsg->cmsg_type == Interop.Notify.SCM_RIGHTS)
                    {
                        passed?.Dispose();
                        // SAFETY: the kernel wrote one int (the descriptor) right after the cmsghdr: CmsgLenOneFd says so.
                        passed = new SafeFileDescriptorHandle(*(int*)(control + sizeof(Interop.Notify.cmsghdr)));
                    }
                }
                if (n < 0) throw new ErrnoException("recvmsg(launcher status socket)", e, "");
                if (n == 0) break;
                got += (int)n;
            }
            if (got == 0)
            {
                passed?.Dispose();
                return (null, null);
            }
            var decoded = StageWire.DecodeStatus(new ReadOnlySpan<byte>(record, got));
            if (passed is not null && decoded.Step != Step.Listener)
            {
                passed.Dispose();
                passed = null;
            }
            return (decoded, passed);
        }
        catch (Exception e) when (e is StageProtocolException or ErrnoException)
        {
            passed?.Dispose();
            _process.Kill();
            _process.WaitForExit();
            throw new LaunchException(LaunchFailure.StageFailed,
                $"the launcher's stage two sent {(e is StageProtocolException ? e.Message : "nothing readable: " + e.Message)}; the program was stopped before it ran");
        }
    }

    private LaunchException Failure(StageWire.Status record, SeccompFilterFlags flags, int filterLength)
    {
        var errno = (Errno)record.Value;
        if (record.Step == Step.NotHandled)
        {
            // The process is the application itself, running its own code: stop it rather than wait for it to exit.
            _process.Kill();
            _process.WaitForExit();
            return new LaunchException(LaunchFailure.StageNotHandled, StageTwo.NotHandledMessage);
        }
        _process.WaitForExit();
        return record.Step switch
        {
            Step.NoNewPrivs => new LaunchException(LaunchFailure.NoNewPrivilegesDenied,
                $"prctl(PR_SET_NO_NEW_PRIVS) failed: {errno}; the program did not run. A security module (LSM) may forbid it here", errno),
            Step.Install => new LaunchException(LaunchFailure.FilterRefused,
                SeccompKernel.InstallError(errno, flags, filterLength).Message + "; the program did not run", errno),
            Step.Exec => new LaunchException(errno == Errno.ENOENT ? LaunchFailure.ProgramNotFound : LaunchFailure.ProgramNotExecutable,
                $"execve({_process.Path}) failed under the filter: {errno}" + (errno == Errno.EPERM || errno == Errno.EACCES
                    ? "; the policy may refuse execve (or a syscall the kernel makes for it): allow execve in the policy" : "") + "; the program did not run", errno),
            Step.Filter => new LaunchException(LaunchFailure.StageFailed, "the launcher's stage two did not receive a whole, valid filter; the program did not run"),
            Step.Handover => new LaunchException(LaunchFailure.StageFailed,
                $"the launcher's stage two could not hand the listener over: {errno}; the program did not run", errno),
            _ => new LaunchException(LaunchFailure.StageFailed, $"the launcher's stage two failed at step {record.Step}: {errno}; the program did not run", errno),
        };
    }

    private static unsafe void WriteAll(SafeFileDescriptorHandle fd, byte[] data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                // SAFETY: `p` is pinned for the whole loop and `done` < data.Length: we pass the remaining bytes only.
                var (n, e) = Errors.RetryEintr((fd, (nint)(p + done), (nuint)(data.Length - done)), static a =>
                    Interop.Proc.write(a.fd.Fd, (byte*)a.Item2, a.Item3));
                if (n < 0) throw new ErrnoException("write(filter pipe)", e, "");
                done += (int)n;
            }
        }
    }

    /// <summary>Closes whichever ends are still open (does not stop stage two: see <see cref="PendingLaunch"/>).</summary>
    public void Dispose()
    {
        _filter?.Dispose();
        _filter = null;
        _status?.Dispose();
        _status = null;
    }
}
