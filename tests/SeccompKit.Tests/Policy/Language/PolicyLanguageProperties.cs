using CsCheck;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Policy.Language;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Language;

/// <summary>
/// Round-trip and fuzz properties: printing then parsing any policy keeps its meaning (checked with
/// <see cref="PolicyEvaluator"/> on boundary vectors), printing is idempotent, and no text makes the
/// parser throw anything but <see cref="PolicyException"/>.
/// </summary>
public class PolicyLanguageProperties
{
    private static readonly string[] Syscalls =
        ["read", "write", "openat", "socket", "clone", "mmap", "prctl", "fcntl", "futex", "kill", "lseek", "ioctl", "personality", "getpid", "unshare"];

    private static readonly Architecture[][] ArchSets =
        [[], [Architecture.X86_64], [Architecture.X86_64, Architecture.X86], [Architecture.X86_64, Architecture.X32], [Architecture.Aarch64], [Architecture.X86, Architecture.X32]];

    private static readonly ulong[] Interesting =
        [0, 1, 2, 3, 10, 0x40, 0x800, 0x80000, 0xffffff9c, 0x7fffffff, 0x80000000, 0xffffffff, 0x1_0000_0000, 0xffff_ffff_ffff_ff9c, ulong.MaxValue, 0x10000000, 0x20000, 0x3, 0x59616d61, 0x5401, 0x5413, 0x80045430];

    private static readonly Gen<ulong> AnyValue = Gen.OneOf(Gen.Int[0, Interesting.Length - 1].Select(i => Interesting[i]), Gen.ULong, Gen.UInt.Select(u => (ulong)u), Gen.ULong[0, 300]);

    private static readonly Gen<PolicyAction> AnyAction = Gen.OneOf(
        Gen.Const(PolicyAction.Allow), Gen.Const(PolicyAction.Log), Gen.Const(PolicyAction.KillProcess), Gen.Const(PolicyAction.KillThread),
        Gen.Const(PolicyAction.UserNotif), Gen.Int[0, 4095].Select(PolicyAction.Errno), Gen.Int[1, 3].Select(PolicyAction.Errno),
        Gen.Int[0, 65535].Select(PolicyAction.Trap), Gen.Int[0, 3].Select(PolicyAction.Trace));

    private static Gen<ArgCondition> Condition(string syscall, bool anyIndex)
    {
        int n = SyscallSignatures.TryGet(syscall, out var s) ? s.Arguments.Length : 6;
        int max = anyIndex ? 5 : Math.Max(0, n - 1);
        return Gen.Select(Gen.Int[0, max], Gen.Int[0, 6], AnyValue, AnyValue, Gen.Bool).Select((i, op, v, m, narrow) =>
        {
            var width = narrow ? ArgumentWidth.Bits32 : ArgumentWidth.Bits64;
            if (width == ArgumentWidth.Bits32) { v &= uint.MaxValue; m &= uint.MaxValue; }
            var o = (ArgOperator)op;
            if (o == ArgOperator.MaskedEqual) v &= m;
            return new ArgCondition(i, o, v, o == ArgOperator.MaskedEqual ? m : 0, width);
        });
    }

    private static readonly Gen<SeccompPolicy?> AnyPolicyOrNull =
        Gen.Select(Gen.Int[0, ArchSets.Length - 1], AnyAction, AnyAction, Gen.Int[0, 15], Gen.Int[0, 8], Gen.Int[0, int.MaxValue])
            .SelectMany((archIdx, def, bad, flags, ruleCount, seed) =>
            {
                var arches = ArchSets[archIdx];
                bool anyIndex = !arches.Contains(Architecture.X86_64) && arches.Length > 0;
                var rule = Gen.Int[0, Syscalls.Length - 1].SelectMany(si =>
                    Gen.Select(Gen.Const(Syscalls[si]), AnyAction, Condition(Syscalls[si], anyIndex).Array[0, 3], Gen.Int[0, 4]));
                return Gen.Select(rule.Array[ruleCount], Gen.String[Gen.Char["abc/-_. \"\\\n"], 0, 8], Gen.Int[0, 7], Gen.UInt[0, 600]).Select((rules, text, extras, cutoff) =>
                {
                    try
                    {
                        var effective = arches.Length == 0 ? [Architecture.X86_64] : arches;
                        var enosys = (extras & 1) != 0 ? new Dictionary<Architecture, uint> { [effective[0]] = cutoff } : null;
                        return new SeccompPolicy(def, rules.Select(r => new SyscallRule(r.Item1, r.Item2, r.Item4 == 0 ? [] : r.Item3)), arches, (extras & 4) != 0 ? null : bad,
                            (PolicyFlags)flags, (extras & 2) != 0 ? "/run/" + text : null, text, enosys);
                    }
                    catch (PolicyException) { return null; }
                });
            });

    private static readonly Gen<SeccompPolicy> AnyPolicy = AnyPolicyOrNull.Where(p => p is not null).Select(p => p!);

