using GenerateSyscallTables;
using SeccompKit.Bpf;
using SeccompKit.Policy;
using SeccompKit.Syscalls;

namespace SeccompKit.Tests.Policy.Oci;

/// <summary>Shared inputs for the OCI specs: the real profiles and SeccompData vectors for meaning comparisons.</summary>
internal static class OciTestData
{
    private static string Root => TableGenerator.FindRoot(AppContext.BaseDirectory);

    public static string DockerDefault => File.ReadAllText(Path.Combine(Root, "data", "profiles", "docker-default.json"));

    public static string PodmanDefault => File.ReadAllText(Path.Combine(Root, "data", "profiles", "podman-default.json"));

    /// <summary>
    /// Every syscall number of each ABI the policies cover (plus a few past the end, -1 and the x32 bit), each with
    /// argument vectors built from the policies' constants: each constant, ±1, and both 32-bit halves.
    /// </summary>
    public static IEnumerable<SeccompData> Vectors(params SeccompPolicy[] policies)
    {
        var constants = new SortedSet<ulong> { 0, 1, ulong.MaxValue, 0xffffffff, 0x1_0000_0000 };
        foreach (var p in policies)
            foreach (var r in p.Rules)
                foreach (var c in r.Conditions)
                    foreach (var v in new[] { c.Value, c.Mask, c.Value | ~c.Mask })
                    {
                        constants.Add(v); constants.Add(v + 1); constants.Add(v - 1);
                        constants.Add(v & 0xffffffff); constants.Add(v >> 32); constants.Add(v & 0xffffffff_00000000);
                    }
        var values = constants.ToArray();
        var abis = policies.SelectMany(p => p.EffectiveArchitectures).Append(Architecture.X86).Append(Architecture.Aarch64).Distinct().ToList();
        foreach (var abi in abis)
        {
            var numbers = abi.Syscalls.All.Select(e => e.Number).ToList();
            int max = numbers.Max();
            numbers.AddRange([max + 1, max + 100, 0, -1, abi.SyscallNumberOffset + 999]);
            foreach (int nr in numbers.Distinct())
            {
                yield return new SeccompData(nr, abi.AuditArch, 0, 0, 0, 0, 0, 0, 0);
                // Only syscalls with conditions need argument sweeps.
                if (!abi.Syscalls.TryGetName(nr, out var name) || !policies.Any(p => p.RulesFor(name).Any(r => !r.IsUnconditional))) continue;
                var conds = policies.SelectMany(p => p.RulesFor(name)).SelectMany(r => r.Conditions).Select(c => c.Index).Distinct().ToList();
                foreach (int idx in conds)
                    foreach (var v in values)
                    {
                        var args = new ulong[6];
                        args[idx] = v;
                        yield return new SeccompData(nr, abi.AuditArch, 0, args);
                        // Pair with the other conditioned arguments set to the same value (hits AND rules).
                        foreach (int j in conds) args[j] = v;
                        yield return new SeccompData(nr, abi.AuditArch, 0, args);
                    }
            }
        }
    }

    /// <summary>The first vector on which the two policies decide differently, or null.</summary>
    public static string? FirstDifference(SeccompPolicy a, SeccompPolicy b)
    {
        foreach (var d in Vectors(a, b))
        {
            var x = PolicyEvaluator.Evaluate(a, d);
            var y = PolicyEvaluator.Evaluate(b, d);
            if (x.Action != y.Action)
                return $"nr {d.Nr} arch 0x{d.Arch:x8} args [{string.Join(", ", d.Args.ToArray().Select(v => $"0x{v:x}"))}]: {x.Action} ({x.Reason}) vs {y.Action} ({y.Reason})";
        }
        return null;
    }
}
