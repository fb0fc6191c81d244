using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace SeccompKit.Analysis.Lint;

/// <summary>
/// The catalog of lint rules. IDs are stable: SK0xx the linter itself, SK1xx architectures, SK2xx gaps in a
/// deny-list, SK3xx dangerous allows, SK4xx argument comparisons, SK5xx rules that never apply, SK6xx defaults and
/// runtimes. docs/LINT.md explains each with its sources.
/// </summary>
public static class LintRules
{
    private static LintRule R(string id, string name, LintSeverity s, string summary, string help, string reference) => new(id, name, s, summary, help, reference);

    /// <summary>SK001: a suppression matched no finding.</summary>
    public static LintRule UnusedSuppression { get; } = R("SK001", "unused-suppression", LintSeverity.Note,
        "A suppression (`# lint: ignore` comment or --ignore) matches no finding.",
        "A suppression that matches nothing hides nothing today but would hide a future finding silently; remove it, or fix its rule ID or place.",
        "docs/LINT.md#suppressions");

    /// <summary>SK101: calls from uncovered ABIs are allowed.</summary>
    public static LintRule BadArchAllows { get; } = R("SK101", "bad-arch-allows", LintSeverity.Error,
        "The bad-architecture action lets calls from ABIs the policy does not cover run, so every rule can be bypassed through another ABI.",
        "On x86_64 a process can call through the i386 ABI (int 0x80, AUDIT_ARCH_I386) or the x32 ABI (nr | 0x40000000); syscall numbers mean other syscalls there, so a filter must refuse every ABI it does not check (seccomp(2): 'the filter must check the arch field'). Use on-bad-arch kill-process.",
        "seccomp(2) NOTES on arch; kafel#19");

    /// <summary>SK102: a refused syscall runs on x32 or i386.</summary>
    public static LintRule CompatBypass { get; } = R("SK102", "x32-i386-bypass", LintSeverity.Error,
        "A syscall the policy refuses on x86_64 runs on the x32 or i386 ABI the policy also covers, under its own name or a 32-bit variant (socketcall, ipc, mmap2, *32, *64, *_time64).",
        "Deny-lists are written with x86_64 names; i386 reaches the same kernel code through multiplexers (socketcall(2), ipc(2)) and 32-bit variants (mmap2, fcntl64, setuid32...), and x32 has its own numbers; a deny that misses them is bypassed by a 32-bit or x32 binary (kafel#19). Refuse the variant too, or stop covering the compat ABI.",
        "kafel#19; socketcall(2); ipc(2); syscalls(2)");

    /// <summary>SK103: compat ABIs covered without x86_64.</summary>
    public static LintRule ArchWithoutNative { get; } = R("SK103", "arch-without-native", LintSeverity.Warning,
        "The policy covers x86 or x32 but not x86_64, so every 64-bit program gets the bad-architecture action on its first call.",
        "On an x86_64 host ordinary programs call through AUDIT_ARCH_X86_64 without the x32 bit; a policy that lists only the compat ABIs kills them. Add x86_64 to the architectures.",
        "seccomp(2) arch field; audit.h AUDIT_ARCH_*");

    /// <summary>SK104: a deny-list without the compat ABIs.</summary>
    public static LintRule DenyListCompatUncovered { get; } = R("SK104", "deny-list-compat-uncovered", LintSeverity.Note,
        "A deny-list covers x86_64 but not x86/x32: 32-bit and x32 programs get the bad-architecture action instead of the deny-list.",
        "Not a bypass (the bad-architecture action refuses them), but a deny-list usually means 'everything but these', and 32-bit programs are then killed outright. Cover them (and check SK102), or keep it so on purpose.",
        "seccomp(2) arch field");

    /// <summary>SK201: execveat runs while execve is refused (or the reverse).</summary>
    public static LintRule ExecGap { get; } = R("SK201", "exec-gap", LintSeverity.Warning,
        "execve is refused but execveat runs (or the reverse): both execute a program.",
        "execveat(2) with AT_EMPTY_PATH or a path does what execve(2) does; refusing one only is no refusal. Refuse both with the same action.",
        "execveat(2); seccomp-tools audit syscall-alt-gap");

