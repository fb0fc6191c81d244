using System.Collections.Immutable;
using SeccompKit.Bpf;
using SeccompKit.Compiler.Lowering;
using SeccompKit.Policy;
using SeccompKit.Syscalls;
using static SeccompKit.Bpf.BpfOpcodes;

namespace SeccompKit.Compiler;

/// <summary>Per-ABI facts about a compiled filter.</summary>
/// <param name="Abi">The ABI.</param>
/// <param name="Syscalls">Number of syscalls the ABI has.</param>
/// <param name="MeanPath">Mean over the ABI's syscalls of the longest path (instructions executed) any arguments can take.</param>
/// <param name="WorstPath">Longest path over all the ABI's syscalls and all arguments.</param>
/// <param name="WorstSyscall">A syscall that takes <see cref="WorstPath"/>.</param>
/// <param name="KernelCaches">Whether a kernel on the host arch keeps an action cache for this ABI.</param>
/// <param name="Cached">Syscalls the kernel's cache emulation finds constant-ALLOW in this filter (empty when not cached).</param>
/// <param name="CacheableByPolicy">Syscalls the policy allows whatever the arguments: the most any filter can have cached.</param>
public sealed record AbiReport(Architecture Abi, int Syscalls, double MeanPath, int WorstPath, string WorstSyscall,
    bool KernelCaches, ImmutableArray<string> Cached, ImmutableArray<string> CacheableByPolicy);

/// <summary>What <c>seccompkit compile --report</c> prints: length, paths, and action-cache coverage per ABI.</summary>
/// <param name="Length">Instructions in the filter.</param>
/// <param name="KernelLength">Instructions after the kernel converts it to eBPF (counts toward the per-task limit).</param>
/// <param name="Abis">One entry per ABI the policy covers.</param>
public sealed record CompileReport(int Length, int KernelLength, ImmutableArray<AbiReport> Abis)
{
    internal static CompileReport Create(CompiledPolicy compiled)
    {
        var program = compiled.Program;
        var policy = compiled.OptimizedPolicy;
        var cachedAbis = Architecture.NativeHost.ActionCacheAbis;
        var abis = ImmutableArray.CreateBuilder<AbiReport>();
        foreach (var abi in policy.EffectiveArchitectures)
        {
            var entries = abi.Syscalls.All;
            long sum = 0; int worst = -1; string worstName = "";
            var cached = ImmutableArray.CreateBuilder<string>();
            var cacheable = ImmutableArray.CreateBuilder<string>();
            bool kernelCaches = cachedAbis.Contains(abi);
            foreach (var e in entries)
            {
                int path = LongestPath(program, abi.AuditArch, unchecked((uint)e.Number));
                sum += path;
                if (path > worst) { worst = path; worstName = e.Name; }
                if (kernelCaches && ActionCache.IsConstantAllow(program, e.Number, abi.AuditArch)) cached.Add(e.Name);
                if (Outcomes.At(policy, abi.AuditArch, unchecked((uint)e.Number)) is Outcome.Constant { Action.ReturnValue: Bpf.SeccompReturn.SECCOMP_RET_ALLOW })
                    cacheable.Add(e.Name);
            }
            abis.Add(new AbiReport(abi, entries.Length, entries.Length == 0 ? 0 : (double)sum / entries.Length, worst, worstName,
                kernelCaches, cached.ToImmutable(), cacheable.ToImmutable()));
        }
        return new CompileReport(program.Length, program.KernelLength, abis.ToImmutable());
    }

    /// <summary>
    /// The longest path through <paramref name="program"/> for a call with this arch and number, taking
    /// both branches of every comparison that depends on anything else (arguments, ip): an upper bound on
    /// the instructions the kernel executes for that syscall.
    /// </summary>
    public static int LongestPath(BpfProgram program, uint arch, uint nr)
    {
        var ins = program.Instructions;
        var memo = new Dictionary<(int, int), int>();
        // State of A: 0 unknown, 1 nr, 2 arch.
        int Walk(int pc, int a)
        {
            if (memo.TryGetValue((pc, a), out var m)) return m;
            var i = ins[pc];
            int r;
            switch (BPF_CLASS(i.Code))
            {
                case BPF_RET: r = 1; break;
                case BPF_LD:
                    int na = i.Code == (BPF_LD | BPF_W | BPF_ABS) ? i.K == SeccompData.OffsetNr ? 1 : i.K == SeccompData.OffsetArch ? 2 : 0 : 0;
                    r = 1 + Walk(pc + 1, na); break;
                case BPF_JMP when BPF_OP(i.Code) == BPF_JA: r = 1 + Walk(pc + 1 + (int)i.K, a); break;
                case BPF_JMP:
                    if (a != 0 && BPF_SRC(i.Code) == BPF_K)
                    {
                        uint v = a == 1 ? nr : arch;
                        bool t = BPF_OP(i.Code) switch
                        {
                            BPF_JEQ => v == i.K,
                            BPF_JGT => v > i.K,
                            BPF_JGE => v >= i.K,
                            _ => (v & i.K) != 0,
                        };
                        r = 1 + Walk(pc + 1 + (t ? i.Jt : i.Jf), a);
                    }
                    else r = 1 + Math.Max(Walk(pc + 1 + i.Jt, a), Walk(pc + 1 + i.Jf, a));
                    break;
                default: r = 1 + Walk(pc + 1, 0); break; // ALU, X, memory: A is no longer nr/arch
            }
            memo[(pc, a)] = r;
            return r;
        }
        return Walk(0, 0);
    }
}
