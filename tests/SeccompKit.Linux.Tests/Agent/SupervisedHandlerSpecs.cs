using System.Collections.Immutable;
using System.Diagnostics;
using System.Text.Json;
using SeccompKit.Agent;
using SeccompKit.Policy;
using SeccompKit.Linux.Agent;
using SeccompKit.Linux.Supervise;
using SeccompKit.Linux.Tests.Supervise;

namespace SeccompKit.Linux.Tests.Agent;

/// <summary>
/// The supervise handlers on host programs chrooted into a temporary root (chroot(8)): the caller's /proc/PID/root is a
/// directory the test made, so every "outside the root" check is a look at the host.
/// </summary>
public sealed class SupervisedHandlerSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("skit-sroot").FullName;
    private readonly string _host = Directory.CreateTempSubdirectory("skit-shost").FullName;
    private readonly string _out = Directory.CreateTempSubdirectory("skit-sout").FullName;
    private readonly List<string> _mounts = [];

    public SupervisedHandlerSpecs()
    {
        Directory.CreateDirectory(Path.Combine(_root, "bin"));
        File.Copy("/bin/busybox", Path.Combine(_root, "bin/busybox"));
        Directory.CreateDirectory(Path.Combine(_root, "dev"));
        Directory.CreateDirectory(Path.Combine(_root, "mnt"));
        Directory.CreateDirectory(Path.Combine(_root, "etc"));
        Directory.CreateDirectory(Path.Combine(_root, "proc"));
        // The temporary directory is 0700: the uid-1000 caller must be able to enter its root, and create in /dev.
        Process.Start("chmod", ["755", _root])!.WaitForExit();
        Process.Start("chmod", ["1777", Path.Combine(_root, "dev")])!.WaitForExit();
    }

    private static readonly SeccompPolicy MknodAndMount = Supervised.Notify("mknod", "mknodat", "mount");

    private static AgentContainer Container(string output, string id = "c1") => new()
    {
        Payload = new AgentPayload("1.0.2", ["seccompFd"], 1, "supervise:test", new ContainerState("1.0.2", id, "creating", 1, "/bundle", ImmutableDictionary<string, string>.Empty)),
        Mode = new ContainerMode.Supervise("test"),
        Peer = new PeerCredentials(1, 0, 0),
        OutputDirectory = output,
    };

    private static RulesetSpec Spec(string json) => RulesetSpec.Parse("test", JsonDocument.Parse(json).RootElement, "$.rulesets.test");

    /// <summary>Runs `chroot [--userspec] ROOT /bin/busybox sh -c SCRIPT` supervised by a session of <paramref name="ruleset"/>.</summary>
    private (Supervised.Result Run, ImmutableArray<SupervisedCall> Calls, string Report) Run(SupervisionRuleset ruleset, string script, string? user = null, bool ownMountNamespace = false, bool withProc = false)
    {
        using var session = SupervisedContainerSession.Start(Container(_out), ruleset);
        string[] args = user is null ? [_root, "/bin/busybox", "sh", "-c", script] : ["--userspec=" + user, "--groups=" + user.Split(':')[1], _root, "/bin/busybox", "sh", "-c", script];
        if (ownMountNamespace)
        {
            // The root becomes a private mount first (so nothing mounted under it in the new namespace propagates to the host);
            // unshare is told to leave propagation alone, because its own mount(MS_PRIVATE) would be notified and refused.
            Mount(null, _root, _root, "--bind");
            Process.Start("mount", ["--make-private", _root])!.WaitForExit();
            // A procfs (the host's pid namespace: /proc/self is the caller) for the caller to read its own mountinfo.
            if (withProc) Mount("proc", "proc", Path.Combine(_root, "proc"));
            args = ["-m", "--propagation", "unchanged", "/usr/sbin/chroot", .. args];
        }
        // The program notifies exactly the ruleset's syscalls, as `agent profile` writes it for supervise:RULESET.
        var r = Supervised.Run(Supervised.Notify([.. ruleset.Syscalls]), session.Handler, ownMountNamespace ? "/usr/bin/unshare" : "/usr/sbin/chroot", args);
        var outcome = session.Finish(ContainerEnd.Exited);
        return (r, session.Calls, File.ReadAllText(Assert.Single(outcome.Files)));
    }

    private (Supervised.Result Run, ImmutableArray<SupervisedCall> Calls, string Report) Run(RulesetSpec spec, string script, string? user = null, bool ownMountNamespace = false, bool withProc = false) =>
        Run(SupervisionRuleset.From(spec), script, user, ownMountNamespace, withProc);

    private static (uint Major, uint Minor, uint Uid, uint Gid, UnixFileMode Mode, bool IsChar) Node(string path)
    {
        var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%t %T %u %g %a %F", path]) { RedirectStandardOutput = true })!;
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{path} does not exist");
        var f = o.Trim().Split(' ', 6);
        return (Convert.ToUInt32(f[0], 16), Convert.ToUInt32(f[1], 16), uint.Parse(f[2]), uint.Parse(f[3]), (UnixFileMode)Convert.ToInt32(f[4], 8), f[5] == "character special file");
    }

    [Theory]
    [InlineData("null", 1u, 3u)]
    [InlineData("zero", 1u, 5u)]
    [InlineData("urandom", 1u, 9u)]
    [InlineData("tty", 5u, 0u)]
    public void Mknod_of_a_safe_device_is_performed_by_the_agent_with_the_right_number(string name, uint major, uint minor)
    {
        var (r, calls, report) = Run(RulesetSpec.BuiltinDevices, $"/bin/busybox mknod /dev/{name} c {major} {minor} && echo made");
        Assert.Equal(0, r.Status.ExitCode);
        Assert.Equal("made\n", r.Out);
        var node = Node(Path.Combine(_root, "dev", name));
        Assert.True(node.IsChar);
        Assert.Equal((major, minor, 0u, 0u), (node.Major, node.Minor, node.Uid, node.Gid));
        var call = Assert.Single(calls);
        Assert.Equal((SupervisedResult.Performed, $"/dev/{name}", $"c {major}:{minor}"), (call.Result, call.Path, call.Object));
        Assert.Contains("\"result\": \"performed\"", report);
        Assert.Empty(r.Faults);
    }

    [Fact]
    public void A_non_root_caller_gets_a_node_it_owns_with_its_umask_applied()
    {
        var (r, calls, _) = Run(RulesetSpec.BuiltinDevices, "umask 027; cd /dev && /bin/busybox mknod -m 666 mynull c 1 3 && echo made", user: "1000:1000");
        Assert.True(r.Status.ExitCode == 0, r.Err);
        var node = Node(Path.Combine(_root, "dev", "mynull"));
        Assert.Equal((1u, 3u, 1000u, 1000u), (node.Major, node.Minor, node.Uid, node.Gid));
        // busybox mknod -m 666 makes the node with its umask (0640) and then chmods it to 666 (coreutils does the same):
        // the chmod ran as the caller, which owns the node; the relative path was resolved from the caller's cwd.
        Assert.Equal((UnixFileMode)0x1b6, node.Mode);
        Assert.Equal("mynull", Assert.Single(calls).Path);
    }

    [Fact]
    public void The_umask_of_the_caller_decides_the_mode_of_the_node()
    {
        var (r, _, _) = Run(RulesetSpec.BuiltinDevices, "umask 077; /bin/busybox mknod /dev/null c 1 3", user: "1000:1000");
        Assert.True(r.Status.ExitCode == 0, r.Err);
        Assert.Equal((UnixFileMode)0x180, Node(Path.Combine(_root, "dev/null")).Mode); // 0666 & ~077 = 0600
    }

    [Fact]
    public void A_non_root_caller_cannot_create_where_it_may_not_write()
    {
        var (r, calls, _) = Run(RulesetSpec.BuiltinDevices, "/bin/busybox mknod /etc/null c 1 3", user: "1000:1000");
        Assert.NotEqual(0, r.Status.ExitCode);
        Assert.Contains("Permission denied", r.Err);
        Assert.False(File.Exists(Path.Combine(_root, "etc/null")));
        Assert.Equal((SupervisedResult.Failed, (int)Errno.EACCES), (Assert.Single(calls).Result, calls[0].Errno));
    }

    [Theory]
    [InlineData("b 8 0", "b 8:0")]
    [InlineData("c 10 200", "c 10:200")]
    [InlineData("c 1 1", "c 1:1")]
    public void A_device_outside_the_ruleset_is_refused_with_its_errno_and_not_created(string device, string shown)
    {
        var (r, calls, _) = Run(Spec("""{ "devices": ["safe"], "errno": "EACCES" }"""), $"/bin/busybox mknod /dev/sda {device}");
        Assert.NotEqual(0, r.Status.ExitCode);
        Assert.Contains("Permission denied", r.Err);
        Assert.False(File.Exists(Path.Combine(_root, "dev/sda")));
        Assert.Equal((SupervisedResult.Refused, shown, 13), (Assert.Single(calls).Result, calls[0].Object, calls[0].Errno));
        Assert.Null(calls[0].Path); // decided from the registers: the path was never read
    }

    [Fact]
    public void A_fifo_is_let_run_as_the_caller_without_reading_its_path()
    {
        var (r, calls, _) = Run(RulesetSpec.BuiltinDevices, "/bin/busybox mkfifo /dev/fifo && echo ok");
        Assert.Equal("ok\n", r.Out);
        Assert.True(File.Exists(Path.Combine(_root, "dev/fifo")));
        Assert.Equal(SupervisedResult.Continued, Assert.Single(calls).Result);
    }

    [Fact]
    public void Symlinks_and_dotdot_in_the_path_never_leave_the_callers_root()
    {
        string escape = string.Concat(Enumerable.Repeat("../", 12)) + _host.TrimStart('/');
        File.CreateSymbolicLink(Path.Combine(_root, "abs"), _host);    // an absolute link to the host directory
        File.CreateSymbolicLink(Path.Combine(_root, "rel"), escape);   // a relative one climbing out
        Directory.CreateDirectory(Path.Combine(_root, _host.TrimStart('/'))); // where both land inside the root
        var (r, calls, _) = Run(RulesetSpec.BuiltinDevices,
            $"/bin/busybox mknod /abs/n1 c 1 3; /bin/busybox mknod /rel/n2 c 1 3; /bin/busybox mknod /{escape}/n3 c 1 3; cd /dev; /bin/busybox mknod ../{escape}/n4 c 1 3; echo done");
        Assert.Equal("done\n", r.Out);
        Assert.Empty(Directory.GetFileSystemEntries(_host));
        // The kernel's own walk clamps ".." at the caller's root and resolves absolute links from it: all four land inside.
        foreach (var n in new[] { "n1", "n2", "n3", "n4" })
            Assert.True(Node(Path.Combine(_root, _host.TrimStart('/'), n)).IsChar, n);
        Assert.All(calls, c => Assert.Equal(SupervisedResult.Performed, c.Result));
    }

    [Fact]
    public void A_magic_link_in_the_path_is_refused()
    {
        // The host's procfs in the caller's root: /proc/self, resolved by the agent's acting thread, is the agent, whose root is
        // the host's; following /proc/self/root would escape. openat2 RESOLVE_NO_MAGICLINKS refuses every magic link (ELOOP).
        Mount("proc", "proc", Path.Combine(_root, "proc"));
        var (r, calls, _) = Run(RulesetSpec.BuiltinDevices,
            $"/bin/busybox mknod /proc/self/root{_host}/n c 1 3; /bin/busybox mknod /proc/thread-self/cwd/n c 1 3; /bin/busybox mknod /proc/1/root{_host}/n c 1 3; echo $?");
        Assert.Empty(Directory.GetFileSystemEntries(_host));
        Assert.Equal(3, calls.Length);
        Assert.All(calls[..2], c => Assert.Equal((SupervisedResult.Failed, 40), (c.Result, c.Errno))); // ELOOP
        // /proc/1 is the host's init: the ptrace access check of its root link (as the caller) comes before the magic-link check.
        Assert.True(calls[2].Result == SupervisedResult.Failed && calls[2].Errno is 40 or 13, calls[2].ToString());
        Assert.Equal("1\n", r.Out);
    }

    [Fact]
    public void A_relative_path_from_a_cwd_outside_the_callers_root_is_refused()
    {
        // python chroots without chdir: its cwd stays in the host directory, outside its new root (the classic escape).
        string script = $"import os; os.chdir('{_host}'); os.chroot('{_root}'); os.execv('/bin/busybox', ['busybox', 'mknod', 'n', 'c', '1', '3'])";
        using var session = SupervisedContainerSession.Start(Container(_out), RulesetSpec.BuiltinDevices);
        var r = Supervised.Run(MknodAndMount, session.Handler, "/usr/bin/python3", "-c", script);
        Assert.NotEqual(0, r.Status.ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(_host));
        var call = Assert.Single(session.Calls);
        Assert.Equal((SupervisedResult.Refused, "n"), (call.Result, call.Path));
    }

    /// <summary>Recursive, without following symlinks (a link to / left in the root would lead the count into the host).</summary>
    private static readonly EnumerationOptions NoLinks = new() { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };

    [Fact]
    public void A_caller_swapping_a_directory_for_a_symlink_to_the_root_cannot_make_a_node_outside_its_root()
    {
        string tag = "skitrace" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(Path.Combine(_root, "d"));
        var (r, calls, _) = Run(RulesetSpec.BuiltinDevices,
            "cd /; (while :; do /bin/busybox mv d d.x; /bin/busybox ln -s / d; /bin/busybox rm d; /bin/busybox ln -s ../../../../../.. d; /bin/busybox rm d; /bin/busybox mv d.x d; done) & " +
            $"i=0; while [ $i -lt 300 ]; do /bin/busybox mknod /d/{tag}$i c 1 3 2>/dev/null; i=$((i+1)); done; kill $!; wait; [ -L d ] && rm d; [ -d d.x ] && mv d.x d; echo done");
        Assert.Equal("done\n", r.Out);
        Assert.Equal(300, calls.Length);
        // On the host: nothing in / (where a link to / resolved with the agent's root would put it) nor anywhere above the root.
        Assert.Empty(Directory.GetFileSystemEntries("/", tag + "*"));
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(_root)!, tag + "*"));
        // Inside the root: each performed node is in /d or, through the link, in the caller's own root.
        int inside = Directory.GetFileSystemEntries(_root, tag + "*", NoLinks).Length;
        Assert.Equal(calls.Count(c => c.Result == SupervisedResult.Performed), inside);
        Assert.True(inside > 0, "no mknod succeeded");
    }

    [Fact]
    public void A_caller_killed_mid_call_is_never_acted_on()
    {
        var (r, calls, report) = Run(Hostile.KillingTheCallerBeforeActing(RulesetSpec.BuiltinDevices), "/bin/busybox mknod /dev/null c 1 3");
        Assert.Equal(9, r.Status.Signal);
        Assert.False(File.Exists(Path.Combine(_root, "dev/null")));
        Assert.Equal(SupervisedResult.TargetGone, Assert.Single(calls).Result);
        Assert.Contains("\"target-gone\": 1", report);
        Assert.Equal(1, r.Stats.TargetsGone);
    }

    private static readonly string MountRules = """
        { "mounts": [ { "fstype": "tmpfs", "target": "/mnt/**", "options": ["size", "mode"], "force": ["nosuid", "nodev"] } ],
          "errno": "EPERM" }
        """;

    [Fact]
    public void An_allowed_tmpfs_is_mounted_in_the_callers_mount_namespace_with_the_forced_flags()
    {
        Directory.CreateDirectory(Path.Combine(_root, "mnt/t"));
        var (r, calls, _) = Run(Spec(MountRules),
            "/bin/busybox mount -t tmpfs -o size=1m,mode=700 scratch /mnt/t && /bin/busybox grep ' /mnt/t ' /proc/self/mountinfo", ownMountNamespace: true, withProc: true);
        Assert.True(r.Status.ExitCode == 0, r.Err + string.Join("\n", calls));
        Assert.Contains("nosuid,nodev", r.Out);
        Assert.Contains("tmpfs scratch", r.Out);
        Assert.Contains("size=1024k,mode=700", r.Out);
        Assert.All(calls, c => Assert.Equal(SupervisedResult.Performed, c.Result));
        // The mount happened in the caller's namespace only (chroot ran in a private one, see Run): not on the host.
        Assert.DoesNotContain(Path.Combine(_root, "mnt/t"), File.ReadAllText("/proc/self/mountinfo"));
    }

    [Theory]
    [InlineData("/bin/busybox mount -t ramfs r /mnt/t", "no mount rule allows ramfs")]
    [InlineData("/bin/busybox mount -t proc p /mnt/t", "no mount rule allows proc")]
    [InlineData("/bin/busybox mount -t tmpfs t /etc", "no mount rule allows tmpfs")]
    [InlineData("/bin/busybox mount -t tmpfs -o size=1m,uid=0 t /mnt/t", "mount option 'uid' is not allowed")]
    [InlineData("/bin/busybox mount --bind /bin /mnt/t", "not those of a new mount")]
    [InlineData("/bin/busybox mount -t tmpfs t /mnt/../etc", "not a canonical absolute path")]
    public void A_mount_outside_the_rules_is_refused(string command, string reason)
    {
        Directory.CreateDirectory(Path.Combine(_root, "mnt/t"));
        var (r, calls, _) = Run(Spec(MountRules), command, ownMountNamespace: true);
        Assert.NotEqual(0, r.Status.ExitCode);
        var call = Assert.Single(calls);
        Assert.Equal(SupervisedResult.Refused, call.Result);
        Assert.Contains(reason, call.Reason);
    }

    [Fact]
    public void A_named_block_device_is_mounted_read_only_when_its_rule_forces_it()
    {
        // A 4 MiB ext4 image on a loop device: the rule names the host's device; the caller's root has no such node (the
        // source of a block filesystem is looked up by the agent, in its own root, so the container cannot redirect it).
        Assert.SkipUnless(File.Exists("/dev/loop-control"), "this machine has no loop devices (/dev/loop-control), so no block device can be made for the test");
        string image = Path.Combine(_out, "disk.img");
        Assert.Equal(0, ChildProcess.Run("sh", ["-c", $"truncate -s 4M {image} && mkfs.ext4 -q -F {image}"]).Exit);
        var loop = ChildProcess.Run("losetup", ["--find", "--show", image]);
        Assert.True(loop.Exit == 0, loop.Err);
        string device = loop.Out.Trim();
        try
        {
            Directory.CreateDirectory(Path.Combine(_root, "mnt/data"));
            var rules = Spec($$"""{ "mounts": [ { "fstype": "ext4", "source": "{{device}}", "target": "/mnt/data", "force": ["ro", "nosuid", "nodev"] } ] }""");
            var (r, calls, _) = Run(rules,
                $"/bin/busybox mount -t ext4 {device} /mnt/data && echo mounted; /bin/busybox ls /mnt/data; /bin/busybox touch /mnt/data/x || echo read-only; " +
                "/bin/busybox mount -t ext4 /dev/loop-other /mnt/data || echo other-refused", ownMountNamespace: true);
            Assert.True(r.Status.ExitCode == 0, r.Err);
            Assert.Equal("mounted\nlost+found\nread-only\nother-refused\n", r.Out);
            Assert.Contains("Read-only file system", r.Err);
            Assert.Equal([SupervisedResult.Performed, SupervisedResult.Refused], calls.Select(c => c.Result));
            Assert.Equal($"ext4 from {device}", calls[0].Object);
        }
        finally
        {
            ChildProcess.Run("losetup", ["-d", device]);
        }
    }

    [Fact]
    public void A_mount_target_reached_through_a_symlink_is_refused()
    {
        Directory.CreateDirectory(Path.Combine(_root, "mnt/real"));
        File.CreateSymbolicLink(Path.Combine(_root, "mnt/link"), "/etc");
        var (r, calls, _) = Run(Spec(MountRules), "/bin/busybox mount -t tmpfs t /mnt/link", ownMountNamespace: true);
        Assert.NotEqual(0, r.Status.ExitCode);
        Assert.Equal((SupervisedResult.Failed, 40), (Assert.Single(calls).Result, calls[0].Errno)); // ELOOP: no symlink in a target
    }

    [Fact]
    public void A_library_users_handler_is_registered_by_name_and_its_decisions_reach_the_report()
    {
        var registry = new RulesetRegistry();
        registry.Register("fake-ppid", ["getppid"], ctx => new Supervised.Handler((n, _) =>
        {
            ctx.Record(new SupervisedCall("getppid", n.Pid, null, null, SupervisedResult.Performed, 0, $"faked for {ctx.Container.Id}"));
            return NotificationResponse.Return(4242);
        }));
        Assert.Equal(["devices", "fake-ppid"], registry.Names);
        var (r, calls, report) = Run(registry.Get("fake-ppid"), "echo $PPID");
        Assert.Equal("4242\n", r.Out);
        // Both shells ask (the wrapper's /bin/sh and busybox sh set $PPID at start-up): each answer was recorded.
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.Equal("faked for c1", c.Reason));
        Assert.Contains("\"ruleset\": \"fake-ppid\"", report);
    }

    [Fact]
    public void A_handler_fault_is_answered_EPERM_and_recorded()
    {
        var ruleset = new SupervisionRuleset("faulty", ["mknodat", "mknod"], _ => new Supervised.Handler((_, _) => throw new InvalidOperationException("boom")));
        var (r, calls, _) = Run(ruleset, "/bin/busybox mknod /dev/null c 1 3");
        Assert.Contains("Operation not permitted", r.Err);
        var call = Assert.Single(calls);
        Assert.Equal((SupervisedResult.Failed, 1, "handler fault: boom"), (call.Result, call.Errno, call.Reason));
    }

    [Theory]
    [InlineData("devices", "already registered")]
    [InlineData("bad name", "not valid")]
    public void The_registry_refuses_a_taken_or_invalid_name(string name, string says) =>
        Assert.Contains(says, Assert.Throws<ArgumentException>(() => new RulesetRegistry().Register(name, ["mknod"], _ => null!)).Message);

    [Fact]
    public void The_registry_refuses_an_unknown_syscall_and_names_the_known_rulesets()
    {
        Assert.Contains("not an x86_64 syscall", Assert.Throws<ArgumentException>(() => new RulesetRegistry().Register("x", ["mknodd"], _ => null!)).Message);
        Assert.Contains("the agent knows devices", Assert.Throws<UnknownRulesetException>(() => new RulesetRegistry().Get("lab")).Message);
    }

    private void Mount(string? type, string source, string target, string option = "-t")
    {
        var p = Process.Start("mount", type is null ? [option, source, target] : [option, type, source, target]);
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        _mounts.Add(target);
    }

    public void Dispose()
    {
        foreach (var m in Enumerable.Reverse(_mounts)) Process.Start("umount", ["-l", m])!.WaitForExit();
        foreach (var d in new[] { _root, _host, _out })
            try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
