using SeccompKit.Policy;
using SeccompKit.Policy.Oci;
using SeccompKit.Syscalls;

namespace SeccompKit.Analysis.Lint;

/// <summary>SK301-SK312: syscalls that open the kernel or other processes to the sandbox, when the policy lets them run.</summary>
internal static class DangerChecks
{
    private static readonly (LintRule Rule, string[] Names)[] Plain =
    [
        (LintRules.Ptrace, ["ptrace"]),
        (LintRules.Bpf, ["bpf"]),
        (LintRules.Userfaultfd, ["userfaultfd"]),
        (LintRules.Keyring, ["keyctl", "add_key", "request_key"]),
        (LintRules.PerfEventOpen, ["perf_event_open"]),
        (LintRules.Kexec, ["kexec_load", "kexec_file_load"]),
        (LintRules.Modules, ["init_module", "finit_module", "delete_module", "create_module"]),
        (LintRules.Mount, ["mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "open_tree_attr", "mount_setattr"]),
        (LintRules.OpenByHandle, ["open_by_handle_at"]),
        (LintRules.HostAdministration, ["reboot", "swapon", "swapoff", "syslog", "acct", "settimeofday", "stime", "clock_settime",
            "iopl", "ioperm", "quotactl", "quotactl_fd", "lookup_dcookie", "vhangup", "nfsservctl", "uselib", "_sysctl", "get_kernel_syms", "query_module", "vm86", "vm86old"]),
    ];

    // linux/sched.h: the namespace flags of clone and unshare (CLONE_NEWTIME shares CSIGNAL's bits in clone's flags, so only unshare takes it).
    private static readonly (string Name, ulong Bit)[] NamespaceFlags =
    [
        ("CLONE_NEWNS", 0x20000), ("CLONE_NEWCGROUP", 0x2000000), ("CLONE_NEWUTS", 0x4000000), ("CLONE_NEWIPC", 0x8000000),
        ("CLONE_NEWUSER", 0x10000000), ("CLONE_NEWPID", 0x20000000), ("CLONE_NEWNET", 0x40000000),
    ];
    private const ulong CloneNamespaceMask = 0x7E020000;

    // linux/personality.h: personas that weaken the process.
    private static readonly (string Name, ulong Bit)[] RiskyPersonas = [("ADDR_NO_RANDOMIZE", 0x0040000), ("MMAP_PAGE_ZERO", 0x0100000), ("READ_IMPLIES_EXEC", 0x0400000)];

    public static IEnumerable<LintFinding> Run(LintContext c)
    {
        var f = c.Facts;
        var refusal = c.Policy.DefaultAction.LetsCallRun ? PolicyAction.Errno(1) : c.Policy.DefaultAction;
        foreach (var (rule, names) in Plain)
            foreach (var name in names)
            {
                var runs = f.Outcome(name);
                if (runs < Runs.Sometimes) continue;
                yield return c.Finding(rule, c.AllowPlace(name),
                    $"{name} is allowed {LintContext.How(runs)} on {string.Join(", ", f.AbisWhereRuns(name).Select(a => a.Name))}{Conditions(c, name, runs)}",
                    c.RefuseFix([name], refusal), name);
            }

        foreach (var (name, flagsArg) in new[] { ("clone", 0), ("unshare", 0) })
        {
            var abis = f.AbisWhereRuns(name).ToList();
            if (abis.Count == 0) continue;
            (string Name, ulong Bit)[] flags = name == "unshare" ? [.. NamespaceFlags, ("CLONE_NEWTIME", 0x80UL)] : NamespaceFlags;
            var open = flags.Where(fl => abis.Any(a => f.Decide(name, a, flagsArg == 0 ? fl.Bit : 0).LetsCallRun)).Select(fl => fl.Name).ToList();
            if (open.Count == 0) continue;
            string argName = SyscallSignatures.TryGet(name, out var sig) && sig.Arguments.Length > 0 ? sig.Arguments[0].Name : "arg0";
            yield return c.Finding(LintRules.Namespaces, c.AllowPlace(name),
                $"{name} is allowed with {string.Join(", ", open)}, so the sandbox can create namespaces (a user namespace gives it every capability inside)",
                c.Fix.LanguageOnly($"allow {{ {name}({argName} & 0x{(name == "unshare" ? CloneNamespaceMask | 0x80 : CloneNamespaceMask):x} == 0) }} instead of the rule that allows it",
                    $"allow {name} only with {{\"index\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\", \"value\": {(name == "unshare" ? CloneNamespaceMask | 0x80 : CloneNamespaceMask)}, \"valueTwo\": 0}} (as Docker's profile does without CAP_SYS_ADMIN)"), name);
        }
        if (f.Outcome("setns") >= Runs.Sometimes)
            yield return c.Finding(LintRules.Namespaces, c.AllowPlace("setns"),
                $"setns is allowed {LintContext.How(f.Outcome("setns"))}: it joins whatever namespace a descriptor refers to (nstype 0 accepts any)",
                c.RefuseFix(["setns"], refusal), "setns");
        if (f.Outcome("clone3") >= Runs.Sometimes)
            yield return c.Finding(LintRules.Namespaces, c.AllowPlace("clone3"),
                $"clone3 is allowed {LintContext.How(f.Outcome("clone3"))}: its flags are in struct clone_args, which seccomp cannot read, so it creates namespaces that clone's conditions refuse",
                c.RefuseFix(["clone3"], PolicyEvaluator.Enosys), "clone3");

        var persona = f.AbisWhereRuns("personality").ToList();
        if (persona.Count > 0)
        {
            var open = RiskyPersonas.Where(p => persona.Any(a => f.Decide("personality", a, p.Bit).LetsCallRun)).Select(p => p.Name).ToList();
            if (open.Count > 0)
                yield return c.Finding(LintRules.Personality, c.AllowPlace("personality"),
                    $"personality is allowed with {string.Join(", ", open)}",
                    c.Fix.LanguageOnly("allow { personality(persona in { 0x0, 0x8, 0x20008, 0xffffffff }) } instead of the rule that allows it",
                        "allow personality only for the values 0, 8, 131080 and 4294967295 (SCMP_CMP_EQ on index 0, one entry each), as Docker's profile does"), "personality");
        }
    }

    private static string Conditions(LintContext c, string name, Runs runs)
    {
        if (runs == Runs.Always) return "";
        var allowing = c.Policy.RulesFor(name).Where(r => r.Action.LetsCallRun && !r.IsUnconditional).ToList();
        return allowing.Count == 0 ? " (the default lets the calls no refusing rule matches run)" : $" (when {string.Join(" or ", allowing.Select(r => string.Join(" && ", r.Conditions)))})";
    }
}
