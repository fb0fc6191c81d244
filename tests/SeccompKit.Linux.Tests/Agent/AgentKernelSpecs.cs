using System.Diagnostics;
using System.Runtime.InteropServices;
using static SeccompKit.Linux.Interop.AgentSys;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// The kernel behaviour the supervise handlers are built on (docs/KERNEL-FINDINGS.md, "supervise handlers"). Each case
/// changes only a throwaway thread's credentials or filesystem context (per-thread after unshare(CLONE_FS)), never the
/// test process's.
/// </summary>
[Trait("Category", "Kernel")]
public sealed class AgentKernelSpecs
{
    /// <summary>Runs <paramref name="work"/> on a new thread that ends afterwards (taking its changed state with it).</summary>
    private static T OnThread<T>(Func<T> work)
    {
        T result = default!;
        Exception? error = null;
        var t = new Thread(() => { try { result = work(); } catch (Exception e) { error = e; } });
        t.Start();
        t.Join();
        if (error is not null) throw new InvalidOperationException("the thread failed", error);
        return result;
    }

    /// <summary>capget of the calling thread: header (8 bytes) then two cap_data (12 bytes each), in unmanaged memory.</summary>
    private static (nint Header, nint Data) CapGet()
    {
        nint header = Marshal.AllocHGlobal(8), data = Marshal.AllocHGlobal(24);
        Marshal.WriteInt32(header, (int)_LINUX_CAPABILITY_VERSION_3);
        Marshal.WriteInt32(header, 4, 0);
        Assert.Equal(0, syscall(SYS_capget, header, data, 0, 0, 0));
        return (header, data);
    }

    private static ulong Effective()
    {
        var (header, data) = CapGet();
        ulong e = (uint)Marshal.ReadInt32(data) | ((ulong)(uint)Marshal.ReadInt32(data, 12) << 32);
        Marshal.FreeHGlobal(header);
        Marshal.FreeHGlobal(data);
        return e;
    }

    private static nint Utf8(string s) => Marshal.StringToCoTaskMemUTF8(s);

    [Fact]
    public void A_non_zero_fsuid_drops_CAP_MKNOD_from_the_effective_set_and_capset_raises_it_again()
    {
        var (before, after, raised) = OnThread(() =>
        {
            ulong b = Effective();
            call(SYS_setfsuid, 1000);
            ulong a = Effective();
            var (header, data) = CapGet();
            Marshal.WriteInt32(data, Marshal.ReadInt32(data) | (1 << CAP_MKNOD));
            Assert.Equal(0, syscall(SYS_capset, header, data, 0, 0, 0));
            Marshal.FreeHGlobal(header);
            Marshal.FreeHGlobal(data);
            ulong r = Effective();
            call(SYS_setfsuid, 0);
            return (b, a, r);
        });
        const ulong mknod = 1UL << CAP_MKNOD, dacOverride = 1UL << 1;
        Assert.True((before & mknod) != 0, "the test runs as root");
        Assert.Equal(0UL, after & mknod);       // CAP_FS_MASK includes CAP_MKNOD
        Assert.Equal(0UL, after & dacOverride); // and CAP_DAC_OVERRIDE
        Assert.Equal(mknod, raised & mknod);
        Assert.Equal(0UL, raised & dacOverride); // capset raised only what was asked
    }