    /// <summary>SK202: one of open/openat/openat2/creat refused, another runs.</summary>
    public static LintRule OpenGap { get; } = R("SK202", "open-gap", LintSeverity.Warning,
        "One of open, openat, openat2, creat is refused but another runs: they all open files.",
        "open(2), openat(2), openat2(2) and creat(2) reach the same do_sys_open path; openat2's flags live in a struct (struct open_how) that seccomp cannot read, so a filter on openat's flags is bypassed by openat2 unless openat2 is refused (ENOSYS makes libc fall back to openat).",
        "openat2(2); open(2)");

    /// <summary>SK203: io_uring runs next to refused read/write/network calls.</summary>
    public static LintRule IoUringGap { get; } = R("SK203", "io-uring-gap", LintSeverity.Warning,
        "io_uring runs while read/write, file or network syscalls it can perform are refused.",
        "Operations submitted to an io_uring (IORING_OP_READ, WRITE, OPENAT, SENDMSG, SOCKET, CONNECT...) are executed by the kernel without passing the seccomp filter, so refusing the syscalls does not refuse the operations (Docker removed io_uring from its default profile for this, moby#46762). Refuse io_uring_setup, io_uring_enter and io_uring_register.",
        "io_uring_setup(2); io_uring_enter(2); moby#46762");

    /// <summary>SK204: process_vm_* runs while ptrace is refused.</summary>
    public static LintRule ProcessMemoryGap { get; } = R("SK204", "process-memory-gap", LintSeverity.Warning,
        "ptrace is refused but process_vm_readv/process_vm_writev (or pidfd_getfd) run: they read and write other processes' memory (and files) without ptrace.",
        "process_vm_readv(2)/process_vm_writev(2) need the same PTRACE_MODE_ATTACH_REALCREDS permission as ptrace(2) and give the same access to another process's memory; pidfd_getfd(2) steals its file descriptors. Refuse them with ptrace.",
        "process_vm_readv(2); pidfd_getfd(2); ptrace(2) 'Ptrace access mode checking'");

    /// <summary>SK205: another family of equivalent syscalls is split.</summary>
    public static LintRule FamilyGap { get; } = R("SK205", "family-gap", LintSeverity.Warning,
        "A syscall is refused but an equivalent one (rename/renameat2, unlink/unlinkat, dup2/dup3, accept/accept4, fork/clone...) runs.",
        "The kernel offers most operations through several syscalls (the *at variants, the 2/3/4 revisions); a deny-list has to name them all. ERRNO(ENOSYS) refusals are not counted: they ask the caller to fall back. In an allow-list only refusals written as rules count: that the default refuses a syscall the list does not name is what an allow-list is.",
        "syscalls(2); seccomp-tools audit syscall-alt-gap");

    /// <summary>SK301: ptrace allowed.</summary>
    public static LintRule Ptrace { get; } = R("SK301", "dangerous-ptrace", LintSeverity.Warning,
        "ptrace is allowed.",
        "ptrace(2) reads and writes the memory and registers of other processes of the same user; before Linux 4.8 a tracer could also change a tracee's syscall after seccomp checked it (seccomp(2), SECCOMP_RET_TRACE: before Linux 4.8 the seccomp check is not run again after the tracer is notified). Docker allows it only from kernel 4.8 on. Refuse it unless the program debugs.",
        "ptrace(2); seccomp(2) SECCOMP_RET_TRACE; moby profile minKernel 4.8");

    /// <summary>SK302: bpf allowed.</summary>
    public static LintRule Bpf { get; } = R("SK302", "dangerous-bpf", LintSeverity.Warning,
        "bpf is allowed.",
        "bpf(2) loads programs into the kernel; with CAP_BPF/CAP_SYS_ADMIN (or unprivileged BPF enabled) it is a large kernel attack surface and a tracing tool. Docker allows it only with CAP_SYS_ADMIN or CAP_BPF.",
        "bpf(2); kernel.unprivileged_bpf_disabled in Documentation/admin-guide/sysctl/kernel.rst");

