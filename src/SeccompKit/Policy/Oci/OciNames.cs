using System.Collections.Frozen;
using SeccompKit.Bpf;
using SeccompKit.Syscalls;

namespace SeccompKit.Policy.Oci;

/// <summary>
/// The OCI spellings runc accepts (libcontainer/seccomp/config.go: the <c>operators</c>, <c>actions</c>,
/// <c>archs</c> and <c>flags</c> tables). Lookups are case-sensitive, as Go map lookups are.
/// </summary>
public static class OciNames
{
    /// <summary>Action names. SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD (runc's getAction maps both to ActKillThread).</summary>
    public static FrozenDictionary<string, SeccompAction> Actions { get; } = new Dictionary<string, SeccompAction>
    {
        ["SCMP_ACT_KILL"] = SeccompAction.KillThread,
        ["SCMP_ACT_KILL_THREAD"] = SeccompAction.KillThread,
        ["SCMP_ACT_KILL_PROCESS"] = SeccompAction.KillProcess,
        ["SCMP_ACT_TRAP"] = SeccompAction.Trap,
        ["SCMP_ACT_ERRNO"] = SeccompAction.Errno,
        ["SCMP_ACT_TRACE"] = SeccompAction.Trace,
        ["SCMP_ACT_ALLOW"] = SeccompAction.Allow,
        ["SCMP_ACT_LOG"] = SeccompAction.Log,
        ["SCMP_ACT_NOTIFY"] = SeccompAction.UserNotif,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Comparison operator names.</summary>
    public static FrozenDictionary<string, ArgOperator> Operators { get; } = new Dictionary<string, ArgOperator>
    {
        ["SCMP_CMP_NE"] = ArgOperator.NotEqual,
        ["SCMP_CMP_LT"] = ArgOperator.Less,
        ["SCMP_CMP_LE"] = ArgOperator.LessOrEqual,
        ["SCMP_CMP_EQ"] = ArgOperator.Equal,
        ["SCMP_CMP_GE"] = ArgOperator.GreaterOrEqual,
        ["SCMP_CMP_GT"] = ArgOperator.Greater,
        ["SCMP_CMP_MASKED_EQ"] = ArgOperator.MaskedEqual,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Architecture names runc knows (no m68k, parisc or SuperH: runc refuses those).</summary>
    public static FrozenDictionary<string, Architecture> Architectures { get; } = new Dictionary<string, Architecture>
    {
        ["SCMP_ARCH_X86"] = Architecture.X86,
        ["SCMP_ARCH_X86_64"] = Architecture.X86_64,
        ["SCMP_ARCH_X32"] = Architecture.X32,
        ["SCMP_ARCH_ARM"] = Architecture.Arm,
        ["SCMP_ARCH_AARCH64"] = Architecture.Aarch64,
        ["SCMP_ARCH_MIPS"] = Architecture.Mips,
        ["SCMP_ARCH_MIPS64"] = Architecture.Mips64,
        ["SCMP_ARCH_MIPS64N32"] = Architecture.Mips64N32,
        ["SCMP_ARCH_MIPSEL"] = Architecture.Mipsel,
        ["SCMP_ARCH_MIPSEL64"] = Architecture.Mipsel64,
        ["SCMP_ARCH_MIPSEL64N32"] = Architecture.Mipsel64N32,
        ["SCMP_ARCH_PPC"] = Architecture.Ppc,
        ["SCMP_ARCH_PPC64"] = Architecture.Ppc64,
        ["SCMP_ARCH_PPC64LE"] = Architecture.Ppc64Le,
        ["SCMP_ARCH_RISCV64"] = Architecture.Riscv64,
        ["SCMP_ARCH_S390"] = Architecture.S390,
        ["SCMP_ARCH_S390X"] = Architecture.S390X,
        ["SCMP_ARCH_LOONGARCH64"] = Architecture.Loongarch64,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Flag names. runc knows TSYNC (accepted, no effect), LOG and SPEC_ALLOW; the runtime-spec also defines WAIT_KILLABLE_RECV.</summary>
    public static FrozenDictionary<string, PolicyFlags> Flags { get; } = new Dictionary<string, PolicyFlags>
    {
        ["SECCOMP_FILTER_FLAG_TSYNC"] = PolicyFlags.Tsync,
        ["SECCOMP_FILTER_FLAG_LOG"] = PolicyFlags.Log,
        ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"] = PolicyFlags.SpecAllow,
        ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] = PolicyFlags.WaitKillableRecv,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The OCI name of an architecture, or null if runc cannot express it.</summary>
    public static string? ArchitectureName(Architecture a) => Architectures.FirstOrDefault(p => p.Value == a).Key;

    /// <summary>The OCI name of an operator.</summary>
    public static string OperatorName(ArgOperator op) => Operators.First(p => p.Value == op).Key;

    /// <summary>The OCI name of an action kind (KILL_THREAD is written SCMP_ACT_KILL_THREAD).</summary>
    public static string ActionName(SeccompAction kind) => kind switch
    {
        SeccompAction.KillThread => "SCMP_ACT_KILL_THREAD",
        _ => Actions.First(p => p.Value == kind).Key,
    };

    internal static string List(IEnumerable<string> names) => string.Join(", ", names.Order(StringComparer.Ordinal));
}
