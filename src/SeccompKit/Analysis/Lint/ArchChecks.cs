using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis.Lint;

/// <summary>SK101-SK104: which ABIs the policy covers, and what reaches the kernel through the ones beside x86_64.</summary>
internal static class ArchChecks
{
    /// <summary>
    /// 32-bit variants through which i386 (and other 32-bit ABIs) reach what an x86_64 name does: the 64-bit file-offset
    /// calls, the 32-bit uid calls (uid16 kept the old names), the time64 calls (y2038), and a few old forms.
    /// Multiplexed calls (socketcall, ipc) come from the syscall tables.
    /// </summary>
    internal static readonly Dictionary<string, string[]> Variants = Build();

    private static Dictionary<string, string[]> Build()
    {
        var d = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["mmap"] = ["mmap2"], ["fcntl"] = ["fcntl64"], ["fstat"] = ["fstat64"], ["stat"] = ["stat64"], ["lstat"] = ["lstat64"],
            ["newfstatat"] = ["fstatat64"], ["truncate"] = ["truncate64"], ["ftruncate"] = ["ftruncate64"], ["sendfile"] = ["sendfile64"],
            ["statfs"] = ["statfs64"], ["fstatfs"] = ["fstatfs64"], ["lseek"] = ["_llseek"], ["select"] = ["_newselect"],
            ["wait4"] = ["waitpid"], ["rt_sigaction"] = ["sigaction", "signal"], ["rt_sigprocmask"] = ["sigprocmask"],
            ["rt_sigreturn"] = ["sigreturn"], ["rt_sigsuspend"] = ["sigsuspend"], ["umount2"] = ["umount"],
            ["getdents64"] = ["getdents"], ["getdents"] = ["getdents64"], ["fadvise64"] = ["fadvise64_64"],
        };
        foreach (var n in new[] { "chown", "lchown", "fchown", "getuid", "getgid", "geteuid", "getegid", "setuid", "setgid", "setreuid", "setregid",
                     "setresuid", "setresgid", "getresuid", "getresgid", "setfsuid", "setfsgid", "getgroups", "setgroups" })
            d[n] = [n + "32"];
        foreach (var n in new[] { "clock_gettime", "clock_settime", "clock_adjtime", "clock_getres", "clock_nanosleep", "timer_gettime", "timer_settime",
                     "timerfd_gettime", "timerfd_settime", "utimensat", "pselect6", "ppoll", "io_pgetevents", "recvmmsg", "mq_timedsend",
                     "mq_timedreceive", "semtimedop", "rt_sigtimedwait", "futex", "sched_rr_get_interval" })
            d[n] = [n + "_time64"];
        return d;
    }

    public static IEnumerable<LintFinding> Run(LintContext c)
    {
        var p = c.Policy;
        bool refusesSomething = !p.DefaultAction.LetsCallRun || p.Rules.Any(r => !r.Action.LetsCallRun);
        if (p.BadArchAction.LetsCallRun && refusesSomething)
            yield return c.Finding(LintRules.BadArchAllows, c.Map.AtStatement(PolicyStatement.BadArchAction),
                $"calls from ABIs the policy does not cover ({Others(p)}) get {p.BadArchAction}, so a program calling through one of them skips every rule",
                c.Fix.LanguageOnly("on-bad-arch kill-process", "OCI runtimes kill calls from other ABIs themselves; read the profile as runc does (seccompkit convert) to see its real bad-arch action"));

        var arches = p.EffectiveArchitectures;
        bool x64 = arches.Contains(Architecture.X86_64);
        var compat = arches.Where(a => a == Architecture.X86 || a == Architecture.X32).ToList();
        if (!x64 && compat.Count > 0)
            yield return c.Finding(LintRules.ArchWithoutNative, c.Map.AtStatement(PolicyStatement.Architectures),
                $"the policy covers {string.Join(", ", compat.Select(a => a.Name))} but not x86_64, so every 64-bit program on an x86_64 host gets {p.BadArchAction} on its first call",
                c.Fix.Architectures(arches.Prepend(Architecture.X86_64).Select(a => a.Name), arches.Prepend(Architecture.X86_64).Select(a => OciNames.ArchitectureName(a) ?? a.Name)));

        if (x64 && c.Facts.IsDenyList && p.Rules.Any(r => !r.Action.LetsCallRun))
        {
            var missing = new[] { Architecture.X86, Architecture.X32 }.Where(a => !arches.Contains(a)).ToList();
            if (missing.Count > 0)
                yield return c.Finding(LintRules.DenyListCompatUncovered, c.Map.AtStatement(PolicyStatement.Architectures),
                    $"this deny-list covers x86_64 but not {string.Join(" or ", missing.Select(a => a.Name))}: programs of {(missing.Count == 1 ? "that ABI" : "those ABIs")} get {p.BadArchAction} on every call instead of the deny-list",
                    c.Fix.Architectures(arches.Concat(missing).Select(a => a.Name), arches.Concat(missing).Select(a => OciNames.ArchitectureName(a) ?? a.Name)));
        }

        if (!x64) yield break;
        foreach (var finding in CompatBypasses(c, compat)) yield return finding;
    }

    private static string Others(SeccompPolicy p)
    {
        var others = new[] { Architecture.X86_64, Architecture.X86, Architecture.X32 }.Where(a => !p.EffectiveArchitectures.Contains(a)).Select(a => a.Name).ToList();
        return others.Count > 0 ? string.Join(", ", others) + " on an x86_64 host" : "any ABI not listed";
    }

    /// <summary>SK102: a syscall a rule refuses on x86_64 that runs on i386 or x32, by its name, a variant or a multiplexer.</summary>
    private static IEnumerable<LintFinding> CompatBypasses(LintContext c, List<Architecture> compat)
    {
        var f = c.Facts;
        foreach (var name in c.Policy.Rules.Where(r => !r.Action.LetsCallRun).Select(r => r.Syscall).Distinct(StringComparer.Ordinal))
        {
            if (f.Outcome(name, Architecture.X86_64) is not (Runs.Never or Runs.Sometimes) || !f.RefusedNotEnosys(name, Architecture.X86_64)) continue;
            var action = f.RefusalOf(name);
            foreach (var abi in compat)
            {
                if (f.Outcome(name, abi) == Runs.Always)
                    yield return c.Finding(LintRules.CompatBypass, c.RefusalPlace(name),
                        $"{name} is refused on x86_64 but runs whatever its arguments on {abi.Name}", c.RefuseFix([name], action), name);
                foreach (var v in Variants.GetValueOrDefault(name, []))
                    if (f.Outcome(v, abi) >= Runs.Sometimes && f.RefusingRule(v) is null)
                        yield return c.Finding(LintRules.CompatBypass, c.RefusalPlace(name),
                            $"{name} is refused on x86_64, but {abi.Name} reaches it as {v}, which runs {LintContext.How(f.Outcome(v, abi))}", c.RefuseFix([v], action), name, v);
                if (abi.Syscalls.TryGetMultiplexed(name, out var mux))
                {
                    string muxName = mux.Multiplexer == Multiplexer.Socketcall ? "socketcall" : "ipc";
                    if (abi.Syscalls.Contains(muxName) && f.Decide(muxName, abi, (ulong)mux.CallNumber).LetsCallRun)
                        yield return c.Finding(LintRules.CompatBypass, c.RefusalPlace(name),
                            $"{name} is refused on x86_64, but {abi.Name} reaches it as {muxName}(call {mux.CallNumber}), which runs",
                            c.RefuseFix([muxName], action), name, muxName);
                }
            }
        }
    }
}