    /// <summary>SK303: userfaultfd allowed.</summary>
    public static LintRule Userfaultfd { get; } = R("SK303", "dangerous-userfaultfd", LintSeverity.Warning,
        "userfaultfd is allowed.",
        "userfaultfd(2) lets a process stall the kernel at a chosen page fault, the standard way to win kernel race conditions in exploits; vm.unprivileged_userfaultfd restricts it since 5.2. Docker allows it only with CAP_SYS_PTRACE.",
        "userfaultfd(2); Documentation/admin-guide/sysctl/vm.rst unprivileged_userfaultfd");

    /// <summary>SK304: keyring syscalls allowed.</summary>
    public static LintRule Keyring { get; } = R("SK304", "dangerous-keyring", LintSeverity.Warning,
        "keyctl, add_key or request_key is allowed.",
        "The kernel keyring is not namespaced: a container that reaches keyctl(2)/add_key(2)/request_key(2) sees and fills keyrings shared with the host. Docker refuses them.",
        "keyctl(2); keyrings(7); moby default profile");

    /// <summary>SK305: perf_event_open allowed.</summary>
    public static LintRule PerfEventOpen { get; } = R("SK305", "dangerous-perf-event-open", LintSeverity.Warning,
        "perf_event_open is allowed.",
        "perf_event_open(2) exposes kernel and other processes' activity and has had many exploitable bugs; kernel.perf_event_paranoid limits it. Docker allows it only with CAP_SYS_ADMIN or CAP_PERFMON.",
        "perf_event_open(2) 'perf_event related configuration files'");

    /// <summary>SK306: kexec allowed.</summary>
    public static LintRule Kexec { get; } = R("SK306", "dangerous-kexec", LintSeverity.Error,
        "kexec_load or kexec_file_load is allowed.",
        "kexec_load(2) replaces the running kernel; nothing in a sandbox needs it (CAP_SYS_BOOT). Refuse it.",
        "kexec_load(2)");

    /// <summary>SK307: module loading allowed.</summary>
    public static LintRule Modules { get; } = R("SK307", "dangerous-kernel-modules", LintSeverity.Error,
        "init_module, finit_module or delete_module is allowed.",
        "init_module(2)/finit_module(2) run code in the kernel and delete_module(2) removes it (CAP_SYS_MODULE); nothing in a sandbox needs them.",
        "init_module(2); delete_module(2)");

    /// <summary>SK308: the mount family allowed.</summary>
    public static LintRule Mount { get; } = R("SK308", "dangerous-mount", LintSeverity.Warning,
        "A syscall of the mount family is allowed (mount, umount2, pivot_root, or the new mount API: fsopen, fsconfig, fsmount, fspick, move_mount, open_tree, mount_setattr).",
        "Mounting changes what paths mean for the process and, inside a user namespace it created, needs no host privilege; the new mount API (Linux 5.2+) does what mount(2) does through other syscalls, so refusing mount alone is not enough.",
        "mount(2); fsopen(2); move_mount(2); open_tree(2); mount_setattr(2)");

    /// <summary>SK309: namespace creation allowed.</summary>
    public static LintRule Namespaces { get; } = R("SK309", "dangerous-namespaces", LintSeverity.Warning,
        "unshare, clone or setns is allowed with namespace flags, or clone3 is allowed (its flags cannot be checked).",
        "A new user namespace gives a process every capability inside it and opens kernel code (mount, netfilter...) to unprivileged users; setns(2) joins any namespace a descriptor refers to. clone3(2) passes its flags in a struct seccomp cannot read, so only refusing it (with ENOSYS, so glibc falls back to clone) keeps the clone flags checked. Allow clone/unshare only without CLONE_NEW* flags, as Docker does without CAP_SYS_ADMIN.",
        "unshare(2); clone(2); clone3(2); setns(2); user_namespaces(7)");

    /// <summary>SK310: personality allowed with dangerous personas.</summary>
    public static LintRule Personality { get; } = R("SK310", "dangerous-personality", LintSeverity.Warning,
        "personality is allowed with a persona that weakens the process (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO).",
        "personality(2) flags turn off ASLR (ADDR_NO_RANDOMIZE), make readable memory executable (READ_IMPLIES_EXEC) or map page zero (MMAP_PAGE_ZERO, a NULL-dereference exploit aid). Docker allows only 0x0, 0x8 (PER_LINUX32), 0x20008 and 0xffffffff (query).",
        "personality(2); moby default profile");

