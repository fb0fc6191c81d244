using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using SeccompKit.Agent;
using SeccompKit.Linux.Kernel;
using static SeccompKit.Linux.Interop.AgentSys;

namespace SeccompKit.Linux.Agent;

/// <summary>The caller's identity for filesystem work, from <c>/proc/TID/status</c> (ids as the agent's user namespace sees them).</summary>
/// <param name="FsUid">The caller's filesystem uid.</param>
/// <param name="FsGid">The caller's filesystem gid.</param>
/// <param name="Groups">Its supplementary groups.</param>
/// <param name="Umask">Its umask.</param>
/// <param name="EffectiveCapabilities">Its effective capability set (CapEff).</param>
/// <param name="SameUserNamespace">Is it in the agent's user namespace (so its capabilities mean the same as the agent's)?</param>
internal sealed record CallerCredentials(uint FsUid, uint FsGid, uint[] Groups, uint Umask, ulong EffectiveCapabilities, bool SameUserNamespace);

/// <summary>What an action on a container's behalf came to.</summary>
/// <param name="Result">Performed, Failed (kernel errno), Refused (a rule of ours), or TargetGone.</param>
/// <param name="Errno">The errno for Failed and Refused.</param>
/// <param name="Reason">Why, for Failed and Refused.</param>
internal readonly record struct ActOutcome(SupervisedResult Result, Errno Errno, string? Reason)
{
    internal static ActOutcome Done => new(SupervisedResult.Performed, 0, null);
    internal static ActOutcome Gone => new(SupervisedResult.TargetGone, 0, "the caller died or was interrupted before the agent acted");
    internal static ActOutcome Fail(Errno e, string why) => new(SupervisedResult.Failed, e, why);
}

/// <summary>
/// A dedicated thread that acts inside a container: it has its own filesystem context (unshare(CLONE_FS) at start, so its
/// root, cwd and umask are its own and setns(CLONE_NEWNS) is allowed: mntns_install refuses a thread sharing fs_struct) and
/// changes only its own credentials (setfsuid, setfsgid, setgroups and capset are per-thread syscalls; glibc's setgroups
/// wrapper would change every thread, so the raw syscalls are used). Every change is undone before the next request;
/// if undoing fails the actor refuses everything from then on (fail closed). No managed code runs after a fork: this is a
/// thread of the agent, not a child process.
/// </summary>
internal sealed unsafe class ContainerActor : IDisposable
{
    // errno values the Errno enum does not name (asm-generic/errno-base.h).
    internal const Errno EEXIST = (Errno)17, EXDEV = (Errno)18, ERANGE = (Errno)34, ENAMETOOLONG = (Errno)36, ELOOP = (Errno)40;

    private readonly BlockingCollection<Action> _work = [];
    private readonly Thread _thread;
    private int _agentRoot = -1, _agentMntNs = -1;
    private uint _fsuid, _fsgid;
    private uint[] _groups = [];
    private cap_data _caps0, _caps1;
    private Exception? _broken;

