using System.Collections.Immutable;
using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Learning;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using PolicyGenerator = SeccompKit.TestKit.PolicyGenerator;

namespace SeccompKit.Tests.Learning;

/// <summary>One call as a learner sees it in a notification.</summary>
internal sealed record RecordedCall(uint Arch, int Nr, int Pid, ulong Ip, ulong[] Args)
{
    public override string ToString() => $"arch 0x{Arch:x8} nr 0x{Nr:x} pid {Pid} args [{string.Join(", ", Args.Select(a => $"0x{a:x}"))}]";
}

/// <summary>A learning run to synthesize from: the calls in order and the options.</summary>
internal sealed record LearningScenario(ImmutableArray<RecordedCall> Calls, bool OpenFlags, SynthesisOptions Options)
{
    public LearnedCalls Record()
    {
        var recorder = new SyscallRecorder(OpenFlags);
        foreach (var c in Calls) recorder.Record(c.Arch, c.Nr, c.Pid, c.Ip, c.Args);
        return recorder.Snapshot();
    }

    public override string ToString() =>
        $"{Calls.Length} calls (openFlags {OpenFlags}, args {Options.Arguments}, default {Options.DefaultAction}, extra [{string.Join(",", Options.Extra.Select(e => e.Syscall))}], baseline {Options.Baseline}, clone3 {Options.Clone3}):\n  " +
        string.Join("\n  ", Calls.Take(60)) + (Calls.Length > 60 ? "\n  ..." : "");
}

/// <summary>
/// Random recorded calls shaped like real programs: mostly x86_64, some i386 (int 0x80) and x32 (nr | 0x40000000), the
/// security arguments (<see cref="SecurityArguments"/>) drawn from small pools of real values so tuples repeat, with
/// garbage in the upper half of 32-bit arguments now and then, and every other argument random.
/// </summary>
internal static class LearningGenerators
{
    /// <summary>An AUDIT_ARCH no ABI has.</summary>
    public const uint UnknownAuditArch = 0x1234_5678;

    // CLONE_NEW* bits, one by one (the namespace flags Docker's profile conditions clone on).
    public static readonly ulong[] CloneNamespaceBits = [0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000];

    // Per syscall name: pools for the security arguments, by argument index.
    private static readonly Dictionary<string, Dictionary<int, ulong[]>> Pools = new(StringComparer.Ordinal)
    {
        // pthread_create's flags, fork's (SIGCHLD|CHILD_SETTID|CHILD_CLEARTID), vfork-like, and rarely a namespace flag.
        ["clone"] = new() { [0] = [0x3d0f00, 0x1200011, 0x4111, 0x11, 0x1200011 | 0x1000_0000] },
        ["socket"] = new() { [0] = [1, 2, 10, 16], [1] = [1, 2, 3, 0x80801, 0x80002], [2] = [0, 6, 17] },
        ["ioctl"] = new() { [1] = [0x5401, 0x5413, 0x541b, 0x5421, 0x80045430, 0xc0306201] },
        ["prctl"] = new() { [0] = [15, 16, 38, 22, 4] },
        ["fcntl"] = new() { [1] = [1, 2, 3, 4, 1030] },
        ["fcntl64"] = new() { [1] = [1, 2, 3, 4, 1030] },
        ["personality"] = new() { [0] = [0, 0xffffffff, 0x0040000] },
        ["mmap"] = new() { [2] = [0, 1, 3, 5, 7] },
        ["mmap2"] = new() { [2] = [0, 1, 3, 5] },
        ["mprotect"] = new() { [2] = [0, 1, 3, 5] },
        ["pkey_mprotect"] = new() { [2] = [1, 3] },
        ["openat"] = new() { [2] = [0, 0x80000, 0x90800, 0x241, 0x20041] },
        ["open"] = new() { [1] = [0, 0x80000, 0x241] },
    };