    /// <summary>SK311: open_by_handle_at allowed.</summary>
    public static LintRule OpenByHandle { get; } = R("SK311", "dangerous-open-by-handle-at", LintSeverity.Error,
        "open_by_handle_at is allowed.",
        "open_by_handle_at(2) opens any file of a mounted filesystem by its handle, ignoring the mount namespace and chroot: the 'shocker' container escape (CAP_DAC_READ_SEARCH). Docker refuses it.",
        "open_by_handle_at(2); Docker 'shocker' (2014)");

    /// <summary>SK312: host administration syscalls allowed.</summary>
    public static LintRule HostAdministration { get; } = R("SK312", "dangerous-host-administration", LintSeverity.Warning,
        "A host-administration syscall is allowed (reboot, swapon/swapoff, syslog, acct, settimeofday/clock_settime, iopl/ioperm, quotactl, lookup_dcookie, vhangup, uselib, _sysctl, vm86...).",
        "These act on the whole machine (clock, swap, kernel log, I/O ports) and are not namespaced; Docker refuses them unless a capability grants them. adjtimex and clock_adjtime are left out: with modes 0 they only read the clock, and changing it needs CAP_SYS_TIME (adjtimex(2)), which is why Docker allows them.",
        "reboot(2); swapon(2); syslog(2); settimeofday(2); ioperm(2); quotactl(2)");

    /// <summary>SK401: 64-bit comparison of a 32-bit argument.</summary>
    public static LintRule WideCompare { get; } = R("SK401", "64-bit-compare-on-32-bit-argument", LintSeverity.Warning,
        "A condition compares all 64 bits of an argument the kernel reads as 32 bits (int, unsigned int...): the caller chooses the upper half and so the comparison's result.",
        "The syscall wrapper truncates an int argument, but seccomp sees the whole register: with garbage in the upper half, == fails and != succeeds while the kernel acts on the low half (libseccomp#383). Compare the low 32 bits (argument:32 in the policy language; an OCI profile needs SCMP_CMP_MASKED_EQ with mask 0xffffffff).",
        "libseccomp#383; syscall signatures from tracefs (data/syscall-signatures.tsv)");

    /// <summary>SK501: a rule shadowed by another.</summary>
    public static LintRule Shadowed { get; } = R("SK501", "shadowed-rule", LintSeverity.Warning,
        "A rule can never decide: another rule for the same syscall matches every call it matches and wins (more restrictive, or as restrictive and earlier).",
        "Among matching rules the most restrictive action wins (the kernel's precedence order; libseccomp and runc keep it), so the shadowed rule's action is never taken. Remove it, or narrow the other rule.",
        "seccomp(2) 'Filter return values' precedence; PolicyEvaluator");

    /// <summary>SK502: contradictory conditions.</summary>
    public static LintRule Contradiction { get; } = R("SK502", "contradictory-conditions", LintSeverity.Warning,
        "A rule's conditions cannot all hold (e.g. arg == 1 && arg == 2), so it never applies.",
        "Conditions of one rule are ANDed; when no argument value satisfies them all, the rule is dead code and the calls it meant to handle get another action.",
        "seccomp_rule_add(3) 'all of the comparisons must be true'");

    /// <summary>SK503: a rule for a syscall that is never filtered by its rules.</summary>
    public static LintRule NeverReached { get; } = R("SK503", "rule-never-reached", LintSeverity.Warning,
        "A rule's syscall is above the ENOSYS cutoff on every covered ABI that has it, so the rule never applies.",
        "runc's ENOSYS stub answers every number above the highest one the profile names before the rules are tried (patchbpf); a rule for such a syscall is never reached.",
        "runc libcontainer/seccomp/patchbpf");

    /// <summary>SK504: a rule that does what the default does.</summary>
    public static LintRule SameAsDefault { get; } = R("SK504", "rule-same-as-default", LintSeverity.Note,
        "Every rule for a syscall has the default action, so they change nothing.",
        "A rule whose action is the default action matters only if it overrides a less restrictive rule for the same calls; here there is none. runc skips such OCI entries entirely.",
        "runc libcontainer/seccomp (action == default skipped)");

