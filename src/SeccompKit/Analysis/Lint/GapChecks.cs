using SeccompKit.Policy;

namespace SeccompKit.Analysis.Lint;

/// <summary>SK201-SK205: a syscall refused whatever its arguments while another that does the same runs whatever its arguments.</summary>
internal static class GapChecks
{
    private static readonly (LintRule Rule, string[] Members)[] Families =
    [
        (LintRules.ExecGap, ["execve", "execveat"]),
        (LintRules.OpenGap, ["open", "openat", "openat2", "creat"]),
        (LintRules.FamilyGap, ["rename", "renameat", "renameat2"]),
        (LintRules.FamilyGap, ["unlink", "unlinkat", "rmdir"]),
        (LintRules.FamilyGap, ["link", "linkat"]),
        (LintRules.FamilyGap, ["symlink", "symlinkat"]),
        (LintRules.FamilyGap, ["mkdir", "mkdirat"]),
        (LintRules.FamilyGap, ["mknod", "mknodat"]),
        (LintRules.FamilyGap, ["chmod", "fchmod", "fchmodat", "fchmodat2"]),
        (LintRules.FamilyGap, ["chown", "fchown", "lchown", "fchownat"]),
        (LintRules.FamilyGap, ["truncate", "ftruncate"]),
        (LintRules.FamilyGap, ["utime", "utimes", "utimensat", "futimesat"]),
        (LintRules.FamilyGap, ["setxattr", "lsetxattr", "fsetxattr", "setxattrat"]),
        (LintRules.FamilyGap, ["read", "readv", "pread64", "preadv", "preadv2"]),
        (LintRules.FamilyGap, ["write", "writev", "pwrite64", "pwritev", "pwritev2"]),
        (LintRules.FamilyGap, ["sendto", "sendmsg", "sendmmsg"]),
        (LintRules.FamilyGap, ["recvfrom", "recvmsg", "recvmmsg"]),
        (LintRules.FamilyGap, ["accept", "accept4"]),
        (LintRules.FamilyGap, ["dup2", "dup3"]),
        (LintRules.FamilyGap, ["pipe", "pipe2"]),
        (LintRules.FamilyGap, ["fork", "vfork", "clone", "clone3"]),
        (LintRules.FamilyGap, ["kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo"]),
        (LintRules.FamilyGap, ["memfd_create", "memfd_secret"]),
    ];

    /// <summary>What an io_uring can do without passing the filter (IORING_OP_*; include/uapi/linux/io_uring.h).</summary>
    private static readonly string[] UringOps =
    [
        "read", "readv", "write", "writev", "pread64", "pwrite64", "preadv", "pwritev", "openat", "openat2", "close", "statx",
        "fsync", "fallocate", "fadvise64", "madvise", "sync_file_range", "splice", "tee", "renameat", "renameat2", "unlinkat",
        "mkdirat", "symlinkat", "linkat", "sendmsg", "recvmsg", "sendto", "recvfrom", "accept", "accept4", "connect", "socket",
        "shutdown", "bind", "listen", "epoll_ctl", "setxattr", "fsetxattr", "getxattr", "fgetxattr", "ftruncate", "waitid", "futex",
    ];

    private static readonly string[] Uring = ["io_uring_setup", "io_uring_enter", "io_uring_register"];

    public static IEnumerable<LintFinding> Run(LintContext c)
    {
        var f = c.Facts;
        foreach (var (rule, members) in Families)
            foreach (var refused in members)
                foreach (var runs in members.Where(m => m != refused))
                {
                    if (!f.IsDenyList && f.RefusingRule(refused) is null) continue;
                    var abi = c.Policy.EffectiveArchitectures.FirstOrDefault(a =>
                        f.Outcome(refused, a) == Runs.Never && f.RefusedNotEnosys(refused, a) && f.Outcome(runs, a) == Runs.Always);
                    if (abi is null) continue;
                    yield return c.Finding(rule, c.RefusalPlace(refused),
                        $"{refused} is refused ({f.RefusalOf(refused)}) but {runs}, which does the same, runs whatever its arguments on {abi.Name}",
                        c.RefuseFix([runs], f.RefusalOf(refused)), refused, runs);
                }

        var ring = Uring.Where(u => f.Outcome(u) >= Runs.Sometimes).ToList();
        if (ring.Count > 0)
        {
            var refusedOps = UringOps.Where(op => c.Policy.EffectiveArchitectures.Any(a => f.Outcome(op, a) is Runs.Never or Runs.Sometimes && f.RefusedNotEnosys(op, a))).ToList();
            if (refusedOps.Count > 0)
                yield return c.Finding(LintRules.IoUringGap, c.AllowPlace(ring[0]),
                    $"{string.Join(", ", ring)} {(ring.Count == 1 ? "runs" : "run")} while {string.Join(", ", refusedOps.Take(8))}{(refusedOps.Count > 8 ? $" (+{refusedOps.Count - 8} more)" : "")} {(refusedOps.Count == 1 ? "is" : "are")} refused at least for some arguments: an io_uring performs {(refusedOps.Count == 1 ? "it" : "them")} without the filter",
                    c.RefuseFix(Uring.Where(u => c.Policy.EffectiveArchitectures.Any(a => a.Syscalls.Contains(u))), PolicyEvaluator.Enosys), [.. ring, .. refusedOps]);
        }

        string[] memory = ["process_vm_readv", "process_vm_writev", "pidfd_getfd"];
        if (c.Policy.EffectiveArchitectures.Any(a => f.Outcome("ptrace", a) == Runs.Never && f.RefusedNotEnosys("ptrace", a)))
        {
            var open = memory.Where(m => f.Outcome(m) >= Runs.Sometimes).ToList();
            if (open.Count > 0)
                yield return c.Finding(LintRules.ProcessMemoryGap, c.RefusalPlace("ptrace"),
                    $"ptrace is refused ({f.RefusalOf("ptrace")}) but {string.Join(", ", open)} {(open.Count == 1 ? "runs" : "run")}, reaching other processes' memory or files without it",
                    c.RefuseFix(open, f.RefusalOf("ptrace")), ["ptrace", .. open]);
        }
    }
}
