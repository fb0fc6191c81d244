using System.Text.Json.Nodes;
using SeccompKit.Linux.Audit;
using SeccompKit.Syscalls;

namespace SeccompKit.TestKit;

/// <summary>
/// What one container run did after its runtime installed the seccomp filter, from the kernel's AUDIT_SECCOMP records
/// under a profile whose default action is SCMP_ACT_LOG (every syscall allowed and logged), split by the record's
/// <c>exe=</c>: the container's processes run <see cref="OciBundle.ContainerExecutable"/>, anything else is the
/// runtime's init (runc's <c>runc:[2:INIT]</c> runs a memfd copy of runc and crun its own binary; after pivot_root
/// both show as <c>exe="/"</c>) up to and including its execve of the container process.
/// </summary>
/// <param name="Result">How the run ended.</param>
/// <param name="Runtime">The runtime's records, in the order the kernel emitted them.</param>
/// <param name="Container">The container processes' records, in order.</param>
public sealed record LoggedRun(OciRunResult Result, IReadOnlyList<SeccompAuditRecord> Runtime, IReadOnlyList<SeccompAuditRecord> Container)
{
    /// <summary>The x86_64 names of the syscalls the runtime made after installing the filter, sorted.</summary>
    public SortedSet<string> RuntimeSyscalls => new(Runtime.Select(SyscallRecorder.Name), StringComparer.Ordinal);

    /// <summary>The x86_64 names of the syscalls the container's processes made, sorted.</summary>
    public SortedSet<string> ContainerSyscalls => new(Container.Select(SyscallRecorder.Name), StringComparer.Ordinal);
}

/// <summary>Runs a container under a log-everything profile and collects its AUDIT_SECCOMP records (root only).</summary>
/// <remarks>Also used by tools/MeasureRuntimeSyscalls (a project reference): no xunit in SeccompKit.TestKit.</remarks>
public static class SyscallRecorder
{
    private const string ActionsLogged = "/proc/sys/kernel/seccomp/actions_logged";

    /// <summary>The profile: allow and log every syscall of the three x86 ABIs.</summary>
    public static JsonObject LogEverything() => new()
    {
        ["defaultAction"] = "SCMP_ACT_LOG",
        ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    };