    /// <summary>SK601: no ENOSYS for syscalls newer than the profile.</summary>
    public static LintRule NoEnosysForNew { get; } = R("SK601", "errno-for-newer-syscalls", LintSeverity.Warning,
        "The default action is an errno other than ENOSYS and no ENOSYS cutoff is set: syscalls newer than the profile fail with that errno instead of ENOSYS, so programs do not fall back to older ones.",
        "Libraries probe new syscalls (clone3, openat2, faccessat2, statx...) and fall back only on ENOSYS; EPERM makes them fail. runc answers numbers above the profile's highest with ENOSYS (patchbpf); give enosys-above for each ABI, or answer the new syscalls ENOSYS.",
        "runc libcontainer/seccomp/patchbpf (ENOSYS stub); moby#42680");

    /// <summary>SK602: clone3 refused with an errno other than ENOSYS.</summary>
    public static LintRule Clone3Errno { get; } = R("SK602", "clone3-not-enosys", LintSeverity.Error,
        "clone3 is refused with an errno other than ENOSYS while clone runs: glibc 2.34+ then fails pthread_create, fork and posix_spawn instead of falling back to clone.",
        "glibc calls clone3 first and uses clone only when clone3 returns ENOSYS; an EPERM breaks thread and process creation (moby#42680, fixed in Docker's profile by moby#42681). Answer clone3 ERRNO(ENOSYS).",
        "clone(2) clone3; moby#42680; moby#42681");

    /// <summary>SK603: KILL_THREAD default.</summary>
    public static LintRule KillThreadDefault { get; } = R("SK603", "kill-thread-default", LintSeverity.Warning,
        "The default action is KILL_THREAD: one thread dies and the rest of the process goes on in an inconsistent state (locks held, work half done).",
        "seccomp(2): SECCOMP_RET_KILL_THREAD terminates the thread only; SECCOMP_RET_KILL_PROCESS (Linux 4.14+) is what a filter usually means, and it also produces a core dump. Use KILL_PROCESS.",
        "seccomp(2) SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS");

    /// <summary>SK604: NOTIFY on syscalls the runtime itself makes.</summary>
    public static LintRule NotifyRuntimeSyscall { get; } = R("SK604", "notify-runtime-syscall", LintSeverity.Error,
        "A syscall the container runtime makes itself after installing the filter (before handing the listener to the agent) is notified, or the default is NOTIFY where the runtime refuses it: the container never starts.",
        "runc installs the filter, then still calls write and others before the agent has the notification descriptor; a notified call there waits for an answer nobody can give (runc#4328), and runc refuses NOTIFY on write and as the default. The measured sets are data/runtimes/*.json (beforeHandoff). Give those syscalls another action.",
        "runc#4328; docs/RUNTIME-SYSCALLS.md; seccomp_unotify(2)");

    /// <summary>Every rule, by ID.</summary>
    public static ImmutableArray<LintRule> All { get; } =
    [
        UnusedSuppression, BadArchAllows, CompatBypass, ArchWithoutNative, DenyListCompatUncovered,
        ExecGap, OpenGap, IoUringGap, ProcessMemoryGap, FamilyGap,
        Ptrace, Bpf, Userfaultfd, Keyring, PerfEventOpen, Kexec, Modules, Mount, Namespaces, Personality, OpenByHandle, HostAdministration,
        WideCompare, Shadowed, Contradiction, NeverReached, SameAsDefault,
        NoEnosysForNew, Clone3Errno, KillThreadDefault, NotifyRuntimeSyscall,
    ];

    private static readonly FrozenDictionary<string, LintRule> ById = All.ToFrozenDictionary(r => r.Id, StringComparer.OrdinalIgnoreCase);

    /// <summary>The rule with <paramref name="id"/> (any case).</summary>
    public static bool TryGet(string id, [NotNullWhen(true)] out LintRule? rule) => ById.TryGetValue(id, out rule);

    /// <summary><c>error</c>, <c>warning</c>, <c>note</c> (also SARIF's level names).</summary>
    public static string SeverityName(LintSeverity s) => s switch
    {
        LintSeverity.Error => "error",
        LintSeverity.Warning => "warning",
        _ => "note",
    };
}