    [Fact]
    public void Getcwd_says_unreachable_when_the_cwd_is_outside_the_root()
    {
        string root = Directory.CreateTempSubdirectory("skit-kroot").FullName, outside = Directory.CreateTempSubdirectory("skit-kout").FullName;
        try
        {
            string cwd = OnThread(() =>
            {
                Assert.Equal(0, call(SYS_unshare, CLONE_FS));
                int o = Interop.Proc.open(outside, O_PATH | O_DIRECTORY | O_CLOEXEC);
                nint r = Utf8(root);
                Assert.Equal(0, syscall(SYS_chroot, r, 0, 0, 0, 0));
                Marshal.FreeCoTaskMem(r);
                Assert.Equal(0, call(SYS_fchdir, o));
                nint buf = Marshal.AllocHGlobal(4096);
                long n = syscall(SYS_getcwd, buf, 4096, 0, 0, 0);
                string got = n > 0 ? Marshal.PtrToStringUTF8(buf)! : $"error {Marshal.GetLastPInvokeError()}";
                Marshal.FreeHGlobal(buf);
                Interop.Proc.close(o);
                return got;
            });
            Assert.Equal("(unreachable)" + outside, cwd);
        }
        finally
        {
            Directory.Delete(root);
            Directory.Delete(outside);
        }
    }

    [Fact]
    public void Move_mount_attaches_only_in_the_callers_own_mount_namespace_so_the_thread_must_enter_the_targets()
    {
        string dir = Directory.CreateTempSubdirectory("skit-kmnt").FullName;
        using var child = Process.Start("unshare", ["-m", "--propagation", "private", "sleep", "30"]);
        try
        {
            // unshare execs sleep in the new namespace: wait until the pid's namespace differs from ours.
            string ours = new FileInfo("/proc/self/ns/mnt").LinkTarget!;
            var wait = Stopwatch.StartNew();
            while (new FileInfo($"/proc/{child.Id}/ns/mnt").LinkTarget == ours && wait.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(5);
            int mnt = NewTmpfs();
            int target = Interop.Proc.open($"/proc/{child.Id}/root{dir}", O_PATH | O_DIRECTORY | O_CLOEXEC);
            int ns = Interop.Proc.open($"/proc/{child.Id}/ns/mnt", O_CLOEXEC);
            Assert.True(mnt >= 0 && target >= 0 && ns >= 0);
            // From our namespace: EINVAL (do_move_mount: the target's mount is not in current's namespace).
            Assert.Equal((-1L, 22), (MoveMount(mnt, target), Marshal.GetLastPInvokeError()));
            // From a thread with its own fs_struct that entered the target's namespace: attached there.
            long entered = OnThread(() =>
            {
                Assert.Equal(0, call(SYS_unshare, CLONE_FS));
                Assert.Equal(0, call(SYS_setns, ns, CLONE_NEWNS));
                return MoveMount(mnt, target);
            });
            Assert.Equal(0, entered);
            Assert.Contains($" {dir} ", File.ReadAllText($"/proc/{child.Id}/mountinfo"));
            Assert.DoesNotContain($" {dir} ", File.ReadAllText("/proc/self/mountinfo"));
            foreach (var fd in new[] { mnt, target, ns }) Interop.Proc.close(fd);
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void Setns_into_a_mount_namespace_is_refused_while_the_thread_shares_its_fs_struct() =>
        Assert.Equal(22, OnThread(() =>
        {
            int ns = Interop.Proc.open("/proc/self/ns/mnt", O_CLOEXEC);
            long r = call(SYS_setns, ns, CLONE_NEWNS);
            int e = Marshal.GetLastPInvokeError();
            Interop.Proc.close(ns);
            return r == 0 ? 0 : e;
        }));

    private static int NewTmpfs()
    {
        nint t = Utf8("tmpfs");
        int fs = (int)syscall(SYS_fsopen, t, FSOPEN_CLOEXEC, 0, 0, 0);
        Marshal.FreeCoTaskMem(t);
        Assert.True(fs >= 0);
        Assert.Equal(0, syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0));
        int mnt = (int)call(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
        Interop.Proc.close(fs);
        return mnt;
    }

    private static long MoveMount(int mnt, int target)
    {
        nint empty = Utf8("");
        long r = syscall(SYS_move_mount, mnt, empty, target, empty, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        int e = Marshal.GetLastPInvokeError();
        Marshal.FreeCoTaskMem(empty);
        Marshal.SetLastPInvokeError(e);
        return r;
    }
}
