using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.TestKit;

/// <summary>
/// The tests' random policies, in two distributions. <see cref="Policies"/> (CsCheck, shrinking) draws any valid
/// policy — any action with any data, any operator and width, rules that collide and overlap, ENOSYS cutoffs — for the
/// pure core's properties, with <see cref="Vectors"/> the inputs that reach every decision of one.
/// <see cref="Next"/> (seeded <see cref="Random"/>) draws the policies whose meaning libseccomp 2.5.4 pins down, for the
/// differential tests against libseccomp and the kernel (the constraints export_filters.py found): one action per
/// syscall, never the default action; per syscall one of three shapes — unconditional; one rule with 1–3 conditions on
/// distinct arguments (ANDed, every operator); 2–4 rules with one EQ/MASKED_EQ condition each on the same argument
/// (ORed). 2.5.4 does not OR rules whose conditions sit on different arguments, nor range comparisons of one 64-bit
/// argument across rules, so those shapes are not drawn there. Conditions are 64-bit wide, except on x86-only policies
/// where 32-bit width is also drawn (libseccomp compares the low halves there anyway). TRAP carries data 0 (2.5.4
/// refuses TRAP data); ERRNO data is 0..4094 (2.5.4 refuses 4095). Both draw their constants from <see cref="Interesting"/>.
/// </summary>
/// <param name="rng">The seeded source of <see cref="Next"/> and <see cref="Action"/>.</param>
public sealed class PolicyGenerator(Random rng)
{
    /// <summary>The ABI sets <see cref="Policies"/> draws from; the first five are <see cref="AbiSets"/>.</summary>
    public static readonly Architecture[][] ArchSets =
    [
        [Architecture.X86_64],
        [Architecture.X86_64, Architecture.X86, Architecture.X32],
        [Architecture.X86],
        [Architecture.Aarch64],
        [Architecture.X86_64, Architecture.Aarch64],
        [Architecture.X32],
        [Architecture.X32, Architecture.X86],
        [Architecture.S390X, Architecture.S390],
        [Architecture.Mips64N32, Architecture.Mipsel],
    ];

    /// <summary>Interesting constants: small numbers, the 32-bit edges and their neighbours, 2^32 and above, the 64-bit edges.</summary>
    public static readonly ulong[] Interesting =
    [
        0, 1, 2, 3, 0xff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x1_0000_0000, 0x1_0000_0001,
        0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0xffff_ffff_0000_0000, 0xffff_ffff_ffff_fffe, ulong.MaxValue,
    ];

    /// <summary>A value: mostly <see cref="Interesting"/>, else any or small.</summary>
    public static readonly Gen<ulong> Value = Gen.Frequency((3, Gen.Int[0, Interesting.Length - 1].Select(i => Interesting[i])), (1, Gen.ULong), (1, Gen.ULong[0, 64]));

    /// <summary>Any action with any data.</summary>
    public static readonly Gen<PolicyAction> AnyAction = Gen.Frequency(
        (4, Gen.Const(PolicyAction.Allow)),
        (2, Gen.Int[0, 4095].Select(PolicyAction.Errno)),
        (1, Gen.Const(PolicyAction.KillProcess)),
        (1, Gen.Const(PolicyAction.KillThread)),
        (1, Gen.Int[0, 65535].Select(d => PolicyAction.Trap(d))),
        (1, Gen.Int[0, 65535].Select(d => PolicyAction.Trace(d))),
        (1, Gen.Const(PolicyAction.Log)),
        (1, Gen.Const(PolicyAction.UserNotif)));

    /// <summary>A condition on an argument up to <paramref name="maxIndex"/>, any operator, 32 or 64 bits wide.</summary>
    public static Gen<ArgCondition> Condition(int maxIndex) =>
        Gen.Select(Gen.Int[0, maxIndex], Gen.Enum<ArgOperator>(), Value, Value, Gen.Bool)
            .Select(t =>
            {
                var (index, op, v, m, narrow) = t;
                var width = narrow ? ArgumentWidth.Bits32 : ArgumentWidth.Bits64;
                if (narrow) { v &= uint.MaxValue; m &= uint.MaxValue; }
                if (op == ArgOperator.MaskedEqual && t.Item4 % 3 == 0) v &= m; // mostly satisfiable masks
                return new ArgCondition(index, op, v, op == ArgOperator.MaskedEqual ? m : 0, width);
            });