    /// <summary>Why records cannot be collected here (empty when they can).</summary>
    public static string WhyUnavailable()
    {
        if (!File.Exists(ActionsLogged)) return $"{ActionsLogged} is missing: this kernel has no seccomp action logging (4.14+)";
        var logged = File.ReadAllText(ActionsLogged).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!logged.Contains("log"))
            return $"{ActionsLogged} is '{string.Join(' ', logged)}': SCMP_ACT_LOG records are not emitted; as root: echo '{string.Join(' ', logged.Append("log"))}' > {ActionsLogged}";
        using var audit = SeccompAuditLog.TryOpen(out var whyNot);
        if (audit is null) return whyNot;
        if (audit.Source != AuditSource.NetlinkMulticast)
            return "the audit netlink multicast group cannot be read (needs CAP_AUDIT_READ); /dev/kmsg is rate limited and would lose records";
        return "";
    }

    /// <summary>
    /// Runs <paramref name="spec"/> (its seccomp replaced by <see cref="LogEverything"/>) and returns the records of the
    /// container init and every process below it, split into the runtime's and the container's.
    /// </summary>
    /// <exception cref="InvalidOperationException">Records cannot be collected (see <see cref="WhyUnavailable"/>), or they are not in the order a runtime makes them.</exception>
    public static LoggedRun Record(OciBundle bundle, OciRuntime runtime, OciContainerSpec spec, TimeSpan timeout, OciLaunchMode mode = OciLaunchMode.Run) =>
        Record(bundle, runtime, spec.WithSeccomp(LogEverything()), timeout, mode, requireLogAll: true);

    /// <summary>
    /// Runs <paramref name="spec"/> with its own seccomp object and returns the records it produced (kills always; ERRNO and
    /// the rest only with SCMP_ACT_LOG or the LOG flag), split as <see cref="Record(OciBundle, OciRuntime, OciContainerSpec, TimeSpan, OciLaunchMode)"/> does.
    /// </summary>
    public static LoggedRun RecordAsIs(OciBundle bundle, OciRuntime runtime, OciContainerSpec spec, TimeSpan timeout, OciLaunchMode mode = OciLaunchMode.Run) =>
        Record(bundle, runtime, spec, timeout, mode, requireLogAll: false);

    private static LoggedRun Record(OciBundle bundle, OciRuntime runtime, OciContainerSpec spec, TimeSpan timeout, OciLaunchMode mode, bool requireLogAll)
    {
        using var audit = SeccompAuditLog.TryOpen(out var whyNot) ?? throw new InvalidOperationException("cannot read audit records: " + whyNot);
        if (audit.Source != AuditSource.NetlinkMulticast)
            throw new InvalidOperationException("the audit netlink multicast group cannot be read, and /dev/kmsg is rate limited: records would be lost (run as root)");
        using var tree = ProcessTree.TryOpen(out var whyNoTree) ?? throw new InvalidOperationException("cannot follow the container's forks: " + whyNoTree);

        var result = bundle.Run(runtime, spec, timeout, mode);
        int pid = result.ContainerPid;

        // Records reach user space through kauditd a little after the event: for a container that ran, wait for the
        // init's own exit (its last syscall); then for quiet.
        bool ran = pid != 0 && audit.WaitFor(r => r.Pid == pid && r.Exe == OciBundle.ContainerExecutable && r.SyscallName is "exit_group" or "exit",
            requireLogAll ? TimeSpan.FromSeconds(5) : TimeSpan.FromMilliseconds(300)) is not null;
        audit.Settle(TimeSpan.FromMilliseconds(ran ? 50 : 200), TimeSpan.FromSeconds(2));
        tree.Sync();
        // Every process of the container descends from the runtime command we started, including an init that died
        // before the runtime wrote its pid file; the runtime's own processes are unfiltered and make no records.
        tree.SetRoot(result.RuntimePid);

        var mine = audit.Drain().Where(r => tree.Contains(r.Pid)).ToList();
        var foreign = mine.FirstOrDefault(r => r.Architecture != Architecture.X86_64);
        if (foreign is not null)
            throw new InvalidOperationException($"a record for another ABI ({foreign.Describe()}, exe {foreign.Exe}): the measurement knows only x86_64");
        var runtimeRecords = mine.Where(r => r.Exe != OciBundle.ContainerExecutable).ToList();
        var containerRecords = mine.Where(r => r.Exe == OciBundle.ContainerExecutable).ToList();
        if (requireLogAll)
        {
            if (pid == 0) throw new InvalidOperationException($"{runtime.Name} wrote no pid file: the container was not created ({result})");
            if (!ran)
                throw new InvalidOperationException($"no exit record from the container init (pid {pid}) under {runtime.Name}: the container did not run, or records were lost ({result})");
            // The runtime's init calls execve last: nothing of it may follow the container's first record.
            int firstContainer = mine.FindIndex(r => r.Pid == pid && r.Exe == OciBundle.ContainerExecutable);
            int lastRuntime = mine.FindLastIndex(r => r.Pid == pid && r.Exe != OciBundle.ContainerExecutable);
            if (lastRuntime > firstContainer || lastRuntime < 0 || Name(mine[lastRuntime]) != "execve")
                throw new InvalidOperationException($"the records of pid {pid} are not runtime…execve then container: " +
                    string.Join(", ", mine.Where(r => r.Pid == pid).Select(r => $"{r.Exe}:{Name(r)}")));
        }
        return new LoggedRun(result, runtimeRecords, containerRecords);
    }

    /// <summary>The record's syscall name in the x86_64 table, or "#NR" when it has none.</summary>
    public static string Name(SeccompAuditRecord record) => record.SyscallName ?? $"#{record.Syscall}";
}