    private static readonly string[] X86_64Names =
    [
        "clone", "clone", "socket", "socket", "ioctl", "ioctl", "ioctl", "mmap", "mmap", "mprotect", "prctl", "fcntl", "personality", "pkey_mprotect",
        "openat", "openat", "open", "read", "write", "close", "getpid", "futex", "exit_group", "brk", "newfstatat", "execve", "rt_sigaction", "clone3", "wait4",
        "unshare", "unshare", "setns",
    ];

    private static readonly string[] X86Names = ["clone", "socket", "ioctl", "mmap2", "fcntl64", "mprotect", "socketcall", "read", "write", "getpid", "exit_group", "set_thread_area", "openat"];

    private static readonly string[] X32Names = ["ioctl", "read", "write", "mmap", "clone", "socket", "getpid", "prctl", "execve"];

    /// <summary>Numbers no name has on x86_64 (the gaps of the table and just past its end).</summary>
    public static readonly int[] UnnamedX86_64 = [.. Enumerable.Range(0, Architecture.X86_64.Syscalls.MaxNumber + 20).Where(n => !Architecture.X86_64.Syscalls.TryGetName(n, out _))];

    public static readonly Gen<ulong> AnyValue = Gen.Frequency(
        (3, Gen.ULong[0, 64]), (2, Gen.ULong), (1, Gen.Int[0, PolicyGeneratorsInteresting.Length - 1].Select(i => PolicyGeneratorsInteresting[i])));

    private static ulong[] PolicyGeneratorsInteresting => PolicyGenerator.Interesting;

    /// <summary>Arguments for <paramref name="name"/>: random, with the pooled security arguments (the 32-bit ones sometimes with garbage in the upper half, which the kernel ignores).</summary>
    public static Gen<ulong[]> Arguments(string name) =>
        Gen.Select(AnyValue.Array[6], Gen.Int[0, 1000].Array[3], Gen.Int[0, 9].Array[3], Gen.UInt.Array[3]).Select((args, pick, garbage, high) =>
        {
            if (!Pools.TryGetValue(name, out var pools)) return args;
            int k = 0;
            foreach (var (index, pool) in pools)
            {
                args[index] = pool[pick[k] % pool.Length] | (garbage[k] == 0 ? (ulong)high[k] << 32 : 0);
                k++;
            }
            return args;
        });

    private static Gen<RecordedCall> NamedCall(Architecture abi, string[] names) =>
        Gen.Select(Gen.Int[0, names.Length - 1], Gen.Int[100, 104], Gen.ULong[0x7f00_0000_0000, 0x7fff_ffff_ffff]).SelectMany((i, pid, ip) =>
            Arguments(names[i]).Select(args => new RecordedCall(abi.AuditArch, abi.Syscalls.GetNumber(names[i]), pid, ip, args)));

    /// <summary>A call the synthesizer cannot name: a gap of the x86_64 table, or an ABI SeccompKit does not know.</summary>
    public static readonly Gen<RecordedCall> UnknownCall =
        Gen.Select(Gen.Int[0, UnnamedX86_64.Length - 1], Gen.Bool, AnyValue.Array[6]).Select((i, foreignArch, args) => foreignArch
            ? new RecordedCall(UnknownAuditArch, i % 400, 100, 0x1000, args)
            : new RecordedCall(Architecture.X86_64.AuditArch, UnnamedX86_64[i], 100, 0x1000, args));

    /// <summary>A known call: x86_64 mostly, i386 and x32 sometimes.</summary>
    public static readonly Gen<RecordedCall> KnownCall = Gen.Frequency(
        (12, NamedCall(Architecture.X86_64, X86_64Names)),
        (1, NamedCall(Architecture.X86, X86Names)),
        (1, NamedCall(Architecture.X32, X32Names)));

    public static readonly Gen<PolicyAction> RefusingAction = Gen.OneOf(
        Gen.Const(PolicyAction.Errno(1)), Gen.Int[1, 4095].Select(PolicyAction.Errno), Gen.Const(PolicyAction.KillProcess),
        Gen.Const(PolicyAction.KillThread), Gen.Const(PolicyAction.Trap()));