    /// <summary>A rule for a syscall of <paramref name="arches"/> (mostly from a small pool, so rules collide and overlap).</summary>
    public static Gen<SyscallRule> Rule(Architecture[] arches) =>
        Gen.Select(Gen.Int[0, arches.Length - 1], Gen.Int[0, 10000], AnyAction, Gen.Int[0, 3], Gen.Int[0, 1000])
            .SelectMany(t =>
            {
                var table = arches[t.Item1].Syscalls.All;
                // Favour a small pool of names so rules for one syscall collide and overlap.
                var name = table[(t.Item5 < 700 ? t.Item2 % Math.Min(12, table.Length) : t.Item2 % table.Length)].Name;
                int maxIndex = SyscallSignatures.TryGet(name, out var sig) && arches.Contains(Architecture.X86_64) ? sig.Arguments.Length - 1 : 5;
                if (maxIndex < 0) return Gen.Const(new SyscallRule(name, t.Item3));
                return Condition(maxIndex).Array[0, t.Item4].Select(cs => new SyscallRule(name, t.Item3, cs));
            });

    /// <summary>Any valid policy: up to 24 rules, any actions, sometimes an ENOSYS cutoff.</summary>
    public static readonly Gen<SeccompPolicy> Policies =
        Gen.Int[0, ArchSets.Length - 1].SelectMany(ai =>
        {
            var arches = ArchSets[ai];
            return Gen.Select(AnyAction, AnyAction, Rule(arches).Array[0, 24], Gen.Int[0, 5], Gen.UInt[0, 600])
                .Select(t =>
                {
                    var (def, bad, rules, enosys, cutoff) = t;
                    var enosysAbove = enosys == 0 ? new Dictionary<Architecture, uint> { [arches[0]] = arches[0] == Architecture.X32 ? cutoff | 0x4000_0000u : cutoff } : null;
                    try { return new SeccompPolicy(def, rules, arches, bad, enosysAbove: enosysAbove); }
                    catch (PolicyException) { return new SeccompPolicy(def, rules.DistinctBy(r => r.Syscall), arches, bad, enosysAbove: enosysAbove); }
                });
        });

    /// <summary>Inputs that reach every decision of <paramref name="policy"/>.</summary>
    public static List<SeccompData> Vectors(SeccompPolicy policy, Random random)
    {
        var values = new HashSet<ulong> { 0, ulong.MaxValue, 0xffffffff, 0x1_0000_0000 };
        foreach (var c in policy.Rules.SelectMany(r => r.Conditions))
            foreach (var v in new[] { c.Value, c.Mask, c.Value | c.Mask })
            {
                values.Add(v); values.Add(v + 1); values.Add(v - 1);
                values.Add((v << 32) | (v >> 32));             // halves swapped
                values.Add(v & 0xffffffff); values.Add(v | 0xffffffff_00000000);
            }
        var valueList = values.ToArray();
        var result = new List<SeccompData>();
        var audits = policy.EffectiveArchitectures.Select(a => a.AuditArch).Append(Architecture.Aarch64.AuditArch).Append(Architecture.X86.AuditArch).Append(0x12345678u).Distinct().ToArray();
        foreach (var abi in policy.EffectiveArchitectures.Concat([Architecture.X86_64, Architecture.X86]).Distinct())
        {
            var numbers = new HashSet<int> { -1, 0, 1, abi.Syscalls.MaxNumber + 1, 0x3fffffff, 0x40000000, 0x40000000 | 1, int.MaxValue, int.MinValue };
            foreach (var n in policy.SyscallNames) if (abi.Syscalls.TryGetNumber(n, out var nr)) numbers.Add(nr);
            foreach (var (_, cutoff) in policy.EnosysAbove) { numbers.Add(unchecked((int)cutoff)); numbers.Add(unchecked((int)cutoff + 1)); }
            for (int i = 0; i < 8; i++) numbers.Add(abi.Syscalls.All[random.Next(abi.Syscalls.All.Length)].Number);
            foreach (var nr in numbers)
                for (int k = 0; k < 6; k++)
                {
                    var args = new ulong[6];
                    for (int a = 0; a < 6; a++) args[a] = valueList[random.Next(valueList.Length)];
                    result.Add(new SeccompData(nr, k == 5 ? audits[random.Next(audits.Length)] : abi.AuditArch, 0, args));
                }
        }
        return result;
    }

    /// <summary>The ABI sets <see cref="Next"/> draws from (libseccomp 2.5.4 and our tables number their syscalls alike).</summary>
    public static readonly Architecture[][] AbiSets = ArchSets[..5];

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

    private ulong NextValue(bool bits32)
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
        if (op != ArgOperator.MaskedEqual) return new ArgCondition(index, op, NextValue(bits32), 0, width);
        ulong mask = NextValue(bits32);
        return new ArgCondition(index, op, NextValue(bits32) & mask, mask, width);
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

/// <summary>
/// The syscall names random policies may use on one ABI set: names every ABI of the set has, that our tables
/// and libseccomp 2.5.4 number alike on each of them (names 2.5.4 does not know, and the few it numbers
/// differently, are left out of both sides), that our reverse lookup gives back (no aliases), and that are
/// not reached through socketcall/ipc on any ABI of the set (libseccomp adds multiplexer rules for those on
/// x86; see SeccompKit.Linux.Tests' VectorGenerator). The multiplexers themselves are left out too.
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
