using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Linux.Tests.Compiler;

/// <summary>
/// The syscall names random policies may use on one ABI set: names every ABI of the set has, that our tables
/// and libseccomp 2.5.4 number alike on each of them (names 2.5.4 does not know, and the few it numbers
/// differently, are left out of both sides), that our reverse lookup gives back (no aliases), and that are
/// not reached through socketcall/ipc on any ABI of the set (libseccomp adds multiplexer rules for those on
/// x86; see <see cref="VectorGenerator"/>). The multiplexers themselves are left out too.
/// </summary>
public sealed class NamePool
{
    /// <summary>Builds the pool from our tables and libseccomp's (<see cref="LibseccompCompiler.NameTables"/>).</summary>
    public NamePool(IReadOnlyList<Architecture> abis, IReadOnlyDictionary<Architecture, Dictionary<string, int>> libseccomp)
    {
        Abis = abis;
        var names = new List<string>();
        var disagree = new List<string>();
        foreach (var e in abis[0].Syscalls.All)
        {
            var name = e.Name;
            if (name is "socketcall" or "ipc") continue;
            bool ok = true, differs = false;
            foreach (var abi in abis)
            {
                if (!abi.Syscalls.TryGetNumber(name, out int nr) || !abi.Syscalls.TryGetName(nr, out var back) || back != name ||
                    abi.Syscalls.TryGetMultiplexed(name, out _)) { ok = false; break; }
                if (!libseccomp[abi].TryGetValue(name, out int theirs) || theirs != nr) { ok = false; differs = libseccomp[abi].ContainsKey(name); break; }
            }
            if (ok) names.Add(name);
            else if (differs) disagree.Add(name);
        }
        Names = names;
        NumberedDifferently = disagree;
    }

    /// <summary>The ABI set.</summary>
    public IReadOnlyList<Architecture> Abis { get; }

    /// <summary>Usable names.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Names libseccomp numbers differently from our tables on some ABI of the set (reported, excluded).</summary>
    public IReadOnlyList<string> NumberedDifferently { get; }
}

/// <summary>
/// Seeded random policies whose meaning libseccomp 2.5.4 pins down (the constraints export_filters.py found):
/// one action per syscall, never the default action; per syscall one of three shapes — unconditional; one
/// rule with 1–3 conditions on distinct arguments (ANDed, every operator); 2–4 rules with one EQ/MASKED_EQ
/// condition each on the same argument (ORed). 2.5.4 does not OR rules whose conditions sit on different
/// arguments, nor range comparisons of one 64-bit argument across rules, so those shapes are not generated.
/// Conditions are 64-bit wide, except on x86-only policies where 32-bit width is also drawn (libseccomp
/// compares the low halves there anyway). TRAP carries data 0 (2.5.4 refuses TRAP data); ERRNO data is
/// 0..4094 (2.5.4 refuses 4095).
/// </summary>
public sealed class PolicyGenerator(Random rng)
{
    /// <summary>The ABI sets drawn from.</summary>
    public static readonly Architecture[][] AbiSets =
    [
        [Architecture.X86_64],
        [Architecture.X86_64, Architecture.X86, Architecture.X32],
        [Architecture.X86],
        [Architecture.Aarch64],
        [Architecture.X86_64, Architecture.Aarch64],
    ];

    /// <summary>Interesting constants: 0, 1, the 32-bit edges, 2^32, all ones.</summary>
    public static readonly ulong[] Interesting = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x1_0000_0000, 0x1_0000_0001, 0x8000_0000_0000_0000, ulong.MaxValue];

    /// <summary>A random action of any kind with data libseccomp accepts.</summary>
    public PolicyAction Action() => rng.Next(8) switch
    {
        0 => PolicyAction.KillProcess,
        1 => PolicyAction.KillThread,
        2 => PolicyAction.Trap(),
        3 => PolicyAction.Errno(rng.Next(3) == 0 ? rng.Next(0, 4) : rng.Next(0, 4095)),
        4 => PolicyAction.Trace(rng.Next(3) == 0 ? 0 : rng.Next(0, 65536)),
        5 => PolicyAction.Log,
        6 => PolicyAction.UserNotif,
        _ => PolicyAction.Allow,
    };

    private ulong Value(bool bits32)
    {
        ulong v = rng.Next(7) switch
        {
            0 or 1 => Interesting[rng.Next(Interesting.Length)],
            2 => (ulong)rng.Next(0, 256),
            3 => (uint)rng.NextInt64(0, 1L << 32),
            4 => ((ulong)rng.Next(1, 16) << 32) | (uint)rng.NextInt64(0, 1L << 32),
            5 => 0xffff_ffff_0000_0000 | (uint)rng.NextInt64(0, 1L << 32),
            _ => (ulong)rng.NextInt64() ^ ((ulong)rng.Next(2) << 63),
        };
        return bits32 ? v & uint.MaxValue : v;
    }

    private ArgCondition Condition(int index, ArgOperator op, bool bits32)
    {
        var width = bits32 ? ArgumentWidth.Bits32 : ArgumentWidth.Bits64;
        if (op != ArgOperator.MaskedEqual) return new ArgCondition(index, op, Value(bits32), 0, width);
        ulong mask = Value(bits32);
        return new ArgCondition(index, op, Value(bits32) & mask, mask, width);
    }

    /// <summary>A random policy over one of <see cref="AbiSets"/> with 1–40 rules.</summary>
    public SeccompPolicy Next(NamePool pool)
    {
        var abis = pool.Abis;
        bool only32 = abis.All(a => !a.Is64Bit);
        var defaultAction = Action();
        int target = rng.Next(1, 41);
        var names = pool.Names.OrderBy(_ => rng.Next()).ToList();
        var rules = new List<SyscallRule>();
        foreach (var name in names)
        {
            if (rules.Count >= target) break;
            var action = Action();
            while (action == defaultAction) action = Action();
            int argc = SyscallSignatures.TryGet(name, out var sig) ? sig.Arguments.Length : 6;
            int shape = argc == 0 ? 0 : rng.Next(3);
            bool bits32 = only32 && rng.Next(2) == 0;
            switch (shape)
            {
                case 0:
                    rules.Add(new SyscallRule(name, action));
                    break;
                case 1:
                    var idx = Enumerable.Range(0, argc).OrderBy(_ => rng.Next()).Take(rng.Next(1, Math.Min(3, argc) + 1)).Order();
                    rules.Add(new SyscallRule(name, action, idx.Select(i => Condition(i, (ArgOperator)rng.Next(7), bits32)).ToList()));
                    break;
                default:
                    int arg = rng.Next(argc);
                    int n = rng.Next(2, 5);
                    var seen = new HashSet<ArgCondition>();
                    for (int k = 0; k < n; k++)
                    {
                        var c = Condition(arg, rng.Next(2) == 0 ? ArgOperator.Equal : ArgOperator.MaskedEqual, bits32);
                        if (seen.Add(c)) rules.Add(new SyscallRule(name, action, [c]));
                    }
                    break;
            }
        }
        var badArch = rng.Next(5) == 0 ? Action() : PolicyAction.KillProcess;
        return new SeccompPolicy(defaultAction, rules, abis, badArch);
    }
}
