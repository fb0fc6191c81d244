using System.Text;
using SeccompKit.Agent;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Supervise;
using SeccompKit.Syscalls;
using static SeccompKit.Linux.Interop.AgentSys;

namespace SeccompKit.Linux.Agent;

/// <summary>
/// The agent's handler for a <see cref="RulesetSpec"/>: mknod/mknodat of the ruleset's devices and mount by its mount rules,
/// performed by the agent inside the caller's root (mknod, as the caller) and mount namespace (mount); everything else fails
/// with the ruleset's errno. Decisions from registers alone (not a device, a device not allowed) read no memory, so a
/// FIFO or a whiteout may Continue; once a path was read the call is never continued (TOCTOU) but performed or refused.
/// </summary>
internal sealed unsafe class RulesetHandler : INotificationHandler, IDisposable
{
    private static readonly SyscallTable X64 = Architecture.X86_64.Syscalls;
    private static readonly int NrMknod = X64.GetNumber("mknod"), NrMknodat = X64.GetNumber("mknodat"), NrMount = X64.GetNumber("mount");

    private readonly RulesetSpec _spec;
    private readonly RulesetContext _context;
    private readonly Errno _errno;
    private readonly Lazy<ContainerActor> _actor;

    internal RulesetHandler(RulesetSpec spec, RulesetContext context)
    {
        _spec = spec;
        _context = context;
        _errno = (Errno)spec.Errno;
        // The acting thread is made at the first call that needs it: most containers never mknod.
        _actor = new Lazy<ContainerActor>(() => new ContainerActor("seccompkit agent actor " + context.Container.Id), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>A hook run after the handler opened the caller's /proc entries and before it checks the notification (tests kill the caller here).</summary>
    internal Action<SeccompNotification, NotificationContext>? BeforeValidation { get; init; }

    public NotificationResponse Handle(in SeccompNotification n, NotificationContext context)
    {
        string name = X64.TryGetName(n.Nr, out var s) ? s : n.Nr.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (n.Arch != Architecture.X86_64.AuditArch)
            return Refuse(n, name, null, null, "only x86_64 calls are handled");
        if (n.Nr == NrMknod && _spec.Devices is not null) return Mknod(n, context, name, null, 0);
        if (n.Nr == NrMknodat && _spec.Devices is not null) return Mknod(n, context, name, (int)n.Arg(0), 1);
        if (n.Nr == NrMount && _spec.Mounts is not null) return Mount(n, context);
        return Refuse(n, name, null, null, $"ruleset '{_spec.Name}' does not handle {name}");
    }

    private NotificationResponse Mknod(in SeccompNotification n, NotificationContext context, string syscall, int? dirfd, int first)
    {
        ulong mode = n.Arg(first + 1), dev = n.Arg(first + 2);
        var (verdict, device) = _spec.DecideMknod(mode, dev);
        string? obj = device?.ToString();
        switch (verdict)
        {
            case MknodVerdict.NotADevice:
            case MknodVerdict.Whiteout:
                _context.Record(new(syscall, n.Pid, null, obj, SupervisedResult.Continued, 0, verdict == MknodVerdict.Whiteout ? "whiteout: the kernel lets the caller make it" : "not a device"));
                return NotificationResponse.Continue;
            case MknodVerdict.Refuse:
                return Refuse(n, syscall, null, obj, $"{obj} is not in ruleset '{_spec.Name}'");
        }
        string? path = context.ReadString(n.Arg(first), 4096);
        if (path is null) return Failed(n, syscall, null, obj, Errno.EFAULT, "the path is unreadable or longer than 4095 bytes");
        if (path.Length == 0) return Failed(n, syscall, path, obj, Errno.ENOENT, "empty path");
        string trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0 || trimmed.Length != path.Length) return Failed(n, syscall, path, obj, ContainerActor.EEXIST, "the path names a directory");
        int slash = trimmed.LastIndexOf('/');
        string parent = slash < 0 ? "." : slash == 0 ? "/" : trimmed[..slash];
        string last = trimmed[(slash + 1)..];
        if (last is "." or "..") return Failed(n, syscall, path, obj, ContainerActor.EEXIST, "the path names a directory");
        bool absolute = path[0] == '/';
        using var view = CallerView.Open(n.Pid, absolute ? null : dirfd ?? AT_FDCWD, mountNamespace: false, credentials: true, out var openErrno);
        BeforeValidation?.Invoke(n, context);
        if (!context.IsValid()) return Gone(n, syscall, path, obj);
        if (view is null) return Failed(n, syscall, path, obj, openErrno, "the caller's directory could not be opened");
        var outcome = _actor.Value.Mknod(view.Root.Fd, (view.Base ?? view.Root).Fd, parent, last, (uint)mode, (uint)dev, view.Credentials!, context.IsValid);
        return Answer(n, syscall, path, obj, outcome);
    }

    private NotificationResponse Mount(in SeccompNotification n, NotificationContext context)
    {
        const string syscall = "mount";
        string? target = context.ReadString(n.Arg(1), 4096);
        if (target is null) return Failed(n, syscall, null, null, Errno.EFAULT, "the target is unreadable");
        string? fstype = n.Arg(2) == 0 ? null : context.ReadString(n.Arg(2), 256);
        string? source = n.Arg(0) == 0 ? null : context.ReadString(n.Arg(0), 4096);
        string? data = n.Arg(4) == 0 ? null : context.ReadString(n.Arg(4), 4096);
        string obj = $"{fstype ?? "(none)"} from {source ?? "none"}";
        var decision = _spec.DecideMount(new MountRequest(fstype, source, target, n.Arg(3), data));
        if (decision.Plan is not MountPlan plan) return Refuse(n, syscall, target, obj, decision.Refusal!);
        using var view = CallerView.Open(n.Pid, null, mountNamespace: true, credentials: false, out var openErrno);
        BeforeValidation?.Invoke(n, context);
        if (!context.IsValid()) return Gone(n, syscall, target, obj);
        if (view is null) return Failed(n, syscall, target, obj, openErrno, "the caller's /proc entries could not be opened");
        // The target is resolved in the caller's root with no symlink at all (so the rule's pattern means the real place) and
        // no magic link; RESOLVE_IN_ROOT keeps ".." in it (and there is none: the target is canonical).
        var how = new open_how { flags = (ulong)(O_PATH | O_DIRECTORY | O_CLOEXEC), resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS };
        byte[] t = Encoding.UTF8.GetBytes(target + "\0");
        int targetFd;
        fixed (byte* tp = t)
            // SAFETY: `tp` is a pinned NUL-terminated copy of the target and `how` a local, both alive for the call.
            targetFd = openat2(view.Root.Fd, tp, &how);
        if (targetFd < 0) return Failed(n, syscall, target, obj, Errors.Last(), "the target could not be resolved in the caller's root without symlinks");
        using var targetHandle = new SafeHandles.SafeFileDescriptorHandle(targetFd);
        var outcome = _actor.Value.Mount(plan, targetFd, view.MountNamespace!.Fd, context.IsValid);
        return Answer(n, syscall, target, obj, outcome);
    }

    private NotificationResponse Answer(in SeccompNotification n, string syscall, string path, string? obj, ActOutcome outcome)
    {
        switch (outcome.Result)
        {
            case SupervisedResult.Performed:
                _context.Record(new(syscall, n.Pid, path, obj, SupervisedResult.Performed, 0, null));
                return NotificationResponse.Return(0);
            case SupervisedResult.TargetGone:
                return Gone(n, syscall, path, obj);
            case SupervisedResult.Refused:
                return Refuse(n, syscall, path, obj, outcome.Reason!);
            default:
                return Failed(n, syscall, path, obj, outcome.Errno, outcome.Reason!);
        }
    }

    private NotificationResponse Refuse(in SeccompNotification n, string syscall, string? path, string? obj, string reason)
    {
        _context.Record(new(syscall, n.Pid, path, obj, SupervisedResult.Refused, (int)_errno, reason));
        return NotificationResponse.Fail(_errno);
    }

    private NotificationResponse Failed(in SeccompNotification n, string syscall, string? path, string? obj, Errno errno, string reason)
    {
        if ((int)errno is <= 0 or > 4095) errno = Errno.EPERM;
        _context.Record(new(syscall, n.Pid, path, obj, SupervisedResult.Failed, (int)errno, reason));
        return NotificationResponse.Fail(errno);
    }

    private NotificationResponse Gone(in SeccompNotification n, string syscall, string? path, string? obj)
    {
        _context.Record(new(syscall, n.Pid, path, obj, SupervisedResult.TargetGone, 0, "the caller died or was interrupted before the agent acted; nothing was done"));
        throw new TargetGoneException(n.Id, n.Pid);
    }

    public void Dispose()
    {
        if (_actor.IsValueCreated) _actor.Value.Dispose();
    }
}