    internal ContainerActor(string name)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() => Loop(ready)) { IsBackground = true, Name = name };
        _thread.Start();
        ready.Task.GetAwaiter().GetResult();
    }

    private void Loop(TaskCompletionSource ready)
    {
        try
        {
            Setup();
            ready.SetResult();
        }
        catch (Exception e)
        {
            ready.SetException(e);
            return;
        }
        foreach (var work in _work.GetConsumingEnumerable()) work();
        if (_agentRoot >= 0) Interop.Proc.close(_agentRoot);
        if (_agentMntNs >= 0) Interop.Proc.close(_agentMntNs);
    }

    private void Setup()
    {
        Check(call(SYS_unshare, CLONE_FS), "unshare(CLONE_FS)");
        _agentRoot = Interop.Proc.open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (_agentRoot < 0) throw new ErrnoException("open(/)", Errors.Last(), "");
        _agentMntNs = Interop.Proc.open("/proc/thread-self/ns/mnt", O_CLOEXEC);
        if (_agentMntNs < 0) throw new ErrnoException("open(/proc/thread-self/ns/mnt)", Errors.Last(), "");
        // setfsuid(-1) changes nothing and returns the current fsuid (setfsuid(2)).
        _fsuid = (uint)call(SYS_setfsuid, -1);
        _fsgid = (uint)call(SYS_setfsgid, -1);
        int n = (int)Check(call(SYS_getgroups, 0, 0), "getgroups");
        _groups = new uint[n];
        fixed (uint* g = _groups)
            // SAFETY: `g` is a pinned array of exactly n gid_t (u32) for the kernel to fill.
            Check(syscall(SYS_getgroups, n, (long)g, 0, 0, 0), "getgroups");
        var header = new cap_header { version = _LINUX_CAPABILITY_VERSION_3 };
        cap_data* data = stackalloc cap_data[2];
        // SAFETY: `header` is a local, `data` two stack structs: the version-3 layout capget fills.
        Check(syscall(SYS_capget, (long)&header, (long)data, 0, 0, 0), "capget");
        _caps0 = data[0];
        _caps1 = data[1];
        if ((_caps0.permitted & (1u << CAP_MKNOD)) == 0)
            throw new SeccompException("the agent lacks CAP_MKNOD in its permitted set; a supervise ruleset that creates devices needs it (run the agent as root)");
    }

    /// <summary>Runs <paramref name="work"/> on the actor's thread and returns its result (or rethrows its exception).</summary>
    private T Invoke<T>(Func<T> work)
    {
        if (_broken is not null) throw new SeccompException("the agent's acting thread could not restore its own identity after an earlier action and refuses to act (see the inner exception)", _broken);
        T result = default!;
        Exception? error = null;
        using var done = new ManualResetEventSlim();
        _work.Add(() =>
        {
            try { result = work(); }
            catch (Exception e) { error = e; }
            finally { done.Set(); }
        });
        done.Wait();
        if (error is not null) ExceptionDispatchInfo.Throw(error);
        return result;
    }

    /// <summary>
    /// Creates device node <paramref name="name"/> in directory <paramref name="parent"/> as the caller would: the thread
    /// chroots into the caller's root (<paramref name="rootFd"/>, an open /proc/TID/root), takes the caller's cwd or dirfd
    /// (<paramref name="baseFd"/>) as its own, refuses a base outside that root (getcwd says "(unreachable)"), takes the
    /// caller's fsuid, fsgid, groups and umask and only CAP_MKNOD beyond the caller's own capabilities, resolves
    /// <paramref name="parent"/> with openat2(RESOLVE_NO_MAGICLINKS): the kernel's own walk, with ".." and absolute symlinks
    /// confined to the caller's root, and then mknodat in it, if <paramref name="stillValid"/> (the notification is still
    /// pending) right before.
    /// </summary>
    internal ActOutcome Mknod(int rootFd, int baseFd, string parent, string name, uint mode, uint dev, CallerCredentials caller, Func<bool> stillValid) =>
        Invoke(() =>
        {
            Check(call(SYS_fchdir, rootFd), "fchdir(caller root)");
            try
            {
                Check(ChrootDot(), "chroot(caller root)");
                Check(call(SYS_fchdir, baseFd), "fchdir(caller base directory)");
                if (!CwdReachable(out var cwdErrno))
                    return cwdErrno != 0 ? ActOutcome.Fail(cwdErrno, "the caller's working directory is gone")
                        : new ActOutcome(SupervisedResult.Refused, EXDEV, "the directory the path is relative to is outside the caller's root");
                uint oldUmask = (uint)call(SYS_umask, caller.Umask);
                try
                {
                    BecomeCaller(caller);
                    try
                    {
                        byte[] p = Utf8Z(parent), n = Utf8Z(name);
                        var how = new open_how { flags = (ulong)(O_PATH | O_DIRECTORY | O_CLOEXEC), resolve = RESOLVE_NO_MAGICLINKS };
                        int dirfd;
                        fixed (byte* pp = p)
                            // SAFETY: `pp` is a pinned NUL-terminated UTF-8 copy and `how` a local, both alive for the call.
                            dirfd = openat2(AT_FDCWD, pp, &how);
                        if (dirfd < 0)
                        {
                            var e = Errors.Last();
                            return ActOutcome.Fail(e, $"resolving '{parent}' in the caller's root failed");
                        }
                        try
                        {
                            // The last check before acting (seccomp_unotify(2)): everything used was opened while the caller
                            // was alive and still in this call; only a death after this line can race the mknod, and it
                            // can only create what the live caller asked for, where it asked.
                            if (!stillValid()) return ActOutcome.Gone;
                            int r;
                            fixed (byte* np = n)
                                // SAFETY: `np` is a pinned NUL-terminated UTF-8 name, alive for the call.
                                r = mknodat(dirfd, np, mode, dev);
                            return r == 0 ? ActOutcome.Done : ActOutcome.Fail(Errors.Last(), "mknodat failed");
                        }
                        finally
                        {
                            Interop.Proc.close(dirfd);
                        }
                    }
                    finally
                    {
                        BecomeAgent();
                    }
                }
                finally
                {
                    call(SYS_umask, oldUmask);
                }
            }
            finally
            {
                RestoreRoot();
            }
        });

    /// <summary>
    /// Mounts <paramref name="plan"/> on <paramref name="targetFd"/> (a directory in the caller's mount namespace): the
    /// filesystem is created detached with fsopen/fsconfig/fsmount, then the thread enters the caller's mount namespace
    /// (<paramref name="mntNsFd"/>) only for move_mount, which attaches only in the caller's own namespace (check_mnt).
    /// </summary>
    internal ActOutcome Mount(MountPlan plan, int targetFd, int mntNsFd, Func<bool> stillValid) =>
        Invoke(() =>
        {
            int fs;
            fixed (byte* t = Utf8Z(plan.FsType))
                // SAFETY: `t` is a pinned NUL-terminated filesystem type name, alive for the call.
                fs = (int)syscall(SYS_fsopen, (long)t, FSOPEN_CLOEXEC, 0, 0, 0);
            if (fs < 0) return ActOutcome.Fail(Errors.Last(), $"fsopen({plan.FsType}) failed");
            try
            {
                if (FsConfig(fs, FSCONFIG_SET_STRING, "source", plan.Source) is { } e1) return e1;
                foreach (var (key, value) in plan.Options)
                    if (FsConfig(fs, value is null ? FSCONFIG_SET_FLAG : FSCONFIG_SET_STRING, key, value) is { } e2) return e2;
                if ((plan.Attributes & MountAttributes.ReadOnly) != 0 && FsConfig(fs, FSCONFIG_SET_FLAG, "ro", null) is { } e3) return e3;
                if (FsConfig(fs, FSCONFIG_CMD_CREATE, null, null) is { } e4) return e4;
                int mnt = (int)call(SYS_fsmount, fs, FSMOUNT_CLOEXEC, AttrFlags(plan.Attributes));
                if (mnt < 0) return ActOutcome.Fail(Errors.Last(), "fsmount failed");
                try
                {
                    Check(call(SYS_setns, mntNsFd, CLONE_NEWNS), "setns(caller mount namespace)");
                    try
                    {
                        if (!stillValid()) return ActOutcome.Gone;
                        byte empty = 0;
                        // SAFETY: `empty` is a one-byte local "" for both paths (the EMPTY_PATH flags make the descriptors the ends).
                        long r = syscall(SYS_move_mount, mnt, (long)&empty, targetFd, (long)&empty, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
                        return r == 0 ? ActOutcome.Done : ActOutcome.Fail(Errors.Last(), "move_mount failed");
                    }
                    finally
                    {
                        if (call(SYS_setns, _agentMntNs, CLONE_NEWNS) != 0) Poison(new ErrnoException("setns(agent mount namespace)", Errors.Last(), ""));
                        RestoreRoot();
                    }
                }
                finally
                {
                    Interop.Proc.close(mnt);
                }
            }
            finally
            {
                Interop.Proc.close(fs);
            }
        });

    private static ActOutcome? FsConfig(int fs, uint cmd, string? key, string? value)
    {
        byte[]? k = key is null ? null : Utf8Z(key), v = value is null ? null : Utf8Z(value);
        long r;
        fixed (byte* kp = k)
        fixed (byte* vp = v)
            // SAFETY: key and value are pinned NUL-terminated strings (or NULL when absent), alive for the call.
            r = syscall(SYS_fsconfig, fs, cmd, (long)kp, (long)vp, 0);
        return r == 0 ? null : ActOutcome.Fail(Errors.Last(), cmd == FSCONFIG_CMD_CREATE ? "creating the filesystem failed" : $"the filesystem refused option '{key}'");
    }

    private static long AttrFlags(MountAttributes a) =>
        ((a & MountAttributes.ReadOnly) != 0 ? MOUNT_ATTR_RDONLY : 0) | ((a & MountAttributes.NoSuid) != 0 ? MOUNT_ATTR_NOSUID : 0)
        | ((a & MountAttributes.NoDev) != 0 ? MOUNT_ATTR_NODEV : 0) | ((a & MountAttributes.NoExec) != 0 ? MOUNT_ATTR_NOEXEC : 0)
        | ((a & MountAttributes.NoAtime) != 0 ? MOUNT_ATTR_NOATIME : 0) | ((a & MountAttributes.StrictAtime) != 0 ? MOUNT_ATTR_STRICTATIME : 0)
        | ((a & MountAttributes.NoDirAtime) != 0 ? MOUNT_ATTR_NODIRATIME : 0) | ((a & MountAttributes.NoSymFollow) != 0 ? MOUNT_ATTR_NOSYMFOLLOW : 0);

    /// <summary>
    /// The caller's groups, fsgid and fsuid, then the capabilities: setfsuid to a non-zero id drops the filesystem capabilities
    /// (CAP_MKNOD among them) from the effective set (capabilities(7), "Effect of user ID changes on capabilities"), so capset
    /// afterwards makes the effective set exactly CAP_MKNOD plus the caller's own effective capabilities when it is in the
    /// agent's user namespace (elsewhere its capabilities mean less than ours, so it gets only CAP_MKNOD).
    /// </summary>
    private void BecomeCaller(CallerCredentials c)
    {
        fixed (uint* g = c.Groups)
            // SAFETY: `g` is the pinned array of c.Groups.Length gids; the kernel copies it.
            Check(syscall(SYS_setgroups, c.Groups.Length, (long)g, 0, 0, 0), "setgroups(caller)");
        call(SYS_setfsgid, c.FsGid);
        call(SYS_setfsuid, c.FsUid);
        // setfsuid/setfsgid return the previous value, never an error: check that the change took.
        if ((uint)call(SYS_setfsuid, -1) != c.FsUid || (uint)call(SYS_setfsgid, -1) != c.FsGid)
        {
            BecomeAgent();
            throw new SeccompException($"the kernel did not let the agent take the caller's filesystem ids {c.FsUid}:{c.FsGid}");
        }
        ulong caller = c.SameUserNamespace ? c.EffectiveCapabilities : 0;
        ulong permitted = _caps0.permitted | ((ulong)_caps1.permitted << 32);
        ulong effective = (caller & permitted) | (1UL << CAP_MKNOD);
        var header = new cap_header { version = _LINUX_CAPABILITY_VERSION_3 };
        cap_data* data = stackalloc cap_data[2];
        data[0] = _caps0 with { effective = (uint)effective };
        data[1] = _caps1 with { effective = (uint)(effective >> 32) };
        // SAFETY: `header` is a local, `data` two stack structs in the version-3 layout; capset only reads them.
        if (syscall(SYS_capset, (long)&header, (long)data, 0, 0, 0) != 0)
        {
            var e = Errors.Last();
            BecomeAgent();
            throw new ErrnoException("capset(caller)", e, "");
        }
    }

    private void BecomeAgent()
    {
        call(SYS_setfsuid, _fsuid);
        call(SYS_setfsgid, _fsgid);
        var header = new cap_header { version = _LINUX_CAPABILITY_VERSION_3 };
        cap_data* data = stackalloc cap_data[2];
        data[0] = _caps0;
        data[1] = _caps1;
        long r1, r2;
        // SAFETY: `header` is a local, `data` two stack structs in the version-3 layout; capset only reads them.
        r1 = syscall(SYS_capset, (long)&header, (long)data, 0, 0, 0);
        fixed (uint* g = _groups)
            // SAFETY: `g` is the pinned array of the agent's own groups; the kernel copies it.
            r2 = syscall(SYS_setgroups, _groups.Length, (long)g, 0, 0, 0);
        if (r1 != 0 || r2 != 0 || (uint)call(SYS_setfsuid, -1) != _fsuid || (uint)call(SYS_setfsgid, -1) != _fsgid)
            Poison(new SeccompException("the acting thread could not take back the agent's credentials"));
    }

    private void RestoreRoot()
    {
        if (call(SYS_fchdir, _agentRoot) != 0 || ChrootDot() != 0 || call(SYS_fchdir, _agentRoot) != 0)
            Poison(new ErrnoException("chroot(agent root)", Errors.Last(), ""));
    }

    private void Poison(Exception e)
    {
        _broken ??= e;
        throw e;
    }

    private static long ChrootDot()
    {
        byte* dot = stackalloc byte[2] { (byte)'.', 0 };
        // SAFETY: `dot` is "." on the stack, alive for the call.
        return syscall(SYS_chroot, (long)dot, 0, 0, 0, 0);
    }

    /// <summary>
    /// Is the thread's cwd inside its root? The raw getcwd syscall (not glibc's, which turns it into ENOENT) prefixes
    /// "(unreachable)" when the cwd is not below the root (fs/d_path.c), and fails with ENOENT when the cwd was removed.
    /// </summary>
    private static bool CwdReachable(out Errno errno)
    {
        byte* buf = stackalloc byte[4096];
        // SAFETY: `buf` is 4096 bytes of stack, the size passed.
        long r = syscall(SYS_getcwd, (long)buf, 4096, 0, 0, 0);
        errno = r < 0 ? Errors.Last() : 0;
        // A cwd deeper than 4096 bytes (ERANGE) cannot be checked: refused like an unreachable one (fail closed).
        if (errno == ERANGE) errno = 0;
        return r >= 0 && buf[0] == (byte)'/';
    }

    private static byte[] Utf8Z(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    private static long Check(long r, string what)
    {
        if (r < 0) throw new ErrnoException(what, Errors.Last(), "");
        return r;
    }

    /// <summary>Ends the thread after the work queued so far.</summary>
    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join();
        _work.Dispose();
    }
}