    private static readonly string[] ExtraNames = ["getpid", "ioctl", "clone", "uname", "mkdirat", "setns"];

    /// <summary>Known calls only (and always some x86_64 ones, as any real program's execve is), with random options.</summary>
    public static Gen<LearningScenario> Scenarios(bool withUnknown = false, bool withExtra = false) =>
        Gen.Select(
            NamedCall(Architecture.X86_64, X86_64Names).Array[1, 8],
            Gen.Frequency((4, KnownCall), (withUnknown ? 1 : 0, UnknownCall)).Array[0, 120],
            Gen.Bool, Gen.Frequency((5, Gen.Const(ArgumentMode.Auto)), (1, Gen.Const(ArgumentMode.None))),
            Gen.Frequency((6, RefusingAction), (1, Gen.Const(PolicyAction.Log))),
            Gen.Int[0, ExtraNames.Length - 1].Array[0, withExtra ? 2 : 0],
            Gen.Bool, Gen.Int[0, 2])
        .Select((first, more, openFlags, mode, deflt, extra, baseline, clone3) => new LearningScenario([.. first, .. more], openFlags, new SynthesisOptions
        {
            Arguments = mode,
            DefaultAction = deflt,
            Extra = [.. extra.Distinct().Select(i => (ExtraNames[i], "test"))],
            Baseline = baseline,
            Clone3 = (Clone3Rule)clone3,
        }));

    /// <summary>
    /// Calls to probe a learned profile with: every recorded name with mutated security arguments (one pooled or random
    /// value, one CLONE_NEW* bit more), names never recorded, unnamed numbers, other ABIs.
    /// </summary>
    public static List<SeccompData> Probes(LearningScenario scenario, Random random)
    {
        var result = new List<SeccompData>();
        ulong Any() => random.Next(4) switch
        {
            0 => (ulong)random.Next(64),
            1 => PolicyGeneratorsInteresting[random.Next(PolicyGeneratorsInteresting.Length)],
            _ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40),
        };
        foreach (var c in scenario.Calls.DistinctBy(c => (c.Arch, c.Nr)))
        {
            for (int k = 0; k < 6; k++)
            {
                var args = (ulong[])c.Args.Clone();
                int i = random.Next(6);
                string? name = SyscallRecorder.ResolveAbi(c.Arch, c.Nr) is { } abi && abi.Syscalls.TryGetName(c.Nr, out var n) ? n : null;
                if (name is not null && Pools.TryGetValue(name, out var pools) && random.Next(3) > 0)
                {
                    var (index, pool) = pools.ElementAt(random.Next(pools.Count));
                    i = index;
                    args[i] = random.Next(3) == 0 ? Any() : pool[random.Next(pool.Length)];
                }
                else args[i] = Any();
                if (name == "clone" && k % 2 == 0) args[0] |= CloneNamespaceBits[random.Next(CloneNamespaceBits.Length)];
                if (k == 5) args[i] ^= 0xdead_beef_0000_0000; // only the upper half differs
                result.Add(new SeccompData(c.Nr, c.Arch, 0, args));
            }
        }
        foreach (var abi in new[] { Architecture.X86_64, Architecture.X86, Architecture.X32 })
            for (int k = 0; k < 25; k++)
            {
                var e = abi.Syscalls.All[random.Next(abi.Syscalls.All.Length)];
                result.Add(new SeccompData(e.Number, abi.AuditArch, 0, Any(), Any(), Any(), Any(), Any(), Any()));
            }
        for (int k = 0; k < 10; k++)
        {
            result.Add(new SeccompData(UnnamedX86_64[random.Next(UnnamedX86_64.Length)], Architecture.X86_64.AuditArch, 0, Any(), Any()));
            result.Add(new SeccompData(random.Next(500), Architecture.Aarch64.AuditArch, 0, Any(), Any()));
            result.Add(new SeccompData(random.Next(500), UnknownAuditArch, 0, Any(), Any()));
        }
        return result;
    }
}