    private static IEnumerable<SeccompData> Vectors(SeccompPolicy p, Random rnd)
    {
        var values = new HashSet<ulong> { 0, 1, ulong.MaxValue, 0xdeadbeef_00000000 };
        foreach (var r in p.Rules)
            foreach (var c in r.Conditions)
                foreach (var v in new[] { c.Value, c.Mask, c.Value | ~c.Mask })
                {
                    values.Add(v); values.Add(v + 1); values.Add(v - 1);
                    values.Add(v & uint.MaxValue); values.Add(v | 0xdeadbeef_00000000); values.Add(v ^ 0xffffffff_00000000);
                }
        var pool = values.ToArray();
        var arches = p.EffectiveArchitectures.Append(Architecture.Arm).ToList();
        var names = p.SyscallNames.Append("getpid").ToList();
        foreach (var abi in arches)
            foreach (var name in names)
            {
                if (!abi.Syscalls.TryGetNumber(name, out int nr)) continue;
                for (int k = 0; k < 40; k++)
                    yield return new SeccompData(nr, abi.AuditArch, 0,
                        pool[rnd.Next(pool.Length)], pool[rnd.Next(pool.Length)], pool[rnd.Next(pool.Length)],
                        pool[rnd.Next(pool.Length)], pool[rnd.Next(pool.Length)], pool[rnd.Next(pool.Length)]);
            }
        yield return new SeccompData(0x3fff_ffff, Architecture.X86_64.AuditArch, 0, 0, 0, 0, 0, 0, 0);
    }

    [Fact]
    public void Parsing_the_printed_text_keeps_the_meaning()
    {
        AnyPolicy.Sample(p =>
        {
            var text = PolicyLanguage.Print(p);
            var q = PolicyLanguage.Parse(text);
            Assert.Equal(p.DefaultAction, q.DefaultAction);
            Assert.Equal(p.Architectures, q.Architectures);
            Assert.Equal(p.BadArchAction, q.BadArchAction);
            Assert.Equal(p.DeclaredBadArchAction, q.DeclaredBadArchAction);
            Assert.Equal(p.Flags, q.Flags);
            Assert.Equal(p.ListenerPath, q.ListenerPath);
            Assert.Equal(p.ListenerMetadata, q.ListenerMetadata);
            Assert.Equal(p.EnosysAbove, q.EnosysAbove);
            var rnd = new Random(text.Length);
            foreach (var d in Vectors(p, rnd))
                Assert.True(PolicyEvaluator.Evaluate(p, d).Action == PolicyEvaluator.Evaluate(q, d).Action,
                    $"{d} gives {PolicyEvaluator.Evaluate(p, d).Action} before and {PolicyEvaluator.Evaluate(q, d).Action} after printing:\n{text}");
        }, iter: 1500);
    }

    [Fact]
    public void Printing_is_idempotent()
    {
        AnyPolicy.Sample(p =>
        {
            var once = PolicyLanguage.Print(p);
            Assert.Equal(once, PolicyLanguage.Print(PolicyLanguage.Parse(once)));
        }, iter: 1500);
    }

    private const string Seed = """
        # seed
        default errno(EPERM)
        architectures x86_64, x86
        flags tsync
        listener "/run/a"
        set @io = { read, write(fd == 1 || fd == 2) }
        allow { @io, openat(flags & O_ACCMODE == O_RDONLY && dfd == AT_FDCWD), socket(family in { AF_INET, AF_INET6 }) }
        errno(ENOSYS) { clone3 }
        kill-process { clone(!(clone_flags & (CLONE_NEWUSER|CLONE_NEWNS))), lseek(offset:32 > -1) }
        """;

    private static readonly string[] Fragments =
        ["(", ")", "{", "}", ",", "&", "&&", "|", "||", "!", "==", "!=", "<", "<=", "=", ":", ":32", "-", "@io", "@x", "\"", "\"s\"", "#", "\n",
         "allow", "default", "set", "include", "errno(", "trap(", "read", "openat", "flags", "fd", "args[", "]", "0x", "09", "99999999999999999999999", "AF_INET", "in", "kill-process", "\\u{", " "];

    [Fact]
    public void Random_and_mutated_text_only_ever_fails_with_a_PolicyException()
    {
        var mutated = Gen.Select(Gen.Int[0, Seed.Length], Gen.Int[0, 12], Gen.Int[0, Fragments.Length - 1], Gen.Int[0, 3]).Array[1, 6].Select(edits =>
        {
            var s = Seed;
            foreach (var (pos, len, frag, kind) in edits)
            {
                int p = Math.Min(pos, s.Length);
                int l = Math.Min(len, s.Length - p);
                s = kind switch
                {
                    0 => s.Remove(p, l),
                    1 => s.Insert(p, Fragments[frag]),
                    2 => s.Remove(p, l).Insert(p, Fragments[frag]),
                    _ => s.Insert(p, s.Substring(p, l)),
                };
            }
            return s;
        });
        var soup = Gen.Int[0, Fragments.Length - 1].Array[0, 40].Select(ix => string.Concat(ix.Select(i => Fragments[i] + " ")));
        Gen.OneOf(mutated, soup, Gen.String).Sample(text =>
        {
            try
            {
                var p = PolicyLanguage.Parse(text, "fuzz.policy", new InMemoryIncludeResolver(new Dictionary<string, string> { ["x"] = "allow { read }" }));
                var printed = PolicyLanguage.Print(p);
                Assert.Equal(printed, PolicyLanguage.Print(PolicyLanguage.Parse(printed)));
            }
            catch (PolicyParseException e)
            {
                Assert.StartsWith("fuzz.policy:", e.Message);
                Assert.Contains("^", e.Message);
            }
        }, iter: 20_000);
    }

    [Fact]
    public void A_field_the_language_cannot_write_is_refused_rather_than_dropped()
    {
        var p = new SeccompPolicy(PolicyAction.Allow, [], listenerPath: "/run/\ud800x");
        Assert.Throws<PolicyException>(() => PolicyLanguage.Print(p));
    }
}
